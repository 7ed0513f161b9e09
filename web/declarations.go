package web

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"

	"amane"
	"amane/damancom"
)

// Monthly salary declarations over the API. A declaration comes as JSON (an amane.Declaration) or as
// the Damancom file itself (multipart/form-data, part "fichier": DS_… or DSC<n>_…, decoded by package
// damancom); either way the Registry validates every rule at once and stores it whole or not at all.
// The answer to a submission is always an amane.DeclarationResult: 201 accepted, 200 the same content
// again (the first result, marked deja_recue), 422 rejected with every problem — line, record, field,
// expected, found, rule. Errors of the request itself (token, scope, a malformed path) are the usual
// {"error": …} bodies.
//
// Problems can carry amounts: they go to the client only, never to the log, like the bodies and paths.

// MaxDeclarationFile bounds a declaration's body, JSON or file: 64 MiB is about 250 000 lines of 260
// characters, more than the largest employer declares in a month.
const MaxDeclarationFile = 64 << 20

// bodyLimits raises the 1 MiB bound ServeHTTP sets on every body for the routes that take a whole
// declaration (the multipart envelope adds a few hundred bytes to the file).
var bodyLimits = map[string]int64{
	"POST /api/v1/employers/{affiliation}/declarations/{period}": MaxDeclarationFile + 64<<10,
	"POST /mon-entreprise/declarations":                          MaxDeclarationFile + 64<<10,
}

// declarationRoutes are the API's declaration handlers (their patterns are listed in Routes).
func (s *Server) declarationRoutes() map[string]http.HandlerFunc {
	return map[string]http.HandlerFunc{
		"GET /api/v1/employers/{affiliation}/declarations":                  s.auth(s.declarationHistory),
		"POST /api/v1/employers/{affiliation}/declarations/{period}":        s.auth(s.submitDeclaration),
		"GET /api/v1/employers/{affiliation}/declarations/{period}":         s.auth(s.getDeclaration),
		"GET /api/v1/employers/{affiliation}/declarations/{period}/fichier": s.auth(s.declarationFile),
		"GET /api/v1/employers/{affiliation}/preetabli/{period}":            s.auth(s.preetabli),
	}
}

// declarationHistory is the body of GET …/declarations: newest period first, without lines.
type declarationHistory struct {
	Declarations []amane.DeclarationSummary `json:"declarations"`
}

// pathPeriod checks the {affiliation} and {period} of a declaration route.
func pathPeriod(r *http.Request) (aff, period string, err error) {
	aff, period = r.PathValue("affiliation"), r.PathValue("period")
	if !affiliationRE.MatchString(aff) {
		return "", "", amane.Invalid("The affiliation number is 7 digits.", amane.FieldError{Field: "affiliation", Rule: "7 digits"})
	}
	if _, err := amane.ParsePeriod(period); err != nil {
		return "", "", amane.Invalid("The period is AAAAMM.", amane.FieldError{Field: "periode", Rule: err.Error()})
	}
	return aff, period, nil
}

// submitDeclaration is POST /api/v1/employers/{affiliation}/declarations/{period}.
func (s *Server) submitDeclaration(w http.ResponseWriter, r *http.Request) {
	aff, period, err := pathPeriod(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	done, wait, err := s.beginUpload(r) // one at a time per principal, bytes per hour (uploads.go)
	if err != nil {
		retryAfter(w, wait)
		s.error(w, r, err)
		return
	}
	body := &countingReader{r: r.Body}
	r.Body = body
	defer func() { done(body.n) }()
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var d *amane.Declaration
	switch mt {
	case "multipart/form-data":
		name, file, err := uploadedPart(r)
		if err != nil {
			s.error(w, r, err)
			return
		}
		var res *amane.DeclarationResult
		d, res, err = readDeclarationFile(name, file, aff)
		if err != nil {
			s.error(w, r, err)
			return
		}
		if res == nil {
			res = mismatch(d, aff, period)
		}
		if res != nil {
			s.writeResult(w, r, http.StatusUnprocessableEntity, res)
			return
		}
	case "application/json", "":
		d = &amane.Declaration{}
		if err := decode(r, d); err != nil {
			s.error(w, r, err)
			return
		}
		// The path names the declaration; what Amane computes is never taken from the client.
		d.Affiliation, d.Period = aff, period
		d.Status, d.Received, d.Totals, d.Contributions = "", "", amane.DeclarationTotals{}, amane.Contributions{}
	default:
		s.error(w, r, amane.Invalid("Send the declaration as application/json, or its Damancom file as multipart/form-data.",
			amane.FieldError{Field: "Content-Type", Rule: "application/json or multipart/form-data"}))
		return
	}
	res, err := s.Registry.SubmitDeclaration(r.Context(), d)
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.writeResult(w, r, resultStatus(res), res)
}

// resultStatus is the HTTP status of a submission's result.
func resultStatus(res *amane.DeclarationResult) int {
	switch {
	case res.Status == amane.DeclRejected:
		return http.StatusUnprocessableEntity
	case res.Duplicate:
		return http.StatusOK
	}
	return http.StatusCreated
}

// uploadedPart returns the "fichier" part of a multipart body, streamed: the file is read once, by
// the decoder, and never lands on disk. Other parts are skipped.
func uploadedPart(r *http.Request) (name string, file io.Reader, err error) {
	mr, err := r.MultipartReader()
	if err != nil {
		return "", nil, amane.Invalid("The multipart body is malformed.", amane.FieldError{Field: "fichier", Rule: "a multipart/form-data body with a part fichier"})
	}
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return "", nil, amane.Invalid("Send the Damancom file in the part fichier.", amane.FieldError{Field: "fichier", Rule: "is required"})
		}
		if err != nil {
			return "", nil, bodyError(err)
		}
		if p.FormName() == "fichier" {
			return fileName(p.FileName()), p, nil
		}
	}
}

