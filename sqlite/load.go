package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"sync/atomic"

	"amane"
)

// loader is one bulk-load transaction with prepared statements. It holds SQLite's write lock from
// BeginLoad to Commit or Rollback, which is what lets it hand out ids from memory: no other writer
// can take one meanwhile.
type loader struct {
	ctx           context.Context
	tx            *sql.Tx
	nextEmployer  atomic.Int64
	nextEmployee  atomic.Int64
	insEmployer   *sql.Stmt
	insEmployee   *sql.Stmt
	insKey        *sql.Stmt
	insWord       *sql.Stmt
	insJob        *sql.Stmt
	insAgency     *sql.Stmt
	employerByAff *sql.Stmt
	employeeByImm *sql.Stmt
	insJournal    *sql.Stmt // prepared at the first journal row
	insHash       *sql.Stmt
	insDecl       *sql.Stmt // prepared at the first declaration
	insAttest     *sql.Stmt // prepared at the first attestation
	agencies      map[string]bool
}

// BeginLoad implements amane.LoadStore.
func (s *Store) BeginLoad(ctx context.Context) (amane.Loader, error) {
	l, err := s.beginLoad(ctx)
	if err != nil {
		return nil, err
	}
	return l, nil
}

func (s *Store) beginLoad(ctx context.Context) (*loader, error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	l := &loader{ctx: ctx, tx: tx, agencies: map[string]bool{}}
	fail := func(err error) (*loader, error) {
		tx.Rollback()
		return nil, err
	}
	var maxER, maxEE int64
	if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) FROM employers`).Scan(&maxER); err != nil {
		return fail(err)
	}
	if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) FROM employees`).Scan(&maxEE); err != nil {
		return fail(err)
	}
	l.nextEmployer.Store(maxER)
	l.nextEmployee.Store(maxEE)
	for _, p := range []struct {
		st  **sql.Stmt
		sql string
	}{
		{&l.insEmployer, insertEmployer + ` ON CONFLICT (affiliation) DO NOTHING`},
		{&l.insEmployee, insertEmployee + ` ON CONFLICT (imm_bidx) DO NOTHING`},
		{&l.insKey, insertKey},
		{&l.insWord, `INSERT OR IGNORE INTO name_index (word, employee_id) VALUES (?, ?)`},
		{&l.insJob, `INSERT INTO employments (employee_id, employer_id, since, state) VALUES (?, ?, ?, ?) ON CONFLICT (employee_id, employer_id) DO NOTHING`},
		{&l.insAgency, insertAgency},
		{&l.employerByAff, `SELECT id FROM employers WHERE affiliation = ?`},
		{&l.employeeByImm, `SELECT id FROM employees WHERE imm_bidx = ?`},
	} {
		if *p.st, err = tx.PrepareContext(ctx, p.sql); err != nil {
			return fail(err)
		}
	}
	return l, nil
}

func (l *loader) NextEmployerID() int64 { return l.nextEmployer.Add(1) }
func (l *loader) NextEmployeeID() int64 { return l.nextEmployee.Add(1) }

