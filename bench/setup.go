package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"amane"
	"amane/bench/internal/baseline"
	"amane/gate"
	"amane/journal"
	"amane/vault"
)

// benchStore is what a benchmark opens and drives: the gate's store, the journal's, bulk loads, and
// Close.
type benchStore interface {
	gate.Store
	amane.JournalStore
	amane.LoadStore
	Close() error
}

// loadedStore makes a keyring in dir (unless v is given), opens an empty store for name (SQLite in
// dir/name, or a schema of db) and loads the registry files into it through the vault. closeStore
// closes the store and deletes it (its directory, or its schema).
func loadedStore(ctx context.Context, dir, db, name string, v *vault.Vault, adh, sal string) (st benchStore, vv *vault.Vault, size func() (int64, error), closeStore func(), err error) {
	if v == nil {
		kr, err := newKeyring(dir)
		if err != nil {
			return nil, nil, nil, nil, err
		}
		if v, err = vault.FromKeyring(kr); err != nil {
			return nil, nil, nil, nil, err
		}
	}
	dbDir := filepath.Join(dir, name)
	if err := os.MkdirAll(dbDir, 0o700); err != nil {
		return nil, nil, nil, nil, err
	}
	st, size, closeDB, err := openStore(ctx, RegistryConfig{DB: db}, fmt.Sprintf("%s_%d", name, os.Getpid()), dbDir)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	closeStore = func() { closeDB(); os.RemoveAll(dbDir) }
	if err := loadFiles(ctx, st, gate.New(st, v), adh, sal); err != nil {
		closeStore()
		return nil, nil, nil, nil, err
	}
	return st, v, size, closeStore, nil
}

// openJournal opens the access journal in st (through wrap, if not nil, to time its calls), its keys
// and witness in dir, as `amane serve` does.
func openJournal(ctx context.Context, st benchStore, dir string, wrap func(journal.Store) journal.Store) (*journal.Journal, journal.Store, error) {
	var js journal.Store = st
	if wrap != nil {
		js = wrap(js)
	}
	signer, verifier, err := journal.LoadKeys(dir)
	if err != nil {
		return nil, nil, err
	}
	j, err := journal.Open(ctx, js, signer, verifier, filepath.Join(dir, journal.WitnessFile))
	return j, js, err
}

var _ gate.Journal = baseline.Journal{}
