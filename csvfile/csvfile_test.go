package csvfile_test

import (
	"bytes"
	"fmt"
	"io"
	"reflect"
	"runtime/debug"
	"slices"
	"strings"
	"testing"

	"amane"
	"amane/csvfile"
	"amane/ids"
)

const (
	employersFile = "ADHERENTS.csv"
	employeesFile = "SALARIES.csv"
)

var (
	validICE = "0015611910000" + ids.Key97("0015611910000")
	validRIB = "007780" + "0001234567890123" + ids.Key97("007780"+"0001234567890123")
)

// Personal values of the rows below: none may appear in any error.
var personal = []string{"Idrissi", "Fatima-Zahra", "bk123456", "BK123456", "Fatima.Zahra@Example.MA",
	"fatima.zahra@example.ma", "06 12 34 56 78", "612345678", validRIB, "Benali", "Saïd", "ab12345", "AB12345",
	"123456789", "Aït Ourir"}

// employerRow returns a valid ADHERENTS.csv row as a map, column → value.
func employerRow() map[string]string {
	return map[string]string{
		"affiliation": "1234567", "raison_sociale": "Atlas Textiles SARL", "activite": "Textile",
		"adresse": "12 rue Ibn Battouta", "ville": "Casablanca", "date_adhesion": "2020-01-15",
		"date_affiliation": "2020-02-01", "ice": validICE, "rc": "12345", "tp": "67890", "if": "1234567",
		"forme_juridique": "SARL", "agence": "CASA-ANFA", "etat_compte": "actif", "representant_nom": "El Idrissi",
		"representant_prenom": "Fatima-Zahra", "representant_cin": "bk123456", "email": "Fatima.Zahra@Example.MA",
		"telephone": "06 12 34 56 78", "mode_telepaiement": "virement", "rib": validRIB, "code_banque": "007",
		"date_creation_compte": "2019-06-30", "mandataire": "",
	}
}

func employeeRow() map[string]string {
	return map[string]string{
		"immatriculation": "123456789", "cin": "ab12345", "passeport": "", "nom": "Benali", "prenom": "Saïd",
		"date_affiliation": "2021-03-01", "employeur": "Atlas Textiles SARL", "affiliation_employeur": "1234567",
		"etat_demande": "validee",
	}
}

// csvLine writes row in the order of columns, quoting every field that needs it.
func csvLine(columns []string, row map[string]string) string {
	fs := make([]string, len(columns))
	for i, c := range columns {
		v := row[c]
		if strings.ContainsAny(v, ",\"\r\n") {
			v = `"` + strings.ReplaceAll(v, `"`, `""`) + `"`
		}
		fs[i] = v
	}
	return strings.Join(fs, ",") + "\n"
}

func with(row map[string]string, kv ...string) map[string]string {
	r := make(map[string]string, len(row))
	for k, v := range row {
		r[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		r[kv[i]] = kv[i+1]
	}
	return r
}

func header(columns []string) string { return strings.Join(columns, ",") + "\n" }

type result[T any] struct {
	line int
	v    *T
	errs []amane.FieldError
}

// readAll reads every row, turning a panic into a test failure so that one bad input does not stop
// the other tests.
func readAll[T any](t *testing.T, next func() (int, *T, []amane.FieldError, error)) (rs []result[T]) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("Next panicked after %d rows: %v\n%s", len(rs), r, debug.Stack())
		}
	}()
	for {
		line, v, errs, err := next()
		if err == io.EOF {
			return rs
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		rs = append(rs, result[T]{line, v, errs})
		if len(rs) > 1000 {
			t.Fatal("Next does not reach io.EOF")
		}
	}
}

func readEmployers(t *testing.T, content string) []result[amane.Employer] {
	t.Helper()
	r, ferr := csvfile.NewEmployerReader(employersFile, strings.NewReader(content))
	if ferr != nil {
		t.Fatalf("NewEmployerReader: %v", ferr)
	}
	return readAll(t, r.Next)
}

func readEmployees(t *testing.T, content string) []result[amane.Employee] {
	t.Helper()
	r, ferr := csvfile.NewEmployeeReader(employeesFile, strings.NewReader(content))
	if ferr != nil {
		t.Fatalf("NewEmployeeReader: %v", ferr)
	}
	return readAll(t, r.Next)
}

