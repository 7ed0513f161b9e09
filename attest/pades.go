package attest

// PAdES baseline B-B signing (ETSI EN 319 142-1 §6.3) of the PDF files Render writes.
//
// The signature is an incremental update (ISO 32000-1 §7.5.6) appended to the unsigned file, which
// is left byte for byte as it was:
//
//	<catalog> 0 obj   the catalog again, plus /AcroForm << /Fields [<field> 0 R] /SigFlags 3 >>
//	<page 1> 0 obj    page 1 again, plus the field's widget in /Annots
//	<sig> 0 obj       << /Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached
//	                     /M (D:YYYYMMDDHHmmSS+00'00') /ByteRange [0 a b c] /Contents <CMS, hex> >>
//	<field> 0 obj     the signature field merged with its widget: /FT /Sig /V <sig> 0 R,
//	                  invisible (/Rect [0 0 0 0]), printed and locked (/F 132), on page 1
//	xref              a section for these four objects, then a trailer with /Prev
//
// The byte range [0 a b c] covers the whole file but the /Contents hex string, delimiters
// included: a is the offset of "<", b the offset just after ">", b+c the length of the file.
//
// The CMS (RFC 5652) is a detached SignedData over SHA-256 of the byte range, with the signed
// attributes PAdES B-B asks for: content-type, message-digest and ESS signing-certificate-v2
// (RFC 5035), which binds the signer's certificate to the signature so that it cannot be swapped
// for another one with the same key. There is no signing-time attribute: EN 319 142-1 forbids it,
// the claimed signing time is the dictionary's /M. The certificate chain is included.

import (
	"bytes"
	"compress/zlib"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/digitorus/pkcs7"
)

// oidSigningCertificateV2 is id-aa-signingCertificateV2 (RFC 5035 §3).
var oidSigningCertificateV2 = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 47}

// Signer signs attestations with one key and its certificate chain. It is safe for concurrent use
// if its key is (Go's RSA and ECDSA keys and crypto11's are).
type Signer struct {
	chain []*x509.Certificate // the signer's certificate, then its issuers
	key   crypto.Signer
	ess   []byte // the DER SigningCertificateV2 value, the same for every signature
	// reserve is how many bytes of /Contents the CMS may take: the certificates, a signature of the
	// key's size and the attributes, with room to spare.
	reserve     int
	placeholder []byte // "<", 2·reserve zeros, ">"
	err         error  // a NewSigner problem, returned by Sign
}

// NewSigner returns a Signer for a key and its certificate chain (the signer's certificate first,
// then each issuer). The key may live anywhere a crypto.Signer reaches, an HSM through crypto11
// included; it must be RSA or ECDSA and match chain[0]. A bad chain or key is reported by Sign.
func NewSigner(chain []*x509.Certificate, key crypto.Signer) *Signer {
	s := &Signer{chain: chain, key: key}
	s.err = s.check()
	if s.err == nil {
		s.ess, s.err = signingCertificateV2(chain[0])
	}
	if s.err == nil {
		s.reserve = 2048
		for _, c := range chain {
			s.reserve += len(c.Raw)
		}
		s.placeholder = []byte("<" + strings.Repeat("0", 2*s.reserve) + ">")
	}
	return s
}

func (s *Signer) check() error {
	if len(s.chain) == 0 {
		return errors.New("attest: no signing certificate")
	}
	if s.key == nil {
		return errors.New("attest: no signing key")
	}
	switch s.key.Public().(type) {
	case *rsa.PublicKey, *ecdsa.PublicKey:
	default:
		return fmt.Errorf("attest: signing key type %T: RSA or ECDSA expected", s.key.Public())
	}
	pub, ok := s.key.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(s.chain[0].PublicKey) {
		return errors.New("attest: the signing key is not the certificate's")
	}
	for i := 0; i+1 < len(s.chain); i++ {
		if err := s.chain[i].CheckSignatureFrom(s.chain[i+1]); err != nil {
			return fmt.Errorf("attest: certificate %d of the chain is not issued by the next one: %w", i+1, err)
		}
	}
	return nil
}

// Certificate returns the signer's certificate.
func (s *Signer) Certificate() *x509.Certificate {
	if len(s.chain) == 0 {
		return nil
	}
	return s.chain[0]
}

// essCertIDv2 and the types below are RFC 5035's. Sign leaves hashAlgorithm out: SHA-256 is its
// DEFAULT, and DER forbids writing a default value.
type essCertIDv2 struct {
	HashAlgorithm pkix.AlgorithmIdentifier `asn1:"optional"`
	CertHash      []byte
	IssuerSerial  essIssuerSerial `asn1:"optional"`
}

