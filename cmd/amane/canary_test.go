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
	"amane/canary"
	"amane/postgres/pgtest"
	"amane/sentinel"
)

// TestCanaryPlantOnTheCLI: five canary employers planted in a synthesized, declared registry, on
// both stores. The list is 0600 and holds their references, each of which `employer show` reads like
// any record; the output counts them and their declarations for the registry's months; nothing
// printed names them; `canary list --json` lists them with their agencies; a sentinel given the list
// suspends whoever touches one. Bad flags write nothing. (That canaries validate like real records,
// and are employed and declared like them, is package canary's TestPlant.)
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
			list := filepath.Join(data, canary.File)

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
				if refs, err := canary.ReadList(data); refs != nil || err != nil {
					t.Fatalf("ReadList without a list: %v, %v", refs, err)
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
			refs, err := canary.ReadList(data)
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
			if len(employers) != 5 || len(employees) < 5*canary.MinEmployees || len(employees) > 5*canary.MaxEmployees {
				t.Fatalf("%d employers and %d employees listed", len(employers), len(employees))
			}
			if !strings.Contains(out, " and "+strconv.Itoa(len(employees))+" insured employees") {
				t.Fatalf("plant counted otherwise: %s", out)
			}

			// Nothing printed holds a canary's personal values (read through the gate, revealed).
			reg, err := openRegistry(context.Background(), &dataFlags{dir: data})
			if err != nil {
				t.Fatal(err)
			}
			ctx := amane.NewContextWithReveal(systemContext(context.Background(), "test"), "*")
			var secrets []string
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
				secrets = append(secrets, c.Affiliation, c.Name, c.Representative.Surname, c.Representative.CIN, c.Email, c.Phone, c.RIB, c.ICE)
				// Through the CLI, as for any employer.
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
				secrets = append(secrets, emp.Immatriculation, emp.CIN, emp.Passport, emp.Surname+" "+emp.FirstName)
			}
			reg.Close()
			listed := mustRun(t, "canary", "list", "--data", data)
			for _, s := range secrets {
				if len(s) >= 4 && (strings.Contains(out, s) || strings.Contains(listed, s)) {
					t.Errorf("a canary's value was printed: %q", s)
				}
			}

			var entries []canary.Entry
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
			more, _ := canary.ReadList(data)
			if len(more) != len(refs)+5 || strings.Count(mustReadString(t, list), "# planted ") != 2 {
				t.Fatalf("second plant: %d references", len(more))
			}

			// The sentinel, given the list, contains whoever touches a canary, at once.
			det := sentinel.New(sentinel.DefaultConfig(), more)
			rs := det.Observe(sentinel.Event{Time: time.Date(2026, 10, 5, 10, 0, 0, 0, time.UTC), Principal: "agent-1", Role: "agent",
				Home: "CASA-ANFA", Action: "read", Record: refs[len(refs)-1], Purpose: "dossier", Outcome: "allowed"})
			touched, suspended := false, false
			for _, r := range rs {
				if r.Signal == "canary" {
					touched = true
					suspended = suspended || r.Response == sentinel.Suspend
				}
			}
			if !touched || !suspended {
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
