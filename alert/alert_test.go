package alert_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"amane/alert"
	"amane/sentinel"
)

// gateSink holds every Send until open is closed, then records the response. It stands for a receiver
// that has stopped answering.
type gateSink struct {
	open chan struct{}
	fail error

	mu  sync.Mutex
	got []sentinel.Response
}

func newGateSink() *gateSink { return &gateSink{open: make(chan struct{})} }

func (s *gateSink) Send(ctx context.Context, r sentinel.Response) error {
	<-s.open
	if s.fail != nil {
		return s.fail
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.got = append(s.got, r)
	return nil
}

func (s *gateSink) Close() error { return nil }
func (s *gateSink) Kind() string { return "gate" }

func (s *gateSink) received() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.got)
}

func response(i int) sentinel.Response {
	return sentinel.Response{Principal: "account/12", Response: sentinel.Alert, Signal: "volume_10m",
		Evidence: map[string]any{"n": i}}
}

func TestDispatcher(t *testing.T) {
	t.Run("DropsWhenFull", func(t *testing.T) {
		sink := newGateSink()
		d := alert.NewDispatcher(nil, sink)
		const n = 3 * alert.QueueSize
		// The sink delivers nothing while the gate is shut: Notify returning for every response at all is
		// the proof that it does not block.
		for i := range n {
			d.Notify(response(i))
		}
		// At most QueueSize queued plus one in the sink's hands.
		if d.Dropped() < n-alert.QueueSize-1 {
			t.Errorf("Dropped = %d, want at least %d", d.Dropped(), n-alert.QueueSize-1)
		}
		close(sink.open)
		if err := d.Close(); err != nil {
			t.Fatal(err)
		}
		if d.Sent()+d.Dropped() != n || d.Failed() != 0 || uint64(sink.received()) != d.Sent() {
			t.Errorf("Sent %d + Dropped %d != %d, Failed %d, received %d",
				d.Sent(), d.Dropped(), n, d.Failed(), sink.received())
		}
		d.Notify(response(0))
		if d.Sent()+d.Dropped() != n+1 {
			t.Errorf("a response notified after Close is not counted as dropped")
		}
	})
	t.Run("CloseDrains", func(t *testing.T) {
		a, b := newGateSink(), newGateSink()
		d := alert.NewDispatcher(nil, a, b)
		for i := range 100 {
			d.Notify(response(i))
		}
		closed := make(chan error)
		go func() { closed <- d.Close() }()
		close(a.open)
		close(b.open)
		if err := <-closed; err != nil {
			t.Fatal(err)
		}
		if a.received() != 100 || b.received() != 100 || d.Sent() != 200 || d.Dropped() != 0 {
			t.Errorf("received %d and %d, Sent %d, Dropped %d; want 100, 100, 200, 0",
				a.received(), b.received(), d.Sent(), d.Dropped())
		}
		for i, r := range a.got {
			if r.Evidence["n"] != i {
				t.Fatalf("response %d delivered at %d: order lost", r.Evidence["n"], i)
			}
		}
	})
	t.Run("LogsFailures", func(t *testing.T) {
		var log bytes.Buffer
		bad, good := newGateSink(), newGateSink()
		bad.fail = errors.New("receiver unreachable")
		close(bad.open)
		close(good.open)
		d := alert.NewDispatcher(slog.New(slog.NewTextHandler(&log, nil)), bad, good)
		d.Notify(response(1))
		if err := d.Close(); err != nil {
			t.Fatal(err)
		}
		if d.Failed() != 1 || d.Sent() != 1 {
			t.Errorf("Failed %d, Sent %d; want 1, 1", d.Failed(), d.Sent())
		}
		if s := log.String(); !strings.Contains(s, "sink=gate") || !strings.Contains(s, `err="receiver unreachable"`) ||
			strings.Contains(s, "account/12") || strings.Contains(s, "volume_10m") {
			t.Errorf("log %q: want the sink kind and the error, not the response", s)
		}
	})
}
