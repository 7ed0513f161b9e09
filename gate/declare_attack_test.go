package gate_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"amane"
	"amane/amanetest"
	"amane/attest"
	"amane/damancom"
	"amane/gate"
	"amane/journal"
	"amane/sentinel"
)

// storeExec runs one statement on the registry's store behind the gate's back, as an attacker with
// the database's credentials would.
func storeExec(t *testing.T, r *amanetest.Registry, stmt string) {
	t.Helper()
	if r.Kind == "postgres" {
		c, err := pgx.Connect(context.Background(), r.DBPath)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close(context.Background())
		if _, err := c.Exec(context.Background(), stmt); err != nil {
			t.Fatal(err)
		}
		return
	}
	db, err := sql.Open("sqlite", r.DBPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(stmt); err != nil {
		t.Fatal(err)
	}
}

// mixedFile is a declaration of employer 1234567 for period: its three people, then 523456789 (a
// real person, employed by 7654321) and invented numbers, 200 B02 lines in all.
func mixedFile(t *testing.T, d *damancom.Declaration, period string) ([]byte, []string) {
	t.Helper()
	m := *d
	m.Employer.Period = period
	m.Lines = append([]damancom.Line(nil), d.Lines...)
	m.New, m.BlankB04 = nil, true
	numbers := []string{"523456789"}
	for i := len(numbers) + len(m.Lines); i < 200; i++ {
		numbers = append(numbers, fmt.Sprintf("5%08d", 1000+i))
	}
	for _, n := range numbers {
		m.Lines = append(m.Lines, damancom.Line{Insured: damancom.Insured{Number: n}, Days: 26, RealSalary: 300000, CappedSalary: 300000})
	}
	return encode(t, &m), numbers
}

// TestDeclarationIsNoExistenceOracle replays the attack: one file of real and invented insured
// numbers. Into a closed period it gets the period's refusal and nothing about any line; into an
// open period a real person employed elsewhere and an invented number get the same answer, without
// the number; and the submission is journaled as a denial with a count (no number) that the sentinel
// counts as that many denied requests, suspending the sender. On both stores.
func TestDeclarationIsNoExistenceOracle(t *testing.T) {
	amanetest.Each(t, testDeclarationIsNoExistenceOracle)
}

func testDeclarationIsNoExistenceOracle(t *testing.T, r *amanetest.Registry) {
	f, d := declFixture(t, r)
	if res, err := submitFile(t, f, f.ctx, "DS_1234567_202410.txt", encode(t, d)); err != nil || res.Status != amane.DeclAccepted {
		t.Fatalf("the honest declaration: %+v %v", res, err)
	}
	if err := f.gate.CreateEmployee(f.ctx, Employee("523456789", "EE555555", "Alami", "Omar", "7654321")); err != nil {
		t.Fatal(err)
	}
	live := sentinel.NewLive(sentinel.New(sentinel.DefaultConfig(), nil))
	var mu sync.Mutex
	var got []sentinel.Response
	live.OnResponse = func(r sentinel.Response) { mu.Lock(); got = append(got, r); mu.Unlock() }
	f.gate.UseSentinel(live)
	attacker := amanetest.As(&amane.Principal{ID: "account/66", Role: amane.RoleEmployer, Affiliation: "1234567"})

	closed, numbers := mixedFile(t, d, "202410")
	res, err := submitFile(t, f, attacker, "", closed)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != amane.DeclRejected || len(res.Problems) != 1 || res.Problems[0].Line != 0 || res.Problems[0].Field != "L_Periode" {
		t.Fatalf("into a closed period: %d problems %+v, want the period's refusal alone", len(res.Problems), first(res.Problems))
	}
	if live.Suspended("account/66") {
		t.Fatal("a refusal of the period counted the lines it never looked at")
	}

	open, _ := mixedFile(t, d, "202409")
	res, err = submitFile(t, f, attacker, "", open)
	if err != nil {
		t.Fatal(err)
	}
	byLine := map[int]amane.FieldError{}
	for _, p := range res.Problems {
		byLine[p.Line] = p
	}
	// Lines 3-5 are the employer's people; line 6 the real person employed elsewhere; 7 on invented.
	if len(res.Problems) != len(numbers) {
		t.Fatalf("%d problems, want one per number not the employer's (%d)", len(res.Problems), len(numbers))
	}
	real, invented := byLine[6], byLine[7]
	if real.Field != "N_Num_Assure" || real.Rule != invented.Rule || real.Expected != invented.Expected || real.Found != invented.Found || real.Record != invented.Record {
		t.Fatalf("a real person elsewhere %+v and an invented number %+v are told apart", real, invented)
	}
	for _, p := range res.Problems {
		if p.Found != "" || strings.Contains(p.Rule, "unknown") {
			t.Fatalf("a line answer carries the number or says it is unknown: %+v", p)
		}
	}
	var signal *journal.Entry
	for _, e := range entries(t, r) {
		for _, n := range numbers {
			if strings.Contains(e.Reason, n) || strings.Contains(e.Reference, n) || strings.Contains(strings.Join(e.Fields, ","), n) {
				t.Fatalf("the journal holds an insured number: %+v", e)
			}
		}
		if e.Principal == "account/66" && e.Outcome == journal.Denied && strings.Contains(e.Reason, "unknown or not employed") {
			signal = e
		}
	}
	if signal == nil || !strings.Contains(signal.Reason, fmt.Sprint(len(numbers))) {
		t.Fatalf("the signal is not journaled with its count: %+v", signal)
	}
	if !live.Suspended("account/66") {
		t.Fatalf("%d numbers not the employer's in one file, and the sender is not suspended: %+v", len(numbers), got)
	}
}

// TestDeclarationFiguresAreSealed: headcount and payroll edited in the store (as an attacker with the
// database's credentials would) make the declaration's read, its history and the attestation that
// signs its figures refuse with an integrity error; untouched, all three answer. Legacy rows (no
// seal) are sealed only once their lines confirm them. On both stores.
func TestDeclarationFiguresAreSealed(t *testing.T) {
	amanetest.Each(t, testDeclarationFiguresAreSealed)
}

func testDeclarationFiguresAreSealed(t *testing.T, r *amanetest.Registry) {
	f, d := declFixture(t, r)
	if res, err := submitFile(t, f, f.ctx, "DS_1234567_202410.txt", encode(t, d)); err != nil || res.Status != amane.DeclAccepted {
		t.Fatalf("%+v %v", res, err)
	}
	third := []gate.AttestationRequest{{Kind: attest.KindThirdParty, Affiliation: "1234567"}}
	reads := func() []error {
		_, err1 := f.gate.Declaration(f.ctx, "1234567", "202410")
		_, err2 := f.gate.DeclarationHistory(f.ctx, "1234567")
		_, errs, err3 := f.gate.Attestations(f.ctx, third)
		if err3 == nil {
			err3 = errs[0]
		}
		return []error{err1, err2, err3}
	}
	for i, err := range reads() {
		if err != nil {
			t.Fatalf("read %d of an untouched declaration: %v", i, err)
		}
	}
	storeExec(t, r, `UPDATE declarations SET headcount = headcount + 40, payroll = payroll * 3`)
	for i, err := range reads() {
		if !errors.Is(err, gate.ErrDeclarationSeal) || !strings.HasPrefix(err.Error(), "integrity") {
			t.Errorf("read %d of an edited declaration: %v, want an integrity error", i, err)
		}
	}
	// A resubmission of the same content does not echo the edited figures either.
	if _, err := submitFile(t, f, f.ctx, "DS_1234567_202410.txt", encode(t, d)); !errors.Is(err, gate.ErrDeclarationSeal) {
		t.Errorf("the duplicate's answer: %v, want an integrity error", err)
	}

	// A row written before seals existed (seal NULL) is refused until the gate has checked it
	// against its own sealed lines and sealed it; a legacy row whose figures were edited stays
	// refused.
	storeExec(t, r, `UPDATE declarations SET seal = NULL, headcount = headcount - 40, payroll = payroll / 3`)
	if _, err := f.gate.Declaration(f.ctx, "1234567", "202410"); !errors.Is(err, gate.ErrDeclarationSeal) {
		t.Fatalf("an unsealed row: %v, want refused", err)
	}
	sys := amanetest.Context(amane.RoleSystem)
	if n, bad, err := f.gate.SealLegacyDeclarations(sys); err != nil || n != 1 || bad != 0 {
		t.Fatalf("sealed %d, bad %d, %v; want 1 sealed", n, bad, err)
	}
	if _, err := f.gate.Declaration(f.ctx, "1234567", "202410"); err != nil {
		t.Fatalf("a legacy row confirmed by its lines: %v", err)
	}
	storeExec(t, r, `UPDATE declarations SET seal = NULL, payroll = payroll + 100`)
	if n, bad, err := f.gate.SealLegacyDeclarations(sys); err != nil || n != 0 || bad != 1 {
		t.Fatalf("sealed %d, bad %d, %v; want the edited row left unsealed", n, bad, err)
	}
	if _, err := f.gate.DeclarationHistory(f.ctx, "1234567"); !errors.Is(err, gate.ErrDeclarationSeal) {
		t.Fatalf("an edited legacy row: %v, want refused", err)
	}
}

// conflictOnce is a store whose first PutDeclarations fails as if another writer had declared the
// same people first.
type conflictOnce struct {
	gate.Store
	once bool
}

func (c *conflictOnce) PutDeclarations(ctx context.Context, b *amane.DeclarationBatch) error {
	if !c.once {
		c.once = true
		return amane.Conflict("history_key")
	}
	return c.Store.PutDeclarations(ctx, b)
}

// TestRetriedDeclarationJournaledOnce: a batch decided again after another writer's conflict is
// journaled once, on both stores.
func TestRetriedDeclarationJournaledOnce(t *testing.T) {
	amanetest.Each(t, func(t *testing.T, r *amanetest.Registry) {
		f, d := declFixture(t, r)
		g := gate.New(&conflictOnce{Store: r.Store}, r.Vault).UseJournal(r.Journal, r.Store)
		g.Now = f.gate.Now
		ctx := amanetest.As(&amane.Principal{ID: "account/70", Role: amane.RoleEmployer, Affiliation: "1234567"})
		decl, err := damancom.ReadDeclaration("DS_1234567_202410.txt", bytes.NewReader(encode(t, d)))
		if err != nil {
			t.Fatal(err)
		}
		if res, err := g.SubmitDeclaration(ctx, decl); err != nil || res.Status != amane.DeclAccepted {
			t.Fatalf("%+v %v", res, err)
		}
		n := 0
		for _, e := range entries(t, r) {
			if e.Principal == "account/70" && e.Action == "declare" {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("%d journal entries for one declaration retried once, want 1", n)
		}
	})
}

// TestNewEmployeeDeclaredElsewhere: a B04 naming a person another employer declared first (their
// history key exists) is a pending employment, not a conflict with "another writer"; an agent of the
// employer's agency validates it only once the identity declared matches the registry's, a mismatch
// refused naming fields, never values, and journaled; an agent of another agency may not. Both stores.
func TestNewEmployeeDeclaredElsewhere(t *testing.T) {
	amanetest.Each(t, testNewEmployeeDeclaredElsewhere)
}

func testNewEmployeeDeclaredElsewhere(t *testing.T, r *amanetest.Registry) {
	f, d := declFixture(t, r)
	res, err := f.gate.SubmitDeclaration(f.ctx, &amane.Declaration{Affiliation: "7654321", Period: "202409",
		Lines: []amane.DeclarationLine{{Imm: "423456789", Days: 26, Salary: 300000, Capped: 300000}}})
	if err != nil || res.Status != amane.DeclAccepted {
		t.Fatalf("7654321 declares its employee: %+v %v", res, err)
	}
	// d's second B04 names 423456789 with another name and no CIN.
	res, err = submitFile(t, f, f.ctx, "DS_1234567_202410.txt", encode(t, d))
	if err != nil || res.Status != amane.DeclAccepted || res.Pending != 1 {
		t.Fatalf("a B04 for a person declared elsewhere: %+v %v, want accepted with a pending employment", res, err)
	}
	purpose := amane.Purpose{Code: "dossier", Reference: "DOS-2024/0042"}
	casa := amane.NewContextWithPurpose(amanetest.As(&amane.Principal{ID: "account/80", Role: amane.RoleAgent, Agency: "CASA-ANFA"}), purpose)
	rabat := amane.NewContextWithPurpose(amanetest.As(&amane.Principal{ID: "account/81", Role: amane.RoleAgent, Agency: "RABAT-AGDAL"}), purpose)
	if err := f.gate.ValidateEmployment(rabat, "1234567", "423456789"); amane.ErrorCode(err) != amane.ENOTFOUND { // out of scope answers as unknown
		t.Fatalf("an agent of another agency: %v, want not found", err)
	}
	err = f.gate.ValidateEmployment(casa, "1234567", "423456789")
	var ae *amane.Error
	if !errors.As(err, &ae) || ae.Code != amane.EINVALID || !hasProblem(ae.Fields, 0, "L_Nom_Prenom") || !hasProblem(ae.Fields, 0, "L_Num_CIN") {
		t.Fatalf("a declared identity that differs: %v, want refused naming L_Nom_Prenom and L_Num_CIN", err)
	}
	for _, v := range []string{"TAZI", "Tazi", "OTHMANI", "EE987654", "NADIA", "SARA"} {
		if strings.Contains(fmt.Sprintf("%v %+v", err, ae.Fields), v) {
			t.Fatalf("the refusal quotes a value: %v %+v", err, ae.Fields)
		}
	}
	if e := last(t, r, "account/80"); e.Outcome != journal.Denied || !strings.Contains(e.Reason, "declared identity differs") {
		t.Fatalf("the refusal is not journaled: %+v", e)
	}
	// A complementary declaration carries the identity as the registry holds it: validated.
	d.New = d.New[1:]
	d.New[0].Surname, d.New[0].FirstName, d.New[0].CIN = "TAZI", "NADIA", "EE987654"
	if res, err := submitFile(t, f, f.ctx, "DSC1_1234567_202410.txt", encode(t, d)); err != nil || res.Status != amane.DeclAccepted {
		t.Fatalf("the complementary declaration: %+v %v", res, err)
	}
	if err := f.gate.ValidateEmployment(casa, "1234567", "423456789"); err != nil {
		t.Fatalf("a matching identity: %v", err)
	}
	if e := last(t, r, "account/80"); e.Outcome != journal.Allowed || e.Action != "validate-employment" {
		t.Fatalf("the validation is not journaled: %+v", e)
	}
	e, err := f.gate.Employee(f.ctx, "423456789")
	if err != nil {
		t.Fatal(err)
	}
	validated := false
	for _, j := range e.Employments {
		validated = validated || j.Affiliation == "1234567" && j.State == amane.EmploymentValidated
	}
	if !validated {
		t.Fatalf("employments %+v, want validated at 1234567", e.Employments)
	}
	if err := f.gate.ValidateEmployment(casa, "1234567", "423456789"); amane.ErrorCode(err) != amane.ENOTFOUND {
		t.Fatalf("validated twice: %v, want not found", err)
	}
}

// TestPreetabliCarriesFiguresOfRecord: after a declaration with children and allowances, the next
// préétabli carries them (not zeros), and a declaration whose B02 does not repeat them — or the
// registry's name — is refused on that line and field, names never quoted. Both stores.
func TestPreetabliCarriesFiguresOfRecord(t *testing.T) {
	amanetest.Each(t, func(t *testing.T, r *amanetest.Registry) {
		f, d := declFixture(t, r)
		d.Employer.Period = "202409"
		d.New, d.BlankB04 = nil, true
		for i := range d.Lines {
			if d.Lines[i].Number == "123456789" {
				d.Lines[i].Children, d.Lines[i].AFToPay, d.Lines[i].AFToDeduct, d.Lines[i].AFNet = 2, 60000, 30000, 30000
			}
		}
		if res, err := submitFile(t, f, f.ctx, "", encode(t, d)); err != nil || res.Status != amane.DeclAccepted {
			t.Fatalf("202409: %+v %v", res, err)
		}
		p, err := f.gate.Preetabli(f.ctx, "1234567", "202410")
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, l := range p.Lines {
			if l.Imm == "123456789" {
				found = l.Children == 2 && l.AFToPay == 60000 && l.AFToDeduct == 30000 && l.AFNet == 30000
			}
		}
		if !found {
			t.Fatalf("the préétabli of 202410 does not carry the figures of record: %+v", p.Lines)
		}
		// The payroll software keeps the figures: accepted. It drops them, or misspells a name: refused.
		d.Employer.Period = "202410"
		good := encode(t, d)
		for i := range d.Lines {
			switch d.Lines[i].Number {
			case "123456789":
				d.Lines[i].Children, d.Lines[i].AFToPay, d.Lines[i].AFToDeduct, d.Lines[i].AFNet = 0, 0, 0, 0
			case "223456789":
				d.Lines[i].Surname = "QUELQUUN"
			}
		}
		res, err := submitFile(t, f, f.ctx, "", encode(t, d))
		if err != nil || res.Status != amane.DeclRejected {
			t.Fatalf("figures not repeated: %+v %v, want rejected", res, err)
		}
		want := map[string]bool{"N_Enfants": false, "N_AF_A_Payer": false, "N_AF_A_Deduire": false, "N_AF_Net_A_Payer": false, "L_Nom_Prenom": false}
		for _, p := range res.Problems {
			if _, ok := want[p.Field]; ok && p.Line > 0 {
				want[p.Field] = true
			}
			if strings.Contains(p.Found+p.Expected+p.Rule, "QUELQUUN") || strings.Contains(p.Found+p.Expected+p.Rule, "Nom") && p.Field != "L_Nom_Prenom" {
				t.Errorf("a problem quotes a name: %+v", p)
			}
		}
		for field, ok := range want {
			if !ok {
				t.Errorf("no problem on %s: %+v", field, res.Problems)
			}
		}
		if res, err := submitFile(t, f, f.ctx, "", good); err != nil || res.Status != amane.DeclAccepted {
			t.Fatalf("the figures repeated: %+v %v, want accepted", res, err)
		}
	})
}

// TestNewEmployeeNumberTellsNothing: a B04 with an insured number Amane does not know is answered as
// one with the number of a person known elsewhere — accepted, pending an agent — not refused as
// "unknown": B04 lines cannot sort numbers either. Both stores.
func TestNewEmployeeNumberTellsNothing(t *testing.T) {
	amanetest.Each(t, func(t *testing.T, r *amanetest.Registry) {
		f, d := declFixture(t, r)
		answers := map[string]*amane.DeclarationResult{}
		for i, n := range []string{"423456789", "512345678"} { // known at 7654321; invented
			d.Employer.Period = []string{"202408", "202409"}[i]
			d.New = []damancom.NewEmployee{{Number: n, Surname: "OTHMANI", FirstName: "SARA", CIN: "K112233", Days: 12, RealSalary: 200000, CappedSalary: 200000}}
			res, err := submitFile(t, f, f.ctx, "", encode(t, d))
			if err != nil || res.Status != amane.DeclAccepted {
				t.Fatalf("B04 %s: %+v %v", n, res, err)
			}
			answers[n] = res
		}
		k, u := answers["423456789"], answers["512345678"]
		if k.Pending != 1 || u.Pending != k.Pending || u.Requests != k.Requests || len(u.Problems) != len(k.Problems) {
			t.Fatalf("a known number %+v and an invented one %+v are told apart", k, u)
		}
	})
}

// TestEmployerReadsBackItsOwnB04 — the employer sees what it sent itself: the CIN its payroll officer
// typed on a B04 line comes back in clear to its own users (so that its file downloads byte for
// byte), journaled as shown; an agent in scope still sees it masked unless revealed for a purpose.
func TestEmployerReadsBackItsOwnB04(t *testing.T) {
	amanetest.Each(t, func(t *testing.T, r *amanetest.Registry) {
		f, d := declFixture(t, r)
		if res, err := submitFile(t, f, f.ctx, "DS_1234567_202410.txt", encode(t, d)); err != nil || res.Status != amane.DeclAccepted {
			t.Fatalf("submit: %+v %v", res, err)
		}
		cinOf := func(ctx context.Context) string {
			t.Helper()
			ds, err := f.gate.Declaration(ctx, "1234567", "202410")
			if err != nil || len(ds) != 1 {
				t.Fatalf("read: %v", err)
			}
			for _, n := range ds[0].New {
				if n.CIN != "" {
					return n.CIN
				}
			}
			t.Fatal("no B04 line with a CIN")
			return ""
		}
		employer := amanetest.As(&amane.Principal{ID: "account/70", Role: amane.RoleEmployer, Affiliation: "1234567"})
		if got := cinOf(employer); got != "K998877" {
			t.Errorf("the employer reads back %q, want the CIN it typed", got)
		}
		agent := amane.NewContextWithPurpose(amanetest.As(&amane.Principal{ID: "account/71", Role: amane.RoleAgent, Agency: "CASA-ANFA"}),
			amane.Purpose{Code: "dossier", Reference: "DOS-2024/0042"})
		if got := cinOf(agent); got == "K998877" || got == "" {
			t.Errorf("an agent without a reveal reads %q, want it masked", got)
		}
	})
}
