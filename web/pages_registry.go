package web

import (
	"context"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"amane"
)

// The registry's pages: the agent's search, an insured person's page, an employer's page. Staff state
// a purpose with every request that reaches personal data, in the form's fields (motif, reference),
// never in the URL; searches are POSTed so that identifiers stay out of URLs and logs. Every read goes
// through the Registry, which masks personal fields unless the form asks them in clear (reveal=1,
// itself a journaled access under the stated purpose).

// purposeForm is the purpose part of a view: the configured choices and the one stated.
type purposeForm struct {
	Purposes []amane.PurposeChoice
	Purpose  amane.Purpose
}

func (s *Server) purposeForm(r *http.Request) purposeForm {
	return purposeForm{Purposes: s.Registry.Purposes(), Purpose: purposeOf(r)}
}

// purposeOf reads the stated purpose from the form (POST only: a purpose never travels in a URL).
func purposeOf(r *http.Request) amane.Purpose {
	if r.Method != http.MethodPost {
		return amane.Purpose{}
	}
	return amane.Purpose{Code: strings.TrimSpace(r.PostFormValue("motif")), Reference: strings.TrimSpace(r.PostFormValue("reference"))}
}

// readContext is the request's context with its stated purpose and, if the form asks, every masked
// field in clear.
func readContext(r *http.Request, pf purposeForm) (context.Context, bool) {
	ctx := r.Context()
	if pf.Purpose.Code != "" {
		ctx = amane.NewContextWithPurpose(ctx, pf.Purpose)
	}
	reveal := r.Method == http.MethodPost && r.PostFormValue("reveal") == "1"
	if reveal {
		ctx = amane.NewContextWithReveal(ctx, amane.RevealAll)
	}
	return ctx, reveal
}

type searchView struct {
	purposeForm
	Name, CIN, Immatriculation string
	Searched                   bool
	Results                    []amane.Employee
	More                       bool // more people match than the page shows: narrow the search
	Staff                      bool
}

// searchPage is the agent's search: by name (accents and case forgiven), CIN or immatriculation.
func (s *Server) searchPage(w http.ResponseWriter, r *http.Request, v *visit) {
	view := searchView{purposeForm: s.purposeForm(r), Staff: v.staff()}
	if r.Method != http.MethodPost {
		s.render(w, r, v, http.StatusOK, "search", "Recherche d'un assuré", pageData{Data: view})
		return
	}
	view.Name = strings.TrimSpace(r.PostFormValue("nom"))
	view.CIN = strings.TrimSpace(r.PostFormValue("cin"))
	view.Immatriculation = strings.TrimSpace(r.PostFormValue("immatriculation"))
	if n := countNonEmpty(view.Name, view.CIN, view.Immatriculation); n != 1 {
		s.render(w, r, v, http.StatusBadRequest, "search", "Recherche d'un assuré",
			pageData{Error: "Saisissez un nom, un CIN ou une immatriculation — un seul critère à la fois.", Data: view})
		return
	}
	ctx, _ := readContext(r, view.purposeForm)
	res, more, err := s.lookup(ctx, searchQuery{Name: view.Name, CIN: view.CIN, Immatriculation: view.Immatriculation})
	if err != nil {
		s.pageError(w, r, v, err, "search", "Recherche d'un assuré", view)
		return
	}
	view.Searched = true
	view.Results, view.More = res, more
	s.render(w, r, v, http.StatusOK, "search", "Recherche d'un assuré", pageData{Data: view})
}

type employeeView struct {
	purposeForm
	ID            int64
	Employee      *amane.Employee
	Revealed      bool
	Staff         bool
	RevealPurpose bool // a reveal needs a purpose (everyone but the insured person, on their own record)
}

// employeePage shows an insured person by internal id. For staff, a GET has no purpose: the gate
// refuses it (and journals the refusal), and the page asks for one.
func (s *Server) employeePage(w http.ResponseWriter, r *http.Request, v *visit) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		s.pageError(w, r, v, amane.Errorf(amane.ENOTFOUND, "No such insured person."), "", "", nil)
		return
	}
	view := employeeView{purposeForm: s.purposeForm(r), ID: id, Staff: v.staff(), RevealPurpose: v.account.Role != amane.RoleInsured}
	ctx, reveal := readContext(r, view.purposeForm)
	e, err := s.Registry.EmployeeByID(ctx, id)
	if err != nil {
		s.pageError(w, r, v, err, "employee", "Dossier d'un assuré", view)
		return
	}
	view.Employee, view.Revealed = e, reveal
	s.render(w, r, v, http.StatusOK, "employee", "Dossier d'un assuré", pageData{Data: view})
}

var affiliationRE = regexp.MustCompile(`^[0-9]{7}$`)

type employerView struct {
	purposeForm
	Affiliation   string
	Employer      *amane.EmployerWithEmployees
	Revealed      bool
	Staff         bool
	RevealPurpose bool
	Own           bool // the employer user's own company (/mon-entreprise)

	// History is the employer's declarations month by month, for staff (nil: not shown).
	History *historyView
	// Attest shows staff the third-party attestation form (pages_attestations.go).
	Attest bool
}

// employerPage shows an employer with its employees. The affiliation number is the company's public
// identity, not personal data, so it may stand in the URL.
func (s *Server) employerPage(w http.ResponseWriter, r *http.Request, v *visit) {
	aff := r.PathValue("affiliation")
	if !affiliationRE.MatchString(aff) {
		s.pageError(w, r, v, amane.Errorf(amane.ENOTFOUND, "No such employer."), "", "", nil)
		return
	}
	s.showEmployer(w, r, v, aff, false)
}

func (s *Server) showEmployer(w http.ResponseWriter, r *http.Request, v *visit, aff string, own bool) {
	s.showEmployerWith(w, r, v, aff, own, http.StatusOK, pageData{})
}

// showEmployerWith is showEmployer with a status and a message (d.Data is replaced).
func (s *Server) showEmployerWith(w http.ResponseWriter, r *http.Request, v *visit, aff string, own bool, status int, d pageData) {
	view := employerView{purposeForm: s.purposeForm(r), Affiliation: aff, Staff: v.staff(), RevealPurpose: v.account.Role != amane.RoleInsured, Own: own}
	ctx, reveal := readContext(r, view.purposeForm)
	// One page of employees at a time: ?suite= (GET, an employer user's own page) or the form's suite
	// (POST, staff, whose purpose travels in the form). The cursor is opaque and holds no identifier.
	cursor := r.URL.Query().Get("suite")
	if r.Method == http.MethodPost {
		cursor = r.PostFormValue("suite")
	}
	if len(cursor) > 64 {
		cursor = ""
	}
	e, err := s.Registry.EmployerPage(ctx, aff, amane.Page{Cursor: cursor})
	if err != nil {
		s.pageError(w, r, v, err, "employer", "Employeur", view)
		return
	}
	view.Employer, view.Revealed = e, reveal
	if view.Staff {
		view.History = s.employerHistory(ctx, r, aff)
		view.Attest = s.Attester != nil
	}
	d.Data = view
	s.render(w, r, v, status, "employer", "Employeur", d)
}

func countNonEmpty(vs ...string) int {
	n := 0
	for _, v := range vs {
		if v != "" {
			n++
		}
	}
	return n
}
