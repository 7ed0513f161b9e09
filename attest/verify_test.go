package attest_test

import (
	"bytes"
	"compress/zlib"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"amane/attest"

	"github.com/go-pdf/fpdf"
)

func TestVerify(t *testing.T) {
	pki := newPKI(t)
	doc := sampleDoc(attest.NewCode())
	unsigned := rendered(t, doc)
	at := time.Now()
	genuine, err := pki.signer.Sign(unsigned, at)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("OK", func(t *testing.T) {
		r := attest.Verify(genuine, pki.trust, time.Now())
		if !r.Valid || len(r.Reasons) != 0 {
			t.Fatalf("genuine attestation rejected: %v", r.Reasons)
		}
		if r.Summary == nil || r.Summary.Code != doc.Summary.Code || len(r.Summary.Months) != 3 {
			t.Errorf("summary %+v", r.Summary)
		}
		if r.Signer != "Amane — signature des attestations (démo)" {
			t.Errorf("signer %q", r.Signer)
		}
	})
	t.Run("OKSalary", func(t *testing.T) {
		d := sampleDoc(attest.NewCode())
		d.Summary.Kind, d.Summary.Months = attest.KindSalary, nil
		d.Person = &attest.Person{Imm: "112233445", Surname: "Alaoui", FirstName: "Sanae"}
		d.Lines = []attest.Line{{Period: "202401", Imm: "112233445", Surname: "Alaoui", FirstName: "Sanae", Days: 26, Salary: 812345}}
		signed, err := pki.signer.Sign(rendered(t, d), at)
		if err != nil {
			t.Fatal(err)
		}
		if r := attest.Verify(signed, pki.trust, time.Now()); !r.Valid {
			t.Errorf("salary attestation rejected: %v", r.Reasons)
		}
	})
	t.Run("OKPdfsig", func(t *testing.T) { pdfsigValid(t, genuine) })

	for _, tc := range tamperedCopies(t, pki, doc, unsigned, genuine, at) {
		t.Run(tc.name, func(t *testing.T) {
			r := attest.Verify(tc.pdf, pki.trust, time.Now())
			if r.Valid {
				t.Fatal("tampered copy accepted")
			}
			if !slices.Equal(sorted(r.Reasons), sorted(tc.reasons)) {
				t.Errorf("reasons:\n  %s\nwant:\n  %s", strings.Join(r.Reasons, "\n  "), strings.Join(tc.reasons, "\n  "))
			}
		})
	}

	t.Run("ErrNoTrust", func(t *testing.T) {
		r := attest.Verify(genuine, nil, time.Now())
		if r.Valid || !slices.Equal(r.Reasons, []string{attest.ReasonChain}) {
			t.Errorf("reasons %v, want the chain only", r.Reasons)
		}
	})
	t.Run("ErrSignedInTheFuture", func(t *testing.T) {
		r := attest.Verify(genuine, pki.trust, at.Add(-time.Hour))
		if !slices.Contains(r.Reasons, attest.ReasonSigningTime) {
			t.Errorf("reasons %v, want the signing time", r.Reasons)
		}
	})
	t.Run("ErrNotPDF", func(t *testing.T) {
		r := attest.Verify([]byte("hello"), pki.trust, time.Now())
		if r.Valid || !slices.Equal(r.Reasons, []string{attest.ReasonNotPDF}) {
			t.Errorf("reasons %v", r.Reasons)
		}
	})
	t.Run("ErrUnsigned", func(t *testing.T) {
		r := attest.Verify(unsigned, pki.trust, time.Now())
		if r.Valid || !slices.Equal(r.Reasons, []string{attest.ReasonNoSignature}) {
			t.Errorf("reasons %v, want no signature only", r.Reasons)
		}
	})
}

// tampered is a modified copy of a genuine attestation and the reasons Verify must give.
type tampered struct {
	name    string
	pdf     []byte
	reasons []string
}

