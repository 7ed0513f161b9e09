package canary_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"amane"
	"amane/amanetest"
	"amane/canary"
	"amane/load"
	"amane/postgres/pgtest"
	"amane/synth"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// system is the CLI's principal for its own writes (cmd/amane's systemContext).
func system(ctx context.Context, command string) context.Context {
	ctx = amane.NewContextWithPrincipal(ctx, &amane.Principal{ID: "cli:" + command, Role: amane.RoleSystem})
	return amane.NewContextWithPurpose(ctx, amane.Purpose{Code: "cli", Reference: command})
}

// populate loads a small synthetic registry and declares two months for it, as `amane synth --months 2`,
// `amane load` and `amane declare` do.
func populate(t *testing.T, r *amanetest.Registry) {
	t.Helper()
	ctx := context.Background()
	var adh, sal bytes.Buffer
	if err := synth.Write(ctx, synth.Config{Employers: 20, Employees: 200, Seed: 3}, &adh, &sal, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := load.Load(system(ctx, "load"), r.Store, r.Gate,
		&load.Source{Name: "ADHERENTS.csv", R: bytes.NewReader(adh.Bytes())},
		&load.Source{Name: "SALARIES.csv", R: bytes.NewReader(sal.Bytes())}, load.Options{}); err != nil {
		t.Fatal(err)
	}
	bufs := map[string]*bytes.Buffer{}
	periods := []string{"202608", "202609"}
	if err := synth.WriteDeclarations(ctx, bytes.NewReader(adh.Bytes()), bytes.NewReader(sal.Bytes()), periods, 3,
		func(p string) (io.Writer, error) { bufs[p] = &bytes.Buffer{}; return bufs[p], nil }, nil); err != nil {
		t.Fatal(err)
	}
	var sources []load.Source
	for _, p := range periods {
		sources = append(sources, load.Source{Name: "DS_BULK_" + p + ".txt", R: bufs[p]})
	}
	rep, err := load.Declarations(system(ctx, "declare"), r.Gate, sources, load.DeclarationOptions{})
	if err != nil || rep.Accepted == 0 || rep.Rejected > 0 {
		t.Fatalf("declaring the population: %+v, %v", rep, err)
	}
}

// TestPlant: canaries planted in a loaded, declared registry, on both stores. Each resolves through
// the gate to a record that validates like a real one; the employees are employees of canary
// employers, of the size asked for; they get declarations for the registry's months; and the journal
// sees them written as a load and a declaration only, never as canaries.
func TestPlant(t *testing.T) {
	amanetest.Each(t, func(t *testing.T, r *amanetest.Registry) {
		populate(t, r)
		ctx := context.Background()
		var commands []string
		planter := &canary.Planter{Store: r.Store, Gate: r.Gate, System: func(ctx context.Context, command string) context.Context {
			commands = append(commands, command)
			return system(ctx, command)
		}}

		pl, err := planter.Plant(ctx, 5, 0)
		if err != nil {
			t.Fatal(err)
		}
		var employers, employees []int64
		for i, ref := range pl.Refs {
			kind, id, _ := strings.Cut(ref, "/")
			n, err := strconv.ParseInt(id, 10, 64)
			if err != nil || (kind == "employer") != (i < 5) || (kind != "employer" && kind != "employee") {
				t.Fatalf("reference %d: %q (employers first, then employees)", i, ref)
			}
			if kind == "employer" {
				employers = append(employers, n)
			} else {
				employees = append(employees, n)
			}
		}
		if pl.Employers != 5 || len(employers) != 5 || len(employees) < 5*canary.MinEmployees || len(employees) > 5*canary.MaxEmployees {
			t.Fatalf("planted %d employers: %d employer and %d employee references", pl.Employers, len(employers), len(employees))
		}

		reveal := amane.NewContextWithReveal(system(ctx, "test"), "*")
		canaryAffs := map[string]bool{}
		for _, id := range employers {
			rec, err := r.Store.EmployerByID(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			canaryAffs[rec.Affiliation] = true
			e, err := r.Gate.Employer(reveal, rec.Affiliation)
			if err != nil {
				t.Fatal(err)
			}
			c := e.Employer
			if errs := c.Normalize(); len(errs) > 0 {
				t.Errorf("employer/%d does not validate: %v", id, errs)
			}
			// The listing shows validated employments only (a pending one is nobody's employee yet):
			// the planted size is the store's count, every state.
			recs, _, err := r.Store.EmployeesOf(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if n := len(recs); n < canary.MinEmployees || n > canary.MaxEmployees || len(e.Employees) > n {
				t.Errorf("employer/%d has %d employees (%d listed)", id, n, len(e.Employees))
			}
		}
		for _, id := range employees {
			emp, err := r.Gate.EmployeeByID(reveal, id)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.ContainsFunc(emp.Employments, func(j amane.Employment) bool { return canaryAffs[j.Affiliation] }) {
				t.Errorf("employee/%d is not an employee of a canary employer", id)
			}
			c := *emp
			if errs := c.Normalize(); len(errs) > 0 {
				t.Errorf("employee/%d does not validate: %v", id, errs)
			}
		}

		periods, err := canary.DeclaredPeriods(ctx, r.Store)
		if err != nil || !slices.Equal(periods, []string{"202608", "202609"}) {
			t.Fatalf("declared periods %v, %v; want 202608 202609", periods, err)
		}
		rep, err := planter.Declare(ctx, pl, periods)
		if err != nil || rep.Accepted == 0 || rep.Rejected > 0 {
			t.Fatalf("declaring for the canaries: %+v, %v", rep, err)
		}
		declared := 0
		for aff := range canaryAffs {
			if h, err := r.Gate.DeclarationHistory(reveal, aff); err == nil && len(h) > 0 {
				declared++
			}
		}
		if declared == 0 {
			t.Error("no canary employer has a declaration history")
		}

		// The entries are listed with their agencies, read from the store.
		list, err := canary.List(ctx, r.Store, pl.Refs)
		if err != nil || len(list) != len(pl.Refs) {
			t.Fatalf("List: %d entries, %v", len(list), err)
		}
		for i, e := range list {
			if e.Record != pl.Refs[i] || !strings.HasPrefix(e.Record, e.Kind+"/") || (e.Kind == "employer") != (e.Agency != "") {
				t.Errorf("entry %+v for %s", e, pl.Refs[i])
			}
		}

		// A given size is kept exactly.
		one, err := planter.Plant(ctx, 1, 4)
		if err != nil {
			t.Fatal(err)
		}
		if one.Employers != 1 || len(one.Refs) != 5 || !strings.HasPrefix(one.Refs[0], "employer/") {
			t.Fatalf("one employer of 4: %v", one.Refs)
		}

		for _, c := range commands {
			if c != canary.LoadCommand && c != canary.DeclareCommand {
				t.Errorf("planting ran as %q: the journal would name the command", c)
			}
		}
		if !slices.Contains(commands, canary.LoadCommand) || !slices.Contains(commands, canary.DeclareCommand) {
			t.Errorf("planting ran as %v; want the load and declare commands", commands)
		}
	})
}

// TestList: the list file is created and kept owner-only, each plant appended under its header;
// ReadList reads every reference back, nil without a file; a malformed reference is EINVALID.
func TestList(t *testing.T) {
	dir := t.TempDir()
	if refs, err := canary.ReadList(dir); refs != nil || err != nil {
		t.Fatalf("no list: %v, %v", refs, err)
	}
	path := filepath.Join(dir, canary.File)
	at := time.Date(2026, 10, 5, 10, 0, 0, 0, time.FixedZone("", 3600))
	if err := canary.AppendList(path, at, &canary.Planted{Employers: 1, Refs: []string{"employer/7", "employee/42", "employee/43"}}); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil { // loosened by hand: the next plant tightens it
		t.Fatal(err)
	}
	if err := canary.AppendList(path, at.Add(time.Hour), &canary.Planted{Employers: 1, Refs: []string{"employer/8", "employee/44"}}); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("%s: %v, mode %v", path, err, st.Mode())
	}
	want := "# planted 2026-10-05T09:00:00Z count 1\nemployer/7\nemployee/42\nemployee/43\n" +
		"# planted 2026-10-05T10:00:00Z count 1\nemployer/8\nemployee/44\n"
	if raw, _ := os.ReadFile(path); string(raw) != want {
		t.Fatalf("list:\n%s\nwant:\n%s", raw, want)
	}
	refs, err := canary.ReadList(dir)
	if err != nil || !slices.Equal(refs, []string{"employer/7", "employee/42", "employee/43", "employer/8", "employee/44"}) {
		t.Fatalf("ReadList: %v, %v", refs, err)
	}

	for _, ref := range []string{"employer/0", "employer/-1", "employer/x", "employee", "person/3", "employer/7/8", ""} {
		t.Run("ErrMalformed", func(t *testing.T) {
			_, err := canary.List(context.Background(), nil, []string{"employee/1", ref})
			if amane.ErrorCode(err) != amane.EINVALID {
				t.Errorf("List(%q): %v, want EINVALID", ref, err)
			}
		})
	}
	if list, err := canary.List(context.Background(), nil, []string{"employee/1"}); err != nil || len(list) != 1 || list[0] != (canary.Entry{Record: "employee/1", Kind: "employee"}) {
		t.Errorf("an employee's entry: %+v, %v", list, err)
	}
}
