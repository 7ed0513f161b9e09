package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"amane/attest"
)

var codeRE = regexp.MustCompile(`AMN-[0-9A-Z]{5}-[0-9A-Z]{5}`)

// TestAttestationsOnTheCLI: `init` makes the signing PKI; an attestation of a declared employer
// verifies offline against it; a copy with bytes appended, or checked against another trust anchor,
// is refused with the reason; --all writes one per declarant; a revoked code is refused by the gate's
// status.
func TestAttestationsOnTheCLI(t *testing.T) {
	t.Setenv("AMANE_PASSPHRASE", "attestations test passphrase, long")
	root := t.TempDir()
	data, csvDir := filepath.Join(root, "data"), filepath.Join(root, "csv")
	mustRun(t, "init", "--data", data)
	for _, f := range []string{attest.DemoCAFile, attest.DemoCertFile, attest.DemoKeyFile} {
		if _, err := os.Stat(filepath.Join(data, f)); err != nil {
			t.Fatalf("init made no %s: %v", f, err)
		}
	}
	mustRun(t, "synth", "--employers", "5", "--employees", "40", "--seed", "3", "--out", csvDir, "--months", "2", "--last-period", "202609")
	mustRun(t, "load", "--data", data, filepath.Join(csvDir, "ADHERENTS.csv"), filepath.Join(csvDir, "SALARIES.csv"))
	mustRun(t, "declare", "--data", data, filepath.Join(csvDir, "declarations", "DS_BULK_202608.txt"), filepath.Join(csvDir, "declarations", "DS_BULK_202609.txt"))
	aff := readCSV(t, filepath.Join(csvDir, "SALARIES.csv"))[1][7]

	pdf := filepath.Join(root, "a.pdf")
	out := mustRun(t, "attest", "--data", data, "--affiliation", aff, "--kind", attest.KindThirdParty, "--out", pdf)
	code := codeRE.FindString(out)
	if code == "" {
		t.Fatalf("no code printed: %s", out)
	}
	if out := mustRun(t, "verify", "--data", data, pdf); !strings.Contains(out, "valid") || !strings.Contains(out, code) {
		t.Fatalf("verify: %s", out)
	}
	b, err := os.ReadFile(pdf)
	if err != nil {
		t.Fatal(err)
	}
	tampered := filepath.Join(root, "t.pdf")
	if err := os.WriteFile(tampered, append(b, "\n% more\n"...), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := amaneCLI(t, "verify", "--data", data, tampered); code == 0 || !strings.Contains(errOut, attest.ReasonUnsignedBytes) {
		t.Fatalf("bytes appended: exit %d, %s", code, errOut)
	}
	other := filepath.Join(root, "other")
	if err := os.MkdirAll(other, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := attest.CreateDemoPKI(other); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := amaneCLI(t, "verify", "--trust", filepath.Join(other, attest.DemoCAFile), pdf); code == 0 || !strings.Contains(errOut, attest.ReasonChain) {
		t.Fatalf("another trust anchor: exit %d, %s", code, errOut)
	}

	dir := filepath.Join(root, "all")
	out = mustRun(t, "attest", "--data", data, "--all", "--period", "202609", "--out", dir)
	files, _ := filepath.Glob(filepath.Join(dir, "*.pdf"))
	if len(files) == 0 || !strings.Contains(out, "Wrote ") {
		t.Fatalf("--all wrote %d files: %s", len(files), out)
	}
	for _, f := range files[:1] {
		mustRun(t, "verify", "--data", data, f)
	}
	mustRun(t, "attest", "revoke", "--data", data, "--reason", "issued in error", code)
	if code, _, _ := amaneCLI(t, "attest", "revoke", "--data", data, "--reason", "x", "AMN-00000-00001"); code == 0 {
		t.Fatal("revoking a code that does not exist succeeded")
	}
}
