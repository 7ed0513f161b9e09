package main

import (
	"bufio"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"amane/sentinel"
)

// TestSentinelSimulateReplayPatient: `sentinel simulate --profile patient` writes its events in the
// JSONL schema (no case field: there are no cases in them) and its report has every patient account
// contained; `sentinel replay` of that file suspends the same accounts, by behaviour alone.
func TestSentinelSimulateReplayPatient(t *testing.T) {
	events := filepath.Join(t.TempDir(), "events.jsonl")
	out := mustRun(t, "sentinel", "simulate", "--profile", "patient", "--rate", "5", "--accounts", "2",
		"--days", "15", "--agents", "36", "--employers", "1000", "--seed", "1", "--events-out", events)
	var rep sentinel.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Profile != "patient" || len(rep.Attackers) != 2 || rep.FalseContainments != 0 {
		t.Fatalf("report: profile %q, %d attackers, %d false containments", rep.Profile, len(rep.Attackers), rep.FalseContainments)
	}
	for _, a := range rep.Attackers {
		if !a.Contained || a.RecordsBeforeContainment > 1000 {
			t.Errorf("simulate: %s contained=%v after %d records", a.Principal, a.Contained, a.RecordsBeforeContainment)
		}
	}
	suspended := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(mustRun(t, "sentinel", "replay", "--events", events)))
	for sc.Scan() {
		var r sentinel.Response
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		if r.Response == sentinel.Suspend {
			suspended[r.Principal] = r.Signal
		}
	}
	for _, a := range rep.Attackers {
		if s := suspended[a.Principal]; s != "sustained" && s != "after-step-up" {
			t.Errorf("replay: %s suspended on %q, want sustained or after-step-up", a.Principal, s)
		}
	}
	if len(suspended) != len(rep.Attackers) {
		t.Errorf("replay suspended %v, want the %d attackers only", suspended, len(rep.Attackers))
	}
}
