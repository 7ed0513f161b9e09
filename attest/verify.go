package attest

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/digitorus/pkcs7"
	"rsc.io/qr"
)

// Result is what Verify found. Valid is true when Reasons is empty.
type Result struct {
	Valid bool
	// Summary is the summary embedded in the signed part of the file, nil if there is none; it is
	// trustworthy only when Valid.
	Summary *Summary
	// Signer is the common name of the signer's certificate, as the signature claims it.
	Signer string
	// Reasons lists every check that failed, each one of the Reason constants, in the order below.
	Reasons []string
}

// The reasons Verify gives, one per failed check.
const (
	ReasonNotPDF = "the file is not a PDF that can be read"

	// The signature dictionary and its byte range (ISO 32000-1 §12.8.1).
	ReasonNoSignature       = "the document carries no signature"
	ReasonSeveralSignatures = "the document carries more than one signature"
	ReasonNotPAdES          = "the signature is not a PAdES signature (/SubFilter /ETSI.CAdES.detached)"
	ReasonByteRange         = "the signed byte range does not start at 0 and skip exactly the signature value"
	ReasonUnsignedBytes     = "bytes follow the signed range: the file was changed after signing"
	ReasonTruncated         = "the file ends before the signed range does: it was truncated"
	ReasonUpdateAfterSign   = "an incremental update was added after the signature"
	ReasonSigningTime       = "the signing time (/M) is missing, malformed or in the future"

	// The CMS (RFC 5652) and the certificate.
	ReasonCMS                = "the signature value is not a well-formed CMS signature by one signer over SHA-256"
	ReasonDigest             = "the signed digest is not the digest of the file: the signed bytes were changed"
	ReasonSignature          = "the signature does not verify with the signer's certificate"
	ReasonSigningCertificate = "the signed attributes do not name the signer's certificate (ESS signing-certificate-v2)"
	ReasonChain              = "the signer's certificate does not chain to a trusted authority, was not valid at the signing time, or may not sign"

	// The content.
	ReasonSummary         = "the signed part of the file holds no readable summary"
	ReasonSummaryUnsigned = "the summary a reader sees is not the signed one"
	ReasonQR              = "the QR code on page 1 is not the code of this attestation's verification link"
	ReasonFigures         = "the visible code or monthly figures differ from the signed summary"
)

// clockSkew is how far in the future a signing time may be: the signer's clock and ours differ.
const clockSkew = 5 * time.Minute

// Verify checks an attestation: its PAdES signature, the signer's certificate against trust at
// the signing time, and that what the pages show is what the signed summary says. It runs every
// check, whatever fails first, and lists all failures; now is the verifier's clock. The checks:
//
//   - the document has exactly one signature field with a value, /SubFilter /ETSI.CAdES.detached;
//   - its /ByteRange is [0 a b c] with a and b the offsets of the /Contents hex string's "<" and
//     just after its ">", and b+c the length of the file: nothing appended, nothing truncated;
//     bytes after the range that hold a cross-reference section are an incremental update;
//   - /Contents is lower-case hexadecimal of one DER CMS SignedData, then zeros only;
//   - the signer's message-digest attribute is SHA-256 of the byte range (compared as bytes);
//   - the signature over the signed attributes verifies with the signer's certificate, which the
//     ESS signing-certificate-v2 attribute names by its SHA-256 (RFC 5035);
//   - the certificate chains to trust at /M, the claimed signing time, which is not after now;
//   - the summary embedded in the signed revision (SummaryFromPDF) is the one the whole file shows;
//   - the QR code drawn on page 1, read module by module from the filled rectangles of the page's
//     content, is the QR of the verification link printed in the footer, which ends with the code;
//   - the page text (PageText) shows the code on page 1 and every month's row (MonthText).
//
// A signature is found through the last revision's form; if that has none, through the earlier
// revisions', so that an update that strips the form is still reported as an update.
func Verify(pdf []byte, trust *x509.CertPool, now time.Time) *Result {
	v := &verification{pdf: pdf, trust: trust, now: now, res: &Result{}}
	v.run()
	v.res.Valid = len(v.res.Reasons) == 0
	return v.res
}

