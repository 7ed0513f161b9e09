package sqlite_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"

	"amane"
	"amane/sqlite"
	"amane/storetest"

	"golang.org/x/mod/sumdb/tlog"
)

func open(t *testing.T) storetest.Store {
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "amane.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestContract(t *testing.T) { storetest.Run(t, open) }

func TestReopenKeepsData(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "amane.db")
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateEmployer(ctx, func(id int64) (*amane.EmployerRecord, error) { return storetest.Employer(id, "3333333"), nil }); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = sqlite.Open(ctx, path) // migrations already applied: must be a no-op
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.EmployerByAffiliation(ctx, "3333333"); err != nil {
		t.Fatal(err)
	}
}

func TestFilesAreOwnerOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "amane.db")
	s, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.CreateEmployer(context.Background(), func(id int64) (*amane.EmployerRecord, error) { return storetest.Employer(id, "4444444"), nil }); err != nil {
		t.Fatal(err)
	}
	jpath := sqlite.JournalPath(path)
	for _, f := range []string{path, path + "-wal", path + "-shm", jpath, jpath + "-wal", jpath + "-shm"} {
		fi, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", filepath.Base(f), fi.Mode().Perm())
		}
	}
}

// TestJournalAppendLeavesRegistryFile: a journal append writes the journal's own file only, so the
// connections reading the registry keep their page caches (SQLite's data_version of the main file,
// seen from another connection, does not move), while a registry write does move it.
func TestJournalAppendLeavesRegistryFile(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "amane.db")
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	raw, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	raw.SetMaxOpenConns(1)
	version := func() (v int64) {
		if err := raw.QueryRow(`PRAGMA data_version`).Scan(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	v0 := version()
	for n := int64(0); n < 3; n++ {
		h := tlog.RecordHash([]byte{byte(n)})
		if err := s.AppendJournal(ctx, n, [][]byte{{byte(n)}}, []string{"employee/1"}, []tlog.Hash{h}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.AddCheckpoint(ctx, 3, []byte("signed")); err != nil {
		t.Fatal(err)
	}
	if v := version(); v != v0 {
		t.Errorf("the journal's appends changed the registry file (data_version %d → %d)", v0, v)
	}
	if size, err := s.JournalSize(ctx); err != nil || size != 3 {
		t.Fatalf("journal size %d, %v", size, err)
	}
	if _, err := s.CreateEmployer(ctx, func(id int64) (*amane.EmployerRecord, error) { return storetest.Employer(id, "4444444"), nil }); err != nil {
		t.Fatal(err)
	}
	if v := version(); v == v0 {
		t.Error("data_version does not see a registry write: the test proves nothing")
	}
}

// TestJournalMovesToItsFile: a store made when the journal's tables were in the main file (as
// migrations 005 and 006 make them) has its rows moved to the journal's file at the next Open, and
// the main file's tables dropped.
func TestJournalMovesToItsFile(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "amane.db")
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	os.Remove(sqlite.JournalPath(path))
	raw, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`CREATE TABLE journal_entries (idx INTEGER PRIMARY KEY, entry BLOB NOT NULL, record TEXT)`,
		`CREATE TABLE journal_hashes (idx INTEGER PRIMARY KEY, hash BLOB NOT NULL)`,
		`CREATE TABLE journal_checkpoints (size INTEGER PRIMARY KEY, signed BLOB NOT NULL)`,
		`INSERT INTO journal_entries VALUES (0, x'01', 'employee/1'), (1, x'02', NULL)`,
		`INSERT INTO journal_hashes VALUES (0, x'aa'), (1, x'bb'), (2, x'cc')`,
		`INSERT INTO journal_checkpoints VALUES (2, x'dd')`,
	} {
		if _, err := raw.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	raw.Close()
	s, err = sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if n, err := s.JournalSize(ctx); err != nil || n != 2 {
		t.Fatalf("journal size after the move: %d, %v", n, err)
	}
	es, err := s.JournalEntries(ctx, 0, 2)
	if err != nil || len(es) != 2 || es[1][0] != 2 {
		t.Fatalf("entries after the move: %v, %v", es, err)
	}
	if cps, err := s.Checkpoints(ctx); err != nil || len(cps) != 1 {
		t.Fatalf("checkpoints after the move: %v, %v", cps, err)
	}
	raw, err = sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var left int
	if err := raw.QueryRow(`SELECT count(*) FROM sqlite_master WHERE name LIKE 'journal%'`).Scan(&left); err != nil || left != 0 {
		t.Errorf("%d journal tables left in the main file (%v)", left, err)
	}
}
