package attest_test

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"amane/attest"

	"github.com/go-pdf/fpdf"
)

// handmadePDF is a one-page PDF whose content is content, its font /F1 a simple WinAnsi font or, if
// type0, a Type0 Identity-H font, with a classic cross-reference table.
func handmadePDF(content string, type0 bool) []byte {
	font := "<< /Type /Font /Subtype /TrueType /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
	if type0 {
		font = "<< /Type /Font /Subtype /Type0 /BaseFont /Go /Encoding /Identity-H >>"
	}
	objects := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
		fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(content)+1, content),
		font,
	}
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n")
	offsets := make([]int, len(objects))
	for i, o := range objects {
		offsets[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objects)+1)
	for _, off := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objects)+1, xref)
	return b.Bytes()
}

// update appends an incremental update (ISO 32000-1 §7.5.6) that defines objects anew, by number.
func update(t testing.TB, pdf []byte, objects map[int]string) []byte {
	t.Helper()
	m := regexp.MustCompile(`startxref\s+(\d+)\s+%%EOF\s*$`).FindSubmatch(pdf)
	root := regexp.MustCompile(`/Root (\d+) 0 R`).FindAllSubmatch(pdf, -1)
	size := regexp.MustCompile(`/Size (\d+)`).FindAllSubmatch(pdf, -1)
	if m == nil || root == nil || size == nil {
		t.Fatal("no trailer to update")
	}
	b := bytes.NewBuffer(bytes.Clone(pdf))
	var xref strings.Builder
	xref.WriteString("xref\n0 1\n0000000000 65535 f \n")
	for num, body := range objects {
		fmt.Fprintf(&xref, "%d 1\n%010d 00000 n \n", num, b.Len())
		fmt.Fprintf(b, "%d 0 obj\n%s\nendobj\n", num, body)
	}
	start := b.Len()
	fmt.Fprintf(b, "%strailer\n<< /Size %s /Root %s 0 R /Prev %s >>\nstartxref\n%d\n%%%%EOF\n",
		xref.String(), size[len(size)-1][1], root[len(root)-1][1], m[1], start)
	return b.Bytes()
}

func TestPageTextStrings(t *testing.T) {
	tests := []struct {
		name    string
		content string
		type0   bool
		want    string
	}{
		{"OK_Escapes", `BT /F1 9 Tf 10 10 Td (a\(b\)c\\d) Tj ET`, false, `a(b)c\d`},
		{"OK_Octal", `BT /F1 9 Tf 10 10 Td (D\351livr\351e \2251 \0530) Tj ET`, false, "Délivrée •1 +0"},
		{"OK_NestedParentheses", `BT /F1 9 Tf 10 10 Td ((a(b)c)) Tj ET`, false, "(a(b)c)"},
		{"OK_LineContinuation", "BT /F1 9 Tf 10 10 Td (ab\\\ncd\\\r\nef) Tj ET", false, "abcdef"},
		{"OK_WinAnsi", "BT /F1 9 Tf 10 10 Td (\x80 \x85 \x96 \x9c \xe9) Tj ET", false, "€ … – œ é"},
		{"OK_Hex", `BT /F1 9 Tf 10 10 Td <4D41 44 3> Tj ET`, false, "MAD0"},
		{"OK_TJ", `BT /F1 9 Tf 10 10 Td [(12) -250 (345,) 10 (67)] TJ ET`, false, "12345,67"},
		{"OK_Cells", `BT /F1 9 Tf 10 700 Td (01/2024) Tj ET BT 100 700 Td (3) Tj ET BT 10 680 Td (Total) Tj ET`, false,
			"01/2024\t3\nTotal"},
		{"OK_SameRun", `BT /F1 9 Tf 10 700 Td (ab) Tj (cd) Tj ET`, false, "abcd"},
		{"OK_LineOperators", `BT /F1 9 Tf 12 TL 10 700 Td (a) Tj T* (b) Tj (c) ' 1 2 (d) " ET`, false, "a\nb\nc\nd"},
		{"OK_Tm", `BT /F1 9 Tf 1 0 0 1 10 700 Tm (a) Tj 1 0 0 1 90 700 Tm (b) Tj 1 0 0 1 10 600 Tm (c) Tj ET`, false, "a\tb\nc"},
		{"OK_Type0", "BT /F1 9 Tf 10 10 Td (\x00D\x00\xe9\x00l\x20\x13\x00\\(\x00\\)) Tj ET", true, "Dél–()"},
		{"OK_Type0Hex", "BT /F1 9 Tf 10 10 Td <00410042D83DDE00> Tj ET", true, "AB😀"},
		{"OK_Type0Odd", "BT /F1 9 Tf 10 10 Td <0041DC00 42> Tj ET", true, "A\uFFFD\uFFFD"},
		{"OK_Skipped", "/Span << /ActualText (x) /MCID 0 >> BDC BI /W 1 /H 1 ID \x00(EI\n EI EMC % (comment)\nBT /F1 9 Tf (y) Tj ET", false, "y"},
		{"OK_UnknownFont", `BT /F9 9 Tf 10 10 Td (z) Tj ET`, false, "z"},
		{"OK_Unterminated", `BT /F1 9 Tf 10 10 Td (abc`, false, ""},
		{"OK_Empty", ``, false, ""},
		{"OK_ControlCharacters", "BT /F1 9 Tf 10 10 Td (a\tb\nc\x7f\x81) Tj ET", false, "a\uFFFDb\uFFFDc\uFFFD\uFFFD"},
		{"OK_Type0ControlCharacters", "BT /F1 9 Tf 10 10 Td <0009000A0041> Tj ET", true, "\uFFFD\uFFFDA"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pages, err := attest.PageText(handmadePDF(tt.content, tt.type0))
			if err != nil {
				t.Fatal(err)
			}
			if len(pages) != 1 || pages[0] != tt.want {
				t.Fatalf("PageText = %q, want [%q]", pages, tt.want)
			}
		})
	}
}

