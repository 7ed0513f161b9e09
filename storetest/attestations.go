package storetest

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"amane"
)

// Attestation returns an issued, unrevoked attestation whose summary is recognisable JSON, spaced and
// ending in a newline as no encoder would re-encode it: a store keeps the signed bytes as they are.
// employeeID 0 is an attestation about the employer only.
func Attestation(code string, employerID, employeeID int64) *amane.AttestationRecord {
	kind := "affiliation-declaration"
	if employeeID != 0 {
		kind = "salaire"
	}
	return &amane.AttestationRecord{Code: code, Kind: kind, EmployerID: employerID, EmployeeID: employeeID,
		Summary: []byte(fmt.Sprintf("{\"code\": %q,  \"type\": %q, \"emetteur\": \"Amane\"}\n", code, kind)),
		Issued:  "2025-02-10T09:00:00Z", Expires: "2025-05-11T09:00:00Z"}
}

func testAttestations(t *testing.T, open Open) {
	t.Run("PutAndGet", func(t *testing.T) { testPutAttestations(t, open(t)) })
	t.Run("Batch", func(t *testing.T) { testAttestationBatch(t, open(t)) })
	t.Run("ErrConflictWritesNothing", func(t *testing.T) { testAttestationConflict(t, open(t)) })
	t.Run("Revoke", func(t *testing.T) { testRevokeAttestation(t, open(t)) })
	t.Run("EraseLeavesThem", func(t *testing.T) { testEraseKeepsAttestations(t, open(t)) })
	t.Run("DeclaringEmployers", func(t *testing.T) { testDeclaringEmployers(t, open(t)) })
	t.Run("DumpRestore", func(t *testing.T) { testAttestationsDumpRestore(t, open(t), open(t)) })
}

// sameAttestation checks that the store holds want field for field.
func sameAttestation(t *testing.T, s Store, want *amane.AttestationRecord) {
	t.Helper()
	got, err := s.AttestationByCode(context.Background(), want.Code)
	code(t, err, "")
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("AttestationByCode(%s):\n got %+v\nwant %+v", want.Code, got, want)
	}
}

func noAttestation(t *testing.T, s Store, codes ...string) {
	t.Helper()
	for _, c := range codes {
		_, err := s.AttestationByCode(context.Background(), c)
		code(t, err, amane.ENOTFOUND)
	}
}

func testPutAttestations(t *testing.T, s Store) {
	ctx := context.Background()
	f := newDeclarationFixture(t, s)
	rs := []*amane.AttestationRecord{Attestation("AMN-AAAA-0001", f.a, 0), Attestation("AMN-AAAA-0002", f.b, f.p2)}
	code(t, s.PutAttestations(ctx, rs), "")
	for _, want := range rs {
		sameAttestation(t, s, want)
	}
	code(t, s.PutAttestations(ctx, nil), "")
	t.Run("ErrNotFound", func(t *testing.T) {
		noAttestation(t, s, "AMN-AAAA-0003", "amn-aaaa-0001", "")
	})
	t.Run("ErrUnknownEmployer", func(t *testing.T) {
		code(t, s.PutAttestations(ctx, []*amane.AttestationRecord{Attestation("AMN-AAAA-0004", f.a, 0), Attestation("AMN-AAAA-0005", 999, 0)}), amane.ENOTFOUND)
		code(t, s.PutAttestations(ctx, []*amane.AttestationRecord{Attestation("AMN-AAAA-0006", f.a, 999)}), amane.ENOTFOUND)
		noAttestation(t, s, "AMN-AAAA-0004", "AMN-AAAA-0005", "AMN-AAAA-0006")
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		noSummary := Attestation("AMN-AAAA-0007", f.a, 0)
		noSummary.Summary = nil
		for _, r := range []*amane.AttestationRecord{Attestation("", f.a, 0), noSummary} {
			code(t, s.PutAttestations(ctx, []*amane.AttestationRecord{Attestation("AMN-AAAA-0008", f.a, 0), r}), amane.EINVALID)
		}
		noAttestation(t, s, "AMN-AAAA-0007", "AMN-AAAA-0008")
	})
}

// testAttestationBatch stores one batch of 1,000, the size the batch job sends, in one call.
func testAttestationBatch(t *testing.T, s Store) {
	ctx := context.Background()
	f := newDeclarationFixture(t, s)
	rs := make([]*amane.AttestationRecord, 1000)
	for i := range rs {
		switch i % 3 {
		case 0:
			rs[i] = Attestation(fmt.Sprintf("AMN-B%03d-%04d", i%7, i), f.a, 0)
		case 1:
			rs[i] = Attestation(fmt.Sprintf("AMN-B%03d-%04d", i%7, i), f.b, 0)
		default:
			rs[i] = Attestation(fmt.Sprintf("AMN-B%03d-%04d", i%7, i), f.a, f.p1)
		}
	}
	code(t, s.PutAttestations(ctx, rs), "")
	for _, want := range rs {
		sameAttestation(t, s, want)
	}
	n := 0
	code(t, s.Dump(ctx, func(it *amane.DumpItem) error {
		if it.Attestation != nil {
			n++
		}
		return nil
	}), "")
	if n != len(rs) {
		t.Fatalf("dump holds %d attestations, want %d", n, len(rs))
	}
}

