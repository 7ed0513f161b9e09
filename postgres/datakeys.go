package postgres

import (
	"context"
	"crypto/rand"
	"errors"
	"strconv"

	"amane"

	"github.com/jackc/pgx/v5"
)

// KeyVersions implements amane.KeyStore.
func (s *Store) KeyVersions(ctx context.Context) (map[uint32]int64, error) {
	rows, err := s.pool.Query(ctx, `SELECT kek_version, count(*) FROM data_keys GROUP BY kek_version`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[uint32]int64{}
	for rows.Next() {
		var v, n int64
		if err := rows.Scan(&v, &n); err != nil {
			return nil, err
		}
		out[uint32(v)] = n
	}
	return out, rows.Err()
}

// DataKeys implements amane.KeyStore.
func (s *Store) DataKeys(ctx context.Context, version uint32, after amane.DataKeyRef, limit int) ([]amane.DataKey, error) {
	rows, err := s.pool.Query(ctx, `SELECT kind, subject_id, wrapped FROM data_keys
		WHERE kek_version = $1 AND (kind, subject_id) > ($2, $3) ORDER BY kind, subject_id LIMIT $4`,
		int64(version), after.Kind, after.Subject, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []amane.DataKey
	for rows.Next() {
		k := amane.DataKey{WrappedKey: amane.WrappedKey{Version: version}}
		if err := rows.Scan(&k.Kind, &k.Subject, &k.Blob); err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// RewrapDataKeys implements amane.KeyStore.
func (s *Store) RewrapDataKeys(ctx context.Context, rw []amane.Rewrap) (int, error) {
	n := 0
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		n = 0
		b := &pgx.Batch{}
		for _, r := range rw {
			b.Queue(`UPDATE data_keys SET kek_version = $1, wrapped = $2 WHERE kind = $3 AND subject_id = $4 AND kek_version = $5 AND wrapped = $6`,
				int64(r.New.Version), r.New.Blob, r.Kind, r.Subject, int64(r.Old.Version), r.Old.Blob)
		}
		res := tx.SendBatch(ctx, b)
		for range rw {
			tag, err := res.Exec()
			if err != nil {
				res.Close()
				return err
			}
			n += int(tag.RowsAffected())
		}
		return res.Close()
	})
	return n, err
}

// EraseEmployee implements amane.KeyStore.
func (s *Store) EraseEmployee(ctx context.Context, id int64, e amane.Erasure) error {
	// The immatriculation index is unique and NOT NULL: it becomes random bytes that match no one.
	tomb := make([]byte, 16)
	rand.Read(tomb)
	return s.inTx(ctx, func(tx pgx.Tx) error {
		// Writers of data keys wait until the erasure commits, and it waits for theirs: a declaration
		// batch giving this person a history key meanwhile either commits first (its key is deleted
		// below) or finds the erasure (PutDeclarations).
		if _, err := tx.Exec(ctx, `LOCK TABLE data_keys IN SHARE ROW EXCLUSIVE MODE`); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `UPDATE employees SET imm = '', cin = NULL, passeport = NULL, nom = '', prenom = '',
			imm_bidx = $2, cin_bidx = NULL, passeport_bidx = NULL WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM erasures WHERE employee_id = $1)`, id, tomb)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return amane.Errorf(amane.ENOTFOUND, "Insured person not found, or erased already.")
		}
		// The person's data key and history key: their declared lines stay in the declarations'
		// blobs, sealed under a key that no longer exists.
		if _, err := tx.Exec(ctx, `DELETE FROM data_keys WHERE kind IN ($1, $3) AND subject_id = $2`, amane.KeyEmployee, id, amane.KeyHistory); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM name_index WHERE employee_id = $1`, id); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO erasures (employee_id, at, by_, reason) VALUES ($1, $2, $3, $4)`, id, e.At, e.By, e.Reason)
		return err
	})
}

// Erasures implements amane.KeyStore.
func (s *Store) Erasures(ctx context.Context) ([]amane.Erasure, error) {
	rows, err := s.pool.Query(ctx, `SELECT employee_id, at, by_, reason FROM erasures ORDER BY at, employee_id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []amane.Erasure
	for rows.Next() {
		var e amane.Erasure
		if err := rows.Scan(&e.EmployeeID, &e.At, &e.By, &e.Reason); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// IndexVersion implements amane.KeyStore.
func (s *Store) IndexVersion(ctx context.Context) (uint32, error) {
	var v string
	err := s.pool.QueryRow(ctx, `SELECT value FROM settings WHERE name = 'index_key_version'`).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return 1, nil
	} else if err != nil {
		return 0, err
	}
	n, err := strconv.ParseUint(v, 10, 32)
	return uint32(n), err
}

// reindexer is one transaction holding the registry tables against writers (readers go on), sending
// its updates in batches.
type reindexer struct {
	*lockedTx
	b *pgx.Batch
}

// BeginReindex implements amane.KeyStore.
func (s *Store) BeginReindex(ctx context.Context) (amane.Reindexer, error) {
	lt, err := s.beginLocked(ctx, `employers, employees, name_index, declarations`)
	if err != nil {
		return nil, err
	}
	return &reindexer{lockedTx: lt, b: &pgx.Batch{}}, nil
}

func (r *reindexer) queue(sql string, args ...any) error {
	r.b.Queue(sql, args...)
	if r.b.Len() >= 1000 {
		return r.flush()
	}
	return nil
}

func (r *reindexer) flush() error {
	if r.b.Len() == 0 {
		return nil
	}
	err := r.tx.SendBatch(r.ctx, r.b).Close()
	r.b = &pgx.Batch{}
	return conflict(err)
}

func (r *reindexer) SetEmployerIndexes(id int64, repCIN, email, rib []byte) error {
	return r.queue(`UPDATE employers SET rep_cin_bidx = $1, email_bidx = $2, rib_bidx = $3 WHERE id = $4`, repCIN, email, rib, id)
}

func (r *reindexer) SetEmployeeIndexes(id int64, imm, cin, passport []byte, words [][]byte) error {
	if err := r.queue(`UPDATE employees SET imm_bidx = $1, cin_bidx = $2, passeport_bidx = $3 WHERE id = $4`, imm, nullable(cin), nullable(passport), id); err != nil {
		return err
	}
	if err := r.queue(`DELETE FROM name_index WHERE employee_id = $1`, id); err != nil {
		return err
	}
	if len(words) == 0 {
		return nil
	}
	return r.queue(`INSERT INTO name_index (word, employee_id) SELECT w, $2 FROM unnest($1::bytea[]) AS w ON CONFLICT DO NOTHING`, dedupe(words), id)
}

func (r *reindexer) SetDeclarationSeal(id int64, seal []byte) error {
	return r.queue(`UPDATE declarations SET seal = $1 WHERE id = $2`, seal, id)
}

func (r *reindexer) Commit(version uint32) error {
	err := r.flush()
	if err == nil {
		_, err = r.tx.Exec(r.ctx, `INSERT INTO settings (name, value) VALUES ('index_key_version', $1)
			ON CONFLICT (name) DO UPDATE SET value = excluded.value`, strconv.FormatUint(uint64(version), 10))
	}
	if err != nil {
		r.Rollback()
		return err
	}
	defer r.conn.Release()
	return r.commit()
}

func (r *reindexer) Rollback() error { return r.rollback() }
