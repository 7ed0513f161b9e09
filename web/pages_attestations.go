package web

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"amane"
	"amane/attest"
)

// The attestation pages. Anyone checks a code at /verify/{code} (the QR code of every attestation
// points there) or types one at /verify; the page shows the public summary and the status in large
// type, and answers JSON to a client that asks for it. Signed-in people download attestations with
// POST forms (CSRF token, as every form): the employer user both of its company's, from its
// declarations page; the insured person their salary attestation, from /mes-donnees; staff the
// third-party attestation from an employer's page, under the purpose they stated there.

// attestationPages are the pages' handlers (their patterns are listed in PageRoutes).
func (s *Server) attestationPages() map[string]http.HandlerFunc {
	return map[string]http.HandlerFunc{
		"GET /verify":                                 s.page(anyone, false, s.verifyFormPage),
		"GET /verify/{code}":                          s.page(anyone, false, s.verifyPage),
		"POST /mon-entreprise/attestations":           s.page(member, false, s.myCompanyAttestation),
		"POST /mes-donnees/attestations":              s.page(member, false, s.mySalaryAttestation),
		"POST /employeurs/{affiliation}/attestations": s.page(member, false, s.employerAttestation),
	}
}

const (
	verifyTitle     = "Vérification d'une attestation"
	verifyFormTitle = "Vérifier une attestation"
	noAttesterFR    = "La vérification et la délivrance des attestations ne sont pas disponibles sur ce serveur."
	periodHelpFR    = "La période s'écrit AAAAMM, par exemple 202410 pour octobre 2024, et « du » ne peut pas suivre « au »."
)

type verifyView struct {
	Code   string        // the code as typed or normalized, for the form
	Result *Verification // nil: no answer to show
}

// verifyFormPage is GET /verify: the form, or with ?code= a redirect to the code's page.
func (s *Server) verifyFormPage(w http.ResponseWriter, r *http.Request, v *visit) {
	if s.Attester == nil {
		s.render(w, r, v, http.StatusNotFound, "verify", verifyFormTitle, pageData{Error: noAttesterFR, Data: verifyView{}})
		return
	}
	typed := strings.TrimSpace(r.URL.Query().Get("code"))
	if typed == "" {
		s.render(w, r, v, http.StatusOK, "verify", verifyFormTitle, pageData{Data: verifyView{}})
		return
	}
	code, err := attest.ParseCode(typed)
	if err != nil {
		s.render(w, r, v, http.StatusBadRequest, "verify", verifyFormTitle, pageData{Error: badCodeFR, Data: verifyView{Code: clip(typed, 40)}})
		return
	}
	http.Redirect(w, r, "/verify/"+url.PathEscape(code), http.StatusSeeOther)
}

const badCodeFR = "Ce code n'est pas un code de vérification Amane. Il s'écrit AMN- suivi de deux groupes de 5 lettres ou chiffres (AMN-XXXXX-XXXXX), le dernier caractère servant de contrôle : vérifiez chaque caractère."

// clip bounds what a page echoes of a typed value.
func clip(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n])
	}
	return s
}

// verifyPage is GET /verify/{code}: the summary and status of an attestation, in French, or as JSON
// when the request asks for application/json.
func (s *Server) verifyPage(w http.ResponseWriter, r *http.Request, v *visit) {
	w.Header().Add("Vary", "Accept")
	asJSON := wantsJSON(r.Header.Get("Accept"))
	if asJSON {
		secureHeaders(w.Header()) // the API's headers, not a page's
	}
	if s.Attester == nil {
		if asJSON {
			s.error(w, r, errNoAttester)
			return
		}
		s.render(w, r, v, http.StatusNotFound, "verify", verifyTitle, pageData{Error: noAttesterFR, Data: verifyView{}})
		return
	}
	typed := r.PathValue("code")
	ver, err := s.verify(r, typed)
	if asJSON {
		s.verifyJSON(w, r, ver, err)
		return
	}
	view := verifyView{Code: clip(strings.TrimSpace(typed), 40), Result: ver}
	switch code := amane.ErrorCode(err); {
	case err == nil:
		view.Code = ver.Code
		s.render(w, r, v, http.StatusOK, "verify", verifyTitle, pageData{Data: view})
	case errors.Is(err, errThrottled):
		s.render(w, r, v, http.StatusTooManyRequests, "verify", verifyTitle, pageData{Data: view,
			Error: "Trop de codes inconnus ont été vérifiés depuis votre adresse : réessayez dans quelques minutes."})
	case code == amane.EINVALID:
		s.render(w, r, v, http.StatusBadRequest, "verify", verifyTitle, pageData{Error: badCodeFR, Data: view})
	case code == amane.ENOTFOUND:
		s.render(w, r, v, http.StatusNotFound, "verify", verifyTitle, pageData{Data: view,
			Error: "Aucune attestation ne porte ce code. Vérifiez que vous l'avez recopié sans erreur ; sinon, le document n'a pas été délivré par Amane."})
	default:
		s.pageError(w, r, v, err, "verify", verifyTitle, view)
	}
}

// statusLabel is an attestation's status as the verification page shows it, in large type.
func statusLabel(st string) string {
	switch st {
	case amane.AttestationValid:
		return "Attestation valide"
	case amane.AttestationRevoked:
		return "Attestation révoquée"
	case amane.AttestationExpired:
		return "Attestation expirée"
	}
	return st
}

// periodRangeLabel names a range of AAAAMM periods in French: "octobre 2024 – décembre 2024".
func periodRangeLabel(from, to string) string {
	switch {
	case from == "" && to == "":
		return ""
	case from == to || to == "":
		return periodLabel(from)
	case from == "":
		return periodLabel(to)
	}
	return periodLabel(from) + " – " + periodLabel(to)
}