func TestPageTextErrors(t *testing.T) {
	good := handmadePDF(`BT /F1 9 Tf (a) Tj ET`, false)
	tests := []struct {
		name string
		pdf  []byte
	}{
		{"ErrEmpty", nil},
		{"ErrNotPDF", []byte("hello")},
		{"ErrTruncated", good[:len(good)/2]},
		{"ErrNoXref", bytes.Replace(good, []byte("xref"), []byte("xxxx"), 1)},
		{"ErrPageTreeLoop", update(t, good, map[int]string{2: "<< /Type /Pages /Kids [2 0 R] /Count 1 >>"})},
		{"ErrNotAStream", update(t, good, map[int]string{4: "(content)"})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if pages, err := attest.PageText(tt.pdf); err == nil {
				t.Fatalf("PageText = %q, want an error", pages)
			}
		})
	}
}

// TestPageTextUpdate: the page text is what the newest revision shows, whatever older copies the
// file still holds.
func TestPageTextUpdate(t *testing.T) {
	pdf := mustRender(t, attestation(attest.KindThirdParty))
	contents := regexp.MustCompile(`/Contents (\d+) 0 R`).FindSubmatch(pdf)
	num, _ := strconv.Atoi(string(contents[1]))
	body := "BT /F1 9 Tf 10 700 Td (Rien) Tj ET"
	updated := update(t, pdf, map[int]string{num: fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(body), body)})
	pages, err := attest.PageText(updated)
	if err != nil {
		t.Fatal(err)
	}
	if len(pages) != 1 || pages[0] != "Rien" {
		t.Fatalf("PageText = %q, want the updated page", pages)
	}
}