type verification struct {
	pdf   []byte
	trust *x509.CertPool
	now   time.Time
	res   *Result
	// signedEnd is where the signed range ends (b+c), len(pdf) when unknown.
	signedEnd int
}

func (v *verification) fail(reason string) {
	for _, r := range v.res.Reasons {
		if r == reason {
			return
		}
	}
	v.res.Reasons = append(v.res.Reasons, reason)
}

func (v *verification) run() {
	v.signedEnd = len(v.pdf)
	r, err := openPDF(v.pdf)
	if err != nil {
		v.fail(ReasonNotPDF)
		return
	}
	sigs, sr := v.findSignatures(r)
	switch {
	case len(sigs) == 0:
		v.fail(ReasonNoSignature)
	case len(sigs) > 1:
		v.fail(ReasonSeveralSignatures)
	default:
		v.checkSignature(sr, sigs[0])
	}
	v.checkContent()
}

// findSignatures returns the signature dictionaries of the newest revision that has any, and the
// reader of that revision.
func (v *verification) findSignatures(r *pdfReader) ([]*pdfDict, *pdfReader) {
	sigs := signaturesOf(r)
	for i := 1; len(sigs) == 0 && i < len(r.sections); i++ {
		// Revision i ends with the first %%EOF after its cross-reference section.
		eof := bytes.Index(v.pdf[r.sections[i]:], []byte("%%EOF"))
		if eof < 0 {
			break
		}
		older, err := openPDF(v.pdf[:r.sections[i]+eof+len("%%EOF")])
		if err != nil {
			break
		}
		if sigs = signaturesOf(older); len(sigs) > 0 {
			r = older
		}
	}
	return sigs, r
}

// signaturesOf walks the form's field tree (ISO 32000-1 §12.7.3) for signature fields with a
// value. Signatures are told apart by their dictionary's place in the file.
func signaturesOf(r *pdfReader) []*pdfDict {
	root, _ := r.trailer.get("Root")
	cat, err := r.dictOf(root)
	if err != nil {
		return nil
	}
	af, ok := cat.get("AcroForm")
	if !ok {
		return nil
	}
	form, err := r.dictOf(af)
	if err != nil {
		return nil
	}
	fv, _ := form.get("Fields")
	fv, _ = r.resolve(fv)
	fields, _ := fv.(pdfArray)
	var sigs []*pdfDict
	seen := map[int]bool{}
	visited := 0
	var walk func(fields pdfArray, ft pdfName, depth int)
	walk = func(fields pdfArray, ft pdfName, depth int) {
		for _, f := range fields {
			if visited++; visited > 1000 || depth > maxNesting {
				return
			}
			d, err := r.dictOf(f)
			if err != nil {
				continue
			}
			t := ft
			if n := d.name("FT"); n != "" {
				t = n
			}
			if kv, ok := d.get("Kids"); ok {
				kv, _ = r.resolve(kv)
				kids, _ := kv.(pdfArray)
				walk(kids, t, depth+1)
			}
			sv, ok := d.get("V")
			if t != "Sig" || !ok || sv == nil {
				continue
			}
			sig, err := r.dictOf(sv)
			if err != nil || seen[sig.start] {
				continue
			}
			seen[sig.start] = true
			sigs = append(sigs, sig)
		}
	}
	walk(fields, "", 0)
	return sigs
}

