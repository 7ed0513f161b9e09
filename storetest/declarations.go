package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"

	"amane"
)

// Declaration returns a declaration record whose digest and sealed lines are recognisable byte
// strings, and whose figures derive from its key.
func Declaration(employerID int64, period string, seq int) *amane.DeclarationRecord {
	tag := func(f string) []byte { return []byte(fmt.Sprintf("%s:%d:%s:%d", f, employerID, period, seq)) }
	pay := 100000 * (employerID + int64(seq) + 1)
	return &amane.DeclarationRecord{
		EmployerID: employerID, Period: period, Seq: seq, Status: amane.DeclAccepted, Received: "2025-02-10T09:00:00Z",
		Digest: tag("digest"),
		Header: amane.DeclarationHeader{Transfer: "00000000000042", Name: "ATLAS NEGOCE", Activity: "Commerce", Address: "Lot 1",
			City: "Casablanca", PostalCode: "20000", Agency: "101", IssueDate: "20250101", DueDate: "20250210", CRLF: true},
		Totals: amane.DeclarationTotals{Headcount: 2, Days: 52, Payroll: pay, Capped: pay},
		Contributions: amane.Contributions{Table: "202401", Ceiling: 600000,
			Branches: []amane.BranchDue{{Branch: "pensions", Base: pay, Employer: pay * 793 / 10000, Employee: pay * 396 / 10000}},
			Employer: pay * 793 / 10000, Employee: pay * 396 / 10000, Total: pay * 1189 / 10000},
		Lines: tag("ct:lines"),
	}
}

// HistoryKey returns a recognisable history key for an insured person.
func HistoryKey(employeeID int64) amane.DataKey {
	return amane.DataKey{DataKeyRef: amane.DataKeyRef{Kind: amane.KeyHistory, Subject: employeeID},
		WrappedKey: amane.WrappedKey{Version: 1, Blob: []byte(fmt.Sprintf("ct:history:%d", employeeID))}}
}

// declarationFixture is a store with three employers (a, b, c) and four insured people: p1 at a,
// p2 at a and b, p3 pending at b, p4 employed nowhere.
type declarationFixture struct {
	s              Store
	a, b, c        int64
	p1, p2, p3, p4 int64
}

func newDeclarationFixture(t *testing.T, s Store) *declarationFixture {
	t.Helper()
	ctx := context.Background()
	f := &declarationFixture{s: s}
	for _, e := range []struct {
		id  *int64
		aff string
	}{{&f.a, "1010101"}, {&f.b, "2020202"}, {&f.c, "3030303"}} {
		id, err := s.CreateEmployer(ctx, func(id int64) (*amane.EmployerRecord, error) { return Employer(id, e.aff), nil })
		code(t, err, "")
		*e.id = id
	}
	job := func(aff, state string) amane.Employment {
		return amane.Employment{Affiliation: aff, Since: "2020-01-01", State: state}
	}
	for _, p := range []struct {
		id   *int64
		n    int
		jobs []amane.Employment
	}{
		{&f.p1, 1, []amane.Employment{job("1010101", amane.EmploymentValidated)}},
		{&f.p2, 2, []amane.Employment{job("1010101", amane.EmploymentValidated), job("2020202", amane.EmploymentValidated)}},
		{&f.p3, 3, []amane.Employment{job("2020202", amane.EmploymentPending)}},
		{&f.p4, 4, nil},
	} {
		id, err := createEmployee(t, s, p.n, p.jobs)
		code(t, err, "")
		*p.id = id
	}
	return f
}

// request returns a new immatriculation request of employer, with a reserved id and its key.
func (f *declarationFixture) request(t *testing.T, employer int64, period string) *amane.ImmRequestRecord {
	t.Helper()
	id, err := f.s.NextRequestIDs(context.Background(), 1)
	code(t, err, "")
	return &amane.ImmRequestRecord{ID: id, EmployerID: employer, Period: period, CINIndex: []byte(fmt.Sprintf("ct:icin:request:%d", id)),
		State: "ouverte", Created: "2025-02-10T09:00:00Z", Key: amane.WrappedKey{Version: 1, Blob: []byte(fmt.Sprintf("ct:request:%d", id))}}
}

