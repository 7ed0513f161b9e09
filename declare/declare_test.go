package declare_test

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"amane"
	"amane/declare"
)

// now is a fixed clock: March 2025.
var now = time.Date(2025, 3, 15, 10, 0, 0, 0, time.UTC)

func TestPeriod(t *testing.T) {
	first := amane.RateTables[0].From
	for _, tc := range []struct {
		name, period string
		want         *amane.FieldError // nil: accepted
	}{
		{"OK", "202502", nil},
		{"OKThisMonth", "202503", nil},
		{"OKFirstRates", first, nil},
		{"ErrSyntax", "2025-02", &amane.FieldError{Record: "B01", Field: "L_Periode", Expected: "AAAAMM"}},
		{"ErrFuture", "202504", &amane.FieldError{Record: "B01", Field: "L_Periode", Rule: "the period is in the future", Expected: "at most 202503", Found: "202504"}},
		{"ErrNoRates", "202312", &amane.FieldError{Record: "B01", Field: "L_Periode", Rule: "no contribution rates are known for this period", Expected: "at least " + first, Found: "202312"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rt, probs := declare.Period(tc.period, now)
			if tc.want == nil {
				if len(probs) != 0 || rt == nil || rt.From > tc.period {
					t.Fatalf("Period(%s) = %v, %v", tc.period, rt, probs)
				}
				return
			}
			if rt != nil || len(probs) != 1 {
				t.Fatalf("Period(%s) = %v, %v", tc.period, rt, probs)
			}
			got := probs[0]
			if tc.want.Rule == "" { // the parser's own message
				_, err := amane.ParsePeriod(tc.period)
				tc.want.Rule = err.Error()
			}
			if got != *tc.want {
				t.Fatalf("problem %+v, want %+v", got, *tc.want)
			}
		})
	}
}

func TestSequence(t *testing.T) {
	stored := []*amane.DeclarationRecord{{Seq: 0, Received: "2025-02-10T09:00:00Z"}, {Seq: 2}, {Seq: 1}}
	for _, tc := range []struct {
		name          string
		complementary bool
		existing      []*amane.DeclarationRecord
		seq           int
		rule, found   string
	}{
		{"OKPrincipal", false, nil, 0, "", ""},
		{"OKComplementary", true, stored, 3, "", ""},
		{"OKFirstComplementary", true, stored[:1], 1, "", ""},
		{"ErrClosed", false, stored, 0, "the period is already declared and closed: send a complementary declaration (DSC file)", "received 2025-02-10T09:00:00Z"},
		{"ErrNoPrincipal", true, nil, 0, "a complementary declaration needs the period's principal declaration first", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			seq, probs := declare.Sequence(tc.complementary, tc.existing)
			if seq != tc.seq {
				t.Errorf("seq %d, want %d", seq, tc.seq)
			}
			var want []amane.FieldError
			if tc.rule != "" {
				want = []amane.FieldError{{Record: "B01", Field: "L_Periode", Rule: tc.rule, Found: tc.found}}
			}
			if !reflect.DeepEqual(probs, want) {
				t.Fatalf("problems %+v, want %+v", probs, want)
			}
		})
	}
}

func TestRepeated(t *testing.T) {
	prior := amane.DeclarationLine{Children: 2, AFToPay: 60000, AFToDeduct: 0, AFNet: 60000, Days: 26, Salary: 500000}
	t.Run("OK", func(t *testing.T) {
		l := prior
		l.Days, l.Salary = 20, 400000 // days and salary are the month's own
		if probs := declare.Repeated(&l, prior, 7); len(probs) != 0 {
			t.Fatalf("problems %+v", probs)
		}
	})
	t.Run("ErrFigures", func(t *testing.T) {
		l := prior
		l.Children, l.AFNet = 3, 90000
		probs := declare.Repeated(&l, prior, 7)
		var fields []string
		for _, p := range probs {
			if p.Line != 7 || p.Record != "B02" || !strings.Contains(p.Rule, "A02") {
				t.Errorf("problem %+v", p)
			}
			fields = append(fields, p.Field+":"+p.Expected+"→"+p.Found)
		}
		if want := []string{"N_Enfants:2→3", "N_AF_Net_A_Payer:60000→90000"}; !slices.Equal(fields, want) {
			t.Fatalf("problems %q, want %q", fields, want)
		}
	})
}

