// Package storetest is the contract every Store implementation passes: the SQLite store's tests
// run it, and so will every later store's. It exercises records with opaque byte strings standing for
// ciphertext and blind indexes: a store must keep them byte for byte and never interpret them.
package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"testing"

	"amane"
	"amane/journal"

	"golang.org/x/mod/sumdb/tlog"
)

// Store is every store service: what a store implements and the contract exercises.
type Store interface {
	amane.EmployerStore
	amane.EmployeeStore
	amane.EmploymentStore
	amane.DeclarationStore
	amane.ImmRequestStore
	amane.AccountStore
	amane.TokenStore
	amane.KeyStore
	amane.AttestationStore
	amane.AlertStore
	amane.CaseStore
	amane.JournalStore
	amane.LoadStore
	amane.BackupStore
}

// Open returns a fresh, empty store for one test.
type Open func(t *testing.T) Store

// Run runs the contract.
func Run(t *testing.T, open Open) {
	t.Run("Employer", func(t *testing.T) { testEmployer(t, open(t)) })
	t.Run("Employee", func(t *testing.T) { testEmployee(t, open(t)) })
	t.Run("NameIndex", func(t *testing.T) { testNameIndex(t, open(t)) })
	t.Run("Loader", func(t *testing.T) { testLoader(t, open(t)) })
	t.Run("OperatorToken", func(t *testing.T) { testOperatorToken(t, open(t)) })
	t.Run("DataKeys", func(t *testing.T) { testDataKeys(t, open(t)) })
	t.Run("Erase", func(t *testing.T) { testErase(t, open(t)) })
	t.Run("Accounts", func(t *testing.T) { testAccounts(t, open(t)) })
	t.Run("Passkeys", func(t *testing.T) { testPasskeys(t, open(t)) })
	t.Run("Tokens", func(t *testing.T) { testTokens(t, open(t)) })
	t.Run("JournalByRecord", func(t *testing.T) { testJournalByRecord(t, open(t)) })
	t.Run("DumpRestore", func(t *testing.T) { testDumpRestore(t, open(t), open(t)) })
	t.Run("Reindex", func(t *testing.T) { testReindex(t, open(t)) })
	t.Run("Declarations", func(t *testing.T) { testDeclarations(t, open) })
	t.Run("Attestations", func(t *testing.T) { testAttestations(t, open) })
	t.Run("Alerts", func(t *testing.T) { testAlerts(t, open(t)) })
	t.Run("Cases", func(t *testing.T) { testCases(t, open(t)) })
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

func testEmployer(t *testing.T, s Store) {
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
	t.Run("IdentityOnly", func(t *testing.T) {
		// What the CLI reads of an employer: its id, its non-personal identity, nothing sealed.
		gotID, err := s.EmployerIDByAffiliation(ctx, "1234567")
		code(t, err, "")
		if gotID != id {
			t.Fatalf("EmployerIDByAffiliation = %d, want %d", gotID, id)
		}
		_, err = s.EmployerIDByAffiliation(ctx, "7654321")
		code(t, err, amane.ENOTFOUND)
		ident, err := s.EmployerIdentityByID(ctx, id)
		code(t, err, "")
		if !reflect.DeepEqual(*ident, want.EmployerIdentity) {
			t.Fatalf("EmployerIdentityByID = %+v, want %+v", *ident, want.EmployerIdentity)
		}
		_, err = s.EmployerIdentityByID(ctx, id+100)
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

func createEmployee(t *testing.T, s Store, n int, jobs []amane.Employment, words ...string) (int64, error) {
	return s.CreateEmployee(context.Background(), func(id int64) (*amane.EmployeeRecord, error) { return Employee(id, n, words...), nil }, jobs)
}

func testEmployee(t *testing.T, s Store) {
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
		if len(js) != 1 || js[0].EmployerID != erID || js[0].Affiliation != "1111111" || js[0].EmployerName != "ATLAS NEGOCE" || js[0].Agency != "CASA-ANFA" {
			t.Fatalf("got %+v", js)
		}
		recs, jobs, err := s.EmployeesOf(ctx, erID)
		code(t, err, "")
		if len(recs) != 1 || recs[0].ID != id || jobs[0].State != amane.EmploymentValidated {
			t.Fatalf("EmployeesOf: %d records", len(recs))
		}
		if jobs[0].Agency != "CASA-ANFA" || jobs[0].Affiliation != "1111111" {
			t.Fatalf("EmployeesOf: employment %+v", jobs[0])
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

func testNameIndex(t *testing.T, s Store) {
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

func testLoader(t *testing.T, s Store) {
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

func testOperatorToken(t *testing.T, s Store) {
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

func testDataKeys(t *testing.T, s Store) {
	ctx := context.Background()
	_, err := s.CreateEmployer(ctx, func(id int64) (*amane.EmployerRecord, error) { return Employer(id, "5555555"), nil })
	code(t, err, "")
	for n := 1; n <= 5; n++ {
		_, err := createEmployee(t, s, n, nil)
		code(t, err, "")
	}
	vs, err := s.KeyVersions(ctx)
	code(t, err, "")
	if len(vs) != 1 || vs[1] != 6 {
		t.Fatalf("KeyVersions = %v, want map[1:6]", vs)
	}
	// Walk version 1 two keys at a time, rewrapping as a rotation does.
	var after amane.DataKeyRef
	seen := 0
	for {
		ks, err := s.DataKeys(ctx, 1, after, 2)
		code(t, err, "")
		if len(ks) == 0 {
			break
		}
		var rw []amane.Rewrap
		for _, k := range ks {
			rw = append(rw, amane.Rewrap{DataKeyRef: k.DataKeyRef, Old: k.WrappedKey, New: amane.WrappedKey{Version: 2, Blob: append([]byte("v2:"), k.Blob...)}})
		}
		n, err := s.RewrapDataKeys(ctx, rw)
		code(t, err, "")
		if n != len(ks) {
			t.Fatalf("rewrapped %d of %d", n, len(ks))
		}
		seen += len(ks)
		after = ks[len(ks)-1].DataKeyRef
	}
	if seen != 6 {
		t.Fatalf("walked %d keys, want 6", seen)
	}
	vs, _ = s.KeyVersions(ctx)
	if len(vs) != 1 || vs[2] != 6 {
		t.Fatalf("after rewrap KeyVersions = %v, want map[2:6]", vs)
	}
	r, err := s.EmployeeByImmIndex(ctx, []byte("ct:iimm:3"))
	code(t, err, "")
	if r.Key.Version != 2 || string(r.Key.Blob) != "v2:ct:key:3" {
		t.Fatalf("record's key = %d %q", r.Key.Version, r.Key.Blob)
	}
	t.Run("StaleRewrapIsSkipped", func(t *testing.T) {
		// An update replaced the key meanwhile: a rewrap computed from the old blob must not undo it.
		fresh := Employee(r.ID, 3)
		fresh.Key = amane.WrappedKey{Version: 2, Blob: []byte("fresh")}
		code(t, s.UpdateEmployee(ctx, fresh), "")
		n, err := s.RewrapDataKeys(ctx, []amane.Rewrap{{DataKeyRef: amane.DataKeyRef{Kind: amane.KeyEmployee, Subject: r.ID},
			Old: r.Key, New: amane.WrappedKey{Version: 3, Blob: []byte("stale")}}})
		code(t, err, "")
		if n != 0 {
			t.Fatal("a stale rewrap replaced a fresh key")
		}
		got, _ := s.EmployeeByImmIndex(ctx, []byte("ct:iimm:3"))
		if string(got.Key.Blob) != "fresh" {
			t.Fatalf("key = %q", got.Key.Blob)
		}
	})
}

func testErase(t *testing.T, s Store) {
	ctx := context.Background()
	erID, err := s.CreateEmployer(ctx, func(id int64) (*amane.EmployerRecord, error) { return Employer(id, "6666666"), nil })
	code(t, err, "")
	job := []amane.Employment{{Affiliation: "6666666", Since: "2020-01-01", State: amane.EmploymentValidated}}
	gone, err := createEmployee(t, s, 1, job, "alaoui")
	code(t, err, "")
	kept, err := createEmployee(t, s, 2, job, "alaoui")
	code(t, err, "")
	e := amane.Erasure{EmployeeID: gone, At: "2026-11-23T10:00:00Z", By: "cli:erase", Reason: "retention limit"}
	code(t, s.EraseEmployee(ctx, gone, e), "")
	code(t, s.EraseEmployee(ctx, gone, e), amane.ENOTFOUND)
	code(t, s.EraseEmployee(ctx, 999, e), amane.ENOTFOUND)

	if _, err := s.EmployeeByImmIndex(ctx, []byte("ct:iimm:1")); amane.ErrorCode(err) != amane.ENOTFOUND {
		t.Fatal("erased person still found by immatriculation")
	}
	if rs, _ := s.EmployeesByCINIndex(ctx, []byte("ct:icin:1")); len(rs) != 0 {
		t.Fatal("erased person still found by CIN")
	}
	if rs, _ := s.EmployeesByNameIndex(ctx, [][]byte{[]byte("w:alaoui")}, 10); len(rs) != 1 || rs[0].ID != kept {
		t.Fatalf("name search after erasure: %d results", len(rs))
	}
	recs, _, err := s.EmployeesOf(ctx, erID)
	code(t, err, "")
	if len(recs) != 2 {
		t.Fatalf("headcount after erasure = %d, want 2 (the employment survives)", len(recs))
	}
	for _, r := range recs {
		if r.ID == gone && (r.Key.Blob != nil || len(r.Surname) != 0 || len(r.Imm) != 0 || r.CIN != nil || r.CINIndex != nil) {
			t.Fatalf("erased record keeps key or ciphertext: %+v", r)
		}
		if r.ID == kept && string(r.Surname) != "ct:nom:2" {
			t.Fatal("the other person was touched")
		}
	}
	if vs, _ := s.KeyVersions(ctx); vs[1] != 2 { // the employer's key and the kept person's
		t.Fatalf("keys after erasure = %v", vs)
	}
	es, err := s.Erasures(ctx)
	code(t, err, "")
	if len(es) != 1 || es[0] != e {
		t.Fatalf("Erasures = %+v", es)
	}
	upd := Employee(gone, 1)
	code(t, s.UpdateEmployee(ctx, upd), amane.ENOTFOUND)
}

// Account returns an account whose secrets are recognisable byte strings.
func Account(login, role string) *amane.Account {
	return &amane.Account{Login: login, Role: role, PasswordHash: "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$" + login, Created: "2026-11-23T10:00:00Z"}
}

func testAccounts(t *testing.T, s Store) {
	ctx := context.Background()
	agent := Account("agent-0412", amane.RoleAgent)
	agent.Agency = "CASA-ANFA"
	id, err := s.CreateAccount(ctx, agent)
	code(t, err, "")
	if id <= 0 || agent.ID != id {
		t.Fatalf("CreateAccount returned id %d, account id %d", id, agent.ID)
	}
	insured := Account("assure-0001", amane.RoleInsured)
	insured.EmployeeID, insured.TOTP, insured.Created = 42, []byte("ct:totp"), ""
	id2, err := s.CreateAccount(ctx, insured)
	code(t, err, "")
	if id2 == id || insured.Created == "" {
		t.Fatalf("second account: id %d, created %q", id2, insured.Created)
	}

	t.Run("ErrConflictLogin", func(t *testing.T) {
		_, err := s.CreateAccount(ctx, Account("agent-0412", amane.RoleSupervisor))
		code(t, err, amane.ECONFLICT)
	})
	t.Run("ByID", func(t *testing.T) {
		got, err := s.Account(ctx, id)
		code(t, err, "")
		if !reflect.DeepEqual(got, agent) {
			t.Fatalf("got %+v, want %+v", got, agent)
		}
		_, err = s.Account(ctx, 999)
		code(t, err, amane.ENOTFOUND)
	})
	t.Run("ByLogin", func(t *testing.T) {
		got, err := s.AccountByLogin(ctx, "assure-0001")
		code(t, err, "")
		if !reflect.DeepEqual(got, insured) {
			t.Fatalf("got %+v, want %+v", got, insured)
		}
		_, err = s.AccountByLogin(ctx, "nobody")
		code(t, err, amane.ENOTFOUND)
	})
	t.Run("ByEmployee", func(t *testing.T) {
		as, err := s.AccountsOfEmployee(ctx, 42)
		code(t, err, "")
		if len(as) != 1 || as[0].ID != id2 {
			t.Fatalf("got %+v", as)
		}
		for _, e := range []int64{0, 43} {
			if as, err := s.AccountsOfEmployee(ctx, e); err != nil || len(as) != 0 {
				t.Fatalf("employee %d: %d accounts (%v)", e, len(as), err)
			}
		}
	})
	t.Run("Update", func(t *testing.T) {
		u := *insured
		u.PasswordHash, u.TOTP, u.Disabled = "$argon2id$new", []byte("ct:totp:new"), true
		u.Login, u.Role, u.EmployeeID = "changed", amane.RoleSupervisor, 7 // not updatable
		code(t, s.UpdateAccount(ctx, &u), "")
		got, err := s.Account(ctx, id2)
		code(t, err, "")
		want := *insured
		want.PasswordHash, want.TOTP, want.Disabled = u.PasswordHash, u.TOTP, true
		if !reflect.DeepEqual(got, &want) {
			t.Fatalf("got %+v, want %+v", got, &want)
		}
		u.TOTP, u.Disabled = nil, false
		code(t, s.UpdateAccount(ctx, &u), "")
		if got, _ := s.Account(ctx, id2); got.TOTP != nil || got.Disabled {
			t.Fatalf("TOTP or disabled not cleared: %+v", got)
		}
		u.ID = 999
		code(t, s.UpdateAccount(ctx, &u), amane.ENOTFOUND)
	})
	t.Run("List", func(t *testing.T) {
		as, err := s.Accounts(ctx)
		code(t, err, "")
		if len(as) != 2 || as[0].ID != id || as[1].ID != id2 || as[0].Login != "agent-0412" {
			t.Fatalf("got %+v", as)
		}
	})
}

func testPasskeys(t *testing.T, s Store) {
	ctx := context.Background()
	a, err := s.CreateAccount(ctx, Account("agent-1", amane.RoleAgent))
	code(t, err, "")
	b, err := s.CreateAccount(ctx, Account("agent-2", amane.RoleAgent))
	code(t, err, "")
	p1 := amane.Passkey{AccountID: a, ID: []byte("cred-1"), Credential: []byte(`{"signCount":0}`), Created: "2026-11-23T10:00:00Z"}
	p2 := amane.Passkey{AccountID: a, ID: []byte("cred-2"), Credential: []byte(`{"signCount":5}`), Created: "2026-11-23T11:00:00Z"}
	code(t, s.AddPasskey(ctx, p1), "")
	code(t, s.AddPasskey(ctx, p2), "")
	t.Run("ErrConflict", func(t *testing.T) {
		dup := p1
		dup.AccountID = b // a credential id is unique across accounts
		code(t, s.AddPasskey(ctx, dup), amane.ECONFLICT)
	})
	t.Run("ErrUnknownAccount", func(t *testing.T) {
		code(t, s.AddPasskey(ctx, amane.Passkey{AccountID: 999, ID: []byte("cred-3"), Credential: []byte("{}")}), amane.ENOTFOUND)
	})
	t.Run("List", func(t *testing.T) {
		ps, err := s.Passkeys(ctx, a)
		code(t, err, "")
		if !reflect.DeepEqual(ps, []amane.Passkey{p1, p2}) {
			t.Fatalf("got %+v", ps)
		}
		if ps, err := s.Passkeys(ctx, b); err != nil || len(ps) != 0 {
			t.Fatalf("other account: %d passkeys (%v)", len(ps), err)
		}
	})
	t.Run("Update", func(t *testing.T) {
		u := p2
		u.Credential = []byte(`{"signCount":6}`)
		code(t, s.UpdatePasskey(ctx, u), "")
		ps, _ := s.Passkeys(ctx, a)
		if len(ps) != 2 || string(ps[1].Credential) != `{"signCount":6}` || string(ps[0].Credential) != `{"signCount":0}` {
			t.Fatalf("got %+v", ps)
		}
		code(t, s.UpdatePasskey(ctx, amane.Passkey{AccountID: a, ID: []byte("nope"), Credential: []byte("{}")}), amane.ENOTFOUND)
		other := u
		other.AccountID = b // another account's sign-in cannot touch this credential
		code(t, s.UpdatePasskey(ctx, other), amane.ENOTFOUND)
	})
}

func testTokens(t *testing.T, s Store) {
	ctx := context.Background()
	tok := &amane.Token{Hash: bytes.Repeat([]byte{1}, 32), Role: amane.RoleIntegration, Affiliation: "1234567", Label: "payroll",
		Created: "2026-11-23T10:00:00Z", Expires: "2027-11-23T10:00:00Z"}
	id, err := s.AddToken(ctx, tok)
	code(t, err, "")
	if id <= 0 || tok.ID != id {
		t.Fatalf("AddToken returned id %d, token id %d", id, tok.ID)
	}
	tok2 := &amane.Token{Hash: bytes.Repeat([]byte{2}, 32), Role: amane.RoleIntegration, Agency: "CASA-ANFA", Expires: "2027-01-01T00:00:00Z", AccountID: 42}
	id2, err := s.AddToken(ctx, tok2)
	code(t, err, "")
	if id2 == id || tok2.Created == "" {
		t.Fatalf("second token: id %d, created %q", id2, tok2.Created)
	}
	t.Run("AccountID", func(t *testing.T) {
		got, err := s.TokenByHash(ctx, bytes.Repeat([]byte{2}, 32))
		code(t, err, "")
		if got.AccountID != 42 || got.Principal().ID != "account/42" {
			t.Fatalf("a token issued to account 42: %+v, principal %s", got, got.Principal().ID)
		}
	})
	t.Run("ErrConflict", func(t *testing.T) {
		_, err := s.AddToken(ctx, &amane.Token{Hash: bytes.Repeat([]byte{1}, 32), Role: amane.RoleIntegration, Expires: "2027-01-01T00:00:00Z"})
		code(t, err, amane.ECONFLICT)
	})
	t.Run("ByHash", func(t *testing.T) {
		got, err := s.TokenByHash(ctx, bytes.Repeat([]byte{1}, 32))
		code(t, err, "")
		if !reflect.DeepEqual(got, tok) {
			t.Fatalf("got %+v, want %+v", got, tok)
		}
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		_, err := s.TokenByHash(ctx, bytes.Repeat([]byte{3}, 32))
		code(t, err, amane.ENOTFOUND)
	})
	t.Run("Revoke", func(t *testing.T) {
		code(t, s.RevokeToken(ctx, id), "")
		got, err := s.TokenByHash(ctx, tok.Hash)
		code(t, err, "")
		if !got.Revoked {
			t.Fatal("token not revoked")
		}
		if other, _ := s.TokenByHash(ctx, tok2.Hash); other.Revoked {
			t.Fatal("the other token was revoked")
		}
		code(t, s.RevokeToken(ctx, 999), amane.ENOTFOUND)
	})
	t.Run("List", func(t *testing.T) {
		ts, err := s.Tokens(ctx)
		code(t, err, "")
		if len(ts) != 2 || ts[0].ID != id || !ts[0].Revoked || ts[1].ID != id2 || ts[1].Revoked || ts[1].Agency != "CASA-ANFA" {
			t.Fatalf("got %+v", ts)
		}
	})
}

// journalStore returns s as a journal store (package journal's name for amane.JournalStore).
func journalStore(t *testing.T, s Store) journal.Store {
	t.Helper()
	return s
}

// appendJournal appends entries at the end of the journal with their stored hashes, as
// journal.Journal does, in one call.
func appendJournal(t *testing.T, js journal.Store, entries [][]byte, records []string) {
	t.Helper()
	ctx := context.Background()
	n, err := js.JournalSize(ctx)
	code(t, err, "")
	var hashes []tlog.Hash
	for i, e := range entries {
		r := tlog.HashReaderFunc(func(ix []int64) ([]tlog.Hash, error) {
			out := make([]tlog.Hash, len(ix))
			base := tlog.StoredHashIndex(0, n)
			for k, x := range ix {
				if x >= base {
					out[k] = hashes[x-base]
					continue
				}
				hs, err := js.JournalHashes(ctx, []int64{x})
				if err != nil {
					return nil, err
				}
				out[k] = hs[0]
			}
			return out, nil
		})
		hs, err := tlog.StoredHashes(n+int64(i), e, r)
		if err != nil {
			t.Fatal(err)
		}
		hashes = append(hashes, hs...)
	}
	code(t, js.AppendJournal(ctx, n, entries, records, hashes), "")
}

func testJournalByRecord(t *testing.T, s Store) {
	ctx := context.Background()
	js := journalStore(t, s)
	// 30 entries in three appends: every third about employee/1, every third about employee/2, the
	// rest about no record.
	want := map[string][]int64{}
	for b := 0; b < 3; b++ {
		var entries [][]byte
		var records []string
		for i := 0; i < 10; i++ {
			idx := int64(b*10 + i)
			rec := []string{"employee/1", "employee/2", ""}[idx%3]
			entries = append(entries, []byte(fmt.Sprintf(`{"i":%d,"record":%q}`, idx, rec)))
			records = append(records, rec)
			want[rec] = append(want[rec], idx)
		}
		appendJournal(t, js, entries, records)
	}
	for _, tc := range []struct {
		name, record string
		limit        int
	}{
		{"OnePage", "employee/1", 100},
		{"Pages", "employee/1", 3},
		{"PagesOfOne", "employee/2", 1},
		{"ExactPages", "employee/2", 5},
		{"NoEntries", "employee/3", 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []int64
			after := int64(-1)
			for pages := 0; ; pages++ {
				if pages > 20 {
					t.Fatal("paging does not end")
				}
				ix, es, err := js.JournalByRecord(ctx, tc.record, after, tc.limit)
				code(t, err, "")
				if len(ix) != len(es) || len(ix) > tc.limit {
					t.Fatalf("page of %d indexes and %d entries, limit %d", len(ix), len(es), tc.limit)
				}
				if len(ix) == 0 {
					break
				}
				for k, i := range ix {
					if string(es[k]) != fmt.Sprintf(`{"i":%d,"record":%q}`, i, tc.record) {
						t.Fatalf("entry %d = %s", i, es[k])
					}
				}
				got = append(got, ix...)
				after = ix[len(ix)-1]
			}
			if !reflect.DeepEqual(got, want[tc.record]) {
				t.Fatalf("indexes %v, want %v", got, want[tc.record])
			}
		})
	}
	t.Run("After", func(t *testing.T) {
		ix, _, err := js.JournalByRecord(ctx, "employee/1", 14, 2)
		code(t, err, "")
		if !reflect.DeepEqual(ix, []int64{15, 18}) {
			t.Fatalf("indexes %v, want [15 18]", ix)
		}
	})
	t.Run("NoRecord", func(t *testing.T) {
		// Entries without a record are found by no reference, the empty one included.
		if ix, _, err := js.JournalByRecord(ctx, "", -1, 100); err != nil || len(ix) != 0 {
			t.Fatalf("record \"\": %v (%v)", ix, err)
		}
	})
	t.Run("Records", func(t *testing.T) {
		// The record column as stored, one slot per index ("" for none, and past the end), for
		// journal.Verify to check against the entries.
		got, err := js.JournalRecords(ctx, 25, 32)
		code(t, err, "")
		var want []string
		for i := 25; i < 32; i++ {
			if i < 30 {
				want = append(want, []string{"employee/1", "employee/2", ""}[i%3])
			} else {
				want = append(want, "")
			}
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("records %q, want %q", got, want)
		}
		if got, err := js.JournalRecords(ctx, 5, 5); err != nil || len(got) != 0 {
			t.Fatalf("empty range: %q (%v)", got, err)
		}
	})
}

// testDumpRestore dumps a store with every kind of row and restores it into an empty one through the
// loader, as `amane restore` does; the second dump must equal the first.
func testDumpRestore(t *testing.T, s, empty Store) {
	ctx := context.Background()
	_, err := s.CreateEmployer(ctx, func(id int64) (*amane.EmployerRecord, error) { return Employer(id, "7777777"), nil })
	code(t, err, "")
	job := []amane.Employment{{Affiliation: "7777777", Since: "2020-01-01", State: amane.EmploymentValidated}}
	a, err := createEmployee(t, s, 1, job, "fatima", "alaoui")
	code(t, err, "")
	_, err = createEmployee(t, s, 2, job, "said")
	code(t, err, "")
	code(t, s.EraseEmployee(ctx, a, amane.Erasure{EmployeeID: a, At: "2026-11-23T10:00:00Z", By: "cli", Reason: "test"}), "")
	code(t, s.AddOperatorToken(ctx, bytes.Repeat([]byte{9}, 32), "ops"), "")
	rx, err := s.BeginReindex(ctx)
	code(t, err, "")
	code(t, rx.Commit(2), "") // no index changed, but the version is a setting to carry over
	insured := Account("assure-0001", amane.RoleInsured)
	insured.EmployeeID, insured.TOTP = a, []byte("ct:totp")
	acct, err := s.CreateAccount(ctx, insured)
	code(t, err, "")
	staff := Account("agent-0412", amane.RoleAgent)
	staff.Agency, staff.Disabled = "CASA-ANFA", true
	_, err = s.CreateAccount(ctx, staff)
	code(t, err, "")
	code(t, s.AddPasskey(ctx, amane.Passkey{AccountID: acct, ID: []byte("cred-1"), Credential: []byte(`{"signCount":1}`), Created: "2026-11-23T10:00:00Z"}), "")
	tok := &amane.Token{Hash: bytes.Repeat([]byte{5}, 32), Role: amane.RoleIntegration, Affiliation: "7777777", Label: "payroll", Expires: "2027-11-23T10:00:00Z"}
	_, err = s.AddToken(ctx, tok)
	code(t, err, "")
	code(t, s.RevokeToken(ctx, tok.ID), "")
	js := journalStore(t, s)
	appendJournal(t, js, [][]byte{[]byte(`{"i":0}`), []byte(`{"i":1}`), []byte(`{"i":2}`)}, []string{"employee/1", "", "employee/1"})
	code(t, js.AddCheckpoint(ctx, 3, []byte("signed checkpoint 3\n")), "")
	// The sentinel's alerts: one lifted, one still in force (a restore must not drop a suspension).
	for _, al := range []*amane.SecurityAlert{
		{Time: "2026-11-23T10:00:00Z", Principal: "account/2", Response: "alert", Signal: "canary", Evidence: json.RawMessage(`{"record":"employee/2"}`), Journal: 1},
		{Time: "2026-11-23T10:00:01Z", Principal: "account/2", Response: "suspend", Signal: "canary", Evidence: json.RawMessage(`{"record":"employee/2"}`), Journal: 2},
		{Time: "2026-11-23T10:05:00Z", Principal: "token/1", Response: "throttle", Signal: "volume", Evidence: json.RawMessage(`{"distinct":400}`), Journal: 2},
	} {
		_, err := s.AddAlert(ctx, al)
		code(t, err, "")
	}
	n, err := s.LiftAlerts(ctx, "token/1", "account/9", "2026-11-23T11:00:00Z")
	code(t, err, "")
	if n != 1 {
		t.Fatalf("lifted %d alerts, want 1", n)
	}
	// Cases: one open with staff and a team, one closed (a restore keeps both, closed stays closed).
	c1, err := s.CreateCase(ctx, &amane.Case{Type: amane.CaseRequest, Number: "PRE-2026/0001", Records: []string{"employee/1", "employer/1"},
		Staff: []string{"account/2"}, Team: "CASA-ANFA", Opened: "2026-11-23T09:00:00Z", OpenedBy: "account/2", Origin: "guichet"})
	code(t, err, "")
	c2, err := s.CreateCase(ctx, &amane.Case{Type: amane.CaseControl, Number: "CTL-2026/0002", Records: []string{"employer/1"},
		Opened: "2026-11-23T09:30:00Z", OpenedBy: "account/9", Origin: "mission"})
	code(t, err, "")
	code(t, s.CloseCase(ctx, c2, "account/9", "2026-11-23T12:00:00Z"), "")

	dump := func(st Store) []*amane.DumpItem {
		var out []*amane.DumpItem
		code(t, st.Dump(ctx, func(it *amane.DumpItem) error { out = append(out, it); return nil }), "")
		return out
	}
	first := dump(s)
	l, err := empty.BeginRestore(ctx)
	code(t, err, "")
	for _, it := range first {
		err = l.Put(it)
		code(t, err, "")
	}
	code(t, l.Commit(), "")
	second := dump(empty)
	if len(first) != len(second) {
		t.Fatalf("dump has %d rows, restored dump %d", len(first), len(second))
	}
	kinds := map[string]int{}
	for i := range first {
		a, b := fmt.Sprintf("%+v", deref(first[i])), fmt.Sprintf("%+v", deref(second[i]))
		if a != b {
			t.Fatalf("row %d differs:\n%s\n%s", i, a, b)
		}
		kind := fmt.Sprintf("%T", deref(first[i]))
		if j := first[i].Journal; j != nil {
			kind += "/" + j.Kind
		}
		kinds[kind]++
	}
	if len(kinds) != 15 {
		t.Fatalf("dump covered %d kinds of row, want 15: %v", len(kinds), kinds)
	}
	// The rows come in the order of amane.DumpKinds, the order a restore inserts them in.
	last := 0
	for i, it := range first {
		kind, err := it.Kind()
		code(t, err, "")
		at := slices.Index(amane.DumpKinds, kind)
		if at < last {
			t.Fatalf("dump row %d is a %s after a %s: not in the order of amane.DumpKinds", i, kind, amane.DumpKinds[last])
		}
		last = at
	}
	if kinds["amane.JournalRow/entry"] != 3 || kinds["amane.JournalRow/checkpoint"] != 1 || kinds["amane.Account"] != 2 || kinds["amane.SecurityAlert"] != 3 {
		t.Fatalf("dump rows by kind: %v", kinds)
	}
	if got, err := empty.AccountByLogin(ctx, "assure-0001"); err != nil || got.ID != acct || got.EmployeeID != a || string(got.TOTP) != "ct:totp" {
		t.Fatalf("restored account: %+v (%v)", got, err)
	}
	if got, err := empty.TokenByHash(ctx, tok.Hash); err != nil || got.ID != tok.ID || !got.Revoked {
		t.Fatalf("restored token: %+v (%v)", got, err)
	}
	if ix, _, err := journalStore(t, empty).JournalByRecord(ctx, "employee/1", -1, 10); err != nil || !reflect.DeepEqual(ix, []int64{0, 2}) {
		t.Fatalf("restored journal by record: %v (%v)", ix, err)
	}
	if open, err := empty.OpenAlerts(ctx, ""); err != nil || len(open) != 2 || open[1].Response != "suspend" || open[1].Principal != "account/2" {
		t.Fatalf("restored alerts in force: %+v (%v)", open, err)
	}
	if open, err := empty.OpenCases(ctx, amane.CaseFilter{Record: "employee/1"}, 0); err != nil || len(open) != 1 || open[0].ID != c1 ||
		!slices.Equal(open[0].Staff, []string{"account/2"}) || open[0].Team != "CASA-ANFA" || len(open[0].Records) != 2 {
		t.Fatalf("restored open cases: %+v (%v)", open, err)
	}
	if got, err := empty.CaseByNumber(ctx, "CTL-2026/0002"); err != nil || got.ID != c2 || got.Open() || got.ClosedBy != "account/9" {
		t.Fatalf("restored closed case: %+v (%v)", got, err)
	}
	if id, err := empty.CreateCase(ctx, &amane.Case{Type: amane.CaseComplaint, Number: "REC-2026/0003", Records: []string{"employer/1"},
		Opened: "2026-11-24T09:00:00Z", OpenedBy: "account/2", Origin: "courrier"}); err != nil || id != c2+1 {
		t.Fatalf("case after restore: id %d (%v), want %d", id, err, c2+1)
	}
	if id, err := empty.AddAlert(ctx, &amane.SecurityAlert{Time: "2026-11-24T09:00:00Z", Principal: "account/3", Response: "alert",
		Signal: "volume", Evidence: json.RawMessage(`{}`), Journal: 3}); err != nil || id != 4 {
		t.Fatalf("alert after restore: id %d (%v)", id, err)
	}
	// The restored store goes on: new ids follow the restored ones, the journal grows from its end.
	if id, err := empty.CreateAccount(ctx, Account("agent-0413", amane.RoleAgent)); err != nil || id != 3 {
		t.Fatalf("account after restore: id %d (%v)", id, err)
	}
	appendJournal(t, journalStore(t, empty), [][]byte{[]byte(`{"i":3}`)}, []string{"employee/1"})
	if ok, _ := empty.OperatorToken(ctx, bytes.Repeat([]byte{9}, 32)); !ok {
		t.Fatal("token not restored")
	}
	if v, _ := empty.IndexVersion(ctx); v != 2 {
		t.Fatalf("restored index version = %d, want 2", v)
	}
}

// deref returns the one value a DumpItem holds, so that rows compare by content.
func deref(it *amane.DumpItem) any {
	switch {
	case it.Agency != nil:
		return *it.Agency
	case it.Employer != nil:
		return *it.Employer
	case it.Employee != nil:
		return *it.Employee
	case it.Employment != nil:
		return *it.Employment
	case it.OperatorToken != nil:
		return *it.OperatorToken
	case it.Setting != nil:
		return *it.Setting
	case it.Account != nil:
		return *it.Account
	case it.Passkey != nil:
		return *it.Passkey
	case it.Token != nil:
		return *it.Token
	case it.Journal != nil:
		return *it.Journal
	case it.DataKey != nil:
		return *it.DataKey
	case it.ImmRequest != nil:
		return *it.ImmRequest
	case it.Declaration != nil:
		return *it.Declaration
	case it.Attestation != nil:
		return *it.Attestation
	case it.Alert != nil:
		return *it.Alert
	case it.Case != nil:
		return *it.Case
	}
	return *it.Erasure
}

func testReindex(t *testing.T, s Store) {
	ctx := context.Background()
	erID, err := s.CreateEmployer(ctx, func(id int64) (*amane.EmployerRecord, error) { return Employer(id, "8888888"), nil })
	code(t, err, "")
	a, err := createEmployee(t, s, 1, nil, "alaoui")
	code(t, err, "")
	if v, _ := s.IndexVersion(ctx); v != 1 {
		t.Fatalf("IndexVersion of a new store = %d, want 1", v)
	}
	t.Run("RollbackChangesNothing", func(t *testing.T) {
		rx, err := s.BeginReindex(ctx)
		code(t, err, "")
		code(t, rx.SetEmployeeIndexes(a, []byte("new:imm"), nil, nil, nil), "")
		code(t, rx.Rollback(), "")
		if _, err := s.EmployeeByImmIndex(ctx, []byte("ct:iimm:1")); err != nil {
			t.Fatal("a rolled-back reindex changed an index")
		}
	})
	rx, err := s.BeginReindex(ctx)
	code(t, err, "")
	code(t, rx.SetEmployerIndexes(erID, []byte("new:cin"), nil, []byte("new:rib")), "")
	code(t, rx.SetEmployeeIndexes(a, []byte("new:imm"), []byte("new:cin1"), nil, [][]byte{[]byte("new:w")}), "")
	code(t, rx.Commit(3), "")
	if v, _ := s.IndexVersion(ctx); v != 3 {
		t.Fatalf("IndexVersion = %d, want 3", v)
	}
	if r, err := s.EmployeeByImmIndex(ctx, []byte("new:imm")); err != nil || r.ID != a {
		t.Fatalf("by new imm index: %v", err)
	}
	if _, err := s.EmployeeByImmIndex(ctx, []byte("ct:iimm:1")); amane.ErrorCode(err) != amane.ENOTFOUND {
		t.Fatal("old imm index still matches")
	}
	if rs, _ := s.EmployeesByCINIndex(ctx, []byte("new:cin1")); len(rs) != 1 {
		t.Fatal("new CIN index not found")
	}
	if rs, _ := s.EmployeesByNameIndex(ctx, [][]byte{[]byte("w:alaoui")}, 10); len(rs) != 0 {
		t.Fatal("old name word still indexed")
	}
	if rs, _ := s.EmployeesByNameIndex(ctx, [][]byte{[]byte("new:w")}, 10); len(rs) != 1 {
		t.Fatal("new name word not indexed")
	}
	if r, _ := s.EmployerByAffiliation(ctx, "8888888"); string(r.RIBIndex) != "new:rib" || r.EmailIndex != nil {
		t.Fatalf("employer indexes: %q %q", r.RIBIndex, r.EmailIndex)
	}
}
