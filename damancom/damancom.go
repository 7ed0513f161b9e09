// Package damancom reads and writes the two Damancom exchange files of the CNSS salary declaration
// (BDS): the préétabli the CNSS sends to an employer (records A00, A01, one A02 per insured, A03) and
// the declaration the employer sends back (B00, B01, one B02 per A02, B03, the B04 new employees, B05,
// B06). The layouts, control sums and line rules follow /work/shared/reference/damancom-bds.md, itself a
// digest of the CNSS "Cahier des charges relatif à la réalisation des déclarations des salaires en mode
// échange de fichiers" (version 2, 2006); layout.go holds its tables, field by field, with 0-based
// [start, end) offsets.
//
// # Format
//
// Every record is one line of exactly Width (260) characters, then a line end: LF or CRLF on input (one
// kind per file), LineEnding on output. Numeric fields are right-aligned and zero-padded, amounts in
// centimes. Text fields are left-aligned and space-padded; a decoded text field keeps its leading
// spaces and loses only its right padding, so that Encode(Decode(file)) reproduces the file.
//
// # Decoding
//
// DecodePreetabli and DecodeDeclaration read the whole input and check everything that needs no
// registry: line length, record types and order, the header category, the character set, numeric and
// filler fields, the affiliation and period of every record, dates, each line's S_Ctr, every recap field
// (A03, B03, B05, and B06 = B03 + B05), and the line rules of the reference (days, situations, new and
// occasional employees, duplicate insured numbers). Every problem goes into one *Report, sorted by line
// and column, and the decoded value is nil when there is any. The capped-salary rule needs the ceiling
// in force for the period: CheckCeiling applies it separately.
//
// Problems never carry a personal value: text fields (names, CIN, and for uniformity the employer's
// text fields too) are described ("a character outside the allowed set at position 7 (column 32)"),
// never echoed. Numbers, dates, codes and counts are echoed: the report goes back to the employer who
// sent the file.
//
// # Choices where the reference is silent
//
//   - Character set. The cahier lists 38 allowed characters without the reference naming them; this
//     package allows A-Z, 0-9, space and the punctuation . , ' - / & : ( ) (46 characters, see
//     AllowedPunctuation). Lower case, accented letters and anything else is a problem whose rule
//     names the transliteration (Transliterate: É→E, Ç→C, à→A, Œ→OE, ß→SS, typographic apostrophes
//     and dashes to ' and -, lower to upper, any other character to a space).
//   - Input encoding. A file that is valid UTF-8 is read as UTF-8, any other as Latin-1 (ISO-8859-1);
//     lengths count characters, not bytes, so an accented letter is reported in its field and not as a
//     wrong length. A UTF-8 byte-order mark is a problem (field "charset").
//   - Line ends. A mix of LF and CRLF is a problem (field "line end") on the first line that differs
//     from the first line's end. The last line may lack its line end; Encode always writes it, so such a
//     file is the one valid input that does not round-trip byte for byte.
//   - Reference affiliation and period: those of the first record that carries well-formed ones (A01 or
//     B01 in a well-ordered file); every other record is compared with them.
//   - Blank B04. When a declaration has no new employee, known implementations write one B04 "of blanks
//     and zeros". Here that is: the record type, the affiliation and the period, then N_Num_Assure
//     000000000, L_Nom_Prenom and L_Num_CIN blank, N_Nbr_Jours, N_Sal_Reel, N_Sal_Plaf and S_Ctr all
//     zeros, and the filler. It counts 0 in B05 and B06 (N_Nbr_Salaries is the number of new
//     employees). It may only be the single B04 line of the file. A B04 of spaces in its numeric
//     fields is not accepted: numeric fields are always digits.
//   - Zero B04 lines are accepted (BlankB04 false, New empty); so are zero A02/B02 lines.
//   - Duplicate insured numbers are looked for across A02, and across B02 and B04 together (a new
//     employee already on the préétabli is declared twice); 999999999 (occasional) and the blank B04 are
//     exempt.
//   - N_T_Num_Imma and N_T_Ctr are checked against the sums computed from the lines (each line's
//     control computed from its fields), and B06 against the computed B03 + B05 totals: a single wrong
//     S_Ctr is reported once, on its line. A recap field whose column holds an unreadable value in some
//     line is not checked (its expected value is unknown); the unreadable value is reported.
//   - A record out of order is reported once (field "order") and then ignored: it is neither counted
//     in the recaps nor used to fill the value. A wrong-length line is reported once (field "length")
//     and its fields are not read.
//   - Periods and dates must be real calendar months and days with a year from 1900 to 2999; that
//     makes AAAAMM and MMAAAA file names unambiguous.
//   - Field names not given by the reference follow the cahier's conventions (N_ number, L_ text,
//     D_ date, C_ code, S_ control): L_Type_Enreg, L_Raison_Sociale, L_Activite, L_Adresse, L_Ville,
//     C_Code_Postal, C_Code_Agence, D_Date_Emission, D_Date_Exig, N_AF_A_Payer, N_AF_A_Deduire,
//     N_AF_Net_A_Payer, N_AF_A_Reverser, N_Nbr_Salaries, N_T_Enfants, N_T_AF_A_Payer, N_T_AF_A_Deduire,
//     N_T_AF_Net_A_Payer, N_T_AF_A_Reverser, N_T_Jours_Declares, N_T_Salaire_Reel, N_T_Salaire_Plaf,
//     L_filler. File-level problems use "length", "order", "line end" and "charset".
//   - Not checked, because the reference does not state it: AF net = AF à payer − AF à déduire, the due
//     date after the issue date, and a B02 line's AF à reverser outside situations SO and DE.
//
// # Encoding
//
// Encode computes every S_Ctr and recap, transliterates and truncates text fields to their width, and
// refuses (with a *Report) a numeric string field that is not exactly its width in digits, a negative or
// overflowing number, and anything the decoder would reject: Encode checks its own output with the
// decoder before writing a byte. Hence Decode(Encode(x)) == x for every x Encode accepts whose text
// fields are already canonical (upper case, allowed characters, no right padding, within width),
// LineEnding set, Cat set and LineNo the line each record gets; LineNo is never encoded.
//
// # Resources
//
// A decoder holds the whole input in one string, and every decoded text field is a substring of it:
// decoding allocates a few times per file, not per line or field (about 1 µs a line, see
// BenchmarkDecodeDeclaration). The report lists every problem, one or more per bad line, so a caller
// that accepts files from outside bounds their size (io.LimitReader) before decoding.
package damancom

