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
	"amane/sqlite"
	"amane/vault"
)

// Registry is an opened test registry.
type Registry struct {
	Dir    string // the data directory (store and keyring)
	DBPath string
	Store  *sqlite.Store
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
	return &Registry{Dir: dir, DBPath: db, Store: st, Vault: v, Gate: gate.New(st, v)}
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
