package attest

// Rendering: an A4 PDF written natively by go-pdf/fpdf, with Go Regular and Go Bold embedded
// (golang.org/x/image/font/gofont, BSD licence) as simple TrueType fonts in WinAnsiEncoding
// (Windows-1252: every French letter, « » – — ’ … €), cut to those 218 characters by
// fonts/gen.go. Text is therefore shown as single-byte Windows-1252 strings, which PageText decodes;
// a character outside Windows-1252 prints as "?".
//
// Why not fpdf's UTF-8 fonts (Type0, Identity-H): fpdf v0.9.0 parses, hashes and subsets a UTF-8 font
// again for every document and offers no way to share a parsed font between documents: 20 to 30 ms
// a document with two fonts, when a batch of 53,574 attestations on 2 cores leaves about 4 ms for
// rendering and signing together. A simple font costs fpdf a 1 KB JSON and a ready stream.
//
// Layout, in millimetres. Page 1: the issuer, the title, the verification code in large type, the QR
// code at the top right, the dates, the period; then the employer's identity; then, by kind, the
// months table, the nominative list, or the insured person and their own lines. Tables break onto
// new pages by hand (fpdf's automatic page break is off): every continuation page repeats the title,
// the code and the table's header. Every page ends with the verification footer and "page i/N",
// drawn once all pages exist so that N is known.
//
// The signed summary travels inside the PDF as an embedded file (ISO 32000-1 §7.11.4, the catalog's
// /Names /EmbeddedFiles tree) named SummaryFile: the JSON of Document.Summary, as encoding/json
// writes it. SummaryFromPDF reads it back.
//
// The output is a function of the Document alone: the creation and modification dates are
// Summary.Issued, the catalog is sorted, fpdf writes no random /ID, and the QR mask is fixed.

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/go-pdf/fpdf"
	"golang.org/x/text/encoding/charmap"
	"rsc.io/qr"
)

// SummaryFile is the name of the embedded file that holds the signed summary's JSON.
const SummaryFile = "amane-summary.json"

// defaultIssuer is printed when Summary.Issuer is empty.
const defaultIssuer = "Caisse Nationale de Sécurité Sociale — Amane"

// ErrRender is wrapped by every error of Render: the Document cannot be printed as it is.
var ErrRender = errors.New("attest: cannot render the document")

// The fonts, as fonts/gen.go writes them.
var (
	//go:embed fonts/go-regular.json
	regularJSON []byte
	//go:embed fonts/go-regular.z
	regularZ []byte
	//go:embed fonts/go-bold.json
	boldJSON []byte
	//go:embed fonts/go-bold.z
	boldZ []byte
)

// Page geometry (mm).
const (
	pageW, pageH = 210.0, 297.0
	marginX      = 15.0
	contentW     = pageW - 2*marginX
	bodyBottom   = 276.0 // no table row goes below
	footerY      = 281.0
	qrSide       = 30.0
	rowH         = 5.5 // months, identity and salary rows
	listRowH     = 5.0 // nominative list
	pad          = 1.0 // text inside a cell
	ptPerMM      = 72 / 25.4
)

// The font family as fpdf knows it.
const family = "go"

// A colour, RGB 0-255.
type rgb [3]uint8

var (
	inkBlack    = rgb{0, 0, 0}
	inkGrey     = rgb{90, 90, 90}
	inkBlue     = rgb{0, 70, 127}
	ruleGrey    = rgb{215, 215, 215}
	frameGrey   = rgb{190, 190, 190}
	headerShade = rgb{228, 236, 245}
)

// Render prints doc as an A4 PDF. The QR code and the footer carry VerifyURL + "/" + Summary.Code
// (one trailing slash of VerifyURL dropped). What each kind shows: KindEmployees the months and the
// nominative list; KindThirdParty the months, never Lines; KindSalary the Person and the Lines, which
// must be the Person's own, with in Imm the declaring employer's affiliation number (as package gate
// builds them), their names never printed, and never the months. It returns an error wrapping ErrRender when the document
// is incomplete: unknown kind, no code, dates that are not RFC 3339, no VerifyURL, or no Person for
// a salary attestation.
func Render(doc *Document) ([]byte, error) {
	r, err := newRenderer(doc)
	if err != nil {
		return nil, err
	}
	return r.render()
}

