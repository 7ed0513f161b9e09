package synth_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"testing"

	"amane/damancom"
	"amane/synth"
)

// declRegistry is a generated registry and, per employer in file order, its employees.
type declRegistry struct {
	adh, sal  []byte
	employers []string // affiliations in ADHERENTS.csv order
	employees map[string][]declPerson
}

type declPerson struct{ imm, affiliated, state string }

func newDeclRegistry(t testing.TB, cfg synth.Config) *declRegistry {
	t.Helper()
	var a, s bytes.Buffer
	if err := synth.Write(context.Background(), cfg, &a, &s, nil); err != nil {
		t.Fatalf("Write(%+v): %v", cfg, err)
	}
	r := &declRegistry{adh: a.Bytes(), sal: s.Bytes(), employees: map[string][]declPerson{}}
	for i, rec := range declCSV(t, r.adh) {
		if i > 0 {
			r.employers = append(r.employers, rec[0])
		}
	}
	for i, rec := range declCSV(t, r.sal) {
		if i > 0 {
			r.employees[rec[7]] = append(r.employees[rec[7]], declPerson{imm: rec[0], affiliated: rec[5], state: rec[8]})
		}
	}
	return r
}

func declCSV(t testing.TB, b []byte) [][]string {
	t.Helper()
	recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// expected returns, for one period, the insured numbers each employer must declare, in file order.
func (r *declRegistry) expected(period string) map[string][]string {
	last := period[:4] + "-" + period[4:] + "-31" // compares right for any day of the month
	want := map[string][]string{}
	for _, aff := range r.employers {
		for _, p := range r.employees[aff] {
			if p.state == "validee" && p.affiliated <= last {
				want[aff] = append(want[aff], p.imm)
			}
		}
	}
	return want
}

// writeDecl runs WriteDeclarations into buffers, one per period.
func writeDecl(t testing.TB, ctx context.Context, adh, sal io.Reader, periods []string, seed uint64,
	progress func(done, total int)) (map[string]*bytes.Buffer, synth.DeclarationTotals, error) {
	t.Helper()
	files := map[string]*bytes.Buffer{}
	var order []string
	tot, err := synth.WriteDeclarationsTotals(ctx, adh, sal, periods, seed, func(p string) (io.Writer, error) {
		if files[p] != nil {
			t.Errorf("out(%s) called twice", p)
		}
		order = append(order, p)
		files[p] = new(bytes.Buffer)
		return files[p], nil
	}, progress)
	if err == nil && !slices.Equal(order, periods) {
		t.Errorf("out called for %v, want %v", order, periods)
	}
	return files, tot, err
}

// splitBulk cuts a bulk file at every line starting with B00.
func splitBulk(t testing.TB, b []byte) [][]byte {
	t.Helper()
	var out [][]byte
	start := 0
	for i := 0; i < len(b); {
		j := bytes.IndexByte(b[i:], '\n')
		if j < 0 {
			t.Fatalf("bulk file does not end with a line end")
		}
		if bytes.HasPrefix(b[i:], []byte("B00")) && i > start {
			out = append(out, b[start:i])
			start = i
		}
		i += j + 1
	}
	if start < len(b) {
		out = append(out, b[start:])
	}
	return out
}

var declPeriods = []string{"202409", "202410", "202411"} // the registry's dates end in October 2024

func TestDeclarations(t *testing.T) {
	cfg := synth.Config{Employers: 50, Employees: 300, Seed: 3}
	reg := newDeclRegistry(t, cfg)
	var calls, lastDone, lastTotal int
	files, tot, err := writeDecl(t, context.Background(), bytes.NewReader(reg.adh), bytes.NewReader(reg.sal),
		declPeriods, 11, func(done, total int) { calls, lastDone, lastTotal = calls+1, done, total })
	if err != nil {
		t.Fatal(err)
	}
	if calls == 0 || lastDone != lastTotal || lastTotal != cfg.Employers*len(declPeriods) {
		t.Errorf("last progress (%d, %d) after %d calls, want (%d, %[3]d)", lastDone, lastTotal, calls,
			cfg.Employers*len(declPeriods))
	}

	var decls, lines int
	var size int64
	arrivals := 0
	for _, p := range declPeriods {
		b := files[p].Bytes()
		size += int64(len(b))
		if bytes.Contains(b, []byte("\r")) || strings.ContainsFunc(string(b), func(r rune) bool { return r >= 0x80 }) {
			t.Errorf("%s: not plain ASCII with LF line ends", p)
		}
		want := reg.expected(p)
		seen := map[string]bool{}
		parts := splitBulk(t, b)
		for k, part := range parts {
			d, err := damancom.DecodeDeclaration(bytes.NewReader(part))
			if err != nil {
				var rep *damancom.Report
				if errors.As(err, &rep) {
					t.Fatalf("%s: declaration %d: %s", p, k, rep.Text())
				}
				t.Fatalf("%s: declaration %d: %v", p, k, err)
			}
			decls++
			lines += len(d.Lines)
			aff := d.Employer.Affiliation
			if seen[aff] {
				t.Errorf("%s: employer %s declared twice", p, aff)
			}
			seen[aff] = true
			if d.Employer.Period != p || d.Header.TransferID != aff+p+"1" || d.Header.Cat != damancom.CatDeclaration {
				t.Errorf("%s: employer %s: period %s, transfer %s, cat %s", p, aff, d.Employer.Period, d.Header.TransferID, d.Header.Cat)
			}
			next := nextMonth(p)
			if d.Employer.IssueDate != next+"01" || d.Employer.DueDate != next+"10" {
				t.Errorf("%s: issue %s, due %s, want %s01 and %[3]s10", p, d.Employer.IssueDate, d.Employer.DueDate, next)
			}
			if !d.BlankB04 || len(d.New) != 0 || d.LineEnding != "\n" {
				t.Errorf("%s: employer %s: BlankB04 %v, %d new, line end %q", p, aff, d.BlankB04, len(d.New), d.LineEnding)
			}
			if d.Employer.Name == "" || d.Employer.City == "" || len(d.Employer.Agency) != 2 || d.Employer.PostalCode != "" {
				t.Errorf("%s: employer %s: %+v", p, aff, d.Employer)
			}
			if ps := damancom.CheckCeiling(d, synth.Ceiling); len(ps) > 0 {
				t.Errorf("%s: employer %s: %v", p, aff, ps)
			}
			var got []string
			for _, l := range d.Lines {
				got = append(got, l.Number)
				if l.CappedSalary != min(l.RealSalary, 600_000) {
					t.Errorf("%s: %s: capped %d, real %d", p, l.Number, l.CappedSalary, l.RealSalary)
				}
				if l.Days < 0 || l.Days > 26 {
					t.Errorf("%s: %s: %d days", p, l.Number, l.Days)
				}
				if (l.Days == 0) != (l.RealSalary == 0) {
					t.Errorf("%s: %s: %d days, real %d", p, l.Number, l.Days, l.RealSalary)
				}
				if l.AFNet != l.AFToPay-l.AFToDeduct || l.AFToDeduct > l.AFToPay || l.AFToReturn != 0 {
					t.Errorf("%s: %s: AF %d − %d = %d, to return %d", p, l.Number, l.AFToPay, l.AFToDeduct, l.AFNet, l.AFToReturn)
				}
				if l.AFToPay > 0 && l.Children == 0 || l.Children > 6 {
					t.Errorf("%s: %s: %d children, AF %d", p, l.Number, l.Children, l.AFToPay)
				}
				if l.Surname == "" || l.FirstName == "" {
					t.Errorf("%s: %s: name missing", p, l.Number)
				}
			}
			// Every line is a validated employee of the employer, in file order, and none is missing.
			if !slices.Equal(got, want[aff]) {
				t.Errorf("%s: employer %s declares %v, want %v", p, aff, got, want[aff])
			}
		}
		if len(parts) != len(want) {
			t.Errorf("%s: %d declarations, want %d (one per employer with someone to declare)", p, len(parts), len(want))
		}
		for _, per := range reg.employees {
			for _, e := range per {
				if e.affiliated[:7] == p[:4]+"-"+p[4:] {
					arrivals++
				}
			}
		}
	}
	if tot.Files != 3 || tot.Declarations != decls || tot.Lines != lines || tot.Bytes != size {
		t.Errorf("totals %+v, counted %d declarations, %d lines, %d bytes", tot, decls, lines, size)
	}
	if decls == 0 || arrivals == 0 {
		t.Errorf("%d declarations, %d arrivals: the test registry exercises too little", decls, arrivals)
	}
}

func nextMonth(p string) string {
	var y, m int
	fmt.Sscanf(p, "%4d%2d", &y, &m)
	if m == 12 {
		return fmt.Sprintf("%04d01", y+1)
	}
	return fmt.Sprintf("%04d%02d", y, m+1)
}

// salaries maps every declared insured number of a bulk set to its real salary per period.
func salaries(t testing.TB, files map[string]*bytes.Buffer) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	for p, f := range files {
		for _, part := range splitBulk(t, f.Bytes()) {
			d, err := damancom.DecodeDeclaration(bytes.NewReader(part))
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range d.Lines {
				out[p+"/"+l.Number] = l.RealSalary
			}
		}
	}
	return out
}

