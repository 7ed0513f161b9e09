package gate_test

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"

	"amane"
	"amane/amanetest"
	"amane/gate"
	"amane/journal"
)

// entries returns every journal entry of the registry's store, decoded.
func entries(t *testing.T, r *amanetest.Registry) []*journal.Entry {
	t.Helper()
	ctx := context.Background()
	js := r.Store
	n, err := js.JournalSize(ctx)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := js.JournalEntries(ctx, 0, n)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]*journal.Entry, len(raw))
	for i, b := range raw {
		if out[i], err = journal.DecodeEntry(b); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// last returns the last entry whose principal is p.
func last(t *testing.T, r *amanetest.Registry, principal string) *journal.Entry {
	t.Helper()
	es := entries(t, r)
	for i := len(es) - 1; i >= 0; i-- {
		if es[i].Principal == principal {
			return es[i]
		}
	}
	t.Fatalf("no journal entry of %s", principal)
	return nil
}

// twoEmployers seeds employer 1234567 (agency CASA-ANFA) with three people, and employer 7654321
// (agency RABAT-AGDAL) with one, 423456789; it returns the internal id of 423456789 and 123456789.
func twoEmployers(t *testing.T, f *fixture) (rabat, casa int64) {
	t.Helper()
	f.seed(t)
	other := Employer("7654321")
	other.Agency, other.Name = "RABAT-AGDAL", "OASIS SERVICES SA"
	if err := f.gate.CreateEmployer(f.ctx, other); err != nil {
		t.Fatal(err)
	}
	e := Employee("423456789", "EE987654", "Tazi", "Nadia", "7654321")
	if err := f.gate.CreateEmployee(f.ctx, e); err != nil {
		t.Fatal(err)
	}
	c, err := f.gate.Employee(f.ctx, "123456789")
	if err != nil {
		t.Fatal(err)
	}
	return e.ID, c.ID
}

// TestScopeDenialsAreJournaled: an employer user reading another employer's employee, and an agent
// reading outside its agency, are refused (ENOTFOUND, the answer of an unknown number) and the refusal is in the journal with the
// record's internal reference; inside their scope the same principals read, journaled as allowed.
func TestScopeDenialsAreJournaled(t *testing.T) {
	amanetest.Each(t, func(t *testing.T, r *amanetest.Registry) {
		f := fixtureOf(r)
		rabat, casa := twoEmployers(t, f)
		for _, tc := range []struct {
			name string
			p    *amane.Principal
		}{
			{"employer", &amane.Principal{ID: "token/1", Role: amane.RoleEmployer, Affiliation: "1234567", Token: true}},
			{"agent", &amane.Principal{ID: "account/7", Role: amane.RoleAgent, Agency: "CASA-ANFA"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				ctx := amanetest.As(tc.p)
				if _, err := f.gate.Employee(ctx, "423456789"); amane.ErrorCode(err) != amane.ENOTFOUND {
					t.Fatalf("read outside scope: %v", err)
				}
				e := last(t, r, tc.p.ID)
				if e.Outcome != journal.Denied || e.Record != "employee/"+itoa(rabat) || e.Role != tc.p.Role || e.Scope != tc.p.Scope() ||
					e.Purpose != amanetest.Purpose.Code || e.Reference != amanetest.Purpose.Reference || e.Reason == "" {
					t.Fatalf("denial journaled as %+v", e)
				}
				if _, err := f.gate.Employer(ctx, "7654321"); amane.ErrorCode(err) != amane.ENOTFOUND {
					t.Fatalf("employer outside scope: %v", err)
				}
				got, err := f.gate.Employee(ctx, "123456789")
				if err != nil || got.Surname != "El Idrissi" {
					t.Fatalf("read inside scope: %+v %v", got, err)
				}
				if e := last(t, r, tc.p.ID); e.Outcome != journal.Allowed || e.Record != "employee/"+itoa(casa) || e.Action != "read" {
					t.Fatalf("read journaled as %+v", e)
				}
				// A search shows only what is in scope.
				found, err := f.gate.SearchEmployees(ctx, "nadia tazi", 10)
				if err != nil || len(found) != 0 {
					t.Fatalf("search outside scope found %d: %v", len(found), err)
				}
			})
		}
	})
}

// TestStaffMustStateAPurpose: an agent's read without a purpose, with an unknown one, or with a CIN as
// reference is refused before anything is opened, and journaled against the record (so that the person
// sees the attempt); a search without one is refused outright; an employer user needs none for a masked
// read, but does for a reveal; the auditor reads the journal without one (it holds no personal data).
func TestStaffMustStateAPurpose(t *testing.T) {
	amanetest.Each(t, func(t *testing.T, r *amanetest.Registry) {
		f := fixtureOf(r)
		f.seed(t)
		agent := &amane.Principal{ID: "account/3", Role: amane.RoleAgent, Agency: "CASA-ANFA"}
		bare := amane.NewContextWithPrincipal(context.Background(), agent)
		for name, ctx := range map[string]context.Context{
			"none":        bare,
			"unknown":     amane.NewContextWithPurpose(bare, amane.Purpose{Code: "curiosity", Reference: "X-1"}),
			"no ref":      amane.NewContextWithPurpose(bare, amane.Purpose{Code: "dossier"}),
			"CIN as ref":  amane.NewContextWithPurpose(bare, amane.Purpose{Code: "dossier", Reference: "AB123456"}),
			"imm as ref":  amane.NewContextWithPurpose(bare, amane.Purpose{Code: "dossier", Reference: "123456789"}),
			"ref too odd": amane.NewContextWithPurpose(bare, amane.Purpose{Code: "dossier", Reference: "a b"}),
		} {
			before := len(entries(t, r))
			if _, err := f.gate.Employee(ctx, "123456789"); amane.ErrorCode(err) != amane.EINVALID {
				t.Fatalf("%s: %v", name, err)
			}
			es := entries(t, r)
			if len(es) != before+1 || es[before].Outcome != journal.Denied || es[before].Record != "employee/1" {
				t.Fatalf("%s: journal %d → %d entries, last %+v", name, before, len(es), es[len(es)-1])
			}
			if _, err := f.gate.SearchEmployees(ctx, "said", 10); amane.ErrorCode(err) != amane.EINVALID {
				t.Fatalf("%s: search: %v", name, err)
			}
		}
		auditor := amane.NewContextWithPrincipal(context.Background(), &amane.Principal{ID: "account/8", Role: amane.RoleAuditor})
		if _, err := f.gate.Journal(auditor, 0, 10); err != nil {
			t.Fatalf("auditor without purpose: %v", err)
		}
		emp := amane.NewContextWithPrincipal(context.Background(), &amane.Principal{ID: "token/2", Role: amane.RoleEmployer, Affiliation: "1234567"})
		if _, err := f.gate.Employee(emp, "123456789"); err != nil {
			t.Fatalf("employer masked read: %v", err)
		}
		if _, err := f.gate.Employee(amane.NewContextWithReveal(emp, amane.FieldCIN), "123456789"); amane.ErrorCode(err) != amane.EINVALID {
			t.Fatalf("employer reveal without purpose: %v", err)
		}
	})
}

// TestRevealIsItsOwnAccess: values are masked unless revealed; a reveal is journaled as "reveal" with
// the fields shown in clear; roles without personal data (security, auditor) are refused.
func TestRevealIsItsOwnAccess(t *testing.T) {
	amanetest.Each(t, func(t *testing.T, r *amanetest.Registry) {
		f := fixtureOf(r)
		f.seed(t)
		agent := &amane.Principal{ID: "account/4", Role: amane.RoleAgent, Agency: "CASA-ANFA"}
		ctx := amanetest.As(agent)
		e, err := f.gate.Employer(ctx, "1234567")
		if err != nil {
			t.Fatal(err)
		}
		if e.Representative.CIN != "BE••••56" || !strings.HasSuffix(e.RIB, "0303") || strings.Contains(e.RIB[:len(e.RIB)-4], "0") || e.Email != "k•••@…" {
			t.Fatalf("not masked: %+v", e.Employer)
		}
		if le := last(t, r, agent.ID); le.Action != "read" || slices.Contains(le.Fields, "rib") {
			t.Fatalf("masked read journaled as %+v", le)
		}
		e, err = f.gate.Employer(amane.NewContextWithReveal(ctx, amane.FieldRIB), "1234567")
		if err != nil || strings.Contains(e.RIB, "•") || e.Email != "k•••@…" {
			t.Fatalf("reveal rib: %+v %v", e, err)
		}
		es := entries(t, r)
		if le := es[len(es)-1]; le.Action != "reveal" || !slices.Contains(le.Fields, "rib") || slices.Contains(le.Fields, "email") {
			t.Fatalf("reveal journaled as %+v", le)
		}
		if _, err := f.gate.Employee(amane.NewContextWithReveal(ctx, "salaire"), "123456789"); amane.ErrorCode(err) != amane.EINVALID {
			t.Fatalf("unknown field revealed: %v", err)
		}
		for _, role := range []string{amane.RoleSecurity, amane.RoleAuditor} {
			if _, err := f.gate.Employee(amanetest.Context(role), "123456789"); amane.ErrorCode(err) != amane.EFORBIDDEN {
				t.Fatalf("%s read personal data: %v", role, err)
			}
		}
	})
}

// TestWhoAccessedMyData: an insured person reads their own record only, sees who accessed it (role,
// agency, purpose, outcome), and gets inclusion proofs of those entries that check offline with the
// journal's public key; not of anyone else's. The auditor reads the journal; the insured may not.
func TestWhoAccessedMyData(t *testing.T) {
	amanetest.Each(t, func(t *testing.T, r *amanetest.Registry) {
		f := fixtureOf(r)
		_, casa := twoEmployers(t, f)
		agent := amanetest.As(&amane.Principal{ID: "account/5", Role: amane.RoleAgent, Agency: "CASA-ANFA"})
		if _, err := f.gate.Employee(agent, "123456789"); err != nil {
			t.Fatal(err)
		}
		me := amane.NewContextWithPrincipal(context.Background(), &amane.Principal{ID: "account/9", Role: amane.RoleInsured, EmployeeID: casa})
		if _, err := f.gate.Employee(me, "123456789"); err != nil {
			t.Fatalf("own record: %v", err)
		}
		if _, err := f.gate.Employee(me, "223456789"); amane.ErrorCode(err) != amane.ENOTFOUND {
			t.Fatalf("another's record: %v", err)
		}
		log, err := f.gate.AccessLog(me, 0)
		if err != nil {
			t.Fatal(err)
		}
		var agentEntry *amane.AccessEntry
		for i := range log {
			if log[i].Record != "employee/"+itoa(casa) {
				t.Fatalf("entry about another record in my log: %+v", log[i])
			}
			if log[i].Principal == "account/5" {
				agentEntry = &log[i]
			}
		}
		if agentEntry == nil || agentEntry.Scope != "CASA-ANFA" || agentEntry.Role != amane.RoleAgent || agentEntry.Purpose != "dossier" || agentEntry.Outcome != journal.Allowed {
			t.Fatalf("the agent's read is not in my log as expected: %+v", log)
		}
		proof, err := f.gate.AccessProof(me, agentEntry.Index)
		if err != nil {
			t.Fatal(err)
		}
		_, verifier, err := journal.LoadKeys(r.Dir)
		if err != nil {
			t.Fatal(err)
		}
		if err := journal.CheckProof(proof, verifier); err != nil {
			t.Fatalf("proof does not check: %v", err)
		}
		if _, err := f.gate.AccessProof(me, 0); amane.ErrorCode(err) != amane.EFORBIDDEN {
			t.Fatalf("proof of another's entry: %v", err)
		}
		if _, err := f.gate.AccessLog(me, casa+1); amane.ErrorCode(err) != amane.EFORBIDDEN {
			t.Fatalf("another's log: %v", err)
		}
		if _, err := f.gate.Journal(me, 0, 10); amane.ErrorCode(err) != amane.EFORBIDDEN {
			t.Fatalf("insured read the journal: %v", err)
		}
		page, err := f.gate.Journal(amanetest.Context(amane.RoleAuditor), 0, 5)
		if err != nil || len(page) != 5 || page[0].Index < page[4].Index {
			t.Fatalf("auditor's page: %+v %v", page, err)
		}
		rep, err := journal.Verify(context.Background(), r.Store, verifier)
		if err != nil || !rep.OK() {
			t.Fatalf("journal verify: %+v %v", rep, err)
		}
	})
}

// TestFailsClosedWithoutJournal: a gate with no journal opens nothing.
func TestFailsClosedWithoutJournal(t *testing.T) {
	r := amanetest.Open(t)
	f := fixtureOf(r)
	f.seed(t)
	g := gate.New(r.Store, r.Vault)
	if _, err := g.Employee(f.ctx, "123456789"); amane.ErrorCode(err) != amane.EINTERNAL {
		t.Fatalf("read without a journal: %v", err)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
