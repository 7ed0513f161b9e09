package synth

// Synthetic Damancom salary declarations (DS files, records B00…B06; see package damancom) for a registry
// that Write produced: every month, every employer declares the salaries of its insured employees.
//
// Figures are a pure function of (seed, immatriculation, period), never of a stream position: a
// person's salary in a month does not change when another employee is added, when periods are asked in
// another order, or when one month is generated alone. Each person draws once (from (seed,
// immatriculation)) a monthly base salary, a working pattern and a family; each month draws (from (seed,
// immatriculation, period)) its variations, bonuses and situations.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"strconv"
	"sync"
	"unicode"

	"amane/damancom"
)

// Figures of the synthetic declarations. Amounts are in centimes unless the name says MAD.
const (
	// Ceiling is the monthly salary ceiling of the capped branches: 6,000 MAD, unchanged in the
	// periods public sources cover (2024–2025).
	Ceiling = 600_000

	medianSalaryMAD = 4_500  // median monthly base salary of ordinary staff, for 26 days
	salarySigma     = 0.55   // log-normal spread of ordinary staff
	cadreShare      = 4      // per cent of people on a managerial scale
	cadreMedianMAD  = 14_000 // its median
	cadreSigma      = 0.5
	maxSalaryMAD    = 60_000 // top of the base-salary tail
	fullDays        = damancom.MaxDays

	partTimePct    = 6 // per cent of people who work fewer than 26 days every month
	afEligiblePct  = 85
	afFirstChild   = 30_000 // 300 MAD a month for each of the first three children
	afOtherChild   = 3_600  // 36 MAD for the fourth to the sixth
	maxChildren    = 6
	fixedPayPct    = 70 // per cent of months paid exactly the base (no overtime, no deduction)
	unpaidLeavePer = 3  // per thousand person-months: CS, 0 days
	sickPer        = 15 // per thousand person-months: IL, a few days off
	absencePer     = 20 // per thousand person-months: a few unpaid days, no situation
	maternityPer   = 4  // per thousand women a month: start of a three-month IT episode
	afDeductPct    = 3  // per cent of people with allowances who have an amount deducted

	declBufSize = 1 << 20
	declCheck   = 1 << 11 // rows read between ctx checks
	declReport  = 1 << 12 // employers between progress calls
)

// smig is the legal minimum wage for a full month (191 hours at the hourly SMIG), in centimes, by the
// first period it applies to; a period before the first entry uses the first.
var smig = []struct {
	from    int // year*12 + month-1
	monthly int64
}{
	{2020*12 + 6, 282_871}, // July 2020: 14.81 MAD/h
	{2022*12 + 8, 297_005}, // September 2022: 15.55 MAD/h
	{2023*12 + 8, 311_139}, // September 2023: 16.29 MAD/h
	{2025*12 + 0, 326_610}, // January 2025: 17.10 MAD/h
}

func smigAt(month int) int64 {
	v := smig[0].monthly
	for _, s := range smig {
		if month >= s.from {
			v = s.monthly
		}
	}
	return v
}

// DeclarationTotals counts what WriteDeclarationsTotals wrote, over all periods.
type DeclarationTotals struct {
	Files        int   // one per period
	Declarations int   // DS declarations (B00…B06 sequences)
	Lines        int   // B02 lines (insured employees declared)
	Bytes        int64 // bytes written
}

// WriteDeclarations reads a registry as Write produced it (ADHERENTS.csv from adherents, SALARIES.csv
// from salaries) and writes, for each period (AAAAMM), one bulk file to out(period): the concatenation
// of the Damancom declarations (DS files, B00…B06, LF line ends, one blank B04) of every employer that
// has an insured employee to declare that month, one B02 line per such employee in file order.
//
// An employee is declared for a period when their etat_demande is validee and their date_affiliation
// is not after the period's last day. An employer with no one to declare gets no declaration. Figures
// are deterministic in (seed, immatriculation, period); see the top of this file.
//
// Both files are read once, side by side, so memory holds one employer's employees at a time: SALARIES.csv
// must list the employees grouped by employer, the groups in ADHERENTS.csv order (as Write does), and
// anything else is an error. out is called once per period, in order, before anything is written; the
// writers are not closed.
//
// progress, if not nil, is called from time to time with (employers read × periods, employers ×
// periods), and once at the end with done == total. The employer count is known beforehand only when
// adherents is an io.Seeker (it is then counted by a quick pass over its lines); otherwise total is 0
// until the final call.
func WriteDeclarations(ctx context.Context, adherents, salaries io.Reader, periods []string, seed uint64,
	out func(period string) (io.Writer, error), progress func(done, total int)) error {
	_, err := WriteDeclarationsTotals(ctx, adherents, salaries, periods, seed, out, progress)
	return err
}

