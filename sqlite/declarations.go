package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"amane"
)

// Declarations (amane.DeclarationStore): one row per declaration, its lines one sealed blob; history
// and request keys in data_keys (kinds 3 and 4). A batch is one write transaction with statements
// prepared on the transaction's own connection (the writer pool has one connection, which the
// transaction holds: preparing on the pool inside it would wait for itself).

const declarationCols = `id, employer_id, period, seq, status, received, digest, header, headcount, days, payroll, capped, contributions, seal`

// insertDeclaration inserts one declaration with the id a restore keeps (a batch inserts many rows a
// statement, with declarationRows).
const insertDeclaration = `INSERT INTO declarations (` + declarationCols + `, due, lines)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

const insertImmRequest = `INSERT INTO imm_requests (id, employer_id, period, cin_index, state, created) VALUES (?, ?, ?, ?, ?, ?)`

// declarationArgs returns the insert's arguments after id; header and contributions are stored as
// their JSON.
func declarationArgs(r *amane.DeclarationRecord) ([]any, error) {
	header, err := json.Marshal(r.Header)
	if err != nil {
		return nil, err
	}
	contrib, err := json.Marshal(r.Contributions)
	if err != nil {
		return nil, err
	}
	return []any{r.EmployerID, r.Period, r.Seq, r.Status, r.Received, notNull(r.Digest), string(header),
		r.Totals.Headcount, r.Totals.Days, r.Totals.Payroll, r.Totals.Capped, string(contrib), nullable(r.Seal), r.Contributions.Total, notNull(r.Lines)}, nil
}

func scanDeclaration(row interface{ Scan(...any) error }, lines bool) (*amane.DeclarationRecord, error) {
	var r amane.DeclarationRecord
	var header, contrib string
	dest := []any{&r.ID, &r.EmployerID, &r.Period, &r.Seq, &r.Status, &r.Received, &r.Digest, &header,
		&r.Totals.Headcount, &r.Totals.Days, &r.Totals.Payroll, &r.Totals.Capped, &contrib, &r.Seal}
	if lines {
		dest = append(dest, &r.Lines)
	}
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(header), &r.Header); err != nil {
		return nil, fmt.Errorf("sqlite: declaration %d: header: %w", r.ID, err)
	}
	if err := json.Unmarshal([]byte(contrib), &r.Contributions); err != nil {
		return nil, fmt.Errorf("sqlite: declaration %d: contributions: %w", r.ID, err)
	}
	if lines && r.Lines == nil {
		r.Lines = []byte{} // an empty blob reads back as nil; nil means "not read" here
	}
	return &r, nil
}

// conflictOn is ECONFLICT naming field, with the root's message for it if it has one.
func conflictOn(field, rule string) error {
	e := amane.Conflict(field)
	if len(e.Fields) == 0 {
		e.Fields = []amane.FieldError{{Field: field, Rule: rule}}
	}
	return e
}

func isUnique(err error) bool {
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}

func isForeignKey(err error) bool {
	return err != nil && strings.Contains(err.Error(), "FOREIGN KEY constraint failed")
}

// declarationError names what a failed insert of a batch ran into.
func declarationError(err error, field, rule string) error {
	switch {
	case isUnique(err):
		return conflictOn(field, rule)
	case isForeignKey(err):
		return amane.Errorf(amane.ENOTFOUND, "Employer not found.")
	}
	return err
}

// DeclarationPeople implements amane.EmploymentStore: one query for all the employers asked, their
// ids going in as one JSON array parameter (as many as asked, one statement text).
func (s *Store) DeclarationPeople(ctx context.Context, employerIDs []int64) (map[int64][]amane.DeclarationPerson, error) {
	out := make(map[int64][]amane.DeclarationPerson, len(employerIDs))
	if len(employerIDs) == 0 {
		return out, nil
	}
	arg, err := json.Marshal(employerIDs)
	if err != nil {
		return nil, err
	}
	// An erased person keeps the employment and a random immatriculation index matching no one: the
	// index is reported as nil, so that a line cannot be matched to them.
	err = s.readTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT j.employer_id, e.id, CASE WHEN x.employee_id IS NULL THEN e.imm_bidx END, j.state,
				coalesce(h.kek_version, 0), h.wrapped, coalesce(k.kek_version, 0), k.wrapped, e.nom, e.prenom
			FROM employments j JOIN employees e ON e.id = j.employee_id
			LEFT JOIN erasures x ON x.employee_id = e.id
			LEFT JOIN data_keys h ON h.kind = 3 AND h.subject_id = e.id
			LEFT JOIN data_keys k ON k.kind = 2 AND k.subject_id = e.id
			WHERE j.employer_id IN (SELECT value FROM json_each(?))
			ORDER BY j.employer_id, j.employee_id`, string(arg))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var er int64
			var p amane.DeclarationPerson
			if err := rows.Scan(&er, &p.ID, &p.ImmIndex, &p.State, &p.History.Version, &p.History.Blob, &p.Key.Version, &p.Key.Blob, &p.Surname, &p.FirstName); err != nil {
				return err
			}
			out[er] = append(out[er], p)
		}
		return rows.Err()
	})
	return out, err
}

