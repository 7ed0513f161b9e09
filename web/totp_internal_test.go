package web

import (
	"bytes"
	"encoding/base32"
	"testing"
	"time"
)

// TestTOTPStep checks RFC 6238 Appendix B (SHA-1, secret "12345678901234567890"), on its last six
// digits, and that a code is accepted once.
func TestTOTPStep(t *testing.T) {
	secret := base32.StdEncoding.EncodeToString([]byte("12345678901234567890"))
	for _, tc := range []struct {
		unix int64
		code string
	}{{59, "287082"}, {1111111109, "081804"}, {1111111111, "050471"}, {1234567890, "005924"}, {2000000000, "279037"}} {
		now := time.Unix(tc.unix, 0)
		step, ok := totpStep(secret, tc.code, now, 0)
		if !ok || step != uint64(tc.unix/30) {
			t.Errorf("T=%d: code %s: step %d, %v", tc.unix, tc.code, step, ok)
		}
		if _, ok := totpStep(secret, tc.code, now, step); ok {
			t.Errorf("T=%d: a replayed code was accepted", tc.unix)
		}
		if _, ok := totpStep(secret, tc.code, now.Add(2*time.Minute), 0); ok {
			t.Errorf("T=%d: a code two minutes old was accepted", tc.unix)
		}
	}
	for _, bad := range []string{"", "28708", "2870822", "28708a", " 287082x"} {
		if _, ok := totpStep(secret, bad, time.Unix(59, 0), 0); ok {
			t.Errorf("code %q accepted", bad)
		}
	}
}

func TestSealTOTP(t *testing.T) {
	key := bytes.Repeat([]byte{7}, SecretKeySize)
	sealed, uri, err := NewTOTP(key, "paie-souss")
	if err != nil {
		t.Fatal(err)
	}
	secret, err := openTOTP(key, "paie-souss", sealed)
	if err != nil || len(secret) < 16 || !bytes.Contains([]byte(uri), []byte("secret="+secret)) {
		t.Fatalf("open: %q, %v (uri %s)", secret, err, uri)
	}
	if bytes.Contains(sealed, []byte(secret)) {
		t.Fatal("the sealed secret holds the secret in clear")
	}
	other := bytes.Repeat([]byte{8}, SecretKeySize)
	for name, f := range map[string]func() error{
		"ErrOtherAccount": func() error { _, err := openTOTP(key, "assure-0001", sealed); return err },
		"ErrOtherKey":     func() error { _, err := openTOTP(other, "paie-souss", sealed); return err },
		"ErrNoKey":        func() error { _, err := openTOTP(nil, "paie-souss", sealed); return err },
		"ErrTruncated":    func() error { _, err := openTOTP(key, "paie-souss", sealed[:20]); return err },
		"ErrFlipped": func() error {
			b := bytes.Clone(sealed)
			b[len(b)-1] ^= 1
			_, err := openTOTP(key, "paie-souss", b)
			return err
		},
	} {
		t.Run(name, func(t *testing.T) {
			if f() == nil {
				t.Fatal("opened")
			}
		})
	}
}

func TestThrottle(t *testing.T) {
	th := newThrottle()
	now := time.Unix(1_700_000_000, 0)
	for i := range throttleFree {
		if !th.allowed(now, "login:a", "ip:1") {
			t.Fatalf("refused after %d failures", i)
		}
		th.fail(now, "login:a", "ip:1")
	}
	if th.allowed(now, "login:a") || th.allowed(now, "ip:1") || !th.allowed(now, "login:b", "ip:2") {
		t.Fatal("not locked after 5 failures, or other keys locked")
	}
	if !th.allowed(now.Add(throttleBase+time.Second), "login:a") {
		t.Fatal("still locked after the first delay")
	}
	th.fail(now.Add(throttleBase+time.Second), "login:a")
	if th.allowed(now.Add(2*throttleBase), "login:a") || !th.allowed(now.Add(3*throttleBase+2*time.Second), "login:a") {
		t.Fatal("the second delay is not twice the first")
	}
	th.succeed("login:a")
	if !th.allowed(now, "login:a") {
		t.Fatal("a success did not clear the login")
	}
}