// WriteDeclarationsTotals is WriteDeclarations, and says how much it wrote.
func WriteDeclarationsTotals(ctx context.Context, adherents, salaries io.Reader, periods []string, seed uint64,
	out func(period string) (io.Writer, error), progress func(done, total int)) (DeclarationTotals, error) {
	var tot DeclarationTotals
	if err := ctx.Err(); err != nil {
		return tot, err
	}
	ps := make([]period, len(periods))
	for i, p := range periods {
		if err := ps[i].parse(p); err != nil {
			return tot, err
		}
		for _, q := range ps[:i] {
			if q.name == p {
				return tot, fmt.Errorf("synth: period %s given twice", p)
			}
		}
	}

	total := 0
	if s, ok := adherents.(io.Seeker); ok {
		n, err := countRows(adherents, s)
		if err != nil {
			return tot, fmt.Errorf("synth: ADHERENTS.csv: %w", err)
		}
		total = n * len(ps)
	}

	ar, err := newColumnReader("ADHERENTS.csv", adherents, "affiliation", "raison_sociale", "activite",
		"adresse", "ville", "agence")
	if err != nil {
		return tot, err
	}
	sr, err := newColumnReader("SALARIES.csv", salaries, "immatriculation", "nom", "prenom",
		"date_affiliation", "affiliation_employeur", "etat_demande")
	if err != nil {
		return tot, err
	}

	ws := make([]*countingWriter, len(ps))
	bws := make([]*bufio.Writer, len(ps))
	for i := range ps {
		w, err := out(ps[i].name)
		if err != nil {
			return tot, err
		}
		ws[i] = &countingWriter{w: w}
		bws[i] = bufio.NewWriterSize(ws[i], declBufSize)
	}

	g := &declGenerator{seed: seed, pcg: rand.NewPCG(0, 0)}
	g.r = rand.New(g.pcg)
	done, employers, rows := 0, 0, 0
	report := func() {
		if progress != nil {
			progress(done, total)
		}
	}
	// nextEmployer reads ADHERENTS.csv rows up to the one of affiliation aff, counting those passed.
	nextEmployer := func(aff string, salLine int) ([]string, error) {
		for {
			rec, err := ar.read()
			if err == io.EOF {
				return nil, fmt.Errorf("synth: SALARIES.csv: line %d: employer %s is not in ADHERENTS.csv after line %d (both files must list employers in the same order, employees grouped by employer)",
					salLine, aff, ar.line)
			}
			if err != nil {
				return nil, err
			}
			employers++
			done += len(ps)
			if employers%declReport == 0 {
				report()
			}
			if rec[0] == aff {
				return rec, nil
			}
		}
	}

	var pending []string // the first row of the next group
	pendingLine := 0
	var group []declEmployee
	var line []damancom.Line
	for {
		// Read one employer's group of employees.
		if pending == nil {
			rec, err := sr.read()
			if err == io.EOF {
				break
			}
			if err != nil {
				return tot, err
			}
			pending, pendingLine = rec, sr.line
		}
		aff, groupLine := pending[4], pendingLine
		group = group[:0]
		for pending != nil && pending[4] == aff {
			if pending[5] == "validee" {
				e, err := g.employee(pending, sr.name, pendingLine)
				if err != nil {
					return tot, err
				}
				group = append(group, e)
			}
			pending = nil
			if rows++; rows%declCheck == 0 {
				if err := ctx.Err(); err != nil {
					return tot, err
				}
			}
			rec, err := sr.read()
			if err == io.EOF {
				break
			}
			if err != nil {
				return tot, err
			}
			pending, pendingLine = rec, sr.line
		}
		emp, err := nextEmployer(aff, groupLine)
		if err != nil {
			return tot, err
		}
		if len(group) == 0 {
			continue
		}
		agency := firstLetters(emp[5], 2)
		name, activity, address, city := damancom.Transliterate(emp[1]), damancom.Transliterate(emp[2]),
			damancom.Transliterate(emp[3]), damancom.Transliterate(emp[4])
		for i := range ps {
			p := &ps[i]
			line = line[:0]
			for k := range group {
				if l, ok := g.line(&group[k], p); ok {
					line = append(line, l)
				}
			}
			if len(line) == 0 {
				continue
			}
			d := damancom.Declaration{
				Header: damancom.Header{TransferID: aff + p.name + "1", Cat: damancom.CatDeclaration},
				Employer: damancom.Employer{Affiliation: aff, Period: p.name, Name: name, Activity: activity,
					Address: address, City: city, Agency: agency, IssueDate: p.issue, DueDate: p.due},
				Lines:      line,
				BlankB04:   true,
				LineEnding: "\n",
			}
			if err := d.Encode(bws[i]); err != nil {
				return tot, fmt.Errorf("synth: declaration of employer %s for %s: %w", aff, p.name, err)
			}
			tot.Declarations++
			tot.Lines += len(line)
		}
	}
	// Employers after the last group have no employee.
	for {
		_, err := ar.read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return tot, err
		}
		employers++
		done += len(ps)
		if employers%declCheck == 0 {
			if err := ctx.Err(); err != nil {
				return tot, err
			}
		}
		if employers%declReport == 0 {
			report()
		}
	}
	for i := range bws {
		if err := bws[i].Flush(); err != nil {
			return tot, err
		}
		tot.Bytes += ws[i].n
	}
	tot.Files = len(ps)
	total = done
	report()
	return tot, nil
}

