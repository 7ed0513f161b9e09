package gate_test

// Cases (issue 14, item 1): who may open, assign, close and see them, each rule written as the attack
// it stops, on both stores.

import (
	"context"
	"slices"
	"strings"
	"testing"

	"amane"
	"amane/amanetest"
	"amane/journal"
	"amane/storetest"
)

// caseFixture is two agencies' records (twoEmployers) and three staff accounts: an agent of
// CASA-ANFA, another agent of CASA-ANFA, a supervisor.
type caseFixture struct {
	*fixture
	r                   *amanetest.Registry
	rabat, casa         int64 // employees
	casaEmployer        int64
	agent, peer, superv *amane.Principal
	agentCtx, supervCtx context.Context
}

func newCaseFixture(t *testing.T, r *amanetest.Registry) *caseFixture {
	t.Helper()
	f := fixtureOf(r)
	rabat, casa := twoEmployers(t, f)
	ctx := context.Background()
	emp, err := r.Store.EmployerIDByAffiliation(ctx, "1234567")
	if err != nil {
		t.Fatal(err)
	}
	account := func(login, role, agency string) *amane.Principal {
		a := storetest.Account(login, role)
		a.Agency = agency
		id, err := r.Store.CreateAccount(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		return &amane.Principal{ID: "account/" + itoa(id), Role: role, Agency: agency}
	}
	cf := &caseFixture{fixture: f, r: r, rabat: rabat, casa: casa, casaEmployer: emp,
		agent: account("agent-0001", amane.RoleAgent, "CASA-ANFA"), peer: account("agent-0002", amane.RoleAgent, "CASA-ANFA"),
		superv: account("superviseur-0001", amane.RoleSupervisor, "")}
	cf.agentCtx, cf.supervCtx = amanetest.As(cf.agent), amanetest.As(cf.superv)
	return cf
}

func request(number string, records ...string) *amane.Case {
	return &amane.Case{Type: amane.CaseRequest, Number: number, Records: records, Origin: "guichet"}
}

// caseEntries returns the journal entries of case acts (any action starting "case-").
func caseEntries(t *testing.T, r *amanetest.Registry) []*journal.Entry {
	var out []*journal.Entry
	for _, e := range entries(t, r) {
		if strings.HasPrefix(string(e.Action), "case-") {
			out = append(out, e)
		}
	}
	return out
}

// TestCaseOutsideAgencyIsRefused: an agent opens a case on a record of another agency, to cover
// reads of it later. Refused with the answer of an unknown record, journaled against the record;
// nothing is stored. On a record of its own agency the same act succeeds.
func TestCaseOutsideAgencyIsRefused(t *testing.T) {
	amanetest.Each(t, func(t *testing.T, r *amanetest.Registry) {
		cf := newCaseFixture(t, r)
		unknown := cf.gate.OpenCase(cf.agentCtx, request("PRE-2026/0009", "employee/999999"))
		err := cf.gate.OpenCase(cf.agentCtx, request("PRE-2026/0001", "employee/"+itoa(cf.rabat)))
		if amane.ErrorCode(err) != amane.ENOTFOUND || amane.ErrorMessage(err) != amane.ErrorMessage(unknown) {
			t.Fatalf("a case on another agency's record: %v (an unknown record: %v)", err, unknown)
		}
		e := last(t, r, cf.agent.ID)
		if e.Action != amane.ActionCaseOpen || e.Outcome != journal.Denied || e.Record != "employee/"+itoa(cf.rabat) || e.Reason != "outside the agency" {
			t.Fatalf("refusal journaled as %+v", e)
		}
		if _, err := r.Store.CaseByNumber(context.Background(), "PRE-2026/0001"); amane.ErrorCode(err) != amane.ENOTFOUND {
			t.Fatalf("the refused case was stored: %v", err)
		}
		// A case on its own agency's employee and another agency's employer: refused whole.
		err = cf.gate.OpenCase(cf.agentCtx, request("PRE-2026/0002", "employee/"+itoa(cf.casa), "employer/"+itoa(cf.casaEmployer+1000)))
		if amane.ErrorCode(err) != amane.ENOTFOUND {
			t.Fatalf("a case naming an unknown employer: %v", err)
		}

		// Inside the agency: opened, assigned to the agent alone whatever staff it names.
		c := request("PRE-2026/0003", "employee/"+itoa(cf.casa), "employer/"+itoa(cf.casaEmployer))
		c.Staff = []string{cf.peer.ID}
		if err := cf.gate.OpenCase(cf.agentCtx, c); err != nil {
			t.Fatal(err)
		}
		got, err := r.Store.CaseByNumber(context.Background(), "PRE-2026/0003")
		if err != nil || !slices.Equal(got.Staff, []string{cf.agent.ID}) || got.OpenedBy != cf.agent.ID || got.ID != c.ID || !got.Open() {
			t.Fatalf("opened case: %+v (%v)", got, err)
		}
		// An agent may not hand its case to another agency's team.
		c2 := request("PRE-2026/0004", "employee/"+itoa(cf.casa))
		c2.Team = "RABAT-AGDAL"
		if err := cf.gate.OpenCase(cf.agentCtx, c2); amane.ErrorCode(err) != amane.EFORBIDDEN {
			t.Fatalf("a case for another agency's team: %v", err)
		}
	})
}

// TestCaseRolesThatOpenNone: an employer user opens a staff case on its own employee (to make its
// declarations' people someone's work), an insured person one on themself, the DPO, the security
// officer and the auditor one on anybody: each is refused (EFORBIDDEN) and journaled. An agent may
// not open a control mission nor a batch job; the operator only batch jobs.
func TestCaseRolesThatOpenNone(t *testing.T) {
	amanetest.Each(t, func(t *testing.T, r *amanetest.Registry) {
		cf := newCaseFixture(t, r)
		rec := "employee/" + itoa(cf.casa)
		for _, p := range []*amane.Principal{
			{ID: "token/40", Role: amane.RoleEmployer, Affiliation: "1234567", Token: true},
			{ID: "account/41", Role: amane.RoleInsured, EmployeeID: cf.casa},
			{ID: "account/42", Role: amane.RoleDPO},
			{ID: "account/43", Role: amane.RoleSecurity},
			{ID: "account/44", Role: amane.RoleAuditor},
		} {
			t.Run(p.Role, func(t *testing.T) {
				if err := cf.gate.OpenCase(amanetest.As(p), request("PRE-2026/0001", rec)); amane.ErrorCode(err) != amane.EFORBIDDEN {
					t.Fatalf("%s opens a case: %v", p.Role, err)
				}
				if e := last(t, r, p.ID); e.Action != amane.ActionCaseOpen || e.Outcome != journal.Denied {
					t.Fatalf("refusal journaled as %+v", e)
				}
				if _, err := cf.gate.Cases(amanetest.As(p), amane.CaseFilter{}, 0); amane.ErrorCode(err) != amane.EFORBIDDEN {
					t.Fatalf("%s lists cases: %v", p.Role, err)
				}
			})
		}
		for _, tc := range []struct {
			name string
			ctx  context.Context
			c    *amane.Case
		}{
			{"AgentControl", cf.agentCtx, &amane.Case{Type: amane.CaseControl, Number: "CTL-2026/0001", Records: []string{rec}, Origin: "mission"}},
			{"AgentJob", cf.agentCtx, &amane.Case{Type: amane.CaseJob, Number: "TRT-2026/0001", Records: []string{rec}, Origin: "planification"}},
			{"SupervisorJob", cf.supervCtx, &amane.Case{Type: amane.CaseJob, Number: "TRT-2026/0002", Records: []string{rec}, Origin: "planification"}},
			{"OperatorRequest", amanetest.Context(amane.RoleOperator), request("PRE-2026/0003", rec)},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if err := cf.gate.OpenCase(tc.ctx, tc.c); amane.ErrorCode(err) != amane.EFORBIDDEN {
					t.Fatalf("opened: %v", err)
				}
			})
		}
		if _, err := r.Store.OpenCases(context.Background(), amane.CaseFilter{}, 0); err != nil {
			t.Fatal(err)
		} else if got, _ := r.Store.OpenCases(context.Background(), amane.CaseFilter{}, 0); len(got) != 0 {
			t.Fatalf("refused openings stored %d cases", len(got))
		}
		// The operator declares a batch job.
		job := &amane.Case{Type: amane.CaseJob, Number: "TRT-2026/0004", Records: []string{rec}, Origin: "planification", Staff: []string{"token/9"}}
		if err := cf.gate.OpenCase(amanetest.Context(amane.RoleOperator), job); err != nil {
			t.Fatalf("operator's batch job: %v", err)
		}
	})
}

