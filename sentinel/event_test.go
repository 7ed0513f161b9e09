package sentinel_test

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"amane"
	"amane/sentinel"
)

// eventLineV1 is one event of the JSON Lines replay schema (the package doc's example, compact): the
// format `amane sentinel simulate --events` writes and `amane sentinel replay` reads.
const eventLineV1 = `{"time":"2024-11-04T09:12:03Z","principal":"agent-0412","role":"agent","home":"CASA-ANFA","action":"read","record":"emp-88120394","record_home":"CASA-ANFA","purpose":"dossier","outcome":"allowed"}`

// TestEventJSONLinesV1 pins the replay schema byte for byte: the keys, their order, no omitempty
// (an empty home or record_home is written, as "")—so that files written by an earlier version replay
// and files written now replay in it.
func TestEventJSONLinesV1(t *testing.T) {
	e := sentinel.Event{Time: time.Date(2024, 11, 4, 9, 12, 3, 0, time.UTC), Principal: "agent-0412", Role: "agent",
		Home: "CASA-ANFA", Action: amane.ActionRead, Record: "emp-88120394", RecordHome: "CASA-ANFA", Purpose: "dossier",
		Outcome: amane.OutcomeAllowed}
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != eventLineV1 {
		t.Errorf("the event encodes as\n%s\nthe v1 line is\n%s", b, eventLineV1)
	}
	d, err := sentinel.DecodeEvent([]byte(eventLineV1))
	if err != nil || d != e {
		t.Errorf("the v1 line decodes to %+v, %v", d, err)
	}
	empty := sentinel.Event{Time: e.Time, Principal: "p", Role: "system", Action: amane.ActionWrite, Outcome: amane.OutcomeDenied}
	const emptyLine = `{"time":"2024-11-04T09:12:03Z","principal":"p","role":"system","home":"","action":"write","record":"","record_home":"","purpose":"","outcome":"denied"}`
	if b, _ := json.Marshal(empty); string(b) != emptyLine {
		t.Errorf("an event with empty fields encodes as\n%s\nwant\n%s", b, emptyLine)
	}
}

// TestActionsShared: the sentinel's vocabulary is the journal's, folded. Every action the journal
// records (amane.Actions, which the gate's TestJournaledActionsAreKnown holds the gate to) is either
// one of the journal's own views, which the sentinel does not watch, or becomes an event whose
// action the replay decoder accepts; and every action the decoder accepts is the class of some
// journaled action (none, like the "export" the gate once never emitted, is matched in vain).
func TestActionsShared(t *testing.T) {
	at := time.Date(2024, 11, 4, 9, 12, 3, 0, time.UTC)
	reached := map[amane.Action]bool{}
	for _, a := range amane.Actions {
		ev, ok := sentinel.EventOf(&amane.AccessEvent{Principal: "account/1", Action: a, Record: "employee/1",
			Purpose: "dossier", Outcome: amane.OutcomeAllowed}, at, "agent", "A", "A")
		if !ok {
			if !slices.Contains([]amane.Action{amane.ActionAccessLog, amane.ActionProof, amane.ActionJournal}, a) {
				t.Errorf("%s: not watched by the sentinel, yet not one of the journal's own views", a)
			}
			continue
		}
		b, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		d, err := sentinel.DecodeEvent(b)
		if err != nil {
			t.Errorf("%s: the sentinel's replay refuses its event: %v", a, err)
			continue
		}
		if d != ev {
			t.Errorf("%s: event %+v replays as %+v", a, ev, d)
		}
		reached[ev.Action] = true
	}
	for _, c := range amane.WatchedActions {
		if !reached[c] {
			t.Errorf("the sentinel accepts %q, which no journaled action becomes", c)
		}
	}
	for _, a := range []amane.Action{"", "Read", "reveal", "access-log", "delete"} {
		line := `{"time":"2024-11-04T09:12:03Z","principal":"p","role":"agent","home":"","action":"` + string(a) +
			`","record":"","record_home":"","purpose":"","outcome":"allowed"}`
		if _, err := sentinel.DecodeEvent([]byte(line)); err == nil {
			t.Errorf("the replay accepts the action %q, which is no class of the sentinel's", a)
		}
	}
}

// TestEventOf: an event carries the access's principal, record, purpose and outcome, and the
// folded action; the journal's own views make none.
func TestEventOf(t *testing.T) {
	at := time.Date(2024, 11, 4, 9, 12, 3, 0, time.UTC)
	a := &amane.AccessEvent{Time: "2024-11-04T09:12:03.000Z", Principal: "account/7", Role: amane.RoleOperator,
		Scope: "X", Action: amane.ActionReveal, Record: "employee/42", Fields: []string{"cin"}, Purpose: "dossier",
		Reference: "DOS-2024/0001", Outcome: amane.OutcomeDenied, Reason: "outside the agency", RequestID: "r-1"}
	ev, ok := sentinel.EventOf(a, at, "integration", "AGADIR", "CASA-ANFA")
	want := sentinel.Event{Time: at, Principal: "account/7", Role: "integration", Home: "AGADIR", Action: amane.ActionRead,
		Record: "employee/42", RecordHome: "CASA-ANFA", Purpose: "dossier", Outcome: amane.OutcomeDenied}
	if !ok || ev != want {
		t.Errorf("EventOf = %+v, %v; want %+v", ev, ok, want)
	}
	a.Action = amane.ActionProof
	if ev, ok := sentinel.EventOf(a, at, "agent", "A", "B"); ok {
		t.Errorf("a proof download became an event: %+v", ev)
	}
}
