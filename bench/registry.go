// Package bench measures the registry the way `amane-bench registry` reports it: the same load and
// lookup code run once with the real vault and once with a pass-through vault, side by side in one
// run, so that the ratio says what encryption and the gate cost on this machine.
package bench

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"amane"
	"amane/bench/internal/baseline"
	"amane/gate"
	"amane/load"
	"amane/postgres"
	"amane/sqlite"
	"amane/synth"
	"amane/vault"
)

// RegistryConfig sizes the benchmark.
type RegistryConfig struct {
	Employees int
	Employers int    // default Employees/4, the breach's ratio (500,000 : 2,000,000)
	Lookups   int    // CIN lookups per mode; default 2,000
	Rounds    int    // load rounds per mode, alternating; the best of each is kept; default 2
	Seed      uint64 // synthetic data seed
	Dir       string // work directory; default a temporary one, removed after
	DB        string // postgres://…: run the stores in schemas of this database (dropped after); default SQLite in Dir
}

// ModeReport is one mode's figures.
type ModeReport struct {
	LoadRowsPerSec float64 `json:"load_rows_per_s"`
	LoadSeconds    float64 `json:"load_seconds"`
	// Lookups are timed twice over the same sample: first with the store's page cache cold (right
	// after the load), then warm.
	LookupCINP50us     float64 `json:"lookup_cin_p50_us"`
	LookupCINP99us     float64 `json:"lookup_cin_p99_us"`
	LookupCINWarmP50us float64 `json:"lookup_cin_warm_p50_us"`
	LookupCINWarmP99us float64 `json:"lookup_cin_warm_p99_us"`
	StoreBytes         int64   `json:"store_bytes"`
}

// RegistryReport is what `amane-bench registry` prints.
type RegistryReport struct {
	Employees   int        `json:"employees"`
	Employers   int        `json:"employers"`
	Rows        int        `json:"rows"`
	Encrypted   ModeReport `json:"encrypted"`
	PassThrough ModeReport `json:"pass_through"`
	// LoadRatio = encrypted rows/s ÷ pass-through rows/s (≥ 0.85 is the goal).
	LoadRatio float64 `json:"load_ratio"`
	// LookupRatio = pass-through p50 ÷ encrypted p50, cold and warm (≥ 0.85 is the goal).
	LookupRatio     float64 `json:"lookup_p50_ratio"`
	LookupWarmRatio float64 `json:"lookup_warm_p50_ratio"`
	Machine         string  `json:"machine"`
	Store           string  `json:"store"`
}

