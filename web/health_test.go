package web_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"amane/amanetest"
	"amane/journal"
	"amane/web"
)

// unreachable is a journal store whose database can be taken down: every read of the size fails.
type unreachable struct {
	journal.Store
	down atomic.Bool
}

func (u *unreachable) JournalSize(ctx context.Context) (int64, error) {
	if u.down.Load() {
		return 0, errors.New("dial tcp 127.0.0.1:5432: connect: connection refused")
	}
	return u.Store.JournalSize(ctx)
}

// TestHealthzSaysWhenTheServerCannotJournal, the failure: with its database unreachable the server
// answered every gated request 500 while /healthz answered 200, so a load balancer kept sending it
// requests. Now /healthz probes the journal (one cheap query, at most once a second) and answers 503
// with a JSON reason while the journal cannot append, 200 again once it can; a closed journal is
// unhealthy too.
func TestHealthzSaysWhenTheServerCannotJournal(t *testing.T) {
	amanetest.Each(t, func(t *testing.T, r *amanetest.Registry) {
		ctx := context.Background()
		st := &unreachable{Store: r.Store}
		signer, verifier, err := journal.LoadKeys(r.Dir)
		if err != nil {
			t.Fatal(err)
		}
		j, err := journal.Open(ctx, st, signer, verifier, "")
		if err != nil {
			t.Fatal(err)
		}
		defer j.Close()
		log := &amanetest.SyncBuffer{}
		s := web.NewServer(r.Gate, r.Store, slog.New(slog.NewJSONHandler(log, nil)))
		now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
		s.Now = func() time.Time { return now }
		s.Health = j.Health
		srv := httptest.NewServer(s)
		defer srv.Close()
		get := func(want int) {
			t.Helper()
			resp, err := http.Get(srv.URL + "/healthz")
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var m struct {
				Status string
				Error  struct{ Code, Message string }
			}
			if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != want || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
				t.Fatalf("healthz: %d %+v, want %d", resp.StatusCode, m, want)
			}
			if want == http.StatusOK && m.Status != "ok" {
				t.Fatalf("healthz 200: %+v", m)
			}
			if want != http.StatusOK && (m.Error.Code != "internal" || !strings.Contains(m.Error.Message, "journal")) {
				t.Fatalf("healthz %d without a reason: %+v", want, m)
			}
			if strings.Contains(m.Error.Message, "127.0.0.1") {
				t.Fatalf("healthz shows the probe's error: %+v", m)
			}
		}
		get(http.StatusOK)
		st.down.Store(true)
		get(http.StatusOK) // the answer is kept for a second
		now = now.Add(time.Second)
		get(http.StatusServiceUnavailable)
		st.down.Store(false)
		now = now.Add(time.Second)
		get(http.StatusOK)
		if !strings.Contains(log.String(), "healthz: the server cannot journal") || !strings.Contains(log.String(), "connection refused") {
			t.Fatalf("the probe's failure is not logged:\n%s", log.String())
		}
		j.Close()
		now = now.Add(time.Second)
		get(http.StatusServiceUnavailable)
	})
}