// renderer holds one document's drawing state. fpdf starts pages, selects fonts, measures text and
// writes the file; the page content itself (text, rules, the QR code's modules) is written by the
// renderer as PDF operators (ISO 32000-1 §8, §9) through fpdf's RawWriteStr, formatted with strconv:
// fpdf formats every cell with fmt.Sprintf, which made the nominative list cost 9 µs a line.
type renderer struct {
	doc     *Document
	f       *fpdf.Fpdf
	issued  time.Time
	expires time.Time
	title   string
	code    string
	url     string // VerifyURL + "/" + code
	y       float64
	table   *tableSpec // the table running: its header is drawn again on every new page

	ops []byte // content operators not yet handed to fpdf
	// The state the page content is in, so that only changes are written. On a page fpdf has just
	// started or gone back to, the state is unknown: fontOK, fillOK and strokeOK are false.
	fontOK, fillOK, strokeOK bool
	bold                     bool
	size                     float64
	fill, stroke             rgb
	lineW                    float64
	color                    rgb // the text colour wanted: the fill colour when text is shown
}

func newRenderer(doc *Document) (*renderer, error) {
	if doc == nil {
		return nil, fmt.Errorf("%w: no document", ErrRender)
	}
	s := &doc.Summary
	title, ok := Titles[s.Kind]
	if !ok {
		return nil, fmt.Errorf("%w: Summary.Kind %q is not a kind of attestation", ErrRender, s.Kind)
	}
	if s.Code == "" {
		return nil, fmt.Errorf("%w: Summary.Code is empty", ErrRender)
	}
	if doc.VerifyURL == "" {
		return nil, fmt.Errorf("%w: VerifyURL is empty", ErrRender)
	}
	issued, err := time.Parse(time.RFC3339, s.Issued)
	if err != nil {
		return nil, fmt.Errorf("%w: Summary.Issued is not RFC 3339", ErrRender)
	}
	expires, err := time.Parse(time.RFC3339, s.Expires)
	if err != nil {
		return nil, fmt.Errorf("%w: Summary.Expires is not RFC 3339", ErrRender)
	}
	if s.Kind == KindSalary && doc.Person == nil {
		return nil, fmt.Errorf("%w: a salary attestation needs its Person", ErrRender)
	}
	return &renderer{
		doc:     doc,
		issued:  issued.UTC(),
		expires: expires.UTC(),
		title:   title,
		code:    s.Code,
		url:     strings.TrimSuffix(doc.VerifyURL, "/") + "/" + s.Code,
		ops:     make([]byte, 0, 16<<10),
	}, nil
}

func (r *renderer) render() ([]byte, error) {
	summary, err := json.Marshal(r.doc.Summary)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrRender, err)
	}

	f := fpdf.New("P", "mm", "A4", "")
	r.f = f
	f.SetCatalogSort(true)
	f.SetCreationDate(r.issued)
	f.SetModificationDate(r.issued)
	f.SetProducer("Amane", true)
	f.SetCreator("Amane", true)
	f.SetTitle(r.title+" "+r.code, true)
	f.SetAuthor(r.issuer(), true)
	f.SetAutoPageBreak(false, 0)
	f.SetMargins(marginX, 12, marginX)
	f.AddFontFromBytes(family, "", regularJSON, regularZ)
	f.AddFontFromBytes(family, "B", boldJSON, boldZ)
	f.SetAttachments([]fpdf.Attachment{{
		Content:     summary,
		Filename:    SummaryFile,
		Description: "Résumé signé de l'attestation " + r.code,
	}})

	r.addPage()
	r.header()
	r.company()
	switch r.doc.Summary.Kind {
	case KindEmployees:
		r.months()
		r.nominative()
	case KindThirdParty:
		r.months()
	case KindSalary:
		r.person()
		r.salary()
	}
	r.footers()
	r.flush()

	// fpdf compresses each page with a new zlib writer, 1 MB to allocate and clear: 0.8 ms a page,
	// five times what drawing the page costs. Pages are left as they are (15 KB for 50 lines) but in
	// documents of over 20 pages, where the file would pass 300 KB.
	f.SetCompression(f.PageCount() > 20)
	if err := f.Error(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrRender, err)
	}
	var buf bytes.Buffer
	buf.Grow(len(regularZ) + len(boldZ) + 16<<10 + 8<<10*f.PageCount())
	if err := f.Output(&buf); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrRender, err)
	}
	return buf.Bytes(), nil
}

