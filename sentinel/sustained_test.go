package sentinel_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"amane/sentinel"
)

// TestSignalSustained: three days of 50 distinct records make a reference of 50 (own and peers'); a
// fourth day of 75 leaves an excess of 75/50 − 1.25 = 0.25 and folds in capped at 1.25 × 50, so the
// reference becomes (150 + 62.5)/4 = 53.125; on the fifth day the excess reaches the alert (2.5) when
// 0.25 + n/53.125 − 1.25 ≥ 2.5, at n = 186 distinct records (no other signal: 3.3× the baseline, under
// every window).
func TestSignalSustained(t *testing.T) {
	var history []sentinel.Event
	for day, n := range []int{50, 50, 50, 75} {
		for i := range n {
			at := signalDay.Add(time.Duration(day)*24*time.Hour + 9*time.Hour + time.Duration(i)*4*time.Minute)
			history = append(history, agentRead(at, fmt.Sprintf("emp-%08d", 10000+day*100+i), "CASA-ANFA"))
		}
	}
	day5 := signalDay.Add(4*24*time.Hour + 7*time.Hour)
	signalCase{history: history, n: 186, events: func(i int) sentinel.Event {
		return agentRead(day5.Add(time.Duration(i)*3*time.Minute), fmt.Sprintf("emp-%08d", 50000-i), "CASA-ANFA")
	}}.check(t, "sustained", "distinct_records_today")
}

// TestSignalAfterStepUp: three days of 50 distinct records, then a day read at one every two minutes:
// the 400th record is 8× the baseline (step-up, with the day's volume alert); reading on, the 100th
// distinct record read while the step-up stands suspends (after-step-up), the 99th does not.
func TestSignalAfterStepUp(t *testing.T) {
	var history []sentinel.Event
	for day := range 3 {
		for i := range 50 {
			at := signalDay.Add(time.Duration(day)*24*time.Hour + 9*time.Hour + time.Duration(i)*5*time.Minute)
			history = append(history, agentRead(at, fmt.Sprintf("emp-%08d", 10000+day*100+i), "CASA-ANFA"))
		}
	}
	day4 := signalDay.Add(3 * 24 * time.Hour)
	read := func(i int) sentinel.Event {
		return agentRead(day4.Add(time.Duration(i)*2*time.Minute), fmt.Sprintf("emp-%08d", 50000-i), "CASA-ANFA")
	}
	feed := func(k int) (stepUp bool, last []sentinel.Response) {
		d := sentinel.New(sentinel.DefaultConfig(), nil)
		for _, e := range history {
			if rs := d.Observe(e); len(rs) != 0 {
				t.Fatalf("history drew %+v", rs)
			}
		}
		for i := range 400 {
			for _, r := range d.Observe(read(i)) {
				stepUp = stepUp || r.Response == sentinel.StepUp
				if r.Response == sentinel.Suspend {
					t.Fatalf("read %d suspended: %+v", i+1, r)
				}
			}
		}
		for i := range k {
			rs := d.Observe(read(400 + i))
			if i == k-1 {
				return stepUp, rs
			}
			if len(rs) != 0 {
				t.Fatalf("read %d after the step-up drew %+v", i+1, rs)
			}
		}
		return stepUp, nil
	}
	t.Run("OK", func(t *testing.T) {
		stepUp, rs := feed(100)
		if !stepUp {
			t.Fatal("400 records at 8× the baseline drew no step-up")
		}
		if len(rs) != 2 || rs[1].Signal != "after-step-up" || rs[1].Response != sentinel.Suspend ||
			rs[1].Evidence["distinct_records_after_step_up"] != float64(100) {
			t.Fatalf("the 100th record after the step-up drew %+v, want an alert and a suspension on after-step-up", rs)
		}
	})
	t.Run("UnderThreshold", func(t *testing.T) {
		if _, rs := feed(99); len(rs) != 0 {
			t.Fatalf("the 99th record after the step-up drew %+v", rs)
		}
	})
}

// office simulates agents reading distinct records of their home agency in office hours, day after
// day, all in one detector, and returns the containments (throttle and above) it drew, by principal.
// plan gives an agent's home and distinct records on a day (0: it does not read).
func office(t *testing.T, agents, days int, plan func(agent, day int) (home string, n int)) map[string][]sentinel.Response {
	t.Helper()
	d := sentinel.New(sentinel.DefaultConfig(), nil)
	rng := rand.New(rand.NewPCG(1, 2))
	contained := map[string][]sentinel.Response{}
	next := 10000000
	for day := range days {
		date := signalDay.Add(time.Duration(day) * 24 * time.Hour)
		var evs []sentinel.Event
		for a := range agents {
			home, n := plan(a, day)
			for i := range n {
				next += 1 + rng.IntN(3)
				at := date.Add(8*time.Hour + 30*time.Minute + time.Duration(i)*8*time.Hour/time.Duration(n))
				evs = append(evs, sentinel.Event{Time: at, Principal: fmt.Sprintf("agent-%02d", a), Role: "agent", Home: home,
					Action: "read", Record: fmt.Sprintf("emp-%08d", next), RecordHome: home, Purpose: "dossier", Outcome: "allowed"})
			}
		}
		slices.SortStableFunc(evs, func(x, y sentinel.Event) int { return x.Time.Compare(y.Time) })
		for _, e := range evs {
			for _, r := range d.Observe(e) {
				if r.Response != sentinel.Alert {
					contained[r.Principal] = append(contained[r.Principal], r)
				}
			}
		}
	}
	return contained
}

