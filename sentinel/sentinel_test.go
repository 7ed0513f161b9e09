package sentinel_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"amane/sentinel"
)

func small(attack string, seed uint64) sentinel.SimConfig {
	return sentinel.SimConfig{Days: 5, Agents: 60, Employers: 2000, Attack: attack, Seed: seed}
}

func run(t *testing.T, cfg sentinel.SimConfig) sentinel.Report {
	t.Helper()
	events, truth, err := sentinel.Simulate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return sentinel.Evaluate(events, truth, sentinel.New(sentinel.DefaultConfig(), truth.Canaries), nil)
}

// TestProfiles replays each attack at a small scale against the bounds.
func TestProfiles(t *testing.T) {
	for _, profile := range sentinel.Profiles {
		t.Run(profile, func(t *testing.T) {
			t.Parallel() // each profile simulates and replays on its own detector
			for _, seed := range []uint64{1, 2} {
				rep := run(t, small(profile, seed))
				b, _ := json.Marshal(rep)
				t.Logf("seed %d: %s", seed, b)
				if rep.FalseContainments != 0 {
					t.Errorf("seed %d: %d false containments", seed, rep.FalseContainments)
				}
				if rep.FalseAlertsPer1000 > 1 {
					t.Errorf("seed %d: %.3f false alerts per 1,000 principal-days, want ≤ 1", seed, rep.FalseAlertsPer1000)
				}
				for _, a := range rep.Attackers {
					switch profile {
					case "cnss-2024", "spread", "integration-dump":
						if !a.Contained || a.RecordsBeforeContainment > 1000 {
							t.Errorf("seed %d: %s contained=%v after %d records, want ≤ 1,000", seed, a.Principal, a.Contained, a.RecordsBeforeContainment)
						}
					case "employer-probe":
						if !a.Contained || a.ProbesBeforeContainment > 20 {
							t.Errorf("seed %d: %s contained=%v after %d probes, want ≤ 20", seed, a.Principal, a.Contained, a.ProbesBeforeContainment)
						}
					case "curious-insider":
						if !a.TouchedCanary || !a.AlertedAtFirstCanary {
							t.Errorf("seed %d: %s touched a canary %v, alerted at it %v", seed, a.Principal, a.TouchedCanary, a.AlertedAtFirstCanary)
						}
					}
				}
				if profile == "spread" && !rep.CampaignFlagged {
					t.Errorf("seed %d: spread not flagged as one campaign", seed)
				}
			}
		})
	}
}

// TestReplayDeterministic: the same events give the same responses, through the JSONL reader too.
func TestReplayDeterministic(t *testing.T) {
	events, truth, err := sentinel.Simulate(sentinel.SimConfig{Days: 3, Agents: 30, Employers: 500, Attack: "spread", Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	var jsonl bytes.Buffer
	enc := json.NewEncoder(&jsonl)
	var direct bytes.Buffer
	d1 := sentinel.New(sentinel.DefaultConfig(), truth.Canaries)
	for e := range events {
		enc.Encode(e)
		for _, r := range d1.Observe(e) {
			b, _ := json.Marshal(r)
			direct.Write(append(b, '\n'))
		}
	}
	var replayed bytes.Buffer
	d2 := sentinel.New(sentinel.DefaultConfig(), truth.Canaries)
	for e, err := range sentinel.ReadEvents(&jsonl) {
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range d2.Observe(e) {
			b, _ := json.Marshal(r)
			replayed.Write(append(b, '\n'))
		}
	}
	if direct.Len() == 0 || direct.String() != replayed.String() {
		t.Fatalf("replay differs or is empty:\n%d bytes direct\n%d bytes replayed", direct.Len(), replayed.Len())
	}
}

func TestReadEvents(t *testing.T) {
	ok := `{"time":"2024-11-04T09:12:03Z","principal":"agent-0412","role":"agent","home":"CASA-ANFA","action":"read","record":"emp-88120394","record_home":"CASA-ANFA","purpose":"dossier","outcome":"allowed"}`
	tests := []struct {
		name, in, err string
	}{
		{"OK", ok + "\n\n" + ok + "\n", ""},
		{"ErrUnknownField", strings.Replace(ok, `"purpose"`, `"purpos"`, 1), "line 1"},
		{"ErrRole", strings.Replace(ok, `"agent",`, `"root",`, 1), "role"},
		{"ErrTime", strings.Replace(ok, `2024-11-04T09:12:03Z`, `yesterday`, 1), "line 1"},
		{"ErrOrder", ok + "\n" + strings.Replace(ok, "09:12", "08:12", 1), "line 2: time"},
		{"ErrTrailing", ok + ` {}`, "trailing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			n := 0
			for _, e := range sentinel.ReadEvents(strings.NewReader(tt.in)) {
				if e != nil {
					err = e
				} else {
					n++
				}
			}
			if tt.err == "" && (err != nil || n != 2) {
				t.Fatalf("got %d events, %v", n, err)
			}
			if tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)) {
				t.Fatalf("error %v, want one containing %q", err, tt.err)
			}
		})
	}
}

