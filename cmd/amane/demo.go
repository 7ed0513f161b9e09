package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"amane/synth"
)

// The demo registry: 2,000 employers and 20,000 insured employees, synthetic, seed 1.
const (
	demoEmployers = 2000
	demoEmployees = 20000
	demoPassFile  = "DEMO-ONLY-passphrase.txt"
)

func cmdDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	dir := fs.String("data", "amane-demo", "demo data directory")
	addr := fs.String("addr", "127.0.0.1:8080", "listen address")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	d := &dataFlags{dir: *dir, passphraseFile: filepath.Join(*dir, demoPassFile)}
	if _, err := os.Stat(filepath.Join(*dir, dbFile)); os.IsNotExist(err) {
		if err := buildDemo(ctx, d, stdout, stderr); err != nil {
			return err
		}
	}
	reg, err := openRegistry(ctx, d)
	if err != nil {
		return err
	}
	defer reg.Close()
	token, err := newOperatorToken(ctx, reg.store, "demo")
	if err != nil {
		return err
	}
	return serve(ctx, reg, *addr, stdout, stderr, func(url string) {
		fmt.Fprintf(stdout, `
  DEMO ONLY — synthetic data, and a keyring whose passphrase sits next to it in a file.
  URL:        %s
  Token:      %s
  Try:        curl -H 'Authorization: Bearer %s' %s/api/v1/employees?name=alaoui
  Keyring:    %s
  Passphrase: %s
  Data:       %s (CSV files in %s)
`, url, token, token, url, d.keyringPath(), d.passphraseFile, *dir, filepath.Join(*dir, "synth"))
	})
}

func buildDemo(ctx context.Context, d *dataFlags, stdout, stderr io.Writer) error {
	if err := os.MkdirAll(d.dir, 0o700); err != nil {
		return err
	}
	var b [24]byte
	rand.Read(b[:])
	if err := os.WriteFile(d.passphraseFile, []byte(hex.EncodeToString(b[:])+"\n"), 0o600); err != nil {
		return err
	}
	if _, err := initData(ctx, d); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Building the demo registry in %s: %d employers, %d insured employees (synthetic)…\n", d.dir, demoEmployers, demoEmployees)
	csvDir := filepath.Join(d.dir, "synth")
	if err := writeSynth(ctx, synth.Config{Employers: demoEmployers, Employees: demoEmployees, Seed: 1}, csvDir, nil); err != nil {
		return err
	}
	reg, err := openRegistry(ctx, d)
	if err != nil {
		return err
	}
	defer reg.Close()
	res, elapsed, err := loadFiles(ctx, reg, []string{filepath.Join(csvDir, "ADHERENTS.csv"), filepath.Join(csvDir, "SALARIES.csv")}, stderr)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Loaded %d rows in %s.\n", res.Rows, elapsed.Round(1e6))
	return nil
}
