// Package pgtest gives tests a PostgreSQL database of their own: one database per test process,
// created on first use and dropped when the process's tests end, and a schema per store inside it.
//
// The server is AMANE_TEST_POSTGRES (a URL), else postgres://postgres@127.0.0.1:5432/postgres. When
// none answers the tests skip, saying how to get one; when AMANE_TEST_POSTGRES is set (CI sets it) they
// fail instead.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

const fallback = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

var (
	once    sync.Once
	dbURL   string // the per-process database
	dropDB  func()
	initErr error
)

func server() (string, bool) {
	if u := os.Getenv("AMANE_TEST_POSTGRES"); u != "" {
		return u, true
	}
	return fallback, false
}

func setup() {
	admin, _ := server()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		initErr = err
		return
	}
	defer conn.Close(ctx)
	name := "amane_test_" + random()
	// A database name cannot be a parameter; this one is built from hex digits only.
	if _, err := conn.Exec(ctx, `CREATE DATABASE `+pgx.Identifier{name}.Sanitize()); err != nil {
		initErr = err
		return
	}
	u, err := url.Parse(admin)
	if err != nil {
		initErr = err
		return
	}
	u.Path = "/" + name
	dbURL = u.String()
	dropDB = func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if c, err := pgx.Connect(ctx, admin); err == nil {
			c.Exec(ctx, `DROP DATABASE IF EXISTS `+pgx.Identifier{name}.Sanitize()+` WITH (FORCE)`)
			c.Close(ctx)
		}
	}
}

func random() string {
	b := make([]byte, 6)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Main wraps a test package's TestMain: it runs the tests, then drops the database if one was made.
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
func Main(m *testing.M) int {
	code := m.Run()
	if dropDB != nil {
		dropDB()
	}
	return code
}

// URL returns the URL of a fresh, empty schema in this process's test database (the schema is the
// first on the search_path, so the store creates its tables there).
func URL(t testing.TB) string {
	t.Helper()
	once.Do(setup)
	if initErr != nil {
		_, required := server()
		msg := "PostgreSQL not reachable (" + initErr.Error() + "): start one on 127.0.0.1:5432 or set AMANE_TEST_POSTGRES=postgres://user@host:port/db"
		if required {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	schema := "s_" + random()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `CREATE SCHEMA `+pgx.Identifier{schema}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(dbURL)
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// Database returns the URL of this process's test database itself (public schema), for tests that
// run tools such as pg_dump on it; the database is shared by the process's tests.
func Database(t testing.TB) string {
	URL(t)
	return dbURL
}
