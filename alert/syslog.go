package alert

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"amane/sentinel"
)

// Go's log/syslog writes the older BSD format (RFC 3164: no version, no structured data, a local
// timestamp without year or zone), which a collector can only parse by guessing. The RFC 5424 message
// below is written by hand for that reason; it is a few lines of formatting.
//
//	<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [amane@32473 principal="…" response="…" signal="…"] MSG
//
// PRI = facility × 8 + severity, with facility 10 (security/authorization, "authpriv": the responses
// are about access control) and a severity graded by response. TIMESTAMP is the response's time, RFC 3339
// in UTC with microseconds. MSGID is "sentinel-" + response, so a collector can route on it without
// parsing the rest. MSG is the response as compact JSON, without the UTF-8 BOM that RFC 5424 §6.4 allows:
// RFC 8259 §8.1 forbids a BOM before networked JSON, and collectors that parse the MSG as JSON choke on it.
// Without the BOM the MSG is MSG-ANY; it is still UTF-8, since encoding/json writes nothing else.
const (
	facilityAuthpriv = 10

	// sdID names the structured-data element. 32473 is the IANA Private Enterprise Number reserved for
	// documentation and examples (RFC 5612); a deployment that owns a PEN may want its own here.
	sdID = "amane@32473"
)

// severity is the RFC 5424 severity of a response: the graver the containment, the higher the alarm.
func severity(response string) (int, bool) {
	switch response {
	case sentinel.Alert, sentinel.Throttle:
		return 4, true // warning
	case sentinel.StepUp:
		return 3, true // error
	case sentinel.Suspend:
		return 1, true // alert: a principal lost its access, someone should look now
	}
	return 0, false
}

// Syslog is a [Sink] that writes RFC 5424 messages to a syslog receiver. It is safe for concurrent use:
// one message is written at a time.
//
// Over UDP and "unixgram" each message is one datagram (RFC 5426); a receiver may truncate a datagram
// above 2048 bytes, so responses with large evidence are better sent over TCP. Over TCP and "unix"
// (stream) each message is framed by octet counting, "LEN SP MSG" (RFC 6587 §3.4.1), which survives any
// byte in MSG, unlike newline framing.
type Syslog struct {
	network, addr string
	stream        bool
	hostname      string
	appName       string
	procID        string
	now           func() time.Time

	mu     sync.Mutex
	conn   net.Conn // nil after a failed reconnection: the next Send dials again
	closed bool
}

var _ Sink = (*Syslog)(nil)

// dialTimeout bounds a connection attempt when the caller's context has no deadline.
const dialTimeout = 10 * time.Second

