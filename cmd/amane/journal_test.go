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
	"amane/postgres/pgtest"
	"amane/sqlite"

	"github.com/jackc/pgx/v5"
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
	raw, err := sql.Open("sqlite", "file:"+sqlite.JournalPath(db)+"?_pragma=busy_timeout(10000)")
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

// TestJournalTamperOnTheCLI, on both stores: a registry's journal, written by real commands (a load,
// reads, a refused read), verifies; an exported proof checks offline; then one row edited, deleted, or
// two rows swapped directly in the database each make `amane journal verify` exit 1 naming the first
// bad index — and verify passes again once the row is put back.
func TestJournalTamperOnTheCLI(t *testing.T) {
	t.Setenv("AMANE_PASSPHRASE", "journal tamper test passphrase")
	t.Setenv("AMANE_DATABASE_URL", "")
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			root := t.TempDir()
			data, csvDir := filepath.Join(root, "data"), filepath.Join(root, "csv")
			args := []string{"init", "--data", data}
			var exec func(q string, args ...any)
			if kind == "postgres" {
				url := pgtest.URL(t)
				args = append(args, "--db", url)
				exec = func(q string, args ...any) {
					ctx := context.Background()
					c, err := pgx.Connect(ctx, url)
					if err != nil {
						t.Fatal(err)
					}
					defer c.Close(ctx)
					if _, err := c.Exec(ctx, q, args...); err != nil {
						t.Fatal(err)
					}
				}
			} else {
				exec = func(q string, args ...any) {
					db, err := sql.Open("sqlite", "file:"+sqlite.JournalPath(filepath.Join(data, dbFile))+"?_pragma=busy_timeout(10000)")
					if err != nil {
						t.Fatal(err)
					}
					defer db.Close()
					if _, err := db.Exec(strings.ReplaceAll(strings.ReplaceAll(q, "$1", "?"), "$2", "?"), args...); err != nil {
						t.Fatal(err)
					}
				}
			}
			mustRun(t, args...)
			mustRun(t, "synth", "--employers", "5", "--employees", "30", "--seed", "3", "--out", csvDir)
			mustRun(t, "load", "--data", data, filepath.Join(csvDir, "ADHERENTS.csv"), filepath.Join(csvDir, "SALARIES.csv"))
			rows := readCSV(t, filepath.Join(csvDir, "SALARIES.csv"))
			for _, r := range rows[1:9] {
				mustRun(t, "employee", "show", "--data", data, "--imm", r[0])
			}
			if code, _, _ := amaneCLI(t, "employee", "show", "--data", data, "--imm", rows[1][0], "--reveal", "salaire"); code != 1 {
				t.Fatal("an unknown field was revealed")
			}
			out := mustRun(t, "journal", "verify", "--data", data)
			if !strings.Contains(out, "intact") {
				t.Fatalf("verify: %s", out)
			}
			proof := filepath.Join(root, "proof.json")
			mustRun(t, "journal", "prove", "--data", data, "--index", "3", "--out", proof)
			mustRun(t, "journal", "check-proof", "--verifier", filepath.Join(data, journal.VerifierFile), proof)
			cons := filepath.Join(root, "consistency.json")
			mustRun(t, "journal", "prove", "--data", data, "--from", "2", "--out", cons)
			mustRun(t, "journal", "check-proof", "--verifier", filepath.Join(data, journal.VerifierFile), cons)

			entries := func() map[int64][]byte {
				ctx := context.Background()
				url := ""
				if kind == "postgres" {
					url = args[len(args)-1]
				}
				st, err := openStore(ctx, data, url)
				if err != nil {
					t.Fatal(err)
				}
				defer st.Close()
				n, _ := st.JournalSize(ctx)
				raw, err := st.JournalEntries(ctx, 0, n)
				if err != nil {
					t.Fatal(err)
				}
				m := map[int64][]byte{}
				for i, b := range raw {
					m[int64(i)] = b
				}
				return m
			}()
			if len(entries) < 9 {
				t.Fatalf("only %d journal entries", len(entries))
			}
			wantBad := func(what string, index int) {
				t.Helper()
				code, _, errOut := amaneCLI(t, "journal", "verify", "--data", data)
				if code != 1 || !strings.Contains(errOut, fmt.Sprintf("first bad entry at index %d", index)) {
					t.Fatalf("verify after %s: exit %d\n%s", what, code, errOut)
				}
			}
			put := func(i int64, b []byte) { exec(`UPDATE journal_entries SET entry = $1 WHERE idx = $2`, b, i) }

			put(5, []byte(strings.Replace(string(entries[5]), `"allowed"`, `"denied"`, 1)))
			wantBad("an edit", 5)
			put(5, entries[5])
			mustRun(t, "journal", "verify", "--data", data)

			exec(`DELETE FROM journal_entries WHERE idx = $1`, int64(6))
			wantBad("a deletion", 6)
			exec(`INSERT INTO journal_entries (idx, entry, record) VALUES ($1, $2, nullif($3, ''))`, int64(6), entries[6], journal.RecordOf(entries[6]))
			mustRun(t, "journal", "verify", "--data", data)

			// The record column (what a person's "who accessed my data" finds entries by) moved from
			// one person to another: outside the hashed bytes, it is checked against them.
			var read int64 = -1
			for i := int64(0); i < int64(len(entries)); i++ {
				if strings.HasPrefix(journal.RecordOf(entries[i]), "employee/") {
					read = i
					break
				}
			}
			if read < 0 {
				t.Fatal("no read of an employee in the journal")
			}
			exec(`UPDATE journal_entries SET record = $1 WHERE idx = $2`, "employee/999999", read)
			wantBad("a record column rewritten", int(read))
			exec(`UPDATE journal_entries SET record = NULL WHERE idx = $1`, read)
			wantBad("a record column cleared", int(read))
			exec(`UPDATE journal_entries SET record = $1 WHERE idx = $2`, journal.RecordOf(entries[read]), read)
			mustRun(t, "journal", "verify", "--data", data)

			// A deletion whose gap was closed by moving every later entry down: verify names the
			// deleted entry first, not the shortened journal's end.
			last := int64(len(entries)) - 1
			exec(`DELETE FROM journal_entries WHERE idx = $1`, int64(6))
			exec(`UPDATE journal_entries SET idx = -(idx - 1) WHERE idx > $1`, int64(6))
			exec(`UPDATE journal_entries SET idx = -idx WHERE idx < 0`)
			code, _, errOut := amaneCLI(t, "journal", "verify", "--data", data)
			if first, _, _ := strings.Cut(errOut, "\n"); code != 1 || !strings.Contains(first, "entry 6 is missing (deleted)") || !strings.Contains(errOut, "first bad entry at index 6") {
				t.Fatalf("verify after a deletion with the gap closed: exit %d\n%s", code, errOut)
			}
			exec(`UPDATE journal_entries SET idx = -(idx + 1) WHERE idx >= $1`, int64(6))
			exec(`UPDATE journal_entries SET idx = -idx WHERE idx < 0`)
			exec(`INSERT INTO journal_entries (idx, entry, record) VALUES ($1, $2, nullif($3, ''))`, int64(6), entries[6], journal.RecordOf(entries[6]))
			if code, _, errOut := amaneCLI(t, "journal", "verify", "--data", data); code != 0 {
				t.Fatalf("verify once put back (%d entries): exit %d\n%s", last+1, code, errOut)
			}

			put(7, entries[8])
			put(8, entries[7])
			wantBad("a swap", 7)
		})
	}
}
