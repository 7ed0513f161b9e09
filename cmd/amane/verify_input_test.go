package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestVerifyBoundedInput is the attack on `amane verify`: /dev/zero (which ran it out of memory), a
// FIFO (which would wait forever) and a file one byte over the bound are refused with a clear error,
// before anything is read.
func TestVerifyBoundedInput(t *testing.T) {
	dir := t.TempDir()
	trust := filepath.Join(dir, "ca.pem") // never read: the input is refused first
	big := filepath.Join(dir, "big.pdf")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(maxAttestationFile + 1); err != nil { // sparse: no disk used
		t.Fatal(err)
	}
	f.Close()
	fifo := filepath.Join(dir, "fifo.pdf")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ file, want string }{
		{"/dev/zero", "zero is not a regular file"},
		{fifo, "fifo.pdf is not a regular file"},
		{dir, "is not a regular file"},
		{big, "big.pdf is larger than 16 MiB"},
	} {
		code, _, errOut := amaneCLI(t, "verify", "--trust", trust, c.file)
		if code == 0 || !strings.Contains(errOut, c.want) {
			t.Errorf("verify %s: exit %d, %s", c.file, code, errOut)
		}
	}
}

// TestServeTrustedProxyFlag: --trusted-proxy takes CIDRs and addresses, repeated or comma-separated;
// anything else is a usage error before the registry is opened.
func TestServeTrustedProxyFlag(t *testing.T) {
	code, _, errOut := amaneCLI(t, "serve", "--data", t.TempDir(), "--trusted-proxy", "10.0.0.0/8,not-an-address")
	if code == 0 || !strings.Contains(errOut, "--trusted-proxy takes CIDRs") {
		t.Errorf("exit %d, %s", code, errOut)
	}
}