// TestCaseActsAreJournaledWithTheNumber: a supervisor opens a control mission on an employer and one
// of its employees and assigns an agent; the agent closes it. Every act is journaled once per record,
// with the type's purpose and the case number, so that the person's access log will show the case.
// A colleague not assigned cannot see or close it: the answer of an unknown number, journaled without
// the case's number (the colleague could not reach it).
func TestCaseActsAreJournaledWithTheNumber(t *testing.T) {
	amanetest.Each(t, func(t *testing.T, r *amanetest.Registry) {
		cf := newCaseFixture(t, r)
		recs := []string{"employee/" + itoa(cf.casa), "employer/" + itoa(cf.casaEmployer)}
		mission := &amane.Case{Type: amane.CaseControl, Number: "CTL-2026/0042", Records: recs, Origin: "mission"}
		if err := cf.gate.OpenCase(cf.supervCtx, mission); err != nil {
			t.Fatal(err)
		}
		if err := cf.gate.AssignCase(cf.agentCtx, "CTL-2026/0042", []string{cf.agent.ID}, ""); amane.ErrorCode(err) != amane.EFORBIDDEN {
			t.Fatalf("an agent assigns itself a control mission: %v", err)
		}
		// Before the assignment the agent does not reach the case: like a number that does not exist.
		_, unknown := cf.gate.Case(cf.agentCtx, "CTL-2026/9999")
		if _, err := cf.gate.Case(cf.agentCtx, "CTL-2026/0042"); amane.ErrorCode(err) != amane.ENOTFOUND || amane.ErrorMessage(err) != amane.ErrorMessage(unknown) {
			t.Fatalf("an agent not assigned sees the case: %v", err)
		}
		if err := cf.gate.AssignCase(cf.supervCtx, "CTL-2026/0042", []string{cf.agent.ID}, ""); err != nil {
			t.Fatal(err)
		}
		// Assigning an insured person's account, or an account that does not exist, is refused.
		ins := storetest.Account("assure-0001", amane.RoleInsured)
		insID, err := r.Store.CreateAccount(context.Background(), ins)
		if err != nil {
			t.Fatal(err)
		}
		for _, who := range []string{"account/" + itoa(insID), "account/99999"} {
			if err := cf.gate.AssignCase(cf.supervCtx, "CTL-2026/0042", []string{who}, ""); amane.ErrorCode(err) != amane.EINVALID {
				t.Fatalf("assigning %s: %v", who, err)
			}
		}
		mine, err := cf.gate.Cases(cf.agentCtx, amane.CaseFilter{Principal: cf.peer.ID}, 0)
		if err != nil || len(mine) != 1 || mine[0].Number != "CTL-2026/0042" {
			t.Fatalf("the agent's cases (whatever filter it states): %+v (%v)", mine, err)
		}
		if theirs, err := cf.gate.Cases(amanetest.As(cf.peer), amane.CaseFilter{}, 0); err != nil || len(theirs) != 0 {
			t.Fatalf("a colleague's cases: %+v (%v)", theirs, err)
		}
		if err := cf.gate.CloseCase(amanetest.As(cf.peer), "CTL-2026/0042"); amane.ErrorCode(err) != amane.ENOTFOUND {
			t.Fatalf("a colleague closes the case: %v", err)
		}
		if err := cf.gate.CloseCase(cf.agentCtx, "CTL-2026/0042"); err != nil {
			t.Fatal(err)
		}
		if err := cf.gate.CloseCase(cf.agentCtx, "CTL-2026/0042"); amane.ErrorCode(err) != amane.ECONFLICT {
			t.Fatalf("closed twice: %v", err)
		}

		var allowed []string
		for _, e := range caseEntries(t, r) {
			if e.Outcome != journal.Allowed {
				continue
			}
			if e.Purpose != "controle" || e.Reference != "CTL-2026/0042" {
				t.Errorf("case act journaled without the case: %+v", e)
			}
			allowed = append(allowed, string(e.Action)+" "+e.Principal+" "+e.Record)
		}
		want := []string{
			"case-open " + cf.superv.ID + " " + recs[0], "case-open " + cf.superv.ID + " " + recs[1],
			"case-assign " + cf.superv.ID + " " + recs[0], "case-assign " + cf.superv.ID + " " + recs[1],
			"case-close " + cf.agent.ID + " " + recs[0], "case-close " + cf.agent.ID + " " + recs[1],
		}
		if !slices.Equal(allowed, want) {
			t.Fatalf("case acts journaled:\n%s\nwant\n%s", strings.Join(allowed, "\n"), strings.Join(want, "\n"))
		}
		if e := last(t, r, cf.peer.ID); e.Action != amane.ActionCaseClose || e.Outcome != journal.Denied || e.Reference == "CTL-2026/0042" {
			t.Fatalf("the colleague's refused close journaled as %+v", e)
		}
		if got, err := r.Store.CaseByNumber(context.Background(), "CTL-2026/0042"); err != nil || got.Open() || got.ClosedBy != cf.agent.ID {
			t.Fatalf("closed case: %+v (%v)", got, err)
		}
		// The insured person sees the case in "who accessed my data": opened, assigned, closed.
		log, err := cf.gate.AccessLog(amanetest.As(&amane.Principal{ID: "account/77", Role: amane.RoleInsured, EmployeeID: cf.casa}), 0)
		if err != nil {
			t.Fatal(err)
		}
		var seen []string
		for _, e := range log {
			if e.Reference == "CTL-2026/0042" && e.Outcome == amane.OutcomeAllowed {
				seen = append(seen, string(e.Action))
			}
		}
		if !slices.Equal(seen, []string{"case-open", "case-assign", "case-close"}) {
			t.Fatalf("the person's access log shows the case as %v", seen)
		}
	})
}