// dateLabel writes an RFC 3339 instant as a French date in UTC: "15 mars 2026".
func dateLabel(v string) string {
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return v
	}
	t = t.UTC()
	d := t.Format("2")
	if d == "1" {
		d = "1er"
	}
	return d + " " + monthsFR[t.Month()-1] + " " + t.Format("2006")
}

// formPeriod reads an optional period field of a form: AAAAMM, or AAAA-MM as a month field sends it.
func formPeriod(r *http.Request, name string) string {
	return strings.ReplaceAll(strings.TrimSpace(r.PostFormValue(name)), "-", "")
}

// attestationFailure turns an Issue error into the status and French message a page shows; false
// when the visitor was sent to sign in instead.
func (s *Server) attestationFailure(w http.ResponseWriter, r *http.Request, err error, kind string) (int, pageData, bool) {
	code := amane.ErrorCode(err)
	switch code {
	case amane.EUNAUTHORIZED:
		http.Redirect(w, r, "/connexion", http.StatusSeeOther)
		return 0, pageData{}, false
	case amane.EINTERNAL:
		s.Logger.Error("internal error", "route", r.Pattern, "error", err.Error())
	}
	msg, fields := frenchError(err)
	var ae *amane.Error
	switch {
	case code == amane.ENOTFOUND && kind == attest.KindSalary:
		msg, fields = "Aucun mois n'a été déclaré à votre nom sur cette période : il n'y a rien à attester.", nil
	case code == amane.ENOTFOUND:
		msg, fields = "Aucune déclaration n'a été reçue sur cette période : il n'y a rien à attester.", nil
	case code == amane.EINVALID && errors.As(err, &ae) && len(ae.Fields) > 0 && isPeriodField(ae.Fields[0].Field):
		msg, fields = periodHelpFR, nil
	}
	return errorStatus[code], pageData{Error: msg, Fields: fields}, true
}

func isPeriodField(f string) bool { return f == "du" || f == "au" || f == "periode" }

// myCompanyAttestation is the employer user's download: type salaries-declares or
// affiliation-declaration, an optional period range.
func (s *Server) myCompanyAttestation(w http.ResponseWriter, r *http.Request, v *visit) {
	aff := s.ownAffiliation(w, r, v)
	if aff == "" {
		return
	}
	if s.Attester == nil {
		s.pageError(w, r, v, amane.Errorf(amane.ENOTFOUND, "No attester."), "", "", nil)
		return
	}
	kind := r.PostFormValue("type")
	if kind != attest.KindEmployees && kind != attest.KindThirdParty {
		s.showDeclarations(w, r, v, aff, http.StatusBadRequest, pageData{Error: "Choisissez l'attestation à télécharger."})
		return
	}
	from, to := formPeriod(r, "du"), formPeriod(r, "au")
	if err := checkRange(from, to); err != nil {
		s.showDeclarations(w, r, v, aff, http.StatusBadRequest, pageData{Error: periodHelpFR})
		return
	}
	pdf, sum, err := s.Attester.Issue(r.Context(), kind, aff, "", from, to)
	if err != nil {
		if status, d, ok := s.attestationFailure(w, r, err, kind); ok {
			s.showDeclarations(w, r, v, aff, status, d)
		}
		return
	}
	sendPDF(w, http.StatusOK, sum, pdf)
}

// mySalaryAttestation is the insured person's download: their salary attestation, an optional period
// range.
func (s *Server) mySalaryAttestation(w http.ResponseWriter, r *http.Request, v *visit) {
	if v.account.Role != amane.RoleInsured || v.account.EmployeeID == 0 {
		s.pageForbidden(w, r, v, "Insured people only.")
		return
	}
	if s.Attester == nil {
		s.pageError(w, r, v, amane.Errorf(amane.ENOTFOUND, "No attester."), "", "", nil)
		return
	}
	from, to := formPeriod(r, "du"), formPeriod(r, "au")
	if err := checkRange(from, to); err != nil {
		s.showMyData(w, r, v, http.StatusBadRequest, pageData{Error: periodHelpFR})
		return
	}
	pdf, sum, err := s.Attester.Issue(r.Context(), attest.KindSalary, "", "", from, to)
	if err != nil {
		if status, d, ok := s.attestationFailure(w, r, err, attest.KindSalary); ok {
			s.showMyData(w, r, v, status, d)
		}
		return
	}
	sendPDF(w, http.StatusOK, sum, pdf)
}

// employerAttestation is staff's download of an employer's third-party attestation, under the purpose
// carried by the employer page's form. A failure shows on the employer's page, read again under the
// same purpose.
func (s *Server) employerAttestation(w http.ResponseWriter, r *http.Request, v *visit) {
	aff := r.PathValue("affiliation")
	if !affiliationRE.MatchString(aff) || s.Attester == nil {
		s.pageError(w, r, v, amane.Errorf(amane.ENOTFOUND, "No such employer."), "", "", nil)
		return
	}
	from, to := formPeriod(r, "du"), formPeriod(r, "au")
	if err := checkRange(from, to); err != nil {
		s.showEmployerWith(w, r, v, aff, false, http.StatusBadRequest, pageData{Error: periodHelpFR})
		return
	}
	ctx, _ := readContext(r, s.purposeForm(r))
	pdf, sum, err := s.Attester.Issue(ctx, attest.KindThirdParty, aff, "", from, to)
	if err != nil {
		if status, d, ok := s.attestationFailure(w, r, err, attest.KindThirdParty); ok {
			s.showEmployerWith(w, r, v, aff, false, status, d)
		}
		return
	}
	sendPDF(w, http.StatusOK, sum, pdf)
}