type essIssuerSerial struct {
	Issuer []asn1.RawValue // GeneralNames, one directoryName
	Serial *big.Int
}

type signingCertificateV2Value struct {
	Certs []essCertIDv2
}

func signingCertificateV2(cert *x509.Certificate) ([]byte, error) {
	h := sha256.Sum256(cert.Raw)
	return asn1.Marshal(signingCertificateV2Value{Certs: []essCertIDv2{{
		CertHash: h[:],
		IssuerSerial: essIssuerSerial{
			// directoryName [4] EXPLICIT Name
			Issuer: []asn1.RawValue{{Class: asn1.ClassContextSpecific, Tag: 4, IsCompound: true, Bytes: cert.RawIssuer}},
			Serial: cert.SerialNumber,
		},
	}}})
}

// Sign returns pdf signed at the claimed time at (written as /M): pdf unchanged, then an
// incremental update holding the signature (see the file's comment). pdf must have a classic
// cross-reference table, as fpdf writes, no form and no encryption.
func (s *Signer) Sign(pdf []byte, at time.Time) ([]byte, error) {
	if s.err != nil {
		return nil, s.err
	}
	r, err := openPDF(pdf)
	if err != nil {
		return nil, err
	}
	if _, ok := r.trailer.get("Encrypt"); ok {
		return nil, errors.New("attest: cannot sign an encrypted PDF")
	}
	rootRef, ok := r.trailer.ref("Root")
	if !ok {
		return nil, errors.New("attest: PDF trailer without /Root")
	}
	size, ok := r.trailer.int("Size")
	if !ok || size < 1 {
		return nil, errors.New("attest: PDF trailer without /Size")
	}
	cat, err := r.dictObject(rootRef)
	if err != nil {
		return nil, fmt.Errorf("attest: PDF catalog: %w", err)
	}
	if _, ok := cat.get("AcroForm"); ok {
		return nil, errors.New("attest: the PDF already has a form: it is signed or not Render's")
	}
	pageRef, err := r.firstPage(cat)
	if err != nil {
		return nil, err
	}
	page, err := r.dictObject(pageRef)
	if err != nil {
		return nil, fmt.Errorf("attest: PDF page 1: %w", err)
	}
	sigNum, fieldNum := size, size+1

	out := bytes.NewBuffer(make([]byte, 0, len(pdf)+2*s.reserve+1024))
	out.Write(pdf)
	if len(pdf) > 0 && pdf[len(pdf)-1] != '\n' && pdf[len(pdf)-1] != '\r' {
		out.WriteByte('\n')
	}
	offsets := map[int]int{}

	// The catalog, with the form.
	offsets[rootRef.num] = out.Len()
	fmt.Fprintf(out, "%d %d obj\n", rootRef.num, rootRef.gen)
	out.Write(pdf[cat.start : cat.end-2])
	fmt.Fprintf(out, " /AcroForm <</Fields [%d 0 R] /SigFlags 3>>>>\nendobj\n", fieldNum)

	// Page 1, with the widget.
	offsets[pageRef.num] = out.Len()
	fmt.Fprintf(out, "%d %d obj\n", pageRef.num, pageRef.gen)
	if sp, ok := page.spans["Annots"]; ok {
		if _, isArray := page.entries["Annots"].(pdfArray); !isArray {
			return nil, errors.New("attest: page 1's /Annots is not a direct array")
		}
		out.Write(pdf[page.start : sp.end-1])
		fmt.Fprintf(out, " %d 0 R]", fieldNum)
		out.Write(pdf[sp.end:page.end])
	} else {
		out.Write(pdf[page.start : page.end-2])
		fmt.Fprintf(out, " /Annots [%d 0 R]>>", fieldNum)
	}
	out.WriteString("\nendobj\n")

	// The signature dictionary, with placeholders for the byte range and the CMS.
	offsets[sigNum] = out.Len()
	fmt.Fprintf(out, "%d 0 obj\n<</Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached /M (%s)",
		sigNum, pdfDate(at))
	out.WriteString(" /ByteRange ")
	byteRangeAt := out.Len()
	out.WriteString(byteRangePlaceholder)
	out.WriteString(" /Contents ")
	a := out.Len()
	out.Write(s.placeholder)
	b := out.Len()
	out.WriteString(">>\nendobj\n")

	offsets[fieldNum] = out.Len()
	fmt.Fprintf(out, "%d 0 obj\n<</Type /Annot /Subtype /Widget /FT /Sig /T (Signature Amane) /V %d 0 R /F 132 /Rect [0 0 0 0] /P %d %d R>>\nendobj\n",
		fieldNum, sigNum, pageRef.num, pageRef.gen)

	// The cross-reference section and the trailer.
	xrefAt := out.Len()
	writeXref(out, offsets, map[int]int{rootRef.num: rootRef.gen, pageRef.num: pageRef.gen})
	fmt.Fprintf(out, "trailer\n<</Size %d /Root %d %d R", max(size, fieldNum+1), rootRef.num, rootRef.gen)
	for _, key := range []string{"Info", "ID"} {
		if sp, ok := r.trailer.spans[key]; ok {
			fmt.Fprintf(out, " /%s %s", key, pdf[sp.start:sp.end])
		}
	}
	fmt.Fprintf(out, " /Prev %d>>\nstartxref\n%d\n%%%%EOF\n", r.startxref, xrefAt)

	signed := out.Bytes()
	br := fmt.Sprintf("[0 %d %d %d]", a, b, len(signed)-b)
	if len(br) > len(byteRangePlaceholder) {
		return nil, errors.New("attest: PDF too large to sign")
	}
	copy(signed[byteRangeAt:], br+strings.Repeat(" ", len(byteRangePlaceholder)-len(br)))

	h := sha256.New()
	h.Write(signed[:a])
	h.Write(signed[b:])
	cms, err := s.cms(h.Sum(nil))
	if err != nil {
		return nil, err
	}
	if len(cms) > s.reserve {
		return nil, fmt.Errorf("attest: the CMS (%d bytes) is larger than the space reserved (%d)", len(cms), s.reserve)
	}
	hex.Encode(signed[a+1:], cms)
	return signed, nil
}

