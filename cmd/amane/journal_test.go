package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"amane/journal"
	"amane/sqlite"
)

// TestJournalCLI: a journal written through the Go API verifies on the command line without the
// keyring; an entry edited with SQL makes verify exit 1 naming its index; an exported inclusion proof
// checks offline, and fails once tampered with.
func TestJournalCLI(t *testing.T) {
	t.Setenv("AMANE_PASSPHRASE", "journal cli test passphrase")
	data := filepath.Join(t.TempDir(), "data")
	mustRun(t, "init", "--data", data)
	t.Setenv("AMANE_PASSPHRASE", "") // verify and check-proof need no keyring

	ctx := context.Background()
	db := filepath.Join(data, dbFile)
	st, err := sqlite.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	signer, verifier, err := journal.LoadKeys(data)
	if err != nil {
		t.Fatal(err)
	}
	j, err := journal.Open(ctx, st, signer, verifier, filepath.Join(data, journal.WitnessFile))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 40 {
		e := journal.Entry{Principal: "agent:1", Role: "agent", Action: "read", Record: fmt.Sprintf("employee/%d", i), Outcome: journal.Allowed}
		if _, err := j.Append(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	out := mustRun(t, "journal", "verify", "--data", data)
	if !strings.Contains(out, "40 entries") || !strings.Contains(out, "intact") {
		t.Fatalf("verify: %s", out)
	}

	// An inclusion proof, exported to a file and checked offline.
	p, err := journal.ProveInclusion(ctx, st, 12)
	if err != nil {
		t.Fatal(err)
	}
	proof := filepath.Join(t.TempDir(), "proof.json")
	b, _ := json.MarshalIndent(p, "", "  ")
	os.WriteFile(proof, b, 0o644)
	vk := filepath.Join(data, journal.VerifierFile)
	mustRun(t, "journal", "check-proof", "--verifier", vk, proof)
	p.Entry = []byte(strings.Replace(string(p.Entry), "employee/12", "employee/13", 1))
	p.LeafHash = journal.Hash{}
	b, _ = json.Marshal(p)
	bad := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(bad, b, 0o644)
	if code, _, errOut := amaneCLI(t, "journal", "check-proof", "--verifier", vk, bad); code != 1 {
		t.Fatalf("tampered proof: exit %d, %s", code, errOut)
	}

	// An entry edited in the store.
	raw, err := sql.Open("sqlite", "file:"+db+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Exec(`UPDATE journal_entries SET entry = ? WHERE idx = ?`, []byte(`{"action":"read"}`), 7); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := amaneCLI(t, "journal", "verify", "--data", data)
	if code != 1 || !strings.Contains(errOut, "entry 7 does not match") || !strings.Contains(errOut, "first bad entry at index 7") {
		t.Fatalf("verify after an edit: exit %d\n%s", code, errOut)
	}
	t.Log(errOut)
}
