package gate_test

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"testing"

	"amane"
	"amane/amanetest"
	"amane/gate"
	"amane/ids"
	"amane/vault"

	_ "modernc.org/sqlite"
)

type fixture struct {
	gate *gate.Gate
	db   string
	ctx  context.Context
}

func newFixture(t *testing.T) *fixture { return fixtureOf(amanetest.Open(t)) }

func fixtureOf(r *amanetest.Registry) *fixture {
	return &fixture{gate: r.Gate, db: r.DBPath, ctx: amanetest.Context(amane.RoleOperator)}
}

// Employer returns a valid employer.
func Employer(aff string) *amane.Employer {
	rib := "00781000780002011062" + "03"
	rib += ids.Key97(rib)
	return &amane.Employer{
		EmployerIdentity: amane.EmployerIdentity{Affiliation: aff, Name: "ATLAS NEGOCE SARL", Activity: "Commerce de gros",
			Address: "Lot 4, Zone industrielle", City: "Casablanca", AdhesionDate: "2010-01-04", AffiliationDate: "2010-02-01",
			ICE: "001561191000066", RC: "12345", TP: "12345678", IF: "87654321", LegalForm: "SARL", Agency: "CASA-ANFA",
			AccountState: amane.AccountActive, PaymentMode: amane.PayTransfer, BankCode: "007", BankAccountDate: "2009-12-01"},
		Representative: amane.Representative{Surname: "Berrada", FirstName: "Khadija", CIN: "BE123456"},
		Email:          "k.berrada@atlas.example", Phone: "0612345678", RIB: rib,
	}
}

func Employee(imm, cin, surname, first, aff string) *amane.Employee {
	return &amane.Employee{Immatriculation: imm, CIN: cin, Surname: surname, FirstName: first, AffiliationDate: "2020-03-01",
		Employments: []amane.Employment{{Affiliation: aff, Since: "2020-03-01", State: amane.EmploymentValidated}}}
}

func (f *fixture) seed(t *testing.T) {
	t.Helper()
	if err := f.gate.CreateEmployer(f.ctx, Employer("1234567")); err != nil {
		t.Fatal(err)
	}
	for _, e := range []*amane.Employee{
		Employee("123456789", "AB123456", "El Idrissi", "Saïd", "1234567"),
		Employee("223456789", "C654321", "Chérif", "Aïcha", "1234567"),
		Employee("323456789", "D111222", "Alaoui", "Said", "1234567"),
	} {
		if err := f.gate.CreateEmployee(f.ctx, e); err != nil {
			t.Fatal(err)
		}
	}
}

func TestLookups(t *testing.T) { amanetest.Each(t, testLookups) }

func testLookups(t *testing.T, r *amanetest.Registry) {
	f := fixtureOf(r)
	f.seed(t)
	t.Run("ByImm", func(t *testing.T) {
		e, err := f.gate.Employee(f.ctx, "223456789")
		if err != nil {
			t.Fatal(err)
		}
		if e.Surname != "Chérif" || e.FirstName != "Aïcha" || e.CIN != amane.MaskCIN("C654321") || len(e.Employments) != 1 || e.Employments[0].Affiliation != "1234567" {
			t.Fatalf("got %+v", e)
		}
		e, err = f.gate.Employee(amane.NewContextWithReveal(f.ctx, amane.FieldCIN), "223456789")
		if err != nil || e.CIN != "C654321" {
			t.Fatalf("revealed: %+v %v", e, err)
		}
	})
	t.Run("ByCINLowerCase", func(t *testing.T) {
		es, err := f.gate.EmployeesByCIN(f.ctx, "ab123456")
		if err != nil || len(es) != 1 || es[0].Immatriculation != "123456789" {
			t.Fatalf("got %+v, %v", es, err)
		}
	})
	for _, tc := range []struct {
		name, query string
		want        []string
	}{
		{"NameWithoutAccent", "said", []string{"123456789", "323456789"}},
		{"NameWithAccent", "Saïd", []string{"123456789", "323456789"}},
		{"UpperCase", "CHERIF", []string{"223456789"}},
		{"TwoWords", "idrissi said", []string{"123456789"}},
		{"Hyphenated", "el-idrissi", []string{"123456789"}},
		{"NoMatch", "bennani", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			es, err := f.gate.SearchEmployees(f.ctx, tc.query, 10)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range es {
				got = append(got, e.Immatriculation)
			}
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Fatalf("search %q = %v, want %v", tc.query, got, tc.want)
			}
		})
	}
	t.Run("Employer", func(t *testing.T) {
		e, err := f.gate.Employer(amane.NewContextWithReveal(f.ctx, amane.RevealAll), "1234567")
		if err != nil {
			t.Fatal(err)
		}
		if e.Representative.CIN != "BE123456" || e.Phone != "+212612345678" || len(e.Employees) != 3 || e.Employees[0].CIN != "AB123456" {
			t.Fatalf("got %+v", e)
		}
	})
	t.Run("ErrNoPrincipal", func(t *testing.T) {
		_, err := f.gate.Employee(context.Background(), "223456789")
		if amane.ErrorCode(err) != amane.EUNAUTHORIZED {
			t.Fatalf("got %v", err)
		}
	})
}

