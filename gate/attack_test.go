package gate_test

// Attacks on the gate's rules (issue 12), each written as the attack: it succeeded before the rule it
// tests, and the test fails if the rule goes.

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"amane"
	"amane/amanetest"
	"amane/attest"
	"amane/gate"
	"amane/journal"
	"amane/sentinel"

	"github.com/jackc/pgx/v5"
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

// rawJournal returns every stored journal entry as the store holds it (the encoded bytes, read back
// without decoding), one string.
func rawJournal(t *testing.T, r *amanetest.Registry) string {
	t.Helper()
	js := r.Store
	n, err := js.JournalSize(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	raw, err := js.JournalEntries(context.Background(), 0, n)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, e := range raw {
		b.Write(e)
		b.WriteByte('\n')
	}
	return b.String()
}

// TestUnknownAndOutOfScopeAnswerAlike: for an employer user, an agent and an insured person, every
// lookup by number answers a number outside their scope exactly as an unknown one (same code, same
// message; a CIN search the same empty list), and both are journaled as denied: the out-of-scope one
// against its record, the unknown one with no record and without the number typed. Before the rule,
// out of scope was 403 and unknown 404 (unjournaled): an existence oracle.
func TestUnknownAndOutOfScopeAnswerAlike(t *testing.T) {
	amanetest.Each(t, func(t *testing.T, r *amanetest.Registry) {
		f := fixtureOf(r)
		rabat, casa := twoEmployers(t, f)
		issue := func(req gate.AttestationRequest) func(ctx context.Context) (any, error) {
			return func(ctx context.Context) (any, error) { return issueOne(f.gate, ctx, req) }
		}
		cases := []struct {
			name         string
			roles        []string
			out, unknown func(ctx context.Context) (any, error)
			unknownTyped string // the unknown number, never in the journal
		}{
			{"Employee", nil,
				func(ctx context.Context) (any, error) { return f.gate.Employee(ctx, "423456789") },
				func(ctx context.Context) (any, error) { return f.gate.Employee(ctx, "623456789") }, "623456789"},
			{"EmployeeByID", nil,
				func(ctx context.Context) (any, error) { return f.gate.EmployeeByID(ctx, rabat) },
				func(ctx context.Context) (any, error) { return f.gate.EmployeeByID(ctx, 987654) }, "987654"},
			{"Employer", nil,
				func(ctx context.Context) (any, error) { return f.gate.Employer(ctx, "7654321") },
				func(ctx context.Context) (any, error) { return f.gate.Employer(ctx, "7777777") }, "7777777"},
			{"Declaration", nil,
				func(ctx context.Context) (any, error) { return f.gate.Declaration(ctx, "7654321", "202410") },
				func(ctx context.Context) (any, error) { return f.gate.Declaration(ctx, "7777777", "202410") }, "7777777"},
			{"DeclarationHistory", nil,
				func(ctx context.Context) (any, error) { return f.gate.DeclarationHistory(ctx, "7654321") },
				func(ctx context.Context) (any, error) { return f.gate.DeclarationHistory(ctx, "7777777") }, "7777777"},
			{"SubmitDeclaration", []string{amane.RoleEmployer, amane.RoleAgent},
				func(ctx context.Context) (any, error) {
					return f.gate.SubmitDeclaration(ctx, &amane.Declaration{Affiliation: "7654321", Period: "202410"})
				},
				func(ctx context.Context) (any, error) {
					return f.gate.SubmitDeclaration(ctx, &amane.Declaration{Affiliation: "7777777", Period: "202410"})
				}, "7777777"},
			{"UpdateEmployee", []string{amane.RoleAgent},
				func(ctx context.Context) (any, error) {
					return nil, f.gate.UpdateEmployee(ctx, Employee("423456789", "EE987654", "Tazi", "Nadia", "1234567"))
				},
				func(ctx context.Context) (any, error) {
					return nil, f.gate.UpdateEmployee(ctx, Employee("623456789", "EE987655", "Tazi", "Nadia", "1234567"))
				}, "623456789"},
			{"UpdateEmployer", []string{amane.RoleAgent},
				func(ctx context.Context) (any, error) { return nil, f.gate.UpdateEmployer(ctx, Employer("7654321")) },
				func(ctx context.Context) (any, error) { return nil, f.gate.UpdateEmployer(ctx, Employer("7777777")) }, "7777777"},
			{"AttestThirdParty", []string{amane.RoleEmployer, amane.RoleAgent},
				issue(gate.AttestationRequest{Kind: attest.KindThirdParty, Affiliation: "7654321"}),
				issue(gate.AttestationRequest{Kind: attest.KindThirdParty, Affiliation: "7777777"}), "7777777"},
			{"AttestSalary", []string{amane.RoleAgent},
				issue(gate.AttestationRequest{Kind: attest.KindSalary, Imm: "423456789"}),
				issue(gate.AttestationRequest{Kind: attest.KindSalary, Imm: "623456789"}), "623456789"},
		}
		for _, p := range []*amane.Principal{
			{ID: "token/50", Role: amane.RoleEmployer, Affiliation: "1234567", Token: true},
			{ID: "account/51", Role: amane.RoleAgent, Agency: "CASA-ANFA"},
			{ID: "account/52", Role: amane.RoleInsured, EmployeeID: casa},
		} {
			ctx := amanetest.As(p)
			for _, c := range cases {
				if c.roles != nil && !slices.Contains(c.roles, p.Role) {
					continue
				}
				t.Run(p.Role+"/"+c.name, func(t *testing.T) {
					got, outErr := c.out(ctx)
					if outErr == nil {
						t.Fatalf("out of scope answered %+v", got)
					}
					outEntry := last(t, r, p.ID)
					before := len(entries(t, r))
					_, unknownErr := c.unknown(ctx)
					if amane.ErrorCode(outErr) != amane.ENOTFOUND || amane.ErrorCode(unknownErr) != amane.ENOTFOUND ||
						amane.ErrorMessage(outErr) != amane.ErrorMessage(unknownErr) {
						t.Fatalf("out of scope %v, unknown %v: two answers", outErr, unknownErr)
					}
					if outEntry.Outcome != journal.Denied || outEntry.Record == "" {
						t.Errorf("out of scope journaled as %+v", outEntry)
					}
					es := entries(t, r)
					if len(es) != before+1 || es[before].Outcome != journal.Denied || es[before].Record != "" || !strings.HasPrefix(es[before].Reason, "unknown ") {
						t.Errorf("the unknown lookup is journaled as %d entries, last %+v", len(es)-before, es[len(es)-1])
					}
				})
			}
			// A CIN search: the same empty list, both journaled; the unknown CIN is not in the journal.
			t.Run(p.Role+"/EmployeesByCIN", func(t *testing.T) {
				if p.Role == amane.RoleInsured {
					t.Skip("an insured person does not search")
				}
				out, err := f.gate.EmployeesByCIN(ctx, "EE987654")
				if err != nil || len(out) != 0 {
					t.Fatalf("out of scope: %+v %v", out, err)
				}
				if e := last(t, r, p.ID); e.Outcome != journal.Denied || e.Record != "employee/"+itoa(rabat) {
					t.Errorf("out of scope journaled as %+v", e)
				}
				unknown, err := f.gate.EmployeesByCIN(ctx, "ZX998877")
				if err != nil || len(unknown) != 0 {
					t.Fatalf("unknown: %+v %v", unknown, err)
				}
				if e := last(t, r, p.ID); e.Outcome != journal.Denied || e.Record != "" || e.Reason != "unknown cin" {
					t.Errorf("unknown journaled as %+v", e)
				}
			})
		}
		raw := rawJournal(t, r)
		for _, typed := range []string{"623456789", "7777777", "ZX998877", "EE987655"} {
			if strings.Contains(raw, typed) {
				t.Errorf("the journal holds the number typed %q", typed)
			}
		}
	})
}

// TestTypedPurposeNeverReachesTheJournal: a reference must match its purpose's configured pattern, and
// what is refused is journaled only as the rule it broke. Names, a RIB, "cin-K450111", e-mail
// addresses, a CIN, an immatriculation and a phone number are each refused as references — on a read
// (journaled against the record), a search and an employer user's reveal — and the journal, read back
// raw from the store, holds none of them; a 900 KB purpose code or reference journals a bounded entry
// ("unknown purpose"). Before the rule, the names, the RIB, "cin-K450111" and a dotted e-mail were
// accepted and journaled as references, the refused ones were journaled verbatim, and the purpose
// header was journaled whole whatever its length.
func TestTypedPurposeNeverReachesTheJournal(t *testing.T) {
	amanetest.Each(t, func(t *testing.T, r *amanetest.Registry) {
		f := fixtureOf(r)
		f.seed(t)
		refs := []string{"TAZI-NADIA", "Nadia.Tazi", "El_Idrissi.Said", "007810007800020110620303", "cin-K450111", "K450111",
			"k.berrada@atlas.example", "k.berrada.atlas.example", "AB123456", "423456789", "0612345678", "DOS-2026/0001x", "dos-2026/0001"}
		agent := &amane.Principal{ID: "account/60", Role: amane.RoleAgent, Agency: "CASA-ANFA"}
		employer := &amane.Principal{ID: "token/61", Role: amane.RoleEmployer, Affiliation: "1234567", Token: true}
		bare := func(p *amane.Principal, code, ref string) context.Context {
			return amane.NewContextWithPurpose(amane.NewContextWithPrincipal(context.Background(), p), amane.Purpose{Code: code, Reference: ref})
		}
		for _, ref := range refs {
			before := len(entries(t, r))
			if _, err := f.gate.Employee(bare(agent, "dossier", ref), "123456789"); amane.ErrorCode(err) != amane.EINVALID {
				t.Errorf("read with reference %q: %v", ref, err)
			}
			if _, err := f.gate.SearchEmployees(bare(agent, "dossier", ref), "said", 10); amane.ErrorCode(err) != amane.EINVALID {
				t.Errorf("search with reference %q: %v", ref, err)
			}
			if _, err := f.gate.Employee(amane.NewContextWithReveal(bare(employer, "dossier", ref), amane.FieldCIN), "123456789"); amane.ErrorCode(err) != amane.EINVALID {
				t.Errorf("employer's reveal with reference %q: %v", ref, err)
			}
			es := entries(t, r)
			if len(es) != before+3 {
				t.Fatalf("reference %q: %d entries journaled, want 3 denials", ref, len(es)-before)
			}
			for _, e := range es[before:] {
				if e.Outcome != journal.Denied || e.Reference != "" || e.Purpose != "dossier" || !strings.HasPrefix(e.Reason, "reference ") {
					t.Errorf("reference %q journaled as %+v", ref, e)
				}
			}
			if es[before].Record != "employee/1" {
				t.Errorf("a refused read is journaled against %q, want the record", es[before].Record)
			}
		}
		// Huge codes and references: refused, journaled as a bounded entry.
		huge := strings.Repeat("A", 900<<10)
		for name, ctx := range map[string]context.Context{
			"code":      bare(agent, huge, "DOS-2026/0001"),
			"reference": bare(agent, "dossier", huge),
			"both":      bare(employer, huge, huge),
		} {
			before := len(entries(t, r))
			if _, err := f.gate.Employee(ctx, "123456789"); amane.ErrorCode(err) != amane.EINVALID {
				t.Errorf("huge %s: %v", name, err)
			}
			es := entries(t, r)
			if len(es) != before+1 || es[before].Purpose != "" && es[before].Purpose != "dossier" || es[before].Reference != "" {
				t.Errorf("huge %s journaled as %+v", name, es[len(es)-1])
			}
		}
		// An unknown purpose code: journaled as "unknown purpose", never as the text typed.
		if _, err := f.gate.Employee(bare(agent, "curiosite-Nadia-Tazi", "DOS-2026/0001"), "123456789"); amane.ErrorCode(err) != amane.EINVALID {
			t.Errorf("unknown purpose: %v", err)
		}
		if e := last(t, r, agent.ID); e.Purpose != "" || e.Reference != "" || e.Reason != "unknown purpose" {
			t.Errorf("unknown purpose journaled as %+v", e)
		}
		// An honest reference passes, and is journaled as stated.
		if _, err := f.gate.Employee(bare(agent, "dossier", "DOS-2026/0142"), "123456789"); err != nil {
			t.Fatalf("an honest reference: %v", err)
		}
		if e := last(t, r, agent.ID); e.Outcome != journal.Allowed || e.Reference != "DOS-2026/0142" {
			t.Errorf("an honest read journaled as %+v", e)
		}
		raw := rawJournal(t, r)
		if len(raw) > 200<<10 {
			t.Errorf("the journal holds %d bytes after a few dozen entries", len(raw))
		}
		for _, ref := range append(refs, "curiosite", "Nadia", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA") {
			if strings.Contains(raw, ref) {
				t.Errorf("the journal holds %q", ref)
			}
		}
	})
}

// TestPurposesConfiguration: the default purposes pass amane.CheckPurposes; a purpose without a
// reference pattern, with one that does not compile, or with an odd code does not.
func TestPurposesConfiguration(t *testing.T) {
	if err := amane.CheckPurposes(amane.DefaultPurposes); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]amane.PurposeChoice{
		"NoPattern":  {Code: "x", Label: "X"},
		"NoFormat":   {Code: "x", Label: "X", Reference: `X-\d{4}`},
		"BadPattern": {Code: "x", Label: "X", Reference: `X-(\d{4}`, Format: "X-NNNN"},
		"Unanchored": {Code: "x", Label: "X", Reference: `X-\d{4})|(.*`, Format: "X-NNNN"},
		"BadCode":    {Code: "X Y", Label: "X", Reference: `X-\d{4}`, Format: "X-NNNN"},
		"LongCode":   {Code: strings.Repeat("x", 33), Label: "X", Reference: `X-\d{4}`, Format: "X-NNNN"},
	} {
		if err := amane.CheckPurposes([]amane.PurposeChoice{c}); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// The pattern is matched whole: a configured `X-\d{4}` does not take "X-1234 and more".
	g := fixtureOf(amanetest.Open(t)).gate.SetPurposes([]amane.PurposeChoice{{Code: "x", Label: "X", Reference: `X-\d{4}`, Format: "X-NNNN"}})
	p := &amane.Principal{ID: "account/62", Role: amane.RoleSupervisor}
	for ref, ok := range map[string]bool{"X-1234": true, "X-1234 and more": false, "aX-1234": false} {
		ctx := amane.NewContextWithPurpose(amane.NewContextWithPrincipal(context.Background(), p), amane.Purpose{Code: "x", Reference: ref})
		_, err := g.SearchEmployees(ctx, "said", 10)
		if (err == nil) != ok {
			t.Errorf("reference %q: %v", ref, err)
		}
	}
}

// tamper runs fn with an exec and a one-value query directly on the registry's store (SQLite or
// PostgreSQL): an attacker with write access to the database, not through Amane. Statements number
// their parameters $1, $2.
func tamper(t *testing.T, r *amanetest.Registry, fn func(exec func(q string, args ...any), get func(q string, args ...any) []byte)) {
	t.Helper()
	tamperAt(t, r, r.DBPath, fn)
}

// tamperAt is tamper on SQLite's file at sqlitePath (the registry's, or the journal's own file); on
// PostgreSQL every table is in the registry's database.
func tamperAt(t *testing.T, r *amanetest.Registry, sqlitePath string, fn func(exec func(q string, args ...any), get func(q string, args ...any) []byte)) {
	t.Helper()
	ctx := context.Background()
	if r.Kind == "postgres" {
		c, err := pgx.Connect(ctx, r.DBPath)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close(ctx)
		fn(func(q string, args ...any) {
			if _, err := c.Exec(ctx, q, args...); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}, func(q string, args ...any) (b []byte) {
			if err := c.QueryRow(ctx, q, args...).Scan(&b); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
			return b
		})
		return
	}
	db, err := sql.Open("sqlite", sqlitePath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	lite := strings.NewReplacer("$1", "?1", "$2", "?2").Replace
	fn(func(q string, args ...any) {
		if _, err := db.ExecContext(ctx, lite(q), args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}, func(q string, args ...any) (b []byte) {
		if err := db.QueryRowContext(ctx, lite(q), args...).Scan(&b); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return b
	})
}

// swapColumn swaps a unique column's values between two employees, through a third value (unique
// indexes are checked row by row).
func swapColumn(t *testing.T, r *amanetest.Registry, col string, a, b int64) {
	t.Helper()
	tamper(t, r, func(exec func(string, ...any), get func(string, ...any) []byte) {
		va, vb := get(`SELECT `+col+` FROM employees WHERE id = $1`, a), get(`SELECT `+col+` FROM employees WHERE id = $1`, b)
		exec(`UPDATE employees SET `+col+` = $1 WHERE id = $2`, []byte("parked while swapping"), a)
		exec(`UPDATE employees SET `+col+` = $1 WHERE id = $2`, va, b)
		exec(`UPDATE employees SET `+col+` = $1 WHERE id = $2`, vb, a)
	})
}

// TestBlindIndexSwap: an attacker with write access to the store swaps the immatriculation, then the
// CIN, blind indexes of two people, 123456789 (El Idrissi, id 1) and 223456789 (Chérif, id 2). A
// lookup by the first's number then lands on the second's row: the gate opens the sealed value it
// looked up, finds another, and refuses with an integrity error (an internal error, logged in full by
// the adapter, so that the tampering is seen), journaled against the row found, releasing nothing of
// either person; an update by that number does not overwrite the other person, and the CLI binds no
// account to them. Before the rule, the lookups answered the other person.
func TestBlindIndexSwap(t *testing.T) {
	amanetest.Each(t, func(t *testing.T, r *amanetest.Registry) {
		f := fixtureOf(r)
		f.seed(t)
		agent := &amane.Principal{ID: "account/70", Role: amane.RoleAgent, Agency: "CASA-ANFA"}
		ctx := amane.NewContextWithReveal(amanetest.As(agent), amane.RevealAll)
		refused := func(what string, got any, err error) {
			t.Helper()
			if amane.ErrorCode(err) != amane.EINTERNAL || !strings.Contains(err.Error(), "integrity") {
				t.Errorf("%s: %+v %v, want an integrity error", what, got, err)
			}
			if err != nil && (strings.Contains(err.Error(), "Chérif") || strings.Contains(err.Error(), "C654321")) {
				t.Errorf("%s: the error names the other person: %v", what, err)
			}
			if e := last(t, r, agent.ID); e.Outcome != journal.Denied || e.Record != "employee/2" || !strings.HasPrefix(e.Reason, "integrity") {
				t.Errorf("%s journaled as %+v", what, e)
			}
		}
		swapColumn(t, r, "imm_bidx", 1, 2)
		e, err := f.gate.Employee(ctx, "123456789")
		refused("read by immatriculation", e, err)
		found, err := f.gate.EmployeesByCIN(ctx, "C654321") // the CIN index is intact: the right person
		if err != nil || len(found) != 1 || found[0].Surname != "Chérif" {
			t.Errorf("by the intact CIN: %+v %v", found, err)
		}
		upd := Employee("123456789", "AB123456", "Overwritten", "Saïd", "1234567")
		err = f.gate.UpdateEmployee(amanetest.As(agent), upd)
		refused("update by immatriculation", nil, err)
		if _, err := f.gate.ResolveInsured(amanetest.Context(amane.RoleSystem), "123456789"); amane.ErrorCode(err) != amane.EINTERNAL {
			t.Errorf("the CLI binds 123456789 to: %v", err)
		}
		swapColumn(t, r, "imm_bidx", 1, 2) // back
		swapColumn(t, r, "cin_bidx", 1, 2)
		found, err = f.gate.EmployeesByCIN(ctx, "AB123456")
		refused("search by CIN", found, err)
		swapColumn(t, r, "cin_bidx", 1, 2) // back: both people read as themselves again
		chérif, err := f.gate.Employee(f.ctx, "223456789")
		if err != nil || chérif.Surname != "Chérif" {
			t.Fatalf("after restoring: %+v %v", chérif, err)
		}
	})
}

// TestRevokeAndConsoleRefusalsJournaled: an agent of another agency revokes an employer's attestation:
// refused as an unknown code would be, both journaled (before, any agent revoked any attestation,
// unjournaled when unknown); an agent reading the sentinel's alerts or lifting a response is refused
// and journaled (before, not journaled).
func TestRevokeAndConsoleRefusalsJournaled(t *testing.T) {
	amanetest.Each(t, func(t *testing.T, r *amanetest.Registry) {
		f, d := declFixture(t, r)
		if _, err := submitFile(t, f, f.ctx, "DS_1234567_202410.txt", encode(t, d)); err != nil {
			t.Fatal(err)
		}
		doc, err := issueOne(f.gate, f.ctx, gate.AttestationRequest{Kind: attest.KindThirdParty, Affiliation: "1234567"})
		if err != nil {
			t.Fatal(err)
		}
		code := doc.(*attest.Document).Summary.Code
		rabat := amanetest.As(&amane.Principal{ID: "account/80", Role: amane.RoleAgent, Agency: "RABAT-AGDAL"})
		outErr := f.gate.RevokeAttestation(rabat, code, "erreur")
		outEntry := last(t, r, "account/80")
		unknownErr := f.gate.RevokeAttestation(rabat, attest.NewCode(), "erreur")
		if amane.ErrorCode(outErr) != amane.ENOTFOUND || amane.ErrorCode(unknownErr) != amane.ENOTFOUND || amane.ErrorMessage(outErr) != amane.ErrorMessage(unknownErr) {
			t.Fatalf("another agency's attestation: %v; an unknown code: %v", outErr, unknownErr)
		}
		if e := last(t, r, "account/80"); outEntry.Outcome != journal.Denied || outEntry.Record != "employer/1" || e.Outcome != journal.Denied || e.Record != "" {
			t.Errorf("journaled as %+v and %+v", outEntry, e)
		}
		if _, status, _ := f.gate.AttestationStatus(context.Background(), code); status != amane.AttestationValid {
			t.Fatalf("revoked by another agency: %s", status)
		}
		casa := amanetest.As(&amane.Principal{ID: "account/81", Role: amane.RoleAgent, Agency: "CASA-ANFA"})
		if err := f.gate.RevokeAttestation(casa, code, "erreur"); err != nil {
			t.Fatalf("the employer's agency revokes: %v", err)
		}
		if _, err := f.gate.Alerts(rabat, 0, 10); amane.ErrorCode(err) != amane.EFORBIDDEN {
			t.Errorf("an agent reads the alerts: %v", err)
		}
		if e := last(t, r, "account/80"); e.Outcome != journal.Denied || e.Action != "sentinel-alerts" {
			t.Errorf("journaled as %+v", e)
		}
		if _, err := f.gate.Lift(rabat, "account/81"); amane.ErrorCode(err) != amane.EFORBIDDEN {
			t.Errorf("an agent lifts: %v", err)
		}
		if e := last(t, r, "account/80"); e.Outcome != journal.Denied || e.Action != "sentinel-lift" {
			t.Errorf("journaled as %+v", e)
		}
	})
}

// events is a sentinel that records what the gate reports, and admits everyone.
type events struct{ got []sentinel.Event }

func (s *events) Observe(e sentinel.Event) []sentinel.Response { s.got = append(s.got, e); return nil }
func (s *events) Admit(string, time.Time) string               { return "" }
func (s *events) Standing(string) string                       { return "" }
func (s *events) Hold(string, string)                          {}
func (s *events) Lift(string)                                  {}
func (s *events) AdmitRelease([]sentinel.Event) string         { return "" }

// TestPendingEmploymentIsNotHome: the sentinel counts a read of a record outside the principal's
// home more; a pending employment at the principal's agency must not make a stranger's record
// "inside home" (before, it did, and the sentinel saw the B04 reads as ordinary).
func TestPendingEmploymentIsNotHome(t *testing.T) {
	amanetest.Each(t, func(t *testing.T, r *amanetest.Registry) {
		f := fixtureOf(r)
		twoEmployers(t, f)
		stranger(t, f) // validated at RABAT-AGDAL, pending at CASA-ANFA
		only := Employee("723456789", "EG445566", "Bennis", "Hind", "1234567")
		only.Employments[0].State = amane.EmploymentPending // nowhere validated
		if err := f.gate.CreateEmployee(f.ctx, only); err != nil {
			t.Fatal(err)
		}
		s := &events{}
		f.gate.UseSentinel(s)
		casa := amanetest.As(&amane.Principal{ID: "account/90", Role: amane.RoleAgent, Agency: "CASA-ANFA"})
		for _, imm := range []string{"523456789", "723456789"} {
			s.got = nil
			f.gate.Employee(casa, imm)
			if len(s.got) != 1 || s.got[0].RecordHome == "" || s.got[0].RecordHome == "CASA-ANFA" || s.got[0].Outcome != journal.Denied {
				t.Errorf("%s: the sentinel saw %+v", imm, s.got)
			}
		}
	})
}

// TestTyposAreNotProbes: a mistyped identifier (wrong length) reaches nobody; it is journaled but not
// counted by the sentinel, so an honest agent is never throttled or suspended for typing. A
// well-formed number the registry does not hold is a probe: counted, and a run of them contains the
// prober (denials suspend at 12 a day by default).
func TestTyposAreNotProbes(t *testing.T) {
	amanetest.Each(t, func(t *testing.T, r *amanetest.Registry) {
		f := fixtureOf(r)
		twoEmployers(t, f)
		live := sentinel.NewLive(sentinel.New(sentinel.DefaultConfig(), nil))
		f.gate.UseSentinel(live)
		clock := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
		f.gate.Now = func() time.Time { return clock }
		purpose := amane.Purpose{Code: "dossier", Reference: "DOS-2026/0042"}
		typist := amane.NewContextWithPurpose(amanetest.As(&amane.Principal{ID: "account/95", Role: amane.RoleAgent, Agency: "CASA-ANFA"}), purpose)
		prober := amane.NewContextWithPurpose(amanetest.As(&amane.Principal{ID: "account/96", Role: amane.RoleAgent, Agency: "CASA-ANFA"}), purpose)
		for i := range 20 {
			clock = clock.Add(2 * time.Second)
			if _, err := f.gate.Employee(typist, fmt.Sprintf("1234%d", i)); amane.ErrorCode(err) != amane.EINVALID {
				t.Fatalf("typo %d: %v, want invalid", i, err)
			}
		}
		if s := live.Standing("account/95"); s != "" {
			t.Errorf("20 typos: the sentinel stands at %q, want nothing", s)
		}
		n := 0
		for _, e := range entries(t, r) {
			if e.Principal == "account/95" && e.Outcome == journal.Denied && e.Reason == "invalid immatriculation" && e.Record == "" {
				n++
			}
		}
		if n != 20 {
			t.Errorf("20 typos journaled %d times, want 20", n)
		}
		for i := range 20 {
			clock = clock.Add(2 * time.Second)
			f.gate.Employee(prober, fmt.Sprintf("9%08d", 10000+i))
		}
		if !live.Suspended("account/96") {
			t.Errorf("20 well-formed unknown numbers: standing %q, want suspended", live.Standing("account/96"))
		}
	})
}
