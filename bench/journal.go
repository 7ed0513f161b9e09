package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"amane/journal"
	"amane/postgres"

	"github.com/jackc/pgx/v5"
)

// JournalConfig sizes `amane-bench journal`.
type JournalConfig struct {
	Entries int64 // entries to fill the journal with before measuring; default 10,000,000
	// FillTimeout stops the fill early (0: none); the measurements then run at the size reached, which
	// the report gives (Entries vs Requested).
	FillTimeout    time.Duration
	Fillers        int           // goroutines calling AppendAll during the fill; default 4
	AppendDuration time.Duration // how long single-entry appends are timed, per concurrency; default 5 s
	Proofs         int           // inclusion proofs timed, at random indexes; default 1,000
	Seed           uint64
	Dir            string // work directory; default a temporary one, removed after
	DB             string // postgres://…: the journal in a schema of this database (dropped after); default SQLite in Dir
}

// Timing is a series of timed operations.
type Timing struct {
	Count  int     `json:"count"`
	PerSec float64 `json:"per_s,omitempty"` // operations (entries) per second of wall time, for concurrent series
	P50us  float64 `json:"p50_us"`
	P99us  float64 `json:"p99_us"`
	MaxUs  float64 `json:"max_us"`
}

// JournalReport is what `amane-bench journal` prints.
type JournalReport struct {
	Requested int64 `json:"requested_entries"`
	// Entries is the size the fill reached (Requested unless FillTimeout stopped it).
	Entries     int64   `json:"entries"`
	FillStopped bool    `json:"fill_stopped,omitempty"`
	FillSeconds float64 `json:"fill_seconds"`
	// FillPerSec is the bulk append rate: entries/s through journal.Journal.AppendAll (batches of
	// 4,096 from Fillers goroutines, group commit, every tlog hash computed and stored).
	FillPerSec float64 `json:"fill_entries_per_s"`
	EntryBytes float64 `json:"entry_bytes"` // mean encoded entry size
	// Single-entry Append (each caller waits for its commit) on top of Entries, 1 and 16 callers.
	Append1  Timing `json:"append_1"`
	Append16 Timing `json:"append_16"`
	// Checkpoint: sign the tree head after one more entry, store it, fsync the witness file.
	Checkpoint Timing `json:"checkpoint"`
	// Proofs, against the latest checkpoint (inclusion) or from a checkpoint taken during the fill
	// to the latest (consistency); Check* is journal.CheckProof of their JSON, offline.
	ProveInclusion Timing `json:"prove_inclusion"`
	// PostgreSQL only: proofs timed right after the fill, before ANALYZE gives the planner statistics,
	// and how long that ANALYZE took (the other figures are measured after it).
	ProveInclusionUnanalyzed *Timing `json:"prove_inclusion_before_analyze,omitempty"`
	AnalyzeSeconds           float64 `json:"analyze_seconds,omitempty"`
	CheckInclusion           Timing  `json:"check_inclusion"`
	InclusionHashes          int     `json:"inclusion_proof_hashes"` // of entry 0, the longest
	ProveConsistency         Timing  `json:"prove_consistency"`
	CheckConsistency         Timing  `json:"check_consistency"`
	FinalSize                int64   `json:"final_size"`
	StoreBytes               int64   `json:"store_bytes"`
	BytesPerEntry            float64 `json:"store_bytes_per_entry"`
	Machine                  string  `json:"machine"`
	Store                    string  `json:"store"`
}

