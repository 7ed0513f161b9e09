package gate_test

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"amane"
	"amane/amanetest"
	"amane/damancom"
)

// declFixture seeds employer 1234567 (three people) and 7654321 (one, 423456789), fixes the clock in
// November 2024 and returns the préétabli of 202410 filled as payroll software would.
func declFixture(t *testing.T, r *amanetest.Registry) (*fixture, *damancom.Declaration) {
	t.Helper()
	f := fixtureOf(r)
	twoEmployers(t, f)
	f.gate.Now = func() time.Time { return time.Date(2024, 11, 5, 10, 0, 0, 0, time.UTC) }
	p, err := f.gate.Preetabli(f.ctx, "1234567", "202410")
	if err != nil {
		t.Fatal(err)
	}
	var file bytes.Buffer
	if err := damancom.WritePreetabli(&file, p); err != nil {
		t.Fatal(err)
	}
	pre, err := damancom.DecodePreetabli(&file)
	if err != nil {
		t.Fatalf("the préétabli Amane writes does not decode: %v", err)
	}
	d := damancom.PreetabliToDeclaration(pre)
	if len(d.Lines) != 3 {
		t.Fatalf("préétabli lines: %d, want 3", len(d.Lines))
	}
	// The payroll software fills the month: one above the ceiling, one below, one on sick leave.
	fill := map[string]damancom.Line{
		"123456789": {Days: 26, RealSalary: 800000, CappedSalary: 600000},
		"223456789": {Days: 26, RealSalary: 450000, CappedSalary: 450000},
		"323456789": {Days: 20, RealSalary: 300000, CappedSalary: 300000, Situation: "IL"},
	}
	for i := range d.Lines {
		l := &d.Lines[i]
		v, ok := fill[l.Number]
		if !ok {
			t.Fatalf("unexpected insured %s on the préétabli", l.Number)
		}
		l.Days, l.RealSalary, l.CappedSalary, l.Situation = v.Days, v.RealSalary, v.CappedSalary, v.Situation
	}
	// Two new employees: one Amane does not know (an immatriculation request), one employed elsewhere
	// (a pending employment here).
	d.New = []damancom.NewEmployee{
		{Number: "000000000", Surname: "NOUVEAU", FirstName: "YOUNES", CIN: "K998877", Days: 10, RealSalary: 150000, CappedSalary: 150000},
		{Number: "423456789", Surname: "OTHMANI", FirstName: "SARA", CIN: "", Days: 12, RealSalary: 200000, CappedSalary: 200000},
	}
	d.BlankB04 = false
	return f, d
}

