package synth_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"amane/ids"
	"amane/synth"
)

const (
	adherentsHeader = "affiliation,raison_sociale,activite,adresse,ville,date_adhesion,date_affiliation,ice,rc,tp,if,forme_juridique,agence,etat_compte,representant_nom,representant_prenom,representant_cin,email,telephone,mode_telepaiement,rib,code_banque,date_creation_compte,mandataire"
	salariesHeader  = "immatriculation,cin,passeport,nom,prenom,date_affiliation,employeur,affiliation_employeur,etat_demande"
)

// registry is one generated pair of files, raw and parsed.
type registry struct {
	adh, sal   []byte
	adhRows    []map[string]string
	salRows    []map[string]string
	adhColumns []string
	salColumns []string
}

func generate(t testing.TB, cfg synth.Config) *registry {
	t.Helper()
	var a, s bytes.Buffer
	if err := synth.Write(context.Background(), cfg, &a, &s, nil); err != nil {
		t.Fatalf("Write(%+v): %v", cfg, err)
	}
	r := &registry{adh: a.Bytes(), sal: s.Bytes()}
	r.adhColumns, r.adhRows = parse(t, "ADHERENTS.csv", r.adh)
	r.salColumns, r.salRows = parse(t, "SALARIES.csv", r.sal)
	if len(r.adhRows) != cfg.Employers || len(r.salRows) != cfg.Employees {
		t.Fatalf("got %d employers and %d employees, want %d and %d", len(r.adhRows), len(r.salRows), cfg.Employers, cfg.Employees)
	}
	return r
}

func parse(t testing.TB, name string, b []byte) ([]string, []map[string]string) {
	t.Helper()
	recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll() // also checks every row has the header's width
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if len(recs) == 0 {
		t.Fatalf("%s: empty", name)
	}
	rows := make([]map[string]string, 0, len(recs)-1)
	for _, rec := range recs[1:] {
		m := make(map[string]string, len(rec))
		for i, v := range rec {
			m[recs[0][i]] = v
		}
		rows = append(rows, m)
	}
	return recs[0], rows
}

var medium = synth.Config{Employers: 3000, Employees: 15000, Seed: 7}

