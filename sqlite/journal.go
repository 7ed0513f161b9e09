package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"amane"
	"amane/journal"

	"golang.org/x/mod/sumdb/tlog"
)

var _ journal.Store = (*Store)(nil)

// The access journal's storage (journal.Store). Entries and hashes are appended in one write
// transaction; reads go through the read-only pool.

// AppendJournal implements journal.Store.
func (s *Store) AppendJournal(ctx context.Context, n int64, entries [][]byte, records []string, hashes []tlog.Hash) error {
	if len(records) != len(entries) {
		return fmt.Errorf("sqlite: %d journal entries with %d record references", len(entries), len(records))
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var size int64
		if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(idx) + 1, 0) FROM journal_entries`).Scan(&size); err != nil {
			return err
		}
		if size != n {
			return amane.Errorf(amane.ECONFLICT, "The journal holds %d entries, not %d: another writer appended.", size, n)
		}
		st, err := tx.PrepareContext(ctx, insertJournalEntry)
		if err != nil {
			return err
		}
		defer st.Close()
		for i, e := range entries {
			if _, err := st.ExecContext(ctx, n+int64(i), e, nullRecord(records[i])); err != nil {
				return err
			}
		}
		hs, err := tx.PrepareContext(ctx, `INSERT INTO journal_hashes (idx, hash) VALUES (?, ?)`)
		if err != nil {
			return err
		}
		defer hs.Close()
		base := tlog.StoredHashIndex(0, n)
		for i, h := range hashes {
			if _, err := hs.ExecContext(ctx, base+int64(i), h[:]); err != nil {
				return err
			}
		}
		return nil
	})
}

// Kinds of amane.JournalRow, one per journal table.
const (
	journalEntry      = "entry"
	journalHash       = "hash"
	journalCheckpoint = "checkpoint"
)

const insertJournalEntry = `INSERT INTO journal_entries (idx, entry, record) VALUES (?, ?, ?)`

// nullRecord stores "no record" as NULL, which no JournalByRecord lookup matches.
func nullRecord(r string) any {
	if r == "" {
		return nil
	}
	return r
}

// JournalByRecord implements journal.Store: a range scan of the (record, idx) index.
func (s *Store) JournalByRecord(ctx context.Context, record string, after int64, limit int) ([]int64, [][]byte, error) {
	if record == "" || limit <= 0 {
		return nil, nil, nil
	}
	rows, err := s.r.QueryContext(ctx, `SELECT idx, entry FROM journal_entries WHERE record = ? AND idx > ? ORDER BY idx LIMIT ?`, record, after, limit)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var idx []int64
	var out [][]byte
	for rows.Next() {
		var i int64
		var e []byte
		if err := rows.Scan(&i, &e); err != nil {
			return nil, nil, err
		}
		if e == nil {
			e = []byte{}
		}
		idx, out = append(idx, i), append(out, e)
	}
	return idx, out, rows.Err()
}

// JournalSize implements journal.Store.
func (s *Store) JournalSize(ctx context.Context) (int64, error) {
	var n int64
	err := s.r.QueryRowContext(ctx, `SELECT coalesce(max(idx) + 1, 0) FROM journal_entries`).Scan(&n)
	return n, err
}

// JournalEntries implements journal.Store.
func (s *Store) JournalEntries(ctx context.Context, from, to int64) ([][]byte, error) {
	if to < from {
		return nil, nil
	}
	out := make([][]byte, to-from)
	rows, err := s.r.QueryContext(ctx, `SELECT idx, entry FROM journal_entries WHERE idx >= ? AND idx < ? ORDER BY idx`, from, to)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var i int64
		var e []byte
		if err := rows.Scan(&i, &e); err != nil {
			return nil, err
		}
		if e == nil {
			e = []byte{}
		}
		out[i-from] = e
	}
	return out, rows.Err()
}

// JournalHashes implements journal.Store. The indexes go in as one JSON array parameter.
func (s *Store) JournalHashes(ctx context.Context, indexes []int64) ([]tlog.Hash, error) {
	if len(indexes) == 0 {
		return nil, nil
	}
	arg, err := json.Marshal(indexes)
	if err != nil {
		return nil, err
	}
	rows, err := s.r.QueryContext(ctx, `SELECT h.idx, h.hash FROM journal_hashes h WHERE h.idx IN (SELECT value FROM json_each(?))`, string(arg))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	got := make(map[int64]tlog.Hash, len(indexes))
	for rows.Next() {
		var i int64
		var b []byte
		if err := rows.Scan(&i, &b); err != nil {
			return nil, err
		}
		if len(b) != tlog.HashSize {
			return nil, fmt.Errorf("sqlite: journal hash %d: %d bytes", i, len(b))
		}
		got[i] = tlog.Hash(b)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]tlog.Hash, len(indexes))
	for k, i := range indexes {
		h, ok := got[i]
		if !ok {
			return nil, fmt.Errorf("sqlite: journal hash %d is missing", i)
		}
		out[k] = h
	}
	return out, nil
}

// AddCheckpoint implements journal.Store.
func (s *Store) AddCheckpoint(ctx context.Context, size int64, signed []byte) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO journal_checkpoints (size, signed) VALUES (?, ?) ON CONFLICT (size) DO NOTHING`, size, signed)
		return err
	})
}

// Checkpoints implements journal.Store.
func (s *Store) Checkpoints(ctx context.Context) ([]journal.StoredCheckpoint, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT size, signed FROM journal_checkpoints ORDER BY size`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []journal.StoredCheckpoint
	for rows.Next() {
		var c journal.StoredCheckpoint
		if err := rows.Scan(&c.Size, &c.Signed); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}