// checkNoPersonal fails if an error holds a personal value of the test rows.
func checkNoPersonal(t *testing.T, errs []amane.FieldError) {
	t.Helper()
	for _, fe := range errs {
		s := fe.String()
		for _, p := range personal {
			if strings.Contains(s, p) {
				t.Errorf("error %q holds the personal value %q", s, p)
			}
		}
	}
}

func fieldsOf(errs []amane.FieldError) []string {
	var fs []string
	for _, fe := range errs {
		fs = append(fs, fe.Field)
	}
	return fs
}

func TestEmployerReader(t *testing.T) {
	second := with(employerRow(), "affiliation", "7654321", "representant_cin", "A1", "telephone", "+212 5 22 12 34 56",
		"email", "contact@atlas.ma", "mandataire", "Cabinet Benjelloun, Fès", "adresse", `Lot "Al Amal", 3`)
	content := header(csvfile.EmployerColumns) + csvLine(csvfile.EmployerColumns, employerRow()) +
		csvLine(csvfile.EmployerColumns, second)

	t.Run("OK", func(t *testing.T) {
		rs := readEmployers(t, content)
		if len(rs) != 2 {
			t.Fatalf("read %d rows, want 2", len(rs))
		}
		for i, r := range rs {
			if r.errs != nil || r.v == nil {
				t.Fatalf("row %d: %v, errors %v", i, r.v, r.errs)
			}
			if r.line != i+2 {
				t.Errorf("row %d: line %d, want %d", i, r.line, i+2)
			}
		}
		want := amane.Employer{
			EmployerIdentity: amane.EmployerIdentity{
				Affiliation: "1234567", Name: "Atlas Textiles SARL", Activity: "Textile", Address: "12 rue Ibn Battouta",
				City: "Casablanca", AdhesionDate: "2020-01-15", AffiliationDate: "2020-02-01", ICE: validICE, RC: "12345",
				TP: "67890", IF: "1234567", LegalForm: "SARL", Agency: "CASA-ANFA", AccountState: "actif",
				PaymentMode: "virement", BankCode: "007", BankAccountDate: "2019-06-30",
			},
			Representative: amane.Representative{Surname: "El Idrissi", FirstName: "Fatima-Zahra", CIN: "BK123456"},
			Email:          "fatima.zahra@example.ma", Phone: "+212612345678", RIB: validRIB,
		}
		if !reflect.DeepEqual(*rs[0].v, want) {
			t.Errorf("row 1:\n got %+v\nwant %+v", *rs[0].v, want)
		}
		e := rs[1].v
		if e.Affiliation != "7654321" || e.Representative.CIN != "A1" || e.Phone != "+212522123456" ||
			e.Email != "contact@atlas.ma" || e.Mandataire != "Cabinet Benjelloun, Fès" || e.Address != `Lot "Al Amal", 3` {
			t.Errorf("row 2: %+v", *e)
		}
	})
	t.Run("OKBOM", func(t *testing.T) {
		rs := readEmployers(t, "\xef\xbb\xbf"+content)
		if len(rs) != 2 || rs[0].v == nil || rs[0].errs != nil || rs[0].line != 2 || rs[1].line != 3 {
			t.Fatalf("with a BOM: %+v", rs)
		}
	})
	t.Run("OKCRLF", func(t *testing.T) {
		rs := readEmployers(t, strings.ReplaceAll(content, "\n", "\r\n"))
		if len(rs) != 2 || rs[0].errs != nil || rs[1].errs != nil || rs[1].line != 3 {
			t.Fatalf("with CRLF: %+v", rs)
		}
	})
	t.Run("OKSpacesTrimmed", func(t *testing.T) {
		row := with(employerRow(), "representant_cin", " bk123456 ", "ice", " "+validICE, "raison_sociale", " Atlas ")
		rs := readEmployers(t, header(csvfile.EmployerColumns)+csvLine(csvfile.EmployerColumns, row))
		if len(rs) != 1 || rs[0].v == nil || rs[0].errs != nil {
			t.Fatalf("%+v", rs)
		}
		if e := rs[0].v; e.Representative.CIN != "BK123456" || e.ICE != validICE || e.Name != "Atlas" {
			t.Errorf("not trimmed: %+v", *e)
		}
	})
	t.Run("OKEmptyFile", func(t *testing.T) {
		if rs := readEmployers(t, header(csvfile.EmployerColumns)); len(rs) != 0 {
			t.Fatalf("a header-only file gave %d rows", len(rs))
		}
	})
}

