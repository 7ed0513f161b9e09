package gate_test

// Case binding (issue 14, item 2), with the binding on: each rule written as the attack it stops, on
// both stores. With the binding off (every other test of the package), nothing changes.

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"amane"
	"amane/amanetest"
	"amane/gate"
	"amane/journal"
)

// bindCtx is p stating purpose "prestation" with reference ref, and a break-the-glass reason if not "".
func bindCtx(p *amane.Principal, ref, reason string) context.Context {
	ctx := amane.NewContextWithPurpose(amane.NewContextWithPrincipal(context.Background(), p), amane.Purpose{Code: "prestation", Reference: ref})
	if reason != "" {
		ctx = amane.NewContextWithBreakGlass(ctx, amane.BreakGlass{Reason: reason})
	}
	return ctx
}

// boundFixture is the case fixture with the binding on and case PRE-2026/0001 on the CASA-ANFA
// employee, opened by (so assigned to) the agent.
func boundFixture(t *testing.T, r *amanetest.Registry) *caseFixture {
	t.Helper()
	cf := newCaseFixture(t, r)
	if err := cf.gate.OpenCase(cf.agentCtx, request("PRE-2026/0001", "employee/"+itoa(cf.casa))); err != nil {
		t.Fatal(err)
	}
	r.Gate.UseCaseBinding(gate.CaseBinding{})
	return cf
}

// refusedHorsDossier checks a read was refused for want of a case, and journaled against the record.
func refusedHorsDossier(t *testing.T, r *amanetest.Registry, p *amane.Principal, record string, err error) {
	t.Helper()
	if amane.ErrorCode(err) != amane.EFORBIDDEN {
		t.Fatalf("read outside a case without a reason: %v", err)
	}
	e := last(t, r, p.ID)
	if e.Action != amane.ActionRead || e.Outcome != journal.Denied || e.Record != record || e.Reason != "hors dossier: no reason given" {
		t.Fatalf("refusal journaled as %+v", e)
	}
}

// TestBindCaseOfSomeoneElse: an agent of the same agency states the number of a case assigned to a
// colleague, to read its record. Refused without a reason, journaled; the colleague reads it under
// the case, journaled with the case number as reference.
func TestBindCaseOfSomeoneElse(t *testing.T) {
	amanetest.Each(t, func(t *testing.T, r *amanetest.Registry) {
		cf := boundFixture(t, r)
		rec := "employee/" + itoa(cf.casa)
		_, err := cf.gate.EmployeeByID(bindCtx(cf.peer, "PRE-2026/0001", ""), cf.casa)
		refusedHorsDossier(t, r, cf.peer, rec, err)

		if _, err := cf.gate.EmployeeByID(bindCtx(cf.agent, "PRE-2026/0001", ""), cf.casa); err != nil {
			t.Fatalf("read under the right case: %v", err)
		}
		e := last(t, r, cf.agent.ID)
		if e.Outcome != journal.Allowed || e.Record != rec || e.Reference != "PRE-2026/0001" || strings.Contains(e.Reason, "hors dossier") {
			t.Fatalf("read under the case journaled as %+v", e)
		}
		// Assigned to the agency: the colleague now reads under it.
		if err := cf.gate.AssignCase(cf.supervCtx, "PRE-2026/0001", nil, "CASA-ANFA"); err != nil {
			t.Fatal(err)
		}
		if _, err := cf.gate.EmployeeByID(bindCtx(cf.peer, "PRE-2026/0001", ""), cf.casa); err != nil {
			t.Fatalf("read under a case assigned to the reader's agency: %v", err)
		}
	})
}

// TestBindClosedCase: the agent keeps reading a record under its case once the case is closed.
// Refused without a reason, journaled.
func TestBindClosedCase(t *testing.T) {
	amanetest.Each(t, func(t *testing.T, r *amanetest.Registry) {
		cf := boundFixture(t, r)
		if err := cf.gate.CloseCase(cf.agentCtx, "PRE-2026/0001"); err != nil {
			t.Fatal(err)
		}
		_, err := cf.gate.EmployeeByID(bindCtx(cf.agent, "PRE-2026/0001", ""), cf.casa)
		refusedHorsDossier(t, r, cf.agent, "employee/"+itoa(cf.casa), err)
	})
}

