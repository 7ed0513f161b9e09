package web

import (
	"sync"
	"time"
)

// Sign-in throttling: password sign-ins are counted per login and per client address. After
// throttleFree failures under one key, that key is refused for throttleBase, doubling at each further
// failure up to throttleMax; a success clears the login's count (not the address's: an attacker
// signing into their own account between guesses must not reset it). A refused attempt gets the same
// answer as a wrong password, so the answer tells nothing about the login or the lock. Passkeys are
// not throttled: they cannot be guessed.
const (
	throttleFree   = 5
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

// fail counts a failure under every key.
func (t *throttle) fail(now time.Time, keys ...string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.m) >= throttleKeys {
		for k, a := range t.m {
			if now.Sub(a.last) > throttleForget || len(t.m) >= throttleKeys {
				delete(t.m, k)
			}
		}
	}
	for _, k := range keys {
		a, ok := t.m[k]
		if !ok || now.Sub(a.last) > throttleForget {
			a = &attempts{}
			t.m[k] = a
		}
		a.failures++
		a.last = now
		if n := a.failures - throttleFree; n >= 0 {
			d := throttleMax
			if n < 20 {
				d = min(throttleBase<<n, throttleMax)
			}
			a.until = now.Add(d)
		}
	}
}

// succeed clears the count of key.
func (t *throttle) succeed(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.m, key)
}
