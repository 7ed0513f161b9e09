package alert_test

import (
	"strconv"
	"testing"
	"time"

	"amane/alert"
)

// FuzzVerify: a webhook receiver calls alert.Verify on headers and a body from the network. It must
// not panic; it accepts only the exact signature of the timestamp and body under the secret (a
// changed body, or any other signature, is refused), and only within the tolerance of now (a replay
// later than that is refused).
func FuzzVerify(f *testing.F) {
	secret := []byte("a synthetic webhook secret")
	body := []byte(`{"time":"2026-11-23T10:00:00Z","principal":"account/12","response":"suspend","signal":"volume-10m","evidence":{}}`)
	f.Add(secret, "1795428000", alert.Sign(secret, "1795428000", body), body, int64(0))
	f.Add(secret, "1795428000", alert.Sign(secret, "1795428000", body), body, int64(301*time.Second))
	f.Add(secret, "+1795428000", "sha256=00", []byte{}, int64(-time.Minute))
	f.Add([]byte{}, "not a time", "", []byte("x"), int64(0))
	f.Add(secret, "-1", alert.Sign(secret, "-1", nil), []byte(nil), int64(time.Second))
	const tolerance = 5 * time.Minute
	f.Fuzz(func(t *testing.T, secret []byte, timestamp, signature string, body []byte, skew int64) {
		skew %= int64(time.Hour)
		ts, perr := strconv.ParseInt(timestamp, 10, 64)
		sane := perr == nil && ts > -1e11 && ts < 1e11 // ±3,000 years: time arithmetic stays exact
		now := time.Unix(1795428000, 0)
		if sane {
			now = time.Unix(ts, 0)
		}
		now = now.Add(time.Duration(skew))
		good := alert.Sign(secret, timestamp, body)

		err := alert.Verify(secret, timestamp, signature, body, now, tolerance)
		if err == nil && signature != good {
			t.Fatalf("accepted signature %q, the right one is %q", signature, good)
		}
		err = alert.Verify(secret, timestamp, good, body, now, tolerance)
		switch {
		case perr != nil && err == nil:
			t.Fatalf("accepted timestamp %q", timestamp)
		case sane && (err == nil) != (time.Duration(skew) <= tolerance && time.Duration(skew) >= -tolerance):
			t.Fatalf("timestamp %s, now %s later, tolerance %s: %v", timestamp, time.Duration(skew), tolerance, err)
		}
		if alert.Verify(secret, timestamp, good, append(body[:len(body):len(body)], '\n'), now, tolerance) == nil {
			t.Fatal("accepted a changed body under the original signature")
		}
		if sane && alert.Verify(secret, timestamp, good, body, time.Unix(ts, 0).Add(tolerance+time.Second), tolerance) == nil {
			t.Fatal("accepted a replay after the tolerance")
		}
	})
}