// TestBindCaseNotConcerningRecord: the agent states a case of its own that names another record (its
// employer), to read the employee; or a reference of the right shape that is no case at all. Refused
// without a reason, journaled. The employer itself reads under that case.
func TestBindCaseNotConcerningRecord(t *testing.T) {
	amanetest.Each(t, func(t *testing.T, r *amanetest.Registry) {
		cf := boundFixture(t, r)
		if err := cf.gate.OpenCase(cf.agentCtx, request("PRE-2026/0002", "employer/"+itoa(cf.casaEmployer))); err != nil {
			t.Fatal(err)
		}
		rec := "employee/" + itoa(cf.casa)
		_, err := cf.gate.EmployeeByID(bindCtx(cf.agent, "PRE-2026/0002", ""), cf.casa)
		refusedHorsDossier(t, r, cf.agent, rec, err)
		_, err = cf.gate.EmployeeByID(bindCtx(cf.agent, "PRE-2026/0099", ""), cf.casa)
		refusedHorsDossier(t, r, cf.agent, rec, err)

		if _, err := cf.gate.Employer(bindCtx(cf.agent, "PRE-2026/0002", ""), "1234567"); err != nil {
			t.Fatalf("employer read under its case: %v", err)
		}
		_, err = cf.gate.Employer(bindCtx(cf.agent, "PRE-2026/0001", ""), "1234567")
		refusedHorsDossier(t, r, cf.agent, "employer/"+itoa(cf.casaEmployer), err)
	})
}

// TestBreakGlassWithReason: a reader without a case gives a written reason: allowed, journaled as hors
// dossier with the reason. A reason too short, too long, or holding a person's identifier (a CIN, an
// immatriculation, a phone number written with spaces) is refused and journaled by the rule it broke,
// never its text.
func TestBreakGlassWithReason(t *testing.T) {
	amanetest.Each(t, func(t *testing.T, r *amanetest.Registry) {
		cf := boundFixture(t, r)
		reason := "appel urgent de l'agence, dossier papier"
		if _, err := cf.gate.EmployeeByID(bindCtx(cf.peer, "PRE-2026/0001", reason), cf.casa); err != nil {
			t.Fatalf("break the glass with a reason: %v", err)
		}
		e := last(t, r, cf.peer.ID)
		if e.Outcome != journal.Allowed || e.Record != "employee/"+itoa(cf.casa) || e.Reason != "hors dossier: "+reason {
			t.Fatalf("read hors dossier journaled as %+v", e)
		}
		for _, bad := range []string{"urgent", strings.Repeat("motif ", 40), "demande de AB123456 au guichet", "voir 123456789 svp merci", "ligne\x00cachée pour rien", "rappeler au +212 661 234 567 demain"} {
			_, err := cf.gate.EmployeeByID(bindCtx(cf.peer, "PRE-2026/0001", bad), cf.casa)
			if amane.ErrorCode(err) != amane.EINVALID {
				t.Fatalf("reason %q: %v", bad, err)
			}
			e := last(t, r, cf.peer.ID)
			if e.Outcome != journal.Denied || !strings.HasPrefix(e.Reason, "hors dossier: reason must") || strings.Contains(e.Reason, "AB123456") || strings.Contains(e.Reason, "123456789") {
				t.Fatalf("refused reason journaled as %+v", e)
			}
		}
	})
}