func (l *loader) PutEmployer(r *amane.EmployerRecord) (int64, bool, error) {
	if !l.agencies[r.Agency] {
		if _, err := l.insAgency.ExecContext(l.ctx, r.Agency, r.Agency); err != nil {
			return 0, false, err
		}
		l.agencies[r.Agency] = true
	}
	res, err := l.insEmployer.ExecContext(l.ctx, append([]any{r.ID}, employerArgs(r)...)...)
	if err != nil {
		return 0, false, conflict(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		id, err := l.EmployerID(r.Affiliation)
		return id, false, err
	}
	if r.Key.Blob != nil {
		if _, err := l.insKey.ExecContext(l.ctx, kindEmployer, r.ID, r.Key.Version, r.Key.Blob); err != nil {
			return 0, false, err
		}
	}
	return r.ID, true, nil
}

func (l *loader) PutEmployee(r *amane.EmployeeRecord) (int64, bool, error) {
	res, err := l.insEmployee.ExecContext(l.ctx, append([]any{r.ID}, employeeArgs(r)...)...)
	if err != nil {
		return 0, false, conflict(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		var id int64
		err := l.employeeByImm.QueryRowContext(l.ctx, r.ImmIndex).Scan(&id)
		return id, false, err
	}
	if r.Key.Blob != nil { // nil: an erased person, from a backup
		if _, err := l.insKey.ExecContext(l.ctx, kindEmployee, r.ID, r.Key.Version, r.Key.Blob); err != nil {
			return 0, false, err
		}
	}
	for _, w := range r.NameIndex {
		if _, err := l.insWord.ExecContext(l.ctx, w, r.ID); err != nil {
			return 0, false, err
		}
	}
	return r.ID, true, nil
}

func (l *loader) PutEmployment(j amane.Employment) (bool, error) {
	res, err := l.insJob.ExecContext(l.ctx, j.EmployeeID, j.EmployerID, j.Since, j.State)
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

func (l *loader) EmployerID(affiliation string) (int64, error) {
	var id int64
	err := l.employerByAff.QueryRowContext(l.ctx, affiliation).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return id, err
}

func (l *loader) PutAgency(a amane.Agency) error {
	_, err := l.tx.ExecContext(l.ctx, `INSERT INTO agencies (code, name, city) VALUES (?, ?, ?) ON CONFLICT (code) DO NOTHING`, a.Code, a.Name, a.City)
	l.agencies[a.Code] = true
	return err
}

func (l *loader) PutOperatorToken(t amane.OperatorToken) error {
	_, err := l.tx.ExecContext(l.ctx, `INSERT INTO operator_tokens (hash, label, created) VALUES (?, ?, ?) ON CONFLICT (hash) DO NOTHING`, t.Hash, t.Label, t.Created)
	return err
}

func (l *loader) PutErasure(e amane.Erasure) error {
	_, err := l.tx.ExecContext(l.ctx, `INSERT INTO erasures (employee_id, at, by_, reason) VALUES (?, ?, ?, ?) ON CONFLICT (employee_id) DO NOTHING`,
		e.EmployeeID, e.At, e.By, e.Reason)
	return err
}

func (l *loader) PutSetting(x amane.Setting) error {
	_, err := l.tx.ExecContext(l.ctx, `INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value`, x.Name, x.Value)
	return err
}

func (l *loader) PutAccount(a amane.Account) error {
	_, err := l.tx.ExecContext(l.ctx, insertAccount, accountArgs(a.ID, &a)...)
	return accessError(err, "login")
}

func (l *loader) PutPasskey(p amane.Passkey) error {
	_, err := l.tx.ExecContext(l.ctx, insertPasskey, p.AccountID, p.ID, p.Credential, p.Created)
	return accessError(err, "passkey")
}

func (l *loader) PutToken(t amane.Token) error {
	_, err := l.tx.ExecContext(l.ctx, insertToken, tokenArgs(t.ID, &t)...)
	return accessError(err, "token")
}

// PutJournal inserts a journal row as it was: a restore carries the tree's stored hashes and signed
// checkpoints over rather than recomputing them, so that the restored journal verifies against the
// same checkpoints and witness.
func (l *loader) PutJournal(r amane.JournalRow) error {
	var err error
	switch r.Kind {
	case journalEntry:
		if l.insJournal == nil {
			if l.insJournal, err = l.tx.PrepareContext(l.ctx, insertJournalEntry); err != nil {
				return err
			}
		}
		_, err = l.insJournal.ExecContext(l.ctx, r.Index, notNull(r.Entry), nullRecord(r.Record))
	case journalHash:
		if l.insHash == nil {
			if l.insHash, err = l.tx.PrepareContext(l.ctx, `INSERT INTO journal_hashes (idx, hash) VALUES (?, ?)`); err != nil {
				return err
			}
		}
		_, err = l.insHash.ExecContext(l.ctx, r.Index, r.Hash)
	case journalCheckpoint:
		_, err = l.tx.ExecContext(l.ctx, `INSERT INTO journal_checkpoints (size, signed) VALUES (?, ?)`, r.Size, r.Signed)
	default:
		return amane.Errorf(amane.EINVALID, "Unknown kind of journal row.")
	}
	return accessError(err, "")
}

func (l *loader) Commit() error   { return l.tx.Commit() }
func (l *loader) Rollback() error { return l.tx.Rollback() }
