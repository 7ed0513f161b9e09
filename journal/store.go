package journal

import (
	"context"

	"amane"

	"golang.org/x/mod/sumdb/tlog"
)

// Store keeps the journal: amane.JournalStore, which both registry stores (sqlite, postgres)
// implement.
type Store = amane.JournalStore

// LockedAppender is implemented by a store that several processes may append to at once (a CLI
// command while the server runs). AppendJournalLocked takes a lock that every AppendJournal also
// takes, reads the size n inside it, calls hashes(n, r) — r reads stored hashes inside the lock — and
// stores entries at n, n+1, … with the hashes returned, in one transaction. It returns n.
type LockedAppender interface {
	AppendJournalLocked(ctx context.Context, entries [][]byte, records []string, hashes func(n int64, r tlog.HashReader) ([]tlog.Hash, error)) (int64, error)
}

// StoredCheckpoint is a signed checkpoint as the store keeps it.
type StoredCheckpoint = amane.StoredCheckpoint

// hashReader reads stored hashes from a store.
func hashReader(ctx context.Context, st Store) tlog.HashReaderFunc {
	return func(indexes []int64) ([]tlog.Hash, error) { return st.JournalHashes(ctx, indexes) }
}

// frontier returns the stored-hash indexes of the complete subtrees of a tree of size n: all that
// tlog.TreeHash(n) and tlog.StoredHashes(n, …) read.
func frontier(n int64) []int64 {
	var out []int64
	for l := 0; n>>uint(l) > 0; l++ {
		if (n>>uint(l))&1 == 1 {
			out = append(out, tlog.StoredHashIndex(l, n>>uint(l)-1))
		}
	}
	return out
}

// memHashes is a HashReader over hashes held in memory, falling back to another reader.
type memHashes struct {
	m    map[int64]tlog.Hash
	next tlog.HashReader
}

func (h *memHashes) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	var miss []int64
	for i, x := range indexes {
		v, ok := h.m[x]
		if !ok {
			miss = append(miss, x)
			continue
		}
		out[i] = v
	}
	if len(miss) == 0 {
		return out, nil
	}
	if h.next == nil {
		return nil, errMissingHash
	}
	got, err := h.next.ReadHashes(miss)
	if err != nil {
		return nil, err
	}
	for i, x := range miss {
		h.m[x] = got[i]
	}
	for i, x := range indexes {
		out[i] = h.m[x]
	}
	return out, nil
}

// keep drops every hash but the frontier of a tree of size n.
func (h *memHashes) keep(n int64) {
	f := frontier(n)
	m := make(map[int64]tlog.Hash, len(f))
	for _, x := range f {
		if v, ok := h.m[x]; ok {
			m[x] = v
		}
	}
	h.m = m
}