func TestHeaders(t *testing.T) {
	r := generate(t, synth.Config{Employers: 3, Employees: 5, Seed: 1})
	empty := generate(t, synth.Config{})
	for _, tc := range []struct {
		name string
		file []byte
		want string
	}{
		{"ADHERENTS", r.adh, adherentsHeader},
		{"SALARIES", r.sal, salariesHeader},
		{"ADHERENTS/Empty", empty.adh, adherentsHeader},
		{"SALARIES/Empty", empty.sal, salariesHeader},
	} {
		t.Run(tc.name, func(t *testing.T) {
			first, _, _ := bytes.Cut(tc.file, []byte("\n"))
			if got := string(first); got != tc.want {
				t.Errorf("header:\n got %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestDeterminism(t *testing.T) {
	base := synth.Config{Employers: 500, Employees: 2500, Seed: 42}
	a := generate(t, base)
	for _, tc := range []struct {
		name string
		cfg  synth.Config
		same bool
	}{
		{"SameSeed", base, true},
		{"OtherSeed", synth.Config{Employers: 500, Employees: 2500, Seed: 43}, false},
		{"SeedZero", synth.Config{Employers: 500, Employees: 2500, Seed: 0}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := generate(t, tc.cfg)
			for _, f := range []struct {
				name string
				x, y []byte
			}{{"ADHERENTS", a.adh, b.adh}, {"SALARIES", a.sal, b.sal}} {
				if got := bytes.Equal(f.x, f.y); got != tc.same {
					t.Errorf("%s: identical = %v, want %v", f.name, got, tc.same)
				}
			}
		})
	}
}

var (
	dateRE    = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
	phoneRE   = regexp.MustCompile(`^0[67]\d{8}$`)
	cinRE     = regexp.MustCompile(`^[A-Z]{1,2}\d+$`)
	passRE    = regexp.MustCompile(`^[A-Z0-9]{8,9}$`)
	emailRE   = regexp.MustCompile(`^[a-z]+\.[a-z]+\d+@[a-z]+\.example$`)
	agencyRE  = regexp.MustCompile(`^[A-Z]+(-[A-Z]+)*$`)
	digitsRE  = regexp.MustCompile(`^\d+$`)
	affRE     = regexp.MustCompile(`^[1-9]\d{6}$`)
	immRE     = regexp.MustCompile(`^[1-9]\d{8}$`)
	firstDate = "1970-01-01"
	lastDate  = "2024-10-31"
)

type check func(string) error

func parsed(f func(string) (string, error)) check {
	return func(v string) error { _, err := f(v); return err }
}

func matches(re *regexp.Regexp) check {
	return func(v string) error {
		if !re.MatchString(v) {
			return fmt.Errorf("does not match %s", re)
		}
		return nil
	}
}

func oneOf(set ...string) check {
	return func(v string) error {
		if !slices.Contains(set, v) {
			return fmt.Errorf("not one of %q", set)
		}
		return nil
	}
}

func length(min, max int) check {
	return func(v string) error {
		if n := utf8.RuneCountInString(v); n < min || n > max {
			return fmt.Errorf("length %d, want %d..%d", n, min, max)
		}
		return nil
	}
}

func inDateRange(v string) error {
	if v < firstDate || v > lastDate {
		return fmt.Errorf("outside %s..%s", firstDate, lastDate)
	}
	return nil
}

func emptyOr(c ...check) check {
	return func(v string) error {
		if v == "" {
			return nil
		}
		return all(c...)(v)
	}
}

func all(c ...check) check {
	return func(v string) error {
		for _, f := range c {
			if err := f(v); err != nil {
				return err
			}
		}
		return nil
	}
}

func bankCodes() []string {
	var out []string
	for _, b := range synth.Banks {
		out = append(out, b.Code)
	}
	return out
}

func agencyCodes() []string {
	var out []string
	for _, a := range synth.Agencies {
		out = append(out, a.Code)
	}
	return out
}

func cinPrefix(v string) error {
	prefixes := []string{"A", "AB", "AD", "B", "BE", "BH", "BJ", "BK", "C", "CD", "D", "DA", "E", "EE",
		"F", "G", "H", "I", "J", "JA", "K", "L", "M", "X"}
	p := strings.TrimRightFunc(v, unicode.IsDigit)
	if !slices.Contains(prefixes, p) {
		return fmt.Errorf("prefix %q is not a known one", p)
	}
	return nil
}

func TestAdherentsValues(t *testing.T) {
	r := generate(t, medium)
	date := all(matches(dateRE), inDateRange)
	person := all(length(3, 40), func(v string) error {
		if strings.ToUpper(v) == v {
			return errors.New("not in title case")
		}
		return nil
	})
	checks := map[string]check{
		"affiliation":          all(parsed(ids.ParseAffiliation), matches(affRE)),
		"raison_sociale":       length(4, 80),
		"activite":             length(5, 60),
		"adresse":              length(10, 90),
		"ville":                length(3, 20),
		"date_adhesion":        date,
		"date_affiliation":     date,
		"ice":                  parsed(ids.ParseICE),
		"rc":                   all(parsed(ids.ParseRC), matches(regexp.MustCompile(`^[1-9]\d{0,5}$`))),
		"tp":                   all(parsed(ids.ParseTP), matches(regexp.MustCompile(`^\d{8}$`))),
		"if":                   all(parsed(ids.ParseIF), matches(regexp.MustCompile(`^\d{8}$`))),
		"forme_juridique":      oneOf("SARL", "SARL AU", "SA", "SNC", "SCS", "Personne physique", "Coopérative", "Association"),
		"agence":               all(matches(agencyRE), oneOf(agencyCodes()...)),
		"etat_compte":          oneOf("actif", "suspendu", "radie"),
		"representant_nom":     person,
		"representant_prenom":  person,
		"representant_cin":     all(parsed(ids.ParseCIN), matches(cinRE), length(7, 8), cinPrefix),
		"email":                all(parsed(ids.ParseEmail), matches(emailRE)),
		"telephone":            all(parsed(ids.ParsePhone), matches(phoneRE)),
		"mode_telepaiement":    oneOf("virement", "prelevement", "gab", "carte"),
		"rib":                  all(parsed(ids.ParseRIB), matches(regexp.MustCompile(`^\d{24}$`))),
		"code_banque":          all(parsed(ids.ParseBankCode), oneOf(bankCodes()...)),
		"date_creation_compte": date,
		"mandataire":           emptyOr(length(8, 60)),
	}
	for _, col := range r.adhColumns {
		t.Run(col, func(t *testing.T) {
			c, ok := checks[col]
			if !ok {
				t.Fatalf("no check for column %s", col)
			}
			bad := 0
			for i, row := range r.adhRows {
				v := row[col]
				if err := c(v); err != nil || !utf8.ValidString(v) {
					bad++
					if bad <= 3 {
						t.Errorf("line %d: %s %q: %v", i+2, col, v, err)
					}
				}
			}
		})
	}

	cityOf := map[string]string{}
	for _, a := range synth.Agencies {
		cityOf[a.Code] = a.City
	}
	rows := []struct {
		name string
		ok   func(map[string]string) bool
	}{
		{"AffiliationAfterAdhesion", func(m map[string]string) bool { return m["date_affiliation"] >= m["date_adhesion"] }},
		{"BankCodeIsRIBPrefix", func(m map[string]string) bool { return m["code_banque"] == ids.RIBBank(m["rib"]) }},
		{"CityOfAgency", func(m map[string]string) bool { return m["ville"] == cityOf[m["agence"]] }},
		{"ICEKeyFromKey97", func(m map[string]string) bool { return m["ice"][13:] == ids.Key97(m["ice"][:13]) }},
		{"RIBKeyFromKey97", func(m map[string]string) bool { return m["rib"][22:] == ids.Key97(m["rib"][:22]) }},
	}
	for _, tc := range rows {
		t.Run(tc.name, func(t *testing.T) {
			for i, m := range r.adhRows {
				if !tc.ok(m) {
					t.Fatalf("line %d breaks the rule: %v", i+2, m)
				}
			}
		})
	}

	// Shares: loose bounds, but a broken weighting fails them.
	shares := []struct {
		col, value string
		min, max   float64
	}{
		{"etat_compte", "actif", 0.86, 0.94},
		{"mandataire", "", 0.75, 0.85},
		{"forme_juridique", "SARL", 0.38, 0.52},
	}
	for _, s := range shares {
		t.Run("Share/"+s.col, func(t *testing.T) {
			n := 0
			for _, m := range r.adhRows {
				if m[s.col] == s.value {
					n++
				}
			}
			if f := float64(n) / float64(len(r.adhRows)); f < s.min || f > s.max {
				t.Errorf("%s = %q in %.3f of rows, want %.2f..%.2f", s.col, s.value, f, s.min, s.max)
			}
		})
	}
	t.Run("Share/Casablanca", func(t *testing.T) {
		n := 0
		for _, m := range r.adhRows {
			if m["ville"] == "Casablanca" {
				n++
			}
		}
		if f := float64(n) / float64(len(r.adhRows)); f < 0.3 || f > 0.5 {
			t.Errorf("Casablanca holds %.3f of employers, want 0.30..0.50", f)
		}
	})
}

func TestSalariesValues(t *testing.T) {
	r := generate(t, medium)
	employers := map[string]map[string]string{}
	for _, m := range r.adhRows {
		employers[m["affiliation"]] = m
	}
	checks := map[string]check{
		"immatriculation":  all(parsed(ids.ParseImmatriculation), matches(immRE)),
		"cin":              emptyOr(parsed(ids.ParseCIN), matches(cinRE), length(7, 8), cinPrefix),
		"passeport":        emptyOr(parsed(ids.ParsePassport), matches(passRE)),
		"nom":              length(3, 40),
		"prenom":           length(3, 40),
		"date_affiliation": all(matches(dateRE), inDateRange),
		"employeur":        length(4, 80),
		"affiliation_employeur": func(v string) error {
			if employers[v] == nil {
				return errors.New("no such employer in ADHERENTS")
			}
			return nil
		},
		"etat_demande": oneOf("validee", "en_attente", "rejetee"),
	}
	for _, col := range r.salColumns {
		t.Run(col, func(t *testing.T) {
			c, ok := checks[col]
			if !ok {
				t.Fatalf("no check for column %s", col)
			}
			bad := 0
			for i, row := range r.salRows {
				v := row[col]
				if err := c(v); err != nil || !utf8.ValidString(v) {
					bad++
					if bad <= 3 {
						t.Errorf("line %d: %s %q: %v", i+2, col, v, err)
					}
				}
			}
		})
	}
	rows := []struct {
		name string
		ok   func(map[string]string) bool
	}{
		{"ExactlyOneOfCINPassport", func(m map[string]string) bool { return (m["cin"] == "") != (m["passeport"] == "") }},
		{"EmployerName", func(m map[string]string) bool {
			return employers[m["affiliation_employeur"]]["raison_sociale"] == m["employeur"]
		}},
		{"AfterEmployerAffiliation", func(m map[string]string) bool {
			return m["date_affiliation"] >= employers[m["affiliation_employeur"]]["date_affiliation"]
		}},
		{"NotOccasionalWorker", func(m map[string]string) bool { return m["immatriculation"] != ids.OccasionalWorker }},
	}
	for _, tc := range rows {
		t.Run(tc.name, func(t *testing.T) {
			for i, m := range r.salRows {
				if !tc.ok(m) {
					t.Fatalf("line %d breaks the rule: %v", i+2, m)
				}
			}
		})
	}
	shares := []struct {
		name     string
		ok       func(map[string]string) bool
		min, max float64
	}{
		{"Passport", func(m map[string]string) bool { return m["passeport"] != "" }, 0.015, 0.05},
		{"Validee", func(m map[string]string) bool { return m["etat_demande"] == "validee" }, 0.90, 0.96},
	}
	for _, s := range shares {
		t.Run("Share/"+s.name, func(t *testing.T) {
			n := 0
			for _, m := range r.salRows {
				if s.ok(m) {
					n++
				}
			}
			if f := float64(n) / float64(len(r.salRows)); f < s.min || f > s.max {
				t.Errorf("share %.3f, want %.3f..%.3f", f, s.min, s.max)
			}
		})
	}
}

func TestUniqueness(t *testing.T) {
	for _, cfg := range []synth.Config{medium, {Employers: 499, Employees: 30000, Seed: 11}} {
		t.Run(fmt.Sprintf("%dx%d", cfg.Employers, cfg.Employees), func(t *testing.T) { testUniqueness(t, cfg) })
	}
}

func testUniqueness(t *testing.T, cfg synth.Config) {
	r := generate(t, cfg)
	column := func(rows []map[string]string, col string) []string {
		var out []string
		for _, m := range rows {
			if v := m[col]; v != "" {
				out = append(out, v)
			}
		}
		return out
	}
	for _, tc := range []struct {
		name   string
		values []string
	}{
		{"affiliation", column(r.adhRows, "affiliation")},
		{"ice", column(r.adhRows, "ice")},
		{"rib", column(r.adhRows, "rib")},
		{"email", column(r.adhRows, "email")},
		{"immatriculation", column(r.salRows, "immatriculation")},
		{"passeport", column(r.salRows, "passeport")},
		{"CINAcrossFiles", append(column(r.adhRows, "representant_cin"), column(r.salRows, "cin")...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if len(tc.values) == 0 {
				t.Fatal("no values")
			}
			seen := make(map[string]int, len(tc.values))
			for i, v := range tc.values {
				if j, dup := seen[v]; dup {
					t.Fatalf("value %d repeats value %d", i, j)
				}
				seen[v] = i
			}
		})
	}
}

func TestHeavyTail(t *testing.T) {
	for _, tc := range []struct {
		name          string
		cfg           synth.Config
		maxMedian     int
		minLargest    int
		minSmallShare float64 // employers of 1–5 employees
	}{
		{"Seed1", synth.Config{Employers: 2000, Employees: 20000, Seed: 1}, 5, 200, 0.5},
		{"Seed2", synth.Config{Employers: 2000, Employees: 20000, Seed: 2}, 5, 200, 0.5},
		{"Seed3", synth.Config{Employers: 2000, Employees: 20000, Seed: 3}, 5, 200, 0.5},
		{"Seed2024", synth.Config{Employers: 2000, Employees: 20000, Seed: 2024}, 5, 200, 0.5},
		// The leak's own ratio: four employees per employer.
		{"BreachRatio", synth.Config{Employers: 10000, Employees: 40000, Seed: 5}, 3, 500, 0.75},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := generate(t, tc.cfg)
			count := map[string]int{}
			for _, m := range r.salRows {
				count[m["affiliation_employeur"]]++
			}
			sizes := make([]int, 0, len(r.adhRows))
			for _, m := range r.adhRows {
				sizes = append(sizes, count[m["affiliation"]])
			}
			slices.Sort(sizes)
			median, largest := sizes[len(sizes)/2], sizes[len(sizes)-1]
			zero, small := 0, 0
			for _, n := range sizes {
				switch {
				case n == 0:
					zero++
				case n <= 5:
					small++
				}
			}
			t.Logf("median %d, largest %d, empty %d, 1–5 %d of %d", median, largest, zero, small, len(sizes))
			if median > tc.maxMedian {
				t.Errorf("median employer size %d, want ≤ %d", median, tc.maxMedian)
			}
			if largest < tc.minLargest {
				t.Errorf("largest employer %d, want ≥ %d", largest, tc.minLargest)
			}
			if largest > tc.cfg.Employees/10 {
				t.Errorf("largest employer %d holds over a tenth of all employees", largest)
			}
			if zero == 0 || zero > len(sizes)/5 {
				t.Errorf("%d employers without employees, want some but at most a fifth", zero)
			}
			if f := float64(small) / float64(len(sizes)); f < tc.minSmallShare {
				t.Errorf("%.2f of employers have 1–5 employees, want ≥ %.2f", f, tc.minSmallShare)
			}
		})
	}
}

// fold lower-cases and drops accents, so that "Saïd" and "SAID" compare equal.
func fold(s string) string {
	r := strings.NewReplacer("à", "a", "â", "a", "ä", "a", "é", "e", "è", "e", "ê", "e", "ë", "e", "î", "i",
		"ï", "i", "ô", "o", "ö", "o", "ù", "u", "û", "u", "ü", "u", "ç", "c")
	return r.Replace(strings.ToLower(s))
}

func words(s string) []string {
	return strings.FieldsFunc(fold(s), func(r rune) bool { return !unicode.IsLetter(r) })
}

func TestNoPersonNames(t *testing.T) {
	r := generate(t, medium)
	// The name lists are not exported: gather them from the person columns, which a run this size covers.
	names := map[string]bool{}
	firstNames, lastNames := map[string]bool{}, map[string]bool{}
	for _, m := range r.adhRows {
		firstNames[m["representant_prenom"]] = true
		lastNames[m["representant_nom"]] = true
	}
	for _, m := range r.salRows {
		firstNames[m["prenom"]] = true
		lastNames[m["nom"]] = true
	}
	if len(firstNames) < 140 || len(lastNames) < 140 {
		t.Fatalf("only %d first names and %d surnames seen, want about 150 each", len(firstNames), len(lastNames))
	}
	for _, set := range []map[string]bool{firstNames, lastNames} {
		for n := range set {
			for _, w := range words(n) {
				names[w] = true
			}
		}
	}
	t.Run("Accents", func(t *testing.T) {
		for _, n := range []string{"Saïd", "Aïcha", "Réda"} {
			if !firstNames[n] {
				t.Errorf("first name %q never appears", n)
			}
		}
		for _, n := range []string{"Benaïssa", "Chérif"} {
			if !lastNames[n] {
				t.Errorf("surname %q never appears", n)
			}
		}
	})
	t.Run("MinLength", func(t *testing.T) {
		for _, set := range []map[string]bool{firstNames, lastNames} {
			for n := range set {
				if utf8.RuneCountInString(n) < 3 {
					t.Errorf("name %q is shorter than 3 characters", n)
				}
			}
		}
	})

	// A name hides in a field if it is one of its words, or — for names long enough not to occur by
	// chance in French (4 letters and more) — anywhere inside it, as a byte scan of a store would find it.
	hides := func(field string) string {
		f := fold(field)
		for _, w := range words(field) {
			if names[w] {
				return w
			}
		}
		for n := range names {
			if len(n) >= 4 && strings.Contains(f, n) {
				return n
			}
		}
		return ""
	}
	var fixed []string
	for _, a := range synth.Agencies {
		fixed = append(fixed, a.Code, a.Name, a.City)
	}
	for _, b := range synth.Banks {
		fixed = append(fixed, b.Name)
	}
	for _, tc := range []struct {
		name   string
		rows   []map[string]string
		col    string
		values []string
	}{
		{name: "raison_sociale", rows: r.adhRows, col: "raison_sociale"},
		{name: "activite", rows: r.adhRows, col: "activite"},
		{name: "adresse", rows: r.adhRows, col: "adresse"},
		{name: "ville", rows: r.adhRows, col: "ville"},
		{name: "agence", rows: r.adhRows, col: "agence"},
		{name: "mandataire", rows: r.adhRows, col: "mandataire"},
		{name: "email_domain", rows: r.adhRows, col: "email"},
		{name: "employeur", rows: r.salRows, col: "employeur"},
		{name: "AgenciesAndBanks", values: fixed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			values := tc.values
			seen := map[string]bool{}
			for _, m := range tc.rows {
				v := m[tc.col]
				if tc.col == "email" {
					_, v, _ = strings.Cut(v, "@")
				}
				if !seen[v] {
					seen[v] = true
					values = append(values, v)
				}
			}
			for _, v := range values {
				if n := hides(v); n != "" {
					t.Errorf("%q holds the person name %q", v, n)
				}
			}
		})
	}
}

func TestRejectsConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  synth.Config
	}{
		{"ErrNegativeEmployers", synth.Config{Employers: -1}},
		{"ErrNegativeEmployees", synth.Config{Employers: 1, Employees: -1}},
		{"ErrEmployeesWithoutEmployers", synth.Config{Employees: 1}},
		{"ErrTooManyEmployers", synth.Config{Employers: 9_000_001}},
		{"ErrTooManyPeople", synth.Config{Employers: 1, Employees: 30_000_000}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := synth.Write(context.Background(), tc.cfg, io.Discard, io.Discard, nil); err == nil {
				t.Errorf("Write(%+v) succeeded, want an error", tc.cfg)
			}
		})
	}
}

