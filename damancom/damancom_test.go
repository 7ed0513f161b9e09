package damancom_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"amane"
	"amane/damancom"
)

func TestRoundTrip(t *testing.T) {
	t.Run("OKPreetabli", func(t *testing.T) {
		p := samplePreetabli(120)
		file := encodePreetabli(t, p)
		got, err := damancom.DecodePreetabli(strings.NewReader(file))
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, p) {
			t.Errorf("Decode(Encode(p)) differs from p")
		}
		if again := encodePreetabli(t, got); again != file {
			t.Errorf("Encode(Decode(file)) differs from file")
		}
	})
	for _, tc := range []struct {
		name         string
		lines, new   int
		blank        bool
		ending       string
		wantB04Lines int
	}{
		{"OKWithNewEmployees", 150, 9, false, "\n", 9},
		{"OKBlankB04", 150, 0, true, "\n", 1},
		{"OKNoB04", 40, 0, false, "\n", 0},
		{"OKNoLine", 0, 2, false, "\n", 2},
		{"OKCRLF", 30, 3, false, "\r\n", 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := sampleDeclaration(tc.lines, tc.new, tc.blank)
			d.LineEnding = tc.ending
			file := encodeDeclaration(t, d)
			if n := strings.Count(file, tc.ending+"B04"); n != tc.wantB04Lines {
				t.Errorf("%d B04 lines, want %d", n, tc.wantB04Lines)
			}
			for i, l := range strings.SplitAfter(file, tc.ending) {
				if l != "" && len(l) != damancom.Width+len(tc.ending) {
					t.Fatalf("line %d is %d bytes", i+1, len(l))
				}
			}
			got, err := damancom.DecodeDeclaration(strings.NewReader(file))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, d) {
				t.Errorf("Decode(Encode(d)) differs from d:\n got %+v\nwant %+v", got, d)
			}
			if again := encodeDeclaration(t, got); again != file {
				t.Errorf("Encode(Decode(file)) differs from file")
			}
		})
	}
	t.Run("OKLeadingSpacesKept", func(t *testing.T) {
		d := sampleDeclaration(2, 1, false)
		d.Lines[0].FirstName = "  DEUX ESPACES"
		d.Employer.Address = " ADRESSE DECALEE"
		file := encodeDeclaration(t, d)
		got, err := damancom.DecodeDeclaration(strings.NewReader(file))
		if err != nil {
			t.Fatal(err)
		}
		if got.Lines[0].FirstName != "  DEUX ESPACES" || got.Employer.Address != " ADRESSE DECALEE" {
			t.Errorf("leading spaces lost: %q %q", got.Lines[0].FirstName, got.Employer.Address)
		}
	})
	t.Run("OKFinalLineWithoutEnd", func(t *testing.T) {
		file := encodeDeclaration(t, sampleDeclaration(3, 1, false))
		got, err := damancom.DecodeDeclaration(strings.NewReader(strings.TrimSuffix(file, "\n")))
		if err != nil {
			t.Fatal(err)
		}
		if again := encodeDeclaration(t, got); again != file {
			t.Errorf("Encode does not end the last line")
		}
	})
}