import (
	"strconv"
)

// Width is the length of every record in characters, line end excluded.
const Width = 260

// MaxDays is the largest number of days a line may declare for one month.
const MaxDays = 26

// Occasional is the insured number a B04 line carries for an occasional employee.
const Occasional = "999999999"

// Header categories (L_Cat) of the A00 and B00 records.
const (
	CatPreetabli   = "A0"
	CatDeclaration = "B0"
)

// Header is the A00 or B00 record.
type Header struct {
	TransferID string // N_Identif_Transfert: 14 digits, kept as text
	Cat        string // L_Cat: CatPreetabli or CatDeclaration; Encode writes the right one when empty
}

// Employer is the A01 or B01 record.
type Employer struct {
	Affiliation string // N_Num_Affilie: 7 digits
	Period      string // L_Periode: AAAAMM
	Name        string // raison sociale, 40 characters
	Activity    string // 40 characters
	Address     string // 120 characters
	City        string // 20 characters
	PostalCode  string // 6 characters as in the file, right padding trimmed
	Agency      string // 2 characters, right padding trimmed
	IssueDate   string // date d'émission, AAAAMMJJ
	DueDate     string // date d'exigibilité, AAAAMMJJ
}

// Insured is one A02 record: an insured employee as the CNSS knows them, and their family allowances.
type Insured struct {
	Number     string // N_Num_Assure: 9 digits
	Surname    string // first 30 characters of L_Nom_Prenom
	FirstName  string // last 30 characters of L_Nom_Prenom
	Children   int    // N_Enfants
	AFToPay    int64  // AF à payer, centimes
	AFToDeduct int64  // AF à déduire, centimes
	AFNet      int64  // AF net à payer, centimes
}