func (r *renderer) issuer() string {
	if r.doc.Summary.Issuer != "" {
		return r.doc.Summary.Issuer
	}
	return defaultIssuer
}

// The drawing layer: page changes, state, operators. Coordinates are fpdf's (mm from the top left);
// operators take points from the bottom left.

// flush hands the pending operators to fpdf, on the page it is on.
func (r *renderer) flush() {
	if len(r.ops) > 0 {
		r.f.RawWriteStr(string(r.ops))
		r.ops = r.ops[:0]
	}
}

func (r *renderer) addPage() {
	r.flush()
	r.f.AddPage()
	r.fontOK, r.fillOK, r.strokeOK = false, false, false
}

func (r *renderer) goToPage(n int) {
	r.flush()
	r.f.SetPage(n)
	r.fontOK, r.fillOK, r.strokeOK = false, false, false
}

// font selects the regular or bold face; fpdf writes the Tf operator and knows the metrics.
func (r *renderer) font(bold bool, size float64) {
	if r.fontOK && r.bold == bold && r.size == size {
		return
	}
	r.flush()
	style := ""
	if bold {
		style = "B"
	}
	r.f.SetFont(family, style, size)
	r.fontOK, r.bold, r.size = true, bold, size
}

func (r *renderer) num(v float64) {
	r.ops = strconv.AppendFloat(r.ops, v, 'f', 2, 64)
	r.ops = append(r.ops, ' ')
}

func (r *renderer) colorOps(c rgb, op string) {
	for _, v := range c {
		r.ops = strconv.AppendFloat(r.ops, float64(v)/255, 'f', 3, 64)
		r.ops = append(r.ops, ' ')
	}
	r.ops = append(r.ops, op...)
	r.ops = append(r.ops, '\n')
}

func (r *renderer) setFill(c rgb) {
	if !r.fillOK || r.fill != c {
		r.fillOK, r.fill = true, c
		r.colorOps(c, "rg")
	}
}

func (r *renderer) setStroke(c rgb, width float64) {
	if !r.strokeOK || r.stroke != c {
		r.stroke = c
		r.colorOps(c, "RG")
	}
	if !r.strokeOK || r.lineW != width {
		r.strokeOK = true
		r.lineW = width
		r.num(width * ptPerMM)
		r.ops = append(r.ops, "w\n"...)
	}
}

// setColor sets the colour of the text that follows.
func (r *renderer) setColor(c rgb) { r.color = c }

// rect paints a rectangle in colour c.
func (r *renderer) rect(x, y, w, h float64, c rgb) {
	r.setFill(c)
	r.num(x * ptPerMM)
	r.num((pageH - y) * ptPerMM)
	r.num(w * ptPerMM)
	r.num(-h * ptPerMM)
	r.ops = append(r.ops, "re f\n"...)
}

// frameRect strokes a rectangle.
func (r *renderer) frameRect(x, y, w, h float64, c rgb) {
	r.setStroke(c, 0.2)
	r.num(x * ptPerMM)
	r.num((pageH - y) * ptPerMM)
	r.num(w * ptPerMM)
	r.num(-h * ptPerMM)
	r.ops = append(r.ops, "re S\n"...)
}

// line strokes a horizontal rule at y from x0 to x1.
func (r *renderer) line(x0, x1, y, width float64, c rgb) {
	r.setStroke(c, width)
	r.num(x0 * ptPerMM)
	r.num((pageH - y) * ptPerMM)
	r.ops = append(r.ops, "m "...)
	r.num(x1 * ptPerMM)
	r.num((pageH - y) * ptPerMM)
	r.ops = append(r.ops, "l S\n"...)
}

