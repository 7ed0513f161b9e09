package damancom

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// DecodePreetabli reads a whole préétabli (A00, A01, A02…, A03) and checks it. When the file has any
// problem, it returns nil and a *Report of every problem; a read error is returned as it is.
func DecodePreetabli(r io.Reader) (*Preetabli, error) {
	s, err := readAll(r)
	if err != nil {
		return nil, err
	}
	c := check(s, false, true)
	if len(c.problems) > 0 {
		return nil, c.report()
	}
	return c.pre, nil
}

// DecodeDeclaration reads a whole declaration (B00, B01, B02…, B03, B04…, B05, B06) and checks it.
// When the file has any problem, it returns nil and a *Report of every problem; a read error is
// returned as it is. The capped-salary rule is left to CheckCeiling.
func DecodeDeclaration(r io.Reader) (*Declaration, error) {
	s, err := readAll(r)
	if err != nil {
		return nil, err
	}
	c := check(s, true, true)
	if len(c.problems) > 0 {
		return nil, c.report()
	}
	return c.dec, nil
}

// readAll reads r into one string: every decoded text field is a substring of it, so that decoding
// allocates per line only the line's value, never per field.
func readAll(r io.Reader) (string, error) {
	var b strings.Builder
	if l, ok := r.(interface{ Len() int }); ok {
		b.Grow(l.Len())
	}
	if _, err := io.Copy(&b, r); err != nil {
		return "", err
	}
	return b.String(), nil
}

// located is a problem and the column it was found at, for sorting.
type located struct {
	Problem
	col int
}

// checker holds the state of one pass over a file.
type checker struct {
	decl     bool
	order    []*record // the file's record types in order; the rank is the index
	letter   byte      // 'A' or 'B'
	cat      string    // the expected L_Cat
	fill     bool      // build the decoded value
	problems []located

	nlines    int
	ending    string // the first line's end
	refAff    string // reference affiliation and period (see the package documentation)
	refPeriod string
	last      int // rank of the last record in order; -1 before the first

	main, news totals
	numbers    []uint64 // insured number<<34 | line<<1 | 1 for B04: sorted at the end to find duplicates
	b04Lines   int      // B04 lines in order, blank or not
	blankB04   []int    // lines of blank B04 records in order

	// The numeric fields of the current line, by start offset: fields reads them once for the rules.
	vals  [Width]uint64
	valid [Width]bool

	pre *Preetabli
	dec *Declaration
}

// check runs the whole pass over s, a préétabli or (decl) a declaration.
func check(s string, decl, fill bool) *checker {
	c := &checker{decl: decl, fill: fill, last: -1}
	if decl {
		c.order, c.letter, c.cat = declarationOrder, 'B', CatDeclaration
	} else {
		c.order, c.letter, c.cat = preetabliOrder, 'A', CatPreetabli
	}
	ascii := isASCII(s)
	if !ascii && !utf8.ValidString(s) {
		s = latin1(s)
	}
	if strings.HasPrefix(s, "\uFEFF") {
		c.add(1, -1, "", "charset", "no byte-order mark", "a UTF-8 byte-order mark",
			"the file starts with the first record")
		s = s[len("\uFEFF"):]
	}
	// Sized for records of full length, so that a small input of many short lines cannot make
	// decoding allocate much more than its own size.
	estimate := len(s)/(Width+1) + 1
	c.numbers = make([]uint64, 0, estimate)
	if fill {
		if decl {
			c.dec = &Declaration{Lines: make([]Line, 0, estimate)}
		} else {
			c.pre = &Preetabli{Insured: make([]Insured, 0, estimate)}
		}
	}
	for no := 1; len(s) > 0; no++ {
		var ln, end string
		if i := strings.IndexByte(s, '\n'); i >= 0 {
			ln, s, end = s[:i], s[i+1:], "\n"
			if n := len(ln); n > 0 && ln[n-1] == '\r' {
				ln, end = ln[:n-1], "\r\n"
			}
		} else {
			ln, s = s, ""
		}
		c.line(no, ln, end, ascii)
		c.nlines = no
	}
	c.finish()
	return c
}