// checkSignature runs the byte range, CMS and certificate checks on the one signature.
func (v *verification) checkSignature(r *pdfReader, sig *pdfDict) {
	pdf := v.pdf
	if sig.name("SubFilter") != "ETSI.CAdES.detached" || sig.name("Filter") != "Adobe.PPKLite" {
		v.fail(ReasonNotPAdES)
	}

	// The byte range.
	contents, hasContents := sig.spans["Contents"]
	brv, _ := sig.get("ByteRange")
	br, _ := brv.(pdfArray)
	var n [4]int
	ok := hasContents && len(br) == 4
	for i := 0; ok && i < 4; i++ {
		x, isInt := br[i].(int64)
		ok = isInt && x >= 0 && x <= 1<<40
		n[i] = int(x)
	}
	if !ok || n[0] != 0 || n[1] != contents.start || n[2] != contents.end {
		v.fail(ReasonByteRange)
		return
	}
	end := n[2] + n[3]
	switch {
	case end > len(pdf):
		v.fail(ReasonTruncated)
	case end < len(pdf):
		v.fail(ReasonUnsignedBytes)
		v.signedEnd = end
		if after := pdf[end:]; bytes.Contains(after, []byte("startxref")) || bytes.Contains(after, []byte("trailer")) || bytes.Contains(after, []byte("xref")) {
			v.fail(ReasonUpdateAfterSign)
		}
	}
	// Revisions after the signature's are updates, whatever the byte range says.
	if r != nil && len(r.data) < len(pdf) {
		v.fail(ReasonUpdateAfterSign)
	}
	signed := make([]byte, 0, len(pdf))
	signed = append(signed, pdf[:n[1]]...)
	signed = append(signed, pdf[n[2]:min(end, len(pdf))]...)

	// The claimed signing time.
	at, err := parsePDFDate(sig)
	if err != nil || at.After(v.now.Add(clockSkew)) {
		v.fail(ReasonSigningTime)
		at = v.now
	}

	// The CMS.
	p7, err := parseCMS(pdf[contents.start:contents.end])
	if err != nil {
		v.fail(ReasonCMS)
		return
	}
	si := p7.Signers[0]
	leaf := p7.GetOnlySigner()
	if leaf == nil || !si.DigestAlgorithm.Algorithm.Equal(pkcs7.OIDDigestAlgorithmSHA256) {
		v.fail(ReasonCMS)
		return
	}
	v.res.Signer = leaf.Subject.CommonName
	var contentType asn1.ObjectIdentifier
	if err := p7.UnmarshalSignedAttribute(pkcs7.OIDAttributeContentType, &contentType); err != nil || !contentType.Equal(pkcs7.OIDData) {
		v.fail(ReasonCMS)
	}

	var digest []byte
	sum := sha256.Sum256(signed)
	if err := p7.UnmarshalSignedAttribute(pkcs7.OIDAttributeMessageDigest, &digest); err != nil || subtle.ConstantTimeCompare(digest, sum[:]) != 1 {
		v.fail(ReasonDigest)
	}

	attrs, err := signedAttributesDER(si.AuthenticatedAttributes)
	alg := signatureAlgorithm(si.DigestEncryptionAlgorithm.Algorithm)
	if err != nil || alg == x509.UnknownSignatureAlgorithm || leaf.CheckSignature(alg, attrs, si.EncryptedDigest) != nil {
		v.fail(ReasonSignature)
	}

	var ess signingCertificateV2Value
	if err := p7.UnmarshalSignedAttribute(oidSigningCertificateV2, &ess); err != nil || !essNames(ess, leaf) {
		v.fail(ReasonSigningCertificate)
	}

	if !v.chains(leaf, p7.Certificates, at) {
		v.fail(ReasonChain)
	}
}

// parseCMS reads a /Contents hex string: "<", lower-case hexadecimal digits (no other spelling of
// the same bytes is accepted), ">"; the digits are one DER ContentInfo then zero bytes, the room
// left in the placeholder.
func parseCMS(raw []byte) (p7 *pkcs7.PKCS7, err error) {
	if len(raw) < 2 || raw[0] != '<' || raw[len(raw)-1] != '>' || len(raw)%2 != 0 {
		return nil, errors.New("not a hex string")
	}
	for _, c := range raw[1 : len(raw)-1] {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return nil, errors.New("not lower-case hexadecimal")
		}
	}
	b := make([]byte, (len(raw)-2)/2)
	if _, err := hex.Decode(b, raw[1:len(raw)-1]); err != nil {
		return nil, err
	}
	var outer asn1.RawValue
	rest, err := asn1.Unmarshal(b, &outer)
	if err != nil {
		return nil, err
	}
	for _, c := range rest {
		if c != 0 {
			return nil, errors.New("bytes after the CMS")
		}
	}
	if err := checkDER(outer.FullBytes, 0); err != nil {
		return nil, err
	}
	// pkcs7 converts BER to DER with its own parser; what reaches it was checked to be DER above,
	// and a failure of that parser on hostile input is a failed check, not a crash.
	defer func() {
		if recover() != nil {
			p7, err = nil, errors.New("unreadable CMS")
		}
	}()
	p7, err = pkcs7.Parse(outer.FullBytes)
	if err != nil {
		return nil, err
	}
	if len(p7.Signers) != 1 {
		return nil, errors.New("not one signer")
	}
	return p7, nil
}

