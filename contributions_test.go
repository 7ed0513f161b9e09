package amane

import "testing"

// TestContributionsHandComputed checks one declaration against figures computed by hand from the
// reference table: two people, one above the 6,000 MAD ceiling.
//
//	A: 8,000.00 MAD (capped 6,000.00)   B: 4,500.00 MAD
//	capped base 10,500.00 MAD, real base 12,500.00 MAD
//	short-term 1.05 % / 0.52 % of 10,500 = 110.25 / 54.60
//	pensions   7.93 % / 3.96 % of 10,500 = 832.65 / 415.80
//	AF         6.40 %          of 12,500 = 800.00
//	AMO        4.11 % / 2.26 % of 12,500 = 513.75 / 282.50
//	TFP        1.60 %          of 12,500 = 200.00
//	employer 2,456.65   employee 752.90   total 3,209.55
func TestContributionsHandComputed(t *testing.T) {
	d := &Declaration{Period: "202410", Lines: []DeclarationLine{
		{Imm: "100000001", Days: 26, Salary: 800000, Capped: 600000},
		{Imm: "100000002", Days: 26, Salary: 450000, Capped: 450000},
	}}
	rt, err := RatesFor(d.Period)
	if err != nil {
		t.Fatal(err)
	}
	if rt.Ceiling != 600000 {
		t.Fatalf("ceiling %d, want 600000", rt.Ceiling)
	}
	tot := d.ComputeTotals()
	c := ComputeContributions(rt, d.CappedBase(rt.Ceiling), tot.Payroll)
	want := map[string][3]int64{ // base, employer, employee
		"prestations_court_terme":   {1050000, 11025, 5460},
		"pensions":                  {1050000, 83265, 41580},
		"allocations_familiales":    {1250000, 80000, 0},
		"amo":                       {1250000, 51375, 28250},
		"formation_professionnelle": {1250000, 20000, 0},
	}
	if len(c.Branches) != len(want) {
		t.Fatalf("%d branches, want %d", len(c.Branches), len(want))
	}
	for _, b := range c.Branches {
		w, ok := want[b.Branch]
		if !ok || b.Base != w[0] || b.Employer != w[1] || b.Employee != w[2] {
			t.Errorf("%s: base %d employer %d employee %d, want %v", b.Branch, b.Base, b.Employer, b.Employee, w)
		}
	}
	if c.Employer != 245665 || c.Employee != 75290 || c.Total != 320955 {
		t.Errorf("totals employer %d employee %d total %d, want 245665 75290 320955", c.Employer, c.Employee, c.Total)
	}
	if tot.Headcount != 2 || tot.Payroll != 1250000 || tot.Capped != 1050000 || tot.Days != 52 {
		t.Errorf("totals %+v", tot)
	}
}

func TestContributionsRoundHalfUp(t *testing.T) {
	// 1.05 % of 3,333.33 MAD = 34.9999965 MAD → 35.00; 0.52 % of 0.97 MAD = 0.005044 → 0.01.
	if got := share(333333, 105); got != 3500 {
		t.Errorf("share(333333, 105) = %d, want 3500", got)
	}
	if got := share(97, 52); got != 1 {
		t.Errorf("share(97, 52) = %d, want 1", got)
	}
}

func TestRatesForIsDated(t *testing.T) {
	if _, err := RatesFor("202312"); ErrorCode(err) != EINVALID {
		t.Errorf("a period before every table: %v, want EINVALID", err)
	}
	if _, err := RatesFor("202413"); ErrorCode(err) != EINVALID {
		t.Errorf("month 13: %v, want EINVALID", err)
	}
	saved := RateTables
	defer func() { RateTables = saved }()
	RateTables = append(append([]RateTable(nil), saved...), RateTable{From: "202601", Ceiling: 700000})
	for p, want := range map[string]int64{"202412": 600000, "202512": 600000, "202601": 700000, "202703": 700000} {
		rt, err := RatesFor(p)
		if err != nil || rt.Ceiling != want {
			t.Errorf("%s: ceiling %v (%v), want %d", p, rt, err, want)
		}
	}
}