// latin1 decodes s as ISO-8859-1: each byte is the code point of the same value.
func latin1(s string) string {
	b := make([]byte, 0, len(s)+len(s)/8)
	for i := 0; i < len(s); i++ {
		b = utf8.AppendRune(b, rune(s[i]))
	}
	return string(b)
}

// isASCII reports whether s is all ASCII, eight bytes at a time (the compiler combines the byte
// loads into one).
func isASCII(s string) bool {
	for len(s) >= 8 {
		w := uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
			uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
		if w&0x8080808080808080 != 0 {
			return false
		}
		s = s[8:]
	}
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func (c *checker) add(line, col int, rec, field, expected, found, rule string) {
	c.problems = append(c.problems, located{Problem{Line: line, Record: rec, Field: field, Expected: expected,
		Found: found, Rule: rule}, col})
}

func (c *checker) report() *Report { return newReport(c.problems) }

// newReport sorts ps by line, then column.
func newReport(ps []located) *Report {
	slices.SortStableFunc(ps, func(a, b located) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.col, b.col))
	})
	r := &Report{Problems: make([]Problem, len(ps))}
	for i, p := range ps {
		r.Problems[i] = p.Problem
	}
	return r
}

// line checks one line, ln without its line end.
func (c *checker) line(no int, ln, end string, ascii bool) {
	n, runes := len(ln), []rune(nil)
	if !ascii && !isASCII(ln) {
		// Count characters, not bytes, and give each character one byte (0x80 for any non-ASCII one, which
		// no field allows) so that fields keep their offsets; runes keeps the characters for the rules.
		runes = []rune(ln)
		n = len(runes)
		b := make([]byte, n)
		for i, r := range runes {
			b[i] = 0x80
			if r < utf8.RuneSelf {
				b[i] = byte(r)
			}
		}
		ln = string(b) // the value is never built from a line with a problem
	}
	rec := c.record(ln)
	typ := ""
	if rec != nil {
		typ = rec.typ
	}
	if end != "" {
		if c.ending == "" {
			c.ending = end
		} else if end != c.ending {
			c.add(no, Width, typ, "line end", endName(c.ending), endName(end),
				"every line of a file ends the same way, as the first one does")
		}
	}
	if n != Width {
		c.add(no, -1, typ, "length", strconv.Itoa(Width)+" characters", strconv.Itoa(n)+" characters",
			"every record is exactly 260 characters before the line end")
		if rec != nil && c.inOrder(no, rec) {
			c.unreadable(rec)
		}
		return
	}
	if rec == nil {
		found := "not a record type"
		if t := ln[:3]; 'A' <= t[0] && t[0] <= 'Z' && isDigits(t[1:]) {
			found = t
		}
		first, last := c.order[0].typ, c.order[len(c.order)-1].typ
		c.add(no, 0, "", fType.name, "a record type from "+first+" to "+last, found,
			"a "+c.kindName()+" holds only records "+first+" to "+last)
		return
	}
	in := c.inOrder(no, rec)
	c.fields(no, rec, ln, runes)
	switch rec {
	case recA00, recB00:
		if in && c.fill {
			h := Header{TransferID: ln[fTransfer.start:fTransfer.end], Cat: ln[fCat.start:fCat.end]}
			if c.decl {
				c.dec.Header = h
			} else {
				c.pre.Header = h
			}
		}
		return // no affiliation nor period
	case recA01, recB01:
		if in && c.fill {
			e := Employer{
				Affiliation: ln[fAff.start:fAff.end],
				Period:      ln[fPeriod.start:fPeriod.end],
				Name:        text(ln, fEmpName),
				Activity:    text(ln, fActivity),
				Address:     text(ln, fAddress),
				City:        text(ln, fCity),
				PostalCode:  text(ln, fPostalCode),
				Agency:      text(ln, fAgency),
				IssueDate:   ln[fIssueDate.start:fIssueDate.end],
				DueDate:     ln[fDueDate.start:fDueDate.end],
			}
			if c.decl {
				c.dec.Employer = e
			} else {
				c.pre.Employer = e
			}
		}
	case recA02, recB02:
		c.insured(no, rec, ln, in)
	case recB04:
		c.newEmployee(no, ln, in)
	case recA03, recB03:
		if in {
			c.recap(no, rec, ln, &c.main)
		}
	case recB05:
		if in {
			c.recap(no, rec, ln, &c.news)
		}
	case recB06:
		if in {
			t := c.main
			t.merge(&c.news)
			c.recap(no, rec, ln, &t)
		}
	}
	c.keys(no, rec, ln)
}