// firstBatch declares January 2025 for a and b: first history keys for p1 and p2, p4 pending at b,
// and one request opened by b.
func (f *declarationFixture) firstBatch(t *testing.T) *amane.DeclarationBatch {
	return &amane.DeclarationBatch{
		Declarations: []*amane.DeclarationRecord{Declaration(f.a, "202501", 0), Declaration(f.b, "202501", 0)},
		HistoryKeys:  []amane.DataKey{HistoryKey(f.p1), HistoryKey(f.p2)},
		Pending:      []amane.Employment{{EmployeeID: f.p4, EmployerID: f.b, Since: "2025-01-01", State: amane.EmploymentPending}},
		Requests:     []*amane.ImmRequestRecord{f.request(t, f.b, "202501")},
	}
}

func testDeclarations(t *testing.T, open Open) {
	t.Run("PutAndRead", func(t *testing.T) { testPutDeclarations(t, open(t)) })
	t.Run("ErrConflictWritesNothing", func(t *testing.T) { testDeclarationConflict(t, open(t)) })
	t.Run("People", func(t *testing.T) { testDeclarationPeople(t, open(t)) })
	t.Run("Summaries", func(t *testing.T) { testDeclarationSummaries(t, open(t)) })
	t.Run("NextRequestIDs", func(t *testing.T) { testNextRequestIDs(t, open(t)) })
	t.Run("EraseHistoryKey", func(t *testing.T) { testEraseHistoryKey(t, open(t)) })
	t.Run("RotateHistoryKeys", func(t *testing.T) { testRotateHistoryKeys(t, open(t)) })
	t.Run("DumpRestore", func(t *testing.T) { testDeclarationsDumpRestore(t, open(t), open(t)) })
}

func testPutDeclarations(t *testing.T, s Store) {
	ctx := context.Background()
	f := newDeclarationFixture(t, s)
	b := f.firstBatch(t)
	code(t, s.PutDeclarations(ctx, b), "")
	for _, d := range b.Declarations {
		if d.ID <= 0 {
			t.Fatalf("declaration of %d stored without an id", d.EmployerID)
		}
	}
	if b.Declarations[0].ID == b.Declarations[1].ID {
		t.Fatal("two declarations got the same id")
	}
	for _, want := range b.Declarations {
		got, err := s.Declarations(ctx, want.EmployerID, "202501")
		code(t, err, "")
		if len(got) != 1 || !reflect.DeepEqual(got[0], want) {
			t.Fatalf("Declarations(%d, 202501):\n got %+v\nwant %+v", want.EmployerID, got, want)
		}
	}
	if got, err := s.Declarations(ctx, f.c, "202501"); err != nil || len(got) != 0 {
		t.Fatalf("Declarations of an employer that declared nothing: %v (%v)", got, err)
	}
	got, err := s.DeclarationByDigest(ctx, f.a, "202501", b.Declarations[0].Digest)
	code(t, err, "")
	if !reflect.DeepEqual(got, b.Declarations[0]) {
		t.Fatalf("DeclarationByDigest:\n got %+v\nwant %+v", got, b.Declarations[0])
	}
	t.Run("ErrNotFound", func(t *testing.T) {
		_, err := s.DeclarationByDigest(ctx, f.a, "202501", b.Declarations[1].Digest) // b's digest, a's period
		code(t, err, amane.ENOTFOUND)
		_, err = s.DeclarationByDigest(ctx, f.a, "202502", b.Declarations[0].Digest)
		code(t, err, amane.ENOTFOUND)
		_, err = s.EmployerByID(ctx, 999)
		code(t, err, amane.ENOTFOUND)
	})
	er, err := s.EmployerByID(ctx, f.b)
	code(t, err, "")
	if er.Affiliation != "2020202" || string(er.RIB) != fmt.Sprintf("ct:rib:%d", f.b) || er.Key.Version != 1 {
		t.Fatalf("EmployerByID: %+v", er)
	}
	rs, err := s.ImmRequests(ctx, f.b)
	code(t, err, "")
	if len(rs) != 1 || !reflect.DeepEqual(rs[0], b.Requests[0]) {
		t.Fatalf("ImmRequests:\n got %+v\nwant %+v", rs, b.Requests)
	}
	if rs, _ := s.ImmRequests(ctx, f.a); len(rs) != 0 {
		t.Fatalf("requests of another employer: %+v", rs)
	}
	jobs, err := s.Employments(ctx, f.p4)
	code(t, err, "")
	if len(jobs) != 1 || jobs[0].EmployerID != f.b || jobs[0].State != amane.EmploymentPending || jobs[0].Since != "2025-01-01" {
		t.Fatalf("pending employment: %+v", jobs)
	}
	if vs, _ := s.KeyVersions(ctx); vs[1] != 3+4+2+1 { // employers, people, history keys, request key
		t.Fatalf("KeyVersions = %v", vs)
	}

	t.Run("PendingExisting", func(t *testing.T) {
		// A pending employment that exists (p2 at b, validated) is left as it is.
		code(t, s.PutDeclarations(ctx, &amane.DeclarationBatch{
			Declarations: []*amane.DeclarationRecord{Declaration(f.b, "202501", 1)},
			Pending:      []amane.Employment{{EmployeeID: f.p2, EmployerID: f.b, Since: "2025-01-01", State: amane.EmploymentPending}},
		}), "")
		jobs, _ := s.Employments(ctx, f.p2)
		for _, j := range jobs {
			if j.State != amane.EmploymentValidated || j.Since != "2020-01-01" {
				t.Fatalf("an existing employment was changed: %+v", j)
			}
		}
		got, _ := s.Declarations(ctx, f.b, "202501")
		if len(got) != 2 || got[0].Seq != 0 || got[1].Seq != 1 {
			t.Fatalf("Declarations after a complementary one: %d", len(got))
		}
	})
	t.Run("ErrUnknownEmployer", func(t *testing.T) {
		err := s.PutDeclarations(ctx, &amane.DeclarationBatch{Declarations: []*amane.DeclarationRecord{Declaration(999, "202501", 0)}})
		code(t, err, amane.ENOTFOUND)
	})
}

