package bench_test

import (
	"context"
	"testing"
	"time"

	"amane/bench"
	"amane/postgres/pgtest"
)

// TestGateSmall runs `amane-bench gate` at a small size on both stores and checks the report: no
// request failed (each client also checked its first answer: the person asked, CIN masked), both
// modes served, and the gated mode journaled exactly one entry per request, the ungated none. No
// timing is asserted.
func TestGateSmall(t *testing.T) {
	for _, store := range []string{"sqlite", "postgres"} {
		t.Run(store, func(t *testing.T) {
			cfg := bench.GateConfig{Employees: 300, Conns: 4, Duration: 300 * time.Millisecond, Rounds: 2, Dir: t.TempDir()}
			if store == "postgres" {
				cfg.DB = pgtest.Database(t)
			}
			rep, err := bench.Gate(context.Background(), cfg, t.Logf)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Store != store || rep.Employees != 300 || rep.Employers != 75 {
				t.Fatalf("report %+v", rep)
			}
			for name, m := range map[string]bench.GateMode{"gated": rep.Gated, "ungated": rep.Ungated} {
				if m.Errors != 0 {
					t.Errorf("%s: %d errors, first: %s", name, m.Errors, m.FirstError)
				}
				if m.Requests < int64(cfg.Conns) || m.RequestsPerSec <= 0 || m.P50us <= 0 || m.P99us < m.P50us || len(m.Rounds) != 2 {
					t.Errorf("%s: %+v", name, m)
				}
			}
			if rep.Gated.JournalEntries != rep.Gated.Requests || rep.Gated.EntriesPerRequest != 1 {
				t.Errorf("gated: %d requests journaled %d entries", rep.Gated.Requests, rep.Gated.JournalEntries)
			}
			if rep.Ungated.JournalEntries != 0 {
				t.Errorf("ungated: %d requests journaled %d entries", rep.Ungated.Requests, rep.Ungated.JournalEntries)
			}
			if rep.JournalSize < rep.Gated.Requests || rep.JournalEntryBytes < 100 || rep.ThroughputRatio <= 0 || rep.P99Ratio <= 0 {
				t.Errorf("report %+v", rep)
			}
		})
	}
}