func encode(t *testing.T, d *damancom.Declaration) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := d.Encode(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func submitFile(t *testing.T, f *fixture, ctx context.Context, name string, file []byte) (*amane.DeclarationResult, error) {
	t.Helper()
	d, err := damancom.ReadDeclaration(name, bytes.NewReader(file))
	if err != nil {
		return nil, err
	}
	return f.gate.SubmitDeclaration(ctx, d)
}

func TestDeclarationRoundTrip(t *testing.T) { amanetest.Each(t, testDeclarationRoundTrip) }

func testDeclarationRoundTrip(t *testing.T, r *amanetest.Registry) {
	f, d := declFixture(t, r)
	file := encode(t, d)
	res, err := submitFile(t, f, f.ctx, "DS_1234567_202410.txt", file)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != amane.DeclAccepted || res.Duplicate || res.Requests != 1 || res.Pending != 1 {
		t.Fatalf("result %+v, want accepted with 1 request and 1 pending employment", res)
	}
	// Hand-computed: capped base 6,000 + 4,500 + 3,000 + 1,500 + 2,000 = 17,000 MAD; real base
	// 8,000 + 4,500 + 3,000 + 1,500 + 2,000 = 19,000 MAD.
	// Employer: 1.05 % and 7.93 % of 17,000 = 178.50 + 1,348.10; 6.40 %, 4.11 %, 1.60 % of 19,000 =
	// 1,216.00 + 780.90 + 304.00 → 3,827.50. Employee: 0.52 % and 3.96 % of 17,000 = 88.40 + 673.20;
	// 2.26 % of 19,000 = 429.40 → 1,191.00.
	c := res.Contributions
	if c.Employer != 382750 || c.Employee != 119100 || c.Total != 501850 {
		t.Errorf("contributions employer %d employee %d total %d, want 382750 119100 501850", c.Employer, c.Employee, c.Total)
	}
	if s := res.Summary; s.Totals.Headcount != 5 || s.Totals.Payroll != 1900000 || s.Totals.Capped != 1700000 || s.Due != 501850 {
		t.Errorf("summary %+v", s)
	}

	// The same file again: the first answer, nothing new.
	again, err := submitFile(t, f, f.ctx, "DS_1234567_202410.txt", file)
	if err != nil || !again.Duplicate || again.Summary.Received != res.Summary.Received {
		t.Fatalf("resubmission: %+v, %v; want the first result marked duplicate", again, err)
	}

	// Read back and export: byte for byte.
	ds, err := f.gate.Declaration(f.ctx, "1234567", "202410")
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 1 || len(ds[0].Lines) != 3 || len(ds[0].New) != 2 {
		t.Fatalf("read back %d declarations", len(ds))
	}
	if ds[0].New[0].CIN == "K998877" {
		t.Error("a new employee's CIN shown in clear without a reveal")
	}
	revealed, err := f.gate.Declaration(amane.NewContextWithReveal(f.ctx, amane.FieldCIN), "1234567", "202410")
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := damancom.WriteDeclaration(&out, &revealed[0]); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), file) {
		t.Errorf("export differs from the file received:\n%s\n---\n%s", out.Bytes(), file)
	}

	// The period is closed: different content is refused; a complementary declaration is taken.
	d.Lines[1].RealSalary, d.Lines[1].CappedSalary = 460000, 460000
	changed := encode(t, d)
	res2, err := submitFile(t, f, f.ctx, "DS_1234567_202410.txt", changed)
	if err != nil {
		t.Fatal(err)
	}
	if res2.Status != amane.DeclRejected || !hasProblem(res2.Problems, 0, "L_Periode") {
		t.Fatalf("a second principal declaration: %+v, want rejected on L_Periode", res2)
	}
	res3, err := submitFile(t, f, f.ctx, "DSC1_1234567_202410.txt", changed)
	if err != nil || res3.Status != amane.DeclAccepted || res3.Summary.Seq != 1 {
		t.Fatalf("complementary: %+v, %v", res3, err)
	}
	hist, err := f.gate.DeclarationHistory(f.ctx, "1234567")
	if err != nil || len(hist) != 2 {
		t.Fatalf("history: %+v, %v", hist, err)
	}

	// An employer user reads its own declaration; another employer's user gets the answer of an
	// unknown affiliation (404), journaled.
	own := amanetest.As(&amane.Principal{ID: "account/90", Role: amane.RoleEmployer, Affiliation: "1234567"})
	if _, err := f.gate.Declaration(own, "1234567", "202410"); err != nil {
		t.Errorf("the employer's own declaration: %v", err)
	}
	other := amanetest.As(&amane.Principal{ID: "account/91", Role: amane.RoleEmployer, Affiliation: "7654321"})
	if _, err := f.gate.Declaration(other, "1234567", "202410"); amane.ErrorCode(err) != amane.ENOTFOUND {
		t.Errorf("another employer's declaration: %v, want not found", err)
	}
	if e := last(t, r, "account/91"); e.Outcome != "denied" {
		t.Errorf("the refusal is not journaled: %+v", e)
	}
	if _, err := f.gate.SubmitDeclaration(other, &amane.Declaration{Affiliation: "1234567", Period: "202409"}); amane.ErrorCode(err) != amane.ENOTFOUND {
		t.Errorf("declaring for another employer: %v, want not found", err)
	}

	// Erasure shreds a person's declared months, not the others'.
	if _, err := f.gate.EraseEmployee(amanetest.Context(amane.RoleSystem), "223456789", "test"); err != nil {
		t.Fatal(err)
	}
	ds, err = f.gate.Declaration(f.ctx, "1234567", "202410")
	if err != nil {
		t.Fatal(err)
	}
	erased := 0
	for _, l := range ds[0].Lines {
		if l.Surname == "(efface)" {
			erased++
		} else if l.Imm == "" || l.Salary == 0 {
			t.Errorf("a line of someone else lost: %+v", l)
		}
	}
	if erased != 1 {
		t.Errorf("%d lines erased, want 1", erased)
	}
}

func hasProblem(ps []amane.FieldError, line int, field string) bool {
	for _, p := range ps {
		if (line == 0 || p.Line == line) && p.Field == field {
			return true
		}
	}
	return false
}

// TestBrokenDeclarations is the table of broken files: each has one defect, is refused whole with the
// right line and field, and leaves nothing stored — on both stores.
func TestBrokenDeclarations(t *testing.T) { amanetest.Each(t, testBrokenDeclarations) }

