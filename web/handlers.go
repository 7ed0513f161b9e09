package web

import (
	"context"
	"net/http"
	"strconv"

	"amane"
)

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	s.health(w, r) // health.go
}

func (s *Server) openapi(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Write(openapiJSON)
}

// getEmployer is GET /api/v1/employers/{affiliation}[?cursor=…&limit=N]: the employer and one page
// of its employees (at most amane.MaxPage), with next when more follow.
func (s *Server) getEmployer(w http.ResponseWriter, r *http.Request) {
	page, err := pageOf(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	e, err := s.Registry.EmployerPage(r.Context(), r.PathValue("affiliation"), page)
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, e)
}

func (s *Server) createEmployer(w http.ResponseWriter, r *http.Request) {
	var e amane.Employer
	if err := decode(r, &e); err != nil {
		s.error(w, r, err)
		return
	}
	e.ID = 0
	if err := s.Registry.CreateEmployer(r.Context(), &e); err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, e)
}

func (s *Server) updateEmployer(w http.ResponseWriter, r *http.Request) {
	var e amane.Employer
	if err := decode(r, &e); err != nil {
		s.error(w, r, err)
		return
	}
	if e.Affiliation != "" && e.Affiliation != r.PathValue("affiliation") {
		s.error(w, r, amane.Invalid("The affiliation number in the body differs from the one in the path.", amane.FieldError{Field: "affiliation", Rule: "must match the path"}))
		return
	}
	e.Affiliation = r.PathValue("affiliation")
	if err := s.Registry.UpdateEmployer(r.Context(), &e); err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, e)
}

func (s *Server) getEmployee(w http.ResponseWriter, r *http.Request) {
	e, err := s.Registry.Employee(r.Context(), r.PathValue("immatriculation"))
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, e)
}

type employeeList struct {
	Employees []amane.Employee `json:"salaries"`
	// More: more people in the principal's scope match a name search than it shows (at most
	// amane.MaxPage): narrow the search.
	More bool `json:"more,omitempty"`
}

// searchQuery is the body of POST /api/v1/employees/search: one of the three.
type searchQuery struct {
	CIN             string `json:"cin,omitempty"`
	Immatriculation string `json:"immatriculation,omitempty"`
	Name            string `json:"name,omitempty"`
	Limit           int    `json:"limit,omitempty"`
}

// lookup runs one search: by immatriculation, CIN or name (exactly one). An unknown immatriculation is
// an empty result, like an unknown CIN or name. more is a name search's: more match than it shows.
func (s *Server) lookup(ctx context.Context, q searchQuery) (out []amane.Employee, more bool, err error) {
	switch {
	case q.Immatriculation != "" && q.CIN == "" && q.Name == "":
		e, err := s.Registry.Employee(ctx, q.Immatriculation)
		if amane.ErrorCode(err) == amane.ENOTFOUND {
			return []amane.Employee{}, false, nil
		} else if err != nil {
			return nil, false, err
		}
		return []amane.Employee{*e}, false, nil
	case q.CIN != "" && q.Name == "" && q.Immatriculation == "":
		out, err := s.Registry.EmployeesByCIN(ctx, q.CIN)
		return out, false, err
	case q.Name != "" && q.CIN == "" && q.Immatriculation == "":
		p, err := s.Registry.SearchEmployeesPage(ctx, q.Name, q.Limit)
		if err != nil {
			return nil, false, err
		}
		return p.Employees, p.More, nil
	}
	return nil, false, amane.Invalid("Search by exactly one of cin, immatriculation or name.", amane.FieldError{Field: "cin", Rule: "give exactly one of cin, immatriculation, name"})
}

func (s *Server) find(w http.ResponseWriter, r *http.Request, q searchQuery) {
	out, more, err := s.lookup(r.Context(), q)
	if err != nil {
		s.error(w, r, err)
		return
	}
	if out == nil {
		out = []amane.Employee{}
	}
	writeJSON(w, http.StatusOK, employeeList{Employees: out, More: more})
}

func (s *Server) findEmployees(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, _ := strconv.Atoi(q.Get("limit"))
	s.find(w, r, searchQuery{CIN: q.Get("cin"), Name: q.Get("name"), Limit: limit})
}