func endName(e string) string {
	if e == "\r\n" {
		return "CRLF"
	}
	return "LF"
}

func (c *checker) kindName() string {
	if c.decl {
		return "declaration"
	}
	return "préétabli"
}

// record returns the record type ln starts with, nil when it is not one of this file's.
func (c *checker) record(ln string) *record {
	if len(ln) < 3 || ln[0] != c.letter || ln[1] != '0' || ln[2] < '0' || int(ln[2]-'0') >= len(c.order) {
		return nil
	}
	return c.order[ln[2]-'0']
}

// inOrder checks that rec may come after the records seen so far; a record out of order is reported
// and then ignored, a skipped mandatory record is reported and the order resumes at rec.
func (c *checker) inOrder(no int, rec *record) bool {
	if rec.rank < c.last || rec.rank == c.last && !rec.repeat {
		c.add(no, 0, rec.typ, "order", c.next(), rec.typ, c.orderRule())
		return false
	}
	if m := c.missing(c.last+1, rec.rank); m != "" {
		c.add(no, 0, rec.typ, "order", m, rec.typ, c.orderRule())
	}
	c.last = rec.rank
	return true
}

// missing lists the mandatory record types of ranks [from, to).
func (c *checker) missing(from, to int) string {
	if from >= to {
		return ""
	}
	var m []string
	for _, r := range c.order[from:to] {
		if !r.repeat {
			m = append(m, r.typ)
		}
	}
	return strings.Join(m, ", ")
}

// next lists the record types that may follow the last one in order.
func (c *checker) next() string {
	var m []string
	if c.last >= 0 && c.order[c.last].repeat {
		m = append(m, c.order[c.last].typ)
	}
	for _, r := range c.order[c.last+1:] {
		m = append(m, r.typ)
		if !r.repeat {
			break
		}
	}
	if len(m) == 0 {
		return "end of file"
	}
	return strings.Join(m, " or ")
}

func (c *checker) orderRule() string {
	if c.decl {
		return "records come in the order B00, B01, B02..., B03, B04..., B05, B06, with exactly one of each but B02 and B04"
	}
	return "records come in the order A00, A01, A02..., A03, with exactly one A00, A01 and A03"
}

// unreadable accounts for an in-order line whose fields cannot be read: its totals become unknown.
func (c *checker) unreadable(rec *record) {
	var t *totals
	switch rec {
	case recA02, recB02:
		t = &c.main
		t.add(colCount, 1, true)
	case recB04:
		t = &c.news
		c.b04Lines++
		t.taint[colCount] = true // blank or not: unknown
	default:
		return
	}
	for col := colChildren; col < nColumns; col++ {
		t.taint[col] = true
	}
}

var spaces = strings.Repeat(" ", Width)