// checkDER walks the TLVs of der: encoding/asn1 refuses indefinite and non-minimal lengths, so
// every length in the CMS has its one DER form.
func checkDER(der []byte, depth int) error {
	if depth > 64 {
		return errors.New("ASN.1 nested too deep")
	}
	for len(der) > 0 {
		var v asn1.RawValue
		rest, err := asn1.Unmarshal(der, &v)
		if err != nil {
			return err
		}
		if v.IsCompound {
			if err := checkDER(v.Bytes, depth+1); err != nil {
				return err
			}
		}
		der = rest
	}
	return nil
}

// signatureAlgorithm maps the SignerInfo's signatureAlgorithm, with SHA-256 as the digest, to Go's.
func signatureAlgorithm(oid asn1.ObjectIdentifier) x509.SignatureAlgorithm {
	switch {
	case oid.Equal(pkcs7.OIDDigestAlgorithmECDSASHA256):
		return x509.ECDSAWithSHA256
	case oid.Equal(pkcs7.OIDEncryptionAlgorithmRSASHA256), oid.Equal(pkcs7.OIDEncryptionAlgorithmRSA):
		return x509.SHA256WithRSA
	}
	return x509.UnknownSignatureAlgorithm
}

// essNames reports whether the signing-certificate-v2 attribute's first ESSCertIDv2 is leaf's:
// SHA-256 (the default, or named), its hash, and if present its issuer and serial number.
func essNames(ess signingCertificateV2Value, leaf *x509.Certificate) bool {
	if len(ess.Certs) == 0 {
		return false
	}
	id := ess.Certs[0]
	if alg := id.HashAlgorithm.Algorithm; len(alg) > 0 && !alg.Equal(pkcs7.OIDDigestAlgorithmSHA256) {
		return false
	}
	h := sha256.Sum256(leaf.Raw)
	if !bytes.Equal(id.CertHash, h[:]) {
		return false
	}
	is := id.IssuerSerial
	if is.Serial == nil {
		return true
	}
	return is.Serial.Cmp(leaf.SerialNumber) == 0 && len(is.Issuer) == 1 &&
		is.Issuer[0].Class == asn1.ClassContextSpecific && is.Issuer[0].Tag == 4 &&
		bytes.Equal(is.Issuer[0].Bytes, leaf.RawIssuer)
}

// chains reports whether leaf chains to trust at t through the CMS's certificates, and may sign
// documents (digitalSignature or nonRepudiation).
func (v *verification) chains(leaf *x509.Certificate, certs []*x509.Certificate, t time.Time) bool {
	if v.trust == nil || leaf.KeyUsage&(x509.KeyUsageDigitalSignature|x509.KeyUsageContentCommitment) == 0 {
		return false
	}
	inter := x509.NewCertPool()
	for _, c := range certs {
		if c != leaf {
			inter.AddCert(c)
		}
	}
	_, err := leaf.Verify(x509.VerifyOptions{
		Roots:         v.trust,
		Intermediates: inter,
		CurrentTime:   t,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	})
	return err == nil
}

// parsePDFDate reads the signature's /M: D:YYYYMMDDHHmmSS then Z, or +HH'mm' or -HH'mm' (ISO
// 32000-1 §7.9.4); the full precision is required.
func parsePDFDate(sig *pdfDict) (time.Time, error) {
	mv, _ := sig.get("M")
	m, ok := mv.(pdfString)
	if !ok || len(m) < 17 || !bytes.HasPrefix(m, []byte("D:")) {
		return time.Time{}, errors.New("no /M")
	}
	t, err := time.Parse("20060102150405", string(m[2:16]))
	if err != nil {
		return time.Time{}, err
	}
	tz := string(m[16:])
	switch {
	case tz == "Z" || tz == "Z00'00'" || tz == "Z00'00":
		return t, nil
	case len(tz) >= 6 && (tz[0] == '+' || tz[0] == '-') && tz[3] == '\'':
		h, err1 := strconv.Atoi(tz[1:3])
		mi, err2 := strconv.Atoi(strings.TrimSuffix(tz[4:], "'"))
		if err1 != nil || err2 != nil || h > 23 || mi > 59 {
			return time.Time{}, errors.New("bad /M time zone")
		}
		off := time.Duration(h)*time.Hour + time.Duration(mi)*time.Minute
		if tz[0] == '+' {
			off = -off
		}
		return t.Add(off), nil
	}
	return time.Time{}, errors.New("bad /M time zone")
}

