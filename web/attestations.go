package web

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"amane"
	"amane/attest"
)

// Attestations: signed PDF documents, each with a verification code (package attest renders and
// signs them, package gate decides who may have which and journals it). Over the API, an employer's
// payroll software (or staff, stating a purpose) asks for the employer's attestation, an insured
// person's app for their salary attestation; the answer is the signed PDF itself, its code in
// X-Amane-Code. Anyone holding a document checks it at /verify/{code} — a page, or JSON — without
// signing in: the answer is the attestation's public summary (issuer, employer, period, monthly
// headcount and payroll) and its status, never a person's name, number or salary.
//
// Lookups of unknown codes are throttled per client address (throttle.go: 5 free, then 30 s doubling
// to an hour), so that nobody can walk the code space: a code has 44.6 random bits. Per address only:
// a count across addresses would let one client lock every holder of a genuine document out of
// checking it. Behind a proxy, --trusted-proxy tells the clients apart (clientAddr), and IPv6
// addresses count by /64.

// Attester issues signed attestations and answers their status; package main wires the gate and the
// signer behind it. nil: the attestation routes answer 404.
type Attester interface {
	// Issue returns the signed PDF of one attestation for the principal in ctx (the gate decides and journals).
	Issue(ctx context.Context, kind, affiliation, imm, from, to string) (pdf []byte, s *attest.Summary, err error)
	// Status is the public, non-personal summary of a code and its status.
	Status(ctx context.Context, code string) (*attest.Summary, string, error)
}

// AttestationRequest is the body of POST /api/v1/employers/{affiliation}/attestations and POST
// /api/v1/me/attestations. Without du and au, the attestation covers the last 12 declared months.
type AttestationRequest struct {
	Type string `json:"type"`         // attest.KindEmployees, KindThirdParty (employer) or KindSalary (me)
	From string `json:"du,omitempty"` // AAAAMM, inclusive
	To   string `json:"au,omitempty"` // AAAAMM, inclusive
}

// Verification is the answer of GET /verify/{code} and GET /api/v1/verify/{code}: the attestation's
// public summary (the one signed into the PDF), its title and its status.
type Verification struct {
	Status string `json:"statut"` // amane.AttestationValid, AttestationRevoked or AttestationExpired
	Title  string `json:"titre"`  // the document's French title
	attest.Summary
}

// attestationRoutes are the API's attestation handlers (their patterns are listed in Routes).
func (s *Server) attestationRoutes() map[string]http.HandlerFunc {
	return map[string]http.HandlerFunc{
		"POST /api/v1/employers/{affiliation}/attestations": s.attesting(s.auth(s.issueEmployerAttestation)),
		"POST /api/v1/me/attestations":                      s.attesting(s.auth(s.issueMyAttestation)),
		"GET /api/v1/verify/{code}":                         s.attesting(s.verifyAPI),
	}
}

// attesting answers 404 when the server has no Attester.
func (s *Server) attesting(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.Attester == nil {
			s.error(w, r, errNoAttester)
			return
		}
		next(w, r)
	}
}

var errNoAttester = amane.Errorf(amane.ENOTFOUND, "This server issues no attestations.")

// issueEmployerAttestation is POST /api/v1/employers/{affiliation}/attestations.
func (s *Server) issueEmployerAttestation(w http.ResponseWriter, r *http.Request) {
	aff := r.PathValue("affiliation")
	if !affiliationRE.MatchString(aff) {
		s.error(w, r, amane.Invalid("The affiliation number is 7 digits.", amane.FieldError{Field: "affiliation", Rule: "7 digits"}))
		return
	}
	var q AttestationRequest
	if err := decode(r, &q); err != nil {
		s.error(w, r, err)
		return
	}
	if q.Type != attest.KindEmployees && q.Type != attest.KindThirdParty {
		s.error(w, r, amane.Invalid("type is salaries-declares (nominative, for the employer) or affiliation-declaration (for a third party, no names); a salary attestation is POST /api/v1/me/attestations.",
			amane.FieldError{Field: "type", Rule: "salaries-declares or affiliation-declaration"}))
		return
	}
	if err := checkRange(q.From, q.To); err != nil {
		s.error(w, r, err)
		return
	}
	pdf, sum, err := s.Attester.Issue(r.Context(), q.Type, aff, "", q.From, q.To)
	if err != nil {
		s.error(w, r, err)
		return
	}
	sendPDF(w, http.StatusCreated, sum, pdf)
}

// issueMyAttestation is POST /api/v1/me/attestations: an insured person's salary attestation, their
// own declared months only. The body may be empty.
func (s *Server) issueMyAttestation(w http.ResponseWriter, r *http.Request) {
	var q AttestationRequest
	if err := decodeOptional(r, &q); err != nil {
		s.error(w, r, err)
		return
	}
	if q.Type != "" && q.Type != attest.KindSalary {
		s.error(w, r, amane.Invalid("type is salaire here (an employer's attestations are POST /api/v1/employers/{affiliation}/attestations).",
			amane.FieldError{Field: "type", Rule: "salaire"}))
		return
	}
	if p := amane.PrincipalFromContext(r.Context()); p == nil || p.Role != amane.RoleInsured {
		s.journalDenial(r.Context(), r, amane.ActionAttest, "", "only an insured person has a salary attestation of their own")
		s.error(w, r, amane.Errorf(amane.EFORBIDDEN, "Only an insured person's token has a salary attestation of its own."))
		return
	}
	if err := checkRange(q.From, q.To); err != nil {
		s.error(w, r, err)
		return
	}
	pdf, sum, err := s.Attester.Issue(r.Context(), attest.KindSalary, "", "", q.From, q.To)
	if err != nil {
		s.error(w, r, err)
		return
	}
	sendPDF(w, http.StatusCreated, sum, pdf)
}