// EmployerByID implements amane.EmployerStore.
func (s *Store) EmployerByID(ctx context.Context, id int64) (*amane.EmployerRecord, error) {
	var r *amane.EmployerRecord
	err := s.readTx(ctx, func(tx *sql.Tx) (err error) {
		r, err = scanEmployer(tx.QueryRowContext(ctx, `SELECT `+employerCols+employerFrom+` WHERE e.id = ?`, id))
		return err
	})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, amane.Errorf(amane.ENOTFOUND, "Employer not found.")
	}
	return r, err
}

// NextRequestIDs implements amane.ImmRequestStore. The reservation is a counter row moved in a write
// transaction (SQLite's single writer serialises them), never below max(id) of the table: ids are
// unique across reservations whether or not the requests they were reserved for are ever stored, and
// a restored store (no counter row) goes on after its restored requests.
func (s *Store) NextRequestIDs(ctx context.Context, n int) (int64, error) {
	if n < 0 {
		return 0, amane.Errorf(amane.EINVALID, "Reserve zero or more request ids.")
	}
	if n == 0 {
		return 0, nil
	}
	var last int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `INSERT INTO id_reservations (name, last)
			VALUES ('imm_requests', (SELECT coalesce(max(id), 0) FROM imm_requests) + ?1)
			ON CONFLICT (name) DO UPDATE SET last = max(last, (SELECT coalesce(max(id), 0) FROM imm_requests)) + ?1
			RETURNING last`, n).Scan(&last)
	})
	return last - int64(n) + 1, err
}

