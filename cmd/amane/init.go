package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"amane"
	"amane/attest"
	"amane/postgres"
	"amane/vault"
	"amane/vault/hsm"
	"amane/web"
)

func cmdInit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("init", flag.ContinueOnError)
	var d dataFlags
	d.registerInit(fs)
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if d.dir == "" {
		return fmt.Errorf("%w: --data DIR is required", errUsage)
	}
	token, err := initData(ctx, &d)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Initialised %s\n", d.dir)
	if url := d.dbURL(&config{}); url != "" {
		fmt.Fprintf(stdout, "  store:   PostgreSQL (recorded in %s)\n", filepath.Join(d.dir, configFile))
	} else {
		fmt.Fprintf(stdout, "  store:   %s\n", filepath.Join(d.dir, dbFile))
	}
	if d.hsm.Module != "" {
		fmt.Fprintf(stdout, "  keys:    HSM token %q, key %q (non-extractable); index key wrapped by it in %s\n",
			d.hsm.TokenLabel, d.hsm.KeyLabel, filepath.Join(d.dir, indexKeyFile))
	} else {
		fmt.Fprintf(stdout, "  keyring: %s (sealed by your passphrase; keep a copy apart from the store)\n", d.keyringPath())
	}
	fmt.Fprintf(stdout, "Operator token (shown once, stored only as a hash):\n  %s\n", token)
	return nil
}

// initData creates the data directory, its configuration, the key material (a sealed keyring, or a
// KEK on the HSM and the index key it wraps) and the store, and returns a new operator token.
func initData(ctx context.Context, d *dataFlags) (string, error) {
	for _, f := range []string{configFile, dbFile} {
		if _, err := os.Stat(filepath.Join(d.dir, f)); err == nil {
			return "", amane.Errorf(amane.ECONFLICT, "%s is already initialised.", d.dir)
		}
	}
	if err := os.MkdirAll(d.dir, 0o700); err != nil {
		return "", err
	}
	c := config{DB: d.dbURL(&config{})}
	if c.DB != "" && !postgres.IsURL(c.DB) {
		return "", fmt.Errorf("%w: --db must be a postgres:// URL", errUsage)
	}
	if strings.Contains(c.DB, "@") && strings.Contains(strings.SplitN(strings.TrimPrefix(strings.TrimPrefix(c.DB, "postgresql://"), "postgres://"), "@", 2)[0], ":") {
		return "", fmt.Errorf("%w: keep the database password out of the URL: set PGPASSWORD or use ~/.pgpass", errUsage)
	}
	if d.hsm.Module != "" {
		if d.hsm.TokenLabel == "" {
			return "", fmt.Errorf("%w: --hsm-token LABEL is required with --hsm-module", errUsage)
		}
		h, err := hsm.Create(d.hsm)
		if err != nil {
			return "", err
		}
		err = hsm.CreateIndexKey(filepath.Join(d.dir, indexKeyFile), h)
		h.Close()
		if err != nil {
			return "", err
		}
		c.HSM = &d.hsm
	} else {
		pass, err := d.passphrase()
		if err != nil {
			return "", err
		}
		err = vault.CreateKeyring(d.keyringPath(), pass)
		clear(pass)
		if err != nil {
			return "", err
		}
	}
	if c.HSM == nil { // attestations' signing certificate (demo CA); with an HSM, made with the key on the token at first use
		if err := attest.CreateDemoPKI(d.dir); err != nil {
			return "", err
		}
	}
	b, _ := json.MarshalIndent(&c, "", "  ")
	if err := os.WriteFile(filepath.Join(d.dir, configFile), append(b, '\n'), 0o600); err != nil {
		return "", err
	}
	st, err := openStore(ctx, d.dir, c.DB)
	if err != nil {
		return "", err
	}
	defer st.Close()
	return newOperatorToken(ctx, st, "init")
}

func newOperatorToken(ctx context.Context, st amane.TokenStore, label string) (string, error) {
	token := web.NewToken()
	if err := st.AddOperatorToken(ctx, web.TokenHash(token), label); err != nil {
		return "", err
	}
	return token, nil
}