// fileName keeps the last element of a client's file name, whatever its separators: the name says
// the kind of file (DS_ or DSC<n>_), never where it came from.
func fileName(name string) string {
	name = path.Base(strings.ReplaceAll(name, `\`, "/"))
	if name == "." || name == "/" {
		return ""
	}
	return name
}

// bodyError is the error of a body that could not be read: too large, or cut short.
func bodyError(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return tooLarge(mbe.Limit)
	}
	return amane.Errorf(amane.EINVALID, "The request body could not be read to its end.")
}

// readDeclarationFile decodes a Damancom file. A file that breaks the format is not an error of the
// request: it is a rejected declaration, returned as res with every problem (aff names it, the file's
// own affiliation being unreadable). err is left for what the file's content does not explain.
func readDeclarationFile(name string, file io.Reader, aff string) (d *amane.Declaration, res *amane.DeclarationResult, err error) {
	d, err = damancom.ReadDeclaration(name, file)
	var ae *amane.Error
	switch {
	case err == nil:
		return d, nil, nil
	case errors.As(err, &ae) && ae.Code == amane.EINVALID:
		probs := ae.Fields
		if len(probs) == 0 {
			probs = []amane.FieldError{{File: name, Field: "fichier", Rule: ae.Message}}
		}
		return nil, rejection(aff, "", probs), nil
	case errors.As(err, &ae):
		return nil, nil, err
	}
	// Anything else is the body failing to arrive whole: too large, or cut short.
	return nil, nil, bodyError(err)
}

// mismatch is the rejection of a file whose affiliation or period is not the path's, nil if both
// match.
func mismatch(d *amane.Declaration, aff, period string) *amane.DeclarationResult {
	var probs []amane.FieldError
	if d.Affiliation != aff {
		probs = append(probs, amane.FieldError{Record: "B01", Field: "affiliation", Rule: "the file's affiliation must be the one in the path", Expected: aff, Found: d.Affiliation})
	}
	if d.Period != period {
		probs = append(probs, amane.FieldError{Record: "B01", Field: "periode", Rule: "the file's period must be the one in the path", Expected: period, Found: d.Period})
	}
	if probs == nil {
		return nil
	}
	return rejection(aff, period, probs)
}

// rejection is the result of a declaration refused before the Registry saw it.
func rejection(aff, period string, probs []amane.FieldError) *amane.DeclarationResult {
	return &amane.DeclarationResult{Status: amane.DeclRejected, Problems: probs,
		Summary: amane.DeclarationSummary{Affiliation: aff, Period: period, Status: amane.DeclRejected}}
}

// writeResult answers a submission: JSON, or for a rejection asked as text/plain, the report one
// problem a line.
func (s *Server) writeResult(w http.ResponseWriter, r *http.Request, status int, res *amane.DeclarationResult) {
	if res.Status == amane.DeclRejected && prefersText(r.Header.Get("Accept")) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(status)
		var b strings.Builder
		for _, p := range res.Problems {
			b.WriteString(p.String())
			b.WriteByte('\n')
		}
		io.WriteString(w, b.String())
		return
	}
	writeJSON(w, status, res)
}

// prefersText reports whether an Accept header ranks text/plain above application/json (a tie goes
// to JSON, the API's language).
func prefersText(accept string) bool {
	q := acceptQ(accept)
	return max(q["text/plain"], q["text/*"]*0.99) > max(q["application/json"], q["*/*"]*0.99)
}

// getDeclaration is GET /api/v1/employers/{affiliation}/declarations/{period}[?cursor=…&limit=N]: one
// page of the period's declared lines (at most amane.MaxPage), with next when more follow. The
// whole declaration goes out only as its file (…/fichier), an export.
func (s *Server) getDeclaration(w http.ResponseWriter, r *http.Request) {
	aff, period, err := pathPeriod(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	page, err := pageOf(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	p, err := s.Registry.DeclarationPage(r.Context(), aff, period, page)
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

// declarationHistory is GET /api/v1/employers/{affiliation}/declarations.
func (s *Server) declarationHistory(w http.ResponseWriter, r *http.Request) {
	h, err := s.Registry.DeclarationHistory(r.Context(), r.PathValue("affiliation"))
	if err != nil {
		s.error(w, r, err)
		return
	}
	if h == nil {
		h = []amane.DeclarationSummary{}
	}
	writeJSON(w, http.StatusOK, declarationHistory{Declarations: h})
}

// declarationFile is GET /api/v1/employers/{affiliation}/declarations/{period}/fichier
// [?complementaire=n]: a stored declaration written back as its Damancom file.
func (s *Server) declarationFile(w http.ResponseWriter, r *http.Request) {
	aff, period, err := pathPeriod(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	seq, err := seqOf(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	name, file, err := s.declarationBytes(r, aff, period, seq)
	if err != nil {
		s.error(w, r, err)
		return
	}
	sendFile(w, name, file)
}

// seqOf reads ?complementaire=n: which declaration of a period, 0 (the default) the principal one.
func seqOf(r *http.Request) (int, error) {
	v := r.URL.Query().Get("complementaire")
	if v == "" {
		return 0, nil
	}
	seq, err := strconv.Atoi(v)
	if err != nil || seq < 0 {
		return 0, amane.Invalid("complementaire is the number of a complementary declaration.", amane.FieldError{Field: "complementaire", Rule: "a non-negative integer"})
	}
	return seq, nil
}

// declarationBytes reads a stored declaration (seq 0 the principal one) and writes its file.
func (s *Server) declarationBytes(r *http.Request, aff, period string, seq int) (name string, file []byte, err error) {
	ds, err := s.Registry.Declaration(r.Context(), aff, period)
	if err != nil {
		return "", nil, err
	}
	for i := range ds {
		if ds[i].Seq != seq {
			continue
		}
		var b bytes.Buffer
		if err := damancom.WriteDeclaration(&b, &ds[i]); err != nil {
			return "", nil, fileError(err)
		}
		name = damancom.DeclarationName(aff, period)
		if seq > 0 {
			name = damancom.ComplementaryName(seq, aff, period)
		}
		return name, b.Bytes(), nil
	}
	return "", nil, amane.Errorf(amane.ENOTFOUND, "No complementary declaration %d for this period.", seq)
}

// preetabli is GET /api/v1/employers/{affiliation}/preetabli/{period}: the AFFEBDS file.
func (s *Server) preetabli(w http.ResponseWriter, r *http.Request) {
	aff, period, err := pathPeriod(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	name, file, err := s.preetabliBytes(r, aff, period)
	if err != nil {
		s.error(w, r, err)
		return
	}
	sendFile(w, name, file)
}

func (s *Server) preetabliBytes(r *http.Request, aff, period string) (name string, file []byte, err error) {
	p, err := s.Registry.Preetabli(r.Context(), aff, period)
	if err != nil {
		return "", nil, err
	}
	var b bytes.Buffer
	if err := damancom.WritePreetabli(&b, p); err != nil {
		return "", nil, fileError(err)
	}
	return damancom.PreetabliName(aff, period), b.Bytes(), nil
}

// fileError is the error of a stored declaration that does not write as a file. The domain's own
// refusals (*amane.Error: a person of the declaration was erased, so it cannot be written whole) go to
// the client as they are. Anything else is Amane's fault, not the client's — what it stored, it
// validated — hence an internal error; the encoder's report may quote amounts, so the log gets the
// field names only.
func fileError(err error) error {
	var ae *amane.Error
	if errors.As(err, &ae) {
		return ae
	}
	var names []string
	var rep *damancom.Report
	if errors.As(err, &rep) {
		for _, p := range rep.Problems {
			names = append(names, p.Record+"."+p.Field)
		}
	}
	return fmt.Errorf("writing a Damancom file: %d problems %v", len(names), names)
}

// sendFile sends a Damancom file whole (built in memory first, so that a failure is an error
// answer, not a truncated file). The name is Amane's own (digits and a fixed prefix): no quoting
// issue in the header.
func sendFile(w http.ResponseWriter, name string, file []byte) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", name))
	w.Header().Set("Content-Length", strconv.Itoa(len(file)))
	w.Write(file)
}