// Registry runs the benchmark.
func Registry(ctx context.Context, cfg RegistryConfig, logf func(format string, args ...any)) (*RegistryReport, error) {
	if cfg.Employers <= 0 {
		cfg.Employers = max(1, cfg.Employees/4)
	}
	if cfg.Lookups <= 0 {
		cfg.Lookups = 2000
	}
	if cfg.Rounds <= 0 {
		cfg.Rounds = 2
	}
	if cfg.Seed == 0 {
		cfg.Seed = 1
	}
	cleanup, err := workDir(&cfg.Dir, "amane-bench-")
	if err != nil {
		return nil, err
	}
	defer cleanup()
	adh, sal := filepath.Join(cfg.Dir, "ADHERENTS.csv"), filepath.Join(cfg.Dir, "SALARIES.csv")
	if err := writeFiles(ctx, cfg, adh, sal); err != nil {
		return nil, err
	}
	cins, err := sampleCINs(sal, cfg.Lookups, cfg.Seed)
	if err != nil {
		return nil, err
	}
	kr, err := newKeyring(cfg.Dir)
	if err != nil {
		return nil, err
	}
	real, err := vault.FromKeyring(kr)
	if err != nil {
		return nil, err
	}
	plain, err := baseline.Vault()
	if err != nil {
		return nil, err
	}
	modes := []struct {
		name string
		v    *vault.Vault
		rep  *ModeReport
	}{{"encrypted", real, nil}, {"pass-through", plain, nil}}
	rep := &RegistryReport{Employees: cfg.Employees, Employers: cfg.Employers,
		Machine: fmt.Sprintf("%s/%s, %d CPUs, %s", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version()), Store: "sqlite"}
	if cfg.DB != "" {
		rep.Store = "postgres"
	}
	modes[0].rep, modes[1].rep = &rep.Encrypted, &rep.PassThrough
	for round := 0; round < cfg.Rounds; round++ {
		for i := range modes {
			m := &modes[(i+round)%2] // alternate which mode goes first
			mr, rows, err := runMode(ctx, cfg, fmt.Sprintf("%s-%d", m.name, round), m.v, adh, sal, cins)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", m.name, err)
			}
			rep.Rows = rows
			if logf != nil {
				logf("round %d %s: %.0f rows/s, lookup p50 %.1f µs p99 %.1f µs (warm p50 %.1f µs p99 %.1f µs)", round+1, m.name,
					mr.LoadRowsPerSec, mr.LookupCINP50us, mr.LookupCINP99us, mr.LookupCINWarmP50us, mr.LookupCINWarmP99us)
			}
			if mr.LoadRowsPerSec > m.rep.LoadRowsPerSec {
				m.rep.LoadRowsPerSec, m.rep.LoadSeconds, m.rep.StoreBytes = mr.LoadRowsPerSec, mr.LoadSeconds, mr.StoreBytes
			}
			if m.rep.LookupCINP50us == 0 || mr.LookupCINP50us < m.rep.LookupCINP50us {
				m.rep.LookupCINP50us, m.rep.LookupCINP99us = mr.LookupCINP50us, mr.LookupCINP99us
			}
			if m.rep.LookupCINWarmP50us == 0 || mr.LookupCINWarmP50us < m.rep.LookupCINWarmP50us {
				m.rep.LookupCINWarmP50us, m.rep.LookupCINWarmP99us = mr.LookupCINWarmP50us, mr.LookupCINWarmP99us
			}
		}
	}
	rep.LoadRatio = rep.Encrypted.LoadRowsPerSec / rep.PassThrough.LoadRowsPerSec
	rep.LookupRatio = rep.PassThrough.LookupCINP50us / rep.Encrypted.LookupCINP50us
	rep.LookupWarmRatio = rep.PassThrough.LookupCINWarmP50us / rep.Encrypted.LookupCINWarmP50us
	return rep, nil
}

func writeFiles(ctx context.Context, cfg RegistryConfig, adh, sal string) error {
	a, err := os.Create(adh)
	if err != nil {
		return err
	}
	defer a.Close()
	s, err := os.Create(sal)
	if err != nil {
		return err
	}
	defer s.Close()
	return synth.Write(ctx, synth.Config{Employers: cfg.Employers, Employees: cfg.Employees, Seed: cfg.Seed}, a, s, nil)
}

// sampleCINs picks n CINs of SALARIES.csv at random (with a fixed seed).
func sampleCINs(path string, n int, seed uint64) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.ReuseRecord = true
	var all []string
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		} else if err != nil {
			return nil, err
		}
		if rec[1] != "" && rec[1] != "cin" {
			all = append(all, rec[1])
		}
	}
	rng := rand.New(rand.NewPCG(seed, 7))
	out := make([]string, n)
	for i := range out {
		out[i] = all[rng.IntN(len(all))]
	}
	return out, nil
}

func newKeyring(dir string) (*vault.Keyring, error) {
	path := filepath.Join(dir, "keyring.json")
	pass := []byte("bench-only passphrase, not a secret")
	if err := vault.CreateKeyring(path, pass); err != nil {
		return nil, err
	}
	return vault.OpenKeyring(path, pass)
}