// TestKnownAnswer checks one B02 record and its recaps byte for byte against the reference's table.
func TestKnownAnswer(t *testing.T) {
	d := &damancom.Declaration{
		Header:   damancom.Header{TransferID: "20240300000042"},
		Employer: employer(),
		Lines: []damancom.Line{{
			Insured: damancom.Insured{Number: "100000037", Surname: "ESSAINOM", FirstName: "PRENOM",
				Children: 2, AFToPay: 60000, AFToDeduct: 1000, AFNet: 59000},
			AFToReturn: 0, Days: 26, RealSalary: 750000, CappedSalary: 600000, Situation: "IT",
		}},
	}
	file := encodeDeclaration(t, d)
	ls := lines(file)
	if len(ls) != 6 { // B00 B01 B02 B03 B05 B06: no B04 without BlankB04
		t.Fatalf("%d lines, want 6", len(ls))
	}
	// S_Ctr = 100000037 + 0 + 26 + 750000 + 600000 + rank(IT)=3
	wantB02 := "B02" + "9000017" + "202403" + "100000037" + pad("ESSAINOM", 30) + pad("PRENOM", 30) +
		"02" + "060000" + "001000" + "059000" + "000000" + "26" + "0000000750000" + "000600000" + "IT" +
		"0000000000101350066" + strings.Repeat(" ", 104)
	wantB00 := "B00" + "20240300000042" + "B0" + strings.Repeat(" ", 241)
	wantB03 := "B03" + "9000017" + "202403" + "000001" + "000002" + "000000060000" + "000000001000" + "000000059000" +
		"000000100000037" + "000000000000" + "000026" + "000000000750000" + "0000000600000" + "0000000000101350066" +
		strings.Repeat(" ", 116)
	wantB05 := "B05" + "9000017" + "202403" + "000000" + strings.Repeat("0", 15) + "000000" + strings.Repeat("0", 15) +
		strings.Repeat("0", 13) + strings.Repeat("0", 19) + strings.Repeat(" ", 170)
	wantB06 := "B06" + "9000017" + "202403" + "000001" + "000000100000037" + "000026" + "000000000750000" +
		"0000000600000" + "0000000000101350066" + strings.Repeat(" ", 170)
	for _, c := range []struct {
		no   int
		want string
	}{{1, wantB00}, {3, wantB02}, {4, wantB03}, {5, wantB05}, {6, wantB06}} {
		if len(c.want) != damancom.Width {
			t.Fatalf("test vector for line %d is %d long", c.no, len(c.want))
		}
		if ls[c.no-1] != c.want {
			t.Errorf("line %d:\n got %q\nwant %q", c.no, ls[c.no-1], c.want)
		}
	}
	if got := damancom.LineControl(d.Lines[0]); got != 101350066 {
		t.Errorf("LineControl = %d", got)
	}
	if got := damancom.NewControl(damancom.NewEmployee{Number: "999999999", RealSalary: 12, CappedSalary: 12}); got != 1000000023 {
		t.Errorf("NewControl = %d", got)
	}
}

// TestBlankB04Layout pins the blank B04 this package writes.
func TestBlankB04Layout(t *testing.T) {
	file := encodeDeclaration(t, sampleDeclaration(1, 0, true))
	want := "B04" + "9000017" + "202403" + "000000000" + strings.Repeat(" ", 60+8) + strings.Repeat("0", 2+13+9+19) +
		strings.Repeat(" ", 124)
	if got := lines(file)[4]; got != want {
		t.Errorf("blank B04:\n got %q\nwant %q", got, want)
	}
	if got := lines(file)[5][16:22]; got != "000000" {
		t.Errorf("B05 counts the blank B04: %s", got)
	}
}