// byteRangePlaceholder is as wide as the widest byte range Sign writes (offsets below 10 GB); the
// numbers are padded with spaces after the "]".
const byteRangePlaceholder = "[0 0000000000 0000000000 0000000000]"

// pdfDate formats t as a PDF date (ISO 32000-1 §7.9.4), in UTC.
func pdfDate(t time.Time) string {
	return "D:" + t.UTC().Format("20060102150405") + "+00'00'"
}

// writeXref writes a cross-reference section for the objects at offsets (generation 0 unless
// gens says otherwise), in subsections of consecutive numbers.
func writeXref(out *bytes.Buffer, offsets, gens map[int]int) {
	nums := make([]int, 0, len(offsets))
	for n := range offsets {
		nums = append(nums, n)
	}
	slices.Sort(nums)
	out.WriteString("xref\n")
	for i := 0; i < len(nums); {
		j := i + 1
		for j < len(nums) && nums[j] == nums[j-1]+1 {
			j++
		}
		fmt.Fprintf(out, "%d %d\n", nums[i], j-i)
		for _, n := range nums[i:j] {
			fmt.Fprintf(out, "%010d %05d n \n", offsets[n], gens[n]) // 20 bytes an entry, §7.5.4
		}
		i = j
	}
}

// cms returns the DER CMS SignedData, detached, for content of SHA-256 digest.
//
// pkcs7 builds the structure, given no content: it would copy the whole file into an OCTET STRING
// only to drop it (Detach), and hash it again. It also always adds a signing-time, which EN 319
// 142-1 §6.3 forbids in a PAdES baseline signature. So the SignerInfo it builds gets a stand-in for
// the key, its signing-time is dropped, its message-digest set to digest, and the attributes are
// signed here, once, with the real key.
func (s *Signer) cms(digest []byte) ([]byte, error) {
	sd, err := pkcs7.NewSignedData(nil)
	if err != nil {
		return nil, err
	}
	sd.SetDigestAlgorithm(pkcs7.OIDDigestAlgorithmSHA256)
	// AddSigner, not AddSignerChain, which would check the chain's signatures on every call:
	// NewSigner did. The issuer and serial number it writes are the certificate's own.
	err = sd.AddSigner(s.chain[0], publicOnly{s.key.Public()}, pkcs7.SignerInfoConfig{
		ExtraSignedAttributes: []pkcs7.Attribute{{Type: oidSigningCertificateV2, Value: asn1.RawValue{FullBytes: s.ess}}},
	})
	if err != nil {
		return nil, err
	}
	for _, c := range s.chain[1:] {
		sd.AddCertificate(c)
	}
	md, err := asn1.Marshal(digest)
	if err != nil {
		return nil, err
	}
	si := &sd.GetSignedData().SignerInfos[0]
	kept := si.AuthenticatedAttributes[:0]
	for _, a := range si.AuthenticatedAttributes {
		switch {
		case a.Type.Equal(pkcs7.OIDAttributeSigningTime):
			continue
		case a.Type.Equal(pkcs7.OIDAttributeMessageDigest):
			// As long as the digest of nothing it replaces: every attribute's encoding keeps
			// its place in the DER order of the SET OF.
			a.Value = asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSet, IsCompound: true, Bytes: md}
		}
		kept = append(kept, a)
	}
	si.AuthenticatedAttributes = kept
	attrs, err := signedAttributesDER(kept)
	if err != nil {
		return nil, err
	}
	h := sha256.Sum256(attrs)
	si.EncryptedDigest, err = s.key.Sign(rand.Reader, h[:], crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("attest: signing: %w", err)
	}
	sd.Detach()
	return sd.Finish()
}

