package damancom

import "strings"

// The tables of /work/shared/reference/damancom-bds.md, field by field. Offsets are 0-based,
// [start, end); every record starts with its type in [0, 3) and is Width characters long.

// kind says how a field is checked.
type kind uint8

const (
	kindNum    kind = iota // digits only
	kindText               // allowed character set; described, never echoed
	kindName               // personal text (L_Nom_Prenom, L_Num_CIN): the same checks as kindText
	kindPeriod             // AAAAMM
	kindDate               // AAAAMMJJ
	kindCat                // L_Cat: the file's category
	kindCode               // L_Situation: blank or a known code
	kindFiller             // spaces only
)

type field struct {
	name       string
	start, end int
	kind       kind
}

func (f field) width() int { return f.end - f.start }

// Header and employer records (A00/B00, A01/B01).
var (
	fType       = field{"L_Type_Enreg", 0, 3, kindText}
	fTransfer   = field{"N_Identif_Transfert", 3, 17, kindNum}
	fCat        = field{"L_Cat", 17, 19, kindCat}
	fAff        = field{"N_Num_Affilie", 3, 10, kindNum}
	fPeriod     = field{"L_Periode", 10, 16, kindPeriod}
	fEmpName    = field{"L_Raison_Sociale", 16, 56, kindText}
	fActivity   = field{"L_Activite", 56, 96, kindText}
	fAddress    = field{"L_Adresse", 96, 216, kindText}
	fCity       = field{"L_Ville", 216, 236, kindText}
	fPostalCode = field{"C_Code_Postal", 236, 242, kindText}
	fAgency     = field{"C_Code_Agence", 242, 244, kindText}
	fIssueDate  = field{"D_Date_Emission", 244, 252, kindDate}
	fDueDate    = field{"D_Date_Exig", 252, 260, kindDate}
)

// Insured records (A02, B02) and new employees (B04).
var (
	fNumber     = field{"N_Num_Assure", 16, 25, kindNum}
	fNomPrenom  = field{"L_Nom_Prenom", 25, 85, kindName} // surname [25, 55), first name [55, 85)
	fChildren   = field{"N_Enfants", 85, 87, kindNum}
	fAFToPay    = field{"N_AF_A_Payer", 87, 93, kindNum}
	fAFToDeduct = field{"N_AF_A_Deduire", 93, 99, kindNum}
	fAFNet      = field{"N_AF_Net_A_Payer", 99, 105, kindNum}
	fAFToReturn = field{"N_AF_A_Reverser", 105, 111, kindNum}
	fDays       = field{"N_Jours_Declares", 111, 113, kindNum}
	fReal       = field{"N_Salaire_Reel", 113, 126, kindNum}
	fCapped     = field{"N_Salaire_Plaf", 126, 135, kindNum}
	fSituation  = field{"L_Situation", 135, 137, kindCode}
	fCtr        = field{"S_Ctr", 137, 156, kindNum}

	fCIN       = field{"L_Num_CIN", 85, 93, kindName}
	fNewDays   = field{"N_Nbr_Jours", 93, 95, kindNum}
	fNewReal   = field{"N_Sal_Reel", 95, 108, kindNum}
	fNewCapped = field{"N_Sal_Plaf", 108, 117, kindNum}
	fNewCtr    = field{"S_Ctr", 117, 136, kindNum}
)

const (
	surnameStart, surnameEnd = 25, 55
	firstStart, firstEnd     = 55, 85
)

// Recap records: A03 and B03 (of the A02/B02 lines), B05 (of the B04 lines), B06 (B03 + B05).
var (
	fCount      = field{"N_Nbr_Salaries", 16, 22, kindNum}
	fTChildren  = field{"N_T_Enfants", 22, 28, kindNum}
	fTAFToPay   = field{"N_T_AF_A_Payer", 28, 40, kindNum}
	fTAFDeduct  = field{"N_T_AF_A_Deduire", 40, 52, kindNum}
	fTAFNet     = field{"N_T_AF_Net_A_Payer", 52, 64, kindNum}
	fTNumbers   = field{"N_T_Num_Imma", 64, 79, kindNum}
	fTAFReturn  = field{"N_T_AF_A_Reverser", 79, 91, kindNum}
	fTDays      = field{"N_T_Jours_Declares", 91, 97, kindNum}
	fTReal      = field{"N_T_Salaire_Reel", 97, 112, kindNum}
	fTCapped    = field{"N_T_Salaire_Plaf", 112, 125, kindNum}
	fTCtr       = field{"N_T_Ctr", 125, 144, kindNum}
	fNTNumbers  = field{"N_T_Num_Imma", 22, 37, kindNum}
	fNTDays     = field{"N_T_Jours_Declares", 37, 43, kindNum}
	fNTReal     = field{"N_T_Salaire_Reel", 43, 58, kindNum}
	fNTCapped   = field{"N_T_Salaire_Plaf", 58, 71, kindNum}
	fNTCtr      = field{"N_T_Ctr", 71, 90, kindNum}
	fillerA00   = filler(19)
	fillerA02   = filler(105)
	fillerB02   = filler(156)
	fillerA03   = filler(79)
	fillerB03   = filler(144)
	fillerB04   = filler(136)
	fillerB05   = filler(90)
	employerRec = []field{fAff, fPeriod, fEmpName, fActivity, fAddress, fCity, fPostalCode, fAgency, fIssueDate, fDueDate}
)

func filler(start int) field { return field{"L_filler", start, Width, kindFiller} }

// column is a summed column of the recaps.
type column uint8

const (
	colCount column = iota
	colChildren
	colAFToPay
	colAFToDeduct
	colAFNet
	colNumbers
	colAFToReturn
	colDays
	colReal
	colCapped
	colCtr
	nColumns
)