// fields checks the form of every field of rec in ln.
func (c *checker) fields(no int, rec *record, ln string, runes []rune) {
	for i := range rec.fields {
		f := &rec.fields[i]
		v := ln[f.start:f.end]
		switch f.kind {
		case kindNum:
			var n uint64
			i := 0
			for ; i < len(v); i++ {
				d := v[i] - '0'
				if d > 9 {
					break
				}
				n = n*10 + uint64(d)
			}
			c.vals[f.start], c.valid[f.start] = n, i == len(v)
			if i < len(v) {
				what := "a non-digit character"
				if v[i] == ' ' {
					what = "a space"
				}
				c.add(no, f.start, rec.typ, f.name, strconv.Itoa(f.width())+" digits", what+" at "+at(*f, i),
					"numeric fields are right-aligned and padded with zeros")
			}
		case kindText, kindName:
			if i := notAllowed(v); i >= 0 {
				c.charset(no, rec, *f, v, i, runes)
			}
		case kindPeriod:
			if v != c.refPeriod && !validPeriod(v) {
				c.add(no, f.start, rec.typ, f.name, "a period AAAAMM", echoDigits(v, "not a period"),
					"the period is a year 1900-2999 and a month 01-12")
			}
		case kindDate:
			if !validDate(v) {
				c.add(no, f.start, rec.typ, f.name, "a date AAAAMMJJ", echoDigits(v, "not a date"),
					"dates are calendar days AAAAMMJJ, years 1900-2999")
			}
		case kindCat:
			if v != c.cat {
				found := "not a category"
				if notAllowed(v) < 0 {
					found = v
				}
				c.add(no, f.start, rec.typ, f.name, c.cat, found,
					"the header category is A0 in a préétabli and B0 in a declaration")
			}
		case kindCode:
			if _, ok := SituationRank(trimRight(v)); !ok {
				found := "not a code"
				if notAllowed(v) < 0 {
					found = v
				}
				c.add(no, f.start, rec.typ, f.name, "blank or one of SO, DE, IT, IL, AT, CS, MS, MP", found,
					"unknown situation code")
			}
		case kindFiller:
			if v != spaces[:len(v)] {
				i := 0
				for v[i] == ' ' {
					i++
				}
				c.add(no, f.start, rec.typ, f.name, "spaces", "a non-space character at column "+strconv.Itoa(f.start+i+1),
					"fillers hold only spaces")
			}
		}
	}
}

// charset reports the characters of v (field f) outside the allowed set, the first at i, without
// echoing v.
func (c *checker) charset(no int, rec *record, f field, v string, i int, runes []rune) {
	n := 0
	for j := i; j < len(v); j++ {
		if !allowed[v[j]] {
			n++
		}
	}
	found := "a character outside the allowed set at " + at(f, i)
	if n > 1 {
		found = strconv.Itoa(n) + " characters outside the allowed set, the first at " + at(f, i)
	}
	r := rune(v[i])
	if runes != nil {
		r = runes[f.start+i]
	}
	c.add(no, f.start, rec.typ, f.name, "only "+allowedSet, found, transliterationRule(r))
}

func at(f field, i int) string {
	return "position " + strconv.Itoa(i+1) + " (column " + strconv.Itoa(f.start+i+1) + ")"
}

// echoDigits returns v when it is all digits (a number, date or period: never personal), else what.
func echoDigits(v, what string) string {
	if isDigits(v) {
		return v
	}
	return what
}

// keys checks the affiliation and period of a record against the reference ones.
func (c *checker) keys(no int, rec *record, ln string) {
	if aff := ln[fAff.start:fAff.end]; aff == c.refAff {
	} else if isDigits(aff) {
		if c.refAff == "" {
			c.refAff = aff
		} else if aff != c.refAff {
			c.add(no, fAff.start, rec.typ, fAff.name, c.refAff, aff, "every record carries the affiliation of the first one")
		}
	}
	if p := ln[fPeriod.start:fPeriod.end]; p == c.refPeriod {
	} else if validPeriod(p) {
		if c.refPeriod == "" {
			c.refPeriod = p
		} else if p != c.refPeriod {
			c.add(no, fPeriod.start, rec.typ, fPeriod.name, c.refPeriod, p, "every record carries the period of the first one")
		}
	}
}

