package web

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"time"

	"amane"

	"github.com/prometheus/client_golang/prometheus"
)

// Denials at the edge. Some requests are refused here, before the gate: no token, a token unknown,
// expired or revoked, an API route that does not exist, a page or a route for another role, a
// metrics scrape without the right role. Each is journaled like the gate's own refusals, through the
// Registry's Refuse (gate/refuse.go): for the principal when one is known (a dead token's account
// is), else as "anonymous". What is journaled is the route pattern, never the path (which can hold
// an identifier), and constant reasons.
//
// An anonymous denial costs its sender nothing — no account to suspend, no token to revoke — so an
// unbounded journal of them would let anyone fill the append-only journal (it is never pruned) with
// a loop of 404s. They are bounded: per client address, anonPerAddr an hour are journaled; over all
// addresses, anonPerHour an hour (an attacker with many addresses cannot get around the first);
// the rest are counted in amane_denials_unjournaled_total. That keeps what matters — that someone
// was probing, from where in the log, when — at a few hundred entries a day at most, and the count
// of the rest. A dead token is bounded the same way, per account: replaying it costs nothing either.
// A live principal's denials are all journaled: the sentinel counts them and throttles a flood.
const (
	anonPerAddr = 10
	anonPerHour = 600
)

// refuser is the Registry's side of the edge's denials (gate.Gate implements it).
type refuser interface {
	Refuse(ctx context.Context, action, record, reason string) error
}

// denialBudget counts journaled anonymous denials per key and in total, in hourly windows.
type denialBudget struct {
	mu     sync.Mutex
	window time.Time
	total  int
	per    map[string]int
}

// take reports whether one more denial under key may be journaled in the hour of now.
func (b *denialBudget) take(now time.Time, key string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if h := now.Truncate(time.Hour); !h.Equal(b.window) || b.per == nil {
		b.window, b.total, b.per = h, 0, map[string]int{}
	}
	if b.total >= anonPerHour || b.per[key] >= anonPerAddr {
		return false
	}
	b.total++
	b.per[key]++
	return true
}

// edgeDenials is the server's state for edge denials.
type edgeDenials struct {
	budget      denialBudget
	unjournaled *prometheus.CounterVec
}

func newEdgeDenials(reg *prometheus.Registry) *edgeDenials {
	d := &edgeDenials{unjournaled: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "amane_denials_unjournaled_total",
		Help: "Anonymous (or dead-token) denials over the journaling budget, counted only."}, []string{"action"})}
	reg.MustRegister(d.unjournaled)
	return d
}

// denyReason is reason with the request's route pattern.
func denyReason(r *http.Request, reason string) string {
	route := r.Pattern
	if route == "" || route == "/" || route == "/api/" {
		route = "unmatched route"
	}
	return reason + " (" + route + ")"
}

// journalDenial journals a denial for ctx's principal (see gate.Refuse). A failure is logged: the
// request is refused either way.
func (s *Server) journalDenial(ctx context.Context, r *http.Request, action amane.Action, record, reason string) {
	rf, ok := s.Registry.(refuser)
	if !ok {
		return
	}
	if err := rf.Refuse(ctx, string(action), record, denyReason(r, reason)); err != nil {
		s.Logger.Error("journal a denial", "route", r.Pattern, "action", string(action), "error", err.Error())
	}
}

// denyAnonymous journals an anonymous denial, within the address's budget.
func (s *Server) denyAnonymous(r *http.Request, action amane.Action, reason string) {
	if !s.denials.budget.take(s.Now(), "addr:"+s.clientIP(r)) {
		s.denials.unjournaled.WithLabelValues(string(action)).Inc()
		return
	}
	s.journalDenial(stripPrincipal(r.Context()), r, action, "", reason)
}

// denyDead journals the refusal of a dead token (expired, revoked, its account disabled) for the
// token's principal, within that principal's budget.
func (s *Server) denyDead(r *http.Request, p *amane.Principal, reason string) {
	if !s.denials.budget.take(s.Now(), "principal:"+p.ID) {
		s.denials.unjournaled.WithLabelValues(string(amane.ActionAuthenticate)).Inc()
		return
	}
	s.journalDenial(amane.NewContextWithPrincipal(r.Context(), p), r, amane.ActionAuthenticate, "", reason)
}

// denyToken journals the refusal of a bearer token that did not authenticate: as its principal if
// the token is known but dead, else anonymously.
func (s *Server) denyToken(r *http.Request, dead *amane.Principal, err error) {
	switch {
	case amane.ErrorCode(err) != amane.EUNAUTHORIZED: // the store failed: nothing was decided
	case dead != nil:
		s.denyDead(r, dead, strings.TrimSuffix(amane.ErrorMessage(err), "."))
	default:
		s.denyAnonymous(r, amane.ActionAuthenticate, "unknown token")
	}
}

// stripPrincipal is ctx without a principal (an anonymous denial never borrows one).
func stripPrincipal(ctx context.Context) context.Context {
	return amane.NewContextWithPrincipal(ctx, nil)
}

// apiFallback answers every path under /api/ that no route serves (and /metrics, which is not on this
// listener), in the API's error shape: 405 with Allow when other methods serve the path, 404
// otherwise — never the mux's text/plain. The probe is journaled: as the token's principal when a
// valid token comes with it (the sentinel counts its denials), else anonymously within the budget.
func (s *Server) apiFallback(w http.ResponseWriter, r *http.Request) {
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		if m == r.Method {
			continue
		}
		probe := &http.Request{Method: m, URL: r.URL, Host: r.Host, Header: http.Header{}}
		if _, pattern := s.mux.Handler(probe); pattern != "" && pattern != "/api/" && pattern != "/metrics" {
			allow = append(allow, m)
		}
	}
	err, reason := amane.Errorf(amane.ENOTFOUND, "No such route in this API: see /api/v1/openapi.json."), "no such route"
	if len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		err, reason = errMethod, "method not allowed"
	}
	if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok && tok != "" {
		p, berr := s.bearer(r, tok)
		if berr == nil {
			s.journalDenial(amane.NewContextWithPrincipal(r.Context(), p), r, amane.ActionRoute, "", reason)
		} else {
			s.denyToken(r, p, berr)
		}
	} else {
		s.denyAnonymous(r, amane.ActionRoute, reason)
	}
	if len(allow) > 0 {
		var body errorBody
		body.Error.Code, body.Error.Message = "method_not_allowed", amane.ErrorMessage(err)
		writeJSON(w, http.StatusMethodNotAllowed, body)
		return
	}
	s.error(w, r, err)
}

var errMethod = amane.Errorf(amane.EINVALID, "This route does not take this method: see Allow.")

// pageForbidden refuses a page to the visitor's role, journaled (the gate never saw the request).
func (s *Server) pageForbidden(w http.ResponseWriter, r *http.Request, v *visit, msg string) {
	s.journalDenial(r.Context(), r, amane.ActionPage, "", "role "+v.account.Role+" may not open this page")
	s.pageError(w, r, v, amane.Errorf(amane.EFORBIDDEN, "%s", msg), "", "", nil)
}