// TestBreakGlassCap: an agent breaks the glass again and again to read the registry hors dossier.
// The 21st of the day is refused (journaled); the next UTC day counts again. Forty concurrent
// attempts of another account let exactly 20 through.
func TestBreakGlassCap(t *testing.T) {
	amanetest.Each(t, func(t *testing.T, r *amanetest.Registry) {
		cf := boundFixture(t, r)
		now := time.Date(2026, 12, 8, 10, 0, 0, 0, time.UTC)
		r.Gate.Now = func() time.Time { return now }
		ctx := bindCtx(cf.peer, "PRE-2026/0001", "appel urgent de l'agence, dossier papier")
		for i := range 20 {
			if _, err := cf.gate.EmployeeByID(ctx, cf.casa); err != nil {
				t.Fatalf("break the glass #%d: %v", i+1, err)
			}
		}
		if _, err := cf.gate.EmployeeByID(ctx, cf.casa); amane.ErrorCode(err) != amane.EFORBIDDEN {
			t.Fatalf("21st break the glass of the day: %v", err)
		}
		if e := last(t, r, cf.peer.ID); e.Outcome != journal.Denied || e.Reason != "hors dossier: daily cap reached" {
			t.Fatalf("refusal journaled as %+v", e)
		}
		// Under its case the agent still reads: the cap is on reads hors dossier only.
		if _, err := cf.gate.EmployeeByID(bindCtx(cf.agent, "PRE-2026/0001", ""), cf.casa); err != nil {
			t.Fatal(err)
		}
		now = now.Add(24 * time.Hour)
		if _, err := cf.gate.EmployeeByID(ctx, cf.casa); err != nil {
			t.Fatalf("break the glass the next day: %v", err)
		}

		sctx := bindCtx(cf.superv, "PRE-2026/0001", "contrôle inopiné demandé par la direction")
		var wg sync.WaitGroup
		var mu sync.Mutex
		allowed, capped := 0, 0
		for range 40 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := cf.gate.EmployeeByID(sctx, cf.casa)
				mu.Lock()
				defer mu.Unlock()
				switch amane.ErrorCode(err) {
				case "":
					allowed++
				case amane.EFORBIDDEN:
					capped++
				default:
					t.Errorf("concurrent break the glass: %v", err)
				}
			}()
		}
		wg.Wait()
		if allowed != 20 || capped != 20 {
			t.Fatalf("40 concurrent: %d allowed, %d refused; want 20 and 20", allowed, capped)
		}
	})
}

// TestBindLeavesOthersAlone: employer users and insured people are not bound (their scope is the
// record itself), nor the CLI; the operator is (batch jobs' cases). With the binding off, an agent's
// read without a case works as before.
func TestBindLeavesOthersAlone(t *testing.T) {
	amanetest.Each(t, func(t *testing.T, r *amanetest.Registry) {
		cf := newCaseFixture(t, r)
		if _, err := cf.gate.EmployeeByID(bindCtx(cf.peer, "PRE-2026/0077", ""), cf.casa); err != nil {
			t.Fatalf("binding off: a read without a case: %v", err)
		}
		r.Gate.UseCaseBinding(gate.CaseBinding{BreakGlassPerDay: 3})
		employer := &amane.Principal{ID: "token/40", Role: amane.RoleEmployer, Affiliation: "1234567", Token: true}
		insured := &amane.Principal{ID: "account/41", Role: amane.RoleInsured, EmployeeID: cf.casa}
		if _, err := cf.gate.EmployeeByID(bindCtx(employer, "PRE-2026/0077", ""), cf.casa); err != nil {
			t.Fatalf("employer user under binding: %v", err)
		}
		if _, err := cf.gate.Employer(bindCtx(employer, "PRE-2026/0077", ""), "1234567"); err != nil {
			t.Fatalf("employer user reads itself under binding: %v", err)
		}
		if _, err := cf.gate.EmployeeByID(amanetest.As(insured), cf.casa); err != nil {
			t.Fatalf("insured person under binding: %v", err)
		}
		if _, err := cf.gate.EmployeeByID(amanetest.Context(amane.RoleSystem), cf.casa); err != nil {
			t.Fatalf("the CLI under binding: %v", err)
		}
		operator := amanetest.Context(amane.RoleOperator)
		if _, err := cf.gate.EmployeeByID(operator, cf.casa); amane.ErrorCode(err) != amane.EFORBIDDEN {
			t.Fatalf("the operator outside its batch cases: %v", err)
		}
		// Bound, the agent now needs a case or a reason.
		_, err := cf.gate.EmployeeByID(bindCtx(cf.peer, "PRE-2026/0077", ""), cf.casa)
		refusedHorsDossier(t, r, cf.peer, "employee/"+itoa(cf.casa), err)
	})
}
