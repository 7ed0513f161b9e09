package attest

// Reading back what Render wrote: the text each page shows and the embedded summary. Objects are
// found as a PDF reader finds them, through the cross-reference sections from the last one back
// (pdfReader, pades.go), so that an incremental update appended after signing is read the way a
// viewer would show it, and a stale copy of an object that no cross-reference section points to is
// never taken for the shown one.
//
// Text (ISO 32000-1 §9.4): the content streams' text-showing operators (Tj, TJ, ' and "), decoded by
// the current font (Tf): two bytes a character for a Type0 font (Identity-H, as fpdf writes UTF-8
// fonts: the CID is the UTF-16 code unit), one Windows-1252 byte for a simple font (Render's fonts are
// WinAnsiEncoding). Text positioning (Td, TD, Tm, T*, BT) decides the separators.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
)

// Bounds for PageText and SummaryFromPDF on hostile files.
const (
	maxTextPages   = 1 << 17  // pages
	maxTextContent = 64 << 20 // decoded content bytes, all pages together
	maxTextOps     = 1 << 24  // tokens, all pages together
	maxNameTree    = 1 << 12  // embedded-file name tree entries and nodes
	maxSummarySize = 1 << 20  // the summary's JSON
)

// ErrNoSummary is returned by SummaryFromPDF for a PDF without exactly one embedded SummaryFile.
var ErrNoSummary = errors.New("attest: no signed summary (" + SummaryFile + ") in the PDF")

