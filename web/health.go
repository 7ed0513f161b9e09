package web

import (
	"context"
	"net/http"
	"sync"
	"time"

	"amane"
)

// healthTTL is how long /healthz keeps its answer: a load balancer polling every server several
// times a second costs the database one cheap query a second per server.
const healthTTL = time.Second

// healthProbeTimeout bounds one probe: a database that does not answer within it is down for the
// load balancer.
const healthProbeTimeout = 2 * time.Second

// healthCache is /healthz's last answer.
type healthCache struct {
	mu  sync.Mutex
	at  time.Time
	err error
}

// health answers /healthz: 200 {"status":"ok"} when the server can journal (Health, if set, says
// nil), else 503 with the API's error body, whose message is the reason, so that a load balancer
// sends requests elsewhere: every gated request would fail closed. The message is fixed text; the
// probe's error is logged, never shown.
func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	if err := s.healthErr(r.Context()); err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"error": map[string]string{"code": amane.EINTERNAL,
			"message": "The server cannot write its access journal: send requests to another server."}})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) healthErr(ctx context.Context) error {
	if s.Health == nil {
		return nil
	}
	c := &s.healthC
	c.mu.Lock() // one probe at a time; the others wait for its answer
	defer c.mu.Unlock()
	now := s.Now()
	if !c.at.IsZero() && now.Sub(c.at) >= 0 && now.Sub(c.at) < healthTTL {
		return c.err
	}
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), healthProbeTimeout)
	defer cancel()
	err := s.Health(pctx)
	if err != nil && (c.err == nil || c.at.IsZero()) {
		s.Logger.Error("healthz: the server cannot journal", "err", err.Error())
	} else if err == nil && c.err != nil {
		s.Logger.Info("healthz: the server can journal again")
	}
	c.at, c.err = s.Now(), err
	return err
}