func TestCanary(t *testing.T) {
	d := sentinel.New(sentinel.DefaultConfig(), []string{"emp-00000042"})
	e, _ := sentinel.DecodeEvent([]byte(`{"time":"2024-11-04T09:12:03Z","principal":"agent-1","role":"agent","home":"A","action":"read","record":"emp-00000042","record_home":"B","purpose":"dossier","outcome":"denied"}`))
	rs := d.Observe(e)
	if len(rs) != 2 || rs[0].Response != sentinel.Alert || rs[1].Response != sentinel.Suspend || rs[0].Signal != "canary" {
		t.Fatalf("got %+v, want canary alert then suspend", rs)
	}
	if rs := d.Observe(e); rs != nil || d.Contained("agent-1") != 1 {
		t.Fatalf("suspended principal: got %+v, contained %d", rs, d.Contained("agent-1"))
	}
}

func FuzzDecodeEvent(f *testing.F) {
	f.Add([]byte(`{"time":"2024-11-04T09:12:03Z","principal":"agent-0412","role":"agent","home":"CASA-ANFA","action":"read","record":"emp-88120394","record_home":"CASA-ANFA","purpose":"dossier","outcome":"allowed"}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"time":"2024-11-04T09:12:03+01:00"} x`))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := sentinel.DecodeEvent(b)
		if err != nil {
			return
		}
		// A decoded event re-encodes and decodes to the same event.
		out, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		e2, err := sentinel.DecodeEvent(out)
		if err != nil || !e2.Time.Equal(e.Time) || e2.Principal != e.Principal || e2.Record != e.Record {
			t.Fatalf("round trip: %v %+v %+v", err, e, e2)
		}
		sentinel.New(sentinel.DefaultConfig(), nil).Observe(e)
	})
}

// TestExportsAgainstPurpose: an agent exporting records under an ordinary purpose is suspended past
// the "*" ceiling (150 a day); the nightly batch attesting far more under "attestation" is not; the
// count restarts with the day.
func TestExportsAgainstPurpose(t *testing.T) {
	d := sentinel.New(sentinel.DefaultConfig(), nil)
	day := time.Date(2024, 11, 4, 8, 0, 0, 0, time.UTC)
	var agent, batch []sentinel.Response
	for i := range 1000 {
		at := day.Add(time.Duration(i) * time.Second)
		batch = append(batch, d.Observe(sentinel.Event{Time: at, Principal: "system-attest", Role: "system", Home: "SYSTEM",
			Action: "attest", Record: fmt.Sprintf("aff-%07d", i), Purpose: "attestation", Outcome: "allowed"})...)
		if i < 200 {
			// Spread over the day so that no volume window fires first.
			at := day.Add(time.Duration(i) * 4 * time.Minute)
			agent = append(agent, d.Observe(sentinel.Event{Time: at, Principal: "agent-0001", Role: "agent", Home: "CASA-ANFA",
				Action: "export", Record: fmt.Sprintf("emp-%08d", i), RecordHome: "CASA-ANFA", Purpose: "dossier", Outcome: "allowed"})...)
		}
	}
	if len(batch) != 0 {
		t.Errorf("the attestation batch drew responses: %+v", batch[0])
	}
	var suspended *sentinel.Response
	for i, r := range agent {
		if r.Response == sentinel.Suspend {
			suspended = &agent[i]
			break
		}
	}
	if suspended == nil || suspended.Signal != "exports" || suspended.Evidence["distinct_records_exported_or_attested"] != 150.0 ||
		suspended.Evidence["purpose"] != "dossier" {
		t.Fatalf("agent responses %+v", agent)
	}
}

