// Package alerttest runs a real rsyslog receiver for tests: the alert package's own, and the live
// sentinel test of the server.
package alerttest

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// rsyslogd finds the daemon, or skips (fails when AMANE_TEST_RSYSLOG=1).
func rsyslogd(t testing.TB) string {
	t.Helper()
	if p, err := exec.LookPath("rsyslogd"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/sbin/rsyslogd"); err == nil {
		return "/usr/sbin/rsyslogd"
	}
	if os.Getenv("AMANE_TEST_RSYSLOG") == "1" {
		t.Fatal("rsyslogd not found and AMANE_TEST_RSYSLOG=1: apt-get install rsyslog")
	}
	t.Skip("rsyslogd not found: apt-get install rsyslog (AMANE_TEST_RSYSLOG=1 makes this a failure)")
	return ""
}

// FreeTCPAddr is a loopback TCP address nothing listens on.
func FreeTCPAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// FreeUDPAddr is a free loopback UDP address.
func FreeUDPAddr(t testing.TB) string {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().String()
}

// rsyslogConf receives on UDP and TCP and writes, one line per message, the fields rsyslog's RFC 5424
// parser found, then the message as received. Nothing but the configured inputs is loaded: no imuxsock,
// so /dev/log is left alone, and the work directory is the test's.
const rsyslogConf = `global(workDirectory="%[1]s")
module(load="imudp")
module(load="imtcp")
input(type="imudp" address="127.0.0.1" port="%[2]s")
input(type="imtcp" address="127.0.0.1" port="%[3]s")
template(name="fields" type="string"
         string="%%pri%%\t%%protocol-version%%\t%%msgid%%\t%%app-name%%\t%%structured-data%%\t%%msg%%\t%%rawmsg%%\n")
action(type="omfile" file="%[4]s" template="fields")
`

// StartRsyslog runs a private rsyslogd in the foreground and returns its UDP and TCP addresses and the
// file it writes. rsyslogd is stopped when the test ends.
func StartRsyslog(t testing.TB) (udpAddr, tcpAddr, out string) {
	bin := rsyslogd(t)
	dir := t.TempDir()
	udpAddr, tcpAddr = FreeUDPAddr(t), FreeTCPAddr(t)
	_, udpPort, _ := net.SplitHostPort(udpAddr)
	_, tcpPort, _ := net.SplitHostPort(tcpAddr)
	out = filepath.Join(dir, "messages.log")
	conf := filepath.Join(dir, "rsyslog.conf")
	if err := os.WriteFile(conf, fmt.Appendf(nil, rsyslogConf, dir, udpPort, tcpPort, out), 0o600); err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(filepath.Join(dir, "rsyslogd.out"))
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd := exec.Command(bin, "-n", "-f", conf, "-i", filepath.Join(dir, "rsyslogd.pid"))
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	daemonLog := func() string { b, _ := os.ReadFile(logf.Name()); return string(b) }
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("rsyslogd said:\n%s", daemonLog())
		}
	})
	// Ready when the TCP input accepts; the UDP socket is bound in the same configuration step.
	for deadline := time.Now().Add(10 * time.Second); ; {
		select {
		case err := <-exited:
			t.Fatalf("rsyslogd exited: %v\n%s", err, daemonLog())
		default:
		}
		if c, err := net.DialTimeout("tcp", tcpAddr, time.Second); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("rsyslogd does not listen on %s after 10 s\n%s", tcpAddr, daemonLog())
		}
		time.Sleep(50 * time.Millisecond)
	}
	return udpAddr, tcpAddr, out
}

// WaitLine polls rsyslogd's output for the line that holds needle.
func WaitLine(t testing.TB, out, needle string) []string {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		b, err := os.ReadFile(out)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
		for line := range strings.Lines(string(b)) {
			if strings.Contains(line, needle) {
				return strings.Split(strings.TrimSuffix(line, "\n"), "\t")
			}
		}
	}
	t.Fatalf("no message with %q from rsyslogd after 10 s", needle)
	return nil
}
