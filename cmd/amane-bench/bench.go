package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"amane/bench"
)

// cmdBench runs one benchmark: amane-bench registry|gate|journal|declarations|attest|sentinel [flags].
func cmdBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		switch args[0] {
		case "gate":
			return cmdBenchGate(ctx, args[1:], stdout, stderr)
		case "journal":
			return cmdBenchJournal(ctx, args[1:], stdout, stderr)
		case "declarations":
			return cmdBenchDeclarations(ctx, args[1:], stdout, stderr)
		case "attest":
			return cmdBenchAttest(ctx, args[1:], stdout, stderr)
		case "sentinel":
			return cmdBenchSentinel(ctx, args[1:], stdout, stderr)
		}
	}
	if len(args) == 0 || args[0] != "registry" {
		return fmt.Errorf("%w: amane-bench registry --employees N | amane-bench gate | amane-bench journal | amane-bench declarations | amane-bench attest | amane-bench sentinel", errUsage)
	}
	fs := flag.NewFlagSet("amane-bench registry", flag.ContinueOnError)
	var cfg bench.RegistryConfig
	fs.IntVar(&cfg.Employees, "employees", 100000, "insured employees to load")
	fs.IntVar(&cfg.Employers, "employers", 0, "employers to load (default employees/4)")
	fs.IntVar(&cfg.Lookups, "lookups", 2000, "CIN lookups per mode")
	fs.IntVar(&cfg.Rounds, "rounds", 2, "load rounds per mode (alternating; best kept)")
	fs.Uint64Var(&cfg.Seed, "seed", 1, "synthetic data seed")
	fs.StringVar(&cfg.DB, "db", "", "benchmark PostgreSQL: postgres://… (schemas created and dropped there); default SQLite")
	if err := parseFlags(fs, args[1:], stderr); err != nil {
		return err
	}
	rep, err := bench.Registry(ctx, cfg, func(f string, a ...any) { fmt.Fprintf(stderr, f+"\n", a...) })
	if err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

// cmdBenchGate: amane-bench gate [--employees N] [--db URL] [--conns 16] [--duration 20s] [--rounds 2].
func cmdBenchGate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("amane-bench gate", flag.ContinueOnError)
	var cfg bench.GateConfig
	fs.IntVar(&cfg.Employees, "employees", 20000, "insured employees to load")
	fs.IntVar(&cfg.Employers, "employers", 0, "employers to load (default employees/4)")
	fs.IntVar(&cfg.Conns, "conns", 16, "concurrent HTTP/1.1 keep-alive connections")
	fs.DurationVar(&cfg.Duration, "duration", 20*time.Second, "measured time per mode and round")
	fs.IntVar(&cfg.Rounds, "rounds", 2, "rounds (the gated and ungated modes alternate)")
	fs.Uint64Var(&cfg.Seed, "seed", 1, "synthetic data seed")
	fs.StringVar(&cfg.DB, "db", "", "benchmark PostgreSQL: postgres://… (a schema created and dropped there); default SQLite")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	rep, err := bench.Gate(ctx, cfg, func(f string, a ...any) { fmt.Fprintf(stderr, f+"\n", a...) })
	if err != nil {
		return err
	}
	if err := printJSON(stdout, rep); err != nil {
		return err
	}
	if n := rep.Gated.Errors + rep.Ungated.Errors; n > 0 {
		return fmt.Errorf("amane-bench gate: %d requests failed (first: %s%s)", n, rep.Gated.FirstError, rep.Ungated.FirstError)
	}
	return nil
}

