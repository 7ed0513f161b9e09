package web_test

import (
	"slices"
	"testing"

	"amane/amanetest"
	"amane/gate"
)

// TestAPIBreakGlassHeader: with the gate binding reads to cases, the operator token reads a record
// under no case of its own. Without X-Amane-Break-Glass it is refused (403); with a reason it reads;
// a reason holding a CIN is refused (400, field break_glass). With the binding off (TestAPI), the
// header changes nothing.
func TestAPIBreakGlassHeader(t *testing.T) {
	amanetest.Each(t, func(t *testing.T, r *amanetest.Registry) {
		a := newAPI(t, r)
		if code, m, _ := a.do(t, "POST", "/api/v1/employers", employer("1234567"), a.token); code != 201 {
			t.Fatalf("create employer: %d %v", code, m)
		}
		if code, m, _ := a.do(t, "POST", "/api/v1/employees", employee("111111111", "JA123456", "Benaïssa", "Saïd", "1234567"), a.token); code != 201 {
			t.Fatalf("create employee: %d %v", code, m)
		}
		glass := func(reason string) map[string]string {
			return map[string]string{"X-Amane-Purpose": "dossier", "X-Amane-Reference": "DOS-2025/0142", "X-Amane-Break-Glass": reason}
		}
		if code, m, _ := a.doH(t, "GET", "/api/v1/employees/111111111", nil, a.token, glass("")); code != 200 {
			t.Fatalf("binding off, no reason: %d %v", code, m)
		}
		r.Gate.UseCaseBinding(gate.CaseBinding{})
		if code, m, _ := a.do(t, "GET", "/api/v1/employees/111111111", nil, a.token); code != 403 {
			t.Fatalf("binding on, no case, no reason: %d %v", code, m)
		}
		if code, m, _ := a.doH(t, "GET", "/api/v1/employees/111111111", nil, a.token, glass("Appel urgent de l'agence, dossier papier")); code != 200 || m["nom"] != "Benaïssa" {
			t.Fatalf("binding on, with a reason: %d %v", code, m)
		}
		if code, m, _ := a.doH(t, "GET", "/api/v1/employees/111111111", nil, a.token, glass("voir la fiche JA123456 svp")); code != 400 || !slices.Contains(fieldsOf(m), "break_glass") {
			t.Fatalf("a reason holding a CIN: %d %v", code, m)
		}
	})
}
