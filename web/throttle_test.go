package web_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strconv"
	"testing"

	"amane"
	"amane/amanetest"
	"amane/attest"
	"amane/web"
)

// loopback is the test's proxy: every test request comes from 127.0.0.1.
var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}

// signInFrom opens the sign-in page and posts the password form, as a client the proxy saw at addr
// (no header if addr is empty).
func (v *visitor) signInFrom(addr, login, password, code string) int {
	v.p.t.Helper()
	h := map[string]string{}
	if addr != "" {
		h["X-Forwarded-For"] = addr
	}
	v.do("GET", "/connexion", nil, h)
	resp, _ := v.do("POST", "/connexion", url.Values{"csrf": {v.csrf}, "login": {login}, "password": {password}, "code": {code}}, h)
	return resp.StatusCode
}

// TestSignInThrottleLocksNoOne is the attack on the sign-in throttle: an attacker fails 6 times with
// an invented login and 6 times with the victim's, then the victim's login fails from a dozen more
// addresses; the victim, from their own address, signs in with the right password and TOTP. Before,
// the login's count (and, behind a proxy, the shared address) locked the victim out for up to an
// hour. Behind the trusted proxy, addresses are told apart by X-Forwarded-For; the attacker's own
// address stays locked.
func TestSignInThrottleLocksNoOne(t *testing.T) { amanetest.Each(t, testSignInThrottleLocksNoOne) }

func testSignInThrottleLocksNoOne(t *testing.T, r *amanetest.Registry) {
	p := newPages(t, r)
	p.srv.TrustedProxies = loopback
	const attacker, victim = "203.0.113.7", "198.51.100.20"
	for i := range 6 {
		if st := (&visitor{p: p}).signInFrom(attacker, "nobody-"+strconv.Itoa(i), "guess", "000000"); st != 401 {
			t.Fatalf("invented login: %d", st)
		}
	}
	for range 6 {
		if st := (&visitor{p: p}).signInFrom(attacker, "paie-souss", "guess", "000000"); st != 401 {
			t.Fatalf("victim's login: %d", st)
		}
	}
	for i := range 8 { // a distributed guess: with the attacker's 4 counted, the login is "under attack"
		if st := (&visitor{p: p}).signInFrom("192.0.2."+strconv.Itoa(10+i), "paie-souss", "guess", "000000"); st != 401 {
			t.Fatalf("distributed guess: %d", st)
		}
	}
	// The attacker's address is locked, even with a right credential; a guesser that failed once on
	// the login under attack is held from its first failure. (A refusal uses no TOTP step.)
	if st := (&visitor{p: p}).signInFrom(attacker, "paie-souss", testPassword, p.code("paie-souss", p.now)); st != 401 {
		t.Fatalf("the attacker's address signed in: %d", st)
	}
	if st := (&visitor{p: p}).signInFrom("192.0.2.17", "paie-souss", testPassword, p.code("paie-souss", p.now)); st != 401 {
		t.Fatalf("a distributed guesser's second try went through: %d", st)
	}
	if st := (&visitor{p: p}).signInFrom(victim, "paie-souss", testPassword, p.code("paie-souss", p.now)); st != 303 {
		t.Fatalf("the victim, right password and TOTP, from their own address: %d, want 303", st)
	}
	if st := (&visitor{p: p}).signInFrom("192.0.2.10", "agent-0412", testPassword, ""); st != 303 {
		t.Fatalf("another login from a guessing address (1 failure): %d", st)
	}
}

// TestSignInSpoofedForwardedFor: without --trusted-proxy, X-Forwarded-For is the client's own word
// and is ignored: an attacker changing it at each guess is still one address.
// (The throttle is in memory: one store is enough.)
func TestSignInSpoofedForwardedFor(t *testing.T) {
	p := newPages(t, amanetest.Open(t)) // no trusted proxy
	for i := range 5 {
		if st := (&visitor{p: p}).signInFrom("198.51.100."+strconv.Itoa(i+1), "paie-souss", "guess", "000000"); st != 401 {
			t.Fatalf("guess: %d", st)
		}
	}
	if st := (&visitor{p: p}).signInFrom("198.51.100.99", "paie-souss", testPassword, p.code("paie-souss", p.now)); st != 401 {
		t.Fatalf("a spoofed X-Forwarded-For escaped the lock of its real address: %d", st)
	}
}

// stubAttester knows one code.
type stubAttester struct{ code string }

func (a stubAttester) Issue(context.Context, string, string, string, string, string) ([]byte, *attest.Summary, error) {
	return nil, nil, nil
}

func (a stubAttester) Status(_ context.Context, code string) (*attest.Summary, string, error) {
	if code != a.code {
		return nil, "", amane.Errorf(amane.ENOTFOUND, "unknown")
	}
	return &attest.Summary{Code: code, Kind: attest.KindThirdParty, Affiliation: "1234567"}, "valide", nil
}

// TestVerifyThrottlePerAddress is the attack on /verify: one address walks unknown codes behind the
// trusted proxy and is throttled; a holder of a genuine document, from another address, still checks
// it. Before, the proxy's address was everyone's and the lock was everyone's.
func TestVerifyThrottlePerAddress(t *testing.T) {
	r := amanetest.Open(t)
	srv := web.NewServer(r.Gate, r.Store, slog.New(slog.NewTextHandler(io.Discard, nil)))
	good := attest.NewCode()
	srv.Attester = stubAttester{code: good}
	srv.TrustedProxies = loopback
	hs := httptest.NewServer(srv)
	defer hs.Close()
	get := func(addr, code string) int {
		req, _ := http.NewRequest("GET", hs.URL+"/api/v1/verify/"+code, nil)
		req.Header.Set("X-Forwarded-For", addr)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for range 5 {
		if st := get("203.0.113.7", attest.NewCode()); st != 404 {
			t.Fatalf("unknown code: %d", st)
		}
	}
	if st := get("203.0.113.7", attest.NewCode()); st != 429 {
		t.Fatalf("the walking address: %d, want 429", st)
	}
	if st := get("198.51.100.20", good); st != 200 {
		t.Fatalf("another address with a genuine code: %d, want 200", st)
	}
}

func TestParseTrustedProxies(t *testing.T) {
	got, err := web.ParseTrustedProxies([]string{"10.0.0.0/8, 192.0.2.1", "2001:db8::/32", "::ffff:198.51.100.7"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"10.0.0.0/8", "192.0.2.1/32", "2001:db8::/32", "198.51.100.7/32"}
	if len(got) != len(want) {
		t.Fatalf("%v", got)
	}
	for i := range want {
		if got[i].String() != want[i] {
			t.Errorf("%d: %s, want %s", i, got[i], want[i])
		}
	}
	for _, bad := range []string{"10.0.0.0/33", "proxy.internal", "1.2.3"} {
		if _, err := web.ParseTrustedProxies([]string{bad}); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
