package sqlite

import (
	"context"
	"crypto/rand"
	"database/sql"
	"strconv"
	"strings"

	"amane"
)

// KeyVersions implements amane.Store.
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

// DataKeys implements amane.Store.
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

// RewrapDataKeys implements amane.Store.
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

// EraseEmployee implements amane.Store.
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

// Erasures implements amane.Store.
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

// Dump implements amane.Store: one read transaction, which in WAL mode is a snapshot that writers do
// not block and cannot change.
func (s *Store) Dump(ctx context.Context, fn func(*amane.DumpItem) error) error {
	return s.readTx(ctx, func(tx *sql.Tx) error {
		each := func(query string, scan func(*sql.Rows) (*amane.DumpItem, error)) error {
			rows, err := tx.QueryContext(ctx, query)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				it, err := scan(rows)
				if err != nil {
					return err
				}
				if err := fn(it); err != nil {
					return err
				}
			}
			return rows.Err()
		}
		steps := []func() error{
			func() error {
				return each(`SELECT code, name, city FROM agencies ORDER BY code`, func(r *sql.Rows) (*amane.DumpItem, error) {
					var a amane.Agency
					return &amane.DumpItem{Agency: &a}, r.Scan(&a.Code, &a.Name, &a.City)
				})
			},
			func() error {
				return each(`SELECT `+employerCols+employerFrom+` ORDER BY e.id`, func(r *sql.Rows) (*amane.DumpItem, error) {
					e, err := scanEmployer(r)
					return &amane.DumpItem{Employer: e}, err
				})
			},
			func() error {
				// Name words travel with their person, hex-joined: one row per person keeps the dump
				// in one pass over employees.
				return each(`SELECT `+employeeCols+`, (SELECT group_concat(hex(word), ',') FROM name_index n WHERE n.employee_id = e.id)`+employeeFrom+` ORDER BY e.id`,
					func(r *sql.Rows) (*amane.DumpItem, error) {
						var e amane.EmployeeRecord
						var words sql.NullString
						err := r.Scan(&e.ID, &e.AffiliationDate, &e.Imm, &e.CIN, &e.Passport, &e.Surname, &e.FirstName,
							&e.ImmIndex, &e.CINIndex, &e.PassportIndex, &e.Key.Version, &e.Key.Blob, &words)
						if err == nil && words.Valid {
							for _, w := range strings.Split(words.String, ",") {
								e.NameIndex = append(e.NameIndex, unhex(w))
							}
						}
						return &amane.DumpItem{Employee: &e}, err
					})
			},
			func() error {
				return each(`SELECT employee_id, employer_id, since, state FROM employments ORDER BY employee_id, employer_id`, func(r *sql.Rows) (*amane.DumpItem, error) {
					var j amane.Employment
					return &amane.DumpItem{Employment: &j}, r.Scan(&j.EmployeeID, &j.EmployerID, &j.Since, &j.State)
				})
			},
			func() error {
				return each(`SELECT hash, label, created FROM operator_tokens ORDER BY created, hash`, func(r *sql.Rows) (*amane.DumpItem, error) {
					var t amane.OperatorToken
					return &amane.DumpItem{OperatorToken: &t}, r.Scan(&t.Hash, &t.Label, &t.Created)
				})
			},
			func() error {
				return each(`SELECT employee_id, at, by_, reason FROM erasures ORDER BY employee_id`, func(r *sql.Rows) (*amane.DumpItem, error) {
					var e amane.Erasure
					return &amane.DumpItem{Erasure: &e}, r.Scan(&e.EmployeeID, &e.At, &e.By, &e.Reason)
				})
			},
			func() error {
				return each(`SELECT name, value FROM settings ORDER BY name`, func(r *sql.Rows) (*amane.DumpItem, error) {
					var x amane.Setting
					return &amane.DumpItem{Setting: &x}, r.Scan(&x.Name, &x.Value)
				})
			},
			func() error {
				return each(`SELECT `+accountCols+` FROM accounts ORDER BY id`, func(r *sql.Rows) (*amane.DumpItem, error) {
					a, err := scanAccount(r)
					return &amane.DumpItem{Account: a}, err
				})
			},
			func() error { // after accounts: a passkey refers to its account
				return each(`SELECT `+passkeyCols+` FROM passkeys ORDER BY account_id, id`, func(r *sql.Rows) (*amane.DumpItem, error) {
					p, err := scanPasskey(r)
					return &amane.DumpItem{Passkey: p}, err
				})
			},
			func() error {
				return each(`SELECT `+tokenCols+` FROM tokens ORDER BY id`, func(r *sql.Rows) (*amane.DumpItem, error) {
					t, err := scanToken(r)
					return &amane.DumpItem{Token: t}, err
				})
			},
			func() error {
				return each(`SELECT idx, entry, coalesce(record, '') FROM journal_entries ORDER BY idx`, func(r *sql.Rows) (*amane.DumpItem, error) {
					j := amane.JournalRow{Kind: journalEntry}
					err := r.Scan(&j.Index, &j.Entry, &j.Record)
					return &amane.DumpItem{Journal: &j}, err
				})
			},
			func() error {
				return each(`SELECT idx, hash FROM journal_hashes ORDER BY idx`, func(r *sql.Rows) (*amane.DumpItem, error) {
					j := amane.JournalRow{Kind: journalHash}
					err := r.Scan(&j.Index, &j.Hash)
					return &amane.DumpItem{Journal: &j}, err
				})
			},
			func() error {
				return each(`SELECT size, signed FROM journal_checkpoints ORDER BY size`, func(r *sql.Rows) (*amane.DumpItem, error) {
					j := amane.JournalRow{Kind: journalCheckpoint}
					err := r.Scan(&j.Size, &j.Signed)
					return &amane.DumpItem{Journal: &j}, err
				})
			},
		}
		steps = append(steps, dumpDeclarations(each)...)
		steps = append(steps, dumpAttestations(each), dumpAlerts(each))
		for _, step := range steps {
			if err := step(); err != nil {
				return err
			}
		}
		return nil
	})
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

// IndexVersion implements amane.Store.
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

// BeginReindex implements amane.Store.
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
