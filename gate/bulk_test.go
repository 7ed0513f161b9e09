package gate_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"

	"amane"
	"amane/amanetest"
	"amane/attest"
	"amane/damancom"
	"amane/gate"
	"amane/sentinel"
)

// Issue 12, "one request releases hundreds of people before the sentinel reacts, and purposes
// multiply the allowance". The tests below are the attacks of the finding, replayed against the gate
// with the live sentinel at its default thresholds: the bulk read of a 900-person employer, the
// paced two-token run across employer reads, declaration reads and attestations under all six
// purposes, and the same principal under one purpose and under six.

// bulk is the registry the attacks run against: one agency (CASA-ANFA) holding a 900-person employer,
// two of 200 and twenty of 40 — 2,100 people — each with a declaration for 202410.
type bulk struct {
	f     *fixture
	big   string   // the 900-person employer
	mid   []string // 200 people each
	small []string // 40 people each
	imms  map[string]bool
}

var (
	bulkSurnames = []string{"Alaoui", "Bennani", "Cherkaoui", "Idrissi", "Tazi", "Fassi", "Berrada"}
	bulkFirst    = []string{"Said", "Amina", "Youssef", "Fatima", "Omar", "Khadija", "Hamza", "Salma", "Mehdi", "Nadia", "Karim"}
)

// seedBulk loads the people through the store's bulk loader (sealed by the gate, not journaled one by
// one: seeding is not the subject) and declares each employer's month as its payroll software would,
// from the préétabli.
func seedBulk(t *testing.T, r *amanetest.Registry) *bulk {
	t.Helper()
	b := &bulk{f: fixtureOf(r), big: "2000000", imms: map[string]bool{}}
	sizes := map[string]int{b.big: 900}
	for i := 1; i <= 2; i++ {
		aff := fmt.Sprintf("20000%02d", i)
		b.mid = append(b.mid, aff)
		sizes[aff] = 200
	}
	for i := 3; i < 23; i++ {
		aff := fmt.Sprintf("20000%02d", i)
		b.small = append(b.small, aff)
		sizes[aff] = 40
	}
	ctx := context.Background()
	l, err := r.Store.BeginLoad(ctx)
	if err != nil {
		t.Fatal(err)
	}
	k := 0
	for _, aff := range append(append([]string{b.big}, b.mid...), b.small...) {
		e := Employer(aff)
		e.Representative.CIN = fmt.Sprintf("R%06d", k)
		if errs := e.Normalize(); len(errs) > 0 {
			t.Fatal(errs)
		}
		rec, err := r.Gate.SealEmployer(l.NextEmployerID(), e)
		if err != nil {
			t.Fatal(err)
		}
		erID, _, err := l.PutEmployer(rec)
		if err != nil {
			t.Fatal(err)
		}
		for range sizes[aff] {
			k++
			imm := fmt.Sprintf("1%08d", k)
			p := Employee(imm, fmt.Sprintf("X%07d", k), bulkSurnames[k%len(bulkSurnames)], bulkFirst[k%len(bulkFirst)], aff)
			if errs := p.Normalize(); len(errs) > 0 {
				t.Fatal(errs)
			}
			prec, err := r.Gate.SealEmployee(l.NextEmployeeID(), p)
			if err != nil {
				t.Fatal(err)
			}
			id, _, err := l.PutEmployee(prec)
			if err != nil {
				t.Fatal(err)
			}
			j := p.Employments[0]
			j.EmployeeID, j.EmployerID = id, erID
			if _, err := l.PutEmployment(j); err != nil {
				t.Fatal(err)
			}
			b.imms[imm] = true
		}
	}
	if err := l.Commit(); err != nil {
		t.Fatal(err)
	}
	b.f.gate.Now = func() time.Time { return time.Date(2024, 11, 5, 10, 0, 0, 0, time.UTC) }
	sys := amanetest.Context(amane.RoleSystem)
	for aff := range sizes {
		p, err := b.f.gate.Preetabli(sys, aff, "202410")
		if err != nil {
			t.Fatal(err)
		}
		var file strings.Builder
		if err := damancom.WritePreetabli(&file, p); err != nil {
			t.Fatal(err)
		}
		pre, err := damancom.DecodePreetabli(strings.NewReader(file.String()))
		if err != nil {
			t.Fatal(err)
		}
		d := damancom.PreetabliToDeclaration(pre)
		for i := range d.Lines {
			d.Lines[i].Days, d.Lines[i].RealSalary, d.Lines[i].CappedSalary = 26, 500000, 500000
		}
		if res, err := submitFile(t, b.f, sys, "", encode(t, d)); err != nil || res.Status != amane.DeclAccepted {
			t.Fatalf("declaring %s: %+v, %v", aff, res, err)
		}
	}
	return b
}