// tamperedCopies derives from a genuine signed attestation (doc, rendered as unsigned, signed at
// at by pki) the copies an attacker could make.
func tamperedCopies(t testing.TB, pki *pki, doc *attest.Document, unsigned, genuine []byte, at time.Time) []tampered {
	t.Helper()
	attacker := newPKI(t)
	content := pageContentObject(t, unsigned)
	payroll := "(" + attest.FormatAmount(doc.Summary.Months[1].Payroll) + ") Tj"
	changeDigit := func(data []byte) []byte {
		if !bytes.Contains(data, []byte(payroll)) {
			t.Fatalf("page 1 does not show %s", payroll)
		}
		changed := strings.Replace(payroll, "7", "8", 1) // 47 123,45 → 48 123,45
		return bytes.Replace(data, []byte(payroll), []byte(changed), 1)
	}
	var out []tampered
	add := func(name string, pdf []byte, reasons ...string) {
		out = append(out, tampered{name, pdf, reasons})
	}

	// A figure changed on the signed page, the stream recompressed in place: the byte range and
	// the structure hold, the digest does not, and the page no longer shows the signed figure.
	add("ErrDigitChanged", editStream(t, genuine, content, changeDigit),
		attest.ReasonDigest, attest.ReasonFigures)
	// The same change made before signing with the genuine key: only the figures check sees it.
	add("ErrDigitChangedThenSigned", sign(t, pki, editStream(t, unsigned, content, changeDigit), at),
		attest.ReasonFigures)
	// The summary changed (headcount 13 → 14) and signed with the genuine key: the figures
	// check compares it with the page.
	add("ErrSummaryChangedThenSigned", sign(t, pki, editStream(t, unsigned, embeddedFileObject(t, unsigned), func(data []byte) []byte {
		return bytes.Replace(data, []byte(`"effectif":13`), []byte(`"effectif":14`), 1)
	}), at), attest.ReasonFigures)

	// An empty incremental update after the signature.
	add("ErrIncrementalUpdate", appendUpdate(t, genuine, nil),
		attest.ReasonUnsignedBytes, attest.ReasonUpdateAfterSign)
	// An update that replaces the embedded summary: what a reader extracts is not what was signed.
	other := *doc
	other.Summary.Months = slices.Clone(doc.Summary.Months)
	other.Summary.Months[0].Headcount = 120
	add("ErrSummaryReplacedByUpdate", appendUpdate(t, genuine, map[int][]byte{
		embeddedFileObject(t, genuine): streamObject(t, summaryJSON(t, &other.Summary)),
	}), attest.ReasonUnsignedBytes, attest.ReasonUpdateAfterSign, attest.ReasonSummaryUnsigned)
	// An update that drops the form: the signature is still found, in the revision before.
	add("ErrFormRemovedByUpdate", appendUpdate(t, genuine, map[int][]byte{
		catalogObject(t, genuine): []byte("<</Type /Catalog /Pages 1 0 R>>"),
	}), attest.ReasonUnsignedBytes, attest.ReasonUpdateAfterSign, attest.ReasonSummaryUnsigned)

	// A second signature field, with a value, added by an update.
	catNum := catalogObject(t, genuine)
	cat := regexp.MustCompile(fmt.Sprintf(`(?s)\n%d 0 obj\n(.*?)\nendobj`, catNum)).FindAllSubmatch(genuine, -1)
	twoFields := regexp.MustCompile(`/Fields \[(\d+) 0 R\]`).ReplaceAll(cat[len(cat)-1][1], []byte("/Fields [$1 0 R 900 0 R]"))
	add("ErrTwoSignatures", appendUpdate(t, genuine, map[int][]byte{
		catNum: twoFields,
		900:    []byte("<</FT /Sig /T (Second) /V 901 0 R /Rect [0 0 0 0]>>"),
		901:    []byte("<</Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached /ByteRange [0 1 2 3] /Contents <00>>>"),
	}), attest.ReasonSeveralSignatures)
	// The signature declared as a plain PKCS #7 one (a name of the same length, in place).
	add("ErrNotPAdES", bytes.Replace(genuine, []byte("/SubFilter /ETSI.CAdES.detached"), []byte("/SubFilter /adbe.pkcs7.detached"), 1),
		attest.ReasonNotPAdES, attest.ReasonDigest)

	// Bytes appended or cut.
	add("ErrBytesAppended", append(slices.Clone(genuine), "\n% nothing\n"...), attest.ReasonUnsignedBytes)
	add("ErrNULAppended", append(slices.Clone(genuine), 0), attest.ReasonUnsignedBytes)
	add("ErrTruncated", genuine[:len(genuine)-1], attest.ReasonTruncated, attest.ReasonDigest)
	add("ErrTruncatedEOF", genuine[:len(genuine)-len("%%EOF\n")], attest.ReasonTruncated, attest.ReasonDigest)

	// The signature replaced by one from another key, of another authority.
	add("ErrOtherKey", sign(t, attacker, unsigned, at), attest.ReasonChain)
	// The signature of another attestation put in this one's place.
	otherSigned := sign(t, pki, rendered(t, sampleDoc(attest.NewCode())), at)
	add("ErrSignatureOfAnotherDocument", transplantContents(t, otherSigned, genuine), attest.ReasonDigest)

	// Another attestation's QR code drawn in place of this one's, signed by the attacker, then by
	// the genuine key: the QR check alone catches the second.
	qrSwapped := swapQR(t, unsigned, rendered(t, sampleDoc(attest.NewCode())))
	add("ErrQROfAnotherAttestation", sign(t, attacker, qrSwapped, at), attest.ReasonQR, attest.ReasonChain)
	add("ErrQROfAnotherAttestationGenuineKey", sign(t, pki, qrSwapped, at), attest.ReasonQR)

	// The hex string of the signature written in capitals: the same bytes, another file.
	add("ErrContentsUpperCase", upperContents(t, genuine), attest.ReasonCMS)
	return out
}

