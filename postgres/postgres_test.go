package postgres_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"amane"
	"amane/postgres"
	"amane/postgres/pgtest"
	"amane/storetest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

func open(t *testing.T) storetest.Store {
	s, err := postgres.Open(context.Background(), pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestContract(t *testing.T) { storetest.Run(t, open) }

func TestReopenKeepsData(t *testing.T) {
	ctx := context.Background()
	url := pgtest.URL(t)
	s, err := postgres.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateEmployer(ctx, func(id int64) (*amane.EmployerRecord, error) { return storetest.Employer(id, "3333333"), nil }); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = postgres.Open(ctx, url) // migrations already applied: must be a no-op
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.EmployerByAffiliation(ctx, "3333333"); err != nil {
		t.Fatal(err)
	}
}

func TestBadURLDoesNotEchoIt(t *testing.T) {
	_, err := postgres.Open(context.Background(), "postgres://u:s3cret@[::1")
	if err == nil {
		t.Fatal("bad URL accepted")
	}
	if got := err.Error(); strings.Contains(got, "s3cret") {
		t.Fatalf("error echoes the password: %s", got)
	}
}
