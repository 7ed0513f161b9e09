package journal_test

import (
	"context"
	"testing"

	"golang.org/x/mod/sumdb/tlog"
)

func tlogRecordHash(b []byte) tlog.Hash { return tlog.RecordHash(b) }

type mapReader map[int64]tlog.Hash

func (m mapReader) ReadHashes(ix []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(ix))
	for i, x := range ix {
		out[i] = m[x]
	}
	return out, nil
}

// rehash rewrites the stored hashes to match the entries as they are now: what a careful attacker
// with write access to the store would do.
func rehash(t *testing.T, b *backend, n int64) {
	ctx := context.Background()
	es, err := b.st.JournalEntries(ctx, 0, n)
	if err != nil {
		t.Fatal(err)
	}
	m := mapReader{}
	for i, e := range es {
		hs, err := tlog.StoredHashes(int64(i), e, m)
		if err != nil {
			t.Fatal(err)
		}
		for k, h := range hs {
			m[tlog.StoredHashIndex(0, int64(i))+int64(k)] = h
		}
	}
	ix := make([]int64, 0, len(m))
	for x := range m {
		ix = append(ix, x)
	}
	old, err := b.st.JournalHashes(ctx, ix)
	if err != nil {
		t.Fatal(err)
	}
	changed := 0
	for i, x := range ix {
		if old[i] != m[x] {
			h := m[x]
			b.exec(t, `UPDATE journal_hashes SET hash = $1 WHERE idx = $2`, h[:], x)
			changed++
		}
	}
	t.Logf("rehash: %d stored hashes rewritten", changed)
}
