package amane

import (
	"fmt"
	"sort"
)

// Rate is one branch's contribution rates in hundredths of a percent (105 = 1.05 %), integers so that
// contributions are computed exactly.
type Rate struct {
	Branch   string `json:"branche"`
	Employer int64  `json:"part_patronale"` // hundredths of a percent
	Employee int64  `json:"part_salariale"` // hundredths of a percent
	Capped   bool   `json:"plafonne"`       // base capped at the ceiling, per person
}

// RateTable is the set of rates in force from one period on, until the next table's.
type RateTable struct {
	From    string `json:"a_partir_de"` // AAAAMM
	Ceiling int64  `json:"plafond"`     // per person per month, centimes
	Rates   []Rate `json:"taux"`
	Source  string `json:"source"`
}

// RateTables lists the tables, oldest first. A period is computed with the newest table whose From is
// not after it. Source: ../shared/reference/damancom-bds.md ("rates in force at 1 January 2024";
// nothing found changing them in 2025). Periods before the first table have no rates here: they are
// refused rather than computed with rates of another time.
var RateTables = []RateTable{{
	From:    "202401",
	Ceiling: 600000,
	Rates: []Rate{
		{Branch: "prestations_court_terme", Employer: 105, Employee: 52, Capped: true},
		{Branch: "pensions", Employer: 793, Employee: 396, Capped: true},
		{Branch: "allocations_familiales", Employer: 640},
		{Branch: "amo", Employer: 411, Employee: 226},
		{Branch: "formation_professionnelle", Employer: 160},
	},
	Source: "CNSS rates in force at 1 January 2024",
}}

// RatesFor returns the table in force for a period. EINVALID if the period is malformed or before
// every table.
func RatesFor(period string) (*RateTable, error) {
	if _, err := ParsePeriod(period); err != nil {
		return nil, Invalid("Bad period.", FieldError{Field: "periode", Rule: err.Error()})
	}
	i := sort.Search(len(RateTables), func(i int) bool { return RateTables[i].From > period }) - 1
	if i < 0 {
		return nil, Invalid("No contribution rates are known for this period.",
			FieldError{Field: "periode", Rule: fmt.Sprintf("must be %s or later", RateTables[0].From)})
	}
	return &RateTables[i], nil
}

// BranchDue is what one branch owes for a declaration.
type BranchDue struct {
	Branch   string `json:"branche"`
	Base     int64  `json:"assiette"` // centimes
	Employer int64  `json:"part_patronale"`
	Employee int64  `json:"part_salariale"`
}

// Contributions are what a declaration owes, per branch and in total, in centimes.
type Contributions struct {
	Table    string      `json:"bareme"` // the From of the rate table used
	Ceiling  int64       `json:"plafond"`
	Branches []BranchDue `json:"branches"`
	Employer int64       `json:"part_patronale"`
	Employee int64       `json:"part_salariale"`
	Total    int64       `json:"total"`
}

// share is base × rate (hundredths of a percent), rounded half up to the centime.
func share(base, rate int64) int64 { return (base*rate + 5000) / 10000 }

// ComputeContributions applies the rate table to the bases of a declaration: the capped branches on
// the sum of each person's salary capped at the ceiling, the others on the sum of real salaries.
// Each branch's share is rounded to the centime once, on the declaration's base.
func ComputeContributions(t *RateTable, cappedBase, realBase int64) Contributions {
	c := Contributions{Table: t.From, Ceiling: t.Ceiling}
	for _, r := range t.Rates {
		base := realBase
		if r.Capped {
			base = cappedBase
		}
		b := BranchDue{Branch: r.Branch, Base: base, Employer: share(base, r.Employer), Employee: share(base, r.Employee)}
		c.Branches = append(c.Branches, b)
		c.Employer += b.Employer
		c.Employee += b.Employee
	}
	c.Total = c.Employer + c.Employee
	return c
}

// CappedBase returns the sum over lines of min(salary, ceiling): the capped branches' base, computed
// from the real salaries so that a wrong declared capped salary cannot lower it.
func (d *Declaration) CappedBase(ceiling int64) int64 {
	var s int64
	for _, l := range d.Lines {
		s += min(l.Salary, ceiling)
	}
	for _, n := range d.New {
		s += min(n.Salary, ceiling)
	}
	return s
}
