package web

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"amane"
)

// Bounded uploads. A declaration body may be MaxDeclarationFile (64 MiB, the largest employer's
// month with room to spare), and one at that size costs about 19 s of CPU and 220 MB of memory to
// decode, check and store. A larger body is refused as it arrives, 413 with the API's error shape.
// Each principal may then have one declaration upload in progress at a time — a second, concurrent
// one is refused at once, 429, before its body is read — and uploadBytesPerHour bytes of them per
// hour. One in progress bounds what one principal costs at any instant (one core, one body in
// memory), whatever their bandwidth; the hourly budget bounds the total: 256 MiB is four
// largest-possible declarations an hour, where an employer sends a few a month and a payroll
// bureau's resubmissions are small. Staff and integrations submitting for many employers are bounded
// the same way: they send one after another. The budget is counted on the bytes actually read.

const uploadBytesPerHour = 256 << 20

// tooLargeError is a body over its route's bound: EINVALID for the pages, 413 in the API.
type tooLargeError struct {
	err error
}

func (e *tooLargeError) Error() string { return e.err.Error() }
func (e *tooLargeError) Unwrap() error { return e.err }

// tooLarge is the error of a body larger than limit bytes.
func tooLarge(limit int64) error {
	return &tooLargeError{amane.Errorf(amane.EINVALID, "The request body is larger than %d MiB.", max(1, limit>>20))}
}

// writeTooLarge answers 413 if err is a tooLargeError, and reports whether it did.
func writeTooLarge(w http.ResponseWriter, err error) bool {
	var tl *tooLargeError
	if !errors.As(err, &tl) {
		return false
	}
	var body errorBody
	body.Error.Code, body.Error.Message = "too_large", amane.ErrorMessage(err)
	writeJSON(w, http.StatusRequestEntityTooLarge, body)
	return true
}

type uploadState struct {
	mu     sync.Mutex
	busy   map[string]bool
	window time.Time
	bytes  map[string]int64
}

// beginUpload admits one declaration upload for the principal in r's context. done records the
// bytes read and ends the upload; it must be called once.
func (s *Server) beginUpload(r *http.Request) (done func(n int64), retry time.Duration, err error) {
	p := amane.PrincipalFromContext(r.Context())
	if p == nil {
		return func(int64) {}, 0, nil
	}
	u := &s.uploads
	now := s.Now()
	u.mu.Lock()
	defer u.mu.Unlock()
	if h := now.Truncate(time.Hour); !h.Equal(u.window) || u.bytes == nil {
		u.window, u.bytes = h, map[string]int64{}
	}
	if u.busy == nil {
		u.busy = map[string]bool{}
	}
	switch {
	case u.busy[p.ID]:
		return nil, time.Second, amane.Errorf(amane.ETHROTTLED, "A declaration of yours is being received: send the next one when it is done.")
	case u.bytes[p.ID] >= uploadBytesPerHour:
		return nil, u.window.Add(time.Hour).Sub(now), amane.Errorf(amane.ETHROTTLED, "You sent %d MiB of declarations this hour: send the next one later.", uploadBytesPerHour>>20)
	}
	u.busy[p.ID] = true
	window := u.window
	return func(n int64) {
		u.mu.Lock()
		defer u.mu.Unlock()
		delete(u.busy, p.ID)
		if u.window.Equal(window) {
			u.bytes[p.ID] += n
		}
	}, 0, nil
}

// retryAfter sets Retry-After to d, rounded up to a second.
func retryAfter(w http.ResponseWriter, d time.Duration) {
	w.Header().Set("Retry-After", strconv.Itoa(max(1, int((d+time.Second-1)/time.Second))))
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.ReadCloser
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func (c *countingReader) Close() error { return c.r.Close() }
