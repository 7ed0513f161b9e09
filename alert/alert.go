// Package alert carries the sentinel's responses ([sentinel.Response]) to a security team: to a syslog
// receiver (a SIEM's collector, rsyslog, syslog-ng) and to an HTTPS webhook.
//
// A [Sink] delivers one response. [Syslog] writes RFC 5424 messages over UDP (RFC 5426), TCP with
// octet-counting framing (RFC 6587 §3.4.1) or a Unix socket; [Webhook] POSTs the response as JSON signed
// with HMAC-SHA256. A [Dispatcher] sits between the sentinel and the sinks so that the sentinel, which runs
// on the gate's request path, never waits for a network: [Dispatcher.Notify] queues and returns, and a
// full queue drops the response and counts it.
//
// What leaves the registry here is exactly the response: principal, response, signal, time and evidence.
// The sentinel only sees identifiers, so the evidence holds counts, windows, thresholds and internal
// record references ("employee/42"), never personal data. Delivery errors are logged without the body.
//
// The test TestSyslogRsyslog proves the format against a real rsyslogd (the messages are parsed as
// RFC 5424 by rsyslog and read back from its output file); the webhook tests run against a real HTTP
// server and verify the signature as a receiver would.
package alert

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"amane/sentinel"
)

// Sink delivers responses to one destination. Send is safe for concurrent use; after Close it fails.
type Sink interface {
	// Send delivers r, or returns why it could not. The error never contains the message body.
	Send(ctx context.Context, r sentinel.Response) error
	Close() error
}

// QueueSize is the number of responses a Dispatcher holds for each sink before it drops. The sentinel
// emits at most a few responses per principal and signal, so a full queue means the sink is down, not busy.
const QueueSize = 1024

// SendTimeout bounds one delivery to one sink (retries included), so that a hung receiver cannot stall
// its queue, nor Close, forever.
const SendTimeout = 30 * time.Second

// Dispatcher fans responses out to its sinks without blocking the caller. Each sink has its own queue and
// goroutine, so a slow webhook does not delay syslog. The counters count deliveries, one per response
// and sink: with two sinks, one response counts twice.
type Dispatcher struct {
	logger *slog.Logger
	queues []chan sentinel.Response
	wg     sync.WaitGroup

	mu     sync.RWMutex // guards closed against Notify sending on a closed queue
	closed bool
	sinks  []Sink

	sent, failed, dropped atomic.Uint64
}

// NewDispatcher starts one goroutine per sink; a nil logger discards the log. The dispatcher owns the
// sinks: [Dispatcher.Close] closes them.
func NewDispatcher(logger *slog.Logger, sinks ...Sink) *Dispatcher {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	d := &Dispatcher{logger: logger, sinks: sinks}
	for _, s := range sinks {
		q := make(chan sentinel.Response, QueueSize)
		d.queues = append(d.queues, q)
		d.wg.Add(1)
		go d.deliver(s, q)
	}
	return d
}

func (d *Dispatcher) deliver(s Sink, q <-chan sentinel.Response) {
	defer d.wg.Done()
	for r := range q {
		ctx, cancel := context.WithTimeout(context.Background(), SendTimeout)
		err := s.Send(ctx, r)
		cancel()
		if err != nil {
			d.failed.Add(1)
			// The sink kind and the error only: the sinks' errors never carry the body, and the log is
			// not the place for the evidence.
			d.logger.Error("alert: delivery failed", "sink", kind(s), "err", err)
			continue
		}
		d.sent.Add(1)
	}
}

// Notify queues r for every sink and returns at once. A sink whose queue is full loses r, which is counted
// in Dropped; so is every response notified after Close.
func (d *Dispatcher) Notify(r sentinel.Response) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.closed {
		d.dropped.Add(uint64(len(d.queues)))
		return
	}
	for _, q := range d.queues {
		select {
		case q <- r:
		default:
			d.dropped.Add(1)
		}
	}
}

// Close stops accepting responses, delivers the queued ones, then closes the sinks. It returns the
// sinks' Close errors.
func (d *Dispatcher) Close() error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil
	}
	d.closed = true
	for _, q := range d.queues {
		close(q)
	}
	d.mu.Unlock()
	d.wg.Wait()
	var errs []error
	for _, s := range d.sinks {
		if err := s.Close(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", kind(s), err))
		}
	}
	return errors.Join(errs...)
}

// Sent is the number of deliveries that succeeded.
func (d *Dispatcher) Sent() uint64 { return d.sent.Load() }

// Failed is the number of deliveries a sink attempted and gave up on.
func (d *Dispatcher) Failed() uint64 { return d.failed.Load() }

// Dropped is the number of deliveries never attempted: the sink's queue was full, or the dispatcher closed.
func (d *Dispatcher) Dropped() uint64 { return d.dropped.Load() }

// kind names a sink in the log: "syslog", "webhook", or the Go type of another sink.
func kind(s Sink) string {
	if k, ok := s.(interface{ Kind() string }); ok {
		return k.Kind()
	}
	return fmt.Sprintf("%T", s)
}