// usual is an honest agent's day: 60 distinct records, 0.7–1.3× from day to day.
func usual(agent, day int) int { return 60 * (7 + (agent*5+day*3)%7) / 10 }

func noContainment(t *testing.T, contained map[string][]sentinel.Response) {
	t.Helper()
	for p, rs := range contained {
		b, _ := json.Marshal(rs[0])
		t.Errorf("%s contained %d times, first: %s", p, len(rs), b)
	}
}

// TestHonestVariation: the honest variations the sustained signal must not contain.
func TestHonestVariation(t *testing.T) {
	t.Run("BusyDays", func(t *testing.T) { // 2.5× its own mean now and then, twice two days running
		noContainment(t, office(t, 10, 20, func(a, day int) (string, int) {
			if a == 0 && (day == 6 || day == 10 || day == 11 || day == 16 || day == 17) {
				return "CASA-ANFA", 150
			}
			return "CASA-ANFA", usual(a, day)
		}))
	})
	t.Run("NewStaff", func(t *testing.T) { // no history: measured against its peers from its first day
		noContainment(t, office(t, 11, 20, func(a, day int) (string, int) {
			if a == 10 && day < 8 {
				return "", 0
			}
			return "CASA-ANFA", usual(a, day)
		}))
	})
	t.Run("MovedAgency", func(t *testing.T) {
		// Agent 0 reads 60 a day at CASA-ANFA, then moves to TANGER-MEDINA where everyone reads 2.2×
		// as much, and does the same: measured against its old peers and its own history alone, that is
		// up to 0.95 of excess a day, contained within days (the test fails if the move is ignored).
		noContainment(t, office(t, 10, 22, func(a, day int) (string, int) {
			switch {
			case a >= 5:
				return "TANGER-MEDINA", usual(a, day) * 22 / 10
			case a == 0 && day >= 8:
				return "TANGER-MEDINA", usual(a, day) * 22 / 10
			}
			return "CASA-ANFA", usual(a, day)
		}))
	})
	// Everyone at 2.2× for eight days, twice: 0.95 of excess a day against the usual reference, contained
	// unless the reference follows the peers' activity (the test fails if it does not).
	t.Run("DeclarationPeak", func(t *testing.T) {
		noContainment(t, office(t, 10, 30, func(a, day int) (string, int) {
			if day%15 >= 7 {
				return "CASA-ANFA", usual(a, day) * 22 / 10
			}
			return "CASA-ANFA", usual(a, day)
		}))
	})
	t.Run("NightlyBatch", func(t *testing.T) { // the system principal attests 1,000 employers a night
		d := sentinel.New(sentinel.DefaultConfig(), nil)
		for day := range 20 {
			for i := range 1000 {
				e := sentinel.Event{Time: signalDay.Add(time.Duration(day)*24*time.Hour + time.Hour + time.Duration(i)*time.Second),
					Principal: "system-attest", Role: "system", Home: "SYSTEM", Action: "attest",
					Record: fmt.Sprintf("aff-%07d", 1000000+day*7+i*11), RecordHome: "CASA-ANFA", Purpose: "attestation", Outcome: "allowed"}
				if rs := d.Observe(e); len(rs) != 0 {
					t.Fatalf("day %d, attestation %d drew %+v", day, i, rs)
				}
			}
		}
	})
	t.Run("SteadyExcessIsContained", func(t *testing.T) { // the same office, one agent at 5× from day 10
		contained := office(t, 10, 14, func(a, day int) (string, int) {
			if a == 3 && day >= 10 {
				return "CASA-ANFA", 300
			}
			return "CASA-ANFA", usual(a, day)
		})
		rs := contained["agent-03"]
		if len(rs) == 0 || rs[len(rs)-1].Response != sentinel.Suspend || rs[len(rs)-1].Time.After(signalDay.Add(12*24*time.Hour)) {
			t.Fatalf("agent at 5× its peers from day 10: containments %+v, want a suspension within two days", rs)
		}
		delete(contained, "agent-03")
		noContainment(t, contained)
	})
}