// TestLiveAdmit: a throttled principal is admitted once per ThrottleInterval, a suspended one never,
// others always; Hold restores a suspension and Lift ends it.
func TestLiveAdmit(t *testing.T) {
	cfg := sentinel.DefaultConfig()
	cfg.Volume = []sentinel.WindowRule{{Window: sentinel.Duration(time.Hour), Levels: sentinel.Levels{Alert: 2, Throttle: 3, Suspend: 10}}}
	l := sentinel.NewLive(sentinel.New(cfg, nil))
	at := time.Date(2024, 11, 4, 9, 0, 0, 0, time.UTC)
	for i := range 3 {
		l.Observe(sentinel.Event{Time: at, Principal: "agent-1", Role: "agent", Home: "A", Action: "read", Record: fmt.Sprintf("emp-%d", i), RecordHome: "A", Outcome: "allowed"})
	}
	if got := l.Standing("agent-1"); got != sentinel.Throttle {
		t.Fatalf("standing %q", got)
	}
	steps := []struct {
		after time.Duration
		want  string
	}{{0, ""}, {100 * time.Millisecond, sentinel.Throttle}, {900 * time.Millisecond, sentinel.Throttle}, {1000 * time.Millisecond, ""}, {1500 * time.Millisecond, sentinel.Throttle}}
	for _, s := range steps {
		if got := l.Admit("agent-1", at.Add(s.after)); got != s.want {
			t.Errorf("Admit at +%v: %q, want %q", s.after, got, s.want)
		}
	}
	if got := l.Admit("agent-2", at); got != "" {
		t.Errorf("another principal: %q", got)
	}
	l.Hold("agent-2", sentinel.Suspend)
	if got := l.Admit("agent-2", at); got != sentinel.Suspend || !l.Suspended("agent-2") {
		t.Errorf("held suspension: %q", got)
	}
	if rs := l.Observe(sentinel.Event{Time: at, Principal: "agent-2", Role: "agent", Home: "A", Action: "read", Record: "emp-9", RecordHome: "A", Outcome: "allowed"}); len(rs) != 0 {
		t.Errorf("a held principal's event drew responses: %+v", rs)
	}
	l.Lift("agent-2")
	l.Lift("agent-1")
	if l.Admit("agent-2", at) != "" || l.Admit("agent-1", at) != "" || l.Admit("agent-1", at) != "" {
		t.Error("lifted principals are still held")
	}
}

// TestPurposesShareOneAllowance: a principal attesting employers of 40 people one after another, one
// every 1.1 s, under one purpose and under six: the same number of distinct people before its
// suspension. Before issue 12 attestations counted per purpose per day, outside the volume windows,
// and six purposes gave six allowances (a suspension only after ~900 people, not ~120).
func TestPurposesShareOneAllowance(t *testing.T) {
	purposes := []string{"dossier", "prestation", "controle", "reclamation", "contentieux", "droits-0908"}
	run := func(n int) int {
		d := sentinel.New(sentinel.DefaultConfig(), nil)
		t0 := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
		released := 0
		for emp := 0; emp < 100 && !d.Suspended("agent-1"); emp++ {
			at := t0.Add(time.Duration(emp) * 1100 * time.Millisecond)
			for k := range 40 {
				d.Observe(sentinel.Event{Time: at, Principal: "agent-1", Role: "agent", Home: "CASA-ANFA", Action: "attest",
					Record: fmt.Sprintf("employee/%d", emp*40+k), RecordHome: "CASA-ANFA", Purpose: purposes[emp%n], Outcome: "allowed"})
			}
			if !d.Suspended("agent-1") {
				released += 40
			}
		}
		if !d.Suspended("agent-1") {
			t.Errorf("%d purposes: not suspended after %d people", n, released)
		}
		return released
	}
	one, six := run(1), run(len(purposes))
	if one != six || one >= 200 {
		t.Errorf("people attested before suspension: %d under one purpose, %d under six; want equal and under 200", one, six)
	}
}

// TestAdmitRelease: a release that would cross a suspension threshold is refused before it happens
// and the principal suspended (the evidence says how many records it asked); one under it passes and
// is counted, so that the next is measured against it.
func TestAdmitRelease(t *testing.T) {
	cfg := sentinel.DefaultConfig()
	live := sentinel.NewLive(sentinel.New(cfg, nil))
	var got []sentinel.Response
	live.OnResponse = func(r sentinel.Response) { got = append(got, r) }
	t0 := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	page := func(from, n int) []sentinel.Event {
		var es []sentinel.Event
		for k := from; k < from+n; k++ {
			es = append(es, sentinel.Event{Time: t0, Principal: "account/7", Role: "agent", Home: "CASA-ANFA", Action: "read",
				Record: fmt.Sprintf("employee/%d", k), RecordHome: "CASA-ANFA", Purpose: "dossier", Outcome: "allowed"})
		}
		return es
	}
	for i := range 3 { // 150 records: throttled and stepped up, not suspended
		if v := live.AdmitRelease(page(i*50, 50)); v != "" {
			t.Fatalf("page %d: %q", i, v)
		}
	}
	if v := live.AdmitRelease(page(0, 50)); v != "" { // the same people again: nothing new
		t.Fatalf("a page read again: %q", v)
	}
	if v := live.AdmitRelease(page(150, 50)); v != sentinel.Suspend { // would make 200, the 10-minute ceiling
		t.Fatalf("a page crossing the ceiling: %q, want suspend", v)
	}
	if !live.Suspended("account/7") {
		t.Fatal("not suspended")
	}
	last := got[len(got)-1]
	if last.Response != sentinel.Suspend || last.Evidence["release_refused_records"] != 50 {
		t.Errorf("last response %+v", last)
	}
	if v := live.AdmitRelease(page(500, 1)); v != sentinel.Suspend {
		t.Errorf("a suspended principal's release: %q", v)
	}
}