// checkContent compares what the file shows with its signed summary.
func (v *verification) checkContent() {
	s, err := SummaryFromPDF(v.pdf[:v.signedEnd])
	if err != nil || s == nil {
		v.fail(ReasonSummary)
		// Without the summary there is nothing to compare the pages with.
		v.fail(ReasonFigures)
		return
	}
	v.res.Summary = s
	if v.signedEnd != len(v.pdf) {
		if shown, err := SummaryFromPDF(v.pdf); err != nil || !reflect.DeepEqual(shown, s) {
			v.fail(ReasonSummaryUnsigned)
		}
	}

	pages, err := PageText(v.pdf)
	if err != nil || len(pages) == 0 {
		v.fail(ReasonQR)
		v.fail(ReasonFigures)
		return
	}
	if !v.qrMatches(pages[0], s.Code) {
		v.fail(ReasonQR)
	}
	if !figuresShown(pages, s) {
		v.fail(ReasonFigures)
	}
}

// figuresShown reports whether page 1 shows the code and some page each month's row.
func figuresShown(pages []string, s *Summary) bool {
	if s.Code == "" || !strings.Contains(pages[0], s.Code) {
		return false
	}
	lines := map[string]bool{}
	for _, p := range pages {
		for _, l := range strings.Split(p, "\n") {
			lines[strings.TrimSpace(l)] = true
		}
	}
	for _, m := range s.Months {
		if !lines[MonthText(m)] {
			return false
		}
	}
	return true
}

// Footer text around the verification link, as Render prints it.
const (
	linkBefore = "Vérifiez ce document sur "
	linkAfter  = " ou avec amane verify."
)

// qrMatches reads the verification link from page 1's footer, checks that it is the code's, and
// compares the QR code drawn on page 1 with the link's, as Render encodes it (rsc.io/qr, level M).
func (v *verification) qrMatches(page1, code string) bool {
	i := strings.Index(page1, linkBefore)
	if i < 0 {
		return false
	}
	link := page1[i+len(linkBefore):]
	j := strings.Index(link, linkAfter)
	if j < 0 {
		return false
	}
	link = link[:j]
	if code == "" || !strings.HasSuffix(link, "/"+code) {
		return false
	}
	want, err := qr.Encode(link, qr.M)
	if err != nil {
		return false
	}
	r, err := openPDF(v.pdf)
	if err != nil {
		return false
	}
	paints, err := pagePaints(r)
	if err != nil {
		return false
	}
	return drawnQRIs(paints, want)
}

// The QR check reads page 1's content stream (ISO 32000-1 §8.2) for what covers the page where the
// QR code is: filled rectangles, dark or light by the fill colour, and images or forms, which are
// neither and so never match. Text and stroked lines are not painted areas here.

type paintKind int

const (
	paintLight paintKind = iota
	paintDark
	paintOther // an image or a form XObject: not a QR module
)

// paint is an axis-aligned box in default user space (points, y up) covered by a paint operation.
type paint struct {
	x0, y0, x1, y1 float64
	kind           paintKind
}

// matrix is a PDF transformation matrix [a b c d e f].
type matrix [6]float64

var identity = matrix{1, 0, 0, 1, 0, 0}

func (m matrix) times(n matrix) matrix { // m then n
	return matrix{
		m[0]*n[0] + m[1]*n[2], m[0]*n[1] + m[1]*n[3],
		m[2]*n[0] + m[3]*n[2], m[2]*n[1] + m[3]*n[3],
		m[4]*n[0] + m[5]*n[2] + n[4], m[4]*n[1] + m[5]*n[3] + n[5],
	}
}

func (m matrix) apply(x, y float64) (float64, float64) {
	return m[0]*x + m[2]*y + m[4], m[1]*x + m[3]*y + m[5]
}