// TestReportNeverShowsNames: the report of bad name and CIN fields names positions, not values.
func TestReportNeverShowsNames(t *testing.T) {
	d := baseDeclaration()
	file := encodeDeclaration(t, d)
	file = set(file, 3, 25, 85, pad("Benkiranoussi", 30)+pad("Zoubidaïne", 30))
	file = set(file, 7, 25, 93, pad("QADIRAFTEST", 30)+pad("Yassoumiel", 30)+"zq774411")
	file = set(file, 4, 25, 55, pad("MOUSSAFICTIF*", 30))
	_, err := damancom.DecodeDeclaration(strings.NewReader(file))
	var rep *damancom.Report
	if !errors.As(err, &rep) {
		t.Fatalf("error %v, want a *Report", err)
	}
	js, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	fields := map[string]int{}
	for _, p := range rep.Problems {
		fields[p.Field]++
	}
	if fields["L_Nom_Prenom"] != 3 || fields["L_Num_CIN"] != 1 {
		t.Fatalf("problems %v, want 3 L_Nom_Prenom and 1 L_Num_CIN:\n%s", fields, rep.Text())
	}
	for _, out := range []string{rep.Text(), string(js), rep.Error()} {
		for _, name := range []string{"Benkiranoussi", "BENKIRANOUSSI", "Benki", "Zoubida", "ZOUBIDA", "QADIRAF",
			"Yassoumiel", "YASSOUMIEL", "zq774411", "ZQ774411", "774411", "MOUSSAFICTIF", "MOUSSA"} {
			if strings.Contains(out, name) {
				t.Errorf("report shows %q:\n%s", name, out)
			}
		}
	}
	var back damancom.Report
	if err := json.Unmarshal(js, &back); err != nil || !reflect.DeepEqual(&back, rep) {
		t.Errorf("JSON round trip: %v", err)
	}
	if !strings.Contains(string(js), `"line":3,"record":"B02","field":"L_Nom_Prenom","expected":`) {
		t.Errorf("JSON keys: %s", js)
	}
}

func TestEncodeRefuses(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(d *damancom.Declaration)
		line   int
		field  string
	}{
		{"ErrShortNumber", func(d *damancom.Declaration) { d.Lines[1].Number = "12345" }, 4, "N_Num_Assure"},
		{"ErrNumberNotDigits", func(d *damancom.Declaration) { d.New[0].Number = "A00000001" }, 7, "N_Num_Assure"},
		{"ErrAffiliation", func(d *damancom.Declaration) { d.Employer.Affiliation = "900001" }, 2, "N_Num_Affilie"},
		{"ErrPeriod", func(d *damancom.Declaration) { d.Employer.Period = "202413" }, 2, "L_Periode"},
		{"ErrIssueDate", func(d *damancom.Declaration) { d.Employer.IssueDate = "" }, 2, "D_Date_Emission"},
		{"ErrTransferID", func(d *damancom.Declaration) { d.Header.TransferID = "42" }, 1, "N_Identif_Transfert"},
		{"ErrCat", func(d *damancom.Declaration) { d.Header.Cat = "A0" }, 1, "L_Cat"},
		{"ErrNegativeSalary", func(d *damancom.Declaration) { d.Lines[0].RealSalary = -1 }, 3, "N_Salaire_Reel"},
		{"ErrAFOverflow", func(d *damancom.Declaration) { d.Lines[0].AFToPay = 1000000 }, 3, "N_AF_A_Payer"},
		{"ErrDaysOverflow", func(d *damancom.Declaration) { d.New[0].Days = 100 }, 7, "N_Nbr_Jours"},
		{"ErrDays27", func(d *damancom.Declaration) { d.Lines[2].Days = 27 }, 5, "N_Jours_Declares"},
		{"ErrSituation", func(d *damancom.Declaration) { d.Lines[0].Situation = "XX" }, 3, "L_Situation"},
		{"ErrDuplicate", func(d *damancom.Declaration) { d.Lines[2].Number = d.Lines[0].Number }, 5, "N_Num_Assure"},
		{"ErrBlankB04WithNew", func(d *damancom.Declaration) { d.BlankB04 = true }, 7, "BlankB04"},
		{"ErrLineEnding", func(d *damancom.Declaration) { d.LineEnding = "\r" }, 0, "LineEnding"},
		{"ErrNoFirstName", func(d *damancom.Declaration) { d.New[0].FirstName = "" }, 7, "L_Nom_Prenom"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := baseDeclaration()
			tc.change(d)
			var b bytes.Buffer
			err := d.Encode(&b)
			var rep *damancom.Report
			if !errors.As(err, &rep) {
				t.Fatalf("error %v, want a *Report", err)
			}
			if p := rep.Problems[0]; p.Line != tc.line || p.Field != tc.field {
				t.Errorf("first problem %v, want line %d field %s", p, tc.line, tc.field)
			}
			if b.Len() != 0 {
				t.Errorf("Encode wrote %d bytes", b.Len())
			}
		})
	}
}

