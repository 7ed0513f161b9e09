// Package storetest is the contract every amane.Store implementation passes: the SQLite store's tests
// run it, and so will every later store's. It exercises records with opaque byte strings standing for
// ciphertext and blind indexes: a store must keep them byte for byte and never interpret them.
package storetest

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"amane"
)

// Open returns a fresh, empty store for one test.
type Open func(t *testing.T) amane.Store

// Run runs the contract.
func Run(t *testing.T, open Open) {
	t.Run("Employer", func(t *testing.T) { testEmployer(t, open(t)) })
	t.Run("Employee", func(t *testing.T) { testEmployee(t, open(t)) })
	t.Run("NameIndex", func(t *testing.T) { testNameIndex(t, open(t)) })
	t.Run("Loader", func(t *testing.T) { testLoader(t, open(t)) })
	t.Run("OperatorToken", func(t *testing.T) { testOperatorToken(t, open(t)) })
}

// Employer returns a record whose sealed and index fields are recognisable byte strings.
func Employer(id int64, aff string) *amane.EmployerRecord {
	tag := func(f string) []byte { return []byte(fmt.Sprintf("ct:%s:%d", f, id)) }
	return &amane.EmployerRecord{
		ID: id,
		EmployerIdentity: amane.EmployerIdentity{Affiliation: aff, Name: "ATLAS NEGOCE", Activity: "Commerce", Address: "Lot 1",
			City: "Casablanca", AdhesionDate: "2001-01-01", AffiliationDate: "2001-02-01", ICE: "001561191000066", RC: "1", TP: "2", IF: "3",
			LegalForm: "SARL", Agency: "CASA-ANFA", AccountState: amane.AccountActive, PaymentMode: amane.PayTransfer, BankCode: "007",
			BankAccountDate: "2000-01-01"},
		Key:        amane.WrappedKey{Version: 1, Blob: tag("key")},
		RepSurname: tag("nom"), RepFirstName: tag("prenom"), RepCIN: tag("cin"), Email: tag("email"), Phone: tag("tel"), RIB: tag("rib"),
		RepCINIndex: tag("icin"), EmailIndex: tag("iemail"), RIBIndex: tag("irib"),
	}
}

// Employee returns a record whose index fields derive from n.
func Employee(id int64, n int, words ...string) *amane.EmployeeRecord {
	tag := func(f string) []byte { return []byte(fmt.Sprintf("ct:%s:%d", f, n)) }
	r := &amane.EmployeeRecord{ID: id, AffiliationDate: "2020-01-01", Key: amane.WrappedKey{Version: 1, Blob: tag("key")},
		Imm: tag("imm"), CIN: tag("cin"), Surname: tag("nom"), FirstName: tag("prenom"),
		ImmIndex: tag("iimm"), CINIndex: tag("icin")}
	for _, w := range words {
		r.NameIndex = append(r.NameIndex, []byte("w:"+w))
	}
	return r
}

func code(t *testing.T, err error, want string) {
	t.Helper()
	if got := amane.ErrorCode(err); got != want {
		t.Fatalf("error code = %q (%v), want %q", got, err, want)
	}
}

func testEmployer(t *testing.T, s amane.Store) {
	ctx := context.Background()
	var want *amane.EmployerRecord
	id, err := s.CreateEmployer(ctx, func(id int64) (*amane.EmployerRecord, error) {
		want = Employer(id, "1234567")
		return want, nil
	})
	code(t, err, "")
	got, err := s.EmployerByAffiliation(ctx, "1234567")
	code(t, err, "")
	if got.ID != id || !bytes.Equal(got.RIB, want.RIB) || !bytes.Equal(got.Key.Blob, want.Key.Blob) || got.Name != want.Name || got.Mandataire != nil {
		t.Fatalf("round trip: got %+v, want %+v", got, want)
	}
	t.Run("ErrConflict", func(t *testing.T) {
		_, err := s.CreateEmployer(ctx, func(id int64) (*amane.EmployerRecord, error) { return Employer(id, "1234567"), nil })
		code(t, err, amane.ECONFLICT)
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		_, err := s.EmployerByAffiliation(ctx, "7654321")
		code(t, err, amane.ENOTFOUND)
	})
	t.Run("Update", func(t *testing.T) {
		got.RIB = []byte("ct:rib:new")
		got.City = "Rabat"
		got.Key = amane.WrappedKey{Version: 2, Blob: []byte("ct:key:new")}
		code(t, s.UpdateEmployer(ctx, got), "")
		again, err := s.EmployerByAffiliation(ctx, "1234567")
		code(t, err, "")
		if string(again.RIB) != "ct:rib:new" || again.City != "Rabat" || string(again.Key.Blob) != "ct:key:new" || again.Key.Version != 2 {
			t.Fatalf("update not kept, or key not replaced: %+v", again)
		}
		missing := *got
		missing.ID = 999
		code(t, s.UpdateEmployer(ctx, &missing), amane.ENOTFOUND)
	})
}