func TestDeclarationsDeterminism(t *testing.T) {
	reg := newDeclRegistry(t, synth.Config{Employers: 40, Employees: 400, Seed: 5})
	run := func(seed uint64, periods []string, adh, sal io.Reader) map[string]*bytes.Buffer {
		t.Helper()
		files, _, err := writeDecl(t, context.Background(), adh, sal, periods, seed, nil)
		if err != nil {
			t.Fatal(err)
		}
		return files
	}
	a := run(1, declPeriods, bytes.NewReader(reg.adh), bytes.NewReader(reg.sal))
	// Same seed, readers that cannot seek (no progress total), another order of periods, one period alone.
	b := run(1, []string{"202411", "202409", "202410"}, io.MultiReader(bytes.NewReader(reg.adh)), io.MultiReader(bytes.NewReader(reg.sal)))
	c := run(1, []string{"202410"}, bytes.NewReader(reg.adh), bytes.NewReader(reg.sal))
	for _, p := range declPeriods {
		if !bytes.Equal(a[p].Bytes(), b[p].Bytes()) {
			t.Errorf("%s: two runs with the same seed differ", p)
		}
	}
	if !bytes.Equal(a["202410"].Bytes(), c["202410"].Bytes()) {
		t.Errorf("202410 alone differs from 202410 among three periods")
	}

	// Another seed: the same people, other salaries.
	sa, sd := salaries(t, a), salaries(t, run(2, declPeriods, bytes.NewReader(reg.adh), bytes.NewReader(reg.sal)))
	same := 0
	for k, v := range sa {
		if w, ok := sd[k]; !ok {
			t.Fatalf("%s declared with seed 1, not with seed 2", k)
		} else if v == w {
			same++
		}
	}
	if len(sa) == 0 || same*4 > len(sa) { // SMIG-floor salaries coincide; most must not
		t.Errorf("%d of %d salaries equal under another seed", same, len(sa))
	}
}

