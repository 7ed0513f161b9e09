package damancom_test

import (
	"errors"
	"strings"
	"testing"

	"amane/damancom"
)

// decodeAny decodes file as a préétabli or a declaration; ok reports a nil value.
func decodeAny(pre bool, file string) (nilValue bool, err error) {
	if pre {
		p, err := damancom.DecodePreetabli(strings.NewReader(file))
		return p == nil, err
	}
	d, err := damancom.DecodeDeclaration(strings.NewReader(file))
	return d == nil, err
}

// TestBroken edits one field (or moves one line) of a valid file and checks the first problem.
func TestBroken(t *testing.T) {
	D := encodeDeclaration(t, baseDeclaration())
	P := encodePreetabli(t, samplePreetabli(3))
	blankB04 := "B04" + field(D, 7, 3, 16) + "000000000" + strings.Repeat(" ", 68) + strings.Repeat("0", 43) + strings.Repeat(" ", 124)

	type tc struct {
		name  string
		pre   bool
		file  string
		line  int
		field string
	}
	tests := []tc{
		// Lines and record types.
		{"LengthShort", false, set(D, 4, 259, 260, ""), 4, "length"},
		{"LengthLong", false, set(D, 9, 260, 260, " "), 9, "length"},
		{"LengthEmptyLine", false, insertLine(D, 3, ""), 3, "length"},
		{"TypeUnknown", false, set(D, 4, 0, 3, "B09"), 4, "L_Type_Enreg"},
		{"TypeOfPreetabli", false, set(D, 4, 0, 3, "A02"), 4, "L_Type_Enreg"},
		{"TypeLowerCase", false, set(D, 3, 0, 3, "b02"), 3, "L_Type_Enreg"},
		{"TypeOfDeclaration", true, set(P, 3, 0, 3, "B02"), 3, "L_Type_Enreg"},
		{"ByteOrderMark", false, "\uFEFF" + D, 1, "charset"},
		{"LineEndCRLFInLF", false, set(D, 5, 260, 260, "\r"), 5, "line end"},
		{"LineEndLFInCRLF", false, crlfExceptLine(D, 2), 2, "line end"},

		// Header and employer.
		{"CatDeclaration", false, set(D, 1, 17, 19, "A0"), 1, "L_Cat"},
		{"CatPreetabli", true, set(P, 1, 17, 19, "B0"), 1, "L_Cat"},
		{"TransferIDNotDigits", false, set(D, 1, 16, 17, "X"), 1, "N_Identif_Transfert"},
		{"PeriodMonth13", false, set(D, 2, 10, 16, "202413"), 2, "L_Periode"},
		{"IssueDateFeb30", false, set(D, 2, 244, 252, "20240230"), 2, "D_Date_Emission"},
		{"DueDateNotDigits", false, set(D, 2, 252, 260, "2024041 "), 2, "D_Date_Exig"},
		{"DueDatePreetabli", true, set(P, 2, 252, 260, "20241301"), 2, "D_Date_Exig"},

		// Affiliation and period on every record.
		{"AffiliationB02", false, set(D, 4, 3, 10, "9000018"), 4, "N_Num_Affilie"},
		{"PeriodB03", false, set(D, 6, 10, 16, "202404"), 6, "L_Periode"},
		{"AffiliationA03", true, set(P, 6, 3, 10, "9000099"), 6, "N_Num_Affilie"},
		{"PeriodA02", true, set(P, 4, 10, 16, "202402"), 4, "L_Periode"},
		{"AffiliationNotDigitsB05", false, set(D, 9, 3, 10, "90000 7"), 9, "N_Num_Affilie"},
		{"PeriodB06", false, set(D, 10, 10, 16, "202303"), 10, "L_Periode"},

		// Character set.
		{"CharsetLowerCaseName", false, set(D, 3, 26, 27, "s"), 3, "L_Nom_Prenom"},
		{"CharsetAccentUTF8", false, set(D, 3, 26, 27, "É"), 3, "L_Nom_Prenom"},
		{"CharsetLatin1", false, set(D, 5, 27, 28, "\xe9"), 5, "L_Nom_Prenom"},
		{"CharsetFirstName", true, set(P, 5, 60, 61, "*"), 5, "L_Nom_Prenom"},
		{"CharsetRaisonSociale", false, set(D, 2, 16, 17, "*"), 2, "L_Raison_Sociale"},
		{"CharsetVille", true, set(P, 2, 216, 217, "ç"), 2, "L_Ville"},
		{"CharsetCIN", false, set(D, 7, 85, 86, "z"), 7, "L_Num_CIN"},
		{"CharsetTab", false, set(D, 2, 100, 101, "\t"), 2, "L_Adresse"},

		// Numeric fields and fillers.
		{"NumericSpaceChildren", false, set(D, 3, 85, 87, " 1"), 3, "N_Enfants"},
		{"NumericLetterSalary", false, set(D, 5, 118, 119, "O"), 5, "N_Salaire_Reel"},
		{"NumericB04Days", false, set(D, 7, 93, 95, "1 "), 7, "N_Nbr_Jours"},
		{"NumericSign", true, set(P, 3, 87, 88, "-"), 3, "N_AF_A_Payer"},
		{"FillerB00", false, set(D, 1, 259, 260, "."), 1, "L_filler"},
		{"FillerB02", false, set(D, 3, 200, 201, "X"), 3, "L_filler"},
		{"FillerB04", false, set(D, 8, 140, 141, "0"), 8, "L_filler"},
		{"FillerB06", false, set(D, 10, 90, 91, "0"), 10, "L_filler"},
		{"FillerA03", true, set(P, 6, 100, 101, "0"), 6, "L_filler"},

		// Line control sums.
		{"S_CtrB02", false, bump(D, 3, 137, 156), 3, "S_Ctr"},
		{"S_CtrB02Situation", false, bump(D, 4, 137, 156), 4, "S_Ctr"},
		{"S_CtrB04", false, bump(D, 7, 117, 136), 7, "S_Ctr"},
		{"S_CtrB04Occasional", false, bump(D, 8, 117, 136), 8, "S_Ctr"},

		// A03, every field.
		{"A03Count", true, bump(P, 6, 16, 22), 6, "N_Nbr_Salaries"},
		{"A03Children", true, bump(P, 6, 22, 28), 6, "N_T_Enfants"},
		{"A03AFToPay", true, bump(P, 6, 28, 40), 6, "N_T_AF_A_Payer"},
		{"A03AFToDeduct", true, bump(P, 6, 40, 52), 6, "N_T_AF_A_Deduire"},
		{"A03AFNet", true, bump(P, 6, 52, 64), 6, "N_T_AF_Net_A_Payer"},
		{"A03NumImma", true, bump(P, 6, 64, 79), 6, "N_T_Num_Imma"},

		// B03, every field.
		{"B03Count", false, bump(D, 6, 16, 22), 6, "N_Nbr_Salaries"},
		{"B03Children", false, bump(D, 6, 22, 28), 6, "N_T_Enfants"},
		{"B03AFToPay", false, bump(D, 6, 28, 40), 6, "N_T_AF_A_Payer"},
		{"B03AFToDeduct", false, bump(D, 6, 40, 52), 6, "N_T_AF_A_Deduire"},
		{"B03AFNet", false, bump(D, 6, 52, 64), 6, "N_T_AF_Net_A_Payer"},
		{"B03NumImma", false, bump(D, 6, 64, 79), 6, "N_T_Num_Imma"},
		{"B03AFToReturn", false, bump(D, 6, 79, 91), 6, "N_T_AF_A_Reverser"},
		{"B03Days", false, bump(D, 6, 91, 97), 6, "N_T_Jours_Declares"},
		{"B03Real", false, bump(D, 6, 97, 112), 6, "N_T_Salaire_Reel"},
		{"B03Capped", false, bump(D, 6, 112, 125), 6, "N_T_Salaire_Plaf"},
		{"B03Ctr", false, bump(D, 6, 125, 144), 6, "N_T_Ctr"},

		// B05 and B06, every field.
		{"B05Count", false, bump(D, 9, 16, 22), 9, "N_Nbr_Salaries"},
		{"B05NumImma", false, bump(D, 9, 22, 37), 9, "N_T_Num_Imma"},
		{"B05Days", false, bump(D, 9, 37, 43), 9, "N_T_Jours_Declares"},
		{"B05Real", false, bump(D, 9, 43, 58), 9, "N_T_Salaire_Reel"},
		{"B05Capped", false, bump(D, 9, 58, 71), 9, "N_T_Salaire_Plaf"},
		{"B05Ctr", false, bump(D, 9, 71, 90), 9, "N_T_Ctr"},
		{"B06Count", false, bump(D, 10, 16, 22), 10, "N_Nbr_Salaries"},
		{"B06NumImma", false, bump(D, 10, 22, 37), 10, "N_T_Num_Imma"},
		{"B06Days", false, bump(D, 10, 37, 43), 10, "N_T_Jours_Declares"},
		{"B06Real", false, bump(D, 10, 43, 58), 10, "N_T_Salaire_Reel"},
		{"B06Capped", false, bump(D, 10, 58, 71), 10, "N_T_Salaire_Plaf"},
		{"B06Ctr", false, bump(D, 10, 71, 90), 10, "N_T_Ctr"},

		// Order.
		{"OrderB01BeforeB00", false, swapLines(D, 1, 2), 1, "order"},
		{"OrderTwoB01", false, insertLine(D, 3, lines(D)[1]), 3, "order"},
		{"OrderMissingB03", false, deleteLine(D, 6), 6, "order"},
		{"OrderB03AfterB04", false, swapLines(D, 6, 7), 6, "order"},
		{"OrderB06BeforeB05", false, swapLines(D, 9, 10), 9, "order"},
		{"OrderMissingB06", false, deleteLine(D, 10), 10, "order"},
		{"OrderB00AfterB06", false, join(append(lines(D), lines(D)[0])), 11, "order"},
		{"OrderEmptyFile", false, "", 1, "order"},
		{"OrderMissingA03", true, deleteLine(P, 6), 6, "order"},
		{"OrderTwoA00", true, insertLine(P, 2, lines(P)[0]), 2, "order"},
		{"OrderA02BeforeA01", true, swapLines(P, 2, 3), 2, "order"},

		// Line rules.
		{"Days27B02", false, set(D, 3, 111, 113, "27"), 3, "N_Jours_Declares"},
		{"Days27B04", false, set(D, 7, 93, 95, "27"), 7, "N_Nbr_Jours"},
		{"SituationUnknown", false, set(D, 3, 135, 137, "XX"), 3, "L_Situation"},
		{"SituationLowerCase", false, set(D, 4, 135, 137, "so"), 4, "L_Situation"},
		{"SituationHalf", false, set(D, 4, 135, 137, "S "), 4, "L_Situation"},
		{"SituationSOWithDays", false, set(set(D, 3, 135, 137, "SO"), 3, 105, 111, "030000"), 3, "N_Jours_Declares"},
		{"SituationMPWithDays", false, set(D, 5, 135, 137, "MP"), 5, "N_Jours_Declares"},
		{"SituationCSWithSalary", false, set(set(D, 3, 135, 137, "CS"), 3, 111, 113, "00"), 3, "N_Salaire_Reel"},
		{"SituationMSWithCapped", false, set(set(set(D, 3, 135, 137, "MS"), 3, 111, 113, "00"), 3, 113, 126, strings.Repeat("0", 13)), 3, "N_Salaire_Plaf"},
		{"SituationSOAFToReturn", false, bump(D, 4, 105, 111), 4, "N_AF_A_Reverser"},
		{"SituationDEAFToReturn", false, set(D, 3, 135, 137, "DE"), 3, "N_AF_A_Reverser"},
		{"DuplicateB02", false, set(D, 5, 16, 25, field(D, 3, 16, 25)), 5, "N_Num_Assure"},
		{"DuplicateB04", false, set(D, 8, 16, 25, field(D, 7, 16, 25)), 8, "N_Num_Assure"},
		{"DuplicateB02B04", false, set(D, 7, 16, 25, field(D, 3, 16, 25)), 7, "N_Num_Assure"},
		{"DuplicateA02", true, set(P, 4, 16, 25, field(P, 3, 16, 25)), 4, "N_Num_Assure"},
		{"OccasionalWithDays", false, set(D, 8, 93, 95, "05"), 8, "N_Nbr_Jours"},
		{"NewWithoutFirstName", false, set(D, 7, 55, 85, strings.Repeat(" ", 30)), 7, "L_Nom_Prenom"},
		{"NewWithoutSurname", false, set(D, 7, 25, 55, strings.Repeat(" ", 30)), 7, "L_Nom_Prenom"},
		{"BlankB04WithNew", false, insertLine(D, 7, blankB04), 7, "N_Num_Assure"},
	}
	if len(tests) < 40 {
		t.Fatalf("only %d cases", len(tests))
	}
	for _, tt := range tests {
		t.Run("Err"+tt.name, func(t *testing.T) {
			nilValue, err := decodeAny(tt.pre, tt.file)
			if !nilValue {
				t.Errorf("the decoded value is not nil")
			}
			var rep *damancom.Report
			if !errors.As(err, &rep) || len(rep.Problems) == 0 {
				t.Fatalf("error %v, want a *Report", err)
			}
			t.Log("\n" + rep.Text())
			if p := rep.Problems[0]; p.Line != tt.line || p.Field != tt.field {
				t.Errorf("first problem at line %d field %q, want line %d field %q\n%s", p.Line, p.Field, tt.line, tt.field, rep.Text())
			}
		})
	}
}