// signedAttributesDER is the DER SET OF the attributes, what the signature covers (RFC 5652 §5.4).
// The elements are marshalled one by one (pkcs7's attribute type is not exported) and already in
// DER order.
func signedAttributesDER[A any](attrs []A) ([]byte, error) {
	var body []byte
	for _, a := range attrs {
		der, err := asn1.Marshal(a)
		if err != nil {
			return nil, err
		}
		body = append(body, der...)
	}
	return asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSet, IsCompound: true, Bytes: body})
}

// publicOnly stands in for the signing key while pkcs7 builds the SignerInfo: it has the public key
// pkcs7 reads the algorithm from, and its signature is discarded.
type publicOnly struct{ pub crypto.PublicKey }

func (p publicOnly) Public() crypto.PublicKey { return p.pub }

func (p publicOnly) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) { return nil, nil }

// A minimal reader of PDF files with classic cross-reference tables (ISO 32000-1 §7.3, §7.5): what
// signing and verifying an fpdf document take, strict and bounded on anything else.

type (
	pdfName   string
	pdfString []byte // a literal or hexadecimal string, decoded
	pdfArray  []any
	pdfRef    struct{ num, gen int }
	span      struct{ start, end int }
	// pdfDict is a dictionary with where it lies in the file: the "<<" to the ">>" and each value.
	pdfDict struct {
		entries    map[string]any
		spans      map[string]span
		start, end int
	}
	// pdfStream is a stream object: its dictionary and where its raw data lies.
	pdfStream struct {
		dict *pdfDict
		data span
	}
)

func (d *pdfDict) get(key string) (any, bool) {
	if d == nil {
		return nil, false
	}
	v, ok := d.entries[key]
	return v, ok
}

func (d *pdfDict) name(key string) pdfName {
	v, _ := d.get(key)
	n, _ := v.(pdfName)
	return n
}

func (d *pdfDict) int(key string) (int, bool) {
	v, _ := d.get(key)
	n, ok := v.(int64)
	if !ok || n < 0 || n > 1<<40 {
		return 0, false
	}
	return int(n), true
}

func (d *pdfDict) ref(key string) (pdfRef, bool) {
	v, _ := d.get(key)
	r, ok := v.(pdfRef)
	return r, ok
}

type xrefEntry struct {
	offset, gen int
	free        bool
}

type pdfReader struct {
	data      []byte
	objs      map[int]xrefEntry // the newest entry of each object number
	trailer   *pdfDict          // the newest trailer
	startxref int               // the newest cross-reference section's offset
	sections  []int             // every section's offset, newest first
	depth     int               // nesting of resolve, against reference loops
}

// Bounds on hostile files.
const (
	maxNesting  = 32      // arrays and dictionaries in one another, references followed in a row
	maxSections = 64      // cross-reference sections (revisions)
	maxObjects  = 1 << 20 // object numbers
)

var errPDF = errors.New("attest: not a PDF Amane can read")

func pdfErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errPDF, fmt.Sprintf(format, args...))
}

// openPDF reads the cross-reference sections from the last startxref back along /Prev.
func openPDF(data []byte) (*pdfReader, error) {
	if !bytes.HasPrefix(data, []byte("%PDF-")) {
		return nil, pdfErr("no %%PDF- header")
	}
	i := bytes.LastIndex(data, []byte("startxref"))
	if i < 0 {
		return nil, pdfErr("no startxref")
	}
	l := &lexer{data: data, pos: i + len("startxref")}
	off, err := l.integer()
	if err != nil {
		return nil, pdfErr("startxref: %v", err)
	}
	r := &pdfReader{data: data, objs: map[int]xrefEntry{}, startxref: off}
	for {
		if slices.Contains(r.sections, off) {
			return nil, pdfErr("cross-reference sections in a loop")
		}
		if len(r.sections) == maxSections {
			return nil, pdfErr("more than %d cross-reference sections", maxSections)
		}
		r.sections = append(r.sections, off)
		trailer, err := r.readXref(off)
		if err != nil {
			return nil, err
		}
		if r.trailer == nil {
			r.trailer = trailer
		}
		if _, ok := trailer.get("XRefStm"); ok {
			return nil, pdfErr("cross-reference streams are not supported")
		}
		v, ok := trailer.get("Prev")
		if !ok {
			return r, nil
		}
		prev, ok := v.(int64)
		if !ok || prev < 0 || prev >= int64(len(data)) {
			return nil, pdfErr("bad /Prev")
		}
		off = int(prev)
	}
}

