package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"amane"
	"amane/gate"
	"amane/sqlite"
	"amane/vault"
)

// A data directory holds the store (amane.db, with its WAL) and, by default, the sealed keyring
// (keyring.json). The keyring can live elsewhere (--keyring), which is the point: the store alone
// decrypts nothing, and the keyring alone is sealed by the passphrase.
const (
	dbFile      = "amane.db"
	keyringFile = "keyring.json"
)

type dataFlags struct {
	dir            string
	keyring        string
	passphraseFile string
}

func (d *dataFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&d.dir, "data", "", "data directory")
	fs.StringVar(&d.keyring, "keyring", "", "sealed keyring file (default DIR/keyring.json)")
	fs.StringVar(&d.passphraseFile, "passphrase-file", "", "file holding the keyring passphrase (default: $AMANE_PASSPHRASE)")
}

func (d *dataFlags) keyringPath() string {
	if d.keyring != "" {
		return d.keyring
	}
	return filepath.Join(d.dir, keyringFile)
}

// passphrase reads the keyring passphrase from the file named by --passphrase-file, else from
// AMANE_PASSPHRASE (or a file named by AMANE_PASSPHRASE_FILE). It is never a flag value: command lines
// are visible to every user of the machine.
func (d *dataFlags) passphrase() ([]byte, error) {
	file := d.passphraseFile
	if file == "" {
		file = os.Getenv("AMANE_PASSPHRASE_FILE")
	}
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("passphrase: %w", err)
		}
		return []byte(strings.TrimRight(string(b), "\r\n")), nil
	}
	if p := os.Getenv("AMANE_PASSPHRASE"); p != "" {
		return []byte(p), nil
	}
	return nil, errors.New("no keyring passphrase: set AMANE_PASSPHRASE or pass --passphrase-file FILE")
}

func parseFlags(fs *flag.FlagSet, args []string, stderr io.Writer) error {
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	return nil
}

// registry is an opened data directory.
type registry struct {
	store *sqlite.Store
	vault *vault.Vault
	gate  *gate.Gate
}

func (r *registry) Close() error { return r.store.Close() }

func openRegistry(ctx context.Context, d *dataFlags) (*registry, error) {
	if d.dir == "" {
		return nil, fmt.Errorf("%w: --data DIR is required", errUsage)
	}
	if _, err := os.Stat(filepath.Join(d.dir, dbFile)); err != nil {
		return nil, fmt.Errorf("%s is not an Amane data directory (run amane init --data %s first)", d.dir, d.dir)
	}
	pass, err := d.passphrase()
	if err != nil {
		return nil, err
	}
	kr, err := vault.OpenKeyring(d.keyringPath(), pass)
	clear(pass)
	if err != nil {
		return nil, err
	}
	v, err := vault.FromKeyring(kr)
	if err != nil {
		return nil, err
	}
	st, err := sqlite.Open(ctx, filepath.Join(d.dir, dbFile))
	if err != nil {
		return nil, err
	}
	return &registry{store: st, vault: v, gate: gate.New(st, v)}, nil
}

// systemContext is the principal of CLI commands run by whoever holds the keyring passphrase.
func systemContext(ctx context.Context, command string) context.Context {
	return amane.NewContextWithPrincipal(ctx, &amane.Principal{ID: "cli:" + command, Role: amane.RoleSystem})
}