// insured checks the line rules of an A02 or B02 record and adds it to the totals.
func (c *checker) insured(no int, rec *record, ln string, in bool) {
	number, okNum := c.num(fNumber)
	children, okChildren := c.num(fChildren)
	afPay, okPay := c.num(fAFToPay)
	afDeduct, okDeduct := c.num(fAFToDeduct)
	afNet, okNet := c.num(fAFNet)
	c.duplicate(no, rec, number, okNum)
	if in {
		t := &c.main
		t.add(colCount, 1, true)
		t.add(colNumbers, number, okNum)
		t.add(colChildren, children, okChildren)
		t.add(colAFToPay, afPay, okPay)
		t.add(colAFToDeduct, afDeduct, okDeduct)
		t.add(colAFNet, afNet, okNet)
	}
	if rec == recA02 {
		if in && c.fill {
			c.pre.Insured = append(c.pre.Insured, Insured{Number: ln[fNumber.start:fNumber.end],
				Surname: trimRight(ln[surnameStart:surnameEnd]), FirstName: trimRight(ln[firstStart:firstEnd]),
				Children: int(children), AFToPay: int64(afPay), AFToDeduct: int64(afDeduct), AFNet: int64(afNet)})
		}
		return
	}

	afReturn, okReturn := c.num(fAFToReturn)
	days, okDays := c.num(fDays)
	salary, okReal := c.num(fReal)
	capped, okCapped := c.num(fCapped)
	sit := trimRight(ln[fSituation.start:fSituation.end])
	rank, okSit := SituationRank(sit)

	idle := okSit && situationWithoutWork(sit)
	idleRule := func() string {
		return "situation " + sit + " (" + situationName(sit) + ") declares 0 days and 0 salary"
	}
	if okDays {
		if idle && days != 0 {
			c.add(no, fDays.start, rec.typ, fDays.name, "0", strconv.FormatUint(days, 10), idleRule())
		} else if days > MaxDays {
			c.add(no, fDays.start, rec.typ, fDays.name, "at most 26", strconv.FormatUint(days, 10),
				"at most 26 days are declared for a month")
		}
	}
	if idle && okReal && salary != 0 {
		c.add(no, fReal.start, rec.typ, fReal.name, "0", strconv.FormatUint(salary, 10), idleRule())
	}
	if idle && okCapped && capped != 0 {
		c.add(no, fCapped.start, rec.typ, fCapped.name, "0", strconv.FormatUint(capped, 10), idleRule())
	}
	if okSit && situationReturnsAF(sit) && okReturn && okNet && afReturn != afNet {
		c.add(no, fAFToReturn.start, rec.typ, fAFToReturn.name, strconv.FormatUint(afNet, 10),
			strconv.FormatUint(afReturn, 10), "for situation "+sit+" ("+situationName(sit)+
				"), AF à reverser equals AF net à payer")
	}
	okCtr := okNum && okReturn && okDays && okReal && okCapped && okSit
	ctr := number + afReturn + days + salary + capped + uint64(rank)
	if okCtr {
		if got, ok := c.num(fCtr); ok && got != ctr {
			c.add(no, fCtr.start, rec.typ, fCtr.name, strconv.FormatUint(ctr, 10), strconv.FormatUint(got, 10),
				"S_Ctr = N_Num_Assure + N_AF_A_Reverser + N_Jours_Declares + N_Salaire_Reel + N_Salaire_Plaf + rank(L_Situation)")
		}
	}
	if in {
		t := &c.main
		t.add(colAFToReturn, afReturn, okReturn)
		t.add(colDays, days, okDays)
		t.add(colReal, salary, okReal)
		t.add(colCapped, capped, okCapped)
		t.add(colCtr, ctr, okCtr)
		if c.fill {
			c.dec.Lines = append(c.dec.Lines, Line{
				Insured: Insured{Number: ln[fNumber.start:fNumber.end],
					Surname: trimRight(ln[surnameStart:surnameEnd]), FirstName: trimRight(ln[firstStart:firstEnd]),
					Children: int(children), AFToPay: int64(afPay), AFToDeduct: int64(afDeduct), AFNet: int64(afNet)},
				AFToReturn: int64(afReturn), Days: int(days), RealSalary: int64(salary), CappedSalary: int64(capped),
				Situation: sit, LineNo: no,
			})
		}
	}
}