// conflictField checks that err is ECONFLICT naming field.
func conflictField(t *testing.T, err error, field string) {
	t.Helper()
	code(t, err, amane.ECONFLICT)
	var e *amane.Error
	if !errors.As(err, &e) || len(e.Fields) != 1 || e.Fields[0].Field != field {
		t.Fatalf("conflict %v does not name field %q", err, field)
	}
}

func testDeclarationConflict(t *testing.T, s Store) {
	ctx := context.Background()
	f := newDeclarationFixture(t, s)
	code(t, s.PutDeclarations(ctx, f.firstBatch(t)), "")
	keys, _ := s.KeyVersions(ctx)

	// writesNothing checks that the batch's new rows are absent: c's declaration and request, p3's
	// history key.
	writesNothing := func(t *testing.T) {
		t.Helper()
		if got, _ := s.Declarations(ctx, f.c, "202501"); len(got) != 0 {
			t.Fatal("a declaration of a refused batch was written")
		}
		if rs, _ := s.ImmRequests(ctx, f.c); len(rs) != 0 {
			t.Fatal("a request of a refused batch was written")
		}
		if vs, _ := s.KeyVersions(ctx); !reflect.DeepEqual(vs, keys) {
			t.Fatalf("keys of a refused batch were written: %v, before %v", vs, keys)
		}
		if jobs, _ := s.Employments(ctx, f.p4); len(jobs) != 1 {
			t.Fatalf("an employment of a refused batch was written: %+v", jobs)
		}
	}
	fresh := func(t *testing.T) *amane.DeclarationBatch {
		return &amane.DeclarationBatch{
			Declarations: []*amane.DeclarationRecord{Declaration(f.c, "202501", 0)},
			HistoryKeys:  []amane.DataKey{HistoryKey(f.p3)},
			Pending:      []amane.Employment{{EmployeeID: f.p4, EmployerID: f.c, Since: "2025-01-01", State: amane.EmploymentPending}},
			Requests:     []*amane.ImmRequestRecord{f.request(t, f.c, "202501")},
		}
	}
	t.Run("Period", func(t *testing.T) {
		b := fresh(t)
		again := Declaration(f.a, "202501", 0)
		again.Digest = []byte("another content")
		b.Declarations = append(b.Declarations, again)
		conflictField(t, s.PutDeclarations(ctx, b), "periode")
		writesNothing(t)
		if b.Declarations[0].ID != 0 {
			t.Fatal("a refused batch's declaration got an id")
		}
		got, _ := s.Declarations(ctx, f.a, "202501")
		if len(got) != 1 || string(got[0].Digest) != fmt.Sprintf("digest:%d:202501:0", f.a) {
			t.Fatal("the stored declaration was touched")
		}
	})
	t.Run("HistoryKey", func(t *testing.T) {
		b := fresh(t)
		b.HistoryKeys = append(b.HistoryKeys, HistoryKey(f.p1)) // written by the first batch
		conflictField(t, s.PutDeclarations(ctx, b), "history_key")
		writesNothing(t)
	})
	t.Run("ErasedPerson", func(t *testing.T) {
		// p3 is erased after the batch was sealed: their new history key is refused.
		code(t, s.EraseEmployee(ctx, f.p3, amane.Erasure{EmployeeID: f.p3, At: "2025-03-01T10:00:00Z", By: "cli", Reason: "test"}), "")
		keys, _ = s.KeyVersions(ctx) // the erasure deleted p3's data key
		conflictField(t, s.PutDeclarations(ctx, fresh(t)), "history_key")
		writesNothing(t)
	})
	t.Run("WithinBatch", func(t *testing.T) {
		b := fresh(t)
		b.Declarations = append(b.Declarations, Declaration(f.c, "202501", 0))
		conflictField(t, s.PutDeclarations(ctx, b), "periode")
		writesNothing(t)
	})
	// The same batch, without its conflicts, goes in.
	ok := fresh(t)
	ok.HistoryKeys = nil
	code(t, s.PutDeclarations(ctx, ok), "")
	if got, _ := s.Declarations(ctx, f.c, "202501"); len(got) != 1 {
		t.Fatal("the batch without its conflict was not written")
	}
}

