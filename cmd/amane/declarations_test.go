package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"amane"
	"amane/damancom"
)

// TestDeclarationsOnTheCLI: a synthetic month declared in bulk; a préétabli written for one employer;
// its stored declaration exported back byte for byte as the bulk file held it; the same bulk again
// changes nothing; a file with a broken control sum is refused with its line and field, and stores
// nothing.
func TestDeclarationsOnTheCLI(t *testing.T) {
	t.Setenv("AMANE_PASSPHRASE", "declarations test passphrase, long")
	root := t.TempDir()
	data, csvDir := filepath.Join(root, "data"), filepath.Join(root, "csv")
	mustRun(t, "init", "--data", data)
	mustRun(t, "synth", "--employers", "6", "--employees", "60", "--seed", "5", "--out", csvDir, "--months", "3", "--last-period", "202609")
	mustRun(t, "load", "--data", data, filepath.Join(csvDir, "ADHERENTS.csv"), filepath.Join(csvDir, "SALARIES.csv"))
	// Three months in a row: each repeats the family figures of the one before (B02 repeats A02).
	for _, p := range []string{"202607", "202608"} {
		if out := mustRun(t, "declare", "--data", data, filepath.Join(csvDir, "declarations", "DS_BULK_"+p+".txt")); strings.Contains(out, " 0 accepted") {
			t.Fatalf("declare %s: %s", p, out)
		}
	}
	bulk := filepath.Join(csvDir, "declarations", "DS_BULK_202609.txt")
	out := mustRun(t, "declare", "--data", data, bulk)
	if !strings.Contains(out, "accepted") || strings.Contains(out, " 0 accepted") {
		t.Fatalf("declare: %s", out)
	}
	if out := mustRun(t, "declare", "--data", data, bulk); !strings.Contains(out, " 0 accepted") {
		t.Fatalf("the same bulk again stored something: %s", out)
	}

	// The first declaration of the bulk file, exported back.
	raw, err := os.ReadFile(bulk)
	if err != nil {
		t.Fatal(err)
	}
	var first []byte
	damancom.SplitBulk(bytes.NewReader(raw), func(b []byte, _ int, _ bool) error {
		if first == nil {
			first = append([]byte(nil), b...)
		}
		return nil
	})
	d, err := damancom.ReadDeclaration("", bytes.NewReader(first))
	if err != nil {
		t.Fatal(err)
	}
	exported := filepath.Join(root, "DS.txt")
	mustRun(t, "declaration", "export", "--data", data, "--affiliation", d.Affiliation, "--period", "202609", "--out", exported)
	got, err := os.ReadFile(exported)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, first) {
		t.Fatalf("export differs from the file declared (%d vs %d bytes)", len(got), len(first))
	}
	var shown []amane.Declaration
	if err := json.Unmarshal([]byte(mustRun(t, "declaration", "show", "--data", data, "--affiliation", d.Affiliation, "--period", "202609")), &shown); err != nil {
		t.Fatal(err)
	}
	if len(shown) != 1 || len(shown[0].Lines) != len(d.Lines) || shown[0].Contributions.Total <= 0 {
		t.Fatalf("show: %+v", shown)
	}
	pre := filepath.Join(root, "AFFEBDS.txt")
	mustRun(t, "preetabli", "--data", data, "--affiliation", d.Affiliation, "--period", "202610", "--out", pre)
	pf, err := os.Open(pre)
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	p, err := damancom.DecodePreetabli(pf)
	if err != nil || len(p.Insured) == 0 {
		t.Fatalf("préétabli: %v, %d insured", err, len(p.Insured))
	}
	// The préétabli carries the family figures of record: those of the last declaration.
	declared := map[string]amane.DeclarationLine{}
	for _, l := range d.Lines {
		declared[l.Imm] = l
	}
	withChildren := 0
	for _, in := range p.Insured {
		l, ok := declared[in.Number]
		if !ok {
			continue
		}
		if in.Children != l.Children || in.AFToPay != l.AFToPay || in.AFToDeduct != l.AFToDeduct || in.AFNet != l.AFNet {
			t.Fatalf("préétabli A02 of %s: %d children, AF %d %d %d; the last declaration: %d, %d %d %d", in.Number,
				in.Children, in.AFToPay, in.AFToDeduct, in.AFNet, l.Children, l.AFToPay, l.AFToDeduct, l.AFNet)
		}
		if in.Children > 0 {
			withChildren++
		}
	}
	if withChildren == 0 {
		t.Fatal("no insured with children on the préétabli: the figures of record are not carried")
	}

	// A broken control sum on the first B02 line of a new month's file: refused, nothing stored.
	fd, err := damancom.DecodeDeclaration(bytes.NewReader(first))
	if err != nil {
		t.Fatal(err)
	}
	fd.Employer.Period = "202610"
	var b bytes.Buffer
	if err := fd.Encode(&b); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(b.String(), "\n")
	lines[2] = lines[2][:137] + "0000000000000000001" + lines[2][156:]
	broken := filepath.Join(root, damancom.DeclarationName(d.Affiliation, "202610"))
	if err := os.WriteFile(broken, []byte(strings.Join(lines, "\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := amaneCLI(t, "declare", "--data", data, broken)
	if code == 0 || !strings.Contains(errOut, ":3: B02.S_Ctr") {
		t.Fatalf("a broken S_Ctr: exit %d, %s", code, errOut)
	}
	if code, _, errOut := amaneCLI(t, "declaration", "show", "--data", data, "--affiliation", d.Affiliation, "--period", "202610"); code == 0 {
		t.Fatalf("the broken file stored a declaration: %s", errOut)
	}

	// An employment already validated is not validated again (the gate's tests cover the rest).
	if code, _, errOut := amaneCLI(t, "employment", "validate", "--data", data, "--affiliation", d.Affiliation, "--imm", d.Lines[0].Imm,
		"--reference", "DOS-2026/0001"); code == 0 || !strings.Contains(errOut, "No pending employment") {
		t.Fatalf("employment validate of a validated employment: exit %d, %s", code, errOut)
	}

	// New employees (B04) with their CIN: exported back byte for byte, the CIN in clear.
	fd.Employer.Period = "202611"
	fd.BlankB04 = false
	fd.New = []damancom.NewEmployee{
		{Number: "000000000", Surname: "NOUVEAU", FirstName: "YOUNES", CIN: "K998877", Days: 10, RealSalary: 150000, CappedSalary: 150000},
		{Number: "999999999", Surname: "BENANI", FirstName: "SALMA", CIN: "BJ123456", Days: 0, RealSalary: 700000, CappedSalary: 600000},
	}
	var nb bytes.Buffer
	if err := fd.Encode(&nb); err != nil {
		t.Fatal(err)
	}
	withNew := filepath.Join(root, damancom.DeclarationName(d.Affiliation, "202611"))
	if err := os.WriteFile(withNew, nb.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	mustRun(t, "declare", "--data", data, withNew)
	exported = filepath.Join(root, "DS_B04.txt")
	mustRun(t, "declaration", "export", "--data", data, "--affiliation", d.Affiliation, "--period", "202611", "--out", exported)
	if got, err := os.ReadFile(exported); err != nil || !bytes.Equal(got, nb.Bytes()) {
		t.Fatalf("a declaration with B04 lines exported: %v\n%s\n--- declared:\n%s", err, got, nb.Bytes())
	}
}