// recapField is a recap field and the column it totals; rule says how, for problems.
type recapField struct {
	f    field
	col  column
	rule string
}

// record is one record type: its fields in order, and for a recap the totals it carries.
type record struct {
	typ    string
	rank   int  // position in the file's order
	repeat bool // A02, B02, B04: any number of lines
	fields []field
	recap  []recapField
}

var (
	recA00 = &record{typ: "A00", rank: 0, fields: []field{fTransfer, fCat, fillerA00}}
	recA01 = &record{typ: "A01", rank: 1, fields: employerRec}
	recA02 = &record{typ: "A02", rank: 2, repeat: true, fields: []field{fAff, fPeriod, fNumber, fNomPrenom,
		fChildren, fAFToPay, fAFToDeduct, fAFNet, fillerA02}}
	recA03 = &record{typ: "A03", rank: 3, fields: []field{fAff, fPeriod, fCount, fTChildren, fTAFToPay,
		fTAFDeduct, fTAFNet, fTNumbers, fillerA03}, recap: []recapField{
		{fCount, colCount, "the number of A02 records"},
		{fTChildren, colChildren, "the sum of N_Enfants over the A02 records"},
		{fTAFToPay, colAFToPay, "the sum of N_AF_A_Payer over the A02 records"},
		{fTAFDeduct, colAFToDeduct, "the sum of N_AF_A_Deduire over the A02 records"},
		{fTAFNet, colAFNet, "the sum of N_AF_Net_A_Payer over the A02 records"},
		{fTNumbers, colNumbers, "the sum of N_Num_Assure over the A02 records"},
	}}

	recB00 = &record{typ: "B00", rank: 0, fields: recA00.fields}
	recB01 = &record{typ: "B01", rank: 1, fields: employerRec}
	recB02 = &record{typ: "B02", rank: 2, repeat: true, fields: []field{fAff, fPeriod, fNumber, fNomPrenom,
		fChildren, fAFToPay, fAFToDeduct, fAFNet, fAFToReturn, fDays, fReal, fCapped, fSituation, fCtr, fillerB02}}
	recB03 = &record{typ: "B03", rank: 3, fields: []field{fAff, fPeriod, fCount, fTChildren, fTAFToPay,
		fTAFDeduct, fTAFNet, fTNumbers, fTAFReturn, fTDays, fTReal, fTCapped, fTCtr, fillerB03}, recap: []recapField{
		{fCount, colCount, "the number of B02 records"},
		{fTChildren, colChildren, "the sum of N_Enfants over the B02 records"},
		{fTAFToPay, colAFToPay, "the sum of N_AF_A_Payer over the B02 records"},
		{fTAFDeduct, colAFToDeduct, "the sum of N_AF_A_Deduire over the B02 records"},
		{fTAFNet, colAFNet, "the sum of N_AF_Net_A_Payer over the B02 records"},
		{fTNumbers, colNumbers, "the sum of N_Num_Assure over the B02 records"},
		{fTAFReturn, colAFToReturn, "the sum of N_AF_A_Reverser over the B02 records"},
		{fTDays, colDays, "the sum of N_Jours_Declares over the B02 records"},
		{fTReal, colReal, "the sum of N_Salaire_Reel over the B02 records"},
		{fTCapped, colCapped, "the sum of N_Salaire_Plaf over the B02 records"},
		{fTCtr, colCtr, "the sum of S_Ctr over the B02 records"},
	}}
	recB04 = &record{typ: "B04", rank: 4, repeat: true, fields: []field{fAff, fPeriod, fNumber, fNomPrenom,
		fCIN, fNewDays, fNewReal, fNewCapped, fNewCtr, fillerB04}}
	recB05 = &record{typ: "B05", rank: 5, fields: []field{fAff, fPeriod, fCount, fNTNumbers, fNTDays, fNTReal,
		fNTCapped, fNTCtr, fillerB05}, recap: []recapField{
		{fCount, colCount, "the number of B04 records of new employees (a blank B04 counts 0)"},
		{fNTNumbers, colNumbers, "the sum of N_Num_Assure over the B04 records"},
		{fNTDays, colDays, "the sum of N_Nbr_Jours over the B04 records"},
		{fNTReal, colReal, "the sum of N_Sal_Reel over the B04 records"},
		{fNTCapped, colCapped, "the sum of N_Sal_Plaf over the B04 records"},
		{fNTCtr, colCtr, "the sum of S_Ctr over the B04 records"},
	}}
	recB06 = &record{typ: "B06", rank: 6, fields: recB05.fields, recap: []recapField{
		{fCount, colCount, "the sum of its B03 and B05 values (B06 = B03 + B05)"},
		{fNTNumbers, colNumbers, "the sum of its B03 and B05 values (B06 = B03 + B05)"},
		{fNTDays, colDays, "the sum of its B03 and B05 values (B06 = B03 + B05)"},
		{fNTReal, colReal, "the sum of its B03 and B05 values (B06 = B03 + B05)"},
		{fNTCapped, colCapped, "the sum of its B03 and B05 values (B06 = B03 + B05)"},
		{fNTCtr, colCtr, "the sum of its B03 and B05 values (B06 = B03 + B05)"},
	}}

	preetabliOrder   = []*record{recA00, recA01, recA02, recA03}
	declarationOrder = []*record{recB00, recB01, recB02, recB03, recB04, recB05, recB06}
)

// blankB04Body is [16, 136) of a blank B04: see the package documentation.
var blankB04Body = strings.Repeat("0", 9) + strings.Repeat(" ", 60+8) + strings.Repeat("0", 2+13+9+19)