// readXref reads the cross-reference section at off, adding the entries no newer section has, and
// returns its trailer.
func (r *pdfReader) readXref(off int) (*pdfDict, error) {
	if off < 0 || off >= len(r.data) {
		return nil, pdfErr("startxref or /Prev out of the file")
	}
	l := &lexer{data: r.data, pos: off}
	if l.keyword() != "xref" {
		return nil, pdfErr("no cross-reference table at %d (cross-reference streams are not supported)", off)
	}
	for {
		l.skipSpace()
		save := l.pos
		if l.keyword() == "trailer" {
			break
		}
		l.pos = save
		first, err := l.integer()
		if err != nil {
			return nil, pdfErr("cross-reference subsection: %v", err)
		}
		count, err := l.integer()
		if err != nil {
			return nil, pdfErr("cross-reference subsection: %v", err)
		}
		if first+count > maxObjects || count > (len(r.data)-l.pos)/18 {
			return nil, pdfErr("cross-reference subsection too large")
		}
		for n := first; n < first+count; n++ {
			offset, err := l.integer()
			if err != nil {
				return nil, pdfErr("cross-reference entry %d: %v", n, err)
			}
			gen, err := l.integer()
			if err != nil {
				return nil, pdfErr("cross-reference entry %d: %v", n, err)
			}
			kind := l.keyword()
			if kind != "n" && kind != "f" {
				return nil, pdfErr("cross-reference entry %d: type %q", n, kind)
			}
			if _, seen := r.objs[n]; !seen {
				r.objs[n] = xrefEntry{offset: offset, gen: gen, free: kind == "f"}
			}
		}
	}
	v, err := l.value(0)
	if err != nil {
		return nil, pdfErr("trailer: %v", err)
	}
	d, ok := v.(*pdfDict)
	if !ok {
		return nil, pdfErr("trailer is not a dictionary")
	}
	return d, nil
}

// object reads indirect object ref: a value or a *pdfStream.
func (r *pdfReader) object(ref pdfRef) (any, error) {
	e, ok := r.objs[ref.num]
	if !ok || e.free || e.gen != ref.gen {
		return nil, pdfErr("no object %d %d", ref.num, ref.gen)
	}
	if e.offset >= len(r.data) {
		return nil, pdfErr("object %d beyond the end of the file", ref.num)
	}
	l := &lexer{data: r.data, pos: e.offset}
	num, err1 := l.integer()
	gen, err2 := l.integer()
	if err1 != nil || err2 != nil || l.keyword() != "obj" || num != ref.num || gen != ref.gen {
		return nil, pdfErr("object %d %d is not where the cross-reference table says", ref.num, ref.gen)
	}
	v, err := l.value(0)
	if err != nil {
		return nil, pdfErr("object %d: %v", ref.num, err)
	}
	kw := l.keyword()
	if d, isDict := v.(*pdfDict); isDict && kw == "stream" {
		// The data starts after the EOL that follows "stream" (§7.3.8.1).
		if bytes.HasPrefix(r.data[l.pos:], []byte("\r\n")) {
			l.pos += 2
		} else if bytes.HasPrefix(r.data[l.pos:], []byte("\n")) {
			l.pos++
		} else {
			return nil, pdfErr("object %d: no end of line after stream", ref.num)
		}
		lv, _ := d.get("Length")
		lv, err = r.resolve(lv)
		if err != nil {
			return nil, err
		}
		n, ok := lv.(int64)
		if !ok || n < 0 || n > int64(len(r.data)-l.pos) {
			return nil, pdfErr("object %d: bad stream /Length", ref.num)
		}
		s := &pdfStream{dict: d, data: span{l.pos, l.pos + int(n)}}
		l.pos += int(n)
		if l.keyword() != "endstream" {
			return nil, pdfErr("object %d: no endstream after /Length bytes", ref.num)
		}
		v, kw = s, l.keyword()
	}
	if kw != "endobj" {
		return nil, pdfErr("object %d: no endobj", ref.num)
	}
	return v, nil
}

// resolve follows references to a direct value.
func (r *pdfReader) resolve(v any) (any, error) {
	for range maxNesting {
		ref, ok := v.(pdfRef)
		if !ok {
			return v, nil
		}
		var err error
		if v, err = r.object(ref); err != nil {
			return nil, err
		}
	}
	return nil, pdfErr("references nested too deep")
}