func TestName(t *testing.T) {
	for _, tc := range []struct {
		name, surname, first string
		bad                  bool
	}{
		{"OK", "EL IDRISSI", "SAID", false},
		{"OKAsTyped", "El Idrissi", "Saïd", false},
		{"OKNoName", "", "", false}, // the JSON API may leave names out
		{"OKPaddedTo30", "EL IDRISSI", "SAID" + strings.Repeat(" ", 40), false},
		{"ErrSurname", "EL ALAMI", "SAID", true},
		{"ErrFirstName", "EL IDRISSI", "SAAD", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := amane.DeclarationLine{Surname: tc.surname, FirstName: tc.first}
			probs := declare.Name(&l, "El Idrissi", "Saïd", 4)
			if !tc.bad {
				if len(probs) != 0 {
					t.Fatalf("problems %+v", probs)
				}
				return
			}
			if len(probs) != 1 || probs[0].Line != 4 || probs[0].Field != "L_Nom_Prenom" || probs[0].Expected != "" || probs[0].Found != "" {
				t.Fatalf("problems %+v", probs)
			}
		})
	}
}

func TestIdentity(t *testing.T) {
	for _, tc := range []struct {
		name        string
		line        amane.NewEmployeeLine
		registryCIN string
		rules       []string
	}{
		{"OK", amane.NewEmployeeLine{Surname: "benani", FirstName: "Younès", CIN: "k998877"}, "K998877", nil},
		{"ErrSurname", amane.NewEmployeeLine{Surname: "BENANI X", FirstName: "YOUNES", CIN: "K998877"}, "K998877", []string{"the surname declared is not the registry's"}},
		{"ErrAll", amane.NewEmployeeLine{Surname: "A", FirstName: "B", CIN: "K111111"}, "K998877",
			[]string{"the surname declared is not the registry's", "the first name declared is not the registry's", "the CIN declared is not the registry's"}},
		{"ErrBadCIN", amane.NewEmployeeLine{Surname: "BENANI", FirstName: "YOUNES", CIN: "??"}, "K998877", []string{"the CIN declared is not the registry's"}},
		{"ErrNoRegistryCIN", amane.NewEmployeeLine{Surname: "BENANI", FirstName: "YOUNES", CIN: "K998877"}, "", []string{"the CIN declared is not the registry's"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var rules []string
			for _, p := range declare.Identity(&tc.line, "BENANI", "YOUNES", tc.registryCIN) {
				if p.Record != "B04" || p.Found != "" {
					t.Errorf("problem %+v", p)
				}
				rules = append(rules, p.Rule)
			}
			if !slices.Equal(rules, tc.rules) {
				t.Fatalf("rules %q, want %q", rules, tc.rules)
			}
		})
	}
}

func TestLineProblems(t *testing.T) {
	t.Run("OKLineNumber", func(t *testing.T) {
		if n := declare.LineNumber(12, 0); n != 12 { // a file's line
			t.Errorf("LineNumber(12, 0) = %d", n)
		}
		if n := declare.LineNumber(0, 4); n != 5 { // the JSON API's rank, from 1
			t.Errorf("LineNumber(0, 4) = %d", n)
		}
	})
	t.Run("ErrBadNumber", func(t *testing.T) {
		p := declare.BadNumber(3, errors.New("must be 9 digits"))
		if want := (amane.FieldError{Line: 3, Record: "B02", Field: "N_Num_Assure", Rule: "must be 9 digits", Expected: "9 digits"}); p != want {
			t.Fatalf("%+v", p)
		}
	})
	t.Run("ErrBadNewNumber", func(t *testing.T) {
		p := declare.BadNewNumber(4, errors.New("must be 9 digits"))
		if want := (amane.FieldError{Line: 4, Record: "B04", Field: "N_Num_Assure", Rule: "must be 9 digits", Expected: "9 digits"}); p != want {
			t.Fatalf("%+v", p)
		}
	})
	t.Run("ErrNotOurs", func(t *testing.T) {
		p := declare.NotOurs(9)
		if want := (amane.FieldError{Line: 9, Record: "B02", Field: "N_Num_Assure", Rule: declare.RuleNotOurs}); p != want {
			t.Fatalf("%+v", p)
		}
	})
	t.Run("ErrTwiceInLoad", func(t *testing.T) {
		if p := declare.TwiceInLoad(); p.Record != "B01" || p.Field != "L_Periode" || p.Line != 0 {
			t.Fatalf("%+v", p)
		}
	})
}