// Line numbers of the fixture's file: B00 1, B01 2, B02 3–5, B03 6, B04 7–8, B05 9, B06 10.
func testBrokenDeclarations(t *testing.T, r *amanetest.Registry) {
	f, valid := declFixture(t, r)
	good := encode(t, valid)
	set := func(line, start, end int, v string) func([]byte) []byte {
		return func(b []byte) []byte {
			ls := strings.Split(string(b), "\n")
			l := ls[line-1]
			ls[line-1] = l[:start] + fmt.Sprintf("%-*s", end-start, v)[:end-start] + l[end:]
			return []byte(strings.Join(ls, "\n"))
		}
	}
	num := func(line, start, end int, v int64) func([]byte) []byte {
		return set(line, start, end, fmt.Sprintf("%0*d", end-start, v))
	}
	edit := func(fn func(d *damancom.Declaration)) func([]byte) []byte {
		return func([]byte) []byte {
			d, err := damancom.DecodeDeclaration(bytes.NewReader(good))
			if err != nil {
				t.Fatal(err)
			}
			fn(d)
			return encode(t, d)
		}
	}
	lines := func(fn func(ls []string) []string) func([]byte) []byte {
		return func(b []byte) []byte {
			ls := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
			return []byte(strings.Join(fn(ls), "\n") + "\n")
		}
	}
	cases := []struct {
		name   string
		mutate func([]byte) []byte
		line   int
		field  string
	}{
		// Layout
		{"short line", lines(func(ls []string) []string { ls[2] = ls[2][:259]; return ls }), 3, "length"},
		{"long line", lines(func(ls []string) []string { ls[3] += " "; return ls }), 4, "length"},
		{"unknown record", set(4, 0, 3, "B09"), 4, "L_Type_Enreg"},
		{"B01 before B00", lines(func(ls []string) []string { ls[0], ls[1] = ls[1], ls[0]; return ls }), 1, "order"},
		{"no B06", lines(func(ls []string) []string { return ls[:9] }), 10, "order"},
		{"CRLF mixed in", lines(func(ls []string) []string { ls[4] += "\r"; return ls }), 5, "line end"},
		{"L_Cat", set(1, 17, 19, "A0"), 1, "L_Cat"},
		{"filler not blank", set(3, 200, 201, "X"), 3, "L_filler"},
		// Fields
		{"affiliation differs", set(4, 3, 10, "7654321"), 4, "N_Num_Affilie"},
		{"period differs", set(5, 10, 16, "202409"), 5, "L_Periode"},
		{"insured number not numeric", set(3, 16, 25, "12345678A"), 3, "N_Num_Assure"},
		{"days not numeric", set(4, 111, 113, "2A"), 4, "N_Jours_Declares"},
		{"salary not numeric", set(4, 113, 126, "00000004500 0"), 4, "N_Salaire_Reel"},
		{"name in lower case", set(3, 25, 30, "abcde"), 3, "L_Nom_Prenom"},
		{"accent in a name", lines(func(ls []string) []string { ls[2] = ls[2][:25] + "É" + ls[2][26:]; return ls }), 3, "L_Nom_Prenom"},
		{"issue date invalid", set(2, 244, 252, "20241345"), 2, "D_Date_Emission"},
		// Control sums and recaps
		{"B02 S_Ctr", num(3, 137, 156, 1), 3, "S_Ctr"},
		{"B04 S_Ctr", num(7, 117, 136, 1), 7, "S_Ctr"},
		{"B03 count", num(6, 16, 22, 9), 6, "N_Nbr_Salaries"},
		{"B03 children", num(6, 22, 28, 9), 6, "N_T_Enfants"},
		{"B03 AF to pay", num(6, 28, 40, 9), 6, "N_T_AF_A_Payer"},
		{"B03 AF to deduct", num(6, 40, 52, 9), 6, "N_T_AF_A_Deduire"},
		{"B03 AF net", num(6, 52, 64, 9), 6, "N_T_AF_Net_A_Payer"},
		{"B03 N_T_Num_Imma", num(6, 64, 79, 9), 6, "N_T_Num_Imma"},
		{"B03 AF to return", num(6, 79, 91, 9), 6, "N_T_AF_A_Reverser"},
		{"B03 days", num(6, 91, 97, 9), 6, "N_T_Jours_Declares"},
		{"B03 real salary", num(6, 97, 112, 9), 6, "N_T_Salaire_Reel"},
		{"B03 capped salary", num(6, 112, 125, 9), 6, "N_T_Salaire_Plaf"},
		{"B03 N_T_Ctr", num(6, 125, 144, 9), 6, "N_T_Ctr"},
		{"B05 count", num(9, 16, 22, 9), 9, "N_Nbr_Salaries"},
		{"B05 N_T_Num_Imma", num(9, 22, 37, 9), 9, "N_T_Num_Imma"},
		{"B05 days", num(9, 37, 43, 9), 9, "N_T_Jours_Declares"},
		{"B05 real salary", num(9, 43, 58, 9), 9, "N_T_Salaire_Reel"},
		{"B05 capped salary", num(9, 58, 71, 9), 9, "N_T_Salaire_Plaf"},
		{"B05 N_T_Ctr", num(9, 71, 90, 9), 9, "N_T_Ctr"},
		{"B06 count", num(10, 16, 22, 9), 10, "N_Nbr_Salaries"},
		{"B06 N_T_Num_Imma", num(10, 22, 37, 9), 10, "N_T_Num_Imma"},
		{"B06 days", num(10, 37, 43, 9), 10, "N_T_Jours_Declares"},
		{"B06 real salary", num(10, 43, 58, 9), 10, "N_T_Salaire_Reel"},
		{"B06 capped salary", num(10, 58, 71, 9), 10, "N_T_Salaire_Plaf"},
		{"B06 N_T_Ctr", num(10, 71, 90, 9), 10, "N_T_Ctr"},
		// Rules (the sums recomputed: only the rule is broken)
		{"27 days", num(3, 111, 113, 27), 3, "N_Jours_Declares"},
		{"capped above the ceiling", edit(func(d *damancom.Declaration) { d.Lines[0].CappedSalary = 800000 }), 3, "N_Salaire_Plaf"},
		{"capped below min(real, ceiling)", edit(func(d *damancom.Declaration) { d.Lines[1].CappedSalary = 400000 }), 4, "N_Salaire_Plaf"},
		{"left (SO) with days", set(5, 135, 137, "SO"), 5, "N_Jours_Declares|L_Situation"},
		{"unknown situation", set(5, 135, 137, "XX"), 5, "L_Situation"},
		{"duplicate line", lines(func(ls []string) []string { ls[4] = ls[3]; return ls }), 5, "N_Num_Assure"},
		{"new employee without names", set(7, 25, 85, ""), 7, "L_Nom_Prenom"},
		{"occasional with days", set(7, 16, 25, "999999999"), 7, "N_Nbr_Jours"},
		// The registry's rules
		{"unknown insured", edit(func(d *damancom.Declaration) { d.Lines[0].Number = "987654321" }), 3, "N_Num_Assure"},
		{"insured employed elsewhere", edit(func(d *damancom.Declaration) { d.Lines[0].Number = "423456789"; d.New = d.New[:1] }), 3, "N_Num_Assure"},
		{"period in the future", edit(func(d *damancom.Declaration) { d.Employer.Period = "202412"; d.Header.TransferID = "12345672024121" }), 0, "L_Periode"},
		{"period before the rate tables", edit(func(d *damancom.Declaration) { d.Employer.Period = "202312" }), 0, "L_Periode"},
	}
	if len(cases) < 40 {
		t.Fatalf("%d cases, the issue asks for 40 at least", len(cases))
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			file := c.mutate(append([]byte(nil), good...))
			if bytes.Equal(file, good) {
				t.Fatal("the mutation changed nothing")
			}
			res, err := submitFile(t, f, f.ctx, "", file) // some change the period: no file name to contradict
			var probs []amane.FieldError
			switch {
			case err != nil:
				if amane.ErrorCode(err) != amane.EINVALID {
					t.Fatalf("error %v, want invalid", err)
				}
				probs = err.(*amane.Error).Fields
			case res.Status != amane.DeclRejected:
				t.Fatalf("accepted: %+v", res)
			default:
				probs = res.Problems
			}
			if len(probs) == 0 || (c.line != 0 && probs[0].Line != c.line) || !slices.Contains(strings.Split(c.field, "|"), probs[0].Field) {
				t.Errorf("first problem %+v (of %d), want line %d field %s", first(probs), len(probs), c.line, c.field)
			}
			for _, p := range probs {
				for _, secret := range []string{"EL IDRISSI", "CHERIF", "K998877", "NOUVEAU"} {
					if strings.Contains(strings.ToUpper(p.String()), secret) {
						t.Errorf("a problem shows a personal value: %s", p)
					}
				}
			}
			for _, period := range []string{"202410", "202412", "202312"} {
				if _, err := f.gate.Declaration(f.ctx, "1234567", period); amane.ErrorCode(err) != amane.ENOTFOUND {
					t.Errorf("something was stored for %s: %v", period, err)
				}
			}
		})
	}
	// Nothing stored by any of them: the valid file is still a first declaration.
	res, err := submitFile(t, f, f.ctx, "DS_1234567_202410.txt", good)
	if err != nil || res.Status != amane.DeclAccepted || res.Duplicate {
		t.Fatalf("the valid file after the broken ones: %+v, %v", res, err)
	}
}

func first(ps []amane.FieldError) any {
	if len(ps) == 0 {
		return nil
	}
	return ps[0]
}