// dictOf resolves v to a dictionary (a stream's, for a stream).
func (r *pdfReader) dictOf(v any) (*pdfDict, error) {
	v, err := r.resolve(v)
	if err != nil {
		return nil, err
	}
	switch v := v.(type) {
	case *pdfDict:
		return v, nil
	case *pdfStream:
		return v.dict, nil
	}
	return nil, pdfErr("a dictionary expected, %T found", v)
}

func (r *pdfReader) dictObject(ref pdfRef) (*pdfDict, error) {
	v, err := r.object(ref)
	if err != nil {
		return nil, err
	}
	d, ok := v.(*pdfDict)
	if !ok {
		return nil, pdfErr("object %d is not a dictionary", ref.num)
	}
	return d, nil
}

// firstPage returns the reference of the document's first page, down the page tree's first kids.
func (r *pdfReader) firstPage(cat *pdfDict) (pdfRef, error) {
	node, ok := cat.ref("Pages")
	if !ok {
		return pdfRef{}, pdfErr("catalog without /Pages")
	}
	for range maxNesting {
		d, err := r.dictObject(node)
		if err != nil {
			return pdfRef{}, err
		}
		switch d.name("Type") {
		case "Page":
			return node, nil
		case "Pages":
			kids, _ := d.get("Kids")
			a, _ := kids.(pdfArray)
			if len(a) == 0 {
				return pdfRef{}, pdfErr("page tree node without /Kids")
			}
			if node, ok = a[0].(pdfRef); !ok {
				return pdfRef{}, pdfErr("page tree kid is not a reference")
			}
		default:
			return pdfRef{}, pdfErr("page tree node of /Type %q", d.name("Type"))
		}
	}
	return pdfRef{}, pdfErr("page tree too deep")
}

// streamData decodes a stream: no filter, or /FlateDecode with no predictor or PNG predictors
// (§7.4.4), as fpdf writes; at most limit bytes.
func (r *pdfReader) streamData(s *pdfStream, limit int) ([]byte, error) {
	raw := r.data[s.data.start:s.data.end]
	filter, _ := s.dict.get("Filter")
	if a, ok := filter.(pdfArray); ok && len(a) == 1 {
		filter = a[0]
	}
	switch filter {
	case nil:
		if len(raw) > limit {
			return nil, pdfErr("stream too large")
		}
		return raw, nil
	case pdfName("FlateDecode"):
	default:
		return nil, pdfErr("stream filter %v not supported", filter)
	}
	zr, err := zlib.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil, pdfErr("stream: %v", err)
	}
	data, err := io.ReadAll(io.LimitReader(zr, int64(limit)+1))
	if err != nil {
		return nil, pdfErr("stream: %v", err)
	}
	if len(data) > limit {
		return nil, pdfErr("stream too large")
	}
	parms, _ := s.dict.get("DecodeParms")
	if a, ok := parms.(pdfArray); ok && len(a) == 1 {
		parms = a[0]
	}
	p, _ := parms.(*pdfDict)
	predictor, _ := p.int("Predictor")
	if predictor <= 1 {
		return data, nil
	}
	if predictor < 10 {
		return nil, pdfErr("TIFF predictor not supported")
	}
	colors, bpc, columns := 1, 8, 1
	if n, ok := p.int("Colors"); ok {
		colors = n
	}
	if n, ok := p.int("BitsPerComponent"); ok {
		bpc = n
	}
	if n, ok := p.int("Columns"); ok {
		columns = n
	}
	if colors < 1 || colors > 4 || (bpc != 1 && bpc != 2 && bpc != 4 && bpc != 8 && bpc != 16) || columns < 1 || columns > 1<<16 {
		return nil, pdfErr("bad predictor parameters")
	}
	return unpredictPNG(data, colors, bpc, columns)
}

// unpredictPNG undoes PNG row filters (RFC 2083 §6): each row is a filter type byte, then the
// filtered bytes.
func unpredictPNG(data []byte, colors, bpc, columns int) ([]byte, error) {
	bpp := max(1, colors*bpc/8)
	rowLen := (colors*bpc*columns + 7) / 8
	if len(data)%(rowLen+1) != 0 {
		return nil, pdfErr("PNG-predicted data is not whole rows")
	}
	out := make([]byte, 0, len(data)/(rowLen+1)*rowLen)
	prev := make([]byte, rowLen)
	for i := 0; i < len(data); i += rowLen + 1 {
		ft, row := data[i], slices.Clone(data[i+1:i+1+rowLen])
		for x := range row {
			var a, b, c byte
			if x >= bpp {
				a, c = row[x-bpp], prev[x-bpp]
			}
			b = prev[x]
			switch ft {
			case 0:
			case 1:
				row[x] += a
			case 2:
				row[x] += b
			case 3:
				row[x] += byte((int(a) + int(b)) / 2)
			case 4:
				row[x] += paeth(a, b, c)
			default:
				return nil, pdfErr("PNG filter type %d", ft)
			}
		}
		out = append(out, row...)
		prev = row
	}
	return out, nil
}

