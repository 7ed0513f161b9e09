package main

import (
	"context"
	"crypto/rand"
	"encoding/csv"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"amane"
	"amane/synth"
	"amane/web"
)

// The demo registry: 2,000 employers and 20,000 insured employees, synthetic, seed 1. (Variables only
// so that TestDemo builds a smaller one: what it tests is the build and the reuse, not the size.)
var demoEmployers, demoEmployees = 2000, 20000

const (
	demoMonths       = 12 // months of declarations, ending last month
	demoPassFile     = "DEMO-ONLY-passphrase.txt"
	demoAccountsFile = "DEMO-ONLY-accounts.txt"
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
  Try:        curl -H 'Authorization: Bearer %s' -H 'X-Amane-Purpose: dossier' -H 'X-Amane-Reference: DOS-2026/0001' %s/api/v1/employees?name=alaoui
  Pages:      %s/connexion (accounts: %s)
  Keyring:    %s
  Passphrase: %s
  Data:       %s (CSV files in %s)
`, url, token, token, url, url, filepath.Join(*dir, demoAccountsFile), d.keyringPath(), d.passphraseFile, *dir, filepath.Join(*dir, "synth"))
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
	periods := lastPeriods(time.Now().UTC(), demoMonths)
	declDir, _, err := writeSynthDeclarations(ctx, csvDir, periods, 1, nil)
	if err != nil {
		return err
	}
	var bulk []string
	for _, p := range periods {
		bulk = append(bulk, filepath.Join(declDir, "DS_BULK_"+p+".txt"))
	}
	rep, elapsed, err := declareFiles(ctx, reg, bulk, stderr)
	if err != nil {
		return err
	}
	if rep.Rejected > 0 {
		return fmt.Errorf("demo: %d synthetic declarations rejected (first: %+v)", rep.Rejected, rep.Rejections[0])
	}
	fmt.Fprintf(stdout, "Declared %d months (%s to %s): %d declarations, %d lines in %s.\n", len(periods), periods[0], periods[len(periods)-1],
		rep.Accepted, rep.Lines, elapsed.Round(1e6))
	return demoAccounts(ctx, reg, d.dir, csvDir, stdout)
}

// demoAccounts creates one account per role, scoped to the first employer of the synthetic files and
// its first employee, with random passwords written to DIR/DEMO-ONLY-accounts.txt (0600).
func demoAccounts(ctx context.Context, reg *registry, dir, csvDir string, stdout io.Writer) error {
	adh, err := readCSVRows(filepath.Join(csvDir, "ADHERENTS.csv"))
	if err != nil {
		return err
	}
	sal, err := readCSVRows(filepath.Join(csvDir, "SALARIES.csv"))
	if err != nil {
		return err
	}
	col := func(rows [][]string, name string) int { return slices.Index(rows[0], name) }
	aff, agency := adh[1][col(adh, "affiliation")], adh[1][col(adh, "agence")]
	imm := ""
	for _, r := range sal[1:] {
		if r[col(sal, "affiliation_employeur")] == aff {
			imm = r[col(sal, "immatriculation")]
			break
		}
	}
	empID, err := reg.gate.ResolveInsured(systemContext(ctx, "demo"), imm)
	if err != nil {
		return err
	}
	var list strings.Builder
	fmt.Fprintf(&list, "DEMO ONLY — accounts of the demo registry (login, role, scope, password)\n")
	for _, a := range []amane.Account{
		{Login: "agent-demo", Role: amane.RoleAgent, Agency: agency},
		{Login: "superviseur-demo", Role: amane.RoleSupervisor},
		{Login: "employeur-demo", Role: amane.RoleEmployer, Affiliation: aff},
		{Login: "assure-demo", Role: amane.RoleInsured, EmployeeID: empID},
		{Login: "dpo-demo", Role: amane.RoleDPO},
		{Login: "securite-demo", Role: amane.RoleSecurity},
		{Login: "audit-demo", Role: amane.RoleAuditor},
	} {
		var b [12]byte
		rand.Read(b[:])
		pw := hex.EncodeToString(b[:])
		if a.PasswordHash, err = web.HashPassword(pw); err != nil {
			return err
		}
		a.Created = time.Now().UTC().Format(time.RFC3339)
		if _, err := reg.store.CreateAccount(ctx, &a); err != nil {
			return err
		}
		fmt.Fprintf(&list, "%-18s %-10s %-22s %s\n", a.Login, a.Role, a.Principal().Scope(), pw)
	}
	path := filepath.Join(dir, demoAccountsFile)
	if err := os.WriteFile(path, []byte(list.String()), 0o600); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Demo accounts (one per role) and their passwords: %s\n", path)
	return nil
}

func readCSVRows(path string) ([][]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err == nil && len(rows) < 2 {
		err = fmt.Errorf("%s: no rows", path)
	}
	return rows, err
}