func TestRejected(t *testing.T) {
	probs := []amane.FieldError{{Line: 5, Field: "a"}, {Line: 2, Field: "b"}, {Line: 5, Field: "c"}, {Line: 0, Field: "d"}, {Line: 2, Field: "e"}}
	r := declare.Rejected("1234567", "202502", probs)
	var order []string
	for _, p := range r.Problems {
		order = append(order, p.Field)
	}
	if want := []string{"d", "b", "e", "a", "c"}; !slices.Equal(order, want) { // by line, a line's in order
		t.Errorf("order %q, want %q", order, want)
	}
	want := amane.DeclarationSummary{Affiliation: "1234567", Period: "202502", Status: amane.DeclRejected}
	if r.Status != amane.DeclRejected || r.Summary != want || r.Contributions != nil {
		t.Fatalf("%+v", r)
	}
}

// declaration is two people, one above the ceiling, and a new employee.
func declaration() *amane.Declaration {
	return &amane.Declaration{Affiliation: "1234567", Period: "202502",
		Lines: []amane.DeclarationLine{{Imm: "123456789", Days: 26, Salary: 800000, Capped: 600000}, {Imm: "223456789", Days: 10, Salary: 150000, Capped: 150000}},
		New:   []amane.NewEmployeeLine{{Days: 5, Salary: 50000, Capped: 50000}}}
}

func TestAccept(t *testing.T) {
	d := declaration()
	rt, _ := amane.RatesFor(d.Period)
	declare.Accept(d, 2, rt, now)
	tot := declaration().ComputeTotals()
	if d.Seq != 2 || d.Status != amane.DeclAccepted || d.Received != "2025-03-15T10:00:00Z" || d.Totals != tot {
		t.Fatalf("accepted %d %s %s %+v", d.Seq, d.Status, d.Received, d.Totals)
	}
	if tot.Headcount != 3 || tot.Payroll != 1000000 {
		t.Fatalf("totals %+v", tot)
	}
	want := amane.ComputeContributions(rt, 800000, 1000000) // capped: 600000 + 150000 + 50000
	if !reflect.DeepEqual(d.Contributions, want) {
		t.Fatalf("contributions %+v, want %+v", d.Contributions, want)
	}
}

func TestConfirmed(t *testing.T) {
	stored := func() (*amane.Declaration, *amane.DeclarationRecord) {
		d := declaration()
		rt, _ := amane.RatesFor(d.Period)
		declare.Accept(d, 0, rt, now)
		return declaration(), &amane.DeclarationRecord{Period: d.Period, Totals: d.Totals, Contributions: d.Contributions}
	}
	t.Run("OK", func(t *testing.T) {
		if d, r := stored(); !declare.Confirmed(d, r) {
			t.Fatal("the lines' own figures are not confirmed")
		}
	})
	for _, tc := range []struct {
		name   string
		change func(d *amane.Declaration, r *amane.DeclarationRecord)
	}{
		{"ErrPayroll", func(_ *amane.Declaration, r *amane.DeclarationRecord) { r.Totals.Payroll++ }},
		{"ErrHeadcount", func(_ *amane.Declaration, r *amane.DeclarationRecord) { r.Totals.Headcount-- }},
		{"ErrContributions", func(_ *amane.Declaration, r *amane.DeclarationRecord) { r.Contributions.Total-- }},
		{"ErrErasedLine", func(d *amane.Declaration, _ *amane.DeclarationRecord) { d.Lines[1].Surname = amane.ErasedLine }},
		{"ErrErasedNew", func(d *amane.Declaration, _ *amane.DeclarationRecord) { d.New[0].Surname = amane.ErasedLine }},
		{"ErrNoRates", func(_ *amane.Declaration, r *amane.DeclarationRecord) { r.Period = "202301" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, r := stored()
			tc.change(d, r)
			if declare.Confirmed(d, r) {
				t.Fatal("confirmed")
			}
		})
	}
}