func testDeclarationPeople(t *testing.T, s Store) {
	ctx := context.Background()
	f := newDeclarationFixture(t, s)
	code(t, s.PutDeclarations(ctx, f.firstBatch(t)), "")
	code(t, s.EraseEmployee(ctx, f.p3, amane.Erasure{EmployeeID: f.p3, At: "2025-03-01T10:00:00Z", By: "cli", Reason: "test"}), "")
	imm := func(n int) []byte { return []byte(fmt.Sprintf("ct:iimm:%d", n)) }
	hist := func(id int64) amane.WrappedKey { return HistoryKey(id).WrappedKey }
	want := map[int64][]amane.DeclarationPerson{
		f.a: {{ID: f.p1, ImmIndex: imm(1), State: amane.EmploymentValidated, History: hist(f.p1)},
			{ID: f.p2, ImmIndex: imm(2), State: amane.EmploymentValidated, History: hist(f.p2)}},
		f.b: {{ID: f.p2, ImmIndex: imm(2), State: amane.EmploymentValidated, History: hist(f.p2)},
			{ID: f.p3, State: amane.EmploymentPending}, // erased: no index, no key
			{ID: f.p4, ImmIndex: imm(4), State: amane.EmploymentPending}},
	}
	got, err := s.DeclarationPeople(ctx, []int64{f.c, f.b, 999, f.a})
	code(t, err, "")
	if len(got[f.c]) != 0 || len(got[999]) != 0 {
		t.Fatalf("people of an employer without employees: %+v %+v", got[f.c], got[999])
	}
	for er, ps := range want {
		if !equalPeople(got[er], ps) {
			t.Fatalf("DeclarationPeople of %d:\n got %+v\nwant %+v", er, got[er], ps)
		}
	}
	if got, err := s.DeclarationPeople(ctx, nil); err != nil || len(got) != 0 {
		t.Fatalf("DeclarationPeople(nil) = %v (%v)", got, err)
	}
}

// equalPeople compares people by content, a nil and an empty byte string alike.
func equalPeople(got, want []amane.DeclarationPerson) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.ID != w.ID || !bytes.Equal(g.ImmIndex, w.ImmIndex) || (g.ImmIndex == nil) != (w.ImmIndex == nil) || g.State != w.State ||
			g.History.Version != w.History.Version || !bytes.Equal(g.History.Blob, w.History.Blob) {
			return false
		}
	}
	return true
}

