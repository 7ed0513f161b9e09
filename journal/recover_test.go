package journal_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"

	"amane/journal"

	"golang.org/x/mod/sumdb/tlog"
)

var errLost = errors.New("test: connection lost")

// flaky is a store that loses its connection on demand: an append that fails before writing, or
// after committing (the reply lost), and reads that fail while down.
type flaky struct {
	journal.Store
	mu          sync.Mutex
	failBefore  int  // the next appends that fail without writing
	failAfter   int  // the next appends that commit, then fail
	sizeFails   int  // the next JournalSize calls that fail
	down        bool // every JournalSize fails
	appendCalls int
}

func (f *flaky) AppendJournal(ctx context.Context, n int64, entries [][]byte, records []string, hashes []tlog.Hash) error {
	f.mu.Lock()
	f.appendCalls++
	before, after := f.failBefore > 0, f.failAfter > 0 && f.failBefore == 0
	if before {
		f.failBefore--
	} else if after {
		f.failAfter--
	}
	f.mu.Unlock()
	if before {
		return errLost
	}
	if err := f.Store.AppendJournal(ctx, n, entries, records, hashes); err != nil {
		return err
	}
	if after {
		return errLost
	}
	return nil
}

func (f *flaky) JournalSize(ctx context.Context) (int64, error) {
	f.mu.Lock()
	fail := f.down || f.sizeFails > 0
	if f.sizeFails > 0 {
		f.sizeFails--
	}
	f.mu.Unlock()
	if fail {
		return 0, errLost
	}
	return f.Store.JournalSize(ctx)
}

func (f *flaky) set(fn func(f *flaky)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

// TestJournalRecoversFromALostConnection, the failure: the database connection is lost in the middle
// of an append, so that the append's outcome is unknown and the store cannot even be asked at once.
// Before, the journal latched "state unknown after a failed append…; reopen the journal" and every
// later append failed until a restart; now it learns the store's tree at the next append and goes
// on. An append that failed before writing is tried again; one that committed but lost its reply is
// found in the store and succeeds; never a gap, never an entry twice. Health says the journal cannot
// append while the store is unreachable, and can again after.
func TestJournalRecoversFromALostConnection(t *testing.T) {
	each(t, func(t *testing.T, b *backend) {
		ctx := context.Background()
		s, v := keys(t)
		f := &flaky{Store: b.st}
		j, err := journal.Open(ctx, f, s, v, filepath.Join(b.dir, journal.WitnessFile))
		if err != nil {
			t.Fatal(err)
		}
		defer j.Close()
		next := 0
		appendOK := func(what string) int64 {
			t.Helper()
			k, err := j.Append(ctx, entry(next))
			next++
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			return k
		}
		for range 10 {
			appendOK("before")
		}

		// Lost before the commit: tried again, invisibly.
		f.set(func(f *flaky) { f.failBefore = 2 })
		if k := appendOK("lost before commit"); k != 10 {
			t.Fatalf("index %d, want 10", k)
		}
		// Lost after the commit, the store readable: the entry is found, the append succeeds.
		f.set(func(f *flaky) { f.failAfter = 1 })
		if k := appendOK("lost after commit"); k != 11 {
			t.Fatalf("index %d, want 11", k)
		}
		// Lost after the commit, and the store unreadable for a while: the caller gets an error (its
		// entry may be stored; nothing is released on it), the journal reports it cannot append.
		f.set(func(f *flaky) { f.failAfter, f.down = 1, true })
		if _, err := j.Append(ctx, entry(next)); err == nil {
			t.Fatal("an append whose outcome is unknown succeeded")
		}
		next++
		if err := j.Health(ctx); err == nil {
			t.Fatal("healthy while the store is unreachable")
		}
		if _, err := j.Append(ctx, entry(next)); err == nil {
			t.Fatal("an append succeeded while the store is unreachable")
		}
		next++
		// The database is back: the next append learns the tree (the lost entry is there) and goes on.
		f.set(func(f *flaky) { f.down = false })
		if err := j.Health(ctx); err != nil {
			t.Fatalf("health once the store is back: %v", err)
		}
		k := appendOK("after the store came back")
		if k != 13 {
			t.Fatalf("index %d, want 13 (12 holds the entry whose reply was lost)", k)
		}
		// One failed JournalSize right after a failed append: still no latch.
		f.set(func(f *flaky) { f.failBefore, f.sizeFails = 1, 1 })
		appendOK("lost before commit, size unreadable once")
		for range 5 {
			appendOK("after")
		}
		if _, err := j.Checkpoint(ctx); err != nil {
			t.Fatal(err)
		}
		n, err := b.st.JournalSize(ctx)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := b.st.JournalEntries(ctx, 0, n)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]int{}
		for i, e := range raw {
			if e == nil {
				t.Fatalf("gap at %d", i)
			}
			if prev, ok := seen[string(e)]; ok {
				t.Fatalf("entry %d stored again at %d", prev, i)
			}
			seen[string(e)] = i
		}
		if r, err := journal.Verify(ctx, b.st, v); err != nil || !r.OK() {
			t.Fatalf("verify: %+v %v", r, err)
		}
		if n != 20 {
			t.Fatalf("%d entries, want 20 (19 appended, 1 whose reply was lost; 1 refused while down)", n)
		}
	})
}

// TestJournalBreaksOnRollback: a store found holding fewer entries than the journal committed (rolled
// back behind its back) is not silently taken up: every append fails, and Health says so.
func TestJournalBreaksOnRollback(t *testing.T) {
	each(t, func(t *testing.T, b *backend) {
		ctx := context.Background()
		s, v := keys(t)
		f := &flaky{Store: b.st}
		j, err := journal.Open(ctx, f, s, v, "")
		if err != nil {
			t.Fatal(err)
		}
		defer j.Close()
		for i := range 10 {
			if _, err := j.Append(ctx, entry(i)); err != nil {
				t.Fatal(err)
			}
		}
		b.exec(t, `DELETE FROM journal_entries WHERE idx >= $1`, 8)
		f.set(func(f *flaky) { f.failBefore = 1 })
		if _, err := j.Append(ctx, entry(10)); err == nil {
			t.Fatal("appended to a rolled-back store")
		}
		if _, err := j.Append(ctx, entry(11)); err == nil {
			t.Fatal("appended to a rolled-back store")
		}
		if err := j.Health(ctx); err == nil {
			t.Fatal("healthy on a rolled-back store")
		}
	})
}