func TestEmployeeReader(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		second := with(employeeRow(), "immatriculation", "987654321", "cin", "", "passeport", "xz98765")
		rs := readEmployees(t, header(csvfile.EmployeeColumns)+csvLine(csvfile.EmployeeColumns, employeeRow())+
			csvLine(csvfile.EmployeeColumns, second))
		if len(rs) != 2 || rs[0].v == nil || rs[1].v == nil || rs[0].errs != nil || rs[1].errs != nil {
			t.Fatalf("%+v", rs)
		}
		want := amane.Employee{
			Immatriculation: "123456789", CIN: "AB12345", Surname: "Benali", FirstName: "Saïd",
			AffiliationDate: "2021-03-01",
			Employments: []amane.Employment{{EmployerName: "Atlas Textiles SARL", Affiliation: "1234567",
				Since: "2021-03-01", State: "validee"}},
		}
		if !reflect.DeepEqual(*rs[0].v, want) {
			t.Errorf("row 1:\n got %+v\nwant %+v", *rs[0].v, want)
		}
		if rs[0].line != 2 || rs[1].line != 3 {
			t.Errorf("lines %d, %d; want 2, 3", rs[0].line, rs[1].line)
		}
		if e := rs[1].v; e.CIN != "" || e.Passport != "XZ98765" {
			t.Errorf("row 2: %+v", *e)
		}
	})
	t.Run("ErrMultilineEmployerName", func(t *testing.T) {
		// The employer's name column is informational but still text: a newline in it is refused, on the
		// line where its row starts, and the lines after it keep their numbers.
		first := with(employeeRow(), "employeur", "Atlas\nTextiles")
		second := with(employeeRow(), "immatriculation", "987654321", "cin", "A1")
		third := with(employeeRow(), "immatriculation", "111111111", "cin", "A2", "employeur", "X\n\nY")
		fourth := with(employeeRow(), "immatriculation", "222222222", "cin", "A3")
		content := header(csvfile.EmployeeColumns) + csvLine(csvfile.EmployeeColumns, first) +
			csvLine(csvfile.EmployeeColumns, second) + csvLine(csvfile.EmployeeColumns, third) +
			csvLine(csvfile.EmployeeColumns, fourth)
		rs := readEmployees(t, content)
		if len(rs) != 4 {
			t.Fatalf("read %d rows, want 4", len(rs))
		}
		for i, want := range []struct {
			line int
			bad  bool
		}{{2, true}, {4, false}, {5, true}, {8, false}} {
			if rs[i].line != want.line || (len(rs[i].errs) != 0) != want.bad {
				t.Errorf("row %d: line %d, errors %v; want line %d, bad %v", i+1, rs[i].line, rs[i].errs, want.line, want.bad)
			}
			if want.bad && (len(rs[i].errs) != 1 || rs[i].errs[0].Field != "employeur" || rs[i].errs[0].Line != want.line) {
				t.Errorf("row %d: errors %v, want one on employeur", i+1, rs[i].errs)
			}
		}
	})
	t.Run("OKMultilineErrorLine", func(t *testing.T) {
		// A newline in a checked text field is an error reported on the line where the row starts.
		bad := with(employerRow(), "adresse", "12 rue X\nQuartier Y")
		second := with(employerRow(), "affiliation", "7654321")
		rs := readEmployers(t, header(csvfile.EmployerColumns)+csvLine(csvfile.EmployerColumns, bad)+
			csvLine(csvfile.EmployerColumns, second))
		if len(rs) != 2 {
			t.Fatalf("read %d rows, want 2", len(rs))
		}
		if rs[0].line != 2 || !slices.Equal(fieldsOf(rs[0].errs), []string{"adresse"}) ||
			rs[0].errs[0].Line != 2 || !strings.Contains(rs[0].errs[0].Rule, "control characters") {
			t.Errorf("row 1: %+v", rs[0])
		}
		if len(rs[1].errs) != 0 || rs[1].v == nil || rs[1].line != 4 {
			t.Errorf("row 2: line %d, errors %v; want line 4", rs[1].line, rs[1].errs)
		}
	})
}