// watch attaches a fresh live sentinel at the default thresholds, and returns it with the gate's
// clock, which the test drives (no sleep).
func (b *bulk) watch() (*sentinel.Live, *time.Time) {
	live := sentinel.NewLive(sentinel.New(sentinel.DefaultConfig(), nil))
	b.f.gate.UseSentinel(live)
	clock := time.Date(2024, 11, 6, 9, 0, 0, 0, time.UTC)
	b.f.gate.Now = func() time.Time { return clock }
	return live, &clock
}

func agentCtx(id, purpose string) context.Context {
	return amane.NewContextWithPurpose(amanetest.As(&amane.Principal{ID: id, Role: amane.RoleAgent, Agency: "CASA-ANFA"}),
		amane.Purpose{Code: purpose, Reference: refFor(purpose)})
}

// refFor is a reference that fits the default pattern of purpose ("CTL-AAAA/NNNN" for controle, …).
func refFor(purpose string) string {
	for _, c := range amane.DefaultPurposes {
		if c.Code == purpose {
			return strings.Replace(strings.Replace(c.Format, "AAAA", "2026", 1), "NNNN", "0142", 1)
		}
	}
	return "DOS-2026/0142"
}

// TestBulkRead: one employer read of a 900-person employer by an agent, by a supervisor, and one
// declaration read, release at most 50 people each, with an opaque cursor that walks the rest page
// by page; a nominative attestation or a préétabli of the 900 (files, never paged) is refused before
// release, nothing leaves, and the principal is suspended. Before issue 12 the first read released
// all 900 in one answer. Both stores.
func TestBulkRead(t *testing.T) { amanetest.Each(t, testBulkRead) }

