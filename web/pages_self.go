package web

import (
	"net/http"
	"strconv"

	"amane"
)

// Pages of people acting on their own records: the employer user's company, the insured person's data
// and who accessed it (with each entry's inclusion proof, which `amane journal check-proof` verifies
// against a signed checkpoint), and the auditor's journal.

// myCompanyPage lists the employer user's own company and employees.
func (s *Server) myCompanyPage(w http.ResponseWriter, r *http.Request, v *visit) {
	if v.account.Role != amane.RoleEmployer || v.account.Affiliation == "" {
		s.pageForbidden(w, r, v, "Employer users only.")
		return
	}
	s.showEmployer(w, r, v, v.account.Affiliation, true)
}

type myDataView struct {
	Employee *amane.Employee
	Entries  []amane.AccessEntry
	Labels   map[string]string // purpose code → French label
	Attest   bool              // the salary attestation form (pages_attestations.go)
}

// myDataPage is "mes données et qui y a accédé": the insured person's record and its access log.
func (s *Server) myDataPage(w http.ResponseWriter, r *http.Request, v *visit) {
	if v.account.Role != amane.RoleInsured || v.account.EmployeeID == 0 {
		s.pageForbidden(w, r, v, "Insured people only.")
		return
	}
	s.showMyData(w, r, v, http.StatusOK, pageData{})
}

// showMyData renders the insured person's page with d's message.
func (s *Server) showMyData(w http.ResponseWriter, r *http.Request, v *visit, status int, d pageData) {
	e, err := s.Registry.EmployeeByID(r.Context(), v.account.EmployeeID)
	if err != nil {
		s.pageError(w, r, v, err, "", "", nil)
		return
	}
	entries, err := s.Registry.AccessLog(r.Context(), 0)
	if err != nil {
		s.pageError(w, r, v, err, "", "", nil)
		return
	}
	d.Data = myDataView{Employee: e, Entries: entries, Labels: s.purposeLabels(), Attest: s.Attester != nil}
	s.render(w, r, v, status, "mydata", "Mes données et qui y a accédé", d)
}

func (s *Server) purposeLabels() map[string]string {
	m := map[string]string{}
	for _, p := range s.Registry.Purposes() {
		m[p.Code] = p.Label
	}
	return m
}

// proofDownload sends the inclusion proof of one journal entry as a file: a link for an insured
// person, a form with the purpose for staff.
func (s *Server) proofDownload(w http.ResponseWriter, r *http.Request, v *visit) {
	index, err := strconv.ParseInt(r.PathValue("index"), 10, 64)
	if err != nil || index < 0 {
		s.pageError(w, r, v, amane.Errorf(amane.ENOTFOUND, "No such entry."), "", "", nil)
		return
	}
	ctx, _ := readContext(r, s.purposeForm(r))
	proof, err := s.Registry.AccessProof(ctx, index)
	if err != nil {
		s.pageError(w, r, v, err, "", "", nil)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="preuve-acces-`+strconv.FormatInt(index, 10)+`.json"`)
	w.Write(proof)
}

const journalPageSize = 50

type journalView struct {
	purposeForm
	Entries []amane.AccessEntry
	Labels  map[string]string
	Older   int64 // the avant of the next page, 0 if none
	Staff   bool
}

// journalPage is the auditor's view of the access journal, newest first, 50 entries a page. Staff
// state a purpose here too: a GET shows the refusal and the purpose form; the form, the paging and
// the proofs are POSTs carrying the purpose.
func (s *Server) journalPage(w http.ResponseWriter, r *http.Request, v *visit) {
	view := journalView{purposeForm: s.purposeForm(r), Labels: s.purposeLabels(), Staff: v.staff()}
	var before int64
	if a := r.PostFormValue("avant"); a != "" && r.Method == http.MethodPost {
		n, err := strconv.ParseInt(a, 10, 64)
		if err != nil || n < 0 {
			s.pageError(w, r, v, amane.Invalid("Bad page.", amane.FieldError{Field: "avant", Rule: "an index"}), "", "", nil)
			return
		}
		before = n
	}
	ctx, _ := readContext(r, view.purposeForm)
	entries, err := s.Registry.Journal(ctx, before, journalPageSize)
	if err != nil {
		s.pageError(w, r, v, err, "journal", "Journal des accès", view)
		return
	}
	view.Entries = entries
	if len(entries) == journalPageSize && entries[len(entries)-1].Index > 0 {
		view.Older = entries[len(entries)-1].Index
	}
	s.render(w, r, v, http.StatusOK, "journal", "Journal des accès", pageData{Data: view})
}