// Journal runs the journal benchmark.
func Journal(ctx context.Context, cfg JournalConfig, logf func(format string, args ...any)) (*JournalReport, error) {
	if logf == nil {
		logf = func(string, ...any) {}
	}
	if cfg.Entries <= 0 {
		cfg.Entries = 10_000_000
	}
	if cfg.Fillers <= 0 {
		cfg.Fillers = 4
	}
	if cfg.AppendDuration <= 0 {
		cfg.AppendDuration = 5 * time.Second
	}
	if cfg.Proofs <= 0 {
		cfg.Proofs = 1000
	}
	if cfg.Seed == 0 {
		cfg.Seed = 1
	}
	cleanup, err := workDir(&cfg.Dir, "amane-bench-journal-")
	if err != nil {
		return nil, err
	}
	defer cleanup()
	rep := &JournalReport{Requested: cfg.Entries, Machine: machine(), Store: storeName(cfg.DB)}
	dbDir := filepath.Join(cfg.Dir, "journal")
	if err := os.MkdirAll(dbDir, 0o700); err != nil {
		return nil, err
	}
	st, size, closeStore, analyze, err := openJournalStore(ctx, cfg.DB, fmt.Sprintf("journal_%d", os.Getpid()), dbDir)
	if err != nil {
		return nil, err
	}
	defer closeStore()
	js := st
	signer, verifier, err := journal.LoadKeys(cfg.Dir)
	if err != nil {
		return nil, err
	}
	j, err := journal.Open(ctx, js, signer, verifier, filepath.Join(cfg.Dir, journal.WitnessFile))
	if err != nil {
		return nil, err
	}
	defer func() {
		if j != nil {
			j.Close()
		}
	}()

	// Fill.
	if err := fill(ctx, j, cfg, rep, logf); err != nil {
		return nil, fmt.Errorf("fill: %w", err)
	}
	if _, err := j.Checkpoint(ctx); err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, 11))
	if analyze != nil {
		// PostgreSQL plans with the statistics autovacuum gathers; a journal filled in minutes has none
		// yet (or never, where autovacuum is off). Time a few proofs as the fill leaves it, then
		// ANALYZE, as autovacuum would, and measure the rest with statistics.
		before, err := timeEach(min(cfg.Proofs, 20), func(int) error {
			_, err := journal.ProveInclusion(ctx, js, rng.Int64N(rep.Entries))
			return err
		})
		rep.ProveInclusionUnanalyzed = &before
		if err != nil {
			return nil, fmt.Errorf("prove inclusion: %w", err)
		}
		t := time.Now()
		if err := analyze(); err != nil {
			return nil, fmt.Errorf("analyze: %w", err)
		}
		rep.AnalyzeSeconds = time.Since(t).Seconds()
		logf("before ANALYZE: prove inclusion p50 %.0f µs; ANALYZE %.1f s", rep.ProveInclusionUnanalyzed.P50us, rep.AnalyzeSeconds)
	}

	// Inclusion proofs at the filled size, then their offline check.
	var proofs [][]byte
	rep.ProveInclusion, err = timeEach(cfg.Proofs, func(i int) error {
		idx := rng.Int64N(rep.Entries)
		if i == 0 {
			idx = 0 // the longest proof: ⌈log2 size⌉ hashes
		}
		p, err := journal.ProveInclusion(ctx, js, idx)
		if err != nil {
			return err
		}
		if i == 0 {
			rep.InclusionHashes = len(p.Proof)
		}
		b, err := json.Marshal(p)
		proofs = append(proofs, b)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("prove inclusion: %w", err)
	}
	rep.CheckInclusion, err = timeEach(len(proofs), func(i int) error { return journal.CheckProof(proofs[i], verifier) })
	if err != nil {
		return nil, fmt.Errorf("check inclusion: %w", err)
	}
	logf("at %d entries: prove inclusion p50 %.0f µs p99 %.0f µs (%d hashes), check p50 %.0f µs",
		rep.Entries, rep.ProveInclusion.P50us, rep.ProveInclusion.P99us, rep.InclusionHashes, rep.CheckInclusion.P50us)

	// Single-entry appends on top of the filled journal.
	for _, c := range []struct {
		n int
		t *Timing
	}{{1, &rep.Append1}, {16, &rep.Append16}} {
		if *c.t, err = appendFor(ctx, j, c.n, cfg.AppendDuration); err != nil {
			return nil, fmt.Errorf("append ×%d: %w", c.n, err)
		}
		logf("append, %d caller(s): %.0f entries/s, p50 %.0f µs p99 %.0f µs", c.n, c.t.PerSec, c.t.P50us, c.t.P99us)
	}

	// Checkpoints: one entry, then sign. (The journal's own loop signs once a second too; a sample
	// it wins costs next to nothing and falls below the median.)
	e := benchEntry(0)
	rep.Checkpoint, err = timeEachSetup(50, func(int) error {
		_, err := j.Append(ctx, e)
		return err
	}, func(int) error {
		_, err := j.Checkpoint(ctx)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	logf("checkpoint p50 %.0f µs p99 %.0f µs", rep.Checkpoint.P50us, rep.Checkpoint.P99us)

	// Consistency proofs from checkpoints signed during the fill to the latest.
	cps, err := js.Checkpoints(ctx)
	if err != nil {
		return nil, err
	}
	latest := cps[len(cps)-1].Size
	var olds []int64
	for _, cp := range cps {
		if cp.Size < latest {
			olds = append(olds, cp.Size)
		}
	}
	if len(olds) > 0 {
		proofs = proofs[:0]
		rep.ProveConsistency, err = timeEach(min(cfg.Proofs, 200), func(i int) error {
			p, err := journal.ProveConsistency(ctx, js, olds[rng.IntN(len(olds))], latest)
			if err != nil {
				return err
			}
			b, err := json.Marshal(p)
			proofs = append(proofs, b)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("prove consistency: %w", err)
		}
		rep.CheckConsistency, err = timeEach(len(proofs), func(i int) error { return journal.CheckProof(proofs[i], verifier) })
		if err != nil {
			return nil, fmt.Errorf("check consistency: %w", err)
		}
		logf("consistency (%d checkpoints): prove p50 %.0f µs p99 %.0f µs, check p50 %.0f µs", len(cps),
			rep.ProveConsistency.P50us, rep.ProveConsistency.P99us, rep.CheckConsistency.P50us)
	}

	err = j.Close()
	j = nil
	if err != nil {
		return nil, err
	}
	if rep.FinalSize, err = js.JournalSize(ctx); err != nil {
		return nil, err
	}
	if rep.StoreBytes, err = size(); err != nil {
		return nil, err
	}
	rep.BytesPerEntry = float64(rep.StoreBytes) / float64(rep.FinalSize)
	return rep, nil
}

// openJournalStore opens an empty store for the journal benchmark: SQLite in dir, or a PostgreSQL
// schema of its own, with a function that runs ANALYZE on its journal tables (nil for SQLite).
func openJournalStore(ctx context.Context, db, name, dir string) (benchStore, func() (int64, error), func(), func() error, error) {
	if db == "" {
		st, size, closeStore, err := openStore(ctx, RegistryConfig{}, name, dir)
		return st, size, closeStore, nil, err
	}
	url, drop, err := postgres.NewSchema(ctx, db, "amane_bench_"+name)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	st, err := postgres.Open(ctx, url)
	if err != nil {
		drop()
		return nil, nil, nil, nil, err
	}
	analyze := func() error {
		c, err := pgx.Connect(ctx, url)
		if err != nil {
			return err
		}
		defer c.Close(ctx)
		_, err = c.Exec(ctx, `ANALYZE journal_entries, journal_hashes, journal_checkpoints`)
		return err
	}
	return st, func() (int64, error) { return st.Size(ctx) }, func() { st.Close(); drop() }, analyze, nil
}

// fill appends cfg.Entries entries (less those already there) with AppendAll batches of
// journal.MaxBatch from cfg.Fillers goroutines.
func fill(ctx context.Context, j *journal.Journal, cfg JournalConfig, rep *JournalReport, logf func(string, ...any)) error {
	const batch = journal.MaxBatch
	start := time.Now()
	var deadline time.Time
	if cfg.FillTimeout > 0 {
		deadline = start.Add(cfg.FillTimeout)
	}
	first := j.Size()
	var next atomic.Int64 // the next entry number to hand out
	next.Store(first)
	var meanBytes atomic.Uint64
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, cfg.Fillers)
	var wg sync.WaitGroup
	for range cfg.Fillers {
		wg.Go(func() {
			es := make([]journal.Entry, 0, batch)
			for {
				if !deadline.IsZero() && time.Now().After(deadline) {
					return
				}
				from := next.Add(batch) - batch
				if from >= cfg.Entries {
					return
				}
				es = es[:0]
				for i := from; i < min(from+batch, cfg.Entries); i++ {
					es = append(es, benchEntry(i))
				}
				if err := j.AppendAll(ctx, es); err != nil {
					errc <- err
					cancel()
					return
				}
				if from == first { // the mean encoded size, from the first batch
					var n int
					for i := range es {
						b, _ := es[i].Encode()
						n += len(b)
					}
					meanBytes.Store(math.Float64bits(float64(n) / float64(len(es))))
				}
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	tick := time.NewTicker(10 * time.Second)
	defer tick.Stop()
	last, lastT := first, start
progress:
	for {
		select {
		case <-done:
			break progress
		case now := <-tick.C:
			n := j.Size()
			logf("fill: %d entries, %.0f entries/s (last 10 s %.0f)", n, float64(n-first)/now.Sub(start).Seconds(),
				float64(n-last)/now.Sub(lastT).Seconds())
			last, lastT = n, now
		}
	}
	close(errc)
	if err := <-errc; err != nil {
		return err
	}
	el := time.Since(start)
	rep.Entries = j.Size()
	rep.FillStopped = rep.Entries < cfg.Entries
	rep.FillSeconds = el.Seconds()
	rep.FillPerSec = float64(rep.Entries-first) / el.Seconds()
	rep.EntryBytes = math.Float64frombits(meanBytes.Load())
	logf("fill: %d entries in %.1f s, %.0f entries/s", rep.Entries, rep.FillSeconds, rep.FillPerSec)
	if rep.Entries == 0 {
		return errors.New("no entry appended")
	}
	return nil
}

// benchEntry is entry i as the gate writes one for an operator's read of an insured person.
func benchEntry(i int64) journal.Entry {
	return journal.Entry{Principal: "operator:5be1c0a2f4d3", Role: "operator", Action: "read",
		Record: fmt.Sprintf("employee/%d", 1+i%2_000_000), Fields: []string{"imm", "nom", "prenom"},
		Purpose: "dossier", Reference: "DOS-2026/0001", Outcome: journal.Allowed, Reason: "national",
		RequestID: fmt.Sprintf("%032x", uint64(i)*0x9e3779b97f4a7c15)}
}

// appendFor runs callers goroutines appending one entry at a time for d.
func appendFor(ctx context.Context, j *journal.Journal, callers int, d time.Duration) (Timing, error) {
	var mu sync.Mutex
	var all []time.Duration
	var firstErr error
	start := time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for c := range callers {
		wg.Go(func() {
			var lat []time.Duration
			for i := int64(0); time.Now().Before(deadline); i++ {
				t := time.Now()
				_, err := j.Append(ctx, benchEntry(int64(c)<<32|i))
				lat = append(lat, time.Since(t))
				if err != nil {
					mu.Lock()
					firstErr = cmp(firstErr, err)
					mu.Unlock()
					return
				}
			}
			mu.Lock()
			all = append(all, lat...)
			mu.Unlock()
		})
	}
	wg.Wait()
	el := time.Since(start)
	if firstErr != nil {
		return Timing{}, firstErr
	}
	t := timing(all)
	t.PerSec = float64(len(all)) / el.Seconds()
	return t, nil
}

func cmp(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// timeEach times fn(0..n-1), one after the other.
func timeEach(n int, fn func(i int) error) (Timing, error) {
	return timeEachSetup(n, nil, fn)
}

// timeEachSetup times fn(i) after an untimed setup(i), for i in 0..n-1.
func timeEachSetup(n int, setup, fn func(i int) error) (Timing, error) {
	lat := make([]time.Duration, 0, n)
	for i := range n {
		if setup != nil {
			if err := setup(i); err != nil {
				return Timing{}, err
			}
		}
		t := time.Now()
		err := fn(i)
		lat = append(lat, time.Since(t))
		if err != nil {
			return Timing{}, err
		}
	}
	return timing(lat), nil
}

// timing sorts lat and sums it up.
func timing(lat []time.Duration) Timing {
	if len(lat) == 0 {
		return Timing{}
	}
	slices.Sort(lat)
	return Timing{Count: len(lat), P50us: us(lat[len(lat)/2]), P99us: us(lat[len(lat)*99/100]), MaxUs: us(lat[len(lat)-1])}
}

func us(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 }

func machine() string {
	return fmt.Sprintf("%s/%s, %d CPUs, %s", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version())
}

func storeName(db string) string {
	if db != "" {
		return "postgres"
	}
	return "sqlite"
}
