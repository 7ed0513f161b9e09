package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"

	"amane/bench"
)

func cmdBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "registry" {
		return fmt.Errorf("%w: amane bench registry --employees N", errUsage)
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
