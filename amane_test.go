package amane_test

import (
	"slices"
	"strings"
	"testing"

	"amane"
)

func TestNameWords(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"Saïd", []string{"said"}},
		{"SAID", []string{"said"}},
		{"Fatima-Zahra El Idrissi", []string{"fatima", "zahra", "el", "idrissi"}},
		{"Chérif  Chérif", []string{"cherif"}},
		{"Aït Ben Haddou", []string{"ait", "ben", "haddou"}},
		{"O'Brien", []string{"o", "brien"}},
		{"  ", nil},
		{"محمد", []string{"محمد"}}, // Arabic script keeps its letters
	} {
		t.Run(tc.in, func(t *testing.T) {
			if got := amane.NameWords(tc.in); !slices.Equal(got, tc.want) {
				t.Fatalf("NameWords(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func validEmployee() *amane.Employee {
	return &amane.Employee{Immatriculation: "123456789", CIN: "ab123456", Surname: " Tazi ", FirstName: "Omar", AffiliationDate: "2020-01-02",
		Employments: []amane.Employment{{Affiliation: "1234567", Since: "2020-01-02", State: amane.EmploymentPending}}}
}

func TestEmployeeNormalize(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		e := validEmployee()
		if errs := e.Normalize(); errs != nil {
			t.Fatal(errs)
		}
		if e.CIN != "AB123456" || e.Surname != "Tazi" {
			t.Fatalf("not normalized: %+v", e)
		}
	})
	for _, tc := range []struct {
		name   string
		mutate func(e *amane.Employee)
		fields []string
	}{
		{"ErrBothDocuments", func(e *amane.Employee) { e.Passport = "X1234567" }, []string{"passeport"}},
		{"ErrNoDocument", func(e *amane.Employee) { e.CIN = "" }, []string{"cin"}},
		{"ErrReserved", func(e *amane.Employee) { e.Immatriculation = "999999999" }, []string{"immatriculation"}},
		{"ErrDate", func(e *amane.Employee) { e.AffiliationDate = "2020-02-30" }, []string{"date_affiliation"}},
		{"ErrControl", func(e *amane.Employee) { e.FirstName = "Om\x00ar" }, []string{"prenom"}},
		{"ErrEverythingAtOnce", func(e *amane.Employee) {
			e.Immatriculation, e.CIN, e.Surname, e.Employments[0].State = "12", "1234", "", "maybe"
		}, []string{"immatriculation", "cin", "nom", "emplois.etat"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := validEmployee()
			tc.mutate(e)
			var got []string
			for _, fe := range e.Normalize() {
				got = append(got, fe.Field)
				if strings.Contains(fe.Rule, "Om\x00ar") {
					t.Errorf("rule quotes the value: %s", fe.Rule)
				}
			}
			if !slices.Equal(got, tc.fields) {
				t.Fatalf("problems on %v, want %v", got, tc.fields)
			}
		})
	}
}

func TestFieldErrorString(t *testing.T) {
	fe := amane.FieldError{File: "SALARIES.csv", Line: 12, Field: "cin", Rule: "must start with 1 or 2 letters"}
	if got := fe.String(); got != "SALARIES.csv:12: cin: must start with 1 or 2 letters" {
		t.Fatal(got)
	}
}
