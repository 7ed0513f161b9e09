package attest_test

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"amane/attest"
)

// The invented people and employer of these tests.
var people = []attest.Person{
	{Imm: "100000017", Surname: "BENNANI", FirstName: "Yasmine"},
	{Imm: "100000025", Surname: "EL AMRANI", FirstName: "Karim"},
	{Imm: "100000033", Surname: "OUAZZANI", FirstName: "Noémie"},
	{Imm: "100000041", Surname: "TAZI", FirstName: "Zoé"},
}

// salaries[i] is people[i]'s salary in January, in centimes; 100 MAD more each month.
var salaries = []int64{812345, 654110, 1200470, 489005}

const verifyURL = "https://amane.example.ma/verifier"

// attestation is a document of the given kind over January to March 2024, the four people declared
// each month; a salary attestation is Karim's (people[1]).
func attestation(kind string) *attest.Document {
	doc := &attest.Document{
		Summary: attest.Summary{
			Code: "AMN-7K3QM-9XD2A", Kind: kind, Issuer: "Caisse Nationale de Sécurité Sociale — Amane",
			Affiliation: "1234567", Employer: "Atlas Délices SARL", From: "202401", To: "202403",
			Issued: "2026-03-15T10:04:00Z", Expires: "2026-06-13T10:04:00Z",
		},
		Company: attest.Company{Name: "Atlas Délices SARL", Activity: "Pâtisserie industrielle",
			Address: "12, rue des Orangers", City: "Casablanca – Aïn Sebaâ", Affiliation: "1234567",
			AffiliationDate: "2015-09-01", ICE: "001234567000089", RC: "CAS-45678", TP: "35712345",
			IF: "1234567", LegalForm: "SARL"},
		VerifyURL: verifyURL,
	}
	for m, period := range []string{"202401", "202402", "202403"} {
		month := attest.Month{Period: period}
		for i, p := range people {
			salary := salaries[i] + int64(m)*10000
			doc.Lines = append(doc.Lines, attest.Line{Period: period, Imm: p.Imm, Surname: p.Surname,
				FirstName: p.FirstName, Days: 26 - i, Salary: salary})
			month.Headcount++
			month.Payroll += salary
		}
		doc.Summary.Months = append(doc.Summary.Months, month)
	}
	switch kind {
	case attest.KindThirdParty:
		doc.Lines = nil
	case attest.KindSalary:
		// Karim's own lines, each naming in Imm the employer that declared it, as package gate
		// builds them.
		doc.Person = &people[1]
		var own []attest.Line
		for _, l := range doc.Lines {
			if l.Imm == people[1].Imm {
				l.Imm = doc.Company.Affiliation
				own = append(own, l)
			}
		}
		doc.Lines = own
		doc.Summary.Months = nil // a salary attestation's summary holds no figure
	}
	return doc
}

// nominative is a KindEmployees document with n invented lines over one month.
func nominative(n int) *attest.Document {
	doc := attestation(attest.KindEmployees)
	doc.Lines = doc.Lines[:0]
	var total int64
	for i := range n {
		salary := int64(300000 + 137*i)
		doc.Lines = append(doc.Lines, attest.Line{Period: "202401", Imm: fmt.Sprintf("2%08d", i),
			Surname: fmt.Sprintf("NOM%05d", i), FirstName: "Hélène", Days: 26, Salary: salary})
		total += salary
	}
	doc.Summary.From, doc.Summary.To = "202401", "202401"
	doc.Summary.Months = []attest.Month{{Period: "202401", Headcount: n, Payroll: total}}
	return doc
}

func mustRender(t testing.TB, doc *attest.Document) []byte {
	t.Helper()
	pdf, err := attest.Render(doc)
	if err != nil {
		t.Fatal(err)
	}
	return pdf
}