func TestProgressAndCancel(t *testing.T) {
	cfg := synth.Config{Employers: 5000, Employees: 100000, Seed: 9}
	total := cfg.Employers + cfg.Employees
	t.Run("OK", func(t *testing.T) {
		var calls [][2]int
		err := synth.Write(context.Background(), cfg, io.Discard, io.Discard, func(done, n int) {
			calls = append(calls, [2]int{done, n})
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(calls) < 2 {
			t.Fatalf("progress called %d times, want several", len(calls))
		}
		for i, c := range calls {
			if c[1] != total || c[0] > total || (i > 0 && c[0] < calls[i-1][0]) {
				t.Fatalf("call %d: progress(%d, %d) after %v", i, c[0], c[1], calls[max(0, i-1)])
			}
		}
		if last := calls[len(calls)-1]; last != [2]int{total, total} {
			t.Errorf("last progress %v, want [%d %d]", last, total, total)
		}
	})
	t.Run("ErrCanceledBefore", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := synth.Write(ctx, cfg, io.Discard, io.Discard, nil); !errors.Is(err, context.Canceled) {
			t.Errorf("got %v, want context.Canceled", err)
		}
	})
	t.Run("ErrCanceledDuring", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		last := 0
		err := synth.Write(ctx, cfg, io.Discard, io.Discard, func(done, _ int) { last = done; cancel() })
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v, want context.Canceled", err)
		}
		if last == 0 || last >= total {
			t.Errorf("stopped after %d of %d rows, want in between", last, total)
		}
	})
}