// box returns the bounding box of the rectangle (x, y, w, h) under m.
func (m matrix) box(x, y, w, h float64, kind paintKind) paint {
	p := paint{x0: 1e308, y0: 1e308, x1: -1e308, y1: -1e308, kind: kind}
	for _, c := range [4][2]float64{{x, y}, {x + w, y}, {x, y + h}, {x + w, y + h}} {
		px, py := m.apply(c[0], c[1])
		p.x0, p.x1 = min(p.x0, px), max(p.x1, px)
		p.y0, p.y1 = min(p.y0, py), max(p.y1, py)
	}
	return p
}

// maxContent bounds a page's decoded content.
const maxContent = 16 << 20

// pagePaints returns the areas page 1's content paints, in painting order.
func pagePaints(r *pdfReader) ([]paint, error) {
	root, _ := r.trailer.get("Root")
	cat, err := r.dictOf(root)
	if err != nil {
		return nil, err
	}
	ref, err := r.firstPage(cat)
	if err != nil {
		return nil, err
	}
	page, err := r.dictObject(ref)
	if err != nil {
		return nil, err
	}
	var content []byte
	cv, _ := page.get("Contents")
	cv, err = r.resolve(cv)
	if err != nil {
		return nil, err
	}
	parts, isArray := cv.(pdfArray)
	if !isArray {
		parts = pdfArray{cv}
	}
	for _, p := range parts {
		p, err := r.resolve(p)
		if err != nil {
			return nil, err
		}
		s, ok := p.(*pdfStream)
		if !ok {
			return nil, pdfErr("page content is not a stream")
		}
		data, err := r.streamData(s, maxContent-len(content))
		if err != nil {
			return nil, err
		}
		content = append(append(content, data...), '\n')
	}
	xobjects := map[string]pdfName{} // name → /Subtype
	if res, err := r.dictOf(page.entries["Resources"]); err == nil {
		if xo, err := r.dictOf(res.entries["XObject"]); err == nil {
			for name, x := range xo.entries {
				if d, err := r.dictOf(x); err == nil {
					xobjects[name] = d.name("Subtype")
				}
			}
		}
	}
	return contentPaints(content, xobjects)
}

// contentPaints interprets a content stream's painting of areas.
func contentPaints(content []byte, xobjects map[string]pdfName) ([]paint, error) {
	type state struct {
		ctm  matrix
		dark bool
	}
	gs := state{ctm: identity, dark: true} // the initial fill colour is black (§8.4.1)
	var stack []state
	var operands []any
	var path []paint
	var paints []paint
	nums := func(n int) ([]float64, bool) {
		if len(operands) < n {
			return nil, false
		}
		out := make([]float64, n)
		for i, o := range operands[len(operands)-n:] {
			switch o := o.(type) {
			case int64:
				out[i] = float64(o)
			case float64:
				out[i] = o
			default:
				return nil, false
			}
		}
		return out, true
	}
	// dark reports whether a colour's luminance is under one half.
	dark := func(c []float64) bool {
		switch len(c) {
		case 1:
			return c[0] < 0.5
		case 3:
			return 0.299*c[0]+0.587*c[1]+0.114*c[2] < 0.5
		case 4: // CMYK
			k := 1 - c[3]
			return 0.299*(1-c[0])*k+0.587*(1-c[1])*k+0.114*(1-c[2])*k < 0.5
		}
		return true
	}
	l := &lexer{data: content}
	for ops := 0; ; ops++ {
		if ops > 1<<22 || len(stack) > 256 {
			return nil, errors.New("content stream too complex")
		}
		l.skipSpace()
		if l.pos >= len(content) {
			return paints, nil
		}
		c := content[l.pos]
		if c == '(' || c == '<' || c == '[' || c == '/' || c == '+' || c == '-' || c == '.' || ('0' <= c && c <= '9') {
			o, err := l.value(0)
			if err != nil {
				return nil, err
			}
			operands = append(operands, o)
			continue
		}
		op := l.keyword()
		if op == "" {
			return nil, errors.New("unexpected delimiter in content")
		}
		switch op {
		case "q":
			stack = append(stack, gs)
		case "Q":
			if len(stack) > 0 {
				gs, stack = stack[len(stack)-1], stack[:len(stack)-1]
			}
		case "cm":
			if n, ok := nums(6); ok {
				gs.ctm = matrix(n).times(gs.ctm)
			}
		case "g", "rg", "k", "sc", "scn":
			var n []float64
			for k := min(len(operands), 4); k > 0 && n == nil; k-- {
				n, _ = nums(k)
			}
			gs.dark = dark(n)
		case "cs":
			gs.dark = true // a new colour space starts at its initial colour, black for the usual ones
		case "re":
			if n, ok := nums(4); ok {
				path = append(path, gs.ctm.box(n[0], n[1], n[2], n[3], paintLight))
			}
		case "f", "F", "f*", "B", "B*", "b", "b*":
			kind := paintLight
			if gs.dark {
				kind = paintDark
			}
			for _, p := range path {
				p.kind = kind
				paints = append(paints, p)
			}
			path = path[:0]
		case "S", "s", "n":
			path = path[:0]
		case "Do":
			if len(operands) > 0 {
				name, _ := operands[len(operands)-1].(pdfName)
				if xobjects[string(name)] == "Image" {
					paints = append(paints, gs.ctm.box(0, 0, 1, 1, paintOther))
				} else {
					// A form may draw anything anywhere: it covers the page.
					paints = append(paints, paint{-1e308, -1e308, 1e308, 1e308, paintOther})
				}
			}
		case "BI": // an inline image: skip its data to "EI"
			i := bytes.Index(content[l.pos:], []byte("EI"))
			if i < 0 {
				return nil, errors.New("inline image without EI")
			}
			l.pos += i + 2
			paints = append(paints, gs.ctm.box(0, 0, 1, 1, paintOther))
		}
		operands = operands[:0]
	}
}