func testDeclarationSummaries(t *testing.T, s Store) {
	ctx := context.Background()
	f := newDeclarationFixture(t, s)
	var ds []*amane.DeclarationRecord
	for _, k := range []struct {
		period string
		seq    int
	}{{"202501", 1}, {"202412", 0}, {"202502", 0}, {"202501", 0}, {"202501", 2}} {
		ds = append(ds, Declaration(f.a, k.period, k.seq))
	}
	code(t, s.PutDeclarations(ctx, &amane.DeclarationBatch{Declarations: ds}), "")
	code(t, s.PutDeclarations(ctx, &amane.DeclarationBatch{Declarations: []*amane.DeclarationRecord{Declaration(f.b, "202503", 0)}}), "")
	got, err := s.DeclarationSummaries(ctx, f.a)
	code(t, err, "")
	var order []string
	for _, d := range got {
		order = append(order, fmt.Sprintf("%s/%d", d.Period, d.Seq))
		if d.Lines != nil {
			t.Fatalf("summary %s/%d carries its lines", d.Period, d.Seq)
		}
	}
	if want := []string{"202502/0", "202501/0", "202501/1", "202501/2", "202412/0"}; !reflect.DeepEqual(order, want) {
		t.Fatalf("summaries in order %v, want %v", order, want)
	}
	want := *ds[2]
	want.Lines = nil
	if !reflect.DeepEqual(got[0], &want) {
		t.Fatalf("summary:\n got %+v\nwant %+v", got[0], &want)
	}
	byPeriod, err := s.Declarations(ctx, f.a, "202501")
	code(t, err, "")
	if len(byPeriod) != 3 || byPeriod[0].Seq != 0 || byPeriod[2].Seq != 2 || !bytes.Equal(byPeriod[1].Lines, ds[0].Lines) {
		t.Fatalf("Declarations(202501): %d, not by seq or without lines", len(byPeriod))
	}
	if got, _ := s.DeclarationSummaries(ctx, f.c); len(got) != 0 {
		t.Fatalf("summaries of an employer that declared nothing: %d", len(got))
	}
	// The periods of the principal declarations alone, newest first.
	periods, err := s.DeclaredPeriods(ctx, f.a)
	code(t, err, "")
	if want := []string{"202502", "202501", "202412"}; !slices.Equal(periods, want) {
		t.Fatalf("DeclaredPeriods = %v, want %v", periods, want)
	}
	if periods, err := s.DeclaredPeriods(ctx, f.c); err != nil || len(periods) != 0 {
		t.Fatalf("DeclaredPeriods of an employer that declared nothing: %v, %v", periods, err)
	}
}

