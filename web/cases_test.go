package web_test

import (
	"fmt"
	"testing"

	"amane"
	"amane/amanetest"
)

// TestCaseAPI: cases over the API, on both stores. An agent's tool opens a request case on an
// insured person of its agency (201, assigned to the agent alone), lists and closes it; an agent of
// another agency naming the same record gets the answer of an unknown record (404); an employer's
// token opens no staff case (403); a second close conflicts (409).
func TestCaseAPI(t *testing.T) { amanetest.Each(t, testCaseAPI) }

func testCaseAPI(t *testing.T, r *amanetest.Registry) {
	a := newAPI(t, r)
	if code, m, _ := a.do(t, "POST", "/api/v1/employers", employer("1234567"), a.token); code != 201 {
		t.Fatalf("create employer: %d %v", code, m)
	}
	code, m, _ := a.do(t, "POST", "/api/v1/employees", employee("111111111", "JA123456", "Benaïssa", "Saïd", "1234567"), a.token)
	if code != 201 {
		t.Fatalf("create employee: %d %v", code, m)
	}
	rec := fmt.Sprintf("employee/%.0f", m["id"].(float64))
	agent := addToken(t, r, amane.Token{Role: amane.RoleAgent, Agency: "AGADIR", Label: "agence"})
	stranger := addToken(t, r, amane.Token{Role: amane.RoleAgent, Agency: "RABAT-AGDAL", Label: "autre agence"})
	emp := addToken(t, r, amane.Token{Role: amane.RoleEmployer, Affiliation: "1234567", Label: "paie"})
	open := map[string]any{"type": "demande", "number": "PRE-2026/0142", "origin": "guichet", "records": []string{rec}, "staff": []string{"account/99"}}

	if code, m, _ := a.do(t, "POST", "/api/v1/cases", open, stranger); code != 404 {
		t.Fatalf("another agency's agent opens a case on the record: %d %v", code, m)
	}
	if code, m, _ := a.do(t, "POST", "/api/v1/cases", open, emp); code != 403 {
		t.Fatalf("an employer's token opens a staff case: %d %v", code, m)
	}
	code, m, _ = a.do(t, "POST", "/api/v1/cases", open, agent)
	if code != 201 || m["number"] != "PRE-2026/0142" || m["type"] != "demande" || m["opened_by"] == "" {
		t.Fatalf("open: %d %v", code, m)
	}
	if staff, _ := m["staff"].([]any); len(staff) != 1 || staff[0] != m["opened_by"] {
		t.Fatalf("an agent's case is assigned to it alone: %v", m)
	}
	if code, m, _ := a.do(t, "POST", "/api/v1/cases", map[string]any{"type": "controle", "number": "CTL-2026/0001", "origin": "mission", "records": []string{rec}}, agent); code != 403 {
		t.Fatalf("an agent opens a control mission: %d %v", code, m)
	}
	code, m, _ = a.do(t, "GET", "/api/v1/cases", nil, agent)
	if cases, _ := m["cases"].([]any); code != 200 || len(cases) != 1 {
		t.Fatalf("list: %d %v", code, m)
	}
	code, m, _ = a.do(t, "GET", "/api/v1/cases", nil, stranger)
	if cases, _ := m["cases"].([]any); code != 200 || len(cases) != 0 {
		t.Fatalf("another agency's list: %d %v", code, m)
	}
	if code, m, _ := a.do(t, "POST", "/api/v1/cases/close", map[string]any{"number": "PRE-2026/0142"}, stranger); code != 404 {
		t.Fatalf("another agency's agent closes the case: %d %v", code, m)
	}
	if code, m, _ := a.do(t, "POST", "/api/v1/cases/close", map[string]any{"number": "PRE-2026/0142"}, agent); code != 200 || m["closed"] != true {
		t.Fatalf("close: %d %v", code, m)
	}
	if code, m, _ := a.do(t, "POST", "/api/v1/cases/close", map[string]any{"number": "PRE-2026/0142"}, agent); code != 409 {
		t.Fatalf("close twice: %d %v", code, m)
	}
	if code, m, _ := a.do(t, "POST", "/api/v1/cases/assign", map[string]any{"number": "PRE-2026/0142", "team": "AGADIR"}, agent); code != 403 {
		t.Fatalf("an agent assigns: %d %v", code, m)
	}
}
