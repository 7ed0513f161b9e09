package web

import (
	"strings"
	"testing"

	"amane"
)

// TestAccessLogPagesRender: the two pages that list journal entries (the insured person's
// "mes données" and the journal) render an entry's typed action and outcome through their French
// labels. A template function that took a plain string would fail at run time on amane.Action.
func TestAccessLogPagesRender(t *testing.T) {
	ts := parseTemplates()
	entries := []amane.AccessEntry{
		{Index: 4, AccessEvent: amane.AccessEvent{Time: "2026-03-02T09:15:04.123Z", Principal: "account/12", Role: amane.RoleAgent,
			Scope: "CASA-ANFA", Action: amane.ActionReveal, Record: "employee/42", Fields: []string{"cin"}, Purpose: "dossier",
			Outcome: amane.OutcomeAllowed}},
		{Index: 5, AccessEvent: amane.AccessEvent{Time: "2026-03-02T09:16:00.000Z", Principal: "account/13", Role: amane.RoleAgent,
			Action: amane.ActionRead, Record: "employee/42", Outcome: amane.OutcomeDenied, Reason: "outside the agency"}},
		{Index: 6, AccessEvent: amane.AccessEvent{Outcome: amane.OutcomeMissing}},
	}
	for name, data := range map[string]any{
		"mydata":  myDataView{Employee: &amane.Employee{ID: 42}, Entries: entries},
		"journal": journalView{Entries: entries},
	} {
		var b strings.Builder
		if err := ts[name].ExecuteTemplate(&b, "layout", layoutData{pageData: pageData{Data: data}}); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, want := range []string{"affichage en clair", "consultation", "autorisé", "refusé", "missing"} {
			if !strings.Contains(b.String(), want) {
				t.Errorf("%s: no %q in the page", name, want)
			}
		}
	}
}
