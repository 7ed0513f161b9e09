package web

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"amane"
)

// The declaration pages. An employer user lists the company's declarations, downloads the préétabli
// of a month, sends the Damancom file its payroll software filled (a multipart form with the CSRF
// token, as every form) and reads the report: the contributions per branch, or every problem with its
// line, record and field. Staff see an employer's history (payroll and headcount per month) on the
// employer's page, read under the purpose they stated there.
//
// Amounts are centimes in the domain; pages show them as French numbers, "12 345,67 MAD", with a
// narrow no-break space between thousands and a no-break space before the currency (CLDR fr).

// declarationPages are the pages' handlers (their patterns are listed in PageRoutes).
func (s *Server) declarationPages() map[string]http.HandlerFunc {
	return map[string]http.HandlerFunc{
		"GET /mon-entreprise/declarations":                  s.page(member, false, s.declarationsPage),
		"POST /mon-entreprise/declarations":                 s.page(member, false, s.uploadDeclaration),
		"GET /mon-entreprise/declarations/{period}/fichier": s.page(member, false, s.declarationDownload),
		"GET /mon-entreprise/preetabli":                     s.page(member, false, s.preetabliDownload),
	}
}

const declarationsTitle = "Déclarations de salaires"

type declarationsView struct {
	Affiliation  string
	Declarations []amane.DeclarationSummary
	Total        int64  // contributions due over every declaration listed, centimes
	Period       string // the préétabli form's default: the previous month
	MaxFileMiB   int
	Attest       bool // the attestation forms (pages_attestations.go)
}

// ownAffiliation is the employer user's company, or "" (and a refusal shown) for anyone else.
func (s *Server) ownAffiliation(w http.ResponseWriter, r *http.Request, v *visit) string {
	if v.account.Role != amane.RoleEmployer || v.account.Affiliation == "" {
		s.pageForbidden(w, r, v, "Employer users only.")
		return ""
	}
	return v.account.Affiliation
}

// declarationsPage lists the company's declarations, with the upload and préétabli forms.
func (s *Server) declarationsPage(w http.ResponseWriter, r *http.Request, v *visit) {
	aff := s.ownAffiliation(w, r, v)
	if aff == "" {
		return
	}
	s.showDeclarations(w, r, v, aff, http.StatusOK, pageData{})
}

func (s *Server) showDeclarations(w http.ResponseWriter, r *http.Request, v *visit, aff string, status int, d pageData) {
	view := declarationsView{Affiliation: aff, Period: previousPeriod(s.Now()), MaxFileMiB: MaxDeclarationFile >> 20, Attest: s.Attester != nil}
	h, err := s.Registry.DeclarationHistory(r.Context(), aff)
	if err != nil {
		s.pageError(w, r, v, err, "", "", nil)
		return
	}
	view.Declarations = h
	for _, x := range h {
		view.Total += x.Due
	}
	d.Data = view
	s.render(w, r, v, status, "declarations", declarationsTitle, d)
}

// declarationsError shows err in French above the company's declarations.
func (s *Server) declarationsError(w http.ResponseWriter, r *http.Request, v *visit, aff string, err error) {
	switch amane.ErrorCode(err) {
	case amane.EUNAUTHORIZED:
		http.Redirect(w, r, "/connexion", http.StatusSeeOther)
		return
	case amane.EINTERNAL:
		s.Logger.Error("internal error", "route", r.Pattern, "error", err.Error())
	}
	msg, fields := frenchError(err)
	s.showDeclarations(w, r, v, aff, errorStatus[amane.ErrorCode(err)], pageData{Error: msg, Fields: fields})
}

// previousPeriod is the month before now's: the one a company declares during the current month.
func previousPeriod(now time.Time) string {
	t := now.UTC()
	return amane.PeriodOf(time.Date(t.Year(), t.Month()-1, 1, 0, 0, 0, 0, time.UTC))
}

type reportView struct {
	File   string
	Result *amane.DeclarationResult
}

// uploadDeclaration receives a Damancom file and shows the report. The multipart form was parsed for
// the CSRF check (at most 32 MiB in memory, the rest in a temporary file the server removes).
func (s *Server) uploadDeclaration(w http.ResponseWriter, r *http.Request, v *visit) {
	aff := s.ownAffiliation(w, r, v)
	if aff == "" {
		return
	}
	f, hdr, err := r.FormFile("fichier")
	if err != nil {
		s.showDeclarations(w, r, v, aff, http.StatusBadRequest, pageData{Error: "Choisissez le fichier de déclaration (DS_… ou DSC…_…) que votre logiciel de paie a produit."})
		return
	}
	defer f.Close()
	done, wait, err := s.beginUpload(r) // one at a time per principal, bytes per hour (uploads.go)
	if err != nil {
		retryAfter(w, wait)
		s.pageError(w, r, v, err, "", "", nil)
		return
	}
	defer func() { done(hdr.Size) }()
	name := fileName(hdr.Filename)
	d, res, err := readDeclarationFile(name, f, aff)
	if err != nil {
		s.pageError(w, r, v, err, "", "", nil)
		return
	}
	if res == nil && d.Affiliation != aff {
		res = rejection(aff, d.Period, []amane.FieldError{{File: name, Record: "B01", Field: "N_Num_Affilie",
			Rule: "the file declares another company than yours", Expected: aff, Found: d.Affiliation}})
	}
	if res == nil {
		if res, err = s.Registry.SubmitDeclaration(r.Context(), d); err != nil {
			s.declarationsError(w, r, v, aff, err)
			return
		}
	}
	status := http.StatusOK
	if res.Status == amane.DeclRejected {
		status = http.StatusUnprocessableEntity
	}
	s.render(w, r, v, status, "declaration_report", "Compte rendu de la déclaration", pageData{Data: reportView{File: name, Result: res}})
}