// drawnQRIs reports whether the paints show want's modules, quiet zone included (4 modules, ISO/IEC
// 18004 §6.3.8). The code's origin and module size come from its top-left finder pattern: the
// topmost, then leftmost, dark rectangle is the first run of row 0, seven modules wide.
func drawnQRIs(paints []paint, want *qr.Code) bool {
	var first *paint
	for i := range paints {
		p := &paints[i]
		if p.kind != paintDark {
			continue
		}
		if first == nil || p.y1 > first.y1+0.01 || (p.y1 > first.y1-0.01 && p.x0 < first.x0) {
			first = p
		}
	}
	if first == nil {
		return false
	}
	m := (first.x1 - first.x0) / 7
	// Written so that NaN fails: a hostile matrix can make one.
	if h := first.y1 - first.y0; !(m >= 0.5 && m <= 100 && h >= 0.8*m && h <= 1.2*m && math.Abs(first.x0) < 1e6 && math.Abs(first.y1) < 1e6) {
		return false
	}
	x0, top := first.x0, first.y1
	// Rasterize at module resolution: each paint sets the modules whose centres it covers, later
	// paints over earlier ones. Module (i, j), quiet zone included, is cell (i+4, j+4).
	n := want.Size
	side := n + 8
	grid := make([]paintKind, side*side) // paintLight: the page is white
	for _, p := range paints {
		// Centre of module i: x0 + (i+0.5)·m; of row j: top − (j+0.5)·m.
		iLo, iHi := math.Ceil((p.x0-x0)/m-0.5), math.Floor((p.x1-x0)/m-0.5)
		jLo, jHi := math.Ceil((top-p.y1)/m-0.5), math.Floor((top-p.y0)/m-0.5)
		if math.IsNaN(iLo) || math.IsNaN(iHi) || math.IsNaN(jLo) || math.IsNaN(jHi) {
			return false
		}
		// Clamped to the grid (and one past it) before any conversion to int.
		clamp := func(v float64) int { return int(min(max(v, -5), float64(n+4))) }
		for j := max(clamp(jLo), -4); j <= min(clamp(jHi), n+3); j++ {
			for i := max(clamp(iLo), -4); i <= min(clamp(iHi), n+3); i++ {
				grid[(j+4)*side+i+4] = p.kind
			}
		}
	}
	for j := -4; j < n+4; j++ {
		for i := -4; i < n+4; i++ {
			if k := grid[(j+4)*side+i+4]; k == paintOther || (k == paintDark) != want.Black(i, j) {
				return false
			}
		}
	}
	return true
}
