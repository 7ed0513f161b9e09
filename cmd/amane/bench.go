package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"time"

	"amane/bench"
)

func cmdBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		switch args[0] {
		case "gate":
			return cmdBenchGate(ctx, args[1:], stdout, stderr)
		case "journal":
			return cmdBenchJournal(ctx, args[1:], stdout, stderr)
		}
	}
	if len(args) == 0 || args[0] != "registry" {
		return fmt.Errorf("%w: amane bench registry --employees N | amane bench gate | amane bench journal", errUsage)
	}
	fs := flag.NewFlagSet("bench registry", flag.ContinueOnError)
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

// cmdBenchGate: amane bench gate [--employees N] [--db URL] [--conns 16] [--duration 20s] [--rounds 2].
func cmdBenchGate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench gate", flag.ContinueOnError)
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
		return fmt.Errorf("bench gate: %d requests failed (first: %s%s)", n, rep.Gated.FirstError, rep.Ungated.FirstError)
	}
	return nil
}

// cmdBenchJournal: amane bench journal [--entries N] [--db URL].
func cmdBenchJournal(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench journal", flag.ContinueOnError)
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
