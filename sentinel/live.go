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

// AdmitRelease decides, before the gate releases anything, on a response that would release the
// records of es (one event per record, all of one principal, as Observe takes them): the events are
// counted in the principal's windows now, under one lock, so that concurrent requests cannot each
// slip under a ceiling. It returns "" if the release may go on, or Suspend if the principal is
// suspended or counting the release suspended it: releasing those records would have crossed a
// ceiling (a suspension threshold), so nothing is released and the suspension is taken before,
// instead of after. The responses go to OnResponse as Observe's do.
func (l *Live) AdmitRelease(es []Event) string {
	if len(es) == 0 {
		return ""
	}
	l.events.Add(uint64(len(es)))
	principal := es[0].Principal
	var out []Response
	verdict := ""
	l.mu.Lock()
	if l.d.Suspended(principal) {
		verdict = Suspend
	}
	for _, e := range es {
		if verdict != "" {
			break
		}
		if e.Time.Before(l.last.Time) {
			e.Time = l.last.Time
		}
		l.last = e
		out = append(out, l.d.Observe(e)...)
		if l.d.Suspended(principal) {
			verdict = Suspend
		}
	}
	if verdict != "" {
		for _, r := range out {
			if r.Response == Suspend && r.Evidence != nil {
				// What the refused response would have released: the suspension came first.
				r.Evidence["release_refused_records"] = len(es)
			}
		}
	}
	l.mu.Unlock()
	if l.OnResponse != nil {
		for _, r := range out {
			l.OnResponse(r)
		}
	}
	return verdict
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