// text prints s in a cell of width w and height h at (x, r.y), aligned "L", "R" or "C", cut with an
// ellipsis to fit, in the current font and colour.
func (r *renderer) text(x, w, h float64, s, align string) {
	if s == "" {
		return
	}
	t := winAnsi(s)
	tw := r.f.GetStringWidth(t)
	if tw > w-2*pad {
		t = r.fit(t, w-2*pad)
		tw = r.f.GetStringWidth(t)
	}
	switch align {
	case "R":
		x += w - pad - tw
	case "C":
		x += (w - tw) / 2
	default:
		x += pad
	}
	baseline := r.y + h/2 + 0.3*r.size/ptPerMM // as fpdf's cells place it
	r.setFill(r.color)
	r.ops = append(r.ops, "BT "...)
	r.num(x * ptPerMM)
	r.num((pageH - baseline) * ptPerMM)
	r.ops = append(r.ops, "Td ("...)
	for i := 0; i < len(t); i++ {
		switch c := t[i]; c {
		case '(', ')', '\\':
			r.ops = append(r.ops, '\\', c)
		default:
			r.ops = append(r.ops, c)
		}
	}
	r.ops = append(r.ops, ") Tj ET\n"...)
}

// fit cuts t (Windows-1252) with an ellipsis so that it is at most w wide in the current font.
func (r *renderer) fit(t string, w float64) string {
	for n := len(t) - 1; n > 0; n-- {
		c := strings.TrimRight(t[:n], " ") + "\x85" // … in Windows-1252
		if r.f.GetStringWidth(c) <= w {
			return c
		}
	}
	return "\x85"
}

// header draws page 1's top: issuer, title, code, QR, dates, period.
func (r *renderer) header() {
	textW := contentW - qrSide - 4
	r.y = 12
	r.font(true, 10)
	r.setColor(inkBlue)
	r.text(marginX, textW, 5, r.issuer(), "L")
	r.y += 7
	r.font(true, 16)
	r.setColor(inkBlack)
	r.text(marginX, textW, 8, r.title, "L")
	r.y += 10
	r.font(false, 8)
	r.setColor(inkGrey)
	r.text(marginX, textW, 4, "Code de vérification", "L")
	r.y += 4
	r.font(true, 22)
	r.setColor(inkBlack)
	r.text(marginX, textW, 10, r.code, "L")
	r.y += 12
	r.font(false, 9.5)
	r.text(marginX, textW, 5, "Délivrée le "+frenchTime(r.issued), "L")
	r.y += 5
	r.text(marginX, textW, 5, "Valable jusqu'au "+frenchTime(r.expires), "L")
	r.y += 5
	s := &r.doc.Summary
	if s.From != "" || s.To != "" {
		r.text(marginX, textW, 5, "Période : "+periodRange(s.From, s.To), "L")
		r.y += 5
	}
	end := r.y
	r.qr()
	r.y = 12 + qrSide + 0.5
	r.font(false, 6.5)
	r.setColor(inkGrey)
	r.text(pageW-marginX-qrSide-5, qrSide+10, 3, "Scannez pour vérifier", "C")
	r.setColor(inkBlack)
	r.y = max(end, r.y+3) + 3
	r.line(marginX, pageW-marginX, r.y, 0.4, inkBlue)
	r.y += 4
}

// qr draws the QR code of the verification URL, level M, as one path of rectangles (one per
// horizontal run of dark modules) filled in black: no image to encode. The white quiet zone is the
// page's: nothing is painted within 4 modules of the code.
func (r *renderer) qr() {
	c, err := qr.Encode(r.url, qr.M)
	if err != nil { // a URL too long for a QR code: the footer still prints it
		return
	}
	m := qrSide / float64(c.Size)
	x0, y0 := pageW-marginX-qrSide, 12.0
	r.setFill(inkBlack)
	for y := 0; y < c.Size; y++ {
		for x := 0; x < c.Size; {
			if !c.Black(x, y) {
				x++
				continue
			}
			start := x
			for x < c.Size && c.Black(x, y) {
				x++
			}
			// A hair of overlap so that viewers' anti-aliasing leaves no seams between rows.
			r.num((x0 + float64(start)*m) * ptPerMM)
			r.num((pageH - y0 - float64(y)*m) * ptPerMM)
			r.num(float64(x-start) * m * ptPerMM)
			r.num(-(m + 0.02) * ptPerMM)
			r.ops = append(r.ops, "re\n"...)
		}
	}
	r.ops = append(r.ops, "f\n"...)
}