// PutDeclarations implements amane.DeclarationStore. Declarations go first, so that a batch that
// repeats a stored declaration reports the period (the caller then looks at the digest) before any
// key it shares with the stored one. Ids are max(id) + 1 onwards, read in the write transaction.
func (s *Store) PutDeclarations(ctx context.Context, b *amane.DeclarationBatch) error {
	// Arguments (and their JSON) are built before the write lock is taken.
	decls := make([][]any, len(b.Declarations))
	for i, d := range b.Declarations {
		a, err := declarationArgs(d)
		if err != nil {
			return err
		}
		decls[i] = append([]any{nil}, a...)
	}
	history := make([][]any, len(b.HistoryKeys))
	for i, k := range b.HistoryKeys {
		if k.Kind != amane.KeyHistory || len(k.Blob) == 0 {
			return fmt.Errorf("sqlite: history key of %s: kind %d, %d bytes", k.VaultSubject(), k.Kind, len(k.Blob))
		}
		history[i] = []any{amane.KeyHistory, k.Subject, k.Version, k.Blob}
	}
	requests, requestKeys := make([][]any, len(b.Requests)), make([][]any, len(b.Requests))
	for i, r := range b.Requests {
		if r.ID <= 0 || len(r.Key.Blob) == 0 {
			return fmt.Errorf("sqlite: immatriculation request %d without a reserved id or a key", r.ID)
		}
		requests[i] = []any{r.ID, r.EmployerID, r.Period, nullable(r.CINIndex), r.State, r.Created}
		requestKeys[i] = []any{amane.KeyRequest, r.ID, r.Key.Version, r.Key.Blob}
	}
	jobs := make([][]any, len(b.Pending))
	for i, j := range b.Pending {
		jobs[i] = []any{j.EmployeeID, j.EmployerID, j.Since, j.State}
	}
	var first int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if len(decls) > 0 {
			if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) + 1 FROM declarations`).Scan(&first); err != nil {
				return err
			}
			for i := range decls {
				decls[i][0] = first + int64(i)
			}
		}
		if err := insertMany(ctx, tx, declarationRows, decls); err != nil {
			return declarationError(err, "periode", "a declaration of this period and sequence is stored already")
		}
		if err := insertMany(ctx, tx, keyRows, history); err != nil {
			return declarationError(err, "history_key", "the person has a history key already")
		}
		if err := notErased(ctx, tx, b.HistoryKeys); err != nil {
			return err
		}
		if err := insertMany(ctx, tx, keyRows, requestKeys); err != nil {
			return declarationError(err, "demande", "this request id is taken")
		}
		if err := insertMany(ctx, tx, employmentRows, jobs); isForeignKey(err) {
			return amane.Errorf(amane.ENOTFOUND, "A pending employment names an employer or insured person not in the registry.")
		} else if err != nil {
			return err
		}
		if err := insertMany(ctx, tx, requestRows, requests); err != nil {
			return declarationError(err, "demande", "this request id is taken")
		}
		return nil
	})
	if err != nil {
		return err
	}
	// Only now: a rolled-back batch leaves its records as they were given.
	for i, d := range b.Declarations {
		d.ID = first + int64(i)
	}
	return nil
}

// notErased refuses new history keys for erased people: a batch sealed from a read taken before an
// erasure would otherwise give the erased person a fresh key and store their lines readable. The
// conflict makes the caller re-read, and find the person gone.
func notErased(ctx context.Context, tx *sql.Tx, keys []amane.DataKey) error {
	if len(keys) == 0 {
		return nil
	}
	subjects := make([]int64, len(keys))
	for i, k := range keys {
		subjects[i] = k.Subject
	}
	arg, err := json.Marshal(subjects)
	if err != nil {
		return err
	}
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM erasures WHERE employee_id IN (SELECT value FROM json_each(?))`, string(arg)).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return conflictOn("history_key", "the person was erased")
	}
	return nil
}

// rowsInsert is a multi-row INSERT: head VALUES row, row, … tail, up to chunk rows a statement.
type rowsInsert struct {
	head, row, tail string
	chunk           int
}

