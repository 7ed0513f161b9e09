// Package web serves Amane over HTTP: the JSON API under /api/v1/ (OpenAPI 3.1 document at
// /api/v1/openapi.json), /healthz, and the server-rendered pages agents, employers, insured people and
// auditors use. Routing is the standard library's, with method patterns. Every response carries the
// security headers set in one place (secureHeaders; pages add their strict Content-Security-Policy in
// pageHeaders); API errors are JSON {"error":{code,message,fields}} with the status from one table
// (errorStatus), page errors are shown in French; internal errors are logged, never shown.
//
// Who asks: the API takes a bearer token — a scoped, expiring amane.Token, or the instance's operator
// token; the pages take a server-side session (session.go) opened with a passkey (WebAuthn, mandatory
// for staff) or, for employer users and insured people, a password and a TOTP code. Why: staff state a
// purpose (X-Amane-Purpose and X-Amane-Reference headers, or the form's fields) with every request
// that reaches personal data; the gate refuses without one and journals every decision. Personal
// fields come back masked unless the request asks them in clear (?reveal=cin,rib, X-Amane-Reveal, or
// the page's "afficher en clair" form).
//
// Logs never hold personal data: a request is logged by its route pattern ("GET
// /api/v1/employees/{immatriculation}"), never its path or query, which may carry an identifier.
// Clients that prefer to keep identifiers out of URLs altogether use POST /api/v1/employees/search;
// pages put only internal ids in URLs, and search with POST.
package web

import (
	"bytes"
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"html/template"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"amane"

	"github.com/prometheus/client_golang/prometheus"
)

//go:embed openapi.json
var openapiJSON []byte

// Registry is what the web layer asks of the registry, through the door (package gate implements
// it): the services its routes and pages serve. Nothing here returns ciphertext or erases.
type Registry interface {
	amane.EmployerService
	amane.EmployeeService
	amane.Pager
	amane.Declarations
	amane.AccessLogService
}

// Server is the HTTP server.
type Server struct {
	Registry Registry
	Store    amane.SignInStore // accounts, passkeys, tokens, operator tokens: no ciphertext, no erasure
	Logger   *slog.Logger
	Config   Config
	// SecretKey (SecretKeySize bytes, DIR/web-secret.key) seals the accounts' TOTP secrets. Without it,
	// password + TOTP sign-in is refused.
	SecretKey []byte
	Now       amane.Clock
	// Attester issues and verifies attestations (attestations.go). nil: those routes answer 404.
	Attester Attester
	// Health says whether the server can journal (journal.Journal.Health); /healthz answers 503 while
	// it returns an error. nil: always healthy.
	Health func(context.Context) error
	// TrustedProxies are the proxies whose X-Forwarded-For (or X-Real-IP) names the client
	// (throttle.go, clientAddr); empty: the direct peer is the client.
	TrustedProxies []netip.Prefix

	mux       *http.ServeMux
	srv       *http.Server
	sessions  *sessionStore
	throttle  *throttle
	totpMu    sync.Mutex
	totpLast  map[int64]uint64 // last TOTP step accepted per account: a code works once
	templates map[string]*template.Template
	metrics   *prometheus.Registry // GET /metrics
	watch     *watch               // the sentinel, if UseSentinel was called
	healthC   healthCache          // /healthz's last probe (health.go)
	denials   *edgeDenials         // the edge's refusals (refuse.go)
	uploads   uploadState          // declarations being received, per principal (uploads.go)
}

// Config is the server's public identity for WebAuthn.
type Config struct {
	// RPID is the WebAuthn relying-party id: the host name people reach the pages at ("amane.cnss.ma").
	// Default "localhost".
	RPID string
	// Origins are the exact origins the pages are served from ("https://amane.cnss.ma"). Empty with
	// RPID "localhost": the request's own origin (development and tests only: passkeys bound to
	// localhost are worthless elsewhere).
	Origins []string
}

// NewServer returns a server over registry and store, with the default Config.
func NewServer(registry Registry, store amane.SignInStore, logger *slog.Logger) *Server {
	s := &Server{Registry: registry, Store: store, Logger: logger, Config: Config{RPID: "localhost"}, Now: time.Now,
		mux: http.NewServeMux(), sessions: newSessionStore(), throttle: newThrottle(), totpLast: map[int64]uint64{},
		metrics: prometheus.NewRegistry()}
	s.templates = parseTemplates()
	s.denials = newEdgeDenials(s.metrics)
	s.routes()
	return s
}

