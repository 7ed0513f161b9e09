package web

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"time"

	"amane"
)

// Metrics. /metrics shows the sentinel's responses as they are taken (by response and signal), so
// whoever reads it can watch their own alerts and pace an extraction under the thresholds. It is
// therefore not on the main listener at all (that answers 404, in JSON): `serve --metrics-addr`
// opens it on a listener of its own (off by default; bind it to loopback or a management network),
// and even there it takes a bearer token of a security officer, an auditor or the operator — the
// roles that already see the alerts or run the instance. Prometheus sends it with
// authorization.credentials_file.

// metricsRoles may read /metrics.
var metricsRoles = []string{amane.RoleSecurity, amane.RoleAuditor, amane.RoleOperator}

// MetricsHandler is the metrics listener's handler: GET /metrics for a token of metricsRoles, JSON
// errors otherwise.
func (s *Server) MetricsHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		p, ok := s.authenticate(w, r, "amane-metrics")
		if !ok {
			return
		}
		if !slices.Contains(metricsRoles, p.Role) {
			s.journalDenial(amane.NewContextWithPrincipal(r.Context(), p), r, amane.ActionMetrics, "", "role "+p.Role+" may not read the metrics")
			s.error(w, r, amane.Errorf(amane.EFORBIDDEN, "Security officers, auditors and the operator only."))
			return
		}
		s.metricsHandler(w, r)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.error(w, r, amane.Errorf(amane.ENOTFOUND, "Only GET /metrics here."))
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		secureHeaders(w.Header())
		r.Body = http.MaxBytesReader(w, r.Body, 1<<10)
		mux.ServeHTTP(w, r)
	})
}

// ServeMetrics serves MetricsHandler on addr until ctx is done. ready receives the bound address.
func (s *Server) ServeMetrics(ctx context.Context, addr string, ready func(addr string)) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: s.MetricsHandler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 10 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 120 * time.Second,
		ErrorLog: slog.NewLogLogger(s.Logger.Handler(), slog.LevelWarn)}
	if ready != nil {
		ready(ln.Addr().String())
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return srv.Shutdown(sctx)
	}
}
