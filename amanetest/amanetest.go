// Package amanetest builds what tests across packages need: a real registry (sealed keyring, vault,
// SQLite store, gate) in a temporary directory, and a goroutine-safe buffer for logs. It is imported by
// tests only.
package amanetest

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"amane"
	"amane/gate"
	"amane/journal"
	"amane/postgres"
	"amane/postgres/pgtest"
	"amane/sqlite"
	"amane/storetest"
	"amane/vault"
)

// Store is a test registry's store: every store service (storetest.Store), and Close. Tests reach
// past the gate through it to set up and tamper.
type Store interface {
	storetest.Store
	Close() error
}

// Registry is an opened test registry.
type Registry struct {
	Kind    string // "sqlite" or "postgres"
	Dir     string // the data directory (keyring, and the SQLite store)
	DBPath  string // the SQLite file; for PostgreSQL, the store's URL
	Store   Store
	Vault   *vault.Vault
	Gate    *gate.Gate
	Journal *journal.Journal // the store's access journal, the gate's; keys in Dir
}

// withJournal opens the access journal in st (keys and witness in dir) and wires it to a gate over
// st. The journal is closed when the test ends, before the store.
func withJournal(t testing.TB, r *Registry, st Store) {
	t.Helper()
	signer, verifier, err := journal.LoadKeys(r.Dir)
	if err != nil {
		t.Fatal(err)
	}
	j, err := journal.Open(context.Background(), st, signer, verifier, filepath.Join(r.Dir, journal.WitnessFile+"."+r.Kind))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	r.Store, r.Journal, r.Gate = st, j, gate.New(st, r.Vault).UseJournal(j, st)
}

// Passphrase is the test keyring's passphrase.
const Passphrase = "amanetest keyring passphrase"

// keyringTemplate is one sealed keyring file per test process, written into each registry's
// directory: creating a keyring and opening it each derive its file key with Argon2id (64 MiB, 3
// passes: a tenth of a second or more apiece, seconds on a loaded machine), and a package's tests open
// hundreds of registries. A copy costs nothing, so each registry pays one derivation, not two. The
// registries of one process share their keys; each holds its own copy of the file, so that a rotation
// in one (AddVersion, RemoveVersion) stays there.
var keyringTemplate struct {
	once sync.Once
	file []byte
	err  error
}

func newKeyringFile(path string) error {
	keyringTemplate.once.Do(func() {
		dir, err := os.MkdirTemp("", "amanetest-keyring-")
		if err != nil {
			keyringTemplate.err = err
			return
		}
		defer os.RemoveAll(dir)
		kp := filepath.Join(dir, "keyring.json")
		if keyringTemplate.err = vault.CreateKeyring(kp, []byte(Passphrase)); keyringTemplate.err == nil {
			keyringTemplate.file, keyringTemplate.err = os.ReadFile(kp)
		}
	})
	if keyringTemplate.err != nil {
		return keyringTemplate.err
	}
	return os.WriteFile(path, keyringTemplate.file, 0o600)
}

// Open creates a keyring (a copy of the process's template) and a store in t.TempDir() and returns
// them wired to a gate. The store is closed when the test ends.
func Open(t testing.TB) *Registry {
	t.Helper()
	dir := t.TempDir()
	kp := filepath.Join(dir, "keyring.json")
	if err := newKeyringFile(kp); err != nil {
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
	r := &Registry{Kind: "sqlite", Dir: dir, DBPath: db, Vault: v}
	withJournal(t, r, st)
	return r
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
	r.Kind, r.DBPath = "postgres", url
	withJournal(t, r, st)
	return r
}

// Each runs fn as a subtest on a fresh registry of each store: every feature is tested on both.
func Each(t *testing.T, fn func(t *testing.T, r *Registry)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, Open(t)) })
	t.Run("postgres", func(t *testing.T) { fn(t, OpenPostgres(t)) })
}

// Purpose is the purpose Context states.
var Purpose = amane.Purpose{Code: "dossier", Reference: "DOS-2026/0001"}

// Context returns a context carrying a principal of the given role with national reach, stating
// Purpose.
func Context(role string) context.Context {
	return As(&amane.Principal{ID: "test:" + role, Role: role})
}

// As returns a context carrying p, stating Purpose.
func As(p *amane.Principal) context.Context {
	return amane.NewContextWithPurpose(amane.NewContextWithPrincipal(context.Background(), p), Purpose)
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