func (s *Server) searchEmployees(w http.ResponseWriter, r *http.Request) {
	var q searchQuery
	if err := decode(r, &q); err != nil {
		s.error(w, r, err)
		return
	}
	s.find(w, r, q)
}

func (s *Server) createEmployee(w http.ResponseWriter, r *http.Request) {
	var e amane.Employee
	if err := decode(r, &e); err != nil {
		s.error(w, r, err)
		return
	}
	e.ID = 0
	if err := s.Registry.CreateEmployee(r.Context(), &e); err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, e)
}

func (s *Server) updateEmployee(w http.ResponseWriter, r *http.Request) {
	var e amane.Employee
	if err := decode(r, &e); err != nil {
		s.error(w, r, err)
		return
	}
	if e.Immatriculation != "" && e.Immatriculation != r.PathValue("immatriculation") {
		s.error(w, r, amane.Invalid("The immatriculation in the body differs from the one in the path.", amane.FieldError{Field: "immatriculation", Rule: "must match the path"}))
		return
	}
	e.Immatriculation = r.PathValue("immatriculation")
	if err := s.Registry.UpdateEmployee(r.Context(), &e); err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, e)
}

// accessLog is the body of the journal routes.
type accessLog struct {
	Entries []amane.AccessEntry `json:"entries"`
}

func writeEntries(w http.ResponseWriter, entries []amane.AccessEntry) {
	if entries == nil {
		entries = []amane.AccessEntry{}
	}
	writeJSON(w, http.StatusOK, accessLog{Entries: entries})
}

// myAccessLog answers an insured person: every access to their own record.
func (s *Server) myAccessLog(w http.ResponseWriter, r *http.Request) {
	entries, err := s.Registry.AccessLog(r.Context(), 0)
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeEntries(w, entries)
}

// pageParams reads ?before=N&limit=N (default 100, at most 500) of a newest-first listing; what names
// the kind of N before takes.
func pageParams(r *http.Request, what string) (before int64, limit int, err error) {
	q := r.URL.Query()
	if v := q.Get("before"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return 0, 0, amane.Invalid("before must be "+what+".", amane.FieldError{Field: "before", Rule: "a non-negative integer"})
		}
		before = n
	}
	limit = 100
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 500 {
			return 0, 0, amane.Invalid("limit must be 1 to 500.", amane.FieldError{Field: "limit", Rule: "an integer from 1 to 500"})
		}
		limit = n
	}
	return before, limit, nil
}

// journal answers the auditor and the DPO: ?before=INDEX&limit=N, newest first.
func (s *Server) journal(w http.ResponseWriter, r *http.Request) {
	before, limit, err := pageParams(r, "a journal index")
	if err != nil {
		s.error(w, r, err)
		return
	}
	entries, err := s.Registry.Journal(r.Context(), before, limit)
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeEntries(w, entries)
}

// accessProof returns the inclusion proof of one journal entry, as the Registry builds it.
func (s *Server) accessProof(w http.ResponseWriter, r *http.Request) {
	index, err := strconv.ParseInt(r.PathValue("index"), 10, 64)
	if err != nil || index < 0 {
		s.error(w, r, amane.Invalid("The index must be a journal index.", amane.FieldError{Field: "index", Rule: "a non-negative integer"}))
		return
	}
	proof, err := s.Registry.AccessProof(r.Context(), index)
	if err != nil {
		s.error(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Write(proof)
}

// pageOf reads ?cursor=…&limit=N of a paged list (limit 1 to amane.MaxPage, default amane.MaxPage).
// The cursor is the next value of the page before; the gate checks it.
func pageOf(r *http.Request) (amane.Page, error) {
	q := r.URL.Query()
	p := amane.Page{Cursor: q.Get("cursor")}
	if len(p.Cursor) > 64 {
		return amane.Page{}, amane.Invalid("This cursor does not belong to this list: start again from the first page.",
			amane.FieldError{Field: "cursor", Rule: "the next value of the page before"})
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > amane.MaxPage {
			return amane.Page{}, amane.Invalid("limit must be 1 to "+strconv.Itoa(amane.MaxPage)+".",
				amane.FieldError{Field: "limit", Rule: "an integer from 1 to " + strconv.Itoa(amane.MaxPage)})
		}
		p.Limit = n
	}
	return p, nil
}