// company draws the employer's identity block.
func (r *renderer) company() {
	c := &r.doc.Company
	r.section("Employeur")
	half := contentW / 2
	labelW := 31.0
	top := r.y
	r.y += 1
	r.field(marginX, contentW, labelW, "Raison sociale", c.Name)
	r.field(marginX, contentW, labelW, "Activité", c.Activity)
	r.field(marginX, contentW, labelW, "Adresse", joinNonEmpty(", ", c.Address, c.City))
	pairs := [][4]string{
		{"N° d'affiliation", c.Affiliation, "Affilié depuis le", frenchDate(c.AffiliationDate)},
		{"ICE", c.ICE, "Forme juridique", c.LegalForm},
		{"RC", c.RC, "Taxe professionnelle", c.TP},
		{"IF", c.IF, "", ""},
	}
	for _, p := range pairs {
		y := r.y
		r.field(marginX, half, labelW, p[0], p[1])
		if p[2] != "" {
			r.y = y
			r.field(marginX+half, half, 36, p[2], p[3])
		}
	}
	r.box(top)
}

// box frames what was drawn since top.
func (r *renderer) box(top float64) {
	r.y += 1
	r.frameRect(marginX, top, contentW, r.y-top, frameGrey)
	r.y += 5
}

// field draws "label  value" on one line.
func (r *renderer) field(x, w, labelW float64, label, value string) {
	r.font(false, 8.5)
	r.setColor(inkGrey)
	r.text(x+1, labelW, rowH, label, "L")
	r.font(true, 9)
	r.setColor(inkBlack)
	if strings.TrimSpace(value) == "" {
		value = "—"
	}
	r.text(x+1+labelW, w-labelW-2, rowH, value, "L")
	r.y += rowH
}

// section draws a section title.
func (r *renderer) section(title string) {
	r.font(true, 11)
	r.setColor(inkBlue)
	r.text(marginX, contentW, 6, title, "L")
	r.setColor(inkBlack)
	r.y += 7
}

// person draws the insured person of a salary attestation.
func (r *renderer) person() {
	p := r.doc.Person
	r.section("Assuré(e)")
	top := r.y
	r.y += 1
	r.field(marginX, contentW, 31, "Nom et prénom", joinNonEmpty(" ", p.Surname, p.FirstName))
	r.field(marginX, contentW, 31, "Immatriculation", p.Imm)
	r.box(top)
}

// A tableSpec is a table's columns.
type tableSpec struct {
	heads  []string
	widths []float64
	aligns []string
	rowH   float64
	size   float64 // font size
}

// startTable draws a section title and the table's header, on a new page if fewer than three rows
// would fit under them.
func (r *renderer) startTable(title string, t *tableSpec) {
	if r.y+7+t.rowH*4 > bodyBottom {
		r.newPage()
	}
	r.section(title)
	r.table = t
	r.tableHeader()
}

func (r *renderer) tableHeader() {
	t := r.table
	r.font(true, t.size)
	r.rect(marginX, r.y, contentW, t.rowH, headerShade)
	r.setColor(inkBlack)
	x := marginX
	for i, h := range t.heads {
		r.text(x, t.widths[i], t.rowH, h, t.aligns[i])
		x += t.widths[i]
	}
	r.y += t.rowH
	r.font(false, t.size)
}

// row draws one table row in the table's regular font, or in bold for a total; it breaks the page
// first if the row would not fit.
func (r *renderer) row(bold bool, cells ...string) {
	t := r.table
	if r.y+t.rowH > bodyBottom {
		r.newPage()
		r.tableHeader()
	}
	if bold {
		r.font(true, t.size)
	}
	x := marginX
	for i, c := range cells {
		r.text(x, t.widths[i], t.rowH, c, t.aligns[i])
		x += t.widths[i]
	}
	r.y += t.rowH
	r.line(marginX, marginX+contentW, r.y, 0.2, ruleGrey)
	if bold {
		r.font(false, t.size)
	}
}

