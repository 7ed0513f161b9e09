package damancom_test

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"amane/damancom"
)

// Every value below is invented: affiliation, transfer identifier, insured numbers, names, CIN.

const ceiling = 600000 // 6,000 MAD in centimes

func employer() damancom.Employer {
	return damancom.Employer{
		Affiliation: "9000017", Period: "202403",
		Name: "SOCIETE EXEMPLE TEXTILES", Activity: "CONFECTION (ESSAI)",
		Address: "12 RUE DE L'ESSAI, QUARTIER FICTIF - LOT 4/B", City: "VILLE-TEST",
		PostalCode: "20250", Agency: "12", IssueDate: "20240401", DueDate: "20240410",
	}
}

// fakeName is a name-like string of letters derived from i.
func fakeName(prefix string, i int) string {
	s := []byte(prefix)
	for {
		s = append(s, byte('A'+i%26))
		i /= 26
		if i == 0 {
			return string(s)
		}
	}
}

func insured(i int) damancom.Insured {
	children := i % 4
	pay := int64(children) * 30000
	var deduct int64
	if i%3 == 0 && pay > 0 {
		deduct = 1000
	}
	return damancom.Insured{
		Number: fmt.Sprintf("%09d", 100000000+i*37), Surname: fakeName("ESSAINOM", i), FirstName: fakeName("PRENOMFICTIF", i),
		Children: children, AFToPay: pay, AFToDeduct: deduct, AFNet: pay - deduct,
	}
}

// samplePreetabli has n A02 records.
func samplePreetabli(n int) *damancom.Preetabli {
	p := &damancom.Preetabli{Header: damancom.Header{TransferID: "20240300000042", Cat: "A0"},
		Employer: employer(), LineEnding: "\n"}
	for i := range n {
		p.Insured = append(p.Insured, insured(i))
	}
	return p
}

// line is a filled B02 line for insured i, with situations spread over the lines.
func line(i int) damancom.Line {
	l := damancom.Line{Insured: insured(i)}
	switch {
	case i%17 == 5:
		l.Situation = "SO"
		l.AFToReturn = l.AFNet
	case i%23 == 7:
		l.Situation = "CS"
	case i%19 == 3:
		l.Situation = "DE"
		l.AFToReturn = l.AFNet
		l.Days = 12
	case i%10 == 4:
		l.Situation = "IL"
		l.Days = 20
	default:
		l.Days = 26 - i%7
	}
	if l.Days > 0 {
		l.RealSalary = 250000 + int64(i*7919%900000)
		l.CappedSalary = min(l.RealSalary, ceiling)
	}
	return l
}

func newEmployee(i int) damancom.NewEmployee {
	n := damancom.NewEmployee{Number: fmt.Sprintf("%09d", 800000000+i*41), Surname: fakeName("NOUVEAUNOM", i),
		FirstName: fakeName("NOUVPRENOM", i), CIN: fakeName("ZZ9", i), Days: 10 + i%16,
		RealSalary: 310000 + int64(i*101)}
	if i%4 == 3 {
		n.Number, n.Days, n.CIN = damancom.Occasional, 0, ""
	}
	n.CappedSalary = min(n.RealSalary, ceiling)
	return n
}

// sampleDeclaration has n B02 lines and k B04 new employees; with k == 0 it carries the blank B04
// when blank is set. LineNo values are those the encoded file gives.
func sampleDeclaration(n, k int, blank bool) *damancom.Declaration {
	d := &damancom.Declaration{Header: damancom.Header{TransferID: "20240300000042", Cat: "B0"},
		Employer: employer(), LineEnding: "\n", BlankB04: blank && k == 0}
	for i := range n {
		l := line(i)
		l.LineNo = 3 + i
		d.Lines = append(d.Lines, l)
	}
	for i := range k {
		e := newEmployee(i)
		e.LineNo = 3 + n + 1 + i
		d.New = append(d.New, e)
	}
	return d
}

// baseDeclaration is the file the broken-file table edits:
//
//	1 B00, 2 B01, 3 B02, 4 B02 (situation SO), 5 B02, 6 B03, 7 B04, 8 B04 (occasional), 9 B05, 10 B06
func baseDeclaration() *damancom.Declaration {
	d := sampleDeclaration(0, 0, false)
	l3 := line(1) // 25 days, 1 child: AF net 30000, AF à reverser 0
	l4 := line(5) // SO
	l4.AFNet, l4.AFToPay, l4.Children, l4.AFToReturn = 30000, 30000, 1, 30000
	l5 := line(2)
	d.Lines = []damancom.Line{l3, l4, l5}
	n7, n8 := newEmployee(0), newEmployee(3)
	n8.Surname, n8.FirstName = "OCCASIONNELNOM", "OCCASIONNELPRENOM"
	d.New = []damancom.NewEmployee{n7, n8}
	return d
}

func encodeDeclaration(t testing.TB, d *damancom.Declaration) string {
	t.Helper()
	var b bytes.Buffer
	if err := d.Encode(&b); err != nil {
		t.Fatalf("Encode: %v", err)
	}
	return b.String()
}

func encodePreetabli(t testing.TB, p *damancom.Preetabli) string {
	t.Helper()
	var b bytes.Buffer
	if err := p.Encode(&b); err != nil {
		t.Fatalf("Encode: %v", err)
	}
	return b.String()
}

// lines and join split a LF file into its lines (1-based access through at) and back.
func lines(file string) []string { return strings.Split(strings.TrimSuffix(file, "\n"), "\n") }
func join(ls []string) string    { return strings.Join(ls, "\n") + "\n" }

// set replaces [start, end) of line no (1-based) with v, which may be of another length.
func set(file string, no, start, end int, v string) string {
	ls := lines(file)
	l := ls[no-1]
	ls[no-1] = l[:start] + v + l[end:]
	return join(ls)
}

// bump adds 1 to the numeric field [start, end) of line no.
func bump(file string, no, start, end int) string {
	v, err := strconv.ParseUint(lines(file)[no-1][start:end], 10, 64)
	if err != nil {
		panic(err)
	}
	return set(file, no, start, end, fmt.Sprintf("%0*d", end-start, v+1))
}

func field(file string, no, start, end int) string { return lines(file)[no-1][start:end] }

func insertLine(file string, before int, l string) string {
	ls := lines(file)
	ls = append(ls[:before-1], append([]string{l}, ls[before-1:]...)...)
	return join(ls)
}

func deleteLine(file string, no int) string {
	ls := lines(file)
	return join(append(ls[:no-1], ls[no:]...))
}

func swapLines(file string, a, b int) string {
	ls := lines(file)
	ls[a-1], ls[b-1] = ls[b-1], ls[a-1]
	return join(ls)
}

// pad pads s with spaces to n characters.
func pad(s string, n int) string { return s + strings.Repeat(" ", n-utf8.RuneCountInString(s)) }