// Preetabli is the file the CNSS sends: AFFEBDS_<affiliation>_<period>.txt.
type Preetabli struct {
	Header     Header
	Employer   Employer
	Insured    []Insured
	LineEnding string // "\n" or "\r\n" as read; Encode writes "\n" when empty
}

// Line is one B02 record: an insured of the préétabli and what the employer declares for them.
type Line struct {
	Insured
	AFToReturn   int64  // AF à reverser, centimes
	Days         int    // N_Jours_Declares, 0 to MaxDays
	RealSalary   int64  // N_Salaire_Reel, centimes
	CappedSalary int64  // N_Salaire_Plaf, centimes
	Situation    string // L_Situation: "" or one of the Situation constants
	LineNo       int    // 1-based line in the file, 0 when built in memory; not encoded
}

// NewEmployee is one B04 record: an employee absent from the préétabli.
type NewEmployee struct {
	Number       string // N_Num_Assure: 9 digits, Occasional for an occasional employee
	Surname      string // first 30 characters of L_Nom_Prenom
	FirstName    string // last 30 characters of L_Nom_Prenom
	CIN          string // L_Num_CIN, 8 characters
	Days         int    // N_Nbr_Jours
	RealSalary   int64  // N_Sal_Reel, centimes
	CappedSalary int64  // N_Sal_Plaf, centimes
	LineNo       int    // 1-based line in the file, 0 when built in memory; not encoded
}

// Declaration is the file the employer sends: DS_<affiliation>_<period>.txt.
type Declaration struct {
	Header   Header
	Employer Employer
	Lines    []Line
	New      []NewEmployee
	// BlankB04 records that the file carried one B04 of blanks and zeros because there was no new
	// employee (see the package documentation); Encode writes it when New is empty and refuses it
	// otherwise.
	BlankB04   bool
	LineEnding string // "\n" or "\r\n" as read; Encode writes "\n" when empty
}

// Situations (L_Situation) of a B02 line. The blank situation is the ordinary one.
const (
	SituationNone                = ""
	SituationLeft                = "SO" // sortie: left the company
	SituationDeceased            = "DE" // décédé
	SituationMaternity           = "IT" // maternity leave
	SituationSickness            = "IL" // sick leave
	SituationWorkAccident        = "AT" // accident du travail
	SituationUnpaidLeave         = "CS" // congé sans solde
	SituationWithoutSalary       = "MS" // maintenu sans salaire
	SituationOccupationalDisease = "MP" // maladie professionnelle
)

// situations lists the codes in rank order: the index is the rank.
var situations = [...]string{SituationNone, SituationLeft, SituationDeceased, SituationMaternity,
	SituationSickness, SituationWorkAccident, SituationUnpaidLeave, SituationWithoutSalary,
	SituationOccupationalDisease}

// Situations returns the situation codes in rank order: the index of a code is its rank in S_Ctr.
func Situations() []string { return append([]string(nil), situations[:]...) }

// SituationRank returns the rank a situation code adds to a B02 line's S_Ctr: blank 0, SO 1, DE 2,
// IT 3, IL 4, AT 5, CS 6, MS 7, MP 8; ok is false for any other code.
func SituationRank(code string) (rank int, ok bool) {
	switch code {
	case SituationNone:
		return 0, true
	case SituationLeft:
		return 1, true
	case SituationDeceased:
		return 2, true
	case SituationMaternity:
		return 3, true
	case SituationSickness:
		return 4, true
	case SituationWorkAccident:
		return 5, true
	case SituationUnpaidLeave:
		return 6, true
	case SituationWithoutSalary:
		return 7, true
	case SituationOccupationalDisease:
		return 8, true
	}
	return 0, false
}