var (
	declarationRows = rowsInsert{`INSERT INTO declarations (` + declarationCols + `, due, lines) VALUES `,
		`(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, ``, 32}
	keyRows        = rowsInsert{`INSERT INTO data_keys (kind, subject_id, kek_version, wrapped) VALUES `, `(?, ?, ?, ?)`, ``, 64}
	employmentRows = rowsInsert{`INSERT INTO employments (employee_id, employer_id, since, state) VALUES `, `(?, ?, ?, ?)`,
		` ON CONFLICT (employee_id, employer_id) DO NOTHING`, 64}
	requestRows = rowsInsert{`INSERT INTO imm_requests (id, employer_id, period, cin_index, state, created) VALUES `, `(?, ?, ?, ?, ?, ?)`, ``, 32}
)

func (ins rowsInsert) text(rows int) string {
	return ins.head + strings.TrimSuffix(strings.Repeat(ins.row+", ", rows), ", ") + ins.tail
}

// insertMany inserts rows in statements of up to ins.chunk rows, prepared on the transaction's
// connection (the full-size one once per call). One execution per row would cost two to three times
// as much: measured on 40,000 data keys, 8–11 µs a row one by one, 3.5–4 µs 64 at a time. The
// statement text depends only on the row count; every value is a parameter.
func insertMany(ctx context.Context, tx *sql.Tx, ins rowsInsert, rows [][]any) error {
	var full *sql.Stmt
	defer func() {
		if full != nil {
			full.Close()
		}
	}()
	args := make([]any, 0, len(ins.row)/3*ins.chunk)
	for len(rows) > 0 {
		n := min(len(rows), ins.chunk)
		args = args[:0]
		for _, r := range rows[:n] {
			args = append(args, r...)
		}
		rows = rows[n:]
		if n < ins.chunk {
			if _, err := tx.ExecContext(ctx, ins.text(n), args...); err != nil {
				return err
			}
			continue
		}
		if full == nil {
			var err error
			if full, err = tx.PrepareContext(ctx, ins.text(n)); err != nil {
				return err
			}
		}
		if _, err := full.ExecContext(ctx, args...); err != nil {
			return err
		}
	}
	return nil
}

// Declarations implements amane.DeclarationStore.
func (s *Store) Declarations(ctx context.Context, employerID int64, period string) ([]*amane.DeclarationRecord, error) {
	return s.declarations(ctx, true, `WHERE employer_id = ? AND period = ? ORDER BY seq`, employerID, period)
}

// DeclarationSummaries implements amane.DeclarationStore.
func (s *Store) DeclarationSummaries(ctx context.Context, employerID int64) ([]*amane.DeclarationRecord, error) {
	return s.declarations(ctx, false, `WHERE employer_id = ? ORDER BY period DESC, seq`, employerID)
}

// DeclaredPeriods implements amane.DeclarationStore.
func (s *Store) DeclaredPeriods(ctx context.Context, employerID int64) ([]string, error) {
	ds, err := s.DeclarationSummaries(ctx, employerID)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, d := range ds {
		if d.Seq == 0 {
			out = append(out, d.Period)
		}
	}
	return out, nil
}

// DeclarationByDigest implements amane.DeclarationStore.
func (s *Store) DeclarationByDigest(ctx context.Context, employerID int64, period string, digest []byte) (*amane.DeclarationRecord, error) {
	rs, err := s.declarations(ctx, true, `WHERE employer_id = ? AND period = ? AND digest = ? ORDER BY seq LIMIT 1`, employerID, period, digest)
	if err != nil {
		return nil, err
	}
	if len(rs) == 0 {
		return nil, amane.Errorf(amane.ENOTFOUND, "Declaration not found.")
	}
	return rs[0], nil
}

// declarations reads declarations; where is a constant clause, its values parameters.
func (s *Store) declarations(ctx context.Context, lines bool, where string, args ...any) (out []*amane.DeclarationRecord, err error) {
	cols := declarationCols
	if lines {
		cols += `, lines`
	}
	err = s.readTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT `+cols+` FROM declarations `+where, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			r, err := scanDeclaration(rows, lines)
			if err != nil {
				return err
			}
			out = append(out, r)
		}
		return rows.Err()
	})
	return out, err
}