// PageText returns the text each page shows, in page order. Within a page, pieces of text drawn on
// one baseline are joined by a tab when the text position moved between them ("01/2024\t3\t12 345,67
// MAD", one table row: see MonthText) and directly otherwise; baselines are separated by "\n", in
// drawing order. A control character shown in a string reads as U+FFFD, so that a string cannot
// pass for several cells or lines. The result is always valid UTF-8. It never panics, whatever pdf
// holds.
func PageText(pdf []byte) ([]string, error) {
	r, err := openPDF(pdf)
	if err != nil {
		return nil, err
	}
	root, _ := r.trailer.get("Root")
	cat, err := r.dictOf(root)
	if err != nil {
		return nil, err
	}
	pages, err := textPages(r, cat)
	if err != nil {
		return nil, err
	}
	x := &textExtractor{fonts: map[any]map[string]bool{}}
	out := make([]string, 0, len(pages))
	for _, page := range pages {
		content, err := textContent(r, page, maxTextContent-x.inflated)
		if err != nil {
			return nil, err
		}
		x.inflated += len(content)
		twoByte := textFonts(r, page, x.fonts)
		s, err := x.page(content, twoByte)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// textPages returns the page dictionaries of the page tree under cat's /Pages, in order.
func textPages(r *pdfReader, cat *pdfDict) ([]*pdfDict, error) {
	root, ok := cat.get("Pages")
	if !ok {
		return nil, pdfErr("catalog without /Pages")
	}
	var pages []*pdfDict
	seen := map[pdfRef]bool{}
	var walk func(node any, depth int) error
	walk = func(node any, depth int) error {
		if depth > maxNesting {
			return pdfErr("page tree too deep")
		}
		if ref, isRef := node.(pdfRef); isRef {
			if seen[ref] {
				return pdfErr("page tree node %d twice", ref.num)
			}
			seen[ref] = true
		}
		d, err := r.dictOf(node)
		if err != nil {
			return err
		}
		switch d.name("Type") {
		case "Page":
			if len(pages) == maxTextPages {
				return pdfErr("more than %d pages", maxTextPages)
			}
			pages = append(pages, d)
		case "Pages":
			kids, _ := d.get("Kids")
			kids, err := r.resolve(kids)
			if err != nil {
				return err
			}
			a, _ := kids.(pdfArray)
			for _, k := range a {
				if err := walk(k, depth+1); err != nil {
					return err
				}
			}
		default:
			return pdfErr("page tree node of /Type %q", d.name("Type"))
		}
		return nil
	}
	if err := walk(root, 0); err != nil {
		return nil, err
	}
	return pages, nil
}

// textContent returns a page's decoded content: its streams joined by newlines, at most limit bytes.
func textContent(r *pdfReader, page *pdfDict, limit int) ([]byte, error) {
	cv, _ := page.get("Contents")
	cv, err := r.resolve(cv)
	if err != nil {
		return nil, err
	}
	if cv == nil {
		return nil, nil // a blank page
	}
	parts, isArray := cv.(pdfArray)
	if !isArray {
		parts = pdfArray{cv}
	}
	var content []byte
	for _, p := range parts {
		p, err := r.resolve(p)
		if err != nil {
			return nil, err
		}
		s, ok := p.(*pdfStream)
		if !ok {
			return nil, pdfErr("page content is not a stream")
		}
		if limit-len(content) <= 0 {
			return nil, pdfErr("page content too large")
		}
		data, err := r.streamData(s, limit-len(content))
		if err != nil {
			return nil, err
		}
		content = append(append(content, data...), '\n')
	}
	return content, nil
}

// textFonts returns, for each font resource name of the page, whether it shows two bytes a character
// (a Type0 font). Resources may be inherited from the page tree (§7.7.3.4); cache holds the answer by
// resources object, which fpdf shares between all pages.
func textFonts(r *pdfReader, page *pdfDict, cache map[any]map[string]bool) map[string]bool {
	node := page
	var res any
	for range maxNesting {
		if v, ok := node.get("Resources"); ok {
			res = v
			break
		}
		parent, ok := node.get("Parent")
		if !ok {
			break
		}
		d, err := r.dictOf(parent)
		if err != nil {
			break
		}
		node = d
	}
	key, cacheable := res.(pdfRef)
	if cacheable {
		if m, ok := cache[key]; ok {
			return m
		}
	}
	m := map[string]bool{}
	if d, err := r.dictOf(res); err == nil {
		fv, _ := d.get("Font")
		if fonts, err := r.dictOf(fv); err == nil {
			for name, f := range fonts.entries {
				if fd, err := r.dictOf(f); err == nil {
					m[name] = fd.name("Subtype") == "Type0"
				}
			}
		}
	}
	if cacheable {
		cache[key] = m
	}
	return m
}

// textExtractor interprets content streams for their text.
type textExtractor struct {
	fonts    map[any]map[string]bool // textFonts' cache
	inflated int                     // content bytes decoded so far
	ops      int                     // tokens read so far
}

// textToken kinds.
const (
	tokEOF = iota
	tokNumber
	tokString
	tokName
	tokOperator
	tokArrayStart
	tokArrayEnd
	tokDictStart
	tokDictEnd
	tokOther
)

// A textOperand is a content stream operand as the text operators need it.
type textOperand struct {
	kind  int
	num   float64
	str   []byte        // a string's bytes, a name
	array []textOperand // TJ's strings and numbers
}

// page returns the text content shows; twoByte tells which font resources are Type0.
func (x *textExtractor) page(content []byte, twoByte map[string]bool) (string, error) {
	sc := textScanner{data: content}
	var out strings.Builder
	var operands []textOperand
	var (
		tm      = [6]float64{1, 0, 0, 1, 0, 0} // text line matrix: where the current line starts
		leading float64
		wide    bool // the current font shows two bytes a character
		moved   = true
		lastY   float64
		shown   bool // something was shown on this page
	)
	num := func(i int) float64 { // the i-th of the last n operands, 0 if it is not a number
		if i < 0 || i >= len(operands) || operands[i].kind != tokNumber {
			return 0
		}
		return operands[i].num
	}
	translate := func(tx, ty float64) { // Td: tlm = [1 0 0 1 tx ty] × tlm
		tm[4], tm[5] = tx*tm[0]+ty*tm[2]+tm[4], tx*tm[1]+ty*tm[3]+tm[5]
		moved = true
	}
	show := func(s []byte) {
		if len(s) == 0 {
			return
		}
		y := tm[5]
		switch {
		case !shown:
		case y-lastY > 0.5 || lastY-y > 0.5:
			out.WriteByte('\n')
		case moved:
			out.WriteByte('\t')
		}
		shown, moved, lastY = true, false, y
		decodeShown(&out, s, wide)
	}
	for {
		if x.ops++; x.ops > maxTextOps {
			return "", pdfErr("content streams too long")
		}
		kind, tok := sc.next()
		switch kind {
		case tokEOF:
			return out.String(), nil
		case tokNumber:
			n, _ := strconv.ParseFloat(string(tok), 64)
			operands = append(operands, textOperand{kind: tokNumber, num: n})
		case tokString:
			operands = append(operands, textOperand{kind: tokString, str: tok})
		case tokName:
			operands = append(operands, textOperand{kind: tokName, str: tok})
		case tokArrayStart:
			a, err := x.array(&sc)
			if err != nil {
				return "", err
			}
			operands = append(operands, textOperand{kind: tokArrayStart, array: a})
		case tokDictStart:
			if err := x.skipDict(&sc); err != nil {
				return "", err
			}
			operands = append(operands, textOperand{kind: tokOther})
		case tokArrayEnd, tokDictEnd, tokOther:
			operands = append(operands, textOperand{kind: tokOther})
		case tokOperator:
			n := len(operands)
			switch string(tok) {
			case "BT":
				tm = [6]float64{1, 0, 0, 1, 0, 0}
				moved = true
			case "Tf":
				if n >= 2 && operands[n-2].kind == tokName {
					wide = twoByte[string(operands[n-2].str)]
				}
			case "TL":
				leading = num(n - 1)
			case "Td":
				translate(num(n-2), num(n-1))
			case "TD":
				leading = -num(n - 1)
				translate(num(n-2), num(n-1))
			case "Tm":
				for i := range tm {
					tm[i] = num(n - 6 + i)
				}
				moved = true
			case "T*":
				translate(0, -leading)
			case "Tj":
				if n >= 1 && operands[n-1].kind == tokString {
					show(operands[n-1].str)
				}
			case "'":
				translate(0, -leading)
				if n >= 1 && operands[n-1].kind == tokString {
					show(operands[n-1].str)
				}
			case "\"":
				translate(0, -leading)
				if n >= 1 && operands[n-1].kind == tokString {
					show(operands[n-1].str)
				}
			case "TJ":
				if n >= 1 && operands[n-1].kind == tokArrayStart {
					for _, o := range operands[n-1].array {
						if o.kind == tokString {
							show(o.str)
						}
					}
				}
			case "BI":
				if !sc.skipInlineImage() {
					return out.String(), nil // the image runs to the end: nothing shown after it
				}
			}
			operands = operands[:0]
			sc.arena = sc.arena[:0]
		}
		if len(operands) > 64 { // no operator takes more: keep the last ones
			operands = append(operands[:0], operands[len(operands)-8:]...)
		}
	}
}

// array reads an array operand after its "[": its strings and numbers (nested arrays flattened).
func (x *textExtractor) array(sc *textScanner) ([]textOperand, error) {
	var a []textOperand
	depth := 1
	for {
		if x.ops++; x.ops > maxTextOps {
			return nil, pdfErr("content streams too long")
		}
		kind, tok := sc.next()
		switch kind {
		case tokEOF:
			return a, nil
		case tokArrayStart:
			if depth++; depth > maxNesting {
				return nil, pdfErr("arrays nested too deep in content")
			}
		case tokArrayEnd:
			if depth--; depth == 0 {
				return a, nil
			}
		case tokString:
			a = append(a, textOperand{kind: tokString, str: tok})
		case tokNumber:
			n, _ := strconv.ParseFloat(string(tok), 64)
			a = append(a, textOperand{kind: tokNumber, num: n})
		}
	}
}

// skipDict reads past a dictionary operand (a marked-content property list) after its "<<".
func (x *textExtractor) skipDict(sc *textScanner) error {
	depth := 1
	for {
		if x.ops++; x.ops > maxTextOps {
			return pdfErr("content streams too long")
		}
		switch kind, _ := sc.next(); kind {
		case tokEOF:
			return nil
		case tokDictStart:
			if depth++; depth > maxNesting {
				return pdfErr("dictionaries nested too deep in content")
			}
		case tokDictEnd:
			if depth--; depth == 0 {
				return nil
			}
		}
	}
}

// decodeShown appends the characters a shown string stands for. Control characters become U+FFFD:
// tabs and newlines in PageText's result come from the text's positions only, never from a string.
func decodeShown(out *strings.Builder, s []byte, wide bool) {
	put := func(c rune) {
		if c < 0x20 || (0x7F <= c && c < 0xA0) {
			c = utf8.RuneError
		}
		out.WriteRune(c)
	}
	if !wide {
		for _, b := range s {
			if 0x20 <= b && b < 0x7F {
				out.WriteByte(b)
			} else {
				put(charmap.Windows1252.DecodeByte(b))
			}
		}
		return
	}
	units := make([]uint16, 0, len(s)/2)
	for i := 0; i+1 < len(s); i += 2 {
		units = append(units, uint16(s[i])<<8|uint16(s[i+1]))
	}
	for _, c := range utf16.Decode(units) {
		put(c) // a lone surrogate is U+FFFD already
	}
	if len(s)%2 == 1 {
		out.WriteRune(utf8.RuneError)
	}
}

// textScanner splits a content stream into tokens (§7.2, §7.8.2).
type textScanner struct {
	data  []byte
	pos   int
	arena []byte // decoded strings since the last operator
}

// next returns the next token: a number's or operator's text, a string's decoded bytes (valid until
// the next operator's reset), a name without its "/".
func (sc *textScanner) next() (int, []byte) {
	d := sc.data
	for sc.pos < len(d) {
		c := d[sc.pos]
		switch {
		case isSpace(c):
			sc.pos++
			continue
		case c == '%':
			for sc.pos < len(d) && d[sc.pos] != '\n' && d[sc.pos] != '\r' {
				sc.pos++
			}
			continue
		}
		break
	}
	if sc.pos >= len(d) {
		return tokEOF, nil
	}
	start := sc.pos
	switch c := d[sc.pos]; c {
	case '(':
		return tokString, sc.literal()
	case '<':
		if sc.pos+1 < len(d) && d[sc.pos+1] == '<' {
			sc.pos += 2
			return tokDictStart, nil
		}
		return tokString, sc.hex()
	case '>':
		sc.pos++
		if sc.pos < len(d) && d[sc.pos] == '>' {
			sc.pos++
			return tokDictEnd, nil
		}
		return tokOther, nil
	case '[':
		sc.pos++
		return tokArrayStart, nil
	case ']':
		sc.pos++
		return tokArrayEnd, nil
	case '/':
		sc.pos++
		for sc.pos < len(d) && !isSpace(d[sc.pos]) && !isDelimiter(d[sc.pos]) {
			sc.pos++
		}
		return tokName, d[start+1 : sc.pos]
	case ')', '{', '}':
		sc.pos++
		return tokOther, nil
	}
	for sc.pos < len(d) && !isSpace(d[sc.pos]) && !isDelimiter(d[sc.pos]) {
		sc.pos++
	}
	tok := d[start:sc.pos]
	if isNumber(tok) {
		return tokNumber, tok
	}
	return tokOperator, tok
}

// isNumber reports whether tok is a PDF number (§7.3.3): an optional sign, digits with at most one
// period among them.
func isNumber(tok []byte) bool {
	if tok[0] == '+' || tok[0] == '-' {
		tok = tok[1:]
	}
	digits, dots := 0, 0
	for _, c := range tok {
		switch {
		case '0' <= c && c <= '9':
			digits++
		case c == '.':
			dots++
		default:
			return false
		}
	}
	return digits > 0 && dots <= 1
}

// literal decodes a literal string (§7.3.4.2) from its "(": balanced parentheses, escapes \n \r \t
// \b \f \( \) \\, one to three octal digits, a backslash before an end of line continuing the line;
// an unescaped end of line (CR, LF or CR LF) reads as LF. An unterminated string runs to the end.
func (sc *textScanner) literal() []byte {
	start := len(sc.arena)
	sc.arena, sc.pos, _ = appendLiteral(sc.arena, sc.data, sc.pos) // unterminated: it runs to the end
	return sc.arena[start:]
}

// hex decodes a hexadecimal string from its "<"; white space and other characters are skipped, an
// odd last digit is followed by 0 (§7.3.4.3).
func (sc *textScanner) hex() []byte {
	d := sc.data
	sc.pos++
	start := len(sc.arena)
	var hi byte
	odd := false
	for sc.pos < len(d) {
		c := d[sc.pos]
		sc.pos++
		var v byte
		switch {
		case c == '>':
			if odd {
				sc.arena = append(sc.arena, hi<<4)
			}
			return sc.arena[start:]
		case '0' <= c && c <= '9':
			v = c - '0'
		case 'a' <= c && c <= 'f':
			v = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			v = c - 'A' + 10
		default:
			continue
		}
		if odd {
			sc.arena = append(sc.arena, hi<<4|v)
		} else {
			hi = v
		}
		odd = !odd
	}
	return sc.arena[start:]
}

// skipInlineImage reads past an inline image after its BI: to "ID", one white-space byte, then the
// data up to an "EI" between white space (§8.9.7). It reports false if no EI ends it.
func (sc *textScanner) skipInlineImage() bool {
	d := sc.data
	i := bytes.Index(d[sc.pos:], []byte("ID"))
	if i < 0 {
		return false
	}
	sc.pos += i + 3
	for sc.pos < len(d) {
		j := bytes.Index(d[sc.pos:], []byte("EI"))
		if j < 0 {
			return false
		}
		at := sc.pos + j
		sc.pos = at + 2
		if at > 0 && isSpace(d[at-1]) && (sc.pos == len(d) || isSpace(d[sc.pos]) || isDelimiter(d[sc.pos])) {
			return true
		}
	}
	return false
}

// SummaryFromPDF returns the summary embedded in pdf as SummaryFile. It reads the file as a viewer
// does, the newest revision of each object winning: to read what was signed, pass the signed
// revision only (the bytes the signature covers). The JSON must hold exactly a Summary: no unknown
// field, nothing after it.
func SummaryFromPDF(pdf []byte) (*Summary, error) {
	r, err := openPDF(pdf)
	if err != nil {
		return nil, err
	}
	root, _ := r.trailer.get("Root")
	cat, err := r.dictOf(root)
	if err != nil {
		return nil, err
	}
	nv, _ := cat.get("Names")
	names, err := r.dictOf(nv)
	if err != nil {
		return nil, ErrNoSummary
	}
	ev, _ := names.get("EmbeddedFiles")
	if ev == nil {
		return nil, ErrNoSummary
	}
	var specs []*pdfDict
	budget := maxNameTree
	if err := summarySpecs(r, ev, 0, &budget, &specs); err != nil {
		return nil, err
	}
	switch len(specs) {
	case 0:
		return nil, ErrNoSummary
	case 1:
	default:
		return nil, fmt.Errorf("%w: %d files named %s", ErrNoSummary, len(specs), SummaryFile)
	}
	efv, _ := specs[0].get("EF")
	ef, err := r.dictOf(efv)
	if err != nil {
		return nil, err
	}
	fv, ok := ef.get("UF")
	if !ok {
		fv, _ = ef.get("F")
	}
	fv, err = r.resolve(fv)
	if err != nil {
		return nil, err
	}
	s, ok := fv.(*pdfStream)
	if !ok {
		return nil, pdfErr("embedded %s is not a stream", SummaryFile)
	}
	data, err := r.streamData(s, maxSummarySize)
	if err != nil {
		return nil, err
	}
	var sum Summary
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&sum); err != nil {
		return nil, fmt.Errorf("attest: embedded %s: %v", SummaryFile, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("attest: embedded %s: data after the summary", SummaryFile)
	}
	return &sum, nil
}

// summarySpecs walks an embedded-files name tree (§7.9.6) for the file specifications named
// SummaryFile (by /UF, else /F).
func summarySpecs(r *pdfReader, node any, depth int, budget *int, specs *[]*pdfDict) error {
	if depth > maxNesting {
		return pdfErr("name tree too deep")
	}
	if *budget--; *budget < 0 {
		return pdfErr("name tree too large")
	}
	d, err := r.dictOf(node)
	if err != nil {
		return err
	}
	if nv, ok := d.get("Names"); ok {
		nv, err := r.resolve(nv)
		if err != nil {
			return err
		}
		a, _ := nv.(pdfArray)
		for i := 1; i < len(a); i += 2 {
			if *budget--; *budget < 0 {
				return pdfErr("name tree too large")
			}
			spec, err := r.dictOf(a[i])
			if err != nil {
				continue // not a file specification: not ours
			}
			name, ok := spec.get("UF")
			if !ok {
				name, _ = spec.get("F")
			}
			name, _ = r.resolve(name)
			if s, ok := name.(pdfString); ok && textString(s) == SummaryFile {
				*specs = append(*specs, spec)
			}
		}
	}
	if kv, ok := d.get("Kids"); ok {
		kv, err := r.resolve(kv)
		if err != nil {
			return err
		}
		a, _ := kv.(pdfArray)
		for _, k := range a {
			if err := summarySpecs(r, k, depth+1, budget, specs); err != nil {
				return err
			}
		}
	}
	return nil
}

// textString decodes a PDF text string (§7.9.2.2): UTF-16BE after a byte order mark, UTF-8 after
// one (PDF 2.0), else PDFDocEncoding, read here as Latin-1 (the two agree on what SummaryFile uses).
func textString(s []byte) string {
	switch {
	case len(s) >= 2 && s[0] == 0xFE && s[1] == 0xFF:
		var b strings.Builder
		decodeShown(&b, s[2:], true)
		return b.String()
	case len(s) >= 3 && s[0] == 0xEF && s[1] == 0xBB && s[2] == 0xBF:
		return strings.ToValidUTF8(string(s[3:]), "\uFFFD")
	}
	var b strings.Builder
	for _, c := range s {
		b.WriteRune(rune(c))
	}
	return b.String()
}
