package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"time"

	"amane"
	"amane/bench/internal/baseline"
	"amane/damancom"
	"amane/gate"
	"amane/load"
	"amane/synth"
	"amane/vault"
)

// DeclarationsConfig sizes `amane-bench declarations`.
type DeclarationsConfig struct {
	Employees int
	Employers int    // default Employees/4
	Period    string // the last month declared; default the month before the current one
	Months    int    // months ingested one after the other (default 2: the first creates every person's history key)
	Seed      uint64
	Dir       string
	DB        string
	Workers   int // load.DeclarationOptions.Workers
	Batch     int // load.DeclarationOptions.Batch
	// CPUProfile, if set, receives a CPU profile of the encrypted mode's last month.
	CPUProfile string
}

// DeclarationsMode is one mode's figures, one entry per month ingested.
type DeclarationsMode struct {
	Seconds     []float64 `json:"seconds"`
	LinesPerSec []float64 `json:"lines_per_s"`
	StoreBytes  int64     `json:"store_bytes_after"`
}

// DeclarationsReport is what `amane-bench declarations` prints.
type DeclarationsReport struct {
	Employees    int      `json:"employees"`
	Employers    int      `json:"employers"`
	Periods      []string `json:"periods"`
	Declarations int64    `json:"declarations"`
	Lines        int64    `json:"lines"`
	FileBytes    int64    `json:"file_bytes"`
	// ParseMBPerSec is SplitBulk + the Damancom decoder alone over the bulk file, one goroutine.
	ParseMBPerSec float64          `json:"parse_mb_per_s"`
	Encrypted     DeclarationsMode `json:"encrypted"`
	PassThrough   DeclarationsMode `json:"pass_through"`
	// Ratio = encrypted lines/s ÷ pass-through lines/s per month (the goal is ≥ 0.85).
	Ratio   []float64 `json:"ratio"`
	Machine string    `json:"machine"`
	Store   string    `json:"store"`
}

// Declarations runs the benchmark: a synthetic registry and one month of its declarations (one bulk
// Damancom file); the registry loaded into two stores, one with the real vault and one pass-through;
// the month ingested into each through the gate with its journal, as `amane declare` does.
func Declarations(ctx context.Context, cfg DeclarationsConfig, logf func(format string, args ...any)) (*DeclarationsReport, error) {
	if cfg.Employers <= 0 {
		cfg.Employers = max(1, cfg.Employees/4)
	}
	if cfg.Seed == 0 {
		cfg.Seed = 1
	}
	if cfg.Period == "" {
		cfg.Period = amane.PeriodOf(time.Now().UTC().AddDate(0, -1, 0))
	}
	if cfg.Months <= 0 {
		cfg.Months = 2
	}
	last, err := amane.ParsePeriod(cfg.Period)
	if err != nil {
		return nil, err
	}
	periods := make([]string, cfg.Months)
	for i := range periods {
		periods[i] = amane.PeriodOf(last.AddDate(0, i-cfg.Months+1, 0))
	}
	cleanup, err := workDir(&cfg.Dir, "amane-bench-decl-")
	if err != nil {
		return nil, err
	}
	defer cleanup()
	rep := &DeclarationsReport{Employees: cfg.Employees, Employers: cfg.Employers, Periods: periods, Machine: machine(), Store: storeName(cfg.DB)}
	adh, sal := filepath.Join(cfg.Dir, "ADHERENTS.csv"), filepath.Join(cfg.Dir, "SALARIES.csv")
	if err := writeFiles(ctx, RegistryConfig{Employees: cfg.Employees, Employers: cfg.Employers, Seed: cfg.Seed}, adh, sal); err != nil {
		return nil, err
	}
	var bulks []string
	for _, p := range periods {
		bulk := filepath.Join(cfg.Dir, "DS_BULK_"+p+".txt")
		if err := writeMonth(ctx, adh, sal, bulk, p, cfg.Seed); err != nil {
			return nil, err
		}
		bulks = append(bulks, bulk)
	}
	logf("wrote the registry and %d months of declarations", len(bulks))

	// The decoder alone, on the last month.
	runtime.GC()
	start := time.Now()
	n, lines, size, err := parseBulk(bulks[len(bulks)-1])
	if err != nil {
		return nil, err
	}
	rep.ParseMBPerSec = float64(size) / 1e6 / time.Since(start).Seconds()
	rep.Declarations, rep.Lines, rep.FileBytes = n, lines, size
	logf("parsed %d declarations, %d lines, %.0f MB at %.0f MB/s", n, lines, float64(size)/1e6, rep.ParseMBPerSec)

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
	for _, m := range []struct {
		name string
		v    *vault.Vault
		out  *DeclarationsMode
	}{{"encrypted", real, &rep.Encrypted}, {"pass-through", plain, &rep.PassThrough}} {
		if err := declareMode(ctx, cfg, m.name, m.v, adh, sal, bulks, m.out, logf); err != nil {
			return nil, fmt.Errorf("%s: %w", m.name, err)
		}
	}
	for i := range periods {
		rep.Ratio = append(rep.Ratio, rep.Encrypted.LinesPerSec[i]/rep.PassThrough.LinesPerSec[i])
	}
	return rep, nil
}

