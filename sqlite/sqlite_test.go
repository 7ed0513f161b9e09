package sqlite_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"amane"
	"amane/sqlite"
	"amane/storetest"
)

func open(t *testing.T) amane.Store {
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
	for _, f := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", filepath.Base(f), fi.Mode().Perm())
		}
	}
}
