// Package amanetest builds what tests across packages need: a real registry (sealed keyring, vault,
// SQLite store, gate) in a temporary directory, and a goroutine-safe buffer for logs. It is imported by
// tests only.
package amanetest

import (
	"bytes"
	"context"
	"path/filepath"
	"sync"
	"testing"

	"amane"
	"amane/gate"
	"amane/postgres"
	"amane/postgres/pgtest"
	"amane/sqlite"
	"amane/vault"
)

// Registry is an opened test registry.
type Registry struct {
	Kind   string // "sqlite" or "postgres"
	Dir    string // the data directory (keyring, and the SQLite store)
	DBPath string // the SQLite file; for PostgreSQL, the store's URL
	Store  amane.Store
	Vault  *vault.Vault
	Gate   *gate.Gate
}

// Passphrase is the test keyring's passphrase.
const Passphrase = "amanetest keyring passphrase"

// Open creates a keyring and a store in t.TempDir() and returns them wired to a gate. The store is
// closed when the test ends.
func Open(t testing.TB) *Registry {
	t.Helper()
	dir := t.TempDir()
	kp := filepath.Join(dir, "keyring.json")
	if err := vault.CreateKeyring(kp, []byte(Passphrase)); err != nil {
		t.Fatal(err)
	}
	kr, err := vault.OpenKeyring(kp, []byte(Passphrase))
	if err != nil {
		t.Fatal(err)
	}
	v, err := vault.FromKeyring(kr)
	if err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(dir, "amane.db")
	st, err := sqlite.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return &Registry{Kind: "sqlite", Dir: dir, DBPath: db, Store: st, Vault: v, Gate: gate.New(st, v)}
}

// OpenPostgres is Open on a PostgreSQL schema of its own (see pgtest: it skips, or fails in CI, when
// no PostgreSQL answers). The test package's TestMain must call pgtest.Main.
func OpenPostgres(t testing.TB) *Registry {
	t.Helper()
	url := pgtest.URL(t)
	r := Open(t)
	st, err := postgres.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	r.Kind, r.DBPath, r.Store, r.Gate = "postgres", url, st, gate.New(st, r.Vault)
	return r
}

// Each runs fn as a subtest on a fresh registry of each store: every feature is tested on both.
func Each(t *testing.T, fn func(t *testing.T, r *Registry)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, Open(t)) })
	t.Run("postgres", func(t *testing.T) { fn(t, OpenPostgres(t)) })
}

// Context returns a context carrying a principal of the given role.
func Context(role string) context.Context {
	return amane.NewContextWithPrincipal(context.Background(), &amane.Principal{ID: "test:" + role, Role: role})
}

// SyncBuffer is a bytes.Buffer safe for concurrent writers, for capturing a server's log.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