func testAttestationConflict(t *testing.T, s Store) {
	ctx := context.Background()
	f := newDeclarationFixture(t, s)
	stored := Attestation("AMN-CCCC-0001", f.a, 0)
	code(t, s.PutAttestations(ctx, []*amane.AttestationRecord{stored}), "")

	// A batch that repeats a stored code, large enough to span several statements or COPY rows
	// before and after the repeated one: nothing of it is written.
	var batch []*amane.AttestationRecord
	for i := range 300 {
		batch = append(batch, Attestation(fmt.Sprintf("AMN-CCCC-1%03d", i), f.b, 0))
	}
	again := Attestation(stored.Code, f.b, f.p2) // same code, other content
	batch = append(batch[:150], append([]*amane.AttestationRecord{again}, batch[150:]...)...)
	err := s.PutAttestations(ctx, batch)
	conflictField(t, err, "code")
	if strings.Contains(err.Error(), stored.Code) {
		t.Fatalf("the conflict quotes the code: %v", err)
	}
	for _, r := range batch {
		if r != again {
			noAttestation(t, s, r.Code)
		}
	}
	sameAttestation(t, s, stored)

	t.Run("WithinTheBatch", func(t *testing.T) {
		err := s.PutAttestations(ctx, []*amane.AttestationRecord{Attestation("AMN-CCCC-2000", f.a, 0), Attestation("AMN-CCCC-2001", f.a, 0),
			Attestation("AMN-CCCC-2000", f.b, 0)})
		conflictField(t, err, "code")
		noAttestation(t, s, "AMN-CCCC-2000", "AMN-CCCC-2001")
	})
}

func testRevokeAttestation(t *testing.T, s Store) {
	ctx := context.Background()
	f := newDeclarationFixture(t, s)
	a, b := Attestation("AMN-RRRR-0001", f.a, 0), Attestation("AMN-RRRR-0002", f.a, f.p1)
	code(t, s.PutAttestations(ctx, []*amane.AttestationRecord{a, b}), "")

	code(t, s.RevokeAttestation(ctx, a.Code, "2025-03-01T10:00:00Z", "issued in error"), "")
	a.Revoked, a.Reason = "2025-03-01T10:00:00Z", "issued in error"
	sameAttestation(t, s, a)
	sameAttestation(t, s, b) // the other one untouched

	t.Run("TwiceKeepsTheFirst", func(t *testing.T) {
		code(t, s.RevokeAttestation(ctx, a.Code, "2025-04-01T10:00:00Z", "again"), "")
		code(t, s.RevokeAttestation(ctx, a.Code, "2025-05-01T10:00:00Z", ""), "")
		sameAttestation(t, s, a)
	})
	t.Run("NoReason", func(t *testing.T) {
		code(t, s.RevokeAttestation(ctx, b.Code, "2025-03-02T10:00:00Z", ""), "")
		b.Revoked = "2025-03-02T10:00:00Z"
		sameAttestation(t, s, b)
		code(t, s.RevokeAttestation(ctx, b.Code, "2025-03-03T10:00:00Z", "later reason"), "")
		sameAttestation(t, s, b)
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		code(t, s.RevokeAttestation(ctx, "AMN-RRRR-0003", "2025-03-01T10:00:00Z", "x"), amane.ENOTFOUND)
		noAttestation(t, s, "AMN-RRRR-0003")
	})
}

// testEraseKeepsAttestations: attestation rows hold no personal data, and erasure leaves them as
// they are, the erased person's included.
func testEraseKeepsAttestations(t *testing.T, s Store) {
	ctx := context.Background()
	f := newDeclarationFixture(t, s)
	rs := []*amane.AttestationRecord{Attestation("AMN-EEEE-0001", f.a, f.p1), Attestation("AMN-EEEE-0002", f.a, 0)}
	code(t, s.PutAttestations(ctx, rs), "")
	code(t, s.EraseEmployee(ctx, f.p1, amane.Erasure{EmployeeID: f.p1, At: "2025-03-01T10:00:00Z", By: "cli", Reason: "test"}), "")
	for _, want := range rs {
		sameAttestation(t, s, want)
	}
}

