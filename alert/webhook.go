package alert

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"amane/sentinel"
)

// Webhook is a [Sink] that POSTs each response as JSON to an HTTPS endpoint. X-Amane-Timestamp is the
// Unix time of the attempt, in seconds, and
//
//	X-Amane-Signature: sha256=hex(HMAC-SHA256(secret, timestamp ‖ "." ‖ body))
//
// binds it to the raw body. A receiver recomputes the HMAC, compares it in constant time and refuses a
// timestamp more than a few minutes from its clock ([Verify] does all three): a captured request
// cannot be sent again later, nor its body under another timestamp. HMAC-SHA256 with a shared secret
// over a timestamp and the body is what webhook receivers commonly verify (Stripe's and Slack's
// signatures have this shape), so no key infrastructure is needed on the security team's side.
//
// A network error or a 5xx answer is retried, 3 tries in all with a doubling pause; a 4xx (or any other
// non-2xx) answer is final: the request itself is wrong and sending it again would not help. Redirects are
// not followed, so the evidence cannot be bounced to another host or to plain HTTP.
type Webhook struct {
	url     string
	host    string // for errors: the URL's path or query may hold a token, the host does not
	secret  []byte
	client  *http.Client
	backoff time.Duration // pause before the second try; doubled before each further one
	now     func() time.Time
}

var _ Sink = (*Webhook)(nil)

// webhookTries is the number of attempts for one response.
const webhookTries = 3

// NewWebhook checks the URL and prepares the sink; a nil client means one with a 10-second timeout. The
// URL must be https, except on a loopback host (a local relay or a test server), since the body is the
// sentinel's evidence about a principal. The secret must not be empty; 32 random bytes are enough.
func NewWebhook(rawURL string, secret []byte, client *http.Client) (*Webhook, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, errors.New("webhook: the URL does not parse")
	}
	if u.Host == "" {
		return nil, errors.New("webhook: the URL has no host")
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !loopback(u.Hostname()) {
			return nil, fmt.Errorf("webhook: http://%s is not loopback; use https", u.Host)
		}
	default:
		return nil, fmt.Errorf("webhook: scheme %q is not https", u.Scheme)
	}
	if len(secret) == 0 {
		return nil, errors.New("webhook: the secret is empty")
	}
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	c := *client // a copy, so that refusing redirects does not change the caller's client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &Webhook{
		url:     u.String(),
		host:    u.Host,
		secret:  bytes.Clone(secret),
		client:  &c,
		backoff: 500 * time.Millisecond,
		now:     time.Now,
	}, nil
}

// loopback reports whether host is "localhost" (RFC 6761 §6.3 keeps it on the loopback interface) or a
// loopback address.
func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Kind names the sink in the dispatcher's log.
func (w *Webhook) Kind() string { return "webhook" }

// Sign returns the X-Amane-Signature value of a request: "sha256=" and the hex HMAC-SHA256 under
// secret of its X-Amane-Timestamp value, a dot, and its body.
func Sign(secret []byte, timestamp string, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(timestamp))
	m.Write([]byte{'.'})
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Verify is the receiver's check of a request's X-Amane-Timestamp and X-Amane-Signature values over
// its raw body: the signature under secret, compared in constant time, and the timestamp within
// tolerance of now (a replayed request is refused once it is older than that).
func Verify(secret []byte, timestamp, signature string, body []byte, now time.Time, tolerance time.Duration) error {
	ts, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return errors.New("webhook: X-Amane-Timestamp is not a Unix time")
	}
	if !hmac.Equal([]byte(signature), []byte(Sign(secret, timestamp, body))) {
		return errors.New("webhook: X-Amane-Signature does not match the timestamp and body")
	}
	if d := now.Sub(time.Unix(ts, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("webhook: X-Amane-Timestamp is %s away from now (tolerance %s)", d.Round(time.Second), tolerance)
	}
	return nil
}

// Send POSTs r, retrying as the type's comment says. Errors name the host and the status or network
// error, never the URL's path or the body.
func (w *Webhook) Send(ctx context.Context, r sentinel.Response) error {
	body, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("webhook: encode the response: %w", err)
	}
	pause := w.backoff
	for try := 1; ; try++ {
		retry, err := w.post(ctx, body)
		if err == nil || !retry {
			return err
		}
		if try == webhookTries {
			return fmt.Errorf("%w (gave up after %d tries)", err, webhookTries)
		}
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (then %w)", err, ctx.Err())
		case <-t.C:
		}
		pause *= 2
	}
}

// post makes one attempt and reports whether a failure is worth another.
func (w *Webhook) post(ctx context.Context, body []byte) (retry bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(body))
	if err != nil {
		return false, fmt.Errorf("webhook: request to %s: %w", w.host, err)
	}
	req.Header.Set("Content-Type", "application/json")
	ts := strconv.FormatInt(w.now().Unix(), 10) // each attempt signs its own time
	req.Header.Set("X-Amane-Timestamp", ts)
	req.Header.Set("X-Amane-Signature", Sign(w.secret, ts, body))
	resp, err := w.client.Do(req)
	if err != nil {
		// *url.Error repeats the whole URL; keep only the cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return ctx.Err() == nil, fmt.Errorf("webhook: POST to %s: %w", w.host, err)
	}
	// Read a little of the answer so the connection can be reused; its content is not reported, since
	// a receiver may echo the request.
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return false, nil
	case resp.StatusCode >= 500:
		return true, fmt.Errorf("webhook: %s answered %s", w.host, resp.Status)
	default:
		return false, fmt.Errorf("webhook: %s answered %s", w.host, resp.Status)
	}
}

// Close releases idle connections.
func (w *Webhook) Close() error {
	w.client.CloseIdleConnections()
	return nil
}