func testBulkRead(t *testing.T, r *amanetest.Registry) {
	b := seedBulk(t, r)
	live, clock := b.watch()
	g := b.f.gate
	for _, who := range []*amane.Principal{
		{ID: "account/301", Role: amane.RoleAgent, Agency: "CASA-ANFA"},
		{ID: "account/302", Role: amane.RoleSupervisor},
	} {
		ctx := amane.NewContextWithPurpose(amanetest.As(who), amane.Purpose{Code: "controle", Reference: "CTL-2026/0007"})
		e, err := g.Employer(ctx, b.big)
		if err != nil {
			t.Fatalf("%s: %v", who.ID, err)
		}
		if len(e.Employees) != amane.MaxPage || e.Next == "" {
			t.Fatalf("%s: one read released %d people (next %q), want %d and a cursor", who.ID, len(e.Employees), e.Next, amane.MaxPage)
		}
		// The cursor holds no identifier in clear.
		raw, _ := base64.RawURLEncoding.DecodeString(e.Next)
		for _, p := range e.Employees {
			if strings.Contains(e.Next, p.Immatriculation) || strings.Contains(string(raw), p.Immatriculation) {
				t.Fatalf("the cursor %q holds an immatriculation", e.Next)
			}
		}
		*clock = clock.Add(1100 * time.Millisecond)
		p2, err := g.EmployerPage(ctx, b.big, amane.Page{Cursor: e.Next})
		if err != nil || len(p2.Employees) != amane.MaxPage || p2.Employees[0].ID <= e.Employees[len(e.Employees)-1].ID {
			t.Fatalf("%s: the second page: %d people, %v", who.ID, len(p2.Employees), err)
		}
		*clock = clock.Add(1100 * time.Millisecond)
		dp, err := g.DeclarationPage(ctx, b.big, "202410", amane.Page{})
		if err != nil {
			t.Fatal(err)
		}
		if n := len(dp.Declarations[0].Lines) + len(dp.Declarations[0].New); n != amane.MaxPage || dp.Next == "" {
			t.Fatalf("%s: one declaration read released %d lines (next %q)", who.ID, n, dp.Next)
		}
		if dp.Declarations[0].Totals.Headcount != 900 {
			t.Errorf("a page's totals are the declaration's: %+v", dp.Declarations[0].Totals)
		}
		*clock = clock.Add(1100 * time.Millisecond)
		if _, err := g.EmployerPage(ctx, b.big, amane.Page{Cursor: dp.Next}); amane.ErrorCode(err) != amane.EINVALID {
			t.Errorf("a declaration cursor on the employee list: %v, want invalid", err)
		}
		*clock = clock.Add(1100 * time.Millisecond)
	}
	// A file of the 900 cannot be paged: counted whole before release, refused, suspended.
	ctx := agentCtx("account/303", "controle")
	docs, errs, err := g.Attestations(ctx, []gate.AttestationRequest{{Kind: attest.KindEmployees, Affiliation: b.big}})
	if amane.ErrorCode(err) != amane.EFORBIDDEN || (docs != nil && docs[0] != nil) {
		t.Fatalf("a nominative attestation of 900 people: %v %v, want refused before release", err, errs)
	}
	if !live.Suspended("account/303") {
		t.Error("the principal asking for 900 people at once is not suspended")
	}
	if e := last(t, r, "account/303"); e.Outcome != "denied" || e.Reason != "release refused by the sentinel" {
		t.Errorf("the refused release is not journaled: %+v", e)
	}
	*clock = clock.Add(1100 * time.Millisecond)
	if _, err := g.Preetabli(agentCtx("account/304", "controle"), b.big, "202410"); amane.ErrorCode(err) != amane.EFORBIDDEN {
		t.Fatalf("a préétabli of 900 people to an agent: %v, want refused before release", err)
	}
	// Name search: at most 50, and it says more match.
	*clock = clock.Add(1100 * time.Millisecond)
	sp, err := g.SearchEmployeesPage(agentCtx("account/305", "dossier"), "alaoui", 500)
	if err != nil || len(sp.Employees) != amane.MaxPage || !sp.More {
		t.Fatalf("a name search: %d people, more %v, %v; want %d and more", len(sp.Employees), sp.More, err, amane.MaxPage)
	}
	// The employer's own people are its payroll: its user downloads the préétabli of all 900 and walks
	// every page of its list without being throttled or suspended (what the sentinel watches in an
	// employer account is reaching past its own people).
	emp := amanetest.As(&amane.Principal{ID: "account/306", Role: amane.RoleEmployer, Affiliation: b.big})
	*clock = clock.Add(1100 * time.Millisecond)
	if p, err := g.Preetabli(emp, b.big, "202410"); err != nil || len(p.Lines) != 900 {
		t.Fatalf("the employer's own préétabli: %v", err)
	}
	seen, cursor := 0, ""
	for {
		*clock = clock.Add(1100 * time.Millisecond)
		page, err := g.EmployerPage(emp, b.big, amane.Page{Cursor: cursor})
		if err != nil {
			t.Fatalf("the employer's own list, after %d people: %v", seen, err)
		}
		seen += len(page.Employees)
		if cursor = page.Next; cursor == "" {
			break
		}
	}
	if seen != 900 || live.Standing("account/306") != "" {
		t.Errorf("the employer walked %d of its 900 people; sentinel standing %q, want none", seen, live.Standing("account/306"))
	}
}

// TestPacedTwoTokenRun replays the finding's paced run: two fresh agent accounts of the same agency,
// each pacing one request every 1.1 s (past the throttle's one a second), walking employer pages,
// declaration pages and nominative attestations under all six purposes. Both are suspended before
// 500 distinct people in total, every answer holds at most 50 people, and both are refused
// afterwards. Before issue 12: 1,025 people, only alerts and throttles, both still answering.
func TestPacedTwoTokenRun(t *testing.T) { amanetest.Each(t, testPacedRun) }