type failingWriter struct{ after int }

func (w *failingWriter) Write(p []byte) (int, error) {
	if w.after -= len(p); w.after < 0 {
		return 0, errors.New("disk full")
	}
	return len(p), nil
}

func TestWriterErrors(t *testing.T) {
	cfg := synth.Config{Employers: 20000, Employees: 50000, Seed: 3}
	for _, tc := range []struct {
		name     string
		adh, sal io.Writer
	}{
		{"ErrAdherents", &failingWriter{after: 1 << 20}, io.Discard},
		{"ErrSalaries", io.Discard, &failingWriter{after: 1 << 20}},
		{"ErrSalariesAtFlush", io.Discard, &failingWriter{after: 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := synth.Write(context.Background(), cfg, tc.adh, tc.sal, nil); err == nil {
				t.Error("Write succeeded on a failing writer")
			}
		})
	}
}

func TestLists(t *testing.T) {
	t.Run("Banks", func(t *testing.T) {
		if len(synth.Banks) < 8 {
			t.Errorf("%d banks, want about 10", len(synth.Banks))
		}
		seen := map[string]bool{}
		for _, b := range synth.Banks {
			if _, err := ids.ParseBankCode(b.Code); err != nil || seen[b.Code] || b.Name == "" {
				t.Errorf("bad or repeated bank %+v (%v)", b, err)
			}
			seen[b.Code] = true
		}
	})
	t.Run("Agencies", func(t *testing.T) {
		if len(synth.Agencies) < 18 {
			t.Errorf("%d agencies, want about 20", len(synth.Agencies))
		}
		seen := map[string]bool{}
		for _, a := range synth.Agencies {
			if !agencyRE.MatchString(a.Code) || seen[a.Code] || a.Name == "" || a.City == "" {
				t.Errorf("bad or repeated agency %+v", a)
			}
			seen[a.Code] = true
		}
	})
}

func BenchmarkWrite(b *testing.B) {
	cfg := synth.Config{Employers: 10_000, Employees: 40_000, Seed: 1}
	b.ReportAllocs()
	for b.Loop() {
		if err := synth.Write(context.Background(), cfg, io.Discard, io.Discard, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(cfg.Employers+cfg.Employees)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
