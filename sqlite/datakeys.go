package sqlite

import (
	"context"
	"crypto/rand"
	"database/sql"
	"strconv"

	"amane"
)

// KeyVersions implements amane.KeyStore.
func (s *Store) KeyVersions(ctx context.Context) (map[uint32]int64, error) {
	out := map[uint32]int64{}
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT kek_version, count(*) FROM data_keys GROUP BY kek_version`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var v uint32
			var n int64
			if err := rows.Scan(&v, &n); err != nil {
				return err
			}
			out[v] = n
		}
		return rows.Err()
	})
	return out, err
}

// DataKeys implements amane.KeyStore.
func (s *Store) DataKeys(ctx context.Context, version uint32, after amane.DataKeyRef, limit int) (out []amane.DataKey, err error) {
	err = s.readTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT kind, subject_id, wrapped FROM data_keys
			WHERE kek_version = ? AND (kind, subject_id) > (?, ?) ORDER BY kind, subject_id LIMIT ?`, version, after.Kind, after.Subject, limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			k := amane.DataKey{WrappedKey: amane.WrappedKey{Version: version}}
			if err := rows.Scan(&k.Kind, &k.Subject, &k.Blob); err != nil {
				return err
			}
			out = append(out, k)
		}
		return rows.Err()
	})
	return out, err
}

// RewrapDataKeys implements amane.KeyStore.
func (s *Store) RewrapDataKeys(ctx context.Context, rw []amane.Rewrap) (int, error) {
	n := 0
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		n = 0
		st, err := tx.PrepareContext(ctx, `UPDATE data_keys SET kek_version = ?, wrapped = ? WHERE kind = ? AND subject_id = ? AND kek_version = ? AND wrapped = ?`)
		if err != nil {
			return err
		}
		defer st.Close()
		for _, r := range rw {
			res, err := st.ExecContext(ctx, r.New.Version, r.New.Blob, r.Kind, r.Subject, r.Old.Version, r.Old.Blob)
			if err != nil {
				return err
			}
			k, _ := res.RowsAffected()
			n += int(k)
		}
		return nil
	})
	return n, err
}

// EraseEmployee implements amane.KeyStore.
func (s *Store) EraseEmployee(ctx context.Context, id int64, e amane.Erasure) error {
	// The immatriculation index is unique and NOT NULL: it becomes random bytes that match no one.
	tomb := make([]byte, 16)
	rand.Read(tomb)
	return s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE employees SET imm = x'', cin = NULL, passeport = NULL, nom = x'', prenom = x'',
			imm_bidx = ?, cin_bidx = NULL, passeport_bidx = NULL WHERE id = ? AND NOT EXISTS (SELECT 1 FROM erasures WHERE employee_id = ?)`, tomb, id, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return amane.Errorf(amane.ENOTFOUND, "Insured person not found, or erased already.")
		}
		// The person's data key and history key: their declared lines stay in the declarations'
		// blobs, sealed under a key that no longer exists.
		if _, err := tx.ExecContext(ctx, `DELETE FROM data_keys WHERE kind IN (?, ?) AND subject_id = ?`, amane.KeyEmployee, amane.KeyHistory, id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM name_index WHERE employee_id = ?`, id); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO erasures (employee_id, at, by_, reason) VALUES (?, ?, ?, ?)`, id, e.At, e.By, e.Reason)
		return err
	})
}

// Erasures implements amane.KeyStore.
func (s *Store) Erasures(ctx context.Context) (out []amane.Erasure, err error) {
	err = s.readTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT employee_id, at, by_, reason FROM erasures ORDER BY at, employee_id`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var e amane.Erasure
			if err := rows.Scan(&e.EmployeeID, &e.At, &e.By, &e.Reason); err != nil {
				return err
			}
			out = append(out, e)
		}
		return rows.Err()
	})
	return out, err
}

func unhex(s string) []byte {
	b := make([]byte, len(s)/2)
	for i := range b {
		b[i] = nib(s[2*i])<<4 | nib(s[2*i+1])
	}
	return b
}

func nib(c byte) byte {
	if c >= 'A' {
		return c - 'A' + 10
	}
	return c - '0'
}

// IndexVersion implements amane.KeyStore.
func (s *Store) IndexVersion(ctx context.Context) (uint32, error) {
	v := uint32(1)
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `SELECT CAST(value AS INTEGER) FROM settings WHERE name = 'index_key_version'`).Scan(&v)
		if err == sql.ErrNoRows {
			return nil
		}
		return err
	})
	return v, err
}

// reindexer holds SQLite's write lock from BeginReindex to Commit: no writer can add a row whose
// index would be computed with the old key meanwhile.
type reindexer struct {
	ctx                context.Context
	tx                 *sql.Tx
	employer, employee *sql.Stmt
	delWords, insWord  *sql.Stmt
	seal               *sql.Stmt
}

// BeginReindex implements amane.KeyStore.
func (s *Store) BeginReindex(ctx context.Context) (amane.Reindexer, error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	r := &reindexer{ctx: ctx, tx: tx}
	for _, p := range []struct {
		st  **sql.Stmt
		sql string
	}{
		{&r.employer, `UPDATE employers SET rep_cin_bidx = ?, email_bidx = ?, rib_bidx = ? WHERE id = ?`},
		{&r.employee, `UPDATE employees SET imm_bidx = ?, cin_bidx = ?, passeport_bidx = ? WHERE id = ?`},
		{&r.delWords, `DELETE FROM name_index WHERE employee_id = ?`},
		{&r.insWord, `INSERT OR IGNORE INTO name_index (word, employee_id) VALUES (?, ?)`},
		{&r.seal, `UPDATE declarations SET seal = ? WHERE id = ?`},
	} {
		if *p.st, err = tx.PrepareContext(ctx, p.sql); err != nil {
			tx.Rollback()
			return nil, err
		}
	}
	return r, nil
}

func (r *reindexer) SetEmployerIndexes(id int64, repCIN, email, rib []byte) error {
	_, err := r.employer.ExecContext(r.ctx, repCIN, email, rib, id)
	return err
}

func (r *reindexer) SetEmployeeIndexes(id int64, imm, cin, passport []byte, words [][]byte) error {
	if _, err := r.employee.ExecContext(r.ctx, imm, nullable(cin), nullable(passport), id); err != nil {
		return conflict(err)
	}
	if _, err := r.delWords.ExecContext(r.ctx, id); err != nil {
		return err
	}
	for _, w := range words {
		if _, err := r.insWord.ExecContext(r.ctx, w, id); err != nil {
			return err
		}
	}
	return nil
}

func (r *reindexer) SetDeclarationSeal(id int64, seal []byte) error {
	_, err := r.seal.ExecContext(r.ctx, seal, id)
	return err
}

func (r *reindexer) Commit(version uint32) error {
	if _, err := r.tx.ExecContext(r.ctx, `INSERT INTO settings (name, value) VALUES ('index_key_version', ?)
		ON CONFLICT (name) DO UPDATE SET value = excluded.value`, strconv.FormatUint(uint64(version), 10)); err != nil {
		r.tx.Rollback()
		return err
	}
	return r.tx.Commit()
}

func (r *reindexer) Rollback() error { return r.tx.Rollback() }