// TestDeclarationFigures checks the shape of the figures on a larger registry.
func TestDeclarationFigures(t *testing.T) {
	if testing.Short() {
		t.Skip("larger registry")
	}
	reg := newDeclRegistry(t, synth.Config{Employers: 1000, Employees: 20000, Seed: 9})
	periods := []string{"202506", "202512"}
	files, _, err := writeDecl(t, context.Background(), bytes.NewReader(reg.adh), bytes.NewReader(reg.sal), periods, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	var full []int64 // real salaries of ordinary 26-day months
	n, full26, capped, withAF, deduct := 0, 0, 0, 0, 0
	situations := map[string]int{}
	var maxReal int64
	for _, p := range periods {
		for _, part := range splitBulk(t, files[p].Bytes()) {
			d, err := damancom.DecodeDeclaration(bytes.NewReader(part))
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range d.Lines {
				n++
				situations[l.Situation]++
				if l.Days == 26 {
					full26++
					if l.Situation == "" {
						full = append(full, l.RealSalary)
					}
				}
				if l.RealSalary > 600_000 {
					capped++
				}
				if l.AFToPay > 0 {
					withAF++
				}
				if l.AFToDeduct > 0 {
					deduct++
				}
				if l.Days > 0 && l.RealSalary < 311_139*int64(l.Days)/26 {
					t.Errorf("%s: %s: %d centimes for %d days, under the SMIG", p, l.Number, l.RealSalary, l.Days)
				}
				maxReal = max(maxReal, l.RealSalary)
			}
		}
	}
	sort.Slice(full, func(i, j int) bool { return full[i] < full[j] })
	median := full[len(full)/2]
	t.Logf("%d lines: %d full months, median %d MAD, max %d MAD, %d above the ceiling, %d with AF (%d deductions), situations %v",
		n, full26, median/100, maxReal/100, capped, withAF, deduct, situations)
	switch {
	case median < 400_000 || median > 560_000:
		t.Errorf("median full-month salary %d centimes, want about 4,500 MAD", median)
	case full26*100 < n*85:
		t.Errorf("%d of %d lines declare 26 days, want most", full26, n)
	case capped*100 < n*15 || capped*100 > n*50:
		t.Errorf("%d of %d lines above the ceiling", capped, n)
	case withAF*100 < n*30 || withAF*100 > n*60:
		t.Errorf("%d of %d lines with family allowances", withAF, n)
	case situations["IL"] == 0 || situations["CS"] == 0 || situations["IT"] == 0:
		t.Errorf("situations %v: want some IL, CS and IT", situations)
	case situations["IL"]+situations["CS"]+situations["IT"] > n/10:
		t.Errorf("situations %v of %d lines: want them rare", situations, n)
	case maxReal < 3_000_000:
		t.Errorf("largest salary %d centimes: want a tail to tens of thousands of MAD", maxReal)
	}
}

func TestDeclarationsErrors(t *testing.T) {
	reg := newDeclRegistry(t, synth.Config{Employers: 30, Employees: 300, Seed: 4})
	ctx := context.Background()

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, _, err := writeDecl(t, cancelled, bytes.NewReader(reg.adh), bytes.NewReader(reg.sal), declPeriods, 1, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	for _, bad := range [][]string{{"2024-10"}, {"202413"}, {"202410", "202410"}} {
		if _, _, err := writeDecl(t, ctx, bytes.NewReader(reg.adh), bytes.NewReader(reg.sal), bad, 1, nil); err == nil {
			t.Errorf("periods %v accepted", bad)
		}
	}

	// SALARIES.csv out of ADHERENTS.csv order: the last employee row moved to the top.
	rows := strings.SplitAfter(string(reg.sal), "\n")
	rows = rows[:len(rows)-1] // after the final line end
	moved := append([]string{rows[0], rows[len(rows)-1]}, rows[1:len(rows)-1]...)
	if _, _, err := writeDecl(t, ctx, bytes.NewReader(reg.adh), strings.NewReader(strings.Join(moved, "")), declPeriods, 1, nil); err == nil || !strings.Contains(err.Error(), "same order") {
		t.Errorf("out of order: %v", err)
	}
	// A missing column.
	if _, _, err := writeDecl(t, ctx, strings.NewReader("affiliation\n1000000\n"), bytes.NewReader(reg.sal), declPeriods, 1, nil); err == nil {
		t.Error("ADHERENTS.csv without raison_sociale accepted")
	}
	// A failing writer.
	boom := errors.New("boom")
	_, err := synth.WriteDeclarationsTotals(ctx, bytes.NewReader(reg.adh), bytes.NewReader(reg.sal), declPeriods, 1,
		func(string) (io.Writer, error) { return failWriter{boom}, nil }, nil)
	if !errors.Is(err, boom) {
		t.Errorf("failing writer: %v", err)
	}
	if err := synth.WriteDeclarations(ctx, bytes.NewReader(reg.adh), bytes.NewReader(reg.sal), declPeriods, 1,
		func(string) (io.Writer, error) { return nil, boom }, nil); !errors.Is(err, boom) {
		t.Errorf("failing out: %v", err)
	}
	// No employee at all: empty files.
	empty := newDeclRegistry(t, synth.Config{Employers: 3, Seed: 1})
	files, tot, err := writeDecl(t, ctx, bytes.NewReader(empty.adh), bytes.NewReader(empty.sal), declPeriods, 1, nil)
	if err != nil || tot.Declarations != 0 || files["202410"].Len() != 0 {
		t.Errorf("no employee: %+v, %v", tot, err)
	}
}

type failWriter struct{ err error }

func (f failWriter) Write([]byte) (int, error) { return 0, f.err }

// BenchmarkWriteDeclarations measures one month for a registry of 5,000 employers and 20,000 employees
// (the shape of a 500,000 × 2,000,000 run, a hundredth of it).
func BenchmarkWriteDeclarations(b *testing.B) {
	reg := newDeclRegistry(b, synth.Config{Employers: 5000, Employees: 20000, Seed: 1})
	var lines int
	b.ResetTimer()
	for b.Loop() {
		tot, err := synth.WriteDeclarationsTotals(context.Background(), bytes.NewReader(reg.adh), bytes.NewReader(reg.sal),
			[]string{"202509"}, 1, func(string) (io.Writer, error) { return io.Discard, nil }, nil)
		if err != nil {
			b.Fatal(err)
		}
		lines = tot.Lines
		b.SetBytes(tot.Bytes)
	}
	b.ReportMetric(float64(lines)*float64(b.N)/b.Elapsed().Seconds(), "lines/s")
}