// TestCaseNumberIsNoIdentifier: a case "number" that is a CIN, an immatriculation or free text, or a
// number of another type's prefix, is refused (EINVALID) and never reaches the journal.
func TestCaseNumberIsNoIdentifier(t *testing.T) {
	amanetest.Each(t, func(t *testing.T, r *amanetest.Registry) {
		cf := newCaseFixture(t, r)
		rec := "employee/" + itoa(cf.casa)
		for _, n := range []string{"AB123456", "123456789", "Tazi Nadia", "CTL-2026/0001", "PRE-2026/00012"} {
			if err := cf.gate.OpenCase(cf.agentCtx, request(n, rec)); amane.ErrorCode(err) != amane.EINVALID {
				t.Fatalf("case number %q: %v", n, err)
			}
			if _, err := cf.gate.Case(cf.agentCtx, n); amane.ErrorCode(err) != amane.EINVALID && amane.ErrorCode(err) != amane.ENOTFOUND {
				t.Fatalf("case %q shown: %v", n, err)
			}
		}
		for _, e := range entries(t, r) {
			for _, v := range []string{"AB123456", "123456789", "Tazi", "CTL-2026/0001", "PRE-2026/00012"} {
				if e.Reference == v || strings.Contains(e.Reason, v) {
					t.Fatalf("journal holds %q: %+v", v, e)
				}
			}
		}
	})
}

