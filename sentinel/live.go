package sentinel

import (
	"sync"
	"sync/atomic"
	"time"
)

// Live feeds the detector from a running gate: it is safe for concurrent use, keeps events in time
// order (a request that finishes a millisecond after a later one is observed at the later one's
// time), and hands every response to OnResponse, outside its lock.
type Live struct {
	mu   sync.Mutex
	d    *Detector
	last Event
	// OnResponse, if set, acts on each response (end sessions, journal it, alert).
	OnResponse func(Response)
	// ThrottleInterval is the least time between two requests of a throttled principal.
	ThrottleInterval time.Duration

	admitted map[string]time.Time // a throttled principal's last admitted request
	events   atomic.Uint64
}

// Events is how many events the live feed has observed.
func (l *Live) Events() uint64 { return l.events.Load() }

// DefaultThrottleInterval lets a throttled principal make one request a second: enough for a person
// at a screen, three orders of magnitude under an extraction.
const DefaultThrottleInterval = time.Second

// NewLive wraps a detector for live use.
func NewLive(d *Detector) *Live {
	return &Live{d: d, ThrottleInterval: DefaultThrottleInterval, admitted: map[string]time.Time{}}
}

// Admit decides, before the gate does anything else, whether the principal's request at now may go
// on: "" if it may, Suspend if the principal is suspended, Throttle if it is throttled (or held for a
// step-up) and its last admitted request was less than ThrottleInterval ago.
func (l *Live) Admit(principal string, now time.Time) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch l.d.Standing(principal) {
	case "", Alert:
		return ""
	case Suspend:
		return Suspend
	}
	if last, ok := l.admitted[principal]; ok && now.Sub(last) < l.ThrottleInterval {
		return Throttle
	}
	l.admitted[principal] = now
	return ""
}

// Standing is the strongest response in force for the principal (see Detector.Standing).
func (l *Live) Standing(principal string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.d.Standing(principal)
}

// Hold imposes a response restored from the store (see Detector.Hold).
func (l *Live) Hold(principal, response string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.d.Hold(principal, response)
}

// Observe feeds one event and returns the responses it caused.
func (l *Live) Observe(e Event) []Response {
	l.events.Add(1)
	l.mu.Lock()
	if e.Time.Before(l.last.Time) {
		e.Time = l.last.Time
	}
	l.last = e
	out := l.d.Observe(e)
	l.mu.Unlock()
	if l.OnResponse != nil {
		for _, r := range out {
			l.OnResponse(r)
		}
	}
	return out
}

// Suspended reports whether the principal is suspended.
func (l *Live) Suspended(principal string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.d.Suspended(principal)
}

// Lift lifts a principal's responses (a security officer's decision).
func (l *Live) Lift(principal string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.d.Lift(principal)
	delete(l.admitted, principal)
}
