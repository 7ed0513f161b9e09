package web

import (
	"net"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"
)

func proxied() *Server {
	return &Server{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}}
}

func TestClientAddr(t *testing.T) {
	s := proxied()
	for _, c := range []struct {
		peer, xff, realIP, want string
	}{
		{"203.0.113.7:1234", "", "", "203.0.113.7"},
		{"203.0.113.7:1234", "198.51.100.1", "", "203.0.113.7"},                  // an untrusted peer's header is its own word
		{"10.0.0.5:1234", "198.51.100.1", "", "198.51.100.1"},                    // one trusted proxy
		{"10.0.0.5:1234", "1.1.1.1, 198.51.100.1, 10.0.0.9", "", "198.51.100.1"}, // chain: the right-most untrusted
		{"10.0.0.5:1234", "garbage, 198.51.100.1", "", "198.51.100.1"},
		{"10.0.0.5:1234", "198.51.100.1, garbage", "", "10.0.0.5"}, // a trusted hop wrote nonsense: the peer
		{"10.0.0.5:1234", "10.0.0.7", "", "10.0.0.7"},              // all trusted: the left-most
		{"10.0.0.5:1234", "", "198.51.100.2", "198.51.100.2"},
		{"[fd00::1]:443", "2001:db8:1:2::5", "", "2001:db8:1:2::5"},
		{"[::ffff:10.0.0.5]:1", "198.51.100.1", "", "198.51.100.1"},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = c.peer
		if c.xff != "" {
			r.Header.Set("X-Forwarded-For", c.xff)
		}
		if c.realIP != "" {
			r.Header.Set("X-Real-IP", c.realIP)
		}
		if got := s.clientAddr(r).String(); got != c.want {
			t.Errorf("%s %q %q: %s, want %s", c.peer, c.xff, c.realIP, got, c.want)
		}
	}
}

// FuzzClientAddr: whatever a client writes in X-Forwarded-For, the client address is the peer or an
// address the header holds, and never panics.
func FuzzClientAddr(f *testing.F) {
	f.Add("10.0.0.5:1", "198.51.100.1, 10.0.0.9")
	f.Add("203.0.113.7:1", "1.1.1.1")
	f.Add("[fd00::1]:1", "::1,,  ,x")
	s := proxied()
	f.Fuzz(func(t *testing.T, peer, xff string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = peer
		r.Header["X-Forwarded-For"] = []string{xff}
		a := s.clientAddr(r)
		if !a.IsValid() {
			return
		}
		host, _, err := net.SplitHostPort(peer)
		if err != nil {
			host = peer // a peer without a port
		}
		if p, err := netip.ParseAddr(host); err == nil && p.Unmap() == a {
			return
		}
		for _, h := range strings.Split(xff, ",") {
			if x, err := netip.ParseAddr(strings.TrimSpace(h)); err == nil && x.Unmap() == a {
				return
			}
		}
		t.Fatalf("%s from peer %q and header %q", a, peer, xff)
	})
}

// TestThrottleIPv6Block: an IPv6 client counts by its /64, so that taking a new address of its block
// for each guess gets around nothing; behind a trusted proxy, the forwarded address counts.
func TestThrottleIPv6Block(t *testing.T) {
	s := proxied()
	th := newThrottle()
	now := time.Unix(1_700_000_000, 0)
	from := func(a string) string {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = "10.0.0.5:443"
		r.Header.Set("X-Forwarded-For", a)
		return s.clientIP(r)
	}
	for i := range addrFree {
		addr := from("2001:db8:1:2::" + strconv.Itoa(i+1))
		if !th.signInAllowed(now, "nobody-"+strconv.Itoa(i), addr) {
			t.Fatalf("refused after %d failures", i)
		}
		th.signInFailed(now, "nobody-"+strconv.Itoa(i), addr)
	}
	if th.signInAllowed(now, "agent-0412", from("2001:db8:1:2:ffff::1")) {
		t.Error("another address of the locked /64 is not locked")
	}
	if !th.signInAllowed(now, "agent-0412", from("2001:db8:1:3::1")) {
		t.Error("the next /64 is locked")
	}
}
