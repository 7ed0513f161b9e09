package damancom

import (
	"io"
	"strconv"
)

// Encode writes p as a préétabli: A00, A01, one A02 per insured, and the A03 it computes. See the
// package documentation for what Encode refuses; it returns a *Report then and writes nothing.
func (p *Preetabli) Encode(w io.Writer) error {
	e := newEncoder(p.LineEnding, len(p.Insured)+3)
	e.header(recA00, p.Header, CatPreetabli)
	e.employer(recA01, &p.Employer)
	var t totals
	for _, in := range p.Insured {
		rec := e.start(recA02, &p.Employer)
		e.insured(rec, in, &t)
	}
	rec := e.start(recA03, &p.Employer)
	e.recap(rec, recA03, &t)
	return e.finish(w, false)
}

// Encode writes d as a declaration: B00, B01, one B02 per line, the B03 it computes, one B04 per new
// employee (or the blank B04 when New is empty and BlankB04 is set), and the B05 and B06 it computes.
// See the package documentation for what Encode refuses; it returns a *Report then and writes nothing.
func (d *Declaration) Encode(w io.Writer) error {
	e := newEncoder(d.LineEnding, len(d.Lines)+len(d.New)+6)
	emp := &d.Employer
	e.header(recB00, d.Header, CatDeclaration)
	e.employer(recB01, emp)

	var lines, news totals
	for _, l := range d.Lines {
		rec := e.start(recB02, emp)
		before := len(e.problems)
		e.insured(rec, l.Insured, &lines)
		e.numeric(rec, fAFToReturn, l.AFToReturn, &lines, colAFToReturn)
		e.numeric(rec, fDays, int64(l.Days), &lines, colDays)
		e.numeric(rec, fReal, l.RealSalary, &lines, colReal)
		e.numeric(rec, fCapped, l.CappedSalary, &lines, colCapped)
		if _, ok := SituationRank(l.Situation); ok {
			copy(rec[fSituation.start:], l.Situation)
		} else {
			found := "not a code"
			if len(l.Situation) <= 2 && notAllowed(l.Situation) < 0 {
				found = l.Situation
			}
			e.add(fSituation, "blank or one of SO, DE, IT, IL, AT, CS, MS, MP", found, "unknown situation code")
		}
		if len(e.problems) == before {
			e.numeric(rec, fCtr, LineControl(l), &lines, colCtr)
		}
	}
	rec := e.start(recB03, emp)
	e.recap(rec, recB03, &lines)

	switch {
	case len(d.New) == 0 && d.BlankB04:
		rec := e.start(recB04, emp)
		copy(rec[fNumber.start:], blankB04Body)
	case d.BlankB04:
		e.problems = append(e.problems, located{Problem{Line: e.no + 1, Record: recB04.typ, Field: "BlankB04",
			Expected: "false", Found: "true", Rule: "a blank B04 is written only when there is no new employee"}, 0})
	}
	for _, n := range d.New {
		rec := e.start(recB04, emp)
		before := len(e.problems)
		e.digits(rec, fNumber, n.Number)
		e.text(rec, field{start: surnameStart, end: surnameEnd}, n.Surname)
		e.text(rec, field{start: firstStart, end: firstEnd}, n.FirstName)
		e.text(rec, fCIN, n.CIN)
		e.numeric(rec, fNewDays, int64(n.Days), &news, colDays)
		e.numeric(rec, fNewReal, n.RealSalary, &news, colReal)
		e.numeric(rec, fNewCapped, n.CappedSalary, &news, colCapped)
		if len(e.problems) == before {
			news.add(colCount, 1, true)
			news.add(colNumbers, uint64(numberValue(n.Number)), true)
			e.numeric(rec, fNewCtr, NewControl(n), &news, colCtr)
		}
	}
	rec = e.start(recB05, emp)
	e.recap(rec, recB05, &news)
	rec = e.start(recB06, emp)
	lines.merge(&news)
	e.recap(rec, recB06, &lines)
	return e.finish(w, true)
}

// encoder builds a file in memory; records are written whole before the next one starts.
type encoder struct {
	buf      []byte
	end      string
	no       int // line of the record being written
	typ      string
	affOK    bool // the employer's affiliation and period can be written on every record
	periodOK bool
	problems []located
}

func newEncoder(ending string, records int) *encoder {
	e := &encoder{end: ending}
	switch ending {
	case "":
		e.end = "\n"
	case "\n", "\r\n":
	default:
		e.problems = append(e.problems, located{Problem{Field: "LineEnding", Expected: `"\n" or "\r\n"`,
			Found: strconv.Quote(ending), Rule: "lines end with LF or CRLF"}, 0})
		e.end = "\n"
	}
	e.buf = make([]byte, 0, records*(Width+len(e.end)))
	return e
}

func (e *encoder) add(f field, expected, found, rule string) {
	e.problems = append(e.problems, located{Problem{Line: e.no, Record: e.typ, Field: f.name, Expected: expected,
		Found: found, Rule: rule}, f.start})
}