func createEmployee(t *testing.T, s amane.Store, n int, jobs []amane.Employment, words ...string) (int64, error) {
	return s.CreateEmployee(context.Background(), func(id int64) (*amane.EmployeeRecord, error) { return Employee(id, n, words...), nil }, jobs)
}

func testEmployee(t *testing.T, s amane.Store) {
	ctx := context.Background()
	erID, err := s.CreateEmployer(ctx, func(id int64) (*amane.EmployerRecord, error) { return Employer(id, "1111111"), nil })
	code(t, err, "")
	job := []amane.Employment{{Affiliation: "1111111", Since: "2020-01-01", State: amane.EmploymentValidated}}
	id, err := createEmployee(t, s, 1, job, "alaoui")
	code(t, err, "")

	t.Run("ByImmIndex", func(t *testing.T) {
		r, err := s.EmployeeByImmIndex(ctx, []byte("ct:iimm:1"))
		code(t, err, "")
		if r.ID != id || string(r.Surname) != "ct:nom:1" || r.Passport != nil {
			t.Fatalf("got %+v", r)
		}
		_, err = s.EmployeeByImmIndex(ctx, []byte("nope"))
		code(t, err, amane.ENOTFOUND)
	})
	t.Run("ByCINIndex", func(t *testing.T) {
		rs, err := s.EmployeesByCINIndex(ctx, []byte("ct:icin:1"))
		code(t, err, "")
		if len(rs) != 1 || rs[0].ID != id {
			t.Fatalf("got %d records", len(rs))
		}
	})
	t.Run("Employments", func(t *testing.T) {
		js, err := s.Employments(ctx, id)
		code(t, err, "")
		if len(js) != 1 || js[0].EmployerID != erID || js[0].Affiliation != "1111111" || js[0].EmployerName != "ATLAS NEGOCE" {
			t.Fatalf("got %+v", js)
		}
		recs, jobs, err := s.EmployeesOf(ctx, erID)
		code(t, err, "")
		if len(recs) != 1 || recs[0].ID != id || jobs[0].State != amane.EmploymentValidated {
			t.Fatalf("EmployeesOf: %d records", len(recs))
		}
	})
	t.Run("ErrConflictImm", func(t *testing.T) {
		_, err := s.CreateEmployee(ctx, func(nid int64) (*amane.EmployeeRecord, error) {
			r := Employee(nid, 2)
			r.ImmIndex = []byte("ct:iimm:1")
			return r, nil
		}, nil)
		code(t, err, amane.ECONFLICT)
	})
	t.Run("ErrConflictCIN", func(t *testing.T) {
		_, err := s.CreateEmployee(ctx, func(nid int64) (*amane.EmployeeRecord, error) {
			r := Employee(nid, 3)
			r.CINIndex = []byte("ct:icin:1")
			return r, nil
		}, nil)
		code(t, err, amane.ECONFLICT)
		if _, err := s.EmployeeByImmIndex(ctx, []byte("ct:iimm:3")); amane.ErrorCode(err) != amane.ENOTFOUND {
			t.Fatalf("a refused create left a record behind")
		}
	})
	t.Run("ErrUnknownEmployer", func(t *testing.T) {
		_, err := createEmployee(t, s, 4, []amane.Employment{{Affiliation: "9999999", Since: "2020-01-01", State: amane.EmploymentPending}})
		code(t, err, amane.ENOTFOUND)
		if _, err := s.EmployeeByImmIndex(ctx, []byte("ct:iimm:4")); amane.ErrorCode(err) != amane.ENOTFOUND {
			t.Fatalf("a refused create left a record behind")
		}
	})
	t.Run("Update", func(t *testing.T) {
		r := Employee(id, 1, "bennani")
		r.Surname = []byte("ct:nom:new")
		r.Key = amane.WrappedKey{Version: 3, Blob: []byte("ct:key:new")}
		code(t, s.UpdateEmployee(ctx, r), "")
		got, err := s.EmployeeByImmIndex(ctx, []byte("ct:iimm:1"))
		code(t, err, "")
		if string(got.Surname) != "ct:nom:new" || string(got.Key.Blob) != "ct:key:new" || got.Key.Version != 3 {
			t.Fatalf("update not kept, or key not replaced")
		}
		if rs, _ := s.EmployeesByNameIndex(ctx, [][]byte{[]byte("w:alaoui")}, 10); len(rs) != 0 {
			t.Fatalf("old name word still indexed")
		}
		if rs, _ := s.EmployeesByNameIndex(ctx, [][]byte{[]byte("w:bennani")}, 10); len(rs) != 1 {
			t.Fatalf("new name word not indexed")
		}
		r.ID = 999
		code(t, s.UpdateEmployee(ctx, r), amane.ENOTFOUND)
	})
}