// newEmployee checks the line rules of a B04 record and adds it to the totals.
func (c *checker) newEmployee(no int, ln string, in bool) {
	rec := recB04
	if ln[fNumber.start:fNewCtr.end] == blankB04Body {
		if in {
			c.b04Lines++
			c.blankB04 = append(c.blankB04, no)
		}
		return
	}
	number, okNum := c.num(fNumber)
	days, okDays := c.num(fNewDays)
	salary, okReal := c.num(fNewReal)
	capped, okCapped := c.num(fNewCapped)
	occasional := ln[fNumber.start:fNumber.end] == Occasional

	if !occasional {
		noSurname := ln[surnameStart:surnameEnd] == spaces[:surnameEnd-surnameStart]
		noFirst := ln[firstStart:firstEnd] == spaces[:firstEnd-firstStart]
		if noSurname || noFirst {
			found := "no surname"
			switch {
			case noSurname && noFirst:
				found = "neither a surname nor a first name"
			case noFirst:
				found = "no first name"
			}
			c.add(no, fNomPrenom.start, rec.typ, fNomPrenom.name, "a surname and a first name", found,
				"a new employee who is not occasional needs a surname and a first name")
		}
		c.duplicate(no, rec, number, okNum)
	}
	if okDays {
		if occasional && days != 0 {
			c.add(no, fNewDays.start, rec.typ, fNewDays.name, "0", strconv.FormatUint(days, 10),
				"an occasional employee (N_Num_Assure 999999999) declares 0 days")
		} else if days > MaxDays {
			c.add(no, fNewDays.start, rec.typ, fNewDays.name, "at most 26", strconv.FormatUint(days, 10),
				"at most 26 days are declared for a month")
		}
	}
	okCtr := okNum && okDays && okReal && okCapped
	ctr := number + days + salary + capped
	if okCtr {
		if got, ok := c.num(fNewCtr); ok && got != ctr {
			c.add(no, fNewCtr.start, rec.typ, fNewCtr.name, strconv.FormatUint(ctr, 10), strconv.FormatUint(got, 10),
				"S_Ctr = N_Num_Assure + N_Nbr_Jours + N_Sal_Reel + N_Sal_Plaf")
		}
	}
	if in {
		c.b04Lines++
		t := &c.news
		t.add(colCount, 1, true)
		t.add(colNumbers, number, okNum)
		t.add(colDays, days, okDays)
		t.add(colReal, salary, okReal)
		t.add(colCapped, capped, okCapped)
		t.add(colCtr, ctr, okCtr)
		if c.fill {
			c.dec.New = append(c.dec.New, NewEmployee{Number: ln[fNumber.start:fNumber.end],
				Surname: trimRight(ln[surnameStart:surnameEnd]), FirstName: trimRight(ln[firstStart:firstEnd]),
				CIN: text(ln, fCIN), Days: int(days), RealSalary: int64(salary), CappedSalary: int64(capped), LineNo: no})
		}
	}
}

// duplicate notes the insured number of an A02, B02 or B04 line; finish reports duplicates.
func (c *checker) duplicate(no int, rec *record, number uint64, ok bool) {
	if ok {
		b04 := uint64(0)
		if rec == recB04 {
			b04 = 1
		}
		c.numbers = append(c.numbers, number<<34|uint64(no)<<1|b04)
	}
}

// duplicates reports every insured number already seen on an earlier line. Sorting the packed
// numbers costs less than a map and puts each number's first line first.
func (c *checker) duplicates() {
	slices.Sort(c.numbers)
	for i := 1; i < len(c.numbers); i++ {
		number, prev := c.numbers[i]>>34, c.numbers[i-1]>>34
		if number != prev {
			continue
		}
		first := i - 1
		for first > 0 && c.numbers[first-1]>>34 == number {
			first--
		}
		rec := c.order[2]
		if c.numbers[i]&1 == 1 {
			rec = recB04
		}
		no := int(c.numbers[i] >> 1 & (1<<33 - 1))
		c.add(no, fNumber.start, rec.typ, fNumber.name, "an insured number not yet declared in the file",
			fmt.Sprintf("%09d", number), "insured number already declared on line "+
				strconv.Itoa(int(c.numbers[first]>>1&(1<<33-1))))
	}
}

// recap checks the recap fields of rec in ln against the totals t.
func (c *checker) recap(no int, rec *record, ln string, t *totals) {
	for _, rf := range rec.recap {
		if t.taint[rf.col] {
			continue // a line's value is unreadable, and reported
		}
		got, ok := c.num(rf.f)
		if !ok {
			continue // reported by fields
		}
		want := t.v[rf.col]
		switch {
		case t.over[rf.col] || want > maxValue(rf.f.width()):
			c.add(no, rf.f.start, rec.typ, rf.f.name, "at most "+strconv.Itoa(rf.f.width())+" digits",
				strconv.FormatUint(got, 10), rf.f.name+" is "+rf.rule+", which does not fit in the field")
		case got != want:
			c.add(no, rf.f.start, rec.typ, rf.f.name, strconv.FormatUint(want, 10), strconv.FormatUint(got, 10),
				rf.f.name+" is "+rf.rule)
		}
	}
}

