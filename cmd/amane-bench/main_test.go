package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
)

func benchCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

// TestBenchUsage: no subcommand, an unknown one or an unknown flag is a usage error (exit 2), as it
// was under `amane bench`; help lists every subcommand.
func TestBenchUsage(t *testing.T) {
	for _, args := range [][]string{nil, {"nope"}, {"gate", "--nope"}, {"journal", "-h"}} {
		if code, _, errOut := benchCLI(t, args...); code != 2 || errOut == "" {
			t.Errorf("amane-bench %s: exit %d, stderr %q; want 2 and a usage", strings.Join(args, " "), code, errOut)
		}
	}
	code, out, _ := benchCLI(t, "help")
	if code != 0 {
		t.Fatalf("amane-bench help: exit %d", code)
	}
	for _, sub := range []string{"registry", "gate", "journal", "declarations", "attest", "sentinel"} {
		if !strings.Contains(out, "amane-bench "+sub) {
			t.Errorf("help does not list %s:\n%s", sub, out)
		}
		// Each subcommand is wired: its -h names its own flag set.
		if _, _, errOut := benchCLI(t, sub, "-h"); !strings.Contains(errOut, "amane-bench "+sub) {
			t.Errorf("amane-bench %s -h: %q", sub, errOut)
		}
	}
}

// TestBenchJournalRuns runs one subcommand end to end at a tiny size: flags reach the benchmark and
// the report comes out as JSON on stdout.
func TestBenchJournalRuns(t *testing.T) {
	code, out, errOut := benchCLI(t, "journal", "--entries", "300", "--append-duration", "50ms", "--proofs", "5")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	var rep struct {
		Requested int64  `json:"requested_entries"`
		Entries   int64  `json:"entries"`
		Store     string `json:"store"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("report is not JSON: %v\n%s", err, out)
	}
	if rep.Requested != 300 || rep.Entries != 300 || rep.Store != "sqlite" {
		t.Fatalf("report %+v, want 300 entries on sqlite", rep)
	}
}