func testDeclaringEmployers(t *testing.T, s Store) {
	ctx := context.Background()
	f := newDeclarationFixture(t, s)
	d, err := s.CreateEmployer(ctx, func(id int64) (*amane.EmployerRecord, error) { return Employer(id, "4040404"), nil })
	code(t, err, "")
	e, err := s.CreateEmployer(ctx, func(id int64) (*amane.EmployerRecord, error) { return Employer(id, "5050505"), nil })
	code(t, err, "")
	decl := func(er int64, period string, seq, headcount int) *amane.DeclarationRecord {
		r := Declaration(er, period, seq)
		r.Totals.Headcount = headcount
		return r
	}
	// January: b the largest; a and c tie (by id); d's principal is small, its complementary large
	// (the principal decides); e declared another month only.
	code(t, s.PutDeclarations(ctx, &amane.DeclarationBatch{Declarations: []*amane.DeclarationRecord{
		decl(f.c, "202501", 0, 5), decl(d, "202501", 0, 2), decl(f.a, "202501", 0, 5), decl(f.b, "202501", 0, 12),
		decl(e, "202502", 0, 40), decl(f.b, "202502", 0, 3),
	}}), "")
	code(t, s.PutDeclarations(ctx, &amane.DeclarationBatch{Declarations: []*amane.DeclarationRecord{decl(d, "202501", 1, 50)}}), "")
	for _, tc := range []struct {
		period string
		want   []int64
	}{
		{"202501", []int64{f.b, f.a, f.c, d}},
		{"202502", []int64{e, f.b}},
		{"202503", nil},
	} {
		got, err := s.DeclaringEmployers(ctx, tc.period)
		code(t, err, "")
		if len(got) != len(tc.want) || (len(got) > 0 && !reflect.DeepEqual(got, tc.want)) {
			t.Fatalf("DeclaringEmployers(%s) = %v, want %v", tc.period, got, tc.want)
		}
	}
}

// testAttestationsDumpRestore dumps a store with declarations and attestations (one revoked, one of
// an erased person) and restores it through the loader; the attestations come last, after the
// declarations, and the second dump equals the first.
func testAttestationsDumpRestore(t *testing.T, s, empty Store) {
	ctx := context.Background()
	f := newDeclarationFixture(t, s)
	code(t, s.PutDeclarations(ctx, f.firstBatch(t)), "")
	rs := []*amane.AttestationRecord{Attestation("AMN-DDDD-0003", f.b, 0), Attestation("AMN-DDDD-0001", f.a, f.p1), Attestation("AMN-DDDD-0002", f.a, f.p2)}
	code(t, s.PutAttestations(ctx, rs), "")
	code(t, s.RevokeAttestation(ctx, rs[2].Code, "2025-03-01T10:00:00Z", "issued in error"), "")
	rs[2].Revoked, rs[2].Reason = "2025-03-01T10:00:00Z", "issued in error"
	code(t, s.EraseEmployee(ctx, f.p1, amane.Erasure{EmployeeID: f.p1, At: "2025-03-01T10:00:00Z", By: "cli", Reason: "test"}), "")

	first := dumpAll(t, s)
	l, err := empty.BeginRestore(ctx)
	code(t, err, "")
	for _, it := range first {
		code(t, l.Put(it), "")
	}
	code(t, l.Commit(), "")
	second := dumpAll(t, empty)
	if len(first) != len(second) {
		t.Fatalf("dump has %d rows, restored dump %d", len(first), len(second))
	}
	kind := func(it *amane.DumpItem) string {
		if it.Attestation != nil {
			return fmt.Sprintf("%T", *it.Attestation)
		}
		return fmt.Sprintf("%T", deref(it))
	}
	value := func(it *amane.DumpItem) string {
		if it.Attestation != nil {
			return fmt.Sprintf("%+v", *it.Attestation)
		}
		return fmt.Sprintf("%+v", deref(it))
	}
	for i := range first {
		if a, b := value(first[i]), value(second[i]); a != b {
			t.Fatalf("row %d differs:\n%s\n%s", i, a, b)
		}
	}
	// The attestations are the last rows, in code order, right after the declarations.
	n := len(first) - len(rs)
	if n < 1 || kind(first[n-1]) != "amane.DeclarationRecord" {
		t.Fatalf("the row before the attestations is %s, want amane.DeclarationRecord", kind(first[max(n-1, 0)]))
	}
	for i, it := range first[n:] {
		if it.Attestation == nil || it.Attestation.Code != fmt.Sprintf("AMN-DDDD-%04d", i+1) {
			t.Fatalf("dump row %d is %s %s, want attestation %d", n+i, kind(it), value(it), i+1)
		}
	}
	for _, want := range rs {
		sameAttestation(t, empty, want)
	}
	if got, err := empty.DeclaringEmployers(ctx, "202501"); err != nil || len(got) != 2 {
		t.Fatalf("restored DeclaringEmployers: %v (%v)", got, err)
	}
	t.Run("ErrInvalid", func(t *testing.T) {
		l, err := empty.BeginRestore(ctx)
		code(t, err, "")
		defer l.Rollback()
		code(t, l.Put(&amane.DumpItem{Attestation: Attestation("", f.a, 0)}), amane.EINVALID)
	})
}
