package alert_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"amane/alert"
	"amane/alert/alerttest"
	"amane/sentinel"
)

func TestEscapeParamValue(t *testing.T) {
	tests := []struct{ in, want string }{
		{"account/12", "account/12"},
		{`a"b`, `a\"b`},
		{`a\b`, `a\\b`},
		{`a]b`, `a\]b`},
		{`"\]`, `\"\\\]`},
		{"[x=y]", `[x=y\]`}, // '[' and '=' need no escape inside a quoted value
		{"é", "é"},
		{"bad\xffutf8", "bad\uFFFDutf8"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := alert.EscapeParamValue(tt.in); got != tt.want {
			t.Errorf("EscapeParamValue(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestFormatRFC5424 is a known-answer test of the whole message.
func TestFormatRFC5424(t *testing.T) {
	r := sentinel.Response{
		Time:      time.Date(2024, 11, 4, 9, 12, 3, 123456789, time.FixedZone("WET", 3600)),
		Principal: "account/12",
		Response:  sentinel.Suspend,
		Signal:    `volume_10m`,
		Evidence:  map[string]any{"count": 900, "window": "10m", "samples": []string{"employee/42"}},
	}
	got, err := alert.FormatRFC5424(r, "gate-1", "amane", "4242", time.Now)
	if err != nil {
		t.Fatal(err)
	}
	want := `<81>1 2024-11-04T08:12:03.123456Z gate-1 amane 4242 sentinel-suspend ` +
		`[amane@32473 principal="account/12" response="suspend" signal="volume_10m"] ` +
		`{"time":"2024-11-04T09:12:03.123456789+01:00","principal":"account/12","response":"suspend",` +
		`"signal":"volume_10m","evidence":{"count":900,"samples":["employee/42"],"window":"10m"}}`
	if string(got) != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}

	t.Run("PRI", func(t *testing.T) {
		for resp, pri := range map[string]string{
			sentinel.Alert: "<84>", sentinel.Throttle: "<84>", sentinel.StepUp: "<83>", sentinel.Suspend: "<81>",
		} {
			r := sentinel.Response{Time: r.Time, Principal: "token/3", Response: resp, Signal: "s"}
			m, err := alert.FormatRFC5424(r, "h", "a", "1", time.Now)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(string(m), pri+"1 ") || !strings.Contains(string(m), " sentinel-"+resp+" ") {
				t.Errorf("%s: %s", resp, m)
			}
		}
	})
	t.Run("ErrUnknownResponse", func(t *testing.T) {
		if _, err := alert.FormatRFC5424(sentinel.Response{Response: "panic"}, "h", "a", "1", time.Now); err == nil {
			t.Error("an unknown response was formatted")
		}
	})
	t.Run("ZeroTimeUsesClock", func(t *testing.T) {
		now := func() time.Time { return time.Date(2025, 1, 2, 3, 4, 5, 6000, time.UTC) }
		m, err := alert.FormatRFC5424(sentinel.Response{Response: sentinel.Alert}, "h", "a", "1", now)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(string(m), "<84>1 2025-01-02T03:04:05.000006Z h a 1 ") {
			t.Errorf("got %s", m)
		}
	})
}

func TestNewSyslog(t *testing.T) {
	for _, tt := range []struct{ name, network, hostname, appName string }{
		{"ErrNetwork", "ip", "h", "a"},
		{"ErrHostnameSpace", "udp", "gate 1", "a"},
		{"ErrAppNameLong", "udp", "h", strings.Repeat("a", 49)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := alert.NewSyslog(tt.network, "127.0.0.1:514", tt.hostname, tt.appName); err == nil {
				t.Error("accepted")
			}
		})
	}
	t.Run("ErrTCPRefused", func(t *testing.T) {
		if _, err := alert.NewSyslog("tcp", alerttest.FreeTCPAddr(t), "h", "a"); err == nil {
			t.Error("connected to a closed port")
		}
	})
}

// message is an RFC 5424 message split into its parts.
type message struct {
	pri, version, timestamp, hostname, appName, procID, msgID string
	sdID                                                      string
	params                                                    map[string]string
	msg                                                       string
}

// parseRFC5424 splits a message with exactly one SD element, unescaping its PARAM-VALUEs (§6.3.3).
func parseRFC5424(t *testing.T, line string) message {
	t.Helper()
	f := strings.SplitN(line, " ", 7)
	if len(f) != 7 || !strings.HasPrefix(f[0], "<") {
		t.Fatalf("not an RFC 5424 message: %q", line)
	}
	pri, version, ok := strings.Cut(f[0][1:], ">")
	if !ok {
		t.Fatalf("no PRI: %q", line)
	}
	m := message{pri: pri, version: version, timestamp: f[1], hostname: f[2], appName: f[3], procID: f[4],
		msgID: f[5], params: map[string]string{}}
	rest := f[6]
	if !strings.HasPrefix(rest, "[") {
		t.Fatalf("no SD element: %q", line)
	}
	rest = rest[1:]
	m.sdID, rest, _ = strings.Cut(rest, " ")
	for {
		if strings.HasPrefix(rest, "] ") {
			m.msg = rest[2:]
			return m
		}
		rest = strings.TrimPrefix(rest, " ")
		name, after, ok := strings.Cut(rest, `="`)
		if !ok {
			t.Fatalf("bad SD param at %q", rest)
		}
		var v strings.Builder
		i := 0
		for ; i < len(after) && after[i] != '"'; i++ {
			if after[i] == '\\' && i+1 < len(after) && strings.IndexByte(`"\]`, after[i+1]) >= 0 {
				i++
			}
			v.WriteByte(after[i])
		}
		if i == len(after) {
			t.Fatalf("unterminated PARAM-VALUE in %q", line)
		}
		m.params[name] = v.String()
		rest = after[i+1:]
	}
}

// roundTrip is r as a receiver decoding its JSON sees it.
func roundTrip(t *testing.T, r sentinel.Response) sentinel.Response {
	t.Helper()
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var out sentinel.Response
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestSyslogRsyslog(t *testing.T) {
	udpAddr, tcpAddr, out := alerttest.StartRsyslog(t)
	at := time.Date(2024, 11, 4, 9, 12, 3, 123456000, time.UTC)
	tests := []struct {
		name, network, addr string
		r                   sentinel.Response
		pri                 string
	}{
		{"UDP", "udp", udpAddr, sentinel.Response{Time: at, Principal: "account/12", Response: sentinel.Suspend,
			Signal: "volume_10m", Evidence: map[string]any{
				"count": 912.0, "threshold": 600.0, "window": "10m", "samples": []any{"employee/42", "employee/43"}}},
			"81"},
		{"TCP", "tcp", tcpAddr, sentinel.Response{Time: at, Principal: "token/3", Response: sentinel.StepUp,
			Signal: `odd"signal]\`, Evidence: map[string]any{
				"peers": map[string]any{"median": 12.5, "p99": 40.0}, "homes": []any{"CASA-ANFA"}}},
			"83"},
		{"TCPAlert", "tcp", tcpAddr, sentinel.Response{Time: at, Principal: "account/77", Response: sentinel.Alert,
			Signal: "canary", Evidence: map[string]any{"record": "employee/9"}},
			"84"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := alert.NewSyslog(tt.network, tt.addr, "gate-1", "amane")
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if err := s.Send(context.Background(), tt.r); err != nil {
				t.Fatal(err)
			}
			f := alerttest.WaitLine(t, out, "principal=\""+tt.r.Principal+"\"")
			if len(f) != 7 {
				t.Fatalf("rsyslogd wrote %d fields, want 7: %q", len(f), f)
			}
			// What rsyslog's own RFC 5424 parser made of the message.
			wantMsgID := "sentinel-" + tt.r.Response
			if f[0] != tt.pri || f[1] != "1" || f[2] != wantMsgID || f[3] != "amane" {
				t.Errorf("rsyslog parsed pri=%s version=%s msgid=%s app-name=%s, want %s 1 %s amane",
					f[0], f[1], f[2], f[3], tt.pri, wantMsgID)
			}
			wantSD := `[amane@32473 principal="` + alert.EscapeParamValue(tt.r.Principal) + `" response="` +
				tt.r.Response + `" signal="` + alert.EscapeParamValue(tt.r.Signal) + `"]`
			if f[4] != wantSD {
				t.Errorf("rsyslog's structured data\n%s\nwant\n%s", f[4], wantSD)
			}
			// The message as received, parsed here.
			m := parseRFC5424(t, f[6])
			if m.pri != tt.pri || m.version != "1" || m.msgID != wantMsgID || m.timestamp != "2024-11-04T09:12:03.123456Z" ||
				m.hostname != "gate-1" || m.appName != "amane" || m.procID != strconv.Itoa(os.Getpid()) {
				t.Errorf("header %+v", m)
			}
			wantParams := map[string]string{"principal": tt.r.Principal, "response": tt.r.Response, "signal": tt.r.Signal}
			if m.sdID != "amane@32473" || !reflect.DeepEqual(m.params, wantParams) {
				t.Errorf("SD %s %q, want amane@32473 %q", m.sdID, m.params, wantParams)
			}
			for _, msg := range []string{m.msg, f[5]} {
				var got sentinel.Response
				if err := json.Unmarshal([]byte(msg), &got); err != nil {
					t.Fatalf("MSG is not JSON: %v: %q", err, msg)
				}
				if want := roundTrip(t, tt.r); !reflect.DeepEqual(got, want) {
					t.Errorf("MSG decodes to\n%+v\nwant\n%+v", got, want)
				}
			}
		})
	}
}

// TestSyslogReconnect closes the receiver's side of a TCP connection: the next message goes over a new
// connection instead of into the dead one.
func TestSyslogReconnect(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	s, err := alert.NewSyslog("tcp", l.Addr().String(), "gate-1", "amane")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i, principal := range []string{"account/1", "account/2", "account/3"} {
		r := sentinel.Response{Time: time.Now(), Principal: principal, Response: sentinel.Throttle, Signal: "s"}
		if err := s.Send(context.Background(), r); err != nil {
			t.Fatalf("message %d: %v", i+1, err)
		}
		// The kernel completed the (re)connection; Accept takes it from the backlog.
		l.(*net.TCPListener).SetDeadline(time.Now().Add(5 * time.Second))
		c, err := l.Accept()
		if err != nil {
			t.Fatal(err)
		}
		if m := parseRFC5424(t, readFrame(t, c)); m.params["principal"] != principal {
			t.Errorf("message %d: principal %q, want %q", i+1, m.params["principal"], principal)
		}
		c.Close()
	}
}

// readFrame reads one octet-counted message, "LEN SP MSG" (RFC 6587 §3.4.1).
func readFrame(t *testing.T, c net.Conn) string {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(c)
	n, err := br.ReadString(' ')
	if err != nil {
		t.Fatal(err)
	}
	size, err := strconv.Atoi(strings.TrimSuffix(n, " "))
	if err != nil || size <= 0 {
		t.Fatalf("bad octet count %q", n)
	}
	b := make([]byte, size)
	if _, err := io.ReadFull(br, b); err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestSyslogUnix(t *testing.T) {
	r := sentinel.Response{Time: time.Now(), Principal: "token/3", Response: sentinel.StepUp, Signal: "off_hours"}
	check := func(t *testing.T, msg string) {
		t.Helper()
		m := parseRFC5424(t, msg)
		if m.pri != "83" || m.msgID != "sentinel-step_up" || m.params["principal"] != "token/3" {
			t.Errorf("got %q", msg)
		}
	}
	t.Run("Unixgram", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "log")
		l, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		s, err := alert.NewSyslog("unixgram", path, "gate-1", "amane")
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if err := s.Send(context.Background(), r); err != nil {
			t.Fatal(err)
		}
		l.SetReadDeadline(time.Now().Add(5 * time.Second))
		b := make([]byte, 64<<10)
		n, err := l.Read(b)
		if err != nil {
			t.Fatal(err)
		}
		check(t, string(b[:n])) // one datagram, one message, no framing
	})
	t.Run("UnixStream", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "log")
		l, err := net.Listen("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		s, err := alert.NewSyslog("unix", path, "gate-1", "amane")
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if err := s.Send(context.Background(), r); err != nil {
			t.Fatal(err)
		}
		c, err := l.Accept()
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		check(t, readFrame(t, c))
	})
	t.Run("ErrClosed", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "log")
		l, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		s, err := alert.NewSyslog("unixgram", path, "gate-1", "amane")
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
		if err := s.Send(context.Background(), r); err == nil {
			t.Error("Send after Close succeeded")
		}
	})
}
