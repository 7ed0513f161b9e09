package main

import (
	"amane/alert"
	"amane/sentinel"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	"amane"
	"amane/gate"
	"amane/journal"
	"amane/postgres"
	"amane/sqlite"
	"amane/vault"
	"amane/vault/hsm"
	"amane/web"
)

// A data directory holds the configuration (amane.json: where the store is, where the keys are), the
// embedded store (amane.db, with its WAL) unless the store is PostgreSQL, and the key material: the
// sealed keyring (keyring.json) or, with an HSM, the index key wrapped by the token (index-key.json).
// The keyring can live elsewhere (--keyring), which is the point: the store alone decrypts nothing.
const (
	dbFile       = "amane.db"
	keyringFile  = "keyring.json"
	configFile   = "amane.json"
	indexKeyFile = "index-key.json"
)

// config is amane.json. It holds no secret: the database password comes from PGPASSWORD or
// ~/.pgpass, the keyring passphrase and the HSM PIN from files or the environment.
type config struct {
	DB  string      `json:"db,omitempty"` // postgres://…; empty: DIR/amane.db
	HSM *hsm.Config `json:"hsm,omitempty"`
}

type dataFlags struct {
	dir            string
	keyring        string
	passphraseFile string
	db             string
	hsm            hsm.Config
}

func (d *dataFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&d.dir, "data", "", "data directory")
	fs.StringVar(&d.keyring, "keyring", "", "sealed keyring file (default DIR/keyring.json)")
	fs.StringVar(&d.passphraseFile, "passphrase-file", "", "file holding the keyring passphrase (default: $AMANE_PASSPHRASE)")
	fs.StringVar(&d.db, "db", "", "store: postgres://user@host:port/db (default: $AMANE_DATABASE_URL, else the one set at init, else DIR/amane.db)")
}

// registerInit adds the choices made once, at init.
func (d *dataFlags) registerInit(fs *flag.FlagSet) {
	d.register(fs)
	fs.StringVar(&d.hsm.Module, "hsm-module", "", "PKCS#11 library: keep the key-encryption keys in an HSM instead of the keyring file")
	fs.StringVar(&d.hsm.TokenLabel, "hsm-token", "", "HSM token label")
	fs.StringVar(&d.hsm.KeyLabel, "hsm-key", "amane-kek", "label of the key-encryption keys on the token")
	fs.StringVar(&d.hsm.PINFile, "hsm-pin-file", "", "file holding the token's user PIN (default: $AMANE_HSM_PIN_FILE, $AMANE_HSM_PIN)")
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

// readConfig reads DIR/amane.json; a directory made before it existed (only amane.db) reads as the
// defaults. It fails if DIR is not a data directory at all.
func (d *dataFlags) readConfig() (*config, error) {
	if d.dir == "" {
		return nil, fmt.Errorf("%w: --data DIR is required", errUsage)
	}
	var c config
	b, err := os.ReadFile(filepath.Join(d.dir, configFile))
	switch {
	case err == nil:
		if err := json.Unmarshal(b, &c); err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Join(d.dir, configFile), err)
		}
	case errors.Is(err, os.ErrNotExist):
		if _, err := os.Stat(filepath.Join(d.dir, dbFile)); err != nil {
			return nil, fmt.Errorf("%s is not an Amane data directory (run amane init --data %s first)", d.dir, d.dir)
		}
	default:
		return nil, err
	}
	return &c, nil
}

// dbURL is the store to open: --db, else AMANE_DATABASE_URL, else the configured one; "" means the
// embedded store in DIR.
func (d *dataFlags) dbURL(c *config) string {
	switch {
	case d.db != "":
		return d.db
	case os.Getenv("AMANE_DATABASE_URL") != "":
		return os.Getenv("AMANE_DATABASE_URL")
	}
	return c.DB
}

// dataStore is a data directory's store as the commands open it, to hand to the packages that use
// it: the gate's services (gate.Store), the journal's, bulk loads, backups and Close. The commands
// themselves call on it only methods that return no ciphertext and erase nothing
// (TestCommandsReachNoCiphertext); records are read and written through the gate.
type dataStore interface {
	gate.Store
	amane.JournalStore
	amane.LoadStore
	amane.BackupStore
	Close() error
}

func openStore(ctx context.Context, dir, url string) (dataStore, error) {
	if url == "" {
		return sqlite.Open(ctx, filepath.Join(dir, dbFile))
	}
	if !postgres.IsURL(url) {
		return nil, fmt.Errorf("%w: --db must be a postgres:// URL (the embedded store needs no flag)", errUsage)
	}
	return postgres.Open(ctx, url)
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
	store   dataStore
	custody vault.Custody
	keys    *keyMaterial
	vault   *vault.Vault
	gate    *gate.Gate
	journal *journal.Journal
	dir     string     // the data directory
	web     web.Config // serve's page configuration (relying party, origins)
	// proxies (serve --trusted-proxy) may name the client in X-Forwarded-For; metricsAddr (serve
	// --metrics-addr), if set, is where /metrics listens, for a security, auditor or operator token.
	proxies     []netip.Prefix
	metricsAddr string
	// sentinel, if set (serve --sentinel), watches the gate's decisions.
	sentinel *sentinel.Live
	// alerts, if set (serve --syslog, --webhook), receives the sentinel's responses.
	alerts *alert.Dispatcher
}

func (r *registry) Close() error {
	err := r.journal.Close() // its last entries and checkpoint, before the store goes
	err = errors.Join(err, r.store.Close())
	if r.keys.close != nil {
		err = errors.Join(err, r.keys.close())
	}
	return err
}