// situationWithoutWork reports whether a situation requires 0 days and 0 salary.
func situationWithoutWork(code string) bool {
	switch code {
	case SituationLeft, SituationUnpaidLeave, SituationWithoutSalary, SituationOccupationalDisease:
		return true
	}
	return false
}

// situationReturnsAF reports whether a situation requires AF à reverser = AF net à payer.
func situationReturnsAF(code string) bool {
	return code == SituationLeft || code == SituationDeceased
}

// situationName is the English name of a code, for rules.
func situationName(code string) string {
	switch code {
	case SituationLeft:
		return "left"
	case SituationDeceased:
		return "deceased"
	case SituationUnpaidLeave:
		return "unpaid leave"
	case SituationWithoutSalary:
		return "kept without salary"
	case SituationOccupationalDisease:
		return "occupational disease"
	}
	return code
}

// LineControl is a B02 line's S_Ctr:
//
//	N_Num_Assure + AF à reverser + N_Jours_Declares + N_Salaire_Reel + N_Salaire_Plaf + rank(L_Situation)
//
// with the insured number read as an integer (0 if it is not all digits) and an unknown situation
// ranked 0.
func LineControl(l Line) int64 {
	rank, _ := SituationRank(l.Situation)
	return numberValue(l.Number) + l.AFToReturn + int64(l.Days) + l.RealSalary + l.CappedSalary + int64(rank)
}

// NewControl is a B04 line's S_Ctr: N_Num_Assure + N_Nbr_Jours + N_Sal_Reel + N_Sal_Plaf, with the
// insured number read as an integer (0 if it is not all digits).
func NewControl(n NewEmployee) int64 {
	return numberValue(n.Number) + int64(n.Days) + n.RealSalary + n.CappedSalary
}

func numberValue(s string) int64 {
	v, err := strconv.ParseUint(s, 10, 63)
	if err != nil || !isDigits(s) {
		return 0
	}
	return int64(v)
}

// PreetabliToDeclaration starts the declaration that answers p: B00 copies the transfer identifier
// with L_Cat B0, B01 copies A01, and each A02 becomes a B02 line with AF à reverser, days and salaries
// at zero, for the employer to fill. It has no new employee and, as known implementations do, BlankB04
// set: clear it before adding to New.
func PreetabliToDeclaration(p *Preetabli) *Declaration {
	d := &Declaration{
		Header:     Header{TransferID: p.Header.TransferID, Cat: CatDeclaration},
		Employer:   p.Employer,
		Lines:      make([]Line, len(p.Insured)),
		BlankB04:   true,
		LineEnding: p.LineEnding,
	}
	for i, in := range p.Insured {
		d.Lines[i] = Line{Insured: in}
	}
	return d
}

// CheckCeiling checks the capped-salary rule, N_Salaire_Plaf = min(N_Salaire_Reel, ceiling), on every
// B02 line and N_Sal_Plaf = min(N_Sal_Reel, ceiling) on every B04 line, ceiling being the ceiling in
// force for the declaration's period, in centimes. Problems carry each line's LineNo.
func CheckCeiling(d *Declaration, ceiling int64) []Problem {
	var ps []Problem
	rule := "the capped salary is min(real salary, ceiling " + strconv.FormatInt(ceiling, 10) + ")"
	for _, l := range d.Lines {
		if want := min(l.RealSalary, ceiling); l.CappedSalary != want {
			ps = append(ps, Problem{Line: l.LineNo, Record: "B02", Field: fCapped.name,
				Expected: strconv.FormatInt(want, 10), Found: strconv.FormatInt(l.CappedSalary, 10), Rule: rule})
		}
	}
	for _, n := range d.New {
		if want := min(n.RealSalary, ceiling); n.CappedSalary != want {
			ps = append(ps, Problem{Line: n.LineNo, Record: "B04", Field: fNewCapped.name,
				Expected: strconv.FormatInt(want, 10), Found: strconv.FormatInt(n.CappedSalary, 10), Rule: rule})
		}
	}
	return ps
}
