package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"amane"
	"amane/postgres/pgtest"
	"amane/sentinel"
)

// TestCanaryPlantOnTheCLI: five canary employers planted in a synthesized, declared registry, on
// both stores. The list is 0600 and holds their references; each resolves through the gate to a
// record that validates like a real one, with employees and declarations for the registry's months;
// nothing printed names them; `canary list --json` lists them with their agencies; a sentinel given
// the list suspends whoever touches one. Bad flags write nothing.
func TestCanaryPlantOnTheCLI(t *testing.T) {
	t.Setenv("AMANE_PASSPHRASE", "canary test passphrase, long enough")
	t.Setenv("AMANE_DATABASE_URL", "")
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			root := t.TempDir()
			data, csvDir := filepath.Join(root, "data"), filepath.Join(root, "csv")
			initArgs := []string{"init", "--data", data}
			if kind == "postgres" {
				initArgs = append(initArgs, "--db", pgtest.URL(t))
			}
			mustRun(t, initArgs...)
			mustRun(t, "synth", "--employers", "20", "--employees", "200", "--seed", "3", "--out", csvDir, "--months", "2", "--last-period", "202609")
			mustRun(t, "load", "--data", data, filepath.Join(csvDir, "ADHERENTS.csv"), filepath.Join(csvDir, "SALARIES.csv"))
			mustRun(t, "declare", "--data", data, filepath.Join(csvDir, "declarations", "DS_BULK_202608.txt"),
				filepath.Join(csvDir, "declarations", "DS_BULK_202609.txt"))
			list := filepath.Join(data, canariesFile)

			t.Run("ErrFlags", func(t *testing.T) {
				for _, args := range [][]string{
					{"canary", "plant", "--data", data, "--count", "0"},
					{"canary", "plant", "--data", data, "--count", "-3"},
					{"canary", "plant", "--data", data},
					{"canary", "plant", "--count", "5"},
					{"canary", "plant", "--data", data, "--count", "2", "--employees-per", "-1"},
					{"canary", "bury", "--data", data},
				} {
					code, _, errOut := amaneCLI(t, args...)
					if code != 2 || !strings.Contains(errOut, "amane: ") {
						t.Errorf("%v: exit %d, %q", args, code, errOut)
					}
				}
				if _, err := os.Stat(list); !os.IsNotExist(err) {
					t.Fatalf("a refused plant wrote %s: %v", list, err)
				}
				if refs, err := readCanaries(data); refs != nil || err != nil {
					t.Fatalf("readCanaries without a list: %v, %v", refs, err)
				}
			})

			out := mustRun(t, "canary", "plant", "--data", data, "--count", "5")
			if !strings.Contains(out, "Planted 5 canary employers") || !strings.Contains(out, list) || !strings.Contains(out, "Declared 2 months (202608 to 202609)") {
				t.Fatalf("plant: %s", out)
			}
			st, err := os.Stat(list)
			if err != nil || st.Mode().Perm() != 0o600 {
				t.Fatalf("%s: %v, mode %v", list, err, st.Mode())
			}
			raw, _ := os.ReadFile(list)
			if !strings.HasPrefix(string(raw), "# planted ") || !strings.Contains(strings.SplitN(string(raw), "\n", 2)[0], " count 5") {
				t.Fatalf("the list's header: %q", strings.SplitN(string(raw), "\n", 2)[0])
			}
			refs, err := readCanaries(data)
			if err != nil {
				t.Fatal(err)
			}
			var employers, employees []int64
			for _, r := range refs {
				k, id, _ := strings.Cut(r, "/")
				n, err := strconv.ParseInt(id, 10, 64)
				if err != nil {
					t.Fatalf("reference %q", r)
				}
				switch k {
				case "employer":
					employers = append(employers, n)
				case "employee":
					employees = append(employees, n)
				default:
					t.Fatalf("reference %q", r)
				}
			}
			if len(employers) != 5 || len(employees) < 5*canaryMinEmployees || len(employees) > 5*canaryMaxEmployees {
				t.Fatalf("%d employers and %d employees listed", len(employers), len(employees))
			}
			if !strings.Contains(out, " and "+strconv.Itoa(len(employees))+" insured employees") {
				t.Fatalf("plant counted otherwise: %s", out)
			}

			// Every canary through the normal read path: it validates like a real record, and
			// nothing printed holds one of its personal values.
			reg, err := openRegistry(context.Background(), &dataFlags{dir: data})
			if err != nil {
				t.Fatal(err)
			}
			ctx := amane.NewContextWithReveal(systemContext(context.Background(), "test"), "*")
			var secrets []string
			declared := 0
			seen := map[int64]bool{}
			canaryAffs := map[string]bool{}
			for _, id := range employers {
				rec, err := reg.store.EmployerByID(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				e, err := reg.gate.Employer(ctx, rec.Affiliation)
				if err != nil {
					t.Fatal(err)
				}
				c := e.Employer
				if errs := c.Normalize(); len(errs) > 0 {
					t.Errorf("employer/%d does not validate: %v", id, errs)
				}
				// The listing shows validated employments only (a pending one is nobody's employee yet):
				// the planted size is the store's count, every state.
				recs, _, err := reg.store.EmployeesOf(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				if n := len(recs); n < canaryMinEmployees || n > canaryMaxEmployees || len(e.Employees) > n {
					t.Errorf("employer/%d has %d employees (%d listed)", id, n, len(e.Employees))
				}
				canaryAffs[rec.Affiliation] = true
				secrets = append(secrets, c.Affiliation, c.Name, c.Representative.Surname, c.Representative.CIN, c.Email, c.Phone, c.RIB, c.ICE)
				for _, emp := range e.Employees {
					seen[emp.ID] = true
				}
				if h, err := reg.gate.DeclarationHistory(ctx, rec.Affiliation); err == nil && len(h) > 0 {
					declared++
				}
				// And through the CLI, as for any employer.
				var shown struct{ Affiliation string }
				json.Unmarshal([]byte(mustRun(t, "employer", "show", "--data", data, "--affiliation", rec.Affiliation)), &shown)
				if shown.Affiliation != rec.Affiliation {
					t.Fatalf("employer show: %+v", shown)
				}
			}
			for _, id := range employees {
				emp, err := reg.gate.EmployeeByID(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				for _, j := range emp.Employments {
					seen[id] = seen[id] || canaryAffs[j.Affiliation]
				}
				if !seen[id] {
					t.Errorf("employee/%d is not an employee of a canary employer", id)
				}
				c := *emp
				if errs := c.Normalize(); len(errs) > 0 {
					t.Errorf("employee/%d does not validate: %v", id, errs)
				}
				secrets = append(secrets, emp.Immatriculation, emp.CIN, emp.Passport, emp.Surname+" "+emp.FirstName)
			}
			reg.Close()
			if declared == 0 {
				t.Error("no canary employer has a declaration history")
			}
			listed := mustRun(t, "canary", "list", "--data", data)
			for _, s := range secrets {
				if len(s) >= 4 && (strings.Contains(out, s) || strings.Contains(listed, s)) {
					t.Errorf("a canary's value was printed: %q", s)
				}
			}

			var entries []canaryEntry
			if err := json.Unmarshal([]byte(mustRun(t, "canary", "list", "--data", data, "--json")), &entries); err != nil {
				t.Fatal(err)
			}
			if len(entries) != len(refs) {
				t.Fatalf("list: %d entries for %d references", len(entries), len(refs))
			}
			for i, e := range entries {
				if e.Record != refs[i] || (e.Kind == "employer") != (e.Agency != "") || !strings.HasPrefix(e.Record, e.Kind+"/") {
					t.Errorf("list entry %+v for %s", e, refs[i])
				}
			}

			// A second plant appends under its own header.
			mustRun(t, "canary", "plant", "--data", data, "--count", "1", "--employees-per", "4")
			more, _ := readCanaries(data)
			if len(more) != len(refs)+5 || strings.Count(mustReadString(t, list), "# planted ") != 2 {
				t.Fatalf("second plant: %d references", len(more))
			}

			// The sentinel, given the list, contains whoever touches a canary, at once.
			det := sentinel.New(sentinel.DefaultConfig(), more)
			rs := det.Observe(sentinel.Event{Time: time.Date(2026, 10, 5, 10, 0, 0, 0, time.UTC), Principal: "agent-1", Role: "agent",
				Home: "CASA-ANFA", Action: "read", Record: refs[len(refs)-1], Purpose: "dossier", Outcome: "allowed"})
			canary, suspended := false, false
			for _, r := range rs {
				if r.Signal == "canary" {
					canary = true
					suspended = suspended || r.Response == sentinel.Suspend
				}
			}
			if !canary || !suspended {
				t.Fatalf("touching a canary: %+v", rs)
			}
		})
	}
}

func mustReadString(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