func TestRefusesBadInputAndWritesNothing(t *testing.T) {
	amanetest.Each(t, testRefusesBadInputAndWritesNothing)
}

func testRefusesBadInputAndWritesNothing(t *testing.T, r *amanetest.Registry) {
	f := fixtureOf(r)
	f.seed(t)
	for _, tc := range []struct {
		name   string
		mutate func(e *amane.Employer)
		field  string
	}{
		{"ErrRIBKey", func(e *amane.Employer) { e.RIB = e.RIB[:22] + "00" }, "rib"},
		{"ErrICE", func(e *amane.Employer) { e.ICE = "001561191000067" }, "ice"},
		{"ErrAffiliation8Digits", func(e *amane.Employer) { e.Affiliation = "12345678" }, "affiliation"},
		{"ErrCIN", func(e *amane.Employer) { e.Representative.CIN = "ABC12345" }, "representant_cin"},
		{"ErrPhone", func(e *amane.Employer) { e.Phone = "0812345678" }, "telephone"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := Employer("7654321")
			tc.mutate(e)
			err := f.gate.CreateEmployer(f.ctx, e)
			var ae *amane.Error
			if !errors.As(err, &ae) || ae.Code != amane.EINVALID || len(ae.Fields) != 1 || ae.Fields[0].Field != tc.field {
				t.Fatalf("got %#v, want one problem on %s", err, tc.field)
			}
			if _, err := f.gate.Employer(f.ctx, "7654321"); amane.ErrorCode(err) != amane.ENOTFOUND {
				t.Fatalf("a refused employer was written: %v", err)
			}
		})
	}
	t.Run("ErrEveryFieldAtOnce", func(t *testing.T) {
		e := Employer("7654321")
		e.RIB, e.ICE, e.Email = "1", "2", "no-at-sign"
		err := f.gate.CreateEmployer(f.ctx, e)
		var ae *amane.Error
		if !errors.As(err, &ae) || len(ae.Fields) != 3 {
			t.Fatalf("got %v, want 3 problems", err)
		}
	})
	t.Run("ErrDuplicateCIN", func(t *testing.T) {
		err := f.gate.CreateEmployee(f.ctx, Employee("423456789", "AB123456", "Tazi", "Omar", "1234567"))
		if amane.ErrorCode(err) != amane.ECONFLICT {
			t.Fatalf("got %v", err)
		}
		if _, err := f.gate.Employee(f.ctx, "423456789"); amane.ErrorCode(err) != amane.ENOTFOUND {
			t.Fatal("refused employee was written")
		}
	})
}

func TestUpdate(t *testing.T) { amanetest.Each(t, testUpdate) }

func testUpdate(t *testing.T, r *amanetest.Registry) {
	f := fixtureOf(r)
	f.seed(t)
	e := Employee("323456789", "D111222", "Alaoui Bennani", "Said", "1234567")
	if err := f.gate.UpdateEmployee(f.ctx, e); err != nil {
		t.Fatal(err)
	}
	es, err := f.gate.SearchEmployees(f.ctx, "bennani", 10)
	if err != nil || len(es) != 1 || es[0].Surname != "Alaoui Bennani" {
		t.Fatalf("after update: %+v %v", es, err)
	}
	er := Employer("1234567")
	er.Email = "contact@atlas.example"
	if err := f.gate.UpdateEmployer(f.ctx, er); err != nil {
		t.Fatal(err)
	}
	got, err := f.gate.Employer(amane.NewContextWithReveal(f.ctx, amane.FieldEmail), "1234567")
	if err != nil || got.Email != "contact@atlas.example" {
		t.Fatalf("employer update: %v %v", got, err)
	}
}

// A ciphertext moved to another row or another column must fail to open, naming the field and record.
func TestMovedCiphertextFailsToOpen(t *testing.T) {
	for _, tc := range []struct {
		name, sql, imm, want string
	}{
		{"ErrOtherRecord", `UPDATE employees SET nom = (SELECT nom FROM employees WHERE id = 2) WHERE id = 1`, "123456789", "field nom of employee/1"},
		{"ErrOtherField", `UPDATE employees SET prenom = nom WHERE id = 1`, "123456789", "field prenom of employee/1"},
		{"ErrOtherKey", `UPDATE data_keys SET wrapped = (SELECT wrapped FROM data_keys WHERE kind = 2 AND subject_id = 3) WHERE kind = 2 AND subject_id = 2`, "223456789", "data key of employee/2 does not unwrap"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.seed(t)
			db, err := sql.Open("sqlite", f.db)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := db.Exec(tc.sql); err != nil {
				t.Fatal(err)
			}
			db.Close()
			_, err = f.gate.Employee(f.ctx, tc.imm)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
			if tc.name != "ErrOtherKey" && !errors.Is(err, vault.ErrOpen) {
				t.Fatalf("error %v is not vault.ErrOpen", err)
			}
		})
	}
}