// decodeOptional is decode for a body that may be absent or empty.
func decodeOptional(r *http.Request, v any) error {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return bodyError(err)
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return nil
	}
	r.Body = io.NopCloser(bytes.NewReader(b))
	return decode(r, v)
}

// checkRange checks an optional period range: each bound AAAAMM, du not after au.
func checkRange(from, to string) error {
	var fields []amane.FieldError
	for _, f := range []struct{ name, v string }{{"du", from}, {"au", to}} {
		if _, err := amane.ParsePeriod(f.v); f.v != "" && err != nil {
			fields = append(fields, amane.FieldError{Field: f.name, Rule: err.Error()})
		}
	}
	if fields != nil {
		return amane.Invalid("A period is AAAAMM.", fields...)
	}
	if from != "" && to != "" && from > to {
		return amane.Invalid("du must not be after au.", amane.FieldError{Field: "au", Rule: "not before du"})
	}
	return nil
}

// attestationName is the file name of an attestation: ATTESTATION_<affiliation>_<code>.pdf, Amane's
// own characters only (digits, letters, dashes), so no quoting issue in the header.
func attestationName(sum *attest.Summary) string {
	return "ATTESTATION_" + sum.Affiliation + "_" + sum.Code + ".pdf"
}

// sendPDF sends a signed attestation as a download, its code in X-Amane-Code.
func sendPDF(w http.ResponseWriter, status int, sum *attest.Summary, pdf []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/pdf")
	h.Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", attestationName(sum)))
	h.Set("Content-Length", strconv.Itoa(len(pdf)))
	h.Set("X-Amane-Code", sum.Code)
	w.WriteHeader(status)
	w.Write(pdf)
}

// errThrottled is the answer to a client address that looked up too many unknown codes.
var errThrottled = errors.New("too many unknown verification codes from this address")

// verify looks a typed code up: its normalized form, then its summary and status. Unknown codes
// count against the client's address; a locked address is refused whatever the code.
func (s *Server) verify(r *http.Request, raw string) (*Verification, error) {
	key, now := "verify:"+s.clientIP(r), s.Now()
	if !s.throttle.allowed(now, key) {
		return nil, errThrottled
	}
	code, err := attest.ParseCode(raw)
	if err != nil {
		return nil, amane.Invalid("This is not a verification code: AMN- then twice 5 letters or digits, the last one a check character.",
			amane.FieldError{Field: "code", Rule: "AMN-XXXXX-XXXXX"})
	}
	sum, status, err := s.Attester.Status(r.Context(), code)
	if amane.ErrorCode(err) == amane.ENOTFOUND {
		s.throttle.fail(now, key)
		return nil, amane.Errorf(amane.ENOTFOUND, "No attestation has this code.")
	}
	if err != nil {
		return nil, err
	}
	return &Verification{Status: status, Title: attest.Titles[sum.Kind], Summary: *sum}, nil
}

// verifyAPI is GET /api/v1/verify/{code}.
func (s *Server) verifyAPI(w http.ResponseWriter, r *http.Request) {
	ver, err := s.verify(r, r.PathValue("code"))
	s.verifyJSON(w, r, ver, err)
}

// verifyJSON answers a lookup in JSON.
func (s *Server) verifyJSON(w http.ResponseWriter, r *http.Request, ver *Verification, err error) {
	switch {
	case errors.Is(err, errThrottled):
		w.Header().Set("Retry-After", strconv.Itoa(s.throttle.retryAfter(s.Now(), "verify:"+s.clientIP(r))))
		var body errorBody
		body.Error.Code, body.Error.Message = "too_many_requests", "Too many unknown codes from this address: try again later."
		writeJSON(w, http.StatusTooManyRequests, body)
	case err != nil:
		s.error(w, r, err)
	default:
		writeJSON(w, http.StatusOK, ver)
	}
}

// retryAfter is how many seconds (at least 1) key stays locked after now.
func (t *throttle) retryAfter(now time.Time, key string) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	if a, ok := t.m[key]; ok && now.Before(a.until) {
		return max(1, int(a.until.Sub(now).Round(time.Second)/time.Second))
	}
	return 1
}

// wantsJSON reports whether an Accept header ranks application/json above HTML (a wildcard, or no
// header, goes to the page).
func wantsJSON(accept string) bool {
	q := acceptQ(accept)
	return max(q["application/json"], q["application/*"]*0.99) >
		max(q["text/html"], q["application/xhtml+xml"], q["*/*"]*0.99, q["text/*"]*0.99)
}

// acceptQ reads an Accept header: the quality of each media range it names (unnamed ones are 0). A
// caller ranks a wildcard slightly below a named type of the same quality.
func acceptQ(accept string) map[string]float64 {
	out := map[string]float64{}
	for part := range strings.SplitSeq(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		q := 1.0
		if v, ok := params["q"]; ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				q = f
			}
		}
		out[mt] = max(out[mt], q)
	}
	return out
}
