package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"amane"
	"amane/journal"

	"golang.org/x/mod/sumdb/tlog"
)

var (
	_ journal.Store          = (*Store)(nil)
	_ journal.LockedAppender = (*Store)(nil)
)

// The access journal's storage (journal.Store). Entries and hashes are appended in one write
// transaction; reads go through the read-only pool.

// AppendJournal implements journal.Store.
func (s *Store) AppendJournal(ctx context.Context, n int64, entries [][]byte, records []string, hashes []tlog.Hash) error {
	if len(records) != len(entries) {
		return fmt.Errorf("sqlite: %d journal entries with %d record references", len(entries), len(records))
	}
	// No size check: a second writer at the same index fails on the primary key (idx is the rowid).
	// Each table gets one multi-row INSERT, prepared once per row count on the writer connection
	// (before the transaction takes that connection).
	est, err := s.cachedStmt(ctx, "journal_entries", "(idx, entry, record)", "(?, ?, ?)", len(entries))
	if err != nil {
		return err
	}
	hst, err := s.cachedStmt(ctx, "journal_hashes", "(idx, hash)", "(?, ?)", len(hashes))
	if err != nil {
		return err
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		return insertJournal(ctx, tx, tx.StmtContext(ctx, est), tx.StmtContext(ctx, hst), n, entries, records, hashes)
	})
	if err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed") {
		return amane.Errorf(amane.ECONFLICT, "Another writer appended to the journal.")
	}
	return err
}

// insertJournal inserts entries at n and their hashes with est and hst (nil: statements prepared in tx).
func insertJournal(ctx context.Context, tx *sql.Tx, est, hst *sql.Stmt, n int64, entries [][]byte, records []string, hashes []tlog.Hash) error {
	args := make([]any, 0, 3*len(entries))
	for i, e := range entries {
		args = append(args, n+int64(i), e, nullRecord(records[i]))
	}
	var err error
	if est != nil {
		_, err = est.ExecContext(ctx, args...)
	} else {
		_, err = tx.ExecContext(ctx, multiRowInsert("journal_entries", "(idx, entry, record)", "(?, ?, ?)", len(entries)), args...)
	}
	if err != nil {
		return err
	}
	base := tlog.StoredHashIndex(0, n)
	args = args[:0]
	for i, h := range hashes {
		args = append(args, base+int64(i), h[:])
	}
	if hst != nil {
		_, err = hst.ExecContext(ctx, args...)
	} else {
		_, err = tx.ExecContext(ctx, multiRowInsert("journal_hashes", "(idx, hash)", "(?, ?)", len(hashes)), args...)
	}
	return err
}

// AppendJournalLocked implements journal.LockedAppender: the write transaction (BEGIN IMMEDIATE) is the
// lock; the size and the hashes are read inside it.
func (s *Store) AppendJournalLocked(ctx context.Context, entries [][]byte, records []string, hashes func(int64, tlog.HashReader) ([]tlog.Hash, error)) (int64, error) {
	if len(records) != len(entries) {
		return 0, fmt.Errorf("sqlite: %d journal entries with %d record references", len(entries), len(records))
	}
	var n int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(idx) + 1, 0) FROM journal_entries`).Scan(&n); err != nil {
			return err
		}
		hs, err := hashes(n, tlog.HashReaderFunc(func(indexes []int64) ([]tlog.Hash, error) { return journalHashes(ctx, tx, indexes) }))
		if err != nil {
			return err
		}
		return insertJournal(ctx, tx, nil, nil, n, entries, records, hs)
	})
	return n, err
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

// JournalRecords implements journal.Store.
func (s *Store) JournalRecords(ctx context.Context, from, to int64) ([]string, error) {
	if to < from {
		return nil, nil
	}
	out := make([]string, to-from)
	rows, err := s.r.QueryContext(ctx, `SELECT idx, coalesce(record, '') FROM journal_entries WHERE idx >= ? AND idx < ? ORDER BY idx`, from, to)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var i int64
		var r string
		if err := rows.Scan(&i, &r); err != nil {
			return nil, err
		}
		out[i-from] = r
	}
	return out, rows.Err()
}

// JournalHashes implements journal.Store. The indexes go in as one JSON array parameter.
func (s *Store) JournalHashes(ctx context.Context, indexes []int64) ([]tlog.Hash, error) {
	if len(indexes) == 0 {
		return nil, nil
	}
	return journalHashes(ctx, s.r, indexes)
}

func journalHashes(ctx context.Context, db interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, indexes []int64) ([]tlog.Hash, error) {
	arg, err := json.Marshal(indexes)
	if err != nil {
		return nil, err
	}
	rows, err := db.QueryContext(ctx, `SELECT h.idx, h.hash FROM journal_hashes h WHERE h.idx IN (SELECT value FROM json_each(?))`, string(arg))
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

// cachedStmt returns the writer's prepared INSERT INTO table cols VALUES row, row, … (rows times),
// prepared once per (table, rows): a journal commit is a handful of rows, so the cache stays small.
func (s *Store) cachedStmt(ctx context.Context, table, cols, row string, rows int) (*sql.Stmt, error) {
	key := table + "/" + strconv.Itoa(rows)
	if st, ok := s.stmts.Load(key); ok {
		return st.(*sql.Stmt), nil
	}
	st, err := s.w.PrepareContext(ctx, multiRowInsert(table, cols, row, rows))
	if err != nil {
		return nil, err
	}
	if prev, loaded := s.stmts.LoadOrStore(key, st); loaded {
		st.Close()
		return prev.(*sql.Stmt), nil
	}
	return st, nil
}

// multiRowInsert is an INSERT of rows rows into table.
func multiRowInsert(table, cols, row string, rows int) string {
	return "INSERT INTO " + table + " " + cols + " VALUES " + strings.TrimSuffix(strings.Repeat(row+", ", rows), ", ")
}