// poppler runs a poppler-utils command on pdf, written to a file, with args before and after the
// file's name, and returns its standard output. It skips the test when the command is missing,
// unless AMANE_TEST_POPPLER=1 requires it.
func poppler(t *testing.T, pdf []byte, name string, before []string, after ...string) []byte {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		if os.Getenv("AMANE_TEST_POPPLER") == "1" {
			t.Fatalf("%s is required (AMANE_TEST_POPPLER=1): %v", name, err)
		}
		t.Skipf("%s not installed (apt-get install poppler-utils); AMANE_TEST_POPPLER=1 makes this a failure", name)
	}
	file := filepath.Join(t.TempDir(), "attestation.pdf")
	if err := os.WriteFile(file, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(name, append(append(before, file), after...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s: %v\n%s", name, err, stderr.Bytes())
	}
	if stderr.Len() > 0 {
		t.Fatalf("%s complains:\n%s", name, stderr.Bytes())
	}
	return stdout.Bytes()
}

func pdftotext(t *testing.T, pdf []byte) string {
	t.Helper()
	return string(poppler(t, pdf, "pdftotext", []string{"-layout", "-enc", "UTF-8"}, "-"))
}

// pdftoppm draws page 1 at 50 dpi and returns the PNG.
func pdftoppm(t *testing.T, pdf []byte) []byte {
	t.Helper()
	root := filepath.Join(t.TempDir(), "page")
	poppler(t, pdf, "pdftoppm", []string{"-r", "50", "-f", "1", "-l", "1", "-singlefile", "-png"}, root)
	png, err := os.ReadFile(root + ".png")
	if err != nil {
		t.Fatal(err)
	}
	return png
}

func pageTexts(t *testing.T, pdf []byte) []string {
	t.Helper()
	pages, err := attest.PageText(pdf)
	if err != nil {
		t.Fatal(err)
	}
	return pages
}

func TestRender(t *testing.T) {
	common := []string{
		"Caisse Nationale de Sécurité Sociale — Amane",
		"AMN-7K3QM-9XD2A",
		"Délivrée le 15 mars 2026 à 10:04 UTC",
		"Valable jusqu'au 13 juin 2026 à 10:04 UTC",
		"Période : janvier 2024 – mars 2024",
		"Atlas Délices SARL", "Pâtisserie industrielle", "12, rue des Orangers, Casablanca – Aïn Sebaâ",
		"01/09/2015", "001234567000089", "CAS-45678", "35712345",
		"Vérifiez ce document sur " + verifyURL + "/AMN-7K3QM-9XD2A ou avec amane verify.",
		"page 1/1",
	}
	months := []string{"01/2024", "02/2024", "03/2024", "31 559,30 MAD", "31 959,30 MAD", "32 359,30 MAD", "Total", "95 877,90 MAD"}
	tests := []struct {
		name string
		kind string
		want []string
	}{
		{"OK_Employees", attest.KindEmployees, append(append([]string{"Attestation des salariés déclarés",
			"Liste nominative des salariés déclarés", "BENNANI Yasmine", "OUAZZANI Noémie", "TAZI Zoé",
			"100000033", "12 004,70 MAD", "12 204,70 MAD"}, months...), common...)},
		{"OK_ThirdParty", attest.KindThirdParty, append(append([]string{"Attestation d'affiliation et de déclaration"},
			months...), common...)},
		{"OK_Salary", attest.KindSalary, append([]string{"Attestation de salaire", "EL AMRANI Karim", "100000025",
			"6 541,10 MAD", "6 641,10 MAD", "6 741,10 MAD", "19 923,30 MAD", "1234567"}, common...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pdf := mustRender(t, attestation(tt.kind))
			if !bytes.HasPrefix(pdf, []byte("%PDF-1.")) {
				t.Fatalf("not a PDF: %q", pdf[:16])
			}
			text := pdftotext(t, pdf)
			for _, w := range tt.want {
				if !strings.Contains(text, w) {
					t.Errorf("pdftotext does not show %q", w)
				}
			}
			pages := strings.Join(pageTexts(t, pdf), "\n")
			for _, w := range tt.want {
				if !strings.Contains(pages, w) {
					t.Errorf("PageText does not show %q", w)
				}
			}
			if png := pdftoppm(t, pdf); !bytes.HasPrefix(png, []byte("\x89PNG")) {
				t.Error("pdftoppm drew no PNG")
			}
			// pdffonts: name, type, encoding, emb, sub, uni, object number and generation.
			fonts := strings.Split(strings.TrimSpace(string(poppler(t, pdf, "pdffonts", nil))), "\n")[2:]
			for _, l := range fonts {
				if f := strings.Fields(l); len(f) < 8 || f[len(f)-5] != "yes" {
					t.Errorf("font not embedded: %s", l)
				}
			}
			if len(fonts) != 2 {
				t.Errorf("%d fonts, want 2", len(fonts))
			}
		})
	}
}

// TestRenderPrivacy: the third-party and salary attestations show no one's name or salary but, for
// a salary attestation, the person's own; and no employer total.
func TestRenderPrivacy(t *testing.T) {
	full := attestation(attest.KindEmployees)
	var others, karims []string
	for _, l := range full.Lines {
		figure := attest.FormatAmount(l.Salary)
		if l.Imm == people[1].Imm {
			karims = append(karims, figure)
		} else {
			others = append(others, l.Surname, l.FirstName, l.Imm, figure)
		}
	}
	var totals []string
	for _, m := range full.Summary.Months {
		totals = append(totals, attest.FormatAmount(m.Payroll))
	}
	tests := []struct {
		name          string
		doc           *attest.Document
		absent, shown []string
	}{
		{"ThirdParty", func() *attest.Document {
			d := attestation(attest.KindThirdParty)
			d.Lines = full.Lines // a caller's mistake: the lines must not show anyway
			return d
		}(), append(append([]string{"EL AMRANI", "Karim", people[1].Imm}, others...), karims...), totals},
		{"Salary", func() *attest.Document {
			d := attestation(attest.KindSalary)
			d.Lines[0].Surname = "NOM DÉCLARÉ"     // the lines' names are never printed
			d.Summary.Months = full.Summary.Months // a caller's mistake: the employer's months must not show
			return d
		}(), append(append(others, totals...), "NOM DÉCLARÉ"), append([]string{"EL AMRANI Karim", people[1].Imm}, karims...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pdf := mustRender(t, tt.doc)
			for source, text := range map[string]string{
				"pdftotext": pdftotext(t, pdf),
				"PageText":  strings.Join(pageTexts(t, pdf), "\n"),
			} {
				for _, a := range tt.absent {
					if strings.Contains(text, a) {
						t.Errorf("%s shows %q", source, a)
					}
				}
				for _, s := range tt.shown {
					if !strings.Contains(text, s) {
						t.Errorf("%s does not show %q", source, s)
					}
				}
			}
			// The raw file holds no name either (no metadata, no uncompressed leftovers).
			for _, a := range []string{"BENNANI", "OUAZZANI", "Yasmine"} {
				if bytes.Contains(pdf, []byte(a)) {
					t.Errorf("the file holds %q", a)
				}
			}
		})
	}
}

// amounts returns the table cells that are amounts: cells are separated by tabs (PageText) or by
// two spaces or more (pdftotext -layout).
func amounts(text string) []string {
	amount := regexp.MustCompile(`^-?\d{1,3}( \d{3})*,\d{2} MAD$`)
	var out []string
	for _, cell := range regexp.MustCompile(`\t| {2,}|\n`).Split(text, -1) {
		if cell = strings.TrimSpace(cell); amount.MatchString(cell) {
			out = append(out, cell)
		}
	}
	slices.Sort(out)
	return out
}

func TestPageTextAgreesWithPoppler(t *testing.T) {
	for _, doc := range []*attest.Document{attestation(attest.KindEmployees), attestation(attest.KindThirdParty),
		attestation(attest.KindSalary), nominative(130)} {
		t.Run(doc.Summary.Kind, func(t *testing.T) {
			pdf := mustRender(t, doc)
			pages := pageTexts(t, pdf)
			mine := amounts(strings.Join(pages, "\n"))
			theirs := amounts(pdftotext(t, pdf))
			if len(mine) == 0 || !slices.Equal(mine, theirs) {
				t.Errorf("amounts differ:\nPageText  %q\npdftotext %q", mine, theirs)
			}
			for _, m := range doc.Summary.Months {
				if !slices.Contains(strings.Split(pages[0], "\n"), attest.MonthText(m)) {
					t.Errorf("page 1 has no line %q:\n%s", attest.MonthText(m), pages[0])
				}
			}
		})
	}
}

// TestRenderPaginates: 100 lines take three pages; every page repeats the table header and says
// which page it is; every line shows once, in order.
func TestRenderPaginates(t *testing.T) {
	doc := nominative(100)
	pdf := mustRender(t, doc)
	pages := pageTexts(t, pdf)
	if len(pages) != 3 {
		t.Fatalf("%d pages, want 3", len(pages))
	}
	header := "Période\tImmatriculation\tNom et prénom\tJours\tSalaire déclaré"
	var imms []string
	for i, p := range pages {
		lines := strings.Split(p, "\n")
		if !slices.Contains(lines, header) {
			t.Errorf("page %d: no table header:\n%s", i+1, p)
		}
		footer := fmt.Sprintf("Vérifiez ce document sur %s/%s ou avec amane verify.\tpage %d/3", verifyURL, doc.Summary.Code, i+1)
		if lines[len(lines)-1] != footer {
			t.Errorf("page %d ends with %q, want %q", i+1, lines[len(lines)-1], footer)
		}
		if i > 0 && !strings.HasPrefix(p, "Attestation des salariés déclarés — suite\tAMN-7K3QM-9XD2A\n") {
			t.Errorf("page %d: no continuation heading:\n%.80s", i+1, p)
		}
		for _, l := range lines {
			if f := strings.Split(l, "\t"); len(f) == 5 && strings.HasPrefix(f[1], "2000") {
				imms = append(imms, f[1])
				if i := len(imms) - 1; i < len(doc.Lines) && l != fmt.Sprintf("01/2024\t%s\tNOM%05d Hélène\t26\t%s",
					doc.Lines[i].Imm, i, attest.FormatAmount(doc.Lines[i].Salary)) {
					t.Errorf("line %d reads %q", i, l)
				}
			}
		}
	}
	if len(imms) != 100 || !slices.IsSorted(imms) {
		t.Errorf("%d lines shown, want the 100 in order", len(imms))
	}
	if n := strings.Count(pdftotext(t, pdf), "Immatriculation"); n != 3 {
		t.Errorf("pdftotext shows the header %d times, want 3", n)
	}
}

func TestRenderDeterministic(t *testing.T) {
	a := mustRender(t, attestation(attest.KindEmployees))
	b := mustRender(t, attestation(attest.KindEmployees))
	if !bytes.Equal(a, b) {
		t.Fatal("two renderings of one document differ")
	}
	other := attestation(attest.KindEmployees)
	other.Summary.Code = "AMN-8P4RS-1TV3B"
	if bytes.Equal(a, mustRender(t, other)) {
		t.Fatal("another code, the same file")
	}
	if !bytes.Contains(a, []byte("/CreationDate (D:20260315100400)")) {
		t.Error("the creation date is not the issue date")
	}
}

func TestRenderErrors(t *testing.T) {
	tests := []struct {
		name   string
		change func(*attest.Document)
	}{
		{"ErrKind", func(d *attest.Document) { d.Summary.Kind = "attestation" }},
		{"ErrCode", func(d *attest.Document) { d.Summary.Code = "" }},
		{"ErrIssued", func(d *attest.Document) { d.Summary.Issued = "15/03/2026" }},
		{"ErrExpires", func(d *attest.Document) { d.Summary.Expires = "" }},
		{"ErrVerifyURL", func(d *attest.Document) { d.VerifyURL = "" }},
		{"ErrPerson", func(d *attest.Document) { d.Summary.Kind = attest.KindSalary; d.Person = nil }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := attestation(attest.KindEmployees)
			tt.change(doc)
			if _, err := attest.Render(doc); !errors.Is(err, attest.ErrRender) {
				t.Fatalf("err = %v, want ErrRender", err)
			}
		})
	}
	t.Run("ErrNil", func(t *testing.T) {
		if _, err := attest.Render(nil); !errors.Is(err, attest.ErrRender) {
			t.Fatalf("err = %v, want ErrRender", err)
		}
	})
}