func paeth(a, b, c byte) byte {
	p := int(a) + int(b) - int(c)
	pa, pb, pc := abs(p-int(a)), abs(p-int(b)), abs(p-int(c))
	switch {
	case pa <= pb && pa <= pc:
		return a
	case pb <= pc:
		return b
	}
	return c
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// lexer reads PDF tokens and direct objects (§7.2, §7.3) from data at pos.
type lexer struct {
	data []byte
	pos  int
}

func isSpace(c byte) bool {
	return c == 0 || c == '\t' || c == '\n' || c == '\f' || c == '\r' || c == ' '
}

func isDelimiter(c byte) bool {
	switch c {
	case '(', ')', '<', '>', '[', ']', '{', '}', '/', '%':
		return true
	}
	return false
}

func (l *lexer) skipSpace() {
	for l.pos < len(l.data) {
		c := l.data[l.pos]
		switch {
		case isSpace(c):
			l.pos++
		case c == '%': // a comment, to the end of the line
			for l.pos < len(l.data) && l.data[l.pos] != '\n' && l.data[l.pos] != '\r' {
				l.pos++
			}
		default:
			return
		}
	}
}

// keyword reads a run of regular characters.
func (l *lexer) keyword() string {
	l.skipSpace()
	start := l.pos
	for l.pos < len(l.data) && !isSpace(l.data[l.pos]) && !isDelimiter(l.data[l.pos]) {
		l.pos++
	}
	return string(l.data[start:l.pos])
}

var errInteger = errors.New("integer expected")

// integer reads a non-negative integer of at most 12 digits.
func (l *lexer) integer() (int, error) {
	k := l.keyword()
	if k == "" || len(k) > 12 {
		return 0, errInteger
	}
	n := 0
	for i := 0; i < len(k); i++ {
		if k[i] < '0' || k[i] > '9' {
			return 0, errInteger
		}
		n = n*10 + int(k[i]-'0')
	}
	return n, nil
}

// value reads a direct object; an integer followed by "gen R" is a reference.
func (l *lexer) value(depth int) (any, error) {
	if depth > maxNesting {
		return nil, errors.New("objects nested too deep")
	}
	l.skipSpace()
	if l.pos >= len(l.data) {
		return nil, errors.New("unexpected end of file")
	}
	switch c := l.data[l.pos]; c {
	case '<':
		if l.pos+1 < len(l.data) && l.data[l.pos+1] == '<' {
			return l.dict(depth)
		}
		return l.hexString()
	case '(':
		return l.literalString()
	case '[':
		l.pos++
		var a pdfArray
		for {
			l.skipSpace()
			if l.pos < len(l.data) && l.data[l.pos] == ']' {
				l.pos++
				return a, nil
			}
			v, err := l.value(depth + 1)
			if err != nil {
				return nil, err
			}
			a = append(a, v)
		}
	case '/':
		return l.name()
	case ')', '>', ']', '{', '}':
		return nil, fmt.Errorf("unexpected %q at %d", c, l.pos)
	}
	start := l.pos
	k := l.keyword()
	switch k {
	case "true":
		return true, nil
	case "false":
		return false, nil
	case "null":
		return nil, nil
	}
	if strings.IndexByte(k, '.') >= 0 {
		if f, err := strconv.ParseFloat(k, 64); err == nil && isPDFReal(k) {
			return f, nil
		}
	} else if n, err := strconv.ParseInt(k, 10, 64); err == nil {
		// A reference is "num gen R".
		save := l.pos
		if n >= 0 && n < maxObjects && k[0] != '+' {
			if gen, err := l.integer(); err == nil && gen < 65536 && l.keyword() == "R" {
				return pdfRef{int(n), gen}, nil
			}
		}
		l.pos = save
		return n, nil
	}
	return nil, fmt.Errorf("unexpected %q at %d", k, start)
}

// isPDFReal reports whether k is a PDF real: digits with one period, and an optional sign (§7.3.3;
// no exponent, no "Inf").
func isPDFReal(k string) bool {
	if k[0] == '+' || k[0] == '-' {
		k = k[1:]
	}
	dots, digits := 0, 0
	for i := 0; i < len(k); i++ {
		switch {
		case k[i] == '.':
			dots++
		case k[i] >= '0' && k[i] <= '9':
			digits++
		default:
			return false
		}
	}
	return dots <= 1 && digits > 0
}

func (l *lexer) dict(depth int) (*pdfDict, error) {
	d := &pdfDict{entries: map[string]any{}, spans: map[string]span{}, start: l.pos}
	l.pos += 2
	for {
		l.skipSpace()
		if bytes.HasPrefix(l.data[l.pos:], []byte(">>")) {
			l.pos += 2
			d.end = l.pos
			return d, nil
		}
		if l.pos >= len(l.data) || l.data[l.pos] != '/' {
			return nil, fmt.Errorf("dictionary key expected at %d", l.pos)
		}
		key, err := l.name()
		if err != nil {
			return nil, err
		}
		l.skipSpace()
		start := l.pos
		v, err := l.value(depth + 1)
		if err != nil {
			return nil, err
		}
		if _, dup := d.entries[string(key)]; dup {
			// Which one a reader takes is up to the reader: refuse the ambiguity.
			return nil, fmt.Errorf("key /%s twice in a dictionary", key)
		}
		d.entries[string(key)] = v
		d.spans[string(key)] = span{start, l.pos}
	}
}

func (l *lexer) name() (pdfName, error) {
	l.pos++ // the "/"
	var b []byte
	for l.pos < len(l.data) && !isSpace(l.data[l.pos]) && !isDelimiter(l.data[l.pos]) {
		c := l.data[l.pos]
		if c == '#' {
			if l.pos+2 >= len(l.data) {
				return "", errors.New("bad # escape in a name")
			}
			x, err := hex.DecodeString(string(l.data[l.pos+1 : l.pos+3]))
			if err != nil {
				return "", errors.New("bad # escape in a name")
			}
			c = x[0]
			l.pos += 2
		}
		b = append(b, c)
		l.pos++
	}
	return pdfName(b), nil
}

func (l *lexer) hexString() (pdfString, error) {
	l.pos++ // the "<"
	var digits []byte
	for ; l.pos < len(l.data); l.pos++ {
		c := l.data[l.pos]
		switch {
		case c == '>':
			l.pos++
			if len(digits)%2 == 1 {
				digits = append(digits, '0')
			}
			s := make([]byte, len(digits)/2)
			if _, err := hex.Decode(s, digits); err != nil {
				return nil, err
			}
			return s, nil
		case isSpace(c):
		case ('0' <= c && c <= '9') || ('a' <= c && c <= 'f') || ('A' <= c && c <= 'F'):
			digits = append(digits, c)
		default:
			return nil, fmt.Errorf("bad character %q in a hexadecimal string", c)
		}
	}
	return nil, errors.New("unterminated hexadecimal string")
}

func (l *lexer) literalString() (pdfString, error) {
	s, next, ok := appendLiteral(nil, l.data, l.pos)
	l.pos = next
	if !ok {
		return nil, errors.New("unterminated string")
	}
	return s, nil
}

// appendLiteral decodes the literal string whose "(" is at data[pos] (§7.3.4.2), appends it to dst,
// and returns where it ended and whether its ")" was found: balanced parentheses, the escapes \n \r
// \t \b \f \( \) \\ and octal, escaped line ends dropped, an unescaped CR or CR LF read as LF.
// The lexer and the page-text scanner share it.
func appendLiteral(dst, data []byte, pos int) ([]byte, int, bool) {
	pos++ // the "("
	level := 1
	for pos < len(data) {
		c := data[pos]
		pos++
		switch c {
		case '(':
			level++
		case ')':
			if level--; level == 0 {
				return dst, pos, true
			}
		case '\r':
			if pos < len(data) && data[pos] == '\n' {
				pos++
			}
			c = '\n'
		case '\\':
			if pos >= len(data) {
				return dst, pos, false
			}
			e := data[pos]
			pos++
			switch e {
			case 'n':
				c = '\n'
			case 'r':
				c = '\r'
			case 't':
				c = '\t'
			case 'b':
				c = '\b'
			case 'f':
				c = '\f'
			case '\r':
				if pos < len(data) && data[pos] == '\n' {
					pos++
				}
				continue
			case '\n':
				continue
			default:
				c = e // \( \) \\ and any other character stand for themselves
				if '0' <= e && e <= '7' {
					v := int(e - '0')
					for k := 0; k < 2 && pos < len(data) && '0' <= data[pos] && data[pos] <= '7'; k++ {
						v = v*8 + int(data[pos]-'0')
						pos++
					}
					c = byte(v) // high-order overflow is ignored
				}
			}
		}
		dst = append(dst, c)
	}
	return dst, pos, false
}
