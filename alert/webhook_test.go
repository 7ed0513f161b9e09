package alert_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"amane/alert"
	"amane/sentinel"
)

var (
	testSecret   = []byte("0123456789abcdef0123456789abcdef")
	testResponse = sentinel.Response{
		Time: time.Date(2024, 11, 4, 9, 12, 3, 0, time.UTC), Principal: "account/12", Response: sentinel.Suspend,
		Signal: "volume_10m", Evidence: map[string]any{"count": 912.0, "samples": []any{"employee/42"}},
	}
)

// receiver is a webhook endpoint that verifies as a security team's would, and answers with the statuses
// given in turn (200 once they run out).
type receiver struct {
	t        *testing.T
	statuses []int
	calls    atomic.Int32
	got      atomic.Pointer[sentinel.Response]
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := int(rc.calls.Add(1))
	body, err := io.ReadAll(r.Body)
	if err != nil {
		rc.t.Error(err)
	}
	// Recomputed here from the documented construction, independently of alert.Sign.
	ts := r.Header.Get("X-Amane-Timestamp")
	m := hmac.New(sha256.New, testSecret)
	m.Write([]byte(ts + "." + string(body)))
	want := "sha256=" + hex.EncodeToString(m.Sum(nil))
	if !hmac.Equal([]byte(r.Header.Get("X-Amane-Signature")), []byte(want)) {
		rc.t.Errorf("X-Amane-Signature %q, want %q", r.Header.Get("X-Amane-Signature"), want)
	}
	if err := alert.Verify(testSecret, ts, r.Header.Get("X-Amane-Signature"), body, time.Now(), time.Minute); err != nil {
		rc.t.Errorf("the receiver's check refuses a genuine request: %v", err)
	}
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
		rc.t.Errorf("%s with Content-Type %q", r.Method, r.Header.Get("Content-Type"))
	}
	var resp sentinel.Response
	if err := json.Unmarshal(body, &resp); err != nil {
		rc.t.Errorf("body is not a response: %v", err)
	}
	rc.got.Store(&resp)
	if n <= len(rc.statuses) {
		w.WriteHeader(rc.statuses[n-1])
		w.Write(body) // a careless receiver echoes the request: the error must still not carry it
	}
}

func newWebhook(t *testing.T, url string, c *http.Client) *alert.Webhook {
	t.Helper()
	w, err := alert.NewWebhook(url, testSecret, c)
	if err != nil {
		t.Fatal(err)
	}
	alert.SetBackoff(w, 10*time.Millisecond)
	t.Cleanup(func() { w.Close() })
	return w
}

func TestWebhook(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		rc := &receiver{t: t}
		srv := httptest.NewTLSServer(rc)
		defer srv.Close()
		w := newWebhook(t, srv.URL+"/hooks/sentinel", srv.Client())
		if err := w.Send(context.Background(), testResponse); err != nil {
			t.Fatal(err)
		}
		if rc.calls.Load() != 1 {
			t.Errorf("%d calls, want 1", rc.calls.Load())
		}
		if got := rc.got.Load(); got == nil || !reflect.DeepEqual(*got, roundTrip(t, testResponse)) {
			t.Errorf("received %+v", got)
		}
	})
	t.Run("RetryAfter500", func(t *testing.T) {
		rc := &receiver{t: t, statuses: []int{http.StatusInternalServerError}}
		srv := httptest.NewServer(rc)
		defer srv.Close()
		if err := newWebhook(t, srv.URL, nil).Send(context.Background(), testResponse); err != nil {
			t.Fatal(err)
		}
		if rc.calls.Load() != 2 {
			t.Errorf("%d calls, want 2", rc.calls.Load())
		}
	})
	t.Run("ErrThree5xx", func(t *testing.T) {
		rc := &receiver{t: t, statuses: []int{502, 503, 500, 500}}
		srv := httptest.NewServer(rc)
		defer srv.Close()
		err := newWebhook(t, srv.URL, nil).Send(context.Background(), testResponse)
		if err == nil || rc.calls.Load() != 3 {
			t.Errorf("err %v after %d calls, want an error after 3", err, rc.calls.Load())
		}
	})
	t.Run("ErrNoRetryAfter400", func(t *testing.T) {
		rc := &receiver{t: t, statuses: []int{http.StatusBadRequest}}
		srv := httptest.NewServer(rc)
		defer srv.Close()
		err := newWebhook(t, srv.URL+"/hooks/T0KEN", nil).Send(context.Background(), testResponse)
		if err == nil || rc.calls.Load() != 1 {
			t.Fatalf("err %v after %d calls, want an error after 1", err, rc.calls.Load())
		}
		noLeak(t, err)
	})
	t.Run("ErrNoRedirect", func(t *testing.T) {
		var followed atomic.Bool
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/elsewhere" {
				followed.Store(true)
				return
			}
			http.Redirect(w, r, "/elsewhere", http.StatusTemporaryRedirect)
		}))
		defer srv.Close()
		if err := newWebhook(t, srv.URL, nil).Send(context.Background(), testResponse); err == nil || followed.Load() {
			t.Errorf("err %v, followed %v: a redirect must be a final error", err, followed.Load())
		}
	})
	t.Run("ErrNetworkRetried", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		url := srv.URL + "/hooks/T0KEN"
		srv.Close() // connection refused from now on
		err := newWebhook(t, url, nil).Send(context.Background(), testResponse)
		if err == nil || !strings.Contains(err.Error(), "3 tries") {
			t.Fatalf("err %v, want one after 3 tries", err)
		}
		noLeak(t, err)
	})
}