func testPacedRun(t *testing.T, r *amanetest.Registry) {
	b := seedBulk(t, r)
	live, clock := b.watch()
	g := b.f.gate
	purposes := g.Purposes()
	type attacker struct {
		id    string
		moves []func(ctx context.Context) ([]string, error) // each returns the immatriculations released
		next  int
	}
	employerPages := func(aff string, n int) []func(context.Context) ([]string, error) {
		var out []func(context.Context) ([]string, error)
		cursor := ""
		for range n {
			out = append(out, func(ctx context.Context) ([]string, error) {
				e, err := g.EmployerPage(ctx, aff, amane.Page{Cursor: cursor})
				if err != nil {
					return nil, err
				}
				cursor = e.Next
				var imms []string
				for _, p := range e.Employees {
					imms = append(imms, p.Immatriculation)
				}
				return imms, nil
			})
		}
		return out
	}
	declPages := func(aff string) []func(context.Context) ([]string, error) {
		var out []func(context.Context) ([]string, error)
		cursor := ""
		for range 4 {
			out = append(out, func(ctx context.Context) ([]string, error) {
				p, err := g.DeclarationPage(ctx, aff, "202410", amane.Page{Cursor: cursor})
				if err != nil {
					return nil, err
				}
				cursor = p.Next
				var imms []string
				for _, d := range p.Declarations {
					for _, l := range d.Lines {
						imms = append(imms, l.Imm)
					}
					for _, l := range d.New {
						imms = append(imms, l.Imm)
					}
				}
				return imms, nil
			})
		}
		return out
	}
	attestation := func(aff string) func(context.Context) ([]string, error) {
		return func(ctx context.Context) ([]string, error) {
			docs, errs, err := g.Attestations(ctx, []gate.AttestationRequest{{Kind: attest.KindEmployees, Affiliation: aff}})
			if err == nil {
				err = errs[0]
			}
			if err != nil {
				return nil, err
			}
			var imms []string
			for _, l := range docs[0].Lines {
				imms = append(imms, l.Imm)
			}
			return imms, nil
		}
	}
	// Each takes its own employers, so that every person either reads is new to both.
	as := []*attacker{{id: "account/401"}, {id: "account/402"}}
	as[0].moves = append(employerPages(b.mid[0], 4), declPages(b.mid[1])...)
	as[1].moves = employerPages(b.big, 8)
	for i, a := range as {
		for j := i; j < len(b.small); j += 2 {
			a.moves = append(a.moves, attestation(b.small[j]))
		}
	}
	released := map[string]bool{}
	maxAnswer, requests := 0, 0
	for round := 0; round < 200; round++ {
		*clock = clock.Add(1100 * time.Millisecond)
		for _, a := range as {
			if a.next >= len(a.moves) {
				continue
			}
			ctx := agentCtx(a.id, purposes[(round+a.next)%len(purposes)].Code)
			imms, err := a.moves[a.next](ctx)
			a.next++
			requests++
			if err != nil {
				if c := amane.ErrorCode(err); c != amane.EFORBIDDEN && c != amane.ETHROTTLED {
					t.Fatalf("%s, round %d: %v", a.id, round, err)
				}
				continue
			}
			maxAnswer = max(maxAnswer, len(imms))
			for _, imm := range imms {
				released[imm] = true
			}
		}
	}
	t.Logf("%s: %d requests, %d distinct people released in all, at most %d in one answer", r.Kind, requests, len(released), maxAnswer)
	if maxAnswer > amane.MaxPage {
		t.Errorf("an answer held %d people, want at most %d", maxAnswer, amane.MaxPage)
	}
	if len(released) >= 500 {
		t.Errorf("%d distinct people released before both were suspended, want fewer than 500", len(released))
	}
	for _, a := range as {
		if !live.Suspended(a.id) {
			t.Errorf("%s is not suspended (standing %q)", a.id, live.Standing(a.id))
		}
		*clock = clock.Add(1100 * time.Millisecond)
		if _, err := g.Employer(agentCtx(a.id, "dossier"), b.small[0]); amane.ErrorCode(err) != amane.EFORBIDDEN {
			t.Errorf("%s still answered after the run: %v", a.id, err)
		}
	}
}

// TestPurposesDoNotAddUp: the same sequence of nominative attestations, paced at 1.1 s, by one fresh
// principal under one purpose and by another under six: the same number of distinct people before
// suspension. Before issue 12, attestations counted per purpose per day and outside the volume
// windows, so six purposes gave six allowances.
func TestPurposesDoNotAddUp(t *testing.T) { amanetest.Each(t, testPurposesDoNotAddUp) }

func testPurposesDoNotAddUp(t *testing.T, r *amanetest.Registry) {
	b := seedBulk(t, r)
	purposes := b.f.gate.Purposes()
	run := func(id string, nPurposes int) (int, bool) {
		live, clock := b.watch()
		got := map[string]bool{}
		for i, aff := range b.small {
			*clock = clock.Add(1100 * time.Millisecond)
			docs, errs, err := b.f.gate.Attestations(agentCtx(id, purposes[i%nPurposes].Code),
				[]gate.AttestationRequest{{Kind: attest.KindEmployees, Affiliation: aff}})
			if err == nil {
				err = errs[0]
			}
			if err != nil {
				continue
			}
			for _, l := range docs[0].Lines {
				got[l.Imm] = true
			}
		}
		return len(got), live.Suspended(id)
	}
	one, sus1 := run("account/501", 1)
	six, sus6 := run("account/502", len(purposes))
	t.Logf("%s: %d people under one purpose, %d under six", r.Kind, one, six)
	if !sus1 || !sus6 {
		t.Errorf("suspended: one purpose %v, six purposes %v; want both", sus1, sus6)
	}
	if six != one {
		t.Errorf("six purposes released %d people, one purpose %d: the allowance grows with the purposes", six, one)
	}
}