func TestHeader(t *testing.T) {
	reordered := slices.Clone(csvfile.EmployeeColumns)
	reordered[0], reordered[1] = reordered[1], reordered[0]
	for _, tc := range []struct {
		name     string
		employer bool
		content  string
		rule     string
	}{
		{"ErrEmployerColumnsInEmployees", false, header(csvfile.EmployerColumns), "must be exactly: immatriculation,cin,"},
		{"ErrEmployeeColumnsInEmployers", true, header(csvfile.EmployeeColumns), "must be exactly: affiliation,raison_sociale,"},
		{"ErrMissingColumn", false, header(csvfile.EmployeeColumns[:8]), "must be exactly"},
		{"ErrExtraColumn", false, header(append(slices.Clone(csvfile.EmployeeColumns), "x")), "must be exactly"},
		{"ErrReordered", false, header(reordered), "must be exactly"},
		{"ErrUpperCase", false, strings.ToUpper(header(csvfile.EmployeeColumns)), "must be exactly"},
		{"ErrDoubleBOM", false, "\xef\xbb\xbf\xef\xbb\xbf" + header(csvfile.EmployeeColumns), "must be exactly"},
		{"ErrEmpty", false, "", "cannot read the header row"},
		{"ErrSyntax", true, `"affiliation` + "\n", "cannot read the header row: CSV syntax"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ferr *amane.FieldError
			name := employeesFile
			if tc.employer {
				name = employersFile
				r, e := csvfile.NewEmployerReader(name, strings.NewReader(tc.content))
				if r != nil {
					t.Fatal("a reader is returned along with a header error")
				}
				ferr = e
			} else {
				r, e := csvfile.NewEmployeeReader(name, strings.NewReader(tc.content))
				if r != nil {
					t.Fatal("a reader is returned along with a header error")
				}
				ferr = e
			}
			if ferr == nil {
				t.Fatal("no error for a bad header")
			}
			if ferr.File != name || ferr.Line != 1 || ferr.Field != "header" || !strings.Contains(ferr.Rule, tc.rule) {
				t.Fatalf("error %+v, want %s line 1 field header rule %q", *ferr, name, tc.rule)
			}
		})
	}
}

func TestRowShape(t *testing.T) {
	ok := csvLine(csvfile.EmployerColumns, employerRow())
	short := strings.TrimSuffix(ok, ",\n") + "\n" // drops the last (empty) column
	long := strings.TrimSuffix(ok, "\n") + ",extra\n"
	bareQuote := strings.Replace(ok, "Atlas Textiles", `Atlas "Textiles"`, 1)
	for _, tc := range []struct {
		name    string
		content string
		line    int
		rule    string
		after   int // the line of the valid row that follows, read normally
	}{
		{"ErrTooFewColumns", short + ok, 2, "must have 24 columns, has 23", 3},
		{"ErrTooManyColumns", ok + long + ok, 3, "must have 24 columns, has 25", 4},
		{"ErrOneColumn", "1234567\n" + ok, 2, "must have 24 columns, has 1", 3},
		{"ErrBareQuote", bareQuote + ok, 2, "CSV syntax", 3},
		{"ErrBareQuoteFirstField", `12"34567` + ok[7:] + ok, 2, "CSV syntax", 3},
		{"ErrQuoteFirstField", `"1234567"x` + ok[7:] + ok, 2, "CSV syntax", 3},
		{"ErrUnterminatedQuote", ok + ok + `1234567,"Atlas` + "\n", 4, "CSV syntax", 0},
		{"ErrUnterminatedQuoteFirstField", ok + `"1234567,Atlas` + "\n", 3, "CSV syntax", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rs := readEmployers(t, header(csvfile.EmployerColumns)+tc.content)
			var bad *result[amane.Employer]
			for i := range rs {
				if rs[i].line == tc.line {
					bad = &rs[i]
				} else if len(rs[i].errs) != 0 {
					t.Errorf("line %d: %v", rs[i].line, rs[i].errs)
				}
			}
			if bad == nil {
				t.Fatalf("no row on line %d: %+v", tc.line, rs)
			}
			if bad.v != nil || len(bad.errs) != 1 { // not even well-formed CSV: no value at all
				t.Fatalf("line %d: %+v, want one error and no value", tc.line, bad)
			}
			fe := bad.errs[0]
			if fe.File != employersFile || fe.Line != tc.line || fe.Field != "(row)" || !strings.Contains(fe.Rule, tc.rule) {
				t.Fatalf("error %+v, want %s:%d (row) %q", fe, employersFile, tc.line, tc.rule)
			}
			checkNoPersonal(t, bad.errs)
			if last := rs[len(rs)-1]; tc.after > 0 && (last.line != tc.after || last.v == nil || len(last.errs) != 0) {
				t.Errorf("the next row: %+v, want a valid row on line %d", rs[len(rs)-1], tc.after)
			}
		})
	}
}