// NewSyslog connects to a syslog receiver at addr over network ("udp", "tcp", "unix" or "unixgram").
// hostname defaults to the machine's name and appName to "amane"; both must be printable US-ASCII
// without spaces (RFC 5424 §6.2.4, §6.2.5). Connecting now makes a wrong address an error at startup
// rather than at the first alert.
func NewSyslog(network, addr, hostname, appName string) (*Syslog, error) {
	s := &Syslog{network: network, addr: addr, procID: strconv.Itoa(os.Getpid()), now: time.Now}
	switch network {
	case "udp", "udp4", "udp6", "unixgram":
	case "tcp", "tcp4", "tcp6", "unix":
		s.stream = true
	default:
		return nil, fmt.Errorf("syslog: network %q is not udp, tcp, unix or unixgram", network)
	}
	if hostname == "" {
		hostname, _ = os.Hostname()
		if !printASCII(hostname, 255) {
			hostname = "-" // NILVALUE: the receiver fills in the sender's address
		}
	}
	if !printASCII(hostname, 255) {
		return nil, fmt.Errorf("syslog: hostname %q is not 1 to 255 printable US-ASCII characters", hostname)
	}
	if appName == "" {
		appName = "amane"
	}
	if !printASCII(appName, 48) {
		return nil, fmt.Errorf("syslog: app name %q is not 1 to 48 printable US-ASCII characters", appName)
	}
	s.hostname, s.appName = hostname, appName
	ctx, cancel := context.WithTimeout(context.Background(), dialTimeout)
	defer cancel()
	if err := s.dial(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// Kind names the sink in the dispatcher's log.
func (s *Syslog) Kind() string { return "syslog" }

// Send writes one message. On a write error it reconnects once and writes the message again; over a
// stream it also reconnects first if the receiver has closed the connection, which a write would not
// notice until the message after (the kernel accepts the first write into a half-closed connection).
func (s *Syslog) Send(ctx context.Context, r sentinel.Response) error {
	msg, err := formatRFC5424(r, s.hostname, s.appName, s.procID, s.now)
	if err != nil {
		return err
	}
	if s.stream {
		msg = append([]byte(strconv.Itoa(len(msg))+" "), msg...)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("syslog: sink is closed")
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.conn != nil && s.stream && peerClosed(s.conn) {
		s.conn.Close()
		s.conn = nil
	}
	if s.conn != nil {
		if err = s.write(ctx, msg); err == nil {
			return nil
		}
		s.conn.Close()
		s.conn = nil
	}
	if derr := s.dial(ctx); derr != nil {
		if err != nil {
			return fmt.Errorf("syslog: write to %s %s: %w; reconnecting: %w", s.network, s.addr, err, derr)
		}
		return derr
	}
	if err := s.write(ctx, msg); err != nil {
		s.conn.Close()
		s.conn = nil
		return fmt.Errorf("syslog: write to %s %s: %w", s.network, s.addr, err)
	}
	return nil
}

func (s *Syslog) dial(ctx context.Context) error {
	var d net.Dialer
	if _, ok := ctx.Deadline(); !ok {
		d.Timeout = dialTimeout
	}
	c, err := d.DialContext(ctx, s.network, s.addr)
	if err != nil {
		return fmt.Errorf("syslog: connect to %s %s: %w", s.network, s.addr, err)
	}
	s.conn = c
	return nil
}

func (s *Syslog) write(ctx context.Context, msg []byte) error {
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(dialTimeout)
	}
	s.conn.SetWriteDeadline(deadline)
	_, err := s.conn.Write(msg)
	return err
}

// peerClosed reports whether the receiver has closed a stream connection. A syslog receiver never
// writes, so a read that ends before its 1 ms deadline found end of file or a reset; data, which a
// receiver should not send, is left alone. (Go checks an expired deadline before reading, so the
// deadline must lie in the future for the read to look at the socket at all.)
func peerClosed(c net.Conn) bool {
	c.SetReadDeadline(time.Now().Add(time.Millisecond))
	defer c.SetReadDeadline(time.Time{})
	var b [1]byte
	_, err := c.Read(b[:])
	return err != nil && !errors.Is(err, os.ErrDeadlineExceeded)
}

// Close closes the connection; Send fails afterwards.
func (s *Syslog) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	if s.conn == nil {
		return nil
	}
	err := s.conn.Close()
	s.conn = nil
	return err
}

// formatRFC5424 writes r as one RFC 5424 message (without transport framing). A response the sentinel
// does not define is refused rather than sent with a guessed severity.
func formatRFC5424(r sentinel.Response, hostname, appName, procID string, now func() time.Time) ([]byte, error) {
	sev, ok := severity(r.Response)
	if !ok {
		return nil, fmt.Errorf("syslog: response %q is not alert, throttle, step_up or suspend", r.Response)
	}
	body, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("syslog: encode the response: %w", err)
	}
	t := r.Time
	if t.IsZero() {
		t = now()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "<%d>1 %s %s %s %s sentinel-%s [%s principal=\"%s\" response=\"%s\" signal=\"%s\"] ",
		facilityAuthpriv*8+sev, t.UTC().Format("2006-01-02T15:04:05.000000Z07:00"),
		hostname, appName, procID, r.Response, sdID,
		escapeParamValue(r.Principal), escapeParamValue(r.Response), escapeParamValue(r.Signal))
	b.Write(body)
	return []byte(b.String()), nil
}

// escapeParamValue escapes an SD PARAM-VALUE: RFC 5424 §6.3.3 requires '"', '\' and ']' to be preceded
// by '\'. The value must also be UTF-8, so invalid bytes become U+FFFD.
func escapeParamValue(v string) string {
	v = strings.ToValidUTF8(v, string(utf8.RuneError))
	var b strings.Builder
	for _, c := range []byte(v) {
		if c == '"' || c == '\\' || c == ']' {
			b.WriteByte('\\')
		}
		b.WriteByte(c)
	}
	return b.String()
}

// printASCII reports whether s is 1 to n characters of PRINTUSASCII (%d33-126), as the header fields need.
func printASCII(s string, n int) bool {
	if len(s) == 0 || len(s) > n {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 33 || s[i] > 126 {
			return false
		}
	}
	return true
}