// Routes lists the API patterns the server serves; the OpenAPI test checks each is documented.
var Routes = []string{
	"GET /healthz",
	"GET /api/v1/openapi.json",
	"POST /api/v1/employers",
	"GET /api/v1/employers/{affiliation}",
	"PUT /api/v1/employers/{affiliation}",
	"GET /api/v1/employers/{affiliation}/declarations",
	"POST /api/v1/employers/{affiliation}/declarations/{period}",
	"GET /api/v1/employers/{affiliation}/declarations/{period}",
	"GET /api/v1/employers/{affiliation}/declarations/{period}/fichier",
	"GET /api/v1/employers/{affiliation}/preetabli/{period}",
	"POST /api/v1/employers/{affiliation}/attestations",
	"POST /api/v1/employees",
	"GET /api/v1/employees",
	"POST /api/v1/employees/search",
	"GET /api/v1/employees/{immatriculation}",
	"PUT /api/v1/employees/{immatriculation}",
	"GET /api/v1/me/access-log",
	"POST /api/v1/me/attestations",
	"GET /api/v1/verify/{code}",
	"GET /api/v1/journal",
	"GET /api/v1/journal/proof/{index}",
	"GET /api/v1/security/alerts",
	"POST /api/v1/security/lift",
	"GET /api/v1/cases",
	"POST /api/v1/cases",
	"POST /api/v1/cases/assign",
	"POST /api/v1/cases/close",
}

func (s *Server) routes() {
	h := map[string]http.HandlerFunc{
		"GET /healthz":                            s.healthz,
		"GET /api/v1/openapi.json":                s.openapi,
		"POST /api/v1/employers":                  s.auth(s.createEmployer),
		"GET /api/v1/employers/{affiliation}":     s.auth(s.getEmployer),
		"PUT /api/v1/employers/{affiliation}":     s.auth(s.updateEmployer),
		"POST /api/v1/employees":                  s.auth(s.createEmployee),
		"GET /api/v1/employees":                   s.auth(s.findEmployees),
		"POST /api/v1/employees/search":           s.auth(s.searchEmployees),
		"GET /api/v1/employees/{immatriculation}": s.auth(s.getEmployee),
		"PUT /api/v1/employees/{immatriculation}": s.auth(s.updateEmployee),
		"GET /api/v1/me/access-log":               s.auth(s.myAccessLog),
		"GET /api/v1/journal":                     s.auth(s.journal),
		"GET /api/v1/journal/proof/{index}":       s.auth(s.accessProof),
		"GET /api/v1/security/alerts":             s.auth(s.securityAlerts),
		"POST /api/v1/security/lift":              s.auth(s.securityLift),
	}
	maps.Copy(h, s.declarationRoutes())
	maps.Copy(h, s.attestationRoutes())
	maps.Copy(h, s.caseRoutes())
	for _, p := range Routes {
		s.mux.HandleFunc(p, h[p])
	}
	s.pageRoutes()
	// Not here: on its own listener, with a token (metrics.go). Every other path under /api/ answers
	// in JSON (apiFallback).
	s.mux.HandleFunc("/metrics", s.apiFallback)
	s.mux.HandleFunc("/api/", s.apiFallback)
}

// ServeHTTP implements http.Handler: security headers, a request id (in the context, for the
// journal), a bounded body, and one log line per request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rid := r.Header.Get("X-Request-Id")
	if len(rid) != 32 || strings.Trim(rid, "0123456789abcdef") != "" {
		var b [16]byte
		rand.Read(b[:])
		rid = hex.EncodeToString(b[:])
	}
	secureHeaders(w.Header())
	w.Header().Set("X-Request-Id", rid)
	limit := int64(1 << 20)
	if _, pattern := s.mux.Handler(r); bodyLimits[pattern] > 0 {
		limit = bodyLimits[pattern] // a whole declaration (declarations.go)
	}
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	r = r.WithContext(amane.NewContextWithRequestID(r.Context(), rid))
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	s.mux.ServeHTTP(rec, r)
	route := r.Pattern
	if route == "" {
		route = r.Method + " (unmatched)"
	}
	s.Logger.Info("request", "route", route, "status", rec.status, "duration_ms", time.Since(start).Milliseconds(), "request_id", rid)
}