// finish reports what can only be known at the end, and completes the decoded value.
func (c *checker) finish() {
	c.duplicates()
	if m := c.missing(c.last+1, len(c.order)); m != "" {
		c.add(c.nlines+1, 0, "", "order", m, "end of file", c.orderRule())
	}
	if c.decl && c.b04Lines > 1 {
		for _, no := range c.blankB04 {
			c.add(no, fNumber.start, recB04.typ, fNumber.name, "a new employee's record", "a blank B04",
				"a B04 of blanks and zeros is written alone, only when there is no new employee")
		}
	}
	if !c.fill || len(c.problems) > 0 {
		return
	}
	ending := c.ending
	if ending == "" {
		ending = "\n"
	}
	// No line decodes as nil, as in a value built in memory.
	if c.decl {
		c.dec.LineEnding = ending
		c.dec.BlankB04 = len(c.blankB04) == 1
		if len(c.dec.Lines) == 0 {
			c.dec.Lines = nil
		}
	} else {
		c.pre.LineEnding = ending
		if len(c.pre.Insured) == 0 {
			c.pre.Insured = nil
		}
	}
}

// totals are the column sums of a group of lines. A column is tainted when a line's value could not
// be read, and over when the sum went past what a uint64 holds.
type totals struct {
	v     [nColumns]uint64
	taint [nColumns]bool
	over  [nColumns]bool
}

func (t *totals) add(col column, v uint64, ok bool) {
	if !ok {
		t.taint[col] = true
		return
	}
	s := t.v[col] + v
	if s < v {
		t.over[col] = true
	}
	t.v[col] = s
}

func (t *totals) merge(u *totals) {
	for col := range nColumns {
		t.add(col, u.v[col], !u.taint[col])
		t.over[col] = t.over[col] || u.over[col]
	}
}

var pow10 = func() (p [20]uint64) {
	p[0] = 1
	for i := 1; i < len(p); i++ {
		p[i] = p[i-1] * 10
	}
	return p
}()

// maxValue is the largest number w digits hold (w ≤ 19).
func maxValue(w int) uint64 { return pow10[w] - 1 }

// num is numeric field f of the current line as fields read it; ok is false when it is not all digits.
func (c *checker) num(f field) (v uint64, ok bool) { return c.vals[f.start], c.valid[f.start] }

// nonDigit is the index of the first non-digit of v, -1 if none.
func nonDigit(v string) int {
	for i := 0; i < len(v); i++ {
		if v[i]-'0' > 9 {
			return i
		}
	}
	return -1
}

func isDigits(v string) bool { return nonDigit(v) < 0 }

// notAllowed is the index of the first character of v outside the text set, -1 if none.
func notAllowed(v string) int {
	for i := 0; i < len(v); i++ {
		if !allowed[v[i]] {
			return i
		}
	}
	return -1
}

// text is field f of ln without its right padding.
func text(ln string, f field) string { return trimRight(ln[f.start:f.end]) }

func trimRight(s string) string {
	i := len(s)
	for i > 0 && s[i-1] == ' ' {
		i--
	}
	return s[:i]
}

// validPeriod reports whether p is AAAAMM with a year 1900-2999 and a month 01-12.
func validPeriod(p string) bool {
	if len(p) != 6 || !isDigits(p) {
		return false
	}
	y, m := atoi(p[:4]), atoi(p[4:])
	return 1900 <= y && y <= 2999 && 1 <= m && m <= 12
}

// validDate reports whether d is AAAAMMJJ, a real day of a valid period.
func validDate(d string) bool {
	if len(d) != 8 || !validPeriod(d[:6]) || !isDigits(d[6:]) {
		return false
	}
	y, m, day := atoi(d[:4]), atoi(d[4:6]), atoi(d[6:])
	return 1 <= day && day <= daysIn(y, m)
}

func daysIn(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// atoi reads a string known to be digits.
func atoi(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}