// TestRenderOddText: text the fonts cannot show, control characters, invalid UTF-8 and very long
// values print as "?" or cut, never fail.
func TestRenderOddText(t *testing.T) {
	doc := attestation(attest.KindEmployees)
	doc.Company.Name = "Łódź Şirket \x00\xff " + strings.Repeat("Très longue raison sociale ", 20)
	doc.Lines[0].Surname = "(PARENTHÈSES) \\ 😀"
	doc.VerifyURL = "https://amane.example.ma/" + strings.Repeat("verifier/", 12)
	pdf := mustRender(t, doc)
	text := strings.Join(pageTexts(t, pdf), "\n")
	for _, w := range []string{"Raison sociale\t?ód? ?irket ?? Très longue raison sociale", "…\n",
		"(PARENTHÈSES) \\ ?", "Vérifiez ce document sur " + strings.TrimSuffix(doc.VerifyURL, "/") + "/AMN-7K3QM-9XD2A ou avec amane verify."} {
		if !strings.Contains(text, w) {
			t.Errorf("PageText does not show %q", w)
		}
	}
	pdftoppm(t, pdf)
}

func TestFormatAmount(t *testing.T) {
	for _, tt := range []struct {
		centimes int64
		want     string
	}{
		{0, "0,00 MAD"},
		{5, "0,05 MAD"},
		{100, "1,00 MAD"},
		{99999, "999,99 MAD"},
		{100000, "1 000,00 MAD"},
		{1234567, "12 345,67 MAD"},
		{99912345678, "999 123 456,78 MAD"},
		{-123456, "-1 234,56 MAD"},
		{math.MinInt64, "-92 233 720 368 547 758,08 MAD"},
	} {
		if got := attest.FormatAmount(tt.centimes); got != tt.want {
			t.Errorf("FormatAmount(%d) = %q, want %q", tt.centimes, got, tt.want)
		}
	}
}

func TestMonthText(t *testing.T) {
	m := attest.Month{Period: "202402", Headcount: 13, Payroll: 4712345}
	if got, want := attest.MonthText(m), "02/2024\t13\t47 123,45 MAD"; got != want {
		t.Errorf("MonthText = %q, want %q", got, want)
	}
	if got := attest.FormatPeriod("2024-02"); got != "2024-02" {
		t.Errorf("FormatPeriod(2024-02) = %q", got)
	}
}

// BenchmarkRender renders nominative attestations of 5 and 500 lines.
func BenchmarkRender(b *testing.B) {
	for _, n := range []int{5, 500} {
		doc := nominative(n)
		b.Run(fmt.Sprintf("lines=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			var size int
			for b.Loop() {
				pdf, err := attest.Render(doc)
				if err != nil {
					b.Fatal(err)
				}
				size = len(pdf)
			}
			b.ReportMetric(float64(size), "bytes/pdf")
		})
	}
}