// period is one month to declare, with the dates its B01 record carries.
type period struct {
	name        string // AAAAMM
	month       int    // year*12 + month-1
	days        int    // days in the month
	lastDay     string // YYYY-MM-DD of its last day, as date_affiliation is written
	issue, due  string // AAAAMMJJ: the 1st and the 10th of the next month
	smig        int64  // minimum full-month salary
	calendarMon int    // 1..12
}

func (p *period) parse(s string) error {
	y, err1 := strconv.Atoi(s[:min(4, len(s))])
	m, err2 := strconv.Atoi(s[min(4, len(s)):])
	if len(s) != 6 || err1 != nil || err2 != nil || y < 1900 || y > 2999 || m < 1 || m > 12 {
		return fmt.Errorf("synth: period %q is not a month AAAAMM", s)
	}
	p.name, p.month, p.calendarMon = s, y*12+m-1, m
	ny, nm := y, m+1
	if nm == 13 {
		ny, nm = y+1, 1
	}
	p.days = [...]int{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}[m-1]
	if m == 2 && (y%4 == 0 && y%100 != 0 || y%400 == 0) {
		p.days = 29
	}
	p.lastDay = fmt.Sprintf("%04d-%02d-%02d", y, m, p.days)
	p.issue = fmt.Sprintf("%04d%02d01", ny, nm)
	p.due = fmt.Sprintf("%04d%02d10", ny, nm)
	p.smig = smigAt(p.month)
	return nil
}

// firstLetters returns the first n letters of s.
func firstLetters(s string, n int) string {
	b := make([]rune, 0, n)
	for _, r := range s {
		if len(b) == n {
			break
		}
		if unicode.IsLetter(r) {
			b = append(b, r)
		}
	}
	return string(b)
}

// countRows counts the data rows of a CSV file by its line ends (Write puts no line end inside a
// field), then rewinds it to where it was.
func countRows(r io.Reader, s io.Seeker) (int, error) {
	start, err := s.Seek(0, io.SeekCurrent)
	if err != nil {
		return 0, err
	}
	buf := make([]byte, 1<<16)
	lines, last := 0, byte('\n')
	for {
		n, err := r.Read(buf)
		if n > 0 {
			lines += bytes.Count(buf[:n], []byte{'\n'})
			last = buf[n-1]
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return 0, err
		}
	}
	if last != '\n' {
		lines++
	}
	if _, err := s.Seek(start, io.SeekStart); err != nil {
		return 0, err
	}
	return max(0, lines-1), nil // the header
}