// declarationDownload sends a stored declaration of the company back as its DS (or DSC) file.
func (s *Server) declarationDownload(w http.ResponseWriter, r *http.Request, v *visit) {
	aff := s.ownAffiliation(w, r, v)
	if aff == "" {
		return
	}
	period := r.PathValue("period")
	seq, err := seqOf(r)
	if _, perr := amane.ParsePeriod(period); perr != nil || err != nil {
		s.pageError(w, r, v, amane.Errorf(amane.ENOTFOUND, "No such declaration."), "", "", nil)
		return
	}
	name, file, err := s.declarationBytes(r, aff, period, seq)
	if err != nil {
		s.pageError(w, r, v, err, "", "", nil)
		return
	}
	sendFile(w, name, file)
}

// preetabliDownload sends the préétabli of ?periode=AAAAMM (AAAA-MM, as a month field sends it, is
// read too).
func (s *Server) preetabliDownload(w http.ResponseWriter, r *http.Request, v *visit) {
	aff := s.ownAffiliation(w, r, v)
	if aff == "" {
		return
	}
	period := strings.ReplaceAll(strings.TrimSpace(r.URL.Query().Get("periode")), "-", "")
	if _, err := amane.ParsePeriod(period); err != nil {
		s.showDeclarations(w, r, v, aff, http.StatusBadRequest, pageData{Error: "La période s'écrit AAAAMM, par exemple 202410 pour octobre 2024."})
		return
	}
	name, file, err := s.preetabliBytes(r, aff, period)
	if err != nil {
		s.declarationsError(w, r, v, aff, err)
		return
	}
	sendFile(w, name, file)
}

// monthRow is one month of an employer's history, its declarations (principal and complementary)
// added up: complementary declarations declare people the principal one left out.
type monthRow struct {
	Period       string
	Declarations int
	Headcount    int
	Payroll      int64
	Due          int64
	Bar          int // the payroll bar's width, 0 to barWidth
}

// barWidth is the width of the history's payroll bars in SVG units (the bar of the largest month).
const barWidth = 240

// monthsOf groups a history (newest period first) by month and sizes each month's payroll bar.
func monthsOf(h []amane.DeclarationSummary) []monthRow {
	var out []monthRow
	var top int64
	for _, d := range h {
		if len(out) == 0 || out[len(out)-1].Period != d.Period {
			out = append(out, monthRow{Period: d.Period})
		}
		m := &out[len(out)-1]
		m.Declarations++
		m.Headcount += d.Totals.Headcount
		m.Payroll += d.Totals.Payroll
		m.Due += d.Due
		top = max(top, m.Payroll)
	}
	for i := range out {
		if top > 0 && out[i].Payroll > 0 {
			out[i].Bar = max(1, int(out[i].Payroll*barWidth/top))
		}
	}
	return out
}

// historyView is the employer page's "Historique des déclarations" section.
type historyView struct {
	Months   []monthRow
	BarWidth int
	Error    string
}

// employerHistory reads an employer's declaration history for its page, under the context (and
// purpose) the employer itself was read with. A refusal leaves the section out; another failure
// shows in the section only, the rest of the page being good.
func (s *Server) employerHistory(ctx context.Context, r *http.Request, aff string) *historyView {
	h, err := s.Registry.DeclarationHistory(ctx, aff)
	switch amane.ErrorCode(err) {
	case "":
		return &historyView{Months: monthsOf(h), BarWidth: barWidth}
	case amane.EFORBIDDEN, amane.EUNAUTHORIZED:
		return nil
	case amane.EINTERNAL:
		s.Logger.Error("internal error", "route", r.Pattern, "error", err.Error())
	}
	msg, _ := frenchError(err)
	return &historyView{Error: msg}
}

// formatMAD writes centimes as a French amount in dirhams: 1234567 → "12 345,67 MAD".
func formatMAD(c int64) string {
	sign := ""
	u := uint64(c)
	if c < 0 {
		sign, u = "-", uint64(-c)
	}
	return sign + groupDigits(strconv.FormatUint(u/100, 10)) + "," + strconv.FormatUint(u%100/10, 10) + strconv.FormatUint(u%10, 10) + "\u00a0MAD"
}

// formatCount writes an integer with French digit grouping: 12345 → "12 345".
func formatCount(n int) string {
	if n < 0 {
		return "-" + groupDigits(strconv.Itoa(-n))
	}
	return groupDigits(strconv.Itoa(n))
}

// groupDigits puts a narrow no-break space between groups of three digits.
func groupDigits(s string) string {
	var b strings.Builder
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteString("\u202f")
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

var monthsFR = [...]string{"janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"}

// periodLabel names an AAAAMM period in French: "202410" → "octobre 2024".
func periodLabel(p string) string {
	t, err := amane.ParsePeriod(p)
	if err != nil {
		return p
	}
	return monthsFR[t.Month()-1] + " " + strconv.Itoa(t.Year())
}

func declStatusLabel(st string) string {
	switch st {
	case amane.DeclAccepted:
		return "acceptée"
	case amane.DeclReceived:
		return "reçue"
	case amane.DeclRejected:
		return "rejetée"
	}
	return st
}

// branchLabel names a contribution branch (amane.RateTables) in French.
func branchLabel(b string) string {
	switch b {
	case "prestations_court_terme":
		return "Prestations à court terme"
	case "pensions":
		return "Pensions (long terme)"
	case "allocations_familiales":
		return "Allocations familiales"
	case "amo":
		return "Assurance maladie obligatoire (AMO)"
	case "formation_professionnelle":
		return "Taxe de formation professionnelle"
	}
	return b
}
