// Package declare holds the rules of a declaration that need neither a key nor a principal: the
// period's (its form, not in the future, rates known; closed once declared, a complementary
// declaration after the principal one, its seq), the content's (package damancom's line rules: the
// records B00..B06, totals, headcounts, duplicate lines, the ceiling), the B02 line repeating the
// préétabli's A02 (figures and name), a new employee's identity against the registry's, and the
// figures of an accepted declaration (totals, contributions) and of an attestation (months).
//
// Every function is pure, over plain values of package amane. Package gate calls them in its order
// — principal, purpose, role, scope, then these rules, then journal, seal and store — and supplies
// what only it may have: the records in scope, the names it opened. Problems are amane.FieldError
// values named as a Damancom file names them (record "B01", field "L_Periode"), with the line, never
// a name or a number of the person.
package declare

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"

	"amane"
	"amane/damancom"
	"amane/ids"
)

// Period checks a declaration's period at now: AAAAMM, not in the future, with contribution rates.
// It returns the period's rates, or nil and the one problem.
func Period(period string, now time.Time) (*amane.RateTable, []amane.FieldError) {
	if _, err := amane.ParsePeriod(period); err != nil {
		return nil, []amane.FieldError{periodProblem(err.Error(), "AAAAMM", "")}
	}
	if period > amane.PeriodOf(now) {
		return nil, []amane.FieldError{periodProblem("the period is in the future", "at most "+amane.PeriodOf(now), period)}
	}
	rt, err := amane.RatesFor(period)
	if err != nil {
		return nil, []amane.FieldError{periodProblem("no contribution rates are known for this period", "at least "+amane.RateTables[0].From, period)}
	}
	return rt, nil
}

func periodProblem(rule, expected, found string) amane.FieldError {
	return amane.FieldError{Record: "B01", Field: "L_Periode", Rule: rule, Expected: expected, Found: found}
}

// Sequence gives the seq a declaration takes among the declarations of its employer and period
// already stored (existing): a principal declaration (complementary false) is seq 0 and only into a
// period not declared yet (closed once declared); a complementary one follows the highest seq and
// needs the principal one first.
func Sequence(complementary bool, existing []*amane.DeclarationRecord) (int, []amane.FieldError) {
	var probs []amane.FieldError
	seq := 0
	if complementary {
		if len(existing) == 0 {
			probs = append(probs, periodProblem("a complementary declaration needs the period's principal declaration first", "", ""))
		}
		for _, r := range existing {
			seq = max(seq, r.Seq+1)
		}
	} else if len(existing) > 0 {
		probs = append(probs, periodProblem("the period is already declared and closed: send a complementary declaration (DSC file)", "", "received "+existing[0].Received))
	}
	return seq, probs
}

// TwiceInLoad is the problem of a declaration whose employer, period and seq come twice in one load:
// the first one stands.
func TwiceInLoad() amane.FieldError {
	return amane.FieldError{Record: "B01", Field: "L_Periode", Rule: "this employer and period come twice in one load; send the second as a complementary declaration"}
}

// Lines applies the exchange format's rules to a declaration's content (package damancom holds them,
// once, for every channel); ceiling is the period's, or -1 when unknown.
func Lines(d *amane.Declaration, ceiling int64) []amane.FieldError {
	return damancom.Check(d, ceiling)
}

// LineNumber names a line in problems: its line in the file, or for the JSON API (fileLine 0) its
// rank i (from 0) in "lignes" then "nouveaux", from 1.
func LineNumber(fileLine, i int) int {
	if fileLine > 0 {
		return fileLine
	}
	return i + 1
}

// BadNumber is the problem of a B02 line whose insured number does not parse (err says how).
func BadNumber(line int, err error) amane.FieldError { return badNumber(line, "B02", err) }

// BadNewNumber is the problem of a B04 line whose insured number does not parse.
func BadNewNumber(line int, err error) amane.FieldError { return badNumber(line, "B04", err) }

func badNumber(line int, record string, err error) amane.FieldError {
	return amane.FieldError{Line: line, Record: record, Field: "N_Num_Assure", Rule: err.Error(), Expected: "9 digits"}
}