// columnReader reads chosen columns of a CSV file, found by their header names.
type columnReader struct {
	name string
	csv  *csv.Reader
	idx  []int
	rec  []string
	line int
}

func newColumnReader(name string, r io.Reader, cols ...string) (*columnReader, error) {
	c := &columnReader{name: name, csv: csv.NewReader(bufio.NewReaderSize(r, declBufSize)), rec: make([]string, len(cols))}
	c.csv.ReuseRecord = true
	head, err := c.csv.Read()
	if err == io.EOF {
		return nil, fmt.Errorf("synth: %s: empty, want a header row", name)
	}
	if err != nil {
		return nil, fmt.Errorf("synth: %s: %w", name, err)
	}
	if len(head) > 0 {
		head[0] = trimBOM(head[0])
	}
	for _, col := range cols {
		i := indexOf(head, col)
		if i < 0 {
			return nil, fmt.Errorf("synth: %s: no column %q in the header", name, col)
		}
		c.idx = append(c.idx, i)
	}
	return c, nil
}

func trimBOM(s string) string {
	if len(s) >= 3 && s[:3] == "\ufeff" {
		return s[3:]
	}
	return s
}

func indexOf(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}

// read returns the next row's chosen columns in a slice that the next call overwrites; the strings
// stay valid.
func (c *columnReader) read() ([]string, error) {
	rec, err := c.csv.Read()
	if err == io.EOF {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("synth: %s: %w", c.name, err)
	}
	c.line, _ = c.csv.FieldPos(0)
	for i, j := range c.idx {
		c.rec[i] = rec[j]
	}
	return c.rec, nil
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// declEmployee is one validated employee and what they draw once.
type declEmployee struct {
	number, surname, firstName string
	affiliated                 string // date_affiliation, YYYY-MM-DD
	key                        uint64 // mix of (seed, immatriculation)
	base                       float64
	days                       int // usual days a month
	children                   int
	afToPay                    int64
	afToDeduct                 int64
	female                     bool
}

type declGenerator struct {
	seed uint64
	pcg  *rand.PCG
	r    *rand.Rand
}

// Stream tags: the second PCG word says what a draw is for.
const (
	tagPerson    = 0x706572736f6e // "person"
	tagMonth     = 0x6d6f6e7468   // "month"
	tagMaternity = 0x6d6174       // "mat"
)

// mix64 is the SplitMix64 finaliser: a bijection of uint64 that spreads every input bit.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// personKey mixes the seed and an immatriculation (hashed as text, FNV-1a, so any value works).
func personKey(seed uint64, imm string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(imm); i++ {
		h ^= uint64(imm[i])
		h *= 1099511628211
	}
	return mix64(mix64(seed^0x616d616e65) ^ h)
}

var femaleFirstNames = sync.OnceValue(func() map[string]bool {
	m := make(map[string]bool, len(femaleNames))
	for _, n := range femaleNames {
		m[n] = true
	}
	return m
})

// employee draws what a person keeps from month to month. rec holds the SALARIES.csv columns asked
// by WriteDeclarations.
func (g *declGenerator) employee(rec []string, file string, line int) (declEmployee, error) {
	// Names are transliterated once here rather than by Encode in every period.
	e := declEmployee{number: rec[0], surname: damancom.Transliterate(rec[1]),
		firstName: damancom.Transliterate(rec[2]), affiliated: rec[3]}
	if len(e.affiliated) != len("2006-01-02") {
		return e, fmt.Errorf("synth: %s: line %d: date_affiliation %q is not YYYY-MM-DD", file, line, e.affiliated)
	}
	e.female = femaleFirstNames()[rec[2]]
	e.key = personKey(g.seed, e.number)
	g.pcg.Seed(e.key, tagPerson)
	r := g.r
	median, sigma := float64(medianSalaryMAD), salarySigma
	if r.IntN(100) < cadreShare {
		median, sigma = cadreMedianMAD, cadreSigma
	}
	e.base = math.Round(min(median*math.Exp(sigma*r.NormFloat64()), maxSalaryMAD))
	e.days = fullDays
	if r.IntN(100) < partTimePct {
		e.days = 8 + r.IntN(fullDays-8) // 8..25
	}
	// Children on file: 0 for nearly half, rarely more than 3.
	switch x := r.IntN(100); {
	case x < 45:
	case x < 63:
		e.children = 1
	case x < 81:
		e.children = 2
	case x < 92:
		e.children = 3
	case x < 97:
		e.children = 4
	case x < 99:
		e.children = 5
	default:
		e.children = maxChildren
	}
	if e.children > 0 && r.IntN(100) < afEligiblePct {
		e.afToPay = afFirstChild*int64(min(e.children, 3)) + afOtherChild*int64(max(0, e.children-3))
		// An overpayment being recovered: one child's allowance deducted every month. Drawn once,
		// like the family: the préétabli carries the figures of record from month to month, and a
		// declaration repeats them (B02 repeats A02 up to column 105).
		if r.IntN(100) < afDeductPct {
			e.afToDeduct = afFirstChild
		}
	}
	return e, nil
}

// line is e's B02 line for period p; ok is false when e was not yet affiliated then.
func (g *declGenerator) line(e *declEmployee, p *period) (l damancom.Line, ok bool) {
	if e.affiliated > p.lastDay { // both YYYY-MM-DD
		return l, false
	}
	l.Number, l.Surname, l.FirstName = e.number, e.surname, e.firstName
	l.Children = e.children
	r := g.r

	// A maternity leave (IT) lasts about three months: it is in progress in p when it started in p or
	// in one of the two months before.
	maternity := -1
	if e.female {
		for back := 0; back < 3; back++ {
			g.pcg.Seed(e.key, mix64(tagMaternity^uint64(p.month-back)))
			if r.IntN(1000) < maternityPer {
				maternity = back
				break
			}
		}
	}

	g.pcg.Seed(e.key, mix64(tagMonth^uint64(p.month)))
	days := e.days
	factor, bonus := 1.0, 0.0
	if r.IntN(100) >= fixedPayPct { // overtime, premiums, small deductions
		factor = 1 + max(-0.15, min(0.25, 0.05*r.NormFloat64()))
	}
	// Bonuses: a year-end one for some, a summer one (Aïd, holidays) for fewer, the odd one otherwise.
	x := r.Float64()
	switch {
	case p.calendarMon == 12 && x < 0.25:
		bonus = e.base * (0.5 + 0.5*r.Float64())
	case (p.calendarMon == 6 || p.calendarMon == 7) && x < 0.10:
		bonus = e.base * (0.3 + 0.7*r.Float64())
	case x < 0.02:
		bonus = e.base * (0.1 + 0.4*r.Float64())
	}
	switch s := r.IntN(1000); {
	case maternity >= 0:
		l.Situation = damancom.SituationMaternity
		switch maternity {
		case 0: // days worked before the leave
			days = r.IntN(days)
		case 1:
			days = 0
		default: // days worked after coming back
			days = r.IntN(days + 1)
		}
		bonus = 0
	case s < unpaidLeavePer:
		l.Situation = damancom.SituationUnpaidLeave
		days, bonus = 0, 0
	case s < unpaidLeavePer+sickPer:
		l.Situation = damancom.SituationSickness
		days = max(1, days-2-r.IntN(9))
	case s < unpaidLeavePer+sickPer+absencePer:
		days = max(1, days-1-r.IntN(5))
	}
	// An arrival during the month: paid from the day of affiliation.
	if e.affiliated[:7] == p.lastDay[:7] && days > 0 {
		d, _ := strconv.Atoi(e.affiliated[8:])
		worked := p.days - d + 1
		days = max(1, min(days, (fullDays*worked+p.days/2)/p.days))
		bonus = 0
	}
	l.Days = days
	if days > 0 {
		real := int64(math.Round((e.base*factor*float64(days)/fullDays + bonus) * 100))
		l.RealSalary = max(real, p.smig*int64(days)/fullDays)
	}
	l.CappedSalary = min(l.RealSalary, Ceiling)

	if e.afToPay > 0 {
		l.AFToPay, l.AFToDeduct = e.afToPay, e.afToDeduct
		l.AFNet = l.AFToPay - l.AFToDeduct
	}
	return l, true
}