// endTable closes a table: what follows is no longer continued on a new page.
func (r *renderer) endTable() {
	r.table = nil
	r.y += 6
}

// newPage starts a continuation page with the title and the code; the caller draws the table header
// again.
func (r *renderer) newPage() {
	r.addPage()
	r.y = 12
	r.font(true, 9)
	r.setColor(inkBlue)
	r.text(marginX, contentW*0.7, 5, r.title+" — suite", "L")
	r.setColor(inkBlack)
	r.text(marginX+contentW*0.7, contentW*0.3, 5, r.code, "R")
	r.y += 6
	r.line(marginX, pageW-marginX, r.y, 0.2, inkBlue)
	r.y += 3
}

// months draws the months table with its total: KindEmployees and KindThirdParty.
func (r *renderer) months() {
	r.startTable("Déclarations mensuelles", &tableSpec{
		heads:  []string{"Période", "Effectif déclaré", "Masse salariale déclarée"},
		widths: []float64{50, 50, 80},
		aligns: []string{"L", "R", "R"},
		rowH:   rowH,
		size:   9.5,
	})
	var total int64
	for _, m := range r.doc.Summary.Months {
		r.row(false, FormatPeriod(m.Period), strconv.Itoa(m.Headcount), FormatAmount(m.Payroll))
		total += m.Payroll
	}
	r.row(true, "Total", "", FormatAmount(total))
	r.endTable()
}

// nominative draws the nominative list: KindEmployees only.
func (r *renderer) nominative() {
	r.startTable("Liste nominative des salariés déclarés", &tableSpec{
		heads:  []string{"Période", "Immatriculation", "Nom et prénom", "Jours", "Salaire déclaré"},
		widths: []float64{20, 30, 83, 14, 33},
		aligns: []string{"L", "L", "L", "R", "R"},
		rowH:   listRowH,
		size:   8.5,
	})
	var name strings.Builder
	for i := range r.doc.Lines {
		l := &r.doc.Lines[i]
		name.Reset()
		name.WriteString(l.Surname)
		name.WriteByte(' ')
		name.WriteString(l.FirstName)
		imm := l.Imm
		if imm == "" {
			imm = "—" // declared without an immatriculation
		}
		r.row(false, FormatPeriod(l.Period), imm, strings.TrimSpace(name.String()),
			strconv.Itoa(l.Days), FormatAmount(l.Salary))
	}
	if len(r.doc.Lines) == 0 {
		r.row(false, "", "", "Aucun salarié déclaré sur la période", "", "")
	}
	r.endTable()
}

// salary draws the insured person's own lines and their own total: KindSalary. The lines are the
// person's (package gate opens no one else's); Imm holds the affiliation number of the employer
// that declared the line, as gate builds them, or the person's own immatriculation, read then as
// Company's line. The lines' names are not printed: the person's are, once, above.
func (r *renderer) salary() {
	r.startTable("Salaires déclarés", &tableSpec{
		heads:  []string{"Période", "Employeur (affiliation)", "Jours", "Salaire déclaré"},
		widths: []float64{30, 70, 30, 50},
		aligns: []string{"L", "L", "R", "R"},
		rowH:   rowH,
		size:   9.5,
	})
	var days int
	var total int64
	for i := range r.doc.Lines {
		l := &r.doc.Lines[i]
		employer := l.Imm
		if employer == "" || employer == r.doc.Person.Imm {
			employer = r.doc.Company.Affiliation
		}
		r.row(false, FormatPeriod(l.Period), employer, strconv.Itoa(l.Days), FormatAmount(l.Salary))
		days += l.Days
		total += l.Salary
	}
	r.row(true, "Total", "", strconv.Itoa(days), FormatAmount(total))
	r.endTable()
}