func TestEmployerFieldErrors(t *testing.T) {
	badRIB := validRIB[:22] + fmt.Sprintf("%02d", (int(validRIB[22]-'0')*10+int(validRIB[23]-'0'))%97+1)
	for _, tc := range []struct {
		name   string
		row    map[string]string
		fields []string
	}{
		{"ErrSeveral", with(employerRow(), "rib", badRIB, "ice", validICE[:14]+string('0'+(validICE[14]-'0'+1)%10),
			"representant_cin", "Idrissi", "email", "fatima.zahra@example", "telephone", "08 12 34 56 78"),
			[]string{"ice", "representant_cin", "email", "telephone", "rib"}},
		{"ErrRequired", with(employerRow(), "raison_sociale", "", "representant_nom", "  ", "date_adhesion", ""),
			[]string{"raison_sociale", "date_adhesion", "representant_nom"}},
		{"ErrBankCode", with(employerRow(), "code_banque", "001"), []string{"code_banque"}},
		{"ErrEnums", with(employerRow(), "forme_juridique", "sarl", "etat_compte", "ACTIF", "mode_telepaiement", "cash",
			"agence", "casa-anfa"), []string{"forme_juridique", "agence", "etat_compte", "mode_telepaiement"}},
		{"ErrDates", with(employerRow(), "date_adhesion", "15/01/2020", "date_creation_compte", "2019-02-30"),
			[]string{"date_adhesion", "date_creation_compte"}},
		{"ErrTooLong", with(employerRow(), "representant_prenom", strings.Repeat("é", 101)), []string{"representant_prenom"}},
		{"ErrAllIdentifiers", with(employerRow(), "affiliation", "12345678", "ice", "x", "rc", "1/2", "tp", "", "if",
			strings.Repeat("1", 16), "representant_cin", "", "email", "", "telephone", "", "rib", "", "code_banque", "7"),
			[]string{"affiliation", "ice", "rc", "tp", "if", "representant_cin", "email", "telephone", "rib", "code_banque"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			content := header(csvfile.EmployerColumns) + csvLine(csvfile.EmployerColumns, employerRow()) +
				csvLine(csvfile.EmployerColumns, tc.row)
			rs := readEmployers(t, content)
			if len(rs) != 2 {
				t.Fatalf("read %d rows, want 2", len(rs))
			}
			r := rs[1]
			if r.line != 3 {
				t.Fatalf("row: line %d, want line 3", r.line)
			}
			if got := fieldsOf(r.errs); !slices.Equal(got, tc.fields) {
				t.Fatalf("fields %v, want %v (%v)", got, tc.fields, r.errs)
			}
			for _, fe := range r.errs {
				if fe.File != employersFile || fe.Line != 3 || fe.Rule == "" {
					t.Errorf("error %+v: want file %s, line 3 and a rule", fe, employersFile)
				}
			}
			checkNoPersonal(t, r.errs)
		})
	}
}

func TestEmployeeFieldErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		row    map[string]string
		fields []string
	}{
		{"ErrSeveral", with(employeeRow(), "immatriculation", ids.OccasionalWorker, "cin", "ABC12345",
			"affiliation_employeur", "12345678", "etat_demande", "ok"),
			[]string{"immatriculation", "cin", "affiliation_employeur", "etat_demande"}},
		{"ErrDateOnce", with(employeeRow(), "date_affiliation", "2021-13-01"), []string{"date_affiliation"}},
		{"ErrCINAndPassport", with(employeeRow(), "passeport", "XZ98765"), []string{"passeport"}},
		{"ErrNeither", with(employeeRow(), "cin", ""), []string{"cin"}},
		{"ErrPassport", with(employeeRow(), "cin", "", "passeport", "Aït Ourir"), []string{"passeport"}},
		{"ErrNames", with(employeeRow(), "nom", "", "prenom", "Sa\x01ïd"), []string{"nom", "prenom"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			content := header(csvfile.EmployeeColumns) + csvLine(csvfile.EmployeeColumns, tc.row)
			rs := readEmployees(t, content)
			if len(rs) != 1 {
				t.Fatalf("read %d rows, want 1", len(rs))
			}
			r := rs[0]
			if r.line != 2 {
				t.Fatalf("row: line %d, want line 2", r.line)
			}
			if got := fieldsOf(r.errs); !slices.Equal(got, tc.fields) {
				t.Fatalf("fields %v, want %v (%v)", got, tc.fields, r.errs)
			}
			for _, fe := range r.errs {
				if fe.File != employeesFile || fe.Line != 2 || fe.Rule == "" || strings.HasPrefix(fe.Field, "emplois.") {
					t.Errorf("error %+v: want file %s, line 2, a file column and a rule", fe, employeesFile)
				}
			}
			checkNoPersonal(t, r.errs)
		})
	}
}