func TestSummaryAndHeader(t *testing.T) {
	r := &amane.DeclarationRecord{Period: "202502", Seq: 1, Status: amane.DeclAccepted, Received: "2025-03-01T08:00:00Z",
		Totals: amane.DeclarationTotals{Headcount: 3, Payroll: 1000000}, Contributions: amane.Contributions{Total: 12345}}
	want := amane.DeclarationSummary{Affiliation: "1234567", Period: "202502", Seq: 1, Status: amane.DeclAccepted, Received: r.Received, Totals: r.Totals, Due: 12345}
	if s := declare.Summary("1234567", r); s != want {
		t.Errorf("summary %+v", s)
	}
	e := amane.EmployerIdentity{Affiliation: "1234567", Name: "ATLAS SARL", City: "RABAT", Agency: "RBT01"}
	h := declare.Header(e, "202512") // the next month is in the next year
	if h.Transfer != "12345672025121" || h.Agency != "RB" || h.IssueDate != "20260101" || h.DueDate != "20260110" || h.Name != "ATLAS SARL" {
		t.Errorf("header %+v", h)
	}
	if h := declare.Header(amane.EmployerIdentity{Agency: "R"}, "202502"); h.Agency != "R" {
		t.Errorf("one-letter agency: %q", h.Agency)
	}
}

func TestMonths(t *testing.T) {
	var sums []*amane.DeclarationRecord // newest first, as the store lists them
	for m := 14; m >= 1; m-- {
		p := time.Date(2024, time.Month(m), 1, 0, 0, 0, 0, time.UTC).Format("200601")
		sums = append(sums, &amane.DeclarationRecord{Period: p, Seq: 1, Totals: amane.DeclarationTotals{Headcount: 1, Payroll: 100}},
			&amane.DeclarationRecord{Period: p, Totals: amane.DeclarationTotals{Headcount: m, Payroll: int64(m) * 1000}})
	}
	t.Run("OKLast12", func(t *testing.T) {
		months, periods := declare.Months(sums, "", "")
		if len(months) != 12 || periods[0] != "202403" || periods[11] != "202502" {
			t.Fatalf("periods %q", periods)
		}
		if m := months[0]; m != (amane.AttestationMonth{Period: "202403", Headcount: 4, Payroll: 3100}) { // principal and complementary
			t.Fatalf("first month %+v", m)
		}
	})
	t.Run("OKRange", func(t *testing.T) {
		months, periods := declare.Months(sums, "202401", "202402")
		if !slices.Equal(periods, []string{"202401", "202402"}) || months[1].Headcount != 3 {
			t.Fatalf("%q %+v", periods, months)
		}
	})
	t.Run("OKNone", func(t *testing.T) {
		if months, periods := declare.Months(sums, "203001", ""); len(months) != 0 || len(periods) != 0 {
			t.Fatalf("%q %+v", periods, months)
		}
	})
}

func TestLines(t *testing.T) {
	filed := func() *amane.Declaration {
		d := declaration()
		d.Header = declare.Header(amane.EmployerIdentity{Affiliation: d.Affiliation, Name: "ATLAS SARL", Agency: "RBT01"}, d.Period)
		d.New[0].Imm, d.New[0].Surname, d.New[0].FirstName = "000000000", "NOUVEAU", "YOUNES" // no immatriculation yet
		return d
	}
	t.Run("OK", func(t *testing.T) {
		d := filed()
		if probs := declare.Lines(d, 600000); len(probs) != 0 {
			t.Fatalf("problems %+v", probs)
		}
	})
	t.Run("ErrCapped", func(t *testing.T) {
		d := filed()
		d.Lines[0].Capped = 700000 // above the ceiling
		if probs := declare.Lines(d, 600000); len(probs) == 0 {
			t.Fatal("a capped salary above the ceiling passes")
		}
	})
}