func testNameIndex(t *testing.T, s amane.Store) {
	ctx := context.Background()
	for n, words := range [][]string{{"fatima", "zahra", "alaoui"}, {"fatima", "bennani"}, {"said", "alaoui"}} {
		if _, err := createEmployee(t, s, n+1, nil, words...); err != nil {
			t.Fatal(err)
		}
	}
	w := func(ws ...string) [][]byte {
		var out [][]byte
		for _, x := range ws {
			out = append(out, []byte("w:"+x))
		}
		return out
	}
	for _, tc := range []struct {
		name  string
		words [][]byte
		limit int
		want  int
	}{
		{"OneWord", w("alaoui"), 10, 2},
		{"TwoWords", w("fatima", "alaoui"), 10, 1},
		{"NoMatch", w("fatima", "said"), 10, 0},
		{"Limit", w("alaoui"), 1, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rs, err := s.EmployeesByNameIndex(ctx, tc.words, tc.limit)
			code(t, err, "")
			if len(rs) != tc.want {
				t.Fatalf("got %d, want %d", len(rs), tc.want)
			}
		})
	}
}

func testLoader(t *testing.T, s amane.Store) {
	ctx := context.Background()
	put := func(commit bool) (amane.Loader, int64) {
		l, err := s.BeginLoad(ctx)
		if err != nil {
			t.Fatal(err)
		}
		erID, inserted, err := l.PutEmployer(Employer(l.NextEmployerID(), "2222222"))
		if err != nil || (commit && !inserted) {
			t.Fatalf("PutEmployer: %v %v", inserted, err)
		}
		eeID, _, err := l.PutEmployee(Employee(l.NextEmployeeID(), 10, "tazi"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := l.PutEmployment(amane.Employment{EmployeeID: eeID, EmployerID: erID, Since: "2021-01-01", State: amane.EmploymentPending}); err != nil {
			t.Fatal(err)
		}
		return l, erID
	}
	t.Run("RollbackWritesNothing", func(t *testing.T) {
		l, _ := put(false)
		if err := l.Rollback(); err != nil {
			t.Fatal(err)
		}
		if _, err := s.EmployerByAffiliation(ctx, "2222222"); amane.ErrorCode(err) != amane.ENOTFOUND {
			t.Fatal("rolled-back employer is present")
		}
	})
	t.Run("Commit", func(t *testing.T) {
		l, erID := put(true)
		if err := l.Commit(); err != nil {
			t.Fatal(err)
		}
		recs, _, err := s.EmployeesOf(ctx, erID)
		if err != nil || len(recs) != 1 {
			t.Fatalf("EmployeesOf after commit: %d, %v", len(recs), err)
		}
	})
	t.Run("AgainChangesNothing", func(t *testing.T) {
		l, err := s.BeginLoad(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer l.Rollback()
		id, inserted, err := l.PutEmployer(Employer(l.NextEmployerID(), "2222222"))
		if err != nil || inserted {
			t.Fatalf("existing employer: inserted=%v err=%v", inserted, err)
		}
		if got, _ := l.EmployerID("2222222"); got != id || id == 0 {
			t.Fatalf("EmployerID = %d, want %d", got, id)
		}
		eeID, inserted, err := l.PutEmployee(Employee(l.NextEmployeeID(), 10, "tazi"))
		if err != nil || inserted {
			t.Fatalf("existing employee: inserted=%v err=%v", inserted, err)
		}
		ok, err := l.PutEmployment(amane.Employment{EmployeeID: eeID, EmployerID: id, Since: "2021-01-01", State: amane.EmploymentPending})
		if err != nil || ok {
			t.Fatalf("existing employment: inserted=%v err=%v", ok, err)
		}
		if got, _ := l.EmployerID("0000001"); got != 0 {
			t.Fatalf("EmployerID of unknown = %d", got)
		}
	})
}

func testOperatorToken(t *testing.T, s amane.Store) {
	ctx := context.Background()
	h := bytes.Repeat([]byte{7}, 32)
	if ok, err := s.OperatorToken(ctx, h); err != nil || ok {
		t.Fatalf("unknown token: %v %v", ok, err)
	}
	if err := s.AddOperatorToken(ctx, h, "test"); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.OperatorToken(ctx, h); err != nil || !ok {
		t.Fatalf("known token: %v %v", ok, err)
	}
}