// TestCaseAddRecord: an agent widens its own case to a record of another agency (to cover reads of
// it later): refused, as any assignment by an agent. A supervisor adds a record, journaled against
// that record with the case number; a closed case gains none.
func TestCaseAddRecord(t *testing.T) {
	amanetest.Each(t, func(t *testing.T, r *amanetest.Registry) {
		cf := newCaseFixture(t, r)
		if err := cf.gate.OpenCase(cf.agentCtx, request("PRE-2026/0007", "employee/"+itoa(cf.casa))); err != nil {
			t.Fatal(err)
		}
		rabat := "employee/" + itoa(cf.rabat)
		if err := cf.gate.AddCaseRecord(cf.agentCtx, "PRE-2026/0007", rabat); amane.ErrorCode(err) != amane.EFORBIDDEN {
			t.Fatalf("an agent widens its case: %v", err)
		}
		if err := cf.gate.AddCaseRecord(cf.supervCtx, "PRE-2026/0007", "employee/999999"); amane.ErrorCode(err) != amane.ENOTFOUND {
			t.Fatalf("an unknown record added: %v", err)
		}
		if err := cf.gate.AddCaseRecord(cf.supervCtx, "PRE-2026/0007", rabat); err != nil {
			t.Fatal(err)
		}
		if e := last(t, r, cf.superv.ID); e.Action != amane.ActionCaseAssign || e.Outcome != journal.Allowed || e.Record != rabat || e.Reference != "PRE-2026/0007" {
			t.Fatalf("added record journaled as %+v", e)
		}
		got, err := r.Store.CaseByNumber(context.Background(), "PRE-2026/0007")
		if err != nil || !got.Concerns(rabat) {
			t.Fatalf("case after the addition: %+v (%v)", got, err)
		}
		if err := cf.gate.CloseCase(cf.supervCtx, "PRE-2026/0007"); err != nil {
			t.Fatal(err)
		}
		if err := cf.gate.AddCaseRecord(cf.supervCtx, "PRE-2026/0007", "employer/"+itoa(cf.casaEmployer)); amane.ErrorCode(err) != amane.ECONFLICT {
			t.Fatalf("a record added to a closed case: %v", err)
		}
	})
}
