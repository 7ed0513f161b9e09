package web

import (
	"net/http"
	"strconv"

	"amane"
)

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) openapi(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Write(openapiJSON)
}

func (s *Server) getEmployer(w http.ResponseWriter, r *http.Request) {
	e, err := s.Registry.Employer(r.Context(), r.PathValue("affiliation"))
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
}

// searchQuery is the body of POST /api/v1/employees/search: one of the three.
type searchQuery struct {
	CIN             string `json:"cin,omitempty"`
	Immatriculation string `json:"immatriculation,omitempty"`
	Name            string `json:"name,omitempty"`
	Limit           int    `json:"limit,omitempty"`
}

func (s *Server) find(w http.ResponseWriter, r *http.Request, q searchQuery) {
	var (
		out []amane.Employee
		err error
	)
	switch {
	case q.Immatriculation != "" && q.CIN == "" && q.Name == "":
		var e *amane.Employee
		if e, err = s.Registry.Employee(r.Context(), q.Immatriculation); err == nil {
			out = []amane.Employee{*e}
		} else if amane.ErrorCode(err) == amane.ENOTFOUND {
			err = nil
		}
	case q.CIN != "" && q.Name == "":
		out, err = s.Registry.EmployeesByCIN(r.Context(), q.CIN)
	case q.Name != "" && q.CIN == "":
		out, err = s.Registry.SearchEmployees(r.Context(), q.Name, q.Limit)
	default:
		err = amane.Invalid("Search by exactly one of cin, immatriculation or name.", amane.FieldError{Field: "cin", Rule: "give exactly one of cin, immatriculation, name"})
	}
	if err != nil {
		s.error(w, r, err)
		return
	}
	if out == nil {
		out = []amane.Employee{}
	}
	writeJSON(w, http.StatusOK, employeeList{Employees: out})
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
