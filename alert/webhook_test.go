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
	m := hmac.New(sha256.New, testSecret)
	m.Write(body)
	want := "sha256=" + hex.EncodeToString(m.Sum(nil))
	if !hmac.Equal([]byte(r.Header.Get("X-Amane-Signature")), []byte(want)) {
		rc.t.Errorf("X-Amane-Signature %q, want %q", r.Header.Get("X-Amane-Signature"), want)
	}
	if ts, err := strconv.ParseInt(r.Header.Get("X-Amane-Timestamp"), 10, 64); err != nil || time.Since(time.Unix(ts, 0)).Abs() > time.Minute {
		rc.t.Errorf("X-Amane-Timestamp %q is not the current Unix time", r.Header.Get("X-Amane-Timestamp"))
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
	// RFC 4231 test case 2: HMAC-SHA256("Jefe", "what do ya want for nothing?").
	got := alert.Sign([]byte("Jefe"), []byte("what do ya want for nothing?"))
	if want := "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"; got != want {
		t.Errorf("Sign = %s, want %s", got, want)
	}
}
