package bench_test

import (
	"context"
	"testing"
	"time"

	"amane/bench"
	"amane/postgres/pgtest"
)

// TestJournalSmall runs `amane-bench journal` at a small size on both stores and checks the report
// holds sane figures (every proof was checked by the benchmark itself). No timing is asserted.
func TestJournalSmall(t *testing.T) {
	for _, store := range []string{"sqlite", "postgres"} {
		t.Run(store, func(t *testing.T) {
			cfg := bench.JournalConfig{Entries: 2000, AppendDuration: 300 * time.Millisecond, Proofs: 50, Dir: t.TempDir()}
			if store == "postgres" {
				cfg.DB = pgtest.Database(t)
			}
			rep, err := bench.Journal(context.Background(), cfg, t.Logf)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Store != store || rep.Entries != 2000 || rep.FillStopped || rep.FillPerSec <= 0 || rep.EntryBytes < 100 {
				t.Fatalf("fill: %+v", rep)
			}
			for name, tm := range map[string]bench.Timing{"append_1": rep.Append1, "append_16": rep.Append16} {
				if tm.Count == 0 || tm.PerSec <= 0 || tm.P50us <= 0 || tm.P99us < tm.P50us {
					t.Errorf("%s: %+v", name, tm)
				}
			}
			if rep.Append16.Count < 16 {
				t.Errorf("16 callers appended %d entries", rep.Append16.Count)
			}
			for name, tm := range map[string]bench.Timing{"checkpoint": rep.Checkpoint, "prove inclusion": rep.ProveInclusion,
				"check inclusion": rep.CheckInclusion, "prove consistency": rep.ProveConsistency, "check consistency": rep.CheckConsistency} {
				if tm.Count == 0 || tm.P50us <= 0 {
					t.Errorf("%s: %+v", name, tm)
				}
			}
			if rep.ProveInclusion.Count != 50 || rep.CheckInclusion.Count != 50 {
				t.Errorf("%d inclusion proofs made, %d checked; want 50", rep.ProveInclusion.Count, rep.CheckInclusion.Count)
			}
			if analyzed := rep.ProveInclusionUnanalyzed != nil; analyzed != (store == "postgres") || analyzed && (rep.ProveInclusionUnanalyzed.Count == 0 || rep.AnalyzeSeconds <= 0) {
				t.Errorf("before ANALYZE: %+v, %.3f s", rep.ProveInclusionUnanalyzed, rep.AnalyzeSeconds)
			}
			if rep.InclusionHashes != 11 { // ⌈log2 2000⌉
				t.Errorf("an inclusion proof in a tree of 2,000 holds %d hashes", rep.InclusionHashes)
			}
			want := rep.Entries + int64(rep.Append1.Count+rep.Append16.Count+rep.Checkpoint.Count)
			if rep.FinalSize != want {
				t.Errorf("final size %d, want %d", rep.FinalSize, want)
			}
			if rep.StoreBytes <= 0 || rep.BytesPerEntry < rep.EntryBytes {
				t.Errorf("store %d bytes, %.0f per entry of %.0f bytes", rep.StoreBytes, rep.BytesPerEntry, rep.EntryBytes)
			}
		})
	}
}
