package web

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"amane"
)

// Sign-in throttling. Password sign-ins are counted under three keys, and only two of them ever lock:
//
//   - the pair (login, client address): after pairFree failures the pair is refused for
//     throttleBase, doubling at each further failure up to throttleMax. This stops one address from
//     guessing one login. A success clears the pair.
//   - the client address alone: after addrFree failures, whatever the logins, the address is refused
//     the same way. This stops one address from spraying many logins. A success does not clear it (an
//     attacker signing into their own account between guesses must not reset it). addrFree is larger
//     than pairFree because several honest people may share an address (an office behind NAT).
//   - the login alone, across addresses: never locks. Locking a login on failures from anywhere would
//     let anyone lock anyone out — six wrong guesses with a victim's login used to keep the victim's
//     right password and TOTP out for up to an hour. Instead, once a login has loginFree failures (it
//     is being guessed from several addresses), every pair of that login loses its free failures: an
//     address that has failed on this login is refused for throttleBase after its very first failure,
//     doubling from there. An address that has not failed on this login — the owner at home, at work —
//     is never slowed by the others' failures, so a right credential always gets in; a distributed
//     guesser gets one guess per fresh address and then the pair's doubling delays, on top of a
//     6-digit TOTP that accepts each step once.
//
// A refused attempt gets the same answer as a wrong password, so the answer tells nothing about the
// login or the lock. Passkeys are not throttled: they cannot be guessed. The client address is the
// peer's, or behind a trusted proxy the right-most untrusted address of X-Forwarded-For (clientIP);
// IPv6 addresses count by /64, the block one subscriber holds, so that an attacker cannot take a new
// address for each guess.
const (
	pairFree       = 5
	addrFree       = 10
	loginFree      = 10
	throttleFree   = pairFree // the lookups of unknown verification codes (attestations.go)
	throttleBase   = 30 * time.Second
	throttleMax    = time.Hour
	throttleForget = 24 * time.Hour
	throttleKeys   = 100_000
)

type attempts struct {
	failures int
	until    time.Time // refused before this time
	last     time.Time
}

type throttle struct {
	mu sync.Mutex
	m  map[string]*attempts
}

func newThrottle() *throttle { return &throttle{m: map[string]*attempts{}} }

// allowed reports whether no key is locked at now.
func (t *throttle) allowed(now time.Time, keys ...string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, k := range keys {
		if a, ok := t.m[k]; ok && now.Before(a.until) {
			return false
		}
	}
	return true
}

// fail counts a failure under every key, each locking after throttleFree failures.
func (t *throttle) fail(now time.Time, keys ...string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, k := range keys {
		t.count(now, k, throttleFree)
	}
}

// count adds a failure under key, locking it from the free-th failure (never if free < 0), and
// returns the key's failures. t.mu is held.
func (t *throttle) count(now time.Time, key string, free int) int {
	if len(t.m) >= throttleKeys {
		for k, a := range t.m {
			if now.Sub(a.last) > throttleForget || len(t.m) >= throttleKeys {
				delete(t.m, k)
			}
		}
	}
	a, ok := t.m[key]
	if !ok || now.Sub(a.last) > throttleForget {
		a = &attempts{}
		t.m[key] = a
	}
	a.failures++
	a.last = now
	if n := a.failures - free; free >= 0 && n >= 0 {
		d := throttleMax
		if n < 20 {
			d = min(throttleBase<<n, throttleMax)
		}
		a.until = now.Add(d)
	}
	return a.failures
}

// succeed clears the count of key.
func (t *throttle) succeed(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.m, key)
}

// Keys of the sign-in throttle: the login is case-folded (logins are unique case-insensitively).
func pairKey(login, addr string) string { return "pair:" + strings.ToLower(login) + "\x00" + addr }
func addrKey(addr string) string        { return "addr:" + addr }
func loginKey(login string) string      { return "login:" + strings.ToLower(login) }

// signInAllowed reports whether a password sign-in for login from addr may be checked at now.
func (t *throttle) signInAllowed(now time.Time, login, addr string) bool {
	return t.allowed(now, pairKey(login, addr), addrKey(addr))
}

// signInFailed counts a failed password sign-in (see the rules above).
func (t *throttle) signInFailed(now time.Time, login, addr string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	free := pairFree
	if t.count(now, loginKey(login), -1) >= loginFree {
		free = 1
	}
	t.count(now, pairKey(login, addr), free)
	t.count(now, addrKey(addr), addrFree)
}

// signInSucceeded clears the pair: the address proved it holds the credential. The login's count
// stays (it only shortens the free failures of addresses that fail on it), as does the address's.
func (t *throttle) signInSucceeded(login, addr string) { t.succeed(pairKey(login, addr)) }

// ParseTrustedProxies reads --trusted-proxy values: CIDRs or single addresses, each value possibly
// comma-separated.
func ParseTrustedProxies(values []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, v := range values {
		for part := range strings.SplitSeq(v, ",") {
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			if p, err := netip.ParsePrefix(part); err == nil {
				out = append(out, p.Masked())
				continue
			}
			a, err := netip.ParseAddr(part)
			if err != nil {
				return nil, amane.Invalid("A trusted proxy is a CIDR (10.0.0.0/8) or an address.",
					amane.FieldError{Field: "trusted-proxy", Rule: "a CIDR or an IP address"})
			}
			out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
		}
	}
	return out, nil
}

// trusted reports whether a is one of the server's trusted proxies.
func (s *Server) trusted(a netip.Addr) bool {
	for _, p := range s.TrustedProxies {
		if p.Contains(a.Unmap()) {
			return true
		}
	}
	return false
}

// clientAddr is the address a request comes from, as the throttles count it. The direct peer,
// unless the peer is a trusted proxy: then the right-most address of X-Forwarded-For that is not a
// trusted proxy (each proxy appends the address it saw; what is left of the last untrusted hop was
// written by the client and proves nothing), or X-Real-IP without X-Forwarded-For. A forwarded header
// from a peer that is not trusted is ignored: anyone can write one.
func (s *Server) clientAddr(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	peer = peer.Unmap()
	if !s.trusted(peer) {
		return peer
	}
	var hops []string
	for _, h := range r.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(h, ",")...)
	}
	if len(hops) == 0 {
		hops = r.Header.Values("X-Real-IP")
	}
	client := peer
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break // a trusted proxy writes addresses: this was written further left, by the client
		}
		client = a.Unmap()
		if !s.trusted(client) {
			break
		}
	}
	return client
}

// clientIP is the client address as a throttle key: an IPv4 address, or an IPv6 address's /64.
func (s *Server) clientIP(r *http.Request) string {
	a := s.clientAddr(r)
	if !a.IsValid() {
		return "unknown"
	}
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}