// secureHeaders are set on every response: an API that returns personal data must never be cached,
// framed, sniffed or leak a referrer.
func secureHeaders(h http.Header) {
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
	h.Set("Strict-Transport-Security", "max-age=63072000")
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// ListenAndServe serves on addr until ctx is done, then shuts down gracefully.
func (s *Server) ListenAndServe(ctx context.Context, addr string, ready func(addr string)) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 60 * time.Second, IdleTimeout: 120 * time.Second,
		ErrorLog: slog.NewLogLogger(s.Logger.Handler(), slog.LevelWarn)}
	if ready != nil {
		ready(ln.Addr().String())
	}
	errc := make(chan error, 1)
	go func() { errc <- s.srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return s.srv.Shutdown(sctx)
	}
}

var errorStatus = map[string]int{
	amane.EINVALID:      http.StatusBadRequest,
	amane.ENOTFOUND:     http.StatusNotFound,
	amane.ECONFLICT:     http.StatusConflict,
	amane.EUNAUTHORIZED: http.StatusUnauthorized,
	amane.EFORBIDDEN:    http.StatusForbidden,
	amane.ETHROTTLED:    http.StatusTooManyRequests,
	amane.EINTERNAL:     http.StatusInternalServerError,
}

type errorBody struct {
	Error struct {
		Code    string             `json:"code"`
		Message string             `json:"message"`
		Fields  []amane.FieldError `json:"fields,omitempty"`
	} `json:"error"`
}

func (s *Server) error(w http.ResponseWriter, r *http.Request, err error) {
	if writeTooLarge(w, err) {
		return
	}
	code := amane.ErrorCode(err)
	if code == amane.EINTERNAL {
		// The error text may name a field or a record id, never a value: the vault and the stores
		// build their messages that way. Still, it goes to the log only.
		s.Logger.Error("internal error", "route", r.Pattern, "error", err.Error())
	}
	var body errorBody
	body.Error.Code, body.Error.Message = code, amane.ErrorMessage(err)
	var ae *amane.Error
	if errors.As(err, &ae) {
		body.Error.Fields = ae.Fields
	}
	writeJSON(w, errorStatus[code], body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

// decode reads one JSON object from r's body into v: unknown fields and duplicate keys (jsonkeys.go)
// refused, each with a 400 naming the key.
func decode(r *http.Request, v any) error {
	b, err := readBody(r.Body)
	if err != nil {
		return err
	}
	if k, dup := duplicateKey(b); dup {
		if len(k) > 64 {
			k = k[:64]
		}
		return amane.Invalid("Invalid JSON: the key "+strconv.Quote(k)+" appears twice in one object (keys are matched regardless of case).",
			amane.FieldError{Field: k, Rule: "must appear once, whatever its case"})
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return tooLarge(mbe.Limit)
		}
		var ute *json.UnmarshalTypeError
		if errors.As(err, &ute) {
			return amane.Invalid("Invalid JSON: a field has the wrong type.", amane.FieldError{Field: jsonPath(ute.Field), Rule: "must be a " + ute.Type.String()})
		}
		if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			f = strings.Trim(f, `"`)
			return amane.Invalid("Invalid JSON: unknown field "+f+".", amane.FieldError{Field: f, Rule: "is not a known field"})
		}
		return amane.Errorf(amane.EINVALID, "The request body must be one JSON object.")
	}
	if dec.More() {
		return amane.Errorf(amane.EINVALID, "The request body must be one JSON object.")
	}
	return nil
}

// jsonPath turns encoding/json's field path ("EmployerIdentity.rc") into the JSON one ("rc"): the
// embedded Go struct names are not part of the document.
func jsonPath(p string) string {
	var keep []string
	for _, part := range strings.Split(p, ".") {
		if part != "" && !(part[0] >= 'A' && part[0] <= 'Z') {
			keep = append(keep, part)
		}
	}
	return strings.Join(keep, ".")
}