// keyMaterial is an opened custody: the KEKs, and the blind-index key versions.
type keyMaterial struct {
	custody     vault.Custody
	indexKey    func(v uint32) ([]byte, error)
	addIndexKey func() (uint32, []byte, error)
	rotated     func() error // after a KEK rotation: rewrap what else the old version protects
	close       func() error
}

// openCustody opens the key-encryption keys and the blind-index keys: the HSM named in the
// configuration, else the sealed keyring.
func openCustody(d *dataFlags, c *config) (*keyMaterial, error) {
	if c.HSM != nil {
		h, err := hsm.Open(*c.HSM)
		if err != nil {
			return nil, err
		}
		path := filepath.Join(d.dir, indexKeyFile)
		return &keyMaterial{custody: h,
			indexKey:    func(v uint32) ([]byte, error) { return hsm.OpenIndexKey(hsm.IndexKeyPath(path, v), h) },
			addIndexKey: func() (uint32, []byte, error) { return hsm.AddIndexKey(path, h) },
			rotated: func() error { // every index-key file follows the current KEK version
				for v := uint32(1); ; v++ {
					p := hsm.IndexKeyPath(path, v)
					if _, err := os.Stat(p); err != nil {
						return nil
					}
					if err := hsm.RewrapIndexKey(p, h); err != nil {
						return err
					}
				}
			},
			close: h.Close}, nil
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
	return &keyMaterial{custody: kr, indexKey: kr.IndexKeyVersion, addIndexKey: kr.AddIndexKey, rotated: func() error { return nil }}, nil
}

func openRegistry(ctx context.Context, d *dataFlags) (*registry, error) {
	c, err := d.readConfig()
	if err != nil {
		return nil, err
	}
	km, err := openCustody(d, c)
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*registry, error) {
		if km.close != nil {
			km.close()
		}
		return nil, err
	}
	st, err := openStore(ctx, d.dir, d.dbURL(c))
	if err != nil {
		return fail(err)
	}
	// The store says which blind-index key its indexes were computed with.
	iv, err := st.IndexVersion(ctx)
	if err != nil {
		st.Close()
		return fail(err)
	}
	ik, err := km.indexKey(iv)
	if err != nil {
		st.Close()
		return fail(err)
	}
	v, err := vault.New(km.custody, ik)
	if err != nil {
		st.Close()
		return fail(err)
	}
	j, err := openJournal(ctx, d.dir, st)
	if err != nil {
		st.Close()
		return fail(err)
	}
	purposes, err := readPurposes(d.dir)
	if err != nil {
		j.Close()
		st.Close()
		return fail(err)
	}
	g := gate.New(st, v).UseJournal(j, st).SetPurposes(purposes)
	// Declarations stored before their figures were sealed get their seal now, each once its sealed
	// lines confirm its figures (one indexed query when there are none, the usual case).
	if _, _, err := g.SealLegacyDeclarations(systemContext(ctx, "declaration seal")); err != nil {
		j.Close()
		st.Close()
		return fail(err)
	}
	return &registry{store: st, custody: km.custody, keys: km, vault: v, gate: g, journal: j, dir: d.dir}, nil
}

// openJournal opens the store's access journal with the data directory's keys (created on first
// use) and witness file.
func openJournal(ctx context.Context, dir string, st amane.JournalStore) (*journal.Journal, error) {
	if _, err := os.Stat(filepath.Join(dir, journal.SignerFile)); errors.Is(err, os.ErrNotExist) {
		// New keys only for a new journal: a restored one was signed by the original directory's key.
		if n, err := st.JournalSize(ctx); err != nil {
			return nil, err
		} else if n > 0 {
			return nil, fmt.Errorf("the store holds an access journal of %d entries but %s has no %s: copy %s and %s from the original data directory",
				n, dir, journal.SignerFile, journal.SignerFile, journal.VerifierFile)
		}
	}
	signer, verifier, err := journal.LoadKeys(dir)
	if err != nil {
		return nil, err
	}
	return journal.Open(ctx, st, signer, verifier, filepath.Join(dir, journal.WitnessFile))
}

// purposesFile, in the data directory, replaces the default list of purposes: a JSON array of
// {"code","label","reference","format"}, reference being the pattern every reference stated with the
// purpose must match (amane.PurposeChoice).
const purposesFile = "purposes.json"

func readPurposes(dir string) ([]amane.PurposeChoice, error) {
	b, err := os.ReadFile(filepath.Join(dir, purposesFile))
	if errors.Is(err, os.ErrNotExist) {
		return amane.DefaultPurposes, nil
	} else if err != nil {
		return nil, err
	}
	var list []amane.PurposeChoice
	if err := json.Unmarshal(b, &list); err != nil || len(list) == 0 {
		return nil, fmt.Errorf("%s: a JSON array of {\"code\", \"label\", \"reference\", \"format\"} is expected", purposesFile)
	}
	if err := amane.CheckPurposes(list); err != nil {
		return nil, fmt.Errorf("%s: %w", purposesFile, err)
	}
	return list, nil
}

// systemContext is the principal of CLI commands run by whoever holds the keyring passphrase. The
// command is its purpose; the journal records both.
func systemContext(ctx context.Context, command string) context.Context {
	ctx = amane.NewContextWithPrincipal(ctx, &amane.Principal{ID: "cli:" + command, Role: amane.RoleSystem})
	return amane.NewContextWithPurpose(ctx, amane.Purpose{Code: "cli", Reference: command})
}