// Fuzz targets: arbitrary bytes never panic; every error is located; every value returned is stable
// under Normalize.

func fuzzSeeds(f *testing.F, columns []string, rows ...map[string]string) {
	valid := header(columns)
	for _, r := range rows {
		valid += csvLine(columns, r)
	}
	f.Add([]byte(valid))
	f.Add([]byte("\xef\xbb\xbf" + valid))
	f.Add([]byte(strings.ReplaceAll(valid, "\n", "\r\n")))
	f.Add([]byte(header(columns) + "a,b\n"))
	f.Add([]byte(header(columns) + `"unterminated`))
	f.Add([]byte(header(columns) + "\"x\"\"\ny\",z\n"))
	f.Add([]byte(strings.Replace(valid, ",", ";", -1)))
	f.Add([]byte(""))
	f.Add([]byte("\xef\xbb"))
	f.Add([]byte(header(columns)[:10]))
}

func fuzzRead[T any](t *testing.T, name string, data []byte, newReader func() (func() (int, *T, []amane.FieldError, error), *amane.FieldError), normalize func(*T) []amane.FieldError) {
	next, ferr := newReader()
	if ferr != nil {
		if ferr.File != name || ferr.Line != 1 || ferr.Field != "header" || ferr.Rule == "" {
			t.Fatalf("header error %+v", *ferr)
		}
		return
	}
	last := 1
	for n := 0; ; n++ {
		if n > len(data)+1 {
			t.Fatal("Next does not reach io.EOF")
		}
		var (
			line int
			v    *T
			errs []amane.FieldError
			err  error
		)
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Fatalf("Next panicked: %v\n%s", r, debug.Stack())
				}
			}()
			line, v, errs, err = next()
		}()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatalf("Next: %v", err) // a bytes.Reader has no I/O error
		}
		if line <= last {
			t.Errorf("row on line %d after line %d", line, last)
		}
		last = line
		if v == nil && len(errs) == 0 {
			t.Fatalf("line %d: neither a value nor an error", line)
		}
		for _, fe := range errs {
			if fe.File != name || fe.Line < 1 || fe.Line != line || fe.Field == "" || fe.Rule == "" {
				t.Errorf("error %+v: want file %s, line %d, a field and a rule", fe, name, line)
			}
		}
		if len(errs) == 0 { // a value to use: stable under Normalize
			again := *v
			if errs := normalize(&again); len(errs) != 0 {
				t.Errorf("line %d: the value read does not pass Normalize again: %v", line, errs)
			}
			if !reflect.DeepEqual(again, *v) {
				t.Errorf("line %d: Normalize changes the value read:\n%+v\n%+v", line, *v, again)
			}
		}
	}
}

func FuzzEmployerReader(f *testing.F) {
	fuzzSeeds(f, csvfile.EmployerColumns, employerRow(),
		with(employerRow(), "adresse", "a\nb", "telephone", "+212522123456", "mandataire", "M"),
		with(employerRow(), "rib", "1", "ice", "", "representant_cin", "ABC"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzRead(t, employersFile, data, func() (func() (int, *amane.Employer, []amane.FieldError, error), *amane.FieldError) {
			r, ferr := csvfile.NewEmployerReader(employersFile, bytes.NewReader(data))
			if ferr != nil {
				return nil, ferr
			}
			return r.Next, nil
		}, (*amane.Employer).Normalize)
	})
}

func FuzzEmployeeReader(f *testing.F) {
	fuzzSeeds(f, csvfile.EmployeeColumns, employeeRow(),
		with(employeeRow(), "cin", "", "passeport", "ab12345", "employeur", "x\ny"),
		with(employeeRow(), "immatriculation", "999999999", "etat_demande", ""))
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzRead(t, employeesFile, data, func() (func() (int, *amane.Employee, []amane.FieldError, error), *amane.FieldError) {
			r, ferr := csvfile.NewEmployeeReader(employeesFile, bytes.NewReader(data))
			if ferr != nil {
				return nil, ferr
			}
			return r.Next, nil
		}, func(e *amane.Employee) []amane.FieldError {
			e.Employments = slices.Clone(e.Employments) // normalize a copy, not the value read
			return e.Normalize()
		})
	})
}