func writeMonth(ctx context.Context, adh, sal, out, period string, seed uint64) error {
	a, err := os.Open(adh)
	if err != nil {
		return err
	}
	defer a.Close()
	s, err := os.Open(sal)
	if err != nil {
		return err
	}
	defer s.Close()
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	if err := synth.WriteDeclarations(ctx, a, s, []string{period}, seed, func(string) (io.Writer, error) { return w, nil }, nil); err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return f.Close()
}

func parseBulk(path string) (n, lines, size int64, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, 0, err
	}
	defer f.Close()
	err = damancom.SplitBulk(f, func(b []byte, _ int, _ bool) error {
		d, err := damancom.DecodeDeclaration(bytes.NewReader(b))
		if err != nil {
			return err
		}
		n++
		lines += int64(len(d.Lines) + len(d.New))
		size += int64(len(b))
		return nil
	})
	return n, lines, size, err
}

func declareMode(ctx context.Context, cfg DeclarationsConfig, name string, v *vault.Vault, adh, sal string, bulks []string, out *DeclarationsMode, logf func(string, ...any)) error {
	st, _, size, closeStore, err := loadedStore(ctx, cfg.Dir, cfg.DB, "decl_"+name, v, adh, sal)
	if err != nil {
		return err
	}
	defer closeStore()
	logf("%s: registry loaded", name)
	j, js, err := openJournal(ctx, st, filepath.Join(cfg.Dir, "decl_"+name), nil)
	if err != nil {
		return err
	}
	defer j.Close()
	g := gate.New(st, v).UseJournal(j, js)
	ctx = amane.NewContextWithPrincipal(ctx, &amane.Principal{ID: "bench", Role: amane.RoleSystem})
	for i, bulk := range bulks {
		secs, lines, err := declareMonth(ctx, cfg, g, bulk, i == len(bulks)-1 && name == "encrypted")
		if err != nil {
			return err
		}
		out.Seconds = append(out.Seconds, secs)
		out.LinesPerSec = append(out.LinesPerSec, float64(lines)/secs)
		logf("%s, month %d: %d lines in %.1f s, %.0f lines/s", name, i+1, lines, secs, float64(lines)/secs)
	}
	out.StoreBytes, err = size()
	return err
}

func declareMonth(ctx context.Context, cfg DeclarationsConfig, g *gate.Gate, bulk string, profile bool) (float64, int64, error) {
	f, err := os.Open(bulk)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	runtime.GC()
	if cfg.CPUProfile != "" && profile {
		pf, err := os.Create(cfg.CPUProfile)
		if err != nil {
			return 0, 0, err
		}
		defer pf.Close()
		if err := pprof.StartCPUProfile(pf); err != nil {
			return 0, 0, err
		}
		defer pprof.StopCPUProfile()
	}
	start := time.Now()
	res, err := load.Declarations(ctx, g, []load.Source{{Name: filepath.Base(bulk), R: bufio.NewReaderSize(f, 1<<20)}},
		load.DeclarationOptions{Workers: cfg.Workers, Batch: cfg.Batch})
	if err != nil {
		return 0, 0, err
	}
	elapsed := time.Since(start)
	if res.Rejected > 0 {
		return 0, 0, fmt.Errorf("%d declarations rejected (first: %+v)", res.Rejected, res.Rejections[0])
	}
	return elapsed.Seconds(), res.Lines, nil
}
