package amane

import (
	"context"

	"golang.org/x/mod/sumdb/tlog"
)

// JournalStore keeps the access journal (package journal): its entries, the Merkle tree's stored
// hashes (tlog's, RFC 6962) and signed checkpoints. Both stores implement it; package journal reads
// and appends through it (journal.Store is this interface).
type JournalStore interface {
	// AppendJournal stores entries at indexes n, n+1, … and the tree's stored hashes for them (the
	// concatenated tlog.StoredHashes of each entry, which go at stored-hash indexes
	// tlog.StoredHashIndex(0, n) onward), in one transaction. n must equal the current size, else
	// nothing is written and an error is returned (another writer appended meanwhile).
	// records[i] is entry i's record reference ("employee/42", or "" for none: journal.RecordOf),
	// kept in a column of its own so that JournalByRecord finds a person's entries without reading the
	// whole journal.
	AppendJournal(ctx context.Context, n int64, entries [][]byte, records []string, hashes []tlog.Hash) error
	// JournalByRecord returns the indexes and entries whose record reference is record, oldest first,
	// at most limit of them after index after (-1 for the start).
	JournalByRecord(ctx context.Context, record string, after int64, limit int) ([]int64, [][]byte, error)
	// JournalRecords returns the record column of the entries at indexes from..to-1, one slot per
	// index ("" for no record, and for an index with no row). The column is derived from the entry
	// (journal.RecordOf) and indexed outside the hashed bytes: journal.Verify checks each against its
	// entry.
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

// StoredCheckpoint is a signed checkpoint as the store keeps it.
type StoredCheckpoint struct {
	Size   int64
	Signed []byte // the signed note
}
