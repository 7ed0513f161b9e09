package gate_test

// Attacks on the gate's rules (issue 12), each written as the attack: it succeeded before the rule it
// tests, and the test fails if the rule goes.

import (
	"context"
	"strings"
	"testing"

	"amane"
	"amane/amanetest"
	"amane/attest"
	"amane/gate"
	"amane/journal"
)

// stranger is a person employed (validated) only at 7654321 (RABAT-AGDAL), with a pending employment
// at 1234567 (CASA-ANFA): an agent's create, as a B04 line would make it.
func stranger(t *testing.T, f *fixture) *amane.Employee {
	t.Helper()
	e := Employee("523456789", "EF112233", "Mansouri", "Karima", "7654321")
	e.Employments = append(e.Employments, amane.Employment{Affiliation: "1234567", Since: "2024-10-01", State: amane.EmploymentPending})
	if err := f.gate.CreateEmployee(f.ctx, e); err != nil {
		t.Fatal(err)
	}
	return e
}

// leaks fails the test if s holds any of the strangers' personal values.
func leaks(t *testing.T, what, s string) {
	t.Helper()
	for _, v := range []string{"Tazi", "Nadia", "EE987654", "Mansouri", "Karima", "EF112233", "423456789", "523456789"} {
		if strings.Contains(strings.ToUpper(s), strings.ToUpper(v)) {
			t.Errorf("%s releases %q: %s", what, v, s)
		}
	}
}

// TestPendingEmploymentWidensNoScope: an employer user declares, in a B04 line of its own declaration,
// the immatriculation of a person employed only at another agency's employer (423456789); a second
// stranger has a pending employment at the same employer. Neither the employer user nor an agent of
// the employer's agency then reads anything of them — by immatriculation (revealing the CIN), by CIN,
// by name, by internal id, in the employer's list of employees — and every answer is the answer to
// an unknown number. Before the rule, the declaration's pending employment put the stranger in both
// scopes and the read answered the true name and CIN.
func TestPendingEmploymentWidensNoScope(t *testing.T) {
	amanetest.Each(t, func(t *testing.T, r *amanetest.Registry) {
		f, d := declFixture(t, r)
		other := stranger(t, f)
		nadia, err := f.gate.Employee(f.ctx, "423456789")
		if err != nil {
			t.Fatal(err)
		}
		employer := amanetest.As(&amane.Principal{ID: "token/40", Role: amane.RoleEmployer, Affiliation: "1234567", Token: true})
		// The attack: the employer's own declaration names the stranger as a new employee (B04).
		res, err := submitFile(t, f, employer, "DS_1234567_202410.txt", encode(t, d))
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("declaration naming a stranger: %s, %d pending", res.Status, res.Pending)

		unknownErr := func(ctx context.Context) error {
			_, err := f.gate.Employee(ctx, "623456789")
			return err
		}
		for _, p := range []*amane.Principal{
			{ID: "token/40", Role: amane.RoleEmployer, Affiliation: "1234567", Token: true},
			{ID: "account/41", Role: amane.RoleAgent, Agency: "CASA-ANFA"},
		} {
			t.Run(p.Role, func(t *testing.T) {
				ctx := amane.NewContextWithReveal(amanetest.As(p), amane.RevealAll)
				want := unknownErr(ctx)
				if amane.ErrorCode(want) != amane.ENOTFOUND {
					t.Fatalf("an unknown number: %v", want)
				}
				for _, s := range []struct {
					imm, cin, name string
					id             int64
				}{{"423456789", "EE987654", "nadia tazi", nadia.ID}, {"523456789", "EF112233", "karima mansouri", other.ID}} {
					e, err := f.gate.Employee(ctx, s.imm)
					if e != nil || amane.ErrorCode(err) != amane.ErrorCode(want) || amane.ErrorMessage(err) != amane.ErrorMessage(want) {
						t.Errorf("read %s by immatriculation: %+v %v, want the unknown number's answer %v", s.imm, e, err, want)
					}
					if e := last(t, r, p.ID); e.Outcome != journal.Denied || e.Record != "employee/"+itoa(s.id) {
						t.Errorf("the refusal is journaled as %+v", e)
					}
					e, err = f.gate.EmployeeByID(ctx, s.id)
					if e != nil || amane.ErrorCode(err) != amane.ErrorCode(want) || amane.ErrorMessage(err) != amane.ErrorMessage(want) {
						t.Errorf("read %d by id: %+v %v", s.id, e, err)
					}
					found, err := f.gate.EmployeesByCIN(ctx, s.cin)
					if err != nil || len(found) != 0 {
						t.Errorf("by CIN: %+v %v", found, err)
					}
					found, err = f.gate.SearchEmployees(ctx, s.name, 10)
					if err != nil || len(found) != 0 {
						t.Errorf("by name: %+v %v", found, err)
					}
					if err != nil {
						leaks(t, "an error", err.Error())
					}
				}
				emp, err := f.gate.Employer(ctx, "1234567")
				if err != nil {
					t.Fatal(err)
				}
				for _, e := range emp.Employees {
					if e.ID == nadia.ID || e.ID == other.ID {
						t.Errorf("the employer's list shows a stranger: %+v", e)
					}
				}
				pre, err := f.gate.Preetabli(ctx, "1234567", "202411")
				if err != nil {
					t.Fatal(err)
				}
				for _, l := range pre.Lines {
					leaks(t, "the préétabli", l.Imm+" "+l.Surname+" "+l.FirstName)
				}
			})
		}
		// The sentinel's record home: a pending employment does not make the stranger "inside home".
		// (employeeScope counts validated employments only; checked above through every read path.)
	})
}