func runMode(ctx context.Context, cfg RegistryConfig, name string, v *vault.Vault, adh, sal string, cins []string) (*ModeReport, int, error) {
	dbDir := filepath.Join(cfg.Dir, name)
	if err := os.MkdirAll(dbDir, 0o700); err != nil {
		return nil, 0, err
	}
	defer os.RemoveAll(dbDir)
	st, size, closeStore, err := openStore(ctx, cfg, name, dbDir)
	if err != nil {
		return nil, 0, err
	}
	defer closeStore()
	// What encryption costs: both modes run the same gate, whose journal keeps nothing (the journal's
	// cost is `amane-bench gate`'s), and differ only in the vault's primitives (bench/internal/baseline).
	g := gate.New(st, v).UseJournal(baseline.Journal{}, nil)
	ctx = amane.NewContextWithPrincipal(ctx, &amane.Principal{ID: "bench", Role: amane.RoleSystem})
	af, err := os.Open(adh)
	if err != nil {
		return nil, 0, err
	}
	defer af.Close()
	sf, err := os.Open(sal)
	if err != nil {
		return nil, 0, err
	}
	defer sf.Close()
	runtime.GC()
	start := time.Now()
	res, err := load.Load(ctx, st, g, &load.Source{Name: "ADHERENTS.csv", R: af}, &load.Source{Name: "SALARIES.csv", R: sf}, load.Options{})
	if err != nil {
		return nil, 0, err
	}
	elapsed := time.Since(start)
	mr := &ModeReport{LoadSeconds: elapsed.Seconds(), LoadRowsPerSec: float64(res.Rows) / elapsed.Seconds()}
	if mr.StoreBytes, err = size(); err != nil {
		return nil, 0, err
	}
	for pass := 0; pass < 2; pass++ {
		p50, p99, err := lookups(ctx, g, cins)
		if err != nil {
			return nil, 0, err
		}
		if pass == 0 {
			mr.LookupCINP50us, mr.LookupCINP99us = p50, p99
		} else {
			mr.LookupCINWarmP50us, mr.LookupCINWarmP99us = p50, p99
		}
	}
	return mr, res.Rows, nil
}

// openStore opens an empty store for one mode: SQLite in dir, or a PostgreSQL schema of its own.
func openStore(ctx context.Context, cfg RegistryConfig, name, dir string) (benchStore, func() (int64, error), func(), error) {
	if cfg.DB == "" {
		st, err := sqlite.Open(ctx, filepath.Join(dir, "amane.db"))
		if err != nil {
			return nil, nil, nil, err
		}
		size := func() (n int64, err error) {
			for _, f := range []string{"amane.db", "amane.db-wal", "amane.journal.db", "amane.journal.db-wal"} {
				if fi, err := os.Stat(filepath.Join(dir, f)); err == nil {
					n += fi.Size()
				}
			}
			return n, nil
		}
		return st, size, func() { st.Close() }, nil
	}
	url, drop, err := postgres.NewSchema(ctx, cfg.DB, "amane_bench_"+strings.ReplaceAll(name, "-", "_"))
	if err != nil {
		return nil, nil, nil, err
	}
	st, err := postgres.Open(ctx, url)
	if err != nil {
		drop()
		return nil, nil, nil, err
	}
	return st, func() (int64, error) { return st.Size(ctx) }, func() { st.Close(); drop() }, nil
}

// lookups times one EmployeesByCIN per CIN and returns the median and 99th percentile in µs.
func lookups(ctx context.Context, g *gate.Gate, cins []string) (p50, p99 float64, err error) {
	lat := make([]time.Duration, len(cins))
	for i, c := range cins {
		t := time.Now()
		found, err := g.EmployeesByCIN(ctx, c)
		lat[i] = time.Since(t)
		if err != nil {
			return 0, 0, err
		}
		if len(found) != 1 {
			return 0, 0, fmt.Errorf("lookup by CIN found %d people, want 1", len(found))
		}
	}
	slices.Sort(lat)
	us := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 }
	return us(lat[len(lat)/2]), us(lat[len(lat)*99/100]), nil
}

// workDir makes *dir a fresh temporary directory when it is empty; cleanup removes what it made.
func workDir(dir *string, prefix string) (cleanup func(), err error) {
	if *dir != "" {
		return func() {}, nil
	}
	d, err := os.MkdirTemp("", prefix)
	if err != nil {
		return nil, err
	}
	*dir = d
	return func() { os.RemoveAll(d) }, nil
}