// RuleNotOurs is the one answer to a B02 line whose insured number is not among the employer's
// people, whether Amane knows the number or not.
const RuleNotOurs = "not an insured person employed by this employer: declare a new employee in a B04 line"

// NotOurs is the problem of a B02 line whose insured number is not among the employer's people. It
// carries no number: a line cannot tell whether a person exists.
func NotOurs(line int) amane.FieldError {
	return amane.FieldError{Line: line, Record: "B02", Field: "N_Num_Assure", Rule: RuleNotOurs}
}

// ruleRepeated is the format's rule for the B02 columns that repeat the A02.
const ruleRepeated = "B02 repeats the préétabli's A02 up to column 105: the figures of record are the person's line of the previous declaration"

// Repeated compares a B02 line with the A02 the préétabli carries for its person (prior, the
// person's line of the previous declaration): a problem per field that differs, in the A02's order.
// Numbers are echoed (the employer's préétabli shows them); names are not.
func Repeated(l *amane.DeclarationLine, prior amane.DeclarationLine, line int) []amane.FieldError {
	var probs []amane.FieldError
	num := func(field string, want, got int64) {
		if want != got {
			probs = append(probs, amane.FieldError{Line: line, Record: "B02", Field: field, Rule: ruleRepeated,
				Expected: strconv.FormatInt(want, 10), Found: strconv.FormatInt(got, 10)})
		}
	}
	num("N_Enfants", int64(prior.Children), int64(l.Children))
	num("N_AF_A_Payer", prior.AFToPay, l.AFToPay)
	num("N_AF_A_Deduire", prior.AFToDeduct, l.AFToDeduct)
	num("N_AF_Net_A_Payer", prior.AFNet, l.AFNet)
	return probs
}

// Name compares a B02 line's name, when it carries one (the JSON API may leave it out), with the
// registry's, as a Damancom file writes names (CanonName). The problem quotes neither name.
func Name(l *amane.DeclarationLine, surname, firstName string, line int) []amane.FieldError {
	if l.Surname == "" && l.FirstName == "" {
		return nil
	}
	if CanonName(l.Surname) != CanonName(surname) || CanonName(l.FirstName) != CanonName(firstName) {
		return []amane.FieldError{{Line: line, Record: "B02", Field: "L_Nom_Prenom", Rule: "B02 repeats the préétabli's A02 up to column 105: the name is not the registry's"}}
	}
	return nil
}

// Identity compares the B04 line that opened a pending employment with the registry's person: a
// problem per part that differs (surname, first name, CIN), quoting none.
func Identity(declared *amane.NewEmployeeLine, surname, firstName, cin string) []amane.FieldError {
	var differ []amane.FieldError
	if CanonName(declared.Surname) != CanonName(surname) {
		differ = append(differ, amane.FieldError{Record: "B04", Field: "L_Nom_Prenom", Rule: "the surname declared is not the registry's"})
	}
	if CanonName(declared.FirstName) != CanonName(firstName) {
		differ = append(differ, amane.FieldError{Record: "B04", Field: "L_Nom_Prenom", Rule: "the first name declared is not the registry's"})
	}
	if c, err := ids.ParseCIN(declared.CIN); err != nil || cin == "" || c != cin {
		differ = append(differ, amane.FieldError{Record: "B04", Field: "L_Num_CIN", Rule: "the CIN declared is not the registry's"})
	}
	return differ
}

// CanonName is a name as a Damancom file carries it: transliterated, upper case, at most 30
// characters, without right padding.
func CanonName(s string) string {
	s = damancom.Transliterate(s)
	if len(s) > 30 {
		s = s[:30]
	}
	return strings.TrimRight(s, " ")
}

// Rejected is the answer to a declaration refused with problems, sorted by line (stable: a line's
// problems keep their order).
func Rejected(affiliation, period string, probs []amane.FieldError) *amane.DeclarationResult {
	slices.SortStableFunc(probs, func(a, b amane.FieldError) int { return a.Line - b.Line })
	return &amane.DeclarationResult{Status: amane.DeclRejected, Problems: probs,
		Summary: amane.DeclarationSummary{Affiliation: affiliation, Period: period, Status: amane.DeclRejected}}
}

