package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"amane/sentinel"
)

// cmdSentinel replays an event file through the detector, or simulates traffic and an attack and reports.
func cmdSentinel(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "replay" && args[0] != "simulate") {
		return fmt.Errorf("%w: amane sentinel replay --events FILE.jsonl [--canaries FILE] [--config FILE] | amane sentinel simulate --days 30 --agents 300 --employers 20000 --attack PROFILE [--accounts N] [--rate R] --seed S [--events-out FILE]", errUsage)
	}
	fs := flag.NewFlagSet("sentinel "+args[0], flag.ContinueOnError)
	eventsPath := fs.String("events", "", "replay: the events, one JSON object a line, in time order")
	canariesPath := fs.String("canaries", "", "replay: canary record references, one a line")
	configPath := fs.String("config", "", "thresholds (JSON, over the defaults)")
	days := fs.Int("days", 30, "simulate: days")
	agents := fs.Int("agents", 300, "simulate: agents")
	employers := fs.Int("employers", 20000, "simulate: employers")
	attack := fs.String("attack", "none", "simulate: attack profile, one of "+strings.Join(sentinel.Profiles, ", "))
	fs.StringVar(attack, "profile", "none", "simulate: the same as --attack")
	accounts := fs.Int("accounts", 10, "simulate: patient, under-thresholds, case-forger: attacking accounts")
	rate := fs.Float64("rate", 5, "simulate: patient, case-forger: reads as a multiple of the peers' (3, 5, 8)")
	seed := fs.Uint64("seed", 1, "simulate: seed")
	eventsOut := fs.String("events-out", "", "simulate: also write the events (JSONL)")
	if err := parseFlags(fs, args[1:], stderr); err != nil {
		return err
	}
	cfg := sentinel.DefaultConfig()
	if *configPath != "" {
		var err error
		if cfg, err = sentinel.LoadConfig(*configPath); err != nil {
			return err
		}
	}
	out := bufio.NewWriter(stdout)
	defer out.Flush()
	enc := json.NewEncoder(out)

	if args[0] == "replay" {
		if *eventsPath == "" {
			return fmt.Errorf("%w: --events is required", errUsage)
		}
		var canaries []string
		if *canariesPath != "" {
			f, err := os.Open(*canariesPath)
			if err != nil {
				return err
			}
			canaries, err = sentinel.ReadCanaries(f)
			f.Close()
			if err != nil {
				return fmt.Errorf("%s: %w", *canariesPath, err)
			}
		}
		f, err := os.Open(*eventsPath)
		if err != nil {
			return err
		}
		defer f.Close()
		d := sentinel.New(cfg, canaries)
		for e, err := range sentinel.ReadEvents(bufio.NewReaderSize(f, 1<<20)) {
			if err != nil {
				return fmt.Errorf("%s: %w", *eventsPath, err)
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			for _, r := range d.Observe(e) {
				if err := enc.Encode(r); err != nil {
					return err
				}
			}
		}
		return nil
	}

	if *accounts < 1 || *rate <= 0 {
		return fmt.Errorf("%w: --accounts must be at least 1 and --rate positive", errUsage)
	}
	events, truth, err := sentinel.Simulate(sentinel.SimConfig{Days: *days, Agents: *agents, Employers: *employers, Attack: *attack, Seed: *seed,
		Accounts: *accounts, Rate: *rate, Config: &cfg})
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	var each func(sentinel.Event)
	var werr error
	if *eventsOut != "" {
		f, err := os.Create(*eventsOut)
		if err != nil {
			return err
		}
		defer f.Close()
		w := bufio.NewWriterSize(f, 1<<20)
		defer func() {
			if err := w.Flush(); err != nil && werr == nil {
				werr = err
			}
		}()
		ev := json.NewEncoder(w)
		each = func(e sentinel.Event) {
			if err := ev.Encode(e); err != nil && werr == nil {
				werr = err
			}
		}
	}
	rep := sentinel.Evaluate(events, truth, sentinel.New(cfg, truth.Canaries), each)
	if werr != nil {
		return werr
	}
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}
