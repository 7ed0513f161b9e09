package web

import (
	"net/http"
	"strconv"

	"amane"
)

// Cases over the API (issue 14): open, assign, close and list. The gate decides who may (an agent
// its agency's requests and complaints, a supervisor missions and assignments, the operator batch
// jobs) and journals every act; here only the JSON. A case number holds a slash, so it travels in
// bodies and queries, never in a path.

func (s *Server) caseRoutes() map[string]http.HandlerFunc {
	return map[string]http.HandlerFunc{
		"GET /api/v1/cases":         s.auth(s.listCases),
		"POST /api/v1/cases":        s.auth(s.openCase),
		"POST /api/v1/cases/assign": s.auth(s.assignCase),
		"POST /api/v1/cases/close":  s.auth(s.closeCase),
	}
}

// caseService is the registry's case service; nil if it has none (the routes answer 404).
func (s *Server) caseService(w http.ResponseWriter, r *http.Request) amane.CaseService {
	cs, ok := s.Registry.(amane.CaseService)
	if !ok {
		s.error(w, r, amane.Errorf(amane.ENOTFOUND, "Cases are not served here."))
		return nil
	}
	return cs
}

// listCases is GET /api/v1/cases[?staff=P&team=A&record=R&limit=N].
func (s *Server) listCases(w http.ResponseWriter, r *http.Request) {
	cs := s.caseService(w, r)
	if cs == nil {
		return
	}
	q := r.URL.Query()
	limit := 0
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > amane.MaxPage {
			s.error(w, r, amane.Invalid("limit is a number from 1 to 50.", amane.FieldError{Field: "limit", Rule: "1 to 50"}))
			return
		}
		limit = n
	}
	cases, err := cs.Cases(r.Context(), amane.CaseFilter{Principal: q.Get("staff"), Team: q.Get("team"), Record: q.Get("record")}, limit)
	if err != nil {
		s.error(w, r, err)
		return
	}
	if cases == nil {
		cases = []amane.Case{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"cases": cases})
}

// caseOpening is the body of POST /api/v1/cases.
type caseOpening struct {
	Type    string   `json:"type"`
	Number  string   `json:"number"`
	Origin  string   `json:"origin"`
	Records []string `json:"records"`
	Staff   []string `json:"staff"`
	Team    string   `json:"team"`
}

// openCase is POST /api/v1/cases: 201 with the case.
func (s *Server) openCase(w http.ResponseWriter, r *http.Request) {
	cs := s.caseService(w, r)
	if cs == nil {
		return
	}
	var in caseOpening
	if err := decode(r, &in); err != nil {
		s.error(w, r, amane.Invalid("The body must be a case: type, number, origin, records, and staff or team.", amane.FieldError{Field: "body", Rule: "a JSON object"}))
		return
	}
	c := &amane.Case{Type: in.Type, Number: in.Number, Origin: in.Origin, Records: in.Records, Staff: in.Staff, Team: in.Team}
	if err := cs.OpenCase(r.Context(), c); err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, c)
}

// assignCase is POST /api/v1/cases/assign {"number", "staff", "team"}.
func (s *Server) assignCase(w http.ResponseWriter, r *http.Request) {
	cs := s.caseService(w, r)
	if cs == nil {
		return
	}
	var in struct {
		Number string   `json:"number"`
		Staff  []string `json:"staff"`
		Team   string   `json:"team"`
	}
	if err := decode(r, &in); err != nil {
		s.error(w, r, amane.Invalid("The body must be {\"number\": …, \"staff\": [...], \"team\": …}.", amane.FieldError{Field: "body", Rule: "a JSON object"}))
		return
	}
	if err := cs.AssignCase(r.Context(), in.Number, in.Staff, in.Team); err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"number": in.Number, "assigned": true})
}

// closeCase is POST /api/v1/cases/close {"number"}.
func (s *Server) closeCase(w http.ResponseWriter, r *http.Request) {
	cs := s.caseService(w, r)
	if cs == nil {
		return
	}
	var in struct {
		Number string `json:"number"`
	}
	if err := decode(r, &in); err != nil {
		s.error(w, r, amane.Invalid("The body must be {\"number\": \"XXX-AAAA/NNNN\"}.", amane.FieldError{Field: "number", Rule: "XXX-AAAA/NNNN"}))
		return
	}
	if err := cs.CloseCase(r.Context(), in.Number); err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"number": in.Number, "closed": true})
}