// Accept completes a declaration that passed every rule: its seq, status, time of receipt, totals,
// and contributions at the period's rates.
func Accept(d *amane.Declaration, seq int, rates *amane.RateTable, now time.Time) {
	tot := d.ComputeTotals()
	c := amane.ComputeContributions(rates, d.CappedBase(rates.Ceiling), tot.Payroll)
	d.Seq, d.Status, d.Received, d.Totals, d.Contributions = seq, amane.DeclAccepted, now.Format(time.RFC3339), tot, c
}

// Confirmed reports whether a stored declaration's figures (r: totals and contributions) are those
// of its lines (d, opened): false when a line was erased (the figures cannot be confirmed any more)
// or the period has no rates.
func Confirmed(d *amane.Declaration, r *amane.DeclarationRecord) bool {
	for _, l := range d.Lines {
		if l.Surname == amane.ErasedLine {
			return false
		}
	}
	for _, n := range d.New {
		if n.Surname == amane.ErasedLine {
			return false
		}
	}
	if d.ComputeTotals() != r.Totals {
		return false
	}
	rt, err := amane.RatesFor(r.Period)
	if err != nil {
		return false
	}
	c := amane.ComputeContributions(rt, d.CappedBase(rt.Ceiling), r.Totals.Payroll)
	cb, _ := json.Marshal(&c)
	rb, _ := json.Marshal(&r.Contributions)
	return string(cb) == string(rb)
}

// Summary is a stored declaration's summary, as histories and answers show it.
func Summary(affiliation string, r *amane.DeclarationRecord) amane.DeclarationSummary {
	return amane.DeclarationSummary{Affiliation: affiliation, Period: r.Period, Seq: r.Seq, Status: r.Status, Received: r.Received,
		Totals: r.Totals, Due: r.Contributions.Total}
}

// Header is the employer block of a period's files: the transfer identifier (affiliation, period,
// sequence 1), the company's identity, issued the 1st and due the 10th of the month after the period.
func Header(e amane.EmployerIdentity, period string) amane.DeclarationHeader {
	t, _ := amane.ParsePeriod(period)
	return amane.DeclarationHeader{Transfer: e.Affiliation + period + "1", Name: e.Name, Activity: e.Activity,
		Address: e.Address, City: e.City, Agency: agencyCode(e.Agency),
		IssueDate: t.AddDate(0, 1, 0).Format("20060102"), DueDate: t.AddDate(0, 1, 9).Format("20060102")}
}

// agencyCode is the 2-character agency code of a Damancom file: the cahier's codes are not public, so
// Amane writes the first two letters of its own agency code.
func agencyCode(code string) string {
	if len(code) < 2 {
		return code
	}
	return code[:2]
}

// Months sums an employer's declarations per period (principal and complementary), the newest 12
// periods by default (sums come newest first) or those within [from, to] (AAAAMM, inclusive),
// oldest first; periods lists them.
func Months(sums []*amane.DeclarationRecord, from, to string) ([]amane.AttestationMonth, []string) {
	byPeriod := map[string]*amane.AttestationMonth{}
	var periods []string
	for _, s := range sums {
		if (from != "" && s.Period < from) || (to != "" && s.Period > to) {
			continue
		}
		m := byPeriod[s.Period]
		if m == nil {
			if from == "" && to == "" && len(periods) == 12 {
				continue
			}
			m = &amane.AttestationMonth{Period: s.Period}
			byPeriod[s.Period] = m
			periods = append(periods, s.Period)
		}
		m.Headcount += s.Totals.Headcount
		m.Payroll += s.Totals.Payroll
	}
	slices.Sort(periods)
	months := make([]amane.AttestationMonth, len(periods))
	for i, p := range periods {
		months[i] = *byPeriod[p]
	}
	return months, periods
}
