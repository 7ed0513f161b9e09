package web

import (
	"context"
	"encoding/json"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"amane"
	"amane/alert"
	"amane/sentinel"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// The sentinel as the server runs it (issue 7). The gate feeds every decision to the detector and
// refuses suspended or throttled principals at the door; here each response the detector takes is
// carried out, in order, on one goroutine: journaled, stored and applied to accounts and tokens by the
// gate (Security.Respond), the account's sessions ended for a step-up or a suspension, handed to the
// alert sinks (syslog, webhook), and counted for /metrics. The security console (/securite) lists the
// alerts with their evidence and lets a security officer lift a principal's responses.

// Security is the sentinel's side of the gate (gate.Gate implements it).
type Security interface {
	Respond(ctx context.Context, r sentinel.Response) (*amane.SecurityAlert, error)
	Alerts(ctx context.Context, before int64, limit int) ([]amane.SecurityAlert, error)
	Lift(ctx context.Context, principal string) (int, error)
	Standing(principal string) string
}

// watch is the running sentinel.
type watch struct {
	sec       Security
	live      *sentinel.Live
	alerts    *alert.Dispatcher // nil: no sink
	queue     chan sentinel.Response
	responses *prometheus.CounterVec
	lifts     prometheus.Counter
	failures  prometheus.Counter
}

// UseSentinel carries out live's responses through sec until ctx ends, and serves the security
// console and the sentinel's metrics. alerts (may be nil) receives every response.
func (s *Server) UseSentinel(ctx context.Context, sec Security, live *sentinel.Live, alerts *alert.Dispatcher) {
	w := &watch{sec: sec, live: live, alerts: alerts, queue: make(chan sentinel.Response, 4096),
		responses: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "amane_sentinel_responses_total",
			Help: "Responses the sentinel took, by response and signal."}, []string{"response", "signal"}),
		lifts: prometheus.NewCounter(prometheus.CounterOpts{Name: "amane_sentinel_lifts_total",
			Help: "Principals whose responses a security officer lifted."}),
		failures: prometheus.NewCounter(prometheus.CounterOpts{Name: "amane_sentinel_respond_failures_total",
			Help: "Responses the gate could not journal, store or apply (see the server log)."}),
	}
	s.metrics.MustRegister(w.responses, w.lifts, w.failures,
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "amane_sentinel_events_total",
			Help: "Gate decisions the sentinel observed."}, func() float64 { return float64(live.Events()) }))
	if alerts != nil {
		for name, f := range map[string]func() uint64{"sent": alerts.Sent, "failed": alerts.Failed, "dropped": alerts.Dropped} {
			s.metrics.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "amane_alert_deliveries_" + name + "_total",
				Help: "Alert deliveries to the sinks (syslog, webhook): " + name + "."}, func() float64 { return float64(f()) }))
		}
	}
	// The response is queued: the request that caused it does not wait for the journal and the store,
	// the detector has already shut the door. A full queue makes the request wait (back-pressure),
	// never drops a response.
	live.OnResponse = func(r sentinel.Response) { w.queue <- r }
	s.watch = w
	go w.run(ctx, s)
}

func (w *watch) run(ctx context.Context, s *Server) {
	for {
		select {
		case <-ctx.Done():
			return
		case r := <-w.queue:
			w.carryOut(s, r)
		}
	}
}

func (w *watch) carryOut(s *Server, r sentinel.Response) {
	w.responses.WithLabelValues(r.Response, r.Signal).Inc()
	// Principal ids, the response and the signal only: the evidence goes to the store and the sinks.
	s.Logger.Warn("sentinel", "principal", r.Principal, "response", r.Response, "signal", r.Signal)
	// Sessions end first, then the gate journals, contains and stores the alert: once the console
	// shows a measure, it is in force (the detector already refuses the principal meanwhile).
	if id, ok := strings.CutPrefix(r.Principal, "account/"); ok && (r.Response == sentinel.Suspend || r.Response == sentinel.StepUp) {
		if n, err := strconv.ParseInt(id, 10, 64); err == nil {
			s.EndSessions(n)
		}
	}
	if _, err := w.sec.Respond(context.Background(), r); err != nil {
		w.failures.Inc()
		s.Logger.Error("sentinel response", "principal", r.Principal, "response", r.Response, "err", err.Error())
	}
	if w.alerts != nil {
		w.alerts.Notify(r)
	}
}

// metricsHandler serves the Prometheus metrics: counts by response, signal and route, never a
// principal or a record (labels with unbounded values would also blow up the series).
func (s *Server) metricsHandler(w http.ResponseWriter, r *http.Request) {
	promhttp.HandlerFor(s.metrics, promhttp.HandlerOpts{}).ServeHTTP(w, r)
}

// securityView is the console.
type securityView struct {
	Running bool
	Alerts  []alertRow
	Held    []heldRow // principals with a response in force, the strongest first
	Lift    bool      // the visitor may lift (a security officer)
	Older   int64
}

type alertRow struct {
	amane.SecurityAlert
	Evidence []evidenceItem
}

type evidenceItem struct{ Key, Value string }

type heldRow struct {
	Principal, Standing string
	Alerts              int
}

const securityTitle = "Console de sécurité"

// securityPage lists the sentinel's alerts, newest first, with their evidence and the actions taken.
func (s *Server) securityPage(w http.ResponseWriter, r *http.Request, v *visit) {
	s.showSecurity(w, r, v, http.StatusOK, pageData{})
}