// TestRolesWithoutPersonalData: the DPO, the security officer and the auditor, with a purpose and
// asking every field in clear, try every path that releases personal data — reads by immatriculation,
// id and CIN, name search, the employer (representative's CIN, RIB, e-mail, phone), its declarations
// (salaries), their history, the préétabli, each kind of attestation, another person's access log,
// and the writes. Each is refused and journaled as denied, and no answer holds a name, a CIN, a RIB or
// a salary. They keep the journal's views. Before the rule, the DPO read all of it (national scope).
func TestRolesWithoutPersonalData(t *testing.T) {
	amanetest.Each(t, func(t *testing.T, r *amanetest.Registry) {
		f, d := declFixture(t, r)
		if _, err := submitFile(t, f, f.ctx, "DS_1234567_202410.txt", encode(t, d)); err != nil {
			t.Fatal(err)
		}
		said, err := f.gate.Employee(f.ctx, "123456789")
		if err != nil {
			t.Fatal(err)
		}
		personal := []string{"El Idrissi", "Saïd", "AB123456", "Berrada", "Khadija", "BE123456", "k.berrada", "0612345678",
			"00781000780002011062", "Chérif", "C654321", "800000", "8000", "Tazi", "EE987654"}
		for _, role := range []string{amane.RoleDPO, amane.RoleSecurity, amane.RoleAuditor} {
			t.Run(role, func(t *testing.T) {
				p := &amane.Principal{ID: "account/" + role, Role: role}
				ctx := amane.NewContextWithReveal(amanetest.As(p), amane.RevealAll)
				for _, try := range []struct {
					name string
					call func() (any, error)
				}{
					{"Employee", func() (any, error) { return f.gate.Employee(ctx, "123456789") }},
					{"EmployeeByID", func() (any, error) { return f.gate.EmployeeByID(ctx, said.ID) }},
					{"EmployeesByCIN", func() (any, error) { return f.gate.EmployeesByCIN(ctx, "AB123456") }},
					{"SearchEmployees", func() (any, error) { return f.gate.SearchEmployees(ctx, "said", 10) }},
					{"Employer", func() (any, error) { return f.gate.Employer(ctx, "1234567") }},
					{"Declaration", func() (any, error) { return f.gate.Declaration(ctx, "1234567", "202410") }},
					{"DeclarationHistory", func() (any, error) { return f.gate.DeclarationHistory(ctx, "1234567") }},
					{"Preetabli", func() (any, error) { return f.gate.Preetabli(ctx, "1234567", "202411") }},
					{"AccessLog", func() (any, error) { return f.gate.AccessLog(ctx, said.ID) }},
					{"AttestEmployees", func() (any, error) {
						return issueOne(f.gate, ctx, gate.AttestationRequest{Kind: attest.KindEmployees, Affiliation: "1234567"})
					}},
					{"AttestThirdParty", func() (any, error) {
						return issueOne(f.gate, ctx, gate.AttestationRequest{Kind: attest.KindThirdParty, Affiliation: "1234567"})
					}},
					{"AttestSalary", func() (any, error) {
						return issueOne(f.gate, ctx, gate.AttestationRequest{Kind: attest.KindSalary, Imm: "123456789"})
					}},
					{"SubmitDeclaration", func() (any, error) {
						return f.gate.SubmitDeclaration(ctx, &amane.Declaration{Affiliation: "1234567", Period: "202409"})
					}},
					{"UpdateEmployee", func() (any, error) {
						return nil, f.gate.UpdateEmployee(ctx, Employee("123456789", "AB123456", "El Idrissi", "Saïd", "1234567"))
					}},
					{"UpdateEmployer", func() (any, error) { return nil, f.gate.UpdateEmployer(ctx, Employer("1234567")) }},
				} {
					before := len(entries(t, r))
					got, err := try.call()
					if err == nil {
						t.Errorf("%s: allowed, answered %+v", try.name, got)
						continue
					}
					if c := amane.ErrorCode(err); c != amane.EFORBIDDEN {
						t.Errorf("%s: %v, want forbidden", try.name, err)
					}
					for _, v := range personal {
						if strings.Contains(err.Error(), v) {
							t.Errorf("%s: the refusal holds %q", try.name, v)
						}
					}
					es := entries(t, r)
					if len(es) != before+1 || es[before].Principal != p.ID || es[before].Outcome != journal.Denied {
						t.Errorf("%s: journal %d → %d entries, want one denial", try.name, before, len(es))
					}
				}
				// The journal's own views stay theirs.
				if _, err := f.gate.Journal(ctx, 0, 10); err != nil {
					t.Errorf("the journal: %v", err)
				}
				if _, err := f.gate.Alerts(ctx, 0, 10); err != nil {
					t.Errorf("the alerts: %v", err)
				}
			})
		}
	})
}

func issueOne(g *gate.Gate, ctx context.Context, req gate.AttestationRequest) (any, error) {
	docs, errs, err := g.Attestations(ctx, []gate.AttestationRequest{req})
	if err != nil {
		return nil, err
	}
	if errs[0] != nil {
		return nil, errs[0]
	}
	return docs[0], nil
}