func TestSummaryFromPDF(t *testing.T) {
	for _, kind := range []string{attest.KindEmployees, attest.KindThirdParty, attest.KindSalary} {
		t.Run("OK_"+kind, func(t *testing.T) {
			doc := attestation(kind)
			pdf := mustRender(t, doc)
			got, err := attest.SummaryFromPDF(pdf)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*got, doc.Summary) {
				t.Fatalf("SummaryFromPDF = %+v, want %+v", *got, doc.Summary)
			}
			// After an incremental update (a signature's), the summary is found where it is.
			updated := update(t, pdf, map[int]string{1000: "<< /Type /Sig /Filter /Adobe.PPKLite >>"})
			if got, err := attest.SummaryFromPDF(updated); err != nil || !reflect.DeepEqual(*got, doc.Summary) {
				t.Fatalf("after an update: SummaryFromPDF = %+v, %v", got, err)
			}
		})
	}
	t.Run("ErrNoSummary", func(t *testing.T) {
		f := fpdf.New("P", "mm", "A4", "")
		f.AddPage()
		var b bytes.Buffer
		if err := f.Output(&b); err != nil {
			t.Fatal(err)
		}
		if _, err := attest.SummaryFromPDF(b.Bytes()); !errors.Is(err, attest.ErrNoSummary) {
			t.Fatalf("err = %v, want ErrNoSummary", err)
		}
	})
	t.Run("ErrTwoSummaries", func(t *testing.T) {
		f := fpdf.New("P", "mm", "A4", "")
		f.SetAttachments([]fpdf.Attachment{
			{Content: []byte(`{"code":"AMN-7K3QM-9XD2A"}`), Filename: attest.SummaryFile},
			{Content: []byte(`{"code":"AMN-8P4RS-1TV3B"}`), Filename: attest.SummaryFile},
		})
		f.AddPage()
		var b bytes.Buffer
		if err := f.Output(&b); err != nil {
			t.Fatal(err)
		}
		if _, err := attest.SummaryFromPDF(b.Bytes()); !errors.Is(err, attest.ErrNoSummary) {
			t.Fatalf("err = %v, want ErrNoSummary", err)
		}
	})
	for name, content := range map[string]string{
		"ErrUnknownField": `{"code":"AMN-7K3QM-9XD2A","montant":1}`,
		"ErrTrailingData": `{"code":"AMN-7K3QM-9XD2A"} {}`,
		"ErrNotJSON":      `code=AMN-7K3QM-9XD2A`,
	} {
		t.Run(name, func(t *testing.T) {
			f := fpdf.New("P", "mm", "A4", "")
			f.SetAttachments([]fpdf.Attachment{{Content: []byte(content), Filename: attest.SummaryFile}})
			f.AddPage()
			var b bytes.Buffer
			if err := f.Output(&b); err != nil {
				t.Fatal(err)
			}
			if s, err := attest.SummaryFromPDF(b.Bytes()); err == nil {
				t.Fatalf("SummaryFromPDF = %+v, want an error", s)
			}
		})
	}
}

func FuzzPageText(f *testing.F) {
	f.Add(mustRender(f, attestation(attest.KindSalary)))
	f.Add(handmadePDF(`BT /F1 9 Tf 10 700 Td (D\351livr\351e) Tj [(a) 1 (b)] TJ ET`, false))
	f.Add(handmadePDF("BT /F1 9 Tf <00410042> Tj (\x00a) Tj ET", true))
	f.Add(handmadePDF("q BI ID EI Q << /A [ ( >> BT", false))
	f.Add([]byte("%PDF-1.4\n"))
	f.Fuzz(func(t *testing.T, pdf []byte) {
		pages, err := attest.PageText(pdf)
		if err != nil {
			return
		}
		for _, p := range pages {
			if !utf8.ValidString(p) {
				t.Fatalf("invalid UTF-8: %q", p)
			}
		}
	})
}

// FuzzPageTextContent fuzzes the content stream alone, in a well-formed file, where FuzzPageText's
// mutations mostly break the cross-reference table first.
func FuzzPageTextContent(f *testing.F) {
	f.Add(`BT /F1 9 Tf 10 700 Td (D\351livr\351e \(x\)) Tj [(a) -250 (b)] TJ 12 TL T* (c) ' 1 2 (d) " ET`, false)
	f.Add("BT /F1 9 Tf 1 0 0 1 10 700 Tm <00410042 D83D> Tj (\x00a\\) Tj ET", true)
	f.Add("q /Span << /A [ (x) ] /B << >> >> BDC BI /W 1 ID \x00 EI EMC Q % c\r(", false)
	f.Fuzz(func(t *testing.T, content string, type0 bool) {
		pages, err := attest.PageText(handmadePDF(content, type0))
		if err != nil {
			return
		}
		if len(pages) != 1 || !utf8.ValidString(pages[0]) {
			t.Fatalf("PageText = %q", pages)
		}
	})
}

func FuzzSummaryFromPDF(f *testing.F) {
	f.Add(mustRender(f, attestation(attest.KindThirdParty)))
	f.Add(handmadePDF("", false))
	f.Fuzz(func(t *testing.T, pdf []byte) {
		if s, err := attest.SummaryFromPDF(pdf); err == nil && s == nil {
			t.Fatal("no summary and no error")
		}
	})
}