// noLeak checks that an error names neither the body nor the URL's path (which may hold a token).
func noLeak(t *testing.T, err error) {
	t.Helper()
	for _, s := range []string{"account/12", "employee/42", "T0KEN"} {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error %q contains %q", err, s)
		}
	}
}

func TestNewWebhook(t *testing.T) {
	for _, tt := range []struct {
		url string
		ok  bool
	}{
		{"https://siem.example.org/hooks/sentinel", true},
		{"http://127.0.0.1:8080/hook", true},
		{"http://[::1]:8080/hook", true},
		{"http://localhost/hook", true},
		{"http://siem.example.org/hook", false},
		{"http://10.0.0.1/hook", false},
		{"http://localhost.example.org/hook", false},
		{"ftp://127.0.0.1/hook", false},
		{"https:///nohost", false},
		{"://bad", false},
	} {
		_, err := alert.NewWebhook(tt.url, testSecret, nil)
		if (err == nil) != tt.ok {
			t.Errorf("NewWebhook(%q): err %v, want ok=%v", tt.url, err, tt.ok)
		}
	}
	t.Run("ErrEmptySecret", func(t *testing.T) {
		if _, err := alert.NewWebhook("https://siem.example.org/", nil, nil); err == nil {
			t.Error("accepted an empty secret")
		}
	})
}

func TestSign(t *testing.T) {
	// RFC 4231 test case 2, HMAC-SHA256("Jefe", "what do ya want for nothing?"), split at its first space
	// into a "timestamp" and a body joined by the dot: Sign is HMAC over timestamp ‖ "." ‖ body.
	got := alert.Sign([]byte("Jefe"), "what", []byte("do ya want for nothing?"))
	if want := "sha256=" + rfc4231Case2(t, "what.do ya want for nothing?"); got != want {
		t.Errorf("Sign = %s, want %s", got, want)
	}
	if base := rfc4231Case2(t, "what do ya want for nothing?"); base != "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843" {
		t.Fatalf("HMAC-SHA256 itself disagrees with RFC 4231: %s", base)
	}
}

func rfc4231Case2(t *testing.T, msg string) string {
	t.Helper()
	m := hmac.New(sha256.New, []byte("Jefe"))
	m.Write([]byte(msg))
	return hex.EncodeToString(m.Sum(nil))
}

// TestVerify: the receiver's check accepts a genuine request and refuses a replay once it is older
// than the tolerance, a body or timestamp changed after signing, another secret, and garbage.
func TestVerify(t *testing.T) {
	secret := []byte("a shared secret of the security team")
	now := time.Unix(1_795_000_000, 0)
	ts := strconv.FormatInt(now.Unix(), 10)
	body := []byte(`{"principal":"account/12","response":"suspend","signal":"canary"}`)
	sig := alert.Sign(secret, ts, body)
	if err := alert.Verify(secret, ts, sig, body, now.Add(30*time.Second), 5*time.Minute); err != nil {
		t.Fatalf("genuine request refused: %v", err)
	}
	later := strconv.FormatInt(now.Add(time.Hour).Unix(), 10)
	for name, tc := range map[string]struct {
		ts, sig string
		body    []byte
		secret  []byte
		at      time.Time
	}{
		"replayed an hour later": {ts, sig, body, secret, now.Add(time.Hour)},
		"body changed":           {ts, sig, []byte(`{"principal":"account/13","response":"suspend","signal":"canary"}`), secret, now},
		"timestamp moved on":     {later, sig, body, secret, now.Add(time.Hour)},
		"other secret":           {ts, sig, body, []byte("another secret"), now},
		"timestamp not a number": {"yesterday", sig, body, secret, now},
		"signature garbage":      {ts, "sha256=00", body, secret, now},
	} {
		if err := alert.Verify(tc.secret, tc.ts, tc.sig, tc.body, tc.at, 5*time.Minute); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