// start appends a record of type r, filled with spaces, its type, and, but for a header, the
// employer's affiliation and period; it returns the record's Width bytes.
func (e *encoder) start(r *record, emp *Employer) []byte {
	e.no++
	e.typ = r.typ
	n := len(e.buf)
	e.buf = append(e.buf, spaces...)
	e.buf = append(e.buf, e.end...)
	rec := e.buf[n : n+Width]
	copy(rec, r.typ)
	if emp != nil {
		if e.affOK {
			copy(rec[fAff.start:], emp.Affiliation)
		}
		if e.periodOK {
			copy(rec[fPeriod.start:], emp.Period)
		}
	}
	return rec
}

func (e *encoder) header(r *record, h Header, cat string) {
	rec := e.start(r, nil)
	e.digits(rec, fTransfer, h.TransferID)
	switch h.Cat {
	case "", cat:
		copy(rec[fCat.start:], cat)
	default:
		found := "not a category"
		if len(h.Cat) <= 2 && notAllowed(h.Cat) < 0 {
			found = h.Cat
		}
		e.add(fCat, cat, found, "the header category is A0 in a préétabli and B0 in a declaration")
	}
}

func (e *encoder) employer(r *record, emp *Employer) {
	e.affOK = len(emp.Affiliation) == fAff.width() && isDigits(emp.Affiliation)
	e.periodOK = len(emp.Period) == fPeriod.width() && isDigits(emp.Period)
	rec := e.start(r, emp)
	e.digits(rec, fAff, emp.Affiliation)
	e.digits(rec, fPeriod, emp.Period)
	e.text(rec, fEmpName, emp.Name)
	e.text(rec, fActivity, emp.Activity)
	e.text(rec, fAddress, emp.Address)
	e.text(rec, fCity, emp.City)
	e.text(rec, fPostalCode, emp.PostalCode)
	e.text(rec, fAgency, emp.Agency)
	e.digits(rec, fIssueDate, emp.IssueDate)
	e.digits(rec, fDueDate, emp.DueDate)
}

// insured writes the fields A02 and B02 share, and adds them to t.
func (e *encoder) insured(rec []byte, in Insured, t *totals) {
	if e.digits(rec, fNumber, in.Number) {
		t.add(colNumbers, uint64(numberValue(in.Number)), true)
	}
	t.add(colCount, 1, true)
	e.text(rec, field{start: surnameStart, end: surnameEnd}, in.Surname)
	e.text(rec, field{start: firstStart, end: firstEnd}, in.FirstName)
	e.numeric(rec, fChildren, int64(in.Children), t, colChildren)
	e.numeric(rec, fAFToPay, in.AFToPay, t, colAFToPay)
	e.numeric(rec, fAFToDeduct, in.AFToDeduct, t, colAFToDeduct)
	e.numeric(rec, fAFNet, in.AFNet, t, colAFNet)
}

// recap writes the recap fields of r from t.
func (e *encoder) recap(rec []byte, r *record, t *totals) {
	for _, rf := range r.recap {
		v, w := t.v[rf.col], rf.f.width()
		if t.over[rf.col] || v > maxValue(w) {
			e.add(rf.f, "at most "+strconv.Itoa(w)+" digits", "more", rf.f.name+" is "+rf.rule+", which does not fit in the field")
			continue
		}
		putUint(rec[rf.f.start:rf.f.end], v)
	}
}

// digits writes s, which must be exactly the width of f in digits.
func (e *encoder) digits(rec []byte, f field, s string) bool {
	if len(s) != f.width() || !isDigits(s) {
		found := strconv.Itoa(len(s)) + " characters"
		if i := nonDigit(s); i >= 0 {
			found = "a non-digit character at position " + strconv.Itoa(i+1)
		} else if len(s) > 0 {
			found = s
		}
		e.add(f, strconv.Itoa(f.width())+" digits", found, "this field is exactly "+strconv.Itoa(f.width())+" digits")
		return false
	}
	copy(rec[f.start:f.end], s)
	return true
}

// numeric writes v zero-padded to the width of f and adds it to column col of t.
func (e *encoder) numeric(rec []byte, f field, v int64, t *totals, col column) {
	switch {
	case v < 0:
		e.add(f, "a number from 0", strconv.FormatInt(v, 10), "numbers are never negative")
	case uint64(v) > maxValue(f.width()):
		e.add(f, "at most "+strconv.Itoa(f.width())+" digits", strconv.FormatInt(v, 10), "the number does not fit in the field")
	default:
		putUint(rec[f.start:f.end], uint64(v))
		t.add(col, uint64(v), true)
	}
}

// text writes s transliterated, truncated to the width of f and padded with spaces.
func (e *encoder) text(rec []byte, f field, s string) {
	s = Transliterate(s)
	if len(s) > f.width() {
		s = s[:f.width()]
	}
	copy(rec[f.start:f.end], s)
}

// putUint writes v right-aligned in b, zero-padded; v fits.
func putUint(b []byte, v uint64) {
	for i := len(b) - 1; i >= 0; i-- {
		b[i] = byte('0' + v%10)
		v /= 10
	}
}

func (e *encoder) finish(w io.Writer, decl bool) error {
	if len(e.problems) > 0 {
		return newReport(e.problems)
	}
	// The decoder's rules are the contract: what it refuses, Encode refuses too.
	if c := check(string(e.buf), decl, false); len(c.problems) > 0 {
		return c.report()
	}
	_, err := w.Write(e.buf)
	return err
}