// cmdBenchJournal: amane-bench journal [--entries N] [--db URL].
func cmdBenchJournal(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("amane-bench journal", flag.ContinueOnError)
	var cfg bench.JournalConfig
	fs.Int64Var(&cfg.Entries, "entries", 10_000_000, "entries to fill the journal with before measuring")
	fs.DurationVar(&cfg.FillTimeout, "fill-timeout", 0, "stop the fill after this long and measure at the size reached (0: none)")
	fs.IntVar(&cfg.Fillers, "fillers", 4, "goroutines appending batches during the fill")
	fs.DurationVar(&cfg.AppendDuration, "append-duration", 5*time.Second, "how long single-entry appends are timed, per concurrency")
	fs.IntVar(&cfg.Proofs, "proofs", 1000, "inclusion proofs timed, at random indexes")
	fs.StringVar(&cfg.DB, "db", "", "benchmark PostgreSQL: postgres://… (a schema created and dropped there); default SQLite")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	rep, err := bench.Journal(ctx, cfg, func(f string, a ...any) { fmt.Fprintf(stderr, f+"\n", a...) })
	if err != nil {
		return err
	}
	return printJSON(stdout, rep)
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// cmdBenchDeclarations: amane-bench declarations [--employees N] [--db URL].
func cmdBenchDeclarations(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("amane-bench declarations", flag.ContinueOnError)
	var cfg bench.DeclarationsConfig
	fs.IntVar(&cfg.Employees, "employees", 100000, "insured employees (the breach: 2000000)")
	fs.IntVar(&cfg.Employers, "employers", 0, "employers (default employees/4)")
	fs.StringVar(&cfg.Period, "period", "", "the last month declared, AAAAMM (default the month before this one)")
	fs.IntVar(&cfg.Months, "months", 2, "months ingested one after the other (the first creates the history keys)")
	fs.IntVar(&cfg.Workers, "workers", 0, "decode-and-seal workers (default 2)")
	fs.IntVar(&cfg.Batch, "batch", 0, "declarations per store transaction (default 1024)")
	fs.Uint64Var(&cfg.Seed, "seed", 1, "synthetic data seed")
	fs.StringVar(&cfg.DB, "db", "", "benchmark PostgreSQL: postgres://… (schemas created and dropped there); default SQLite")
	fs.StringVar(&cfg.CPUProfile, "cpuprofile", "", "write a CPU profile of the encrypted ingest to this file")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	rep, err := bench.Declarations(ctx, cfg, func(f string, a ...any) { fmt.Fprintf(stderr, f+"\n", a...) })
	if err != nil {
		return err
	}
	return printJSON(stdout, rep)
}

// cmdBenchAttest: amane-bench attest [--employees N] [--count 53574] [--chromium PATH].
func cmdBenchAttest(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("amane-bench attest", flag.ContinueOnError)
	var cfg bench.AttestConfig
	fs.IntVar(&cfg.Employees, "employees", 100000, "insured employees (the breach: 2000000)")
	fs.IntVar(&cfg.Employers, "employers", 0, "employers (default employees/4)")
	fs.IntVar(&cfg.Count, "count", 53574, "attestations, the largest declarants first (the leaked set: 53,574)")
	fs.IntVar(&cfg.Workers, "workers", 0, "render-and-sign workers (default the CPUs)")
	fs.StringVar(&cfg.Chromium, "chromium", "/usr/bin/chromium", "headless Chromium for the HTML-to-PDF comparison (\"\" skips it)")
	fs.IntVar(&cfg.Sample, "sample", 50, "documents in the one-at-a-time comparison")
	fs.StringVar(&cfg.CPUProfile, "cpuprofile", "", "write a CPU profile of the batch to this file")
	fs.Uint64Var(&cfg.Seed, "seed", 1, "synthetic data seed")
	fs.StringVar(&cfg.DB, "db", "", "benchmark PostgreSQL: postgres://… (a schema created and dropped there); default SQLite")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	rep, err := bench.Attest(ctx, cfg, func(f string, a ...any) { fmt.Fprintf(stderr, f+"\n", a...) })
	if err != nil {
		return err
	}
	return printJSON(stdout, rep)
}

// cmdBenchSentinel: amane-bench sentinel [--days 30 --agents 300 --employers 20000] [--employees N] [--db URL].
func cmdBenchSentinel(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("amane-bench sentinel", flag.ContinueOnError)
	var cfg bench.SentinelConfig
	fs.IntVar(&cfg.Days, "days", 30, "detector: simulated days")
	fs.IntVar(&cfg.Agents, "agents", 300, "detector: simulated agents")
	fs.IntVar(&cfg.SimEmployers, "employers", 20000, "detector: simulated employers")
	attacks := fs.String("attacks", "cnss-2024,none", "detector: attack profiles simulated, one run each (comma-separated)")
	fs.IntVar(&cfg.Employees, "employees", 20000, "gate: insured employees in the synthetic registry (employers: employees/4)")
	fs.IntVar(&cfg.GateAgents, "gate-agents", 64, "gate: agents reading")
	fs.IntVar(&cfg.RecordsPerAgent, "records-per-agent", 40, "gate: distinct records each agent reads (under every default threshold)")
	fs.DurationVar(&cfg.Duration, "duration", 5*time.Second, "gate: measured time per mode, round and concurrency")
	fs.IntVar(&cfg.Rounds, "rounds", 3, "gate: rounds (the modes rotate)")
	concurrency := fs.String("concurrency", "1,8", "gate: goroutines calling the gate, one run each (comma-separated)")
	fs.Uint64Var(&cfg.Seed, "seed", 1, "simulation and synthetic data seed")
	fs.StringVar(&cfg.DB, "db", "", "benchmark PostgreSQL: postgres://… (a schema created and dropped there); default SQLite")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	cfg.Attacks = strings.Split(*attacks, ",")
	for _, c := range strings.Split(*concurrency, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(c))
		if err != nil || n < 1 {
			return fmt.Errorf("%w: --concurrency: %q is not a positive number", errUsage, c)
		}
		cfg.Concurrency = append(cfg.Concurrency, n)
	}
	rep, err := bench.Sentinel(ctx, cfg, func(f string, a ...any) { fmt.Fprintf(stderr, f+"\n", a...) })
	if err != nil {
		return err
	}
	if err := printJSON(stdout, rep); err != nil {
		return err
	}
	for _, r := range rep.Gate.Runs {
		if n := r.Off.Errors + r.OnEmpty.Errors + r.OnDefault.Errors; n > 0 {
			return fmt.Errorf("amane-bench sentinel: %d gate calls failed (first: %s%s%s)", n, r.Off.FirstError, r.OnEmpty.FirstError, r.OnDefault.FirstError)
		}
	}
	return nil
}
