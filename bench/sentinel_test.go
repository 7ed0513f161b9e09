package bench_test

import (
	"context"
	"testing"
	"time"

	"amane/bench"
	"amane/postgres/pgtest"
	"amane/sentinel"
)

// TestSentinelSmall runs `amane-bench sentinel` at a tiny size on both stores and checks the report:
// every generated event went through the detector, every gate call succeeded in every mode, no bench
// principal drew a response, and the figures are sane. No timing is asserted.
func TestSentinelSmall(t *testing.T) {
	for _, store := range []string{"sqlite", "postgres"} {
		t.Run(store, func(t *testing.T) {
			cfg := bench.SentinelConfig{Days: 3, Agents: 12, SimEmployers: 100, Attacks: []string{"cnss-2024", "none"},
				Employees: 300, GateAgents: 8, RecordsPerAgent: 5, Duration: 100 * time.Millisecond, Rounds: 2,
				Concurrency: []int{1, 4}, Seed: 3, Dir: t.TempDir()}
			if store == "postgres" {
				cfg.DB = pgtest.Database(t)
			}
			rep, err := bench.Sentinel(context.Background(), cfg, t.Logf)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Store != store || len(rep.Detector) != 2 {
				t.Fatalf("report %+v", rep)
			}
			for i, d := range rep.Detector {
				events, _, err := sentinel.Simulate(sentinel.SimConfig{Days: 3, Agents: 12, Employers: 100, Attack: cfg.Attacks[i], Seed: 3})
				if err != nil {
					t.Fatal(err)
				}
				n := 0
				for range events {
					n++
				}
				if d.Attack != cfg.Attacks[i] || d.Events != n || n == 0 || d.Principals == 0 || d.Seconds <= 0 || d.EventsPerSec <= 0 ||
					d.NsPerEvent <= 0 || d.HeapInuseBytes == 0 || d.EventsContained > d.Events {
					t.Errorf("detector: %d events generated, report %+v", n, d)
				}
			}
			if rep.Detector[0].Responses["suspend"] != 1 || rep.Detector[0].EventsContained == 0 {
				t.Errorf("cnss-2024: the attacker was not suspended: %+v", rep.Detector[0])
			}
			if len(rep.Gate.Runs) != 2 {
				t.Fatalf("gate: %+v", rep.Gate)
			}
			for _, r := range rep.Gate.Runs {
				for name, m := range map[string]bench.SentinelGateMode{"off": r.Off, "on-empty": r.OnEmpty, "on-default": r.OnDefault} {
					if m.Errors != 0 {
						t.Errorf("%d goroutines, %s: %d errors, first: %s", r.Goroutines, name, m.Errors, m.FirstError)
					}
					if m.Calls < int64(r.Goroutines) || m.CallsPerSec <= 0 || m.P50us <= 0 || m.P99us < m.P50us || m.MaxUs < m.P99us {
						t.Errorf("%d goroutines, %s: %+v", r.Goroutines, name, m)
					}
					if name != "off" && (m.Observe == nil || int64(m.Observe.Count) != m.Calls || m.Observe.P99us < m.Observe.P50us) {
						t.Errorf("%d goroutines, %s: %d calls, Observe timed %+v", r.Goroutines, name, m.Calls, m.Observe)
					}
					if len(m.Responses) != 0 {
						t.Errorf("%d goroutines, %s: the sentinel responded to the bench agents: %v", r.Goroutines, name, m.Responses)
					}
				}
				if r.ThroughputRatio <= 0 || r.ThroughputRatioEmpty <= 0 || len(r.RoundsCallsPerSecOff) != 2 {
					t.Errorf("%d goroutines: %+v", r.Goroutines, r)
				}
				if r.AddedP50us != r.OnDefault.P50us-r.Off.P50us {
					t.Errorf("%d goroutines: added p50 %v", r.Goroutines, r.AddedP50us)
				}
			}
		})
	}
}