// BenchmarkSign signs a rendered attestation. The budget: 53,574 attestations rendered and signed
// in 120 s on 2 cores, 4.5 ms each for both.
func BenchmarkSign(b *testing.B) {
	pki := newPKI(b)
	pdf := rendered(b, sampleDoc(attest.NewCode()))
	at := time.Now()
	b.SetBytes(int64(len(pdf)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := pki.signer.Sign(pdf, at); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRenderSign renders and signs, in parallel as a batch does.
func BenchmarkRenderSign(b *testing.B) {
	pki := newPKI(b)
	doc := sampleDoc(attest.NewCode())
	at := time.Now()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			pdf, err := attest.Render(doc)
			if err != nil {
				b.Error(err)
				return
			}
			if _, err := pki.signer.Sign(pdf, at); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkVerify(b *testing.B) {
	pki := newPKI(b)
	signed := sign(b, pki, rendered(b, sampleDoc(attest.NewCode())), time.Now())
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		if r := attest.Verify(signed, pki.trust, now); !r.Valid {
			b.Fatal(r.Reasons)
		}
	}
}

// sampleDoc is a third-party attestation over three months.
func sampleDoc(code string) *attest.Document {
	issued := time.Now().UTC().Truncate(time.Second)
	return &attest.Document{
		Summary: attest.Summary{
			Code: code, Kind: attest.KindThirdParty, Affiliation: "1234567", Employer: "Conserveries de l'Atlas SARL",
			From: "202401", To: "202403",
			Months: []attest.Month{
				{Period: "202401", Headcount: 12, Payroll: 4567890},
				{Period: "202402", Headcount: 13, Payroll: 4712345},
				{Period: "202403", Headcount: 11, Payroll: 4401234},
			},
			Issued: issued.Format(time.RFC3339), Expires: issued.Add(attest.Validity).Format(time.RFC3339),
		},
		Company: attest.Company{Name: "Conserveries de l'Atlas SARL", Activity: "Conserverie", Address: "12, rue du Port",
			City: "Agadir", Affiliation: "1234567", AffiliationDate: "2011-05-02", ICE: "001234567000089", LegalForm: "SARL"},
		VerifyURL: "https://amane.example.ma/verifier",
	}
}

func rendered(t testing.TB, doc *attest.Document) []byte {
	t.Helper()
	pdf, err := attest.Render(doc)
	if err != nil {
		t.Fatal(err)
	}
	return pdf
}

func sign(t testing.TB, pki *pki, pdf []byte, at time.Time) []byte {
	t.Helper()
	signed, err := pki.signer.Sign(pdf, at)
	if err != nil {
		t.Fatal(err)
	}
	return signed
}

// samplePDF is a small fpdf document, not an attestation, with a link: page 1 has /Annots already.
func samplePDF(t testing.TB) []byte {
	t.Helper()
	f := fpdf.New("P", "mm", "A4", "")
	f.AddPage()
	f.SetFont("Helvetica", "", 12)
	f.CellFormat(0, 10, "Attestation de test", "", 1, "L", false, 0, "https://amane.example.ma/")
	var buf bytes.Buffer
	if err := f.Output(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// reasonsBut returns r's reasons without the given ones.
func reasonsBut(r *attest.Result, ignored ...string) []string {
	var out []string
	for _, x := range r.Reasons {
		if !slices.Contains(ignored, x) {
			out = append(out, x)
		}
	}
	return out
}

func parsePEMCert(t testing.TB, data []byte) *x509.Certificate {
	t.Helper()
	b, _ := pem.Decode(data)
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func parsePEMKey(t testing.TB, data []byte) crypto.Signer {
	t.Helper()
	b, _ := pem.Decode(data)
	k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return k.(crypto.Signer)
}

// The helpers below edit fpdf files the way an attacker with a text editor and zlib would. They
// rely on fpdf's layout ("N 0 obj" at the start of a line, one dictionary per object) and are
// test code, not a PDF library.

// objectAt returns the offset of the last definition of object num.
func objectAt(t testing.TB, pdf []byte, num int) int {
	t.Helper()
	i := bytes.LastIndex(pdf, []byte(fmt.Sprintf("\n%d 0 obj", num)))
	if i < 0 {
		t.Fatalf("no object %d", num)
	}
	return i + 1
}

// objectNumber returns the number of the first object whose definition matches re.
func objectNumber(t testing.TB, pdf []byte, re string) int {
	t.Helper()
	m := regexp.MustCompile(`(?s)\n(\d+) 0 obj\s*<<[^>]*?` + re).FindSubmatch(pdf)
	if m == nil {
		t.Fatalf("no object matching %s", re)
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n
}

// pageContentObject is the number of page 1's content stream.
func pageContentObject(t testing.TB, pdf []byte) int {
	t.Helper()
	m := regexp.MustCompile(`/Type /Page\n(?s:.*?)/Contents (\d+) 0 R`).FindSubmatch(pdf)
	if m == nil {
		t.Fatal("no page")
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n
}

func embeddedFileObject(t testing.TB, pdf []byte) int {
	return objectNumber(t, pdf, `/Type /EmbeddedFile`)
}

func catalogObject(t testing.TB, pdf []byte) int {
	t.Helper()
	m := regexp.MustCompile(`/Root (\d+) 0 R`).FindSubmatch(pdf[bytes.LastIndex(pdf, []byte("trailer")):])
	n, _ := strconv.Atoi(string(m[1]))
	return n
}

// stream returns where object num's stream data lies, and whether it is compressed (FlateDecode).
func stream(t testing.TB, pdf []byte, num int) (start, end int, flate bool) {
	t.Helper()
	at := objectAt(t, pdf, num)
	m := regexp.MustCompile(`(?s)\A\d+ 0 obj\s*(<<.*?/Length (\d+).*?)stream\r?\n`).FindSubmatch(pdf[at:])
	if m == nil {
		t.Fatalf("object %d is not a stream", num)
	}
	n, _ := strconv.Atoi(string(m[2]))
	start = at + len(m[0])
	return start, start + n, bytes.Contains(m[1], []byte("/FlateDecode"))
}

// streamData returns object num's stream, decoded.
func streamData(t testing.TB, pdf []byte, num int) []byte {
	t.Helper()
	start, end, flate := stream(t, pdf, num)
	if !flate {
		return pdf[start:end]
	}
	zr, err := zlib.NewReader(bytes.NewReader(pdf[start:end]))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func deflate(data []byte, level int) []byte {
	var buf bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&buf, level)
	zw.Write(data)
	zw.Close()
	return buf.Bytes()
}

// editStream changes object num's stream in place, so that no offset moves: an uncompressed
// stream must keep its length; a Flate one is compressed again no longer than it was, and padded
// with zero bytes after the zlib stream.
func editStream(t testing.TB, pdf []byte, num int, edit func([]byte) []byte) []byte {
	t.Helper()
	start, end, flate := stream(t, pdf, num)
	data := edit(slices.Clone(streamData(t, pdf, num)))
	out := slices.Clone(pdf)
	if !flate {
		if len(data) != end-start {
			t.Fatalf("object %d: the edit changes the stream's length", num)
		}
		copy(out[start:end], data)
		return out
	}
	for level := zlib.BestCompression; level >= zlib.BestSpeed; level-- {
		if z := deflate(data, level); len(z) <= end-start {
			copy(out[start:end], append(z, make([]byte, end-start-len(z))...))
			return out
		}
	}
	t.Fatalf("object %d: the edited stream does not fit in place", num)
	return nil
}

// streamObject is a Flate stream object's body.
func streamObject(t testing.TB, data []byte) []byte {
	z := deflate(data, zlib.BestCompression)
	return append(fmt.Appendf(nil, "<</Type /EmbeddedFile /Filter /FlateDecode /Length %d>>\nstream\n", len(z)), append(z, "\nendstream"...)...)
}

func summaryJSON(t testing.TB, s *attest.Summary) []byte {
	t.Helper()
	pdf := rendered(t, &attest.Document{Summary: *s, VerifyURL: "https://amane.example.ma/verifier"})
	return streamData(t, pdf, embeddedFileObject(t, pdf))
}

// appendUpdate appends an incremental update with objs (number → body), possibly none.
func appendUpdate(t testing.TB, pdf []byte, objs map[int][]byte) []byte {
	t.Helper()
	tail := pdf[bytes.LastIndex(pdf, []byte("trailer")):]
	size, _ := strconv.Atoi(string(regexp.MustCompile(`/Size (\d+)`).FindSubmatch(tail)[1]))
	root := regexp.MustCompile(`/Root \d+ \d+ R`).Find(tail)
	out := bytes.NewBuffer(slices.Clone(pdf))
	offsets := map[int]int{}
	for n, body := range objs {
		size = max(size, n+1)
		offsets[n] = out.Len()
		fmt.Fprintf(out, "%d 0 obj\n%s\nendobj\n", n, body)
	}
	xref := out.Len()
	out.WriteString("xref\n0 1\n0000000000 65535 f \n")
	for n, off := range offsets {
		fmt.Fprintf(out, "%d 1\n%010d 00000 n \n", n, off)
	}
	fmt.Fprintf(out, "trailer\n<</Size %d %s /Prev %d>>\nstartxref\n%d\n%%%%EOF\n", size, root, startxref(t, pdf), xref)
	return out.Bytes()
}

// transplantContents puts from's /Contents (the CMS) into to, which has a placeholder as large.
func transplantContents(t testing.TB, from, to []byte) []byte {
	t.Helper()
	fb, tb := byteRange(t, from), byteRange(t, to)
	if fb[2]-fb[1] != tb[2]-tb[1] {
		t.Fatal("placeholders of different sizes")
	}
	out := slices.Clone(to)
	copy(out[tb[1]:tb[2]], from[fb[1]:fb[2]])
	return out
}

func upperContents(t testing.TB, pdf []byte) []byte {
	t.Helper()
	br := byteRange(t, pdf)
	out := slices.Clone(pdf)
	copy(out[br[1]:br[2]], bytes.ToUpper(pdf[br[1]:br[2]]))
	return out
}

// qrRun matches the QR code in a page's content: Render draws it as a run of rectangles, filled
// one by one or as one path.
var qrRun = regexp.MustCompile(`(?m)(?:^[-\d. ]+ re(?: f)?\n){20,}(?:f\n)?`)

// swapQR returns pdf with page 1's QR code replaced by other's, as an incremental update of the
// page's content stream (before any signature).
func swapQR(t testing.TB, pdf, other []byte) []byte {
	t.Helper()
	num := pageContentObject(t, pdf)
	content := streamData(t, pdf, num)
	theirs := qrRun.Find(streamData(t, other, pageContentObject(t, other)))
	ours := qrRun.Find(content)
	if ours == nil || theirs == nil || bytes.Equal(ours, theirs) {
		t.Fatal("no QR code to swap")
	}
	content = bytes.Replace(content, ours, theirs, 1)
	z := deflate(content, zlib.BestCompression)
	body := append(fmt.Appendf(nil, "<</Filter /FlateDecode /Length %d>>\nstream\n", len(z)), append(z, "\nendstream"...)...)
	return appendUpdate(t, pdf, map[int][]byte{num: body})
}