// ImmRequests implements amane.ImmRequestStore. No request is closed yet (the agents' side comes
// later): every request of the employer is open.
func (s *Store) ImmRequests(ctx context.Context, employerID int64) (out []*amane.ImmRequestRecord, err error) {
	err = s.readTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT r.id, r.employer_id, r.period, r.cin_index, r.state, r.created, coalesce(k.kek_version, 0), k.wrapped
			FROM imm_requests r LEFT JOIN data_keys k ON k.kind = 4 AND k.subject_id = r.id
			WHERE r.employer_id = ? ORDER BY r.id`, employerID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var r amane.ImmRequestRecord
			if err := rows.Scan(&r.ID, &r.EmployerID, &r.Period, &r.CINIndex, &r.State, &r.Created, &r.Key.Version, &r.Key.Blob); err != nil {
				return err
			}
			out = append(out, &r)
		}
		return rows.Err()
	})
	return out, err
}

// PriorDeclarations implements amane.DeclarationStore: one query for the batch, each employer's
// latest earlier period found through the (employer_id, period, seq) unique index.
func (s *Store) PriorDeclarations(ctx context.Context, period string, employerIDs []int64) (map[int64][]*amane.DeclarationRecord, error) {
	out := map[int64][]*amane.DeclarationRecord{}
	if len(employerIDs) == 0 {
		return out, nil
	}
	arg, err := json.Marshal(employerIDs)
	if err != nil {
		return nil, err
	}
	recs, err := s.declarations(ctx, true, `WHERE employer_id IN (SELECT value FROM json_each(?1))
		AND period = (SELECT max(p.period) FROM declarations p WHERE p.employer_id = declarations.employer_id AND p.period < ?2)
		ORDER BY employer_id, seq`, string(arg), period)
	for _, r := range recs {
		out[r.EmployerID] = append(out[r.EmployerID], r)
	}
	return out, err
}

// HistoryKey implements amane.DeclarationStore.
func (s *Store) HistoryKey(ctx context.Context, employeeID int64) (k amane.WrappedKey, err error) {
	err = s.readTx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `SELECT kek_version, wrapped FROM data_keys WHERE kind = 3 AND subject_id = ?`, employeeID).Scan(&k.Version, &k.Blob)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		return err
	})
	return k, err
}

// ValidateEmployment implements amane.EmploymentStore.
func (s *Store) ValidateEmployment(ctx context.Context, employeeID, employerID int64) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE employments SET state = ? WHERE employee_id = ? AND employer_id = ? AND state = ?`,
			amane.EmploymentValidated, employeeID, employerID, amane.EmploymentPending)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return amane.Errorf(amane.ENOTFOUND, "No pending employment of this person at this employer.")
		}
		return nil
	})
}

// UnsealedDeclarations implements amane.DeclarationStore.
func (s *Store) UnsealedDeclarations(ctx context.Context, after int64, limit int) ([]*amane.DeclarationRecord, error) {
	return s.declarations(ctx, true, `WHERE seal IS NULL AND id > ? ORDER BY id LIMIT ?`, after, limit)
}

// SetDeclarationSeal implements amane.DeclarationStore.
func (s *Store) SetDeclarationSeal(ctx context.Context, id int64, seal []byte) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE declarations SET seal = ? WHERE id = ? AND seal IS NULL`, seal, id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return amane.Errorf(amane.ENOTFOUND, "No unsealed declaration %d.", id)
		}
		return nil
	})
}

// PutDataKey inserts a restored data key of a kind other than employer and employee (those come
// with their records).
func (l *loader) PutDataKey(k amane.DataKey) error {
	if k.Kind == amane.KeyEmployer || k.Kind == amane.KeyEmployee || len(k.Blob) == 0 {
		return amane.Errorf(amane.EINVALID, "A data-key row holds a history or request key.")
	}
	_, err := l.insKey.ExecContext(l.ctx, k.Kind, k.Subject, k.Version, k.Blob)
	return declarationError(err, "data_key", "appears twice")
}

// PutDeclaration inserts a restored declaration with its id.
func (l *loader) PutDeclaration(r *amane.DeclarationRecord) error {
	if r.ID <= 0 {
		return amane.Errorf(amane.EINVALID, "A restored declaration keeps its id.")
	}
	args, err := declarationArgs(r)
	if err != nil {
		return err
	}
	if l.insDecl == nil {
		if l.insDecl, err = l.tx.PrepareContext(l.ctx, insertDeclaration); err != nil {
			return err
		}
	}
	_, err = l.insDecl.ExecContext(l.ctx, append([]any{r.ID}, args...)...)
	return declarationError(err, "periode", "appears twice")
}

// PutImmRequest inserts a restored request; its key is a data-key row of its own (PutDataKey), and a
// request that carries one is refused rather than half restored.
func (l *loader) PutImmRequest(r *amane.ImmRequestRecord) error {
	if r.ID <= 0 || r.Key.Blob != nil {
		return amane.Errorf(amane.EINVALID, "A restored request keeps its id, and its key comes as a data-key row.")
	}
	_, err := l.tx.ExecContext(l.ctx, insertImmRequest, r.ID, r.EmployerID, r.Period, nullable(r.CINIndex), r.State, r.Created)
	return declarationError(err, "demande", "appears twice")
}