func testNextRequestIDs(t *testing.T, s Store) {
	ctx := context.Background()
	a, err := s.NextRequestIDs(ctx, 3)
	code(t, err, "")
	b, err := s.NextRequestIDs(ctx, 1)
	code(t, err, "")
	c, err := s.NextRequestIDs(ctx, 5)
	code(t, err, "")
	if a < 1 || b < a+3 || c < b+1 {
		t.Fatalf("reservations overlap: [%d, %d), [%d, %d), [%d, %d)", a, a+3, b, b+1, c, c+5)
	}
	t.Run("Concurrent", func(t *testing.T) {
		const workers, each = 4, 10
		var mu sync.Mutex
		taken := map[int64]bool{}
		var wg sync.WaitGroup
		errs := make(chan error, workers)
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 1; i <= each; i++ {
					first, err := s.NextRequestIDs(ctx, i)
					if err != nil {
						errs <- err
						return
					}
					mu.Lock()
					for id := first; id < first+int64(i); id++ {
						if taken[id] {
							errs <- fmt.Errorf("request id %d handed out twice", id)
						}
						taken[id] = true
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
	})
	t.Run("ErrNegative", func(t *testing.T) {
		_, err := s.NextRequestIDs(ctx, -1)
		code(t, err, amane.EINVALID)
	})
}

func testEraseHistoryKey(t *testing.T, s Store) {
	ctx := context.Background()
	f := newDeclarationFixture(t, s)
	b := f.firstBatch(t)
	code(t, s.PutDeclarations(ctx, b), "")
	before, _ := s.KeyVersions(ctx)
	code(t, s.EraseEmployee(ctx, f.p1, amane.Erasure{EmployeeID: f.p1, At: "2025-03-01T10:00:00Z", By: "cli", Reason: "test"}), "")
	after, _ := s.KeyVersions(ctx)
	if after[1] != before[1]-2 { // the person's data key and history key
		t.Fatalf("keys after erasure: %v, before %v", after, before)
	}
	people, err := s.DeclarationPeople(ctx, []int64{f.a})
	code(t, err, "")
	for _, p := range people[f.a] {
		switch p.ID {
		case f.p1:
			if p.ImmIndex != nil || p.History.Blob != nil {
				t.Fatalf("erased person keeps an index or a history key: %+v", p)
			}
		case f.p2:
			if !bytes.Equal(p.History.Blob, HistoryKey(f.p2).Blob) {
				t.Fatal("another person's history key was touched")
			}
		}
	}
	// The declaration stays whole: the erased person's lines are in its blob, unreadable without
	// the key.
	got, _ := s.Declarations(ctx, f.a, "202501")
	if len(got) != 1 || !reflect.DeepEqual(got[0], b.Declarations[0]) {
		t.Fatal("erasure changed a declaration")
	}
}

func testRotateHistoryKeys(t *testing.T, s Store) {
	ctx := context.Background()
	f := newDeclarationFixture(t, s)
	b := f.firstBatch(t)
	code(t, s.PutDeclarations(ctx, b), "")
	var after amane.DataKeyRef
	kinds := map[int]int{}
	for {
		ks, err := s.DataKeys(ctx, 1, after, 3)
		code(t, err, "")
		if len(ks) == 0 {
			break
		}
		var rw []amane.Rewrap
		for _, k := range ks {
			kinds[k.Kind]++
			rw = append(rw, amane.Rewrap{DataKeyRef: k.DataKeyRef, Old: k.WrappedKey, New: amane.WrappedKey{Version: 2, Blob: append([]byte("v2:"), k.Blob...)}})
		}
		n, err := s.RewrapDataKeys(ctx, rw)
		code(t, err, "")
		if n != len(ks) {
			t.Fatalf("rewrapped %d of %d", n, len(ks))
		}
		after = ks[len(ks)-1].DataKeyRef
	}
	if want := map[int]int{amane.KeyEmployer: 3, amane.KeyEmployee: 4, amane.KeyHistory: 2, amane.KeyRequest: 1}; !reflect.DeepEqual(kinds, want) {
		t.Fatalf("rotation walked keys by kind %v, want %v", kinds, want)
	}
	if vs, _ := s.KeyVersions(ctx); len(vs) != 1 || vs[2] != 10 {
		t.Fatalf("KeyVersions after rotation = %v", vs)
	}
	people, _ := s.DeclarationPeople(ctx, []int64{f.a})
	for _, p := range people[f.a] {
		if want := "v2:" + string(HistoryKey(p.ID).Blob); p.History.Version != 2 || string(p.History.Blob) != want {
			t.Fatalf("history key of %d after rotation: %d %q", p.ID, p.History.Version, p.History.Blob)
		}
	}
	rs, _ := s.ImmRequests(ctx, f.b)
	if len(rs) != 1 || rs[0].Key.Version != 2 || string(rs[0].Key.Blob) != "v2:"+string(b.Requests[0].Key.Blob) {
		t.Fatalf("request key after rotation: %+v", rs)
	}
}

func testDeclarationsDumpRestore(t *testing.T, s, empty Store) {
	ctx := context.Background()
	f := newDeclarationFixture(t, s)
	b := f.firstBatch(t)
	code(t, s.PutDeclarations(ctx, b), "")
	code(t, s.PutDeclarations(ctx, &amane.DeclarationBatch{Declarations: []*amane.DeclarationRecord{Declaration(f.b, "202501", 1)},
		Requests: []*amane.ImmRequestRecord{f.request(t, f.b, "202501"), f.request(t, f.a, "202501")}}), "")
	noLines := Declaration(f.a, "202502", 0)
	noLines.Lines, noLines.Contributions.Branches = []byte{}, nil // no line: an empty blob survives as empty
	code(t, s.PutDeclarations(ctx, &amane.DeclarationBatch{Declarations: []*amane.DeclarationRecord{noLines}}), "")
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
	kinds := map[string]int{}
	for i := range first {
		a, b := fmt.Sprintf("%+v", deref(first[i])), fmt.Sprintf("%+v", deref(second[i]))
		if a != b {
			t.Fatalf("row %d differs:\n%s\n%s", i, a, b)
		}
		kinds[fmt.Sprintf("%T", deref(first[i]))]++
		if q := first[i].ImmRequest; q != nil && q.Key.Blob != nil {
			t.Fatal("a dumped request carries its key: keys travel as data-key rows")
		}
	}
	// p2's history key (p1's was erased) and three request keys; three requests; four declarations.
	if kinds["amane.DataKey"] != 4 || kinds["amane.ImmRequestRecord"] != 3 || kinds["amane.DeclarationRecord"] != 4 {
		t.Fatalf("dump rows by kind: %v", kinds)
	}
	var i int
	for i = range first { // the new kinds come last, keys first
		if first[i].DataKey != nil {
			break
		}
	}
	for j, it := range first[i:] {
		want := "amane.DataKey"
		if j >= 4 {
			want = "amane.ImmRequestRecord"
		}
		if j >= 7 {
			want = "amane.DeclarationRecord"
		}
		if got := fmt.Sprintf("%T", deref(it)); got != want {
			t.Fatalf("dump row %d is %s, want %s", i+j, got, want)
		}
	}

	for _, period := range []string{"202501", "202502"} {
		for _, er := range []int64{f.a, f.b} {
			want, _ := s.Declarations(ctx, er, period)
			got, err := empty.Declarations(ctx, er, period)
			code(t, err, "")
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("restored Declarations(%d, %s):\n got %+v\nwant %+v", er, period, got, want)
			}
		}
	}
	for _, er := range []int64{f.a, f.b} {
		want, _ := s.ImmRequests(ctx, er)
		got, err := empty.ImmRequests(ctx, er)
		code(t, err, "")
		if !reflect.DeepEqual(got, want) || len(got) == 0 || got[0].Key.Blob == nil {
			t.Fatalf("restored ImmRequests(%d):\n got %+v\nwant %+v", er, got, want)
		}
	}
	want, _ := s.DeclarationPeople(ctx, []int64{f.a, f.b})
	got, err := empty.DeclarationPeople(ctx, []int64{f.a, f.b})
	code(t, err, "")
	for er := range want {
		if !equalPeople(got[er], want[er]) {
			t.Fatalf("restored DeclarationPeople(%d):\n got %+v\nwant %+v", er, got[er], want[er])
		}
	}
	// The restored store goes on: new ids follow the restored ones.
	maxRequest := b.Requests[0].ID
	for _, it := range first {
		if q := it.ImmRequest; q != nil && q.ID > maxRequest {
			maxRequest = q.ID
		}
	}
	if id, err := empty.NextRequestIDs(ctx, 2); err != nil || id <= maxRequest {
		t.Fatalf("request id after restore: %d (%v), restored up to %d", id, err, maxRequest)
	}
	next := Declaration(f.b, "202502", 0)
	code(t, empty.PutDeclarations(ctx, &amane.DeclarationBatch{Declarations: []*amane.DeclarationRecord{next}}), "")
	if next.ID <= noLines.ID {
		t.Fatalf("declaration id after restore: %d, restored up to %d", next.ID, noLines.ID)
	}

	t.Run("ErrKeyRows", func(t *testing.T) {
		// Employer and employee keys come with their records; a request's key only as a data-key row.
		l, err := s.BeginRestore(ctx)
		code(t, err, "")
		defer l.Rollback()
		code(t, l.Put(&amane.DumpItem{DataKey: &amane.DataKey{DataKeyRef: amane.DataKeyRef{Kind: amane.KeyEmployee, Subject: 1}, WrappedKey: amane.WrappedKey{Version: 1, Blob: []byte("k")}}}), amane.EINVALID)
		withKey := *b.Requests[0]
		withKey.ID += 1000
		code(t, l.Put(&amane.DumpItem{ImmRequest: &withKey}), amane.EINVALID)
	})
}

func dumpAll(t *testing.T, s Store) []*amane.DumpItem {
	t.Helper()
	var out []*amane.DumpItem
	code(t, s.Dump(context.Background(), func(it *amane.DumpItem) error { out = append(out, it); return nil }), "")
	return out
}

// BenchEmployers loads n employers (one bulk load) and returns their ids.
func BenchEmployers(tb testing.TB, s Store, n int) []int64 {
	tb.Helper()
	l, err := s.BeginLoad(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	ids := make([]int64, n)
	for i := range ids {
		r := Employer(l.NextEmployerID(), fmt.Sprintf("%07d", 9000000-i))
		if ids[i], _, err = l.PutEmployer(r); err != nil {
			l.Rollback()
			tb.Fatal(err)
		}
	}
	if err := l.Commit(); err != nil {
		tb.Fatal(err)
	}
	return ids
}

// BenchPutDeclarations runs b.N batches of 1,000 declarations of 4 lines (a 600-byte sealed blob, a
// 32-byte digest, header and contributions of their real size) through PutDeclarations, with keys
// new history keys per declaration, and reports declarations and lines per second.
func BenchPutDeclarations(b *testing.B, s Store, keys int) {
	const batch, lines = 1000, 4
	ctx := context.Background()
	employers := BenchEmployers(b, s, batch)
	blob := func(n int, seed int64) []byte {
		p := make([]byte, n)
		for i := range p {
			seed = seed*6364136223846793005 + 1442695040888963407
			p[i] = byte(seed >> 56)
		}
		return p
	}
	contrib := amane.ComputeContributions(&amane.RateTables[0], 4*600000, 4*700000)
	var subject int64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		bt := &amane.DeclarationBatch{}
		for k, er := range employers {
			d := Declaration(er, "202501", i)
			d.Digest, d.Lines, d.Contributions = blob(32, int64(i*batch+k)), blob(lines*150, int64(i*batch+k)+1), contrib
			d.Header.Name = "ETABLISSEMENTS ATLAS NEGOCE ET DISTRIBUTION"
			bt.Declarations = append(bt.Declarations, d)
			for j := 0; j < keys; j++ {
				subject++
				bt.HistoryKeys = append(bt.HistoryKeys, amane.DataKey{DataKeyRef: amane.DataKeyRef{Kind: amane.KeyHistory, Subject: subject},
					WrappedKey: amane.WrappedKey{Version: 1, Blob: blob(60, subject)}})
			}
		}
		b.StartTimer()
		if err := s.PutDeclarations(ctx, bt); err != nil {
			b.Fatal(err)
		}
	}
	sec := b.Elapsed().Seconds()
	b.ReportMetric(float64(b.N*batch)/sec, "declarations/s")
	b.ReportMetric(float64(b.N*batch*lines)/sec, "lines/s")
}

// BenchDeclarationPeople loads employers employers of 4 people each, half of them with a history key,
// and runs b.N calls of DeclarationPeople for 1,000 of them, as the gate's declaration writer asks.
func BenchDeclarationPeople(b *testing.B, s Store, employers int) {
	const perCall, people = 1000, 4
	ctx := context.Background()
	l, err := s.BeginLoad(ctx)
	if err != nil {
		b.Fatal(err)
	}
	ids := make([]int64, employers)
	var keys []amane.DataKey
	for i := range ids {
		if ids[i], _, err = l.PutEmployer(Employer(l.NextEmployerID(), fmt.Sprintf("%07d", 8000000-i))); err != nil {
			b.Fatal(err)
		}
		for p := 0; p < people; p++ {
			id := l.NextEmployeeID()
			if _, _, err := l.PutEmployee(Employee(id, int(id))); err != nil {
				b.Fatal(err)
			}
			if _, err := l.PutEmployment(amane.Employment{EmployeeID: id, EmployerID: ids[i], Since: "2020-01-01", State: amane.EmploymentValidated}); err != nil {
				b.Fatal(err)
			}
			if p%2 == 0 {
				keys = append(keys, HistoryKey(id))
			}
		}
	}
	if err := l.Commit(); err != nil {
		b.Fatal(err)
	}
	if err := s.PutDeclarations(ctx, &amane.DeclarationBatch{HistoryKeys: keys}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		from := (i * perCall) % (employers - perCall + 1)
		got, err := s.DeclarationPeople(ctx, ids[from:from+perCall])
		if err != nil {
			b.Fatal(err)
		}
		if len(got) != perCall || len(got[ids[from]]) != people {
			b.Fatalf("DeclarationPeople: %d employers, %d people in the first", len(got), len(got[ids[from]]))
		}
	}
	b.ReportMetric(float64(b.N*perCall)/b.Elapsed().Seconds(), "employers/s")
}
