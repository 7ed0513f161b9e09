package amane_test

import (
	"encoding/json"
	"slices"
	"testing"

	"amane"
)

// TestActions: the journal's actions are distinct, each known, each with a class the sentinel
// counts or none (the journal's own views); an unknown one is not known and counts as a write.
func TestActions(t *testing.T) {
	seen := map[amane.Action]bool{}
	for _, a := range amane.Actions {
		if a == "" || seen[a] {
			t.Errorf("action %q empty or listed twice", a)
		}
		seen[a] = true
		if !a.Known() {
			t.Errorf("%s: listed, not known", a)
		}
		c, ok := a.Watched()
		if ok != slices.Contains(amane.WatchedActions, c) {
			t.Errorf("%s: watched as %q (%v), not one of %v", a, c, ok, amane.WatchedActions)
		}
	}
	if amane.ActionWrite.Known() {
		t.Error("write is the sentinel's class, never journaled, yet known as a journal action")
	}
	if amane.Action("delete").Known() {
		t.Error("an unlisted action is known")
	}
	if c, ok := amane.Action("delete").Watched(); c != amane.ActionWrite || !ok {
		t.Errorf("an unlisted action is watched as %q, %v; want write", c, ok)
	}
	for a, want := range map[amane.Action]amane.Action{amane.ActionReveal: amane.ActionRead,
		amane.ActionExport: amane.ActionExport, amane.ActionDeclare: amane.ActionWrite} {
		if c, ok := a.Watched(); c != want || !ok {
			t.Errorf("%s watched as %q, %v; want %q", a, c, ok, want)
		}
	}
}

// TestAccessEntryJSON pins the API's access-log entry (web/openapi.json, AccessEntry): the index,
// then the event's keys in the journal's order, empty optional ones left out.
func TestAccessEntryJSON(t *testing.T) {
	e := amane.AccessEntry{Index: 7, AccessEvent: amane.AccessEvent{Time: "2026-03-02T09:15:04.123Z",
		Principal: "account/12", Role: "agent", Scope: "CASA-ANFA", Action: amane.ActionReveal, Record: "employee/42",
		Fields: []string{"cin"}, Purpose: "dossier", Reference: "DOS-2026/0142", Outcome: amane.OutcomeAllowed,
		Reason: "agency", RequestID: "r-7f3a"}}
	const want = `{"index":7,"time":"2026-03-02T09:15:04.123Z","principal":"account/12","role":"agent","scope":"CASA-ANFA",` +
		`"action":"reveal","record":"employee/42","fields":["cin"],"purpose":"dossier","reference":"DOS-2026/0142",` +
		`"outcome":"allowed","reason":"agency","request_id":"r-7f3a"}`
	b, err := json.Marshal(e)
	if err != nil || string(b) != want {
		t.Errorf("an access entry encodes as\n%s (%v)\nwant\n%s", b, err, want)
	}
	missing := amane.AccessEntry{Index: 3, AccessEvent: amane.AccessEvent{Outcome: amane.OutcomeMissing}}
	const wantMissing = `{"index":3,"time":"","principal":"","role":"","action":"","outcome":"missing"}`
	if b, _ := json.Marshal(missing); string(b) != wantMissing {
		t.Errorf("a missing entry encodes as\n%s\nwant\n%s", b, wantMissing)
	}
	var back amane.AccessEntry
	if err := json.Unmarshal([]byte(want), &back); err != nil || back.Index != 7 || back.Record != "employee/42" ||
		back.Action != amane.ActionReveal || back.Outcome != amane.OutcomeAllowed {
		t.Errorf("decoded %+v, %v", back, err)
	}
}