func TestEncodeTransliterates(t *testing.T) {
	d := sampleDeclaration(1, 1, false)
	d.Lines[0].Surname = "Benaïssa-Lévêque"
	d.Lines[0].FirstName = "Œdipe l’Aîné"
	d.New[0].Surname = strings.Repeat("Ç", 40)
	d.Employer.City = "Fès"
	file := encodeDeclaration(t, d)
	got, err := damancom.DecodeDeclaration(strings.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	if got.Lines[0].Surname != "BENAISSA-LEVEQUE" || got.Lines[0].FirstName != "OEDIPE L'AINE" ||
		got.New[0].Surname != strings.Repeat("C", 30) || got.Employer.City != "FES" {
		t.Errorf("got %q %q %q %q", got.Lines[0].Surname, got.Lines[0].FirstName, got.New[0].Surname, got.Employer.City)
	}
}

func TestTransliterate(t *testing.T) {
	for in, want := range map[string]string{
		"":                        "",
		"ABC 123":                 "ABC 123",
		"éÉèêëàâäîïôöûüùçÇñ":      "EEEEEAAAIIOOUUUCCN",
		"straße":                  "STRASSE",
		"Œuvre Æther":             "OEUVRE AETHER",
		"l’école – n°5":           "L'ECOLE - N 5",
		"a_b\tc":                  "A B C",
		"ﬁn":                      "FIN",
		"Ｆ１":                      "F1",
		"مرحبا":                   "     ",
		"\xff":                    " ",
		"(SARL) 12/B & FILS: A.B": "(SARL) 12/B & FILS: A.B",
	} {
		if got := damancom.Transliterate(in); got != want {
			t.Errorf("Transliterate(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCheckCeiling(t *testing.T) {
	d := sampleDeclaration(3, 2, false)
	if ps := damancom.CheckCeiling(d, ceiling); len(ps) != 0 {
		t.Fatalf("valid declaration: %v", ps)
	}
	d.Lines[1].RealSalary, d.Lines[1].CappedSalary = 700000, 700000
	d.New[1].RealSalary, d.New[1].CappedSalary = 100, 90
	ps := damancom.CheckCeiling(d, ceiling)
	if len(ps) != 2 || ps[0].Line != 4 || ps[0].Field != "N_Salaire_Plaf" || ps[0].Expected != "600000" ||
		ps[1].Line != 8 || ps[1].Field != "N_Sal_Plaf" || ps[1].Expected != "100" {
		t.Errorf("problems %v", ps)
	}
}

func TestPreetabliToDeclaration(t *testing.T) {
	p := samplePreetabli(5)
	p.LineEnding = "\r\n"
	d := damancom.PreetabliToDeclaration(p)
	if d.Header.TransferID != p.Header.TransferID || d.Header.Cat != "B0" || d.Employer != p.Employer ||
		len(d.Lines) != 5 || d.Lines[2].Insured != p.Insured[2] || d.Lines[2].Days != 0 || !d.BlankB04 {
		t.Fatalf("declaration %+v", d)
	}
	file := encodeDeclaration(t, d)
	if !strings.HasPrefix(file, "B00"+p.Header.TransferID+"B0") || !strings.Contains(file, "\r\nB04") {
		t.Errorf("file:\n%s", file)
	}
	if _, err := damancom.DecodeDeclaration(strings.NewReader(file)); err != nil {
		t.Error(err)
	}
}

func TestNames(t *testing.T) {
	if got := damancom.PreetabliName("9000017", "202403"); got != "AFFEBDS_9000017_202403.txt" {
		t.Errorf("PreetabliName = %s", got)
	}
	if got := damancom.DeclarationName("9000017", "202403"); got != "DS_9000017_202403.txt" {
		t.Errorf("DeclarationName = %s", got)
	}
	if got := damancom.ComplementaryName(2, "9000017", "202403"); got != "DSC2_9000017_202403.txt" {
		t.Errorf("ComplementaryName = %s", got)
	}
	for _, tc := range []struct {
		name, kind string
		n          int
		ok         bool
	}{
		{"AFFEBDS_9000017_202403.txt", damancom.KindPreetabli, 0, true},
		{"DS_9000017_202403.txt", damancom.KindDeclaration, 0, true},
		{"DS_9000017_032024.TXT", damancom.KindDeclaration, 0, true},
		{"AFFEBDS_9000017_032024.txt", damancom.KindPreetabli, 0, true},
		{"DSC1_9000017_202403.txt", damancom.KindComplementary, 1, true},
		{"DSC12_9000017_032024.txt", damancom.KindComplementary, 12, true},
		{"DSC0_9000017_202403.txt", "", 0, false},
		{"DSC01_9000017_202403.txt", "", 0, false},
		{"DSC_9000017_202403.txt", "", 0, false},
		{"DS_900001_202403.txt", "", 0, false},
		{"DS_9000017_202413.txt", "", 0, false},
		{"DS_9000017_132024.txt", "", 0, false},
		{"DS_9000017_202403.csv", "", 0, false},
		{"ds_9000017_202403.txt", "", 0, false},
		{"DS_9000017_202403_1.txt", "", 0, false},
		{"dir/DS_9000017_202403.txt", "", 0, false},
	} {
		kind, n, aff, period, err := damancom.ParseName(tc.name)
		if (err == nil) != tc.ok {
			t.Errorf("ParseName(%s): error %v", tc.name, err)
			continue
		}
		if tc.ok && (kind != tc.kind || n != tc.n || aff != "9000017" || period != "202403") {
			t.Errorf("ParseName(%s) = %s %d %s %s", tc.name, kind, n, aff, period)
		}
	}
}

func TestSituations(t *testing.T) {
	for i, code := range damancom.Situations() {
		if r, ok := damancom.SituationRank(code); !ok || r != i {
			t.Errorf("SituationRank(%q) = %d, %v", code, r, ok)
		}
	}
	if got := fmt.Sprint(damancom.Situations()); got != "[ SO DE IT IL AT CS MS MP]" {
		t.Errorf("Situations() = %s", got)
	}
	if _, ok := damancom.SituationRank("XX"); ok {
		t.Error("XX has a rank")
	}
}

// TestReadError: an I/O error is returned as it is, not as a report.
func TestReadError(t *testing.T) {
	boom := errors.New("boom")
	_, err := damancom.DecodeDeclaration(errReader{boom})
	if !errors.Is(err, boom) {
		t.Errorf("error %v", err)
	}
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

// TestWriteDeclarationRefusesMaskedCIN: a declaration read with the new employees' CIN masked is not
// written back with the mask transliterated to blanks (columns 88–91): the file would not be the one
// received.
func TestWriteDeclarationRefusesMaskedCIN(t *testing.T) {
	d := &amane.Declaration{Affiliation: "1234567", Period: "202410", Header: amane.DeclarationHeader{Transfer: "12345672024101",
		IssueDate: "20241101", DueDate: "20241110"},
		New: []amane.NewEmployeeLine{{Imm: "000000000", Surname: "NOUVEAU", FirstName: "YOUNES", CIN: amane.MaskCIN("K998877"), Days: 10, Salary: 150000, Capped: 150000}}}
	var b bytes.Buffer
	err := damancom.WriteDeclaration(&b, d)
	if amane.ErrorCode(err) != amane.EINVALID || b.Len() != 0 {
		t.Fatalf("a masked CIN written: %v, %d bytes", err, b.Len())
	}
	d.New[0].CIN = "K998877"
	if err := damancom.WriteDeclaration(&b, d); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(b.String(), "\n")
	if got := lines[3][85:93]; got != "K998877 " {
		t.Fatalf("B04 L_Num_CIN %q", got)
	}
}