// crlfExceptLine turns a LF file into CRLF but for line no, which keeps LF.
func crlfExceptLine(file string, no int) string {
	ls := lines(file)
	var b strings.Builder
	for i, l := range ls {
		b.WriteString(l)
		if i+1 == no {
			b.WriteString("\n")
		} else {
			b.WriteString("\r\n")
		}
	}
	return b.String()
}

func TestBrokenBaseIsValid(t *testing.T) {
	for _, pre := range []bool{false, true} {
		file := encodeDeclaration(t, baseDeclaration())
		if pre {
			file = encodePreetabli(t, samplePreetabli(3))
		}
		if _, err := decodeAny(pre, file); err != nil {
			t.Fatalf("base file: %v", err)
		}
	}
}

// TestThreeDefects: one file with three independent defects reports exactly those three, in order.
func TestThreeDefects(t *testing.T) {
	D := encodeDeclaration(t, baseDeclaration())
	file := set(D, 1, 17, 19, "A0")
	file = set(file, 3, 30, 31, "e")
	file = set(file, 9, 120, 121, "X")
	_, err := damancom.DecodeDeclaration(strings.NewReader(file))
	var rep *damancom.Report
	if !errors.As(err, &rep) {
		t.Fatalf("error %v, want a *Report", err)
	}
	want := []struct {
		line  int
		field string
	}{{1, "L_Cat"}, {3, "L_Nom_Prenom"}, {9, "L_filler"}}
	if len(rep.Problems) != len(want) {
		t.Fatalf("%d problems, want 3:\n%s", len(rep.Problems), rep.Text())
	}
	for i, w := range want {
		if p := rep.Problems[i]; p.Line != w.line || p.Field != w.field {
			t.Errorf("problem %d at line %d field %q, want line %d field %q", i, p.Line, p.Field, w.line, w.field)
		}
	}
}

// TestCharsetRule: the rule names the character as read, UTF-8 or Latin-1, and its transliteration.
func TestCharsetRule(t *testing.T) {
	D := encodeDeclaration(t, baseDeclaration())
	for _, tc := range []struct{ name, char, rule string }{
		{"UTF8", "É", "É: write E"},
		{"Latin1", "\xc7", "Ç: write C"},
		{"LowerCase", "q", "q: write Q"},
		{"Ligature", "œ", "œ: write OE"},
		{"Control", "\x00", "U+0000: write a space or remove it"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := damancom.DecodeDeclaration(strings.NewReader(set(D, 5, 30, 31, tc.char)))
			var rep *damancom.Report
			if !errors.As(err, &rep) {
				t.Fatalf("error %v", err)
			}
			if p := rep.Problems[0]; p.Line != 5 || p.Field != "L_Nom_Prenom" || p.Rule != tc.rule ||
				p.Found != "a character outside the allowed set at position 6 (column 31)" {
				t.Errorf("problem %+v", p)
			}
		})
	}
}