func (s *Server) showSecurity(w http.ResponseWriter, r *http.Request, v *visit, status int, d pageData) {
	view := securityView{Running: s.watch != nil, Lift: v.account.Role == amane.RoleSecurity}
	if s.watch == nil {
		if !securityRole(v.account.Role) {
			s.pageForbidden(w, r, v, "Security officers, auditors and the DPO only.")
			return
		}
		d.Data = view
		s.render(w, r, v, status, "security", securityTitle, d)
		return
	}
	var before int64
	if b := r.URL.Query().Get("avant"); b != "" {
		n, err := strconv.ParseInt(b, 10, 64)
		if err != nil || n < 0 {
			s.pageError(w, r, v, amane.Invalid("Bad page.", amane.FieldError{Field: "avant", Rule: "an alert id"}), "", "", nil)
			return
		}
		before = n
	}
	as, err := s.watch.sec.Alerts(r.Context(), before, securityPageSize)
	if err != nil {
		s.pageError(w, r, v, err, "", "", nil)
		return
	}
	held := map[string]*heldRow{}
	for _, a := range as {
		view.Alerts = append(view.Alerts, alertRow{SecurityAlert: a, Evidence: evidenceItems(a.Evidence)})
		if a.Lifted != "" || a.Principal == "campaign" {
			continue
		}
		h := held[a.Principal]
		if h == nil {
			h = &heldRow{Principal: a.Principal, Standing: s.watch.sec.Standing(a.Principal)}
			held[a.Principal] = h
		}
		h.Alerts++
	}
	rank := map[string]int{"": 0, sentinel.Alert: 1, sentinel.Throttle: 2, sentinel.StepUp: 3, sentinel.Suspend: 4}
	for _, h := range held {
		view.Held = append(view.Held, *h)
	}
	sort.Slice(view.Held, func(i, j int) bool {
		a, b := view.Held[i], view.Held[j]
		if rank[a.Standing] != rank[b.Standing] {
			return rank[a.Standing] > rank[b.Standing]
		}
		return a.Principal < b.Principal
	})
	if len(as) == securityPageSize {
		view.Older = as[len(as)-1].ID
	}
	d.Data = view
	s.render(w, r, v, status, "security", securityTitle, d)
}

// responseLabel is a response in French.
func responseLabel(r string) string {
	switch r {
	case sentinel.Alert:
		return "alerte"
	case sentinel.Throttle:
		return "ralenti"
	case sentinel.StepUp:
		return "reconnexion par clé exigée"
	case sentinel.Suspend:
		return "suspendu"
	case "":
		return "levée"
	}
	return r
}

// securityPageSize is how many alerts the console shows at a time.
const securityPageSize = 200

func securityRole(role string) bool {
	return role == amane.RoleSecurity || role == amane.RoleAuditor || role == amane.RoleDPO
}

// evidenceItems flattens an alert's evidence for the page, keys in order.
func evidenceItems(raw json.RawMessage) []evidenceItem {
	var m map[string]any
	if json.Unmarshal(raw, &m) != nil {
		return nil
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]evidenceItem, 0, len(keys))
	for _, k := range keys {
		var val string
		switch x := m[k].(type) {
		case string:
			val = x
		case []any:
			parts := make([]string, len(x))
			for i, e := range x {
				b, _ := json.Marshal(e)
				parts[i] = strings.Trim(string(b), `"`)
			}
			val = strings.Join(parts, ", ")
		default:
			b, _ := json.Marshal(x)
			val = string(b)
		}
		out = append(out, evidenceItem{k, val})
	}
	return out
}

// liftPrincipal is a security officer's lift of a principal's responses (POST, with the CSRF token).
func (s *Server) liftPrincipal(w http.ResponseWriter, r *http.Request, v *visit) {
	if s.watch == nil {
		s.pageError(w, r, v, amane.Errorf(amane.ENOTFOUND, "The sentinel is not running."), "", "", nil)
		return
	}
	principal := r.PostFormValue("principal")
	n, err := s.watch.sec.Lift(r.Context(), principal)
	if err != nil {
		msg, fields := frenchError(err)
		s.showSecurity(w, r, v, errorStatus[amane.ErrorCode(err)], pageData{Error: msg, Fields: fields})
		return
	}
	s.watch.lifts.Inc()
	s.showSecurity(w, r, v, http.StatusOK, pageData{Flash: "Mesures levées pour " + principal + " (" + strconv.Itoa(n) + " alertes revues)."})
}

// securityAlerts is GET /api/v1/security/alerts: the console's alerts as JSON.
func (s *Server) securityAlerts(w http.ResponseWriter, r *http.Request) {
	if s.watch == nil {
		s.error(w, r, amane.Errorf(amane.ENOTFOUND, "The sentinel is not running on this server."))
		return
	}
	before, limit, err := pageParams(r, "an alert id")
	if err != nil {
		s.error(w, r, err)
		return
	}
	as, err := s.watch.sec.Alerts(r.Context(), before, limit)
	if err != nil {
		s.error(w, r, err)
		return
	}
	if as == nil {
		as = []amane.SecurityAlert{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"alerts": as})
}

// securityLift is POST /api/v1/security/lift {"principal": "account/12"}.
func (s *Server) securityLift(w http.ResponseWriter, r *http.Request) {
	if s.watch == nil {
		s.error(w, r, amane.Errorf(amane.ENOTFOUND, "The sentinel is not running on this server."))
		return
	}
	var in struct {
		Principal string `json:"principal"`
	}
	if err := decode(r, &in); err != nil {
		s.error(w, r, amane.Invalid("The body must be {\"principal\": \"account/N\"}.", amane.FieldError{Field: "principal", Rule: "account/N or token/N"}))
		return
	}
	n, err := s.watch.sec.Lift(r.Context(), in.Principal)
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.watch.lifts.Inc()
	writeJSON(w, http.StatusOK, map[string]any{"principal": in.Principal, "lifted": n})
}