// footers draws every page's footer once the page count is known. The footer's font shrinks, down to
// 5 points, rather than cut the verification link.
func (r *renderer) footers() {
	n := r.f.PageCount()
	left := "Vérifiez ce document sur " + r.url + " ou avec amane verify."
	size := 7.5
	r.font(false, size)
	if w := r.f.GetStringWidth(winAnsi(left)); w > contentW-25-2*pad {
		size = max(5, math.Floor(size*(contentW-25-2*pad)/w*10)/10) // widths scale with the size
	}
	for i := 1; i <= n; i++ {
		r.goToPage(i)
		r.font(false, size)
		r.line(marginX, pageW-marginX, footerY, 0.2, inkBlue)
		r.setColor(inkGrey)
		r.y = footerY + 1
		r.text(marginX, contentW-25, 4.5, left, "L")
		r.text(pageW-marginX-25, 25, 4.5, "page "+strconv.Itoa(i)+"/"+strconv.Itoa(n), "R")
	}
}

// FormatAmount formats centimes as the documents print money: "12 345,67 MAD", plain spaces between
// thousands, a comma before the centimes.
func FormatAmount(centimes int64) string {
	var buf [32]byte
	b := buf[:0]
	u := uint64(centimes)
	if centimes < 0 {
		b = append(b, '-')
		u = -u
	}
	var digits [20]byte
	units := strconv.AppendUint(digits[:0], u/100, 10)
	for i, d := range units {
		if i > 0 && (len(units)-i)%3 == 0 {
			b = append(b, ' ')
		}
		b = append(b, d)
	}
	c := u % 100
	b = append(b, ',', byte('0'+c/10), byte('0'+c%10), ' ', 'M', 'A', 'D')
	return string(b)
}

// FormatPeriod formats a period AAAAMM as the tables print it, "MM/AAAA"; anything else is returned
// as it is.
func FormatPeriod(p string) string {
	if len(p) != 6 || !allDigits(p) {
		return p
	}
	return p[4:] + "/" + p[:4]
}

// MonthText is a months-table row as PageText returns it: period, headcount and payroll, separated by
// tabs. A verifier looks for it on the pages to check that the visible figures are the signed ones.
func MonthText(m Month) string {
	return FormatPeriod(m.Period) + "\t" + strconv.Itoa(m.Headcount) + "\t" + FormatAmount(m.Payroll)
}

var frenchMonths = [...]string{"janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
	"septembre", "octobre", "novembre", "décembre"}

// frenchTime prints an instant in UTC: "15 mars 2026 à 10:04 UTC".
func frenchTime(t time.Time) string {
	return fmt.Sprintf("%d %s %d à %02d:%02d UTC", t.Day(), frenchMonths[t.Month()-1], t.Year(), t.Hour(), t.Minute())
}

// frenchDate prints an ISO date (AAAA-MM-JJ) as "JJ/MM/AAAA"; anything else as it is.
func frenchDate(s string) string {
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t.Format("02/01/2006")
	}
	return s
}

// periodRange prints "janvier 2024 – décembre 2024" from two AAAAMM periods.
func periodRange(from, to string) string {
	name := func(p string) string {
		if len(p) == 6 && allDigits(p) {
			if m, _ := strconv.Atoi(p[4:]); m >= 1 && m <= 12 {
				return frenchMonths[m-1] + " " + p[:4]
			}
		}
		return p
	}
	switch {
	case from == to || to == "":
		return name(from)
	case from == "":
		return name(to)
	}
	return name(from) + " – " + name(to)
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func joinNonEmpty(sep string, parts ...string) string {
	var out []string
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, sep)
}

// winAnsi encodes s in Windows-1252 for the fonts: a character the encoding lacks, a control
// character or invalid UTF-8 becomes "?". ASCII text is returned as it is, without a copy.
func winAnsi(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7F {
			ascii = false
			break
		}
	}
	if ascii {
		return s
	}
	b := make([]byte, 0, len(s))
	for _, c := range s {
		e, ok := charmap.Windows1252.EncodeRune(c)
		if !ok || e < 0x20 || e == 0x7F {
			e = '?'
		}
		b = append(b, e)
	}
	return string(b)
}
