package journal

import (
	"context"

	"golang.org/x/mod/sumdb/tlog"
)

// Store keeps the journal. Both registry stores (sqlite, postgres) implement it.
type Store interface {
	// AppendJournal stores entries at indexes n, n+1, … and the tree's stored hashes for them (the
	// concatenated tlog.StoredHashes of each entry, which go at stored-hash indexes
	// tlog.StoredHashIndex(0, n) onward), in one transaction. n must equal the current size, else
	// nothing is written and an error is returned (another writer appended meanwhile).
	// records[i] is entry i's record reference ("employee/42", or "" for none: RecordOf(entries[i])),
	// kept in a column of its own so that JournalByRecord finds a person's entries without reading the
	// whole journal.
	AppendJournal(ctx context.Context, n int64, entries [][]byte, records []string, hashes []tlog.Hash) error
	// JournalByRecord returns the indexes and entries whose record reference is record, oldest first,
	// at most limit of them after index after (-1 for the start).
	JournalByRecord(ctx context.Context, record string, after int64, limit int) ([]int64, [][]byte, error)
	// JournalRecords returns the record column of the entries at indexes from..to-1, one slot per
	// index ("" for no record, and for an index with no row). The column is derived from the entry
	// (RecordOf) and indexed outside the hashed bytes: Verify checks each against its entry.
	JournalRecords(ctx context.Context, from, to int64) ([]string, error)
	// JournalSize is the number of entries: one past the highest index stored.
	JournalSize(ctx context.Context) (int64, error)
	// JournalEntries returns the entries at indexes from..to-1, one slot per index; an index with no
	// row gives a nil slot.
	JournalEntries(ctx context.Context, from, to int64) ([][]byte, error)
	// JournalHashes returns the stored hashes at the given stored-hash indexes, in the same order; a
	// missing one is an error.
	JournalHashes(ctx context.Context, indexes []int64) ([]tlog.Hash, error)
	// AddCheckpoint stores a signed checkpoint of the tree at size; one per size (a second one for the
	// same size is ignored).
	AddCheckpoint(ctx context.Context, size int64, signed []byte) error
	// Checkpoints returns the stored checkpoints by increasing size.
	Checkpoints(ctx context.Context) ([]StoredCheckpoint, error)
}

// LockedAppender is implemented by a store that several processes may append to at once (a CLI
// command while the server runs). AppendJournalLocked takes a lock that every AppendJournal also
// takes, reads the size n inside it, calls hashes(n, r) — r reads stored hashes inside the lock — and
// stores entries at n, n+1, … with the hashes returned, in one transaction. It returns n.
type LockedAppender interface {
	AppendJournalLocked(ctx context.Context, entries [][]byte, records []string, hashes func(n int64, r tlog.HashReader) ([]tlog.Hash, error)) (int64, error)
}

// StoredCheckpoint is a signed checkpoint as the store keeps it.
type StoredCheckpoint struct {
	Size   int64
	Signed []byte // the signed note
}

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
