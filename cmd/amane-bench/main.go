// Command amane-bench measures the registry (package amane/bench): the same code run with the real
// vault and a pass-through one, or with the gate and journal on and off, side by side in one run, so
// that the ratio says what encryption and the checks cost on this machine. Each subcommand prints a
// JSON report on stdout and its progress on stderr; docs/benchmarks.md records the results.
//
// It is a command of its own, not `amane bench`, so that the benchmarks, their pass-through wiring
// and the headless browser the attestation benchmark drives (chromedp) are not linked into the
// production binary: `go list -deps ./cmd/amane` names none of them (TestProductionBinaryDeps,
// cmd/amane).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

const usage = `amane-bench — measure the registry, encrypted and checked vs pass-through, side by side

Usage:
  amane-bench registry --employees N [--db URL]     measure load and lookup, encrypted vs pass-through
  amane-bench gate [--employees N] [--conns 16] [--db URL]
                                                    gated reads over HTTP vs the same with the gate and journal off
  amane-bench journal [--entries 10000000] [--db URL]
                                                    journal append rate, proof and checkpoint times at N entries
  amane-bench declarations [--employees N] [--db URL]
                                                    one month of declarations ingested, encrypted vs pass-through; parse MB/s
  amane-bench attest [--employees N] [--count 53574] [--chromium PATH]
                                                    signed attestations of the largest declarants; vs Chromium HTML→PDF
  amane-bench sentinel [--days 30 --agents 300 --employers 20000] [--employees N] [--db URL]
                                                    events/s through the detector; the gate's added latency

--db postgres://… runs on PostgreSQL (a schema created and dropped there); the default is SQLite in a
temporary directory. Every subcommand takes -h for its flags.
`

// run is the whole command, callable from tests.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	if err := cmdBench(ctx, args, stdout, stderr); err != nil {
		fmt.Fprintf(stderr, "amane-bench: %v\n", err)
		if errors.Is(err, errUsage) {
			return 2
		}
		return 1
	}
	return 0
}

var errUsage = errors.New("usage")

// parseFlags parses args into fs, printing flag errors and -h to stderr.
func parseFlags(fs *flag.FlagSet, args []string, stderr io.Writer) error {
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	return nil
}
