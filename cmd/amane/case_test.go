package main

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"amane"
)

// TestCaseOnTheCLI: a case opened, shown, listed, assigned and closed through `amane case`, on a
// small synthesized registry. Records named by reference reach the case as references; a number of
// another type's prefix is refused with the field and the rule, not the value; bad flags are usage
// errors; a closed case leaves the open list.
func TestCaseOnTheCLI(t *testing.T) {
	t.Setenv("AMANE_PASSPHRASE", "case test passphrase, long enough")
	t.Setenv("AMANE_DATABASE_URL", "")
	root := t.TempDir()
	data, csvDir := filepath.Join(root, "data"), filepath.Join(root, "csv")
	mustRun(t, "init", "--data", data)
	mustRun(t, "synth", "--employers", "3", "--employees", "10", "--seed", "5", "--out", csvDir)
	mustRun(t, "load", "--data", data, filepath.Join(csvDir, "ADHERENTS.csv"), filepath.Join(csvDir, "SALARIES.csv"))

	t.Run("ErrFlags", func(t *testing.T) {
		for _, args := range [][]string{
			{"case"},
			{"case", "reopen", "--data", data},
			{"case", "open", "--data", data, "--type", "demande", "--record", "employee/1"},
			{"case", "assign", "--data", data, "--number", "PRE-2026/0001"},
			{"case", "close", "--data", data},
			{"case", "list", "--data", data, "--record", "employee/1", "--record", "employee/2"},
		} {
			if code, _, errOut := amaneCLI(t, args...); code != 2 || !strings.Contains(errOut, "amane: ") {
				t.Errorf("%v: exit %d, %q", args, code, errOut)
			}
		}
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		code, _, errOut := amaneCLI(t, "case", "open", "--data", data, "--type", "controle", "--number", "PRE-2026/0001",
			"--origin", "mission", "--record", "employer/1")
		if code != 1 || !strings.Contains(errOut, "number") || strings.Contains(errOut, "PRE-2026/0001") {
			t.Fatalf("a number of another type: exit %d, %q", code, errOut)
		}
	})

	out := mustRun(t, "case", "open", "--data", data, "--type", "demande", "--number", "PRE-2026/0001", "--origin", "guichet",
		"--record", "employee/2", "--record", "employer/1")
	if !strings.Contains(out, "PRE-2026/0001") {
		t.Fatalf("case open printed %q", out)
	}
	mustRun(t, "case", "assign", "--data", data, "--number", "PRE-2026/0001", "--staff", "token/3", "--team", "CASA-ANFA", "--record", "employer/2")
	var c amane.Case
	if err := json.Unmarshal([]byte(mustRun(t, "case", "show", "--data", data, "--number", "PRE-2026/0001")), &c); err != nil {
		t.Fatal(err)
	}
	if c.Type != amane.CaseRequest || !slices.Equal(c.Records, []string{"employee/2", "employer/1", "employer/2"}) || !slices.Equal(c.Staff, []string{"token/3"}) ||
		c.Team != "CASA-ANFA" || c.OpenedBy != "cli:case open" || c.Origin != "guichet" || !c.Open() {
		t.Fatalf("case show: %+v", c)
	}
	var open []amane.Case
	if err := json.Unmarshal([]byte(mustRun(t, "case", "list", "--data", data, "--record", "employee/2")), &open); err != nil || len(open) != 1 {
		t.Fatalf("case list: %+v (%v)", open, err)
	}
	mustRun(t, "case", "close", "--data", data, "--number", "PRE-2026/0001")
	if err := json.Unmarshal([]byte(mustRun(t, "case", "list", "--data", data)), &open); err != nil || len(open) != 0 {
		t.Fatalf("case list after close: %+v (%v)", open, err)
	}
	if code, _, _ := amaneCLI(t, "case", "close", "--data", data, "--number", "PRE-2026/0001"); code != 1 {
		t.Fatalf("closing twice: exit %d", code)
	}
}