// TestSteadyProfiles: at a small size (15 days, 36 agents, 1,000 employers), every account of the
// steady profiles is suspended within 1,000 distinct records, with no honest principal contained.
func TestSteadyProfiles(t *testing.T) {
	for _, profile := range []string{"patient", "case-forger", "under-thresholds"} {
		t.Run(profile, func(t *testing.T) {
			t.Parallel()
			for _, seed := range []uint64{1, 2} {
				rep := run(t, sentinel.SimConfig{Days: 15, Agents: 36, Employers: 1000, Attack: profile, Seed: seed, Accounts: 3, Rate: 5})
				if len(rep.Attackers) != 3 {
					t.Fatalf("seed %d: %d attackers, want 3", seed, len(rep.Attackers))
				}
				for _, a := range rep.Attackers {
					if !a.Contained || a.RecordsBeforeContainment > 1000 {
						t.Errorf("seed %d: %s contained=%v after %d records, want ≤ 1,000", seed, a.Principal, a.Contained, a.RecordsBeforeContainment)
					}
				}
				if rep.FalseContainments != 0 {
					t.Errorf("seed %d: %d false containments", seed, rep.FalseContainments)
				}
			}
		})
	}
}

// TestUnderThresholds: the daily figure tracks the configuration's suspension thresholds.
func TestUnderThresholds(t *testing.T) {
	if n := sentinel.UnderThresholds(sentinel.DefaultConfig()); n != 799 {
		t.Errorf("defaults: %d a day, want 799 (one under the day's 800)", n)
	}
	c := sentinel.DefaultConfig()
	c.Volume = append(c.Volume, sentinel.WindowRule{Window: sentinel.Duration(720 * time.Hour), Levels: sentinel.Levels{Suspend: 12000}})
	if n := sentinel.UnderThresholds(c); n != 399 {
		t.Errorf("with the former 30-day suspension at 12,000: %d a day, want 399", n)
	}
}

// TestLiftEndsSustained: a principal suspended for sustained excess and lifted by a security officer
// starts afresh: its next read does not suspend it again on the excess already reviewed.
func TestLiftEndsSustained(t *testing.T) {
	d := sentinel.New(sentinel.DefaultConfig(), nil)
	for day, n := range []int{50, 50, 50, 75} {
		for i := range n {
			at := signalDay.Add(time.Duration(day)*24*time.Hour + 9*time.Hour + time.Duration(i)*4*time.Minute)
			d.Observe(agentRead(at, fmt.Sprintf("emp-%08d", 10000+day*100+i), "CASA-ANFA"))
		}
	}
	day5 := signalDay.Add(4*24*time.Hour + 7*time.Hour)
	i := 0
	for ; i < 1000 && !d.Suspended("agent-1"); i++ {
		d.Observe(agentRead(day5.Add(time.Duration(i)*time.Minute), fmt.Sprintf("emp-%08d", 50000-i), "CASA-ANFA"))
	}
	if !d.Suspended("agent-1") || d.Standing("agent-1") != sentinel.Suspend {
		t.Fatalf("not suspended after %d records on the fifth day", i)
	}
	d.Lift("agent-1")
	d.Observe(agentRead(day5.Add(time.Duration(i)*time.Minute), fmt.Sprintf("emp-%08d", 50000-i), "CASA-ANFA"))
	if d.Suspended("agent-1") {
		t.Fatal("suspended again at the first read after Lift")
	}
}

// TestConfigFileSustained: a configuration file written before the sustained signal (no sustained,
// no after_step_up) still loads, keeping their defaults; a file that sets them is read; a negative
// slack is refused.
func TestConfigFileSustained(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	old, err := sentinel.LoadConfig(write("old.json", `{"outside_home":{"alert":50,"throttle":90,"step_up":130,"suspend":210},
		"volume":[{"window":"10m","alert":60,"throttle":100,"step_up":150,"suspend":200}]}`))
	if err != nil {
		t.Fatal(err)
	}
	def := sentinel.DefaultConfig()
	if old.Sustained != def.Sustained || old.AfterStepUp != def.AfterStepUp || old.OutsideHome.Alert != 50 {
		t.Errorf("older file: sustained %+v, after_step_up %d, outside_home %+v", old.Sustained, old.AfterStepUp, old.OutsideHome)
	}
	set, err := sentinel.LoadConfig(write("new.json", `{"sustained":{"slack":1.5,"min_days":5,"floor":30,"alert":3,"throttle":4,"step_up":5,"suspend":7},"after_step_up":50}`))
	if err != nil {
		t.Fatal(err)
	}
	want := sentinel.SustainedRule{Slack: 1.5, MinDays: 5, Floor: 30, Levels: sentinel.Levels{Alert: 3, Throttle: 4, StepUp: 5, Suspend: 7}}
	if set.Sustained != want || set.AfterStepUp != 50 {
		t.Errorf("new file: sustained %+v, after_step_up %d", set.Sustained, set.AfterStepUp)
	}
	if _, err := sentinel.LoadConfig(write("bad.json", `{"sustained":{"slack":-1}}`)); err == nil {
		t.Error("a negative slack was accepted")
	}
}
