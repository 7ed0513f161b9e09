package postgres

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"amane"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Declarations (amane.DeclarationStore): one row per declaration, its lines one sealed blob; history
// and request keys in data_keys (kinds 3 and 4). A batch is one transaction whose rows go by COPY,
// PostgreSQL's fastest way in, with ids taken from the declaration_ids sequence first.

const declarationCols = `id, employer_id, period, seq, status, received, digest, header, headcount, days, payroll, capped, contributions, seal`

var declarationColumns = []string{"id", "employer_id", "period", "seq", "status", "received", "digest", "header", "headcount", "days",
	"payroll", "capped", "contributions", "seal", "due", "lines"}

var keyColumns = []string{"kind", "subject_id", "kek_version", "wrapped"}

var requestColumns = []string{"id", "employer_id", "period", "cin_index", "state", "created"}

// declarationRow is a declaration's COPY row; header and contributions are stored as their JSON.
func declarationRow(id int64, r *amane.DeclarationRecord) ([]any, error) {
	header, err := json.Marshal(r.Header)
	if err != nil {
		return nil, err
	}
	contrib, err := json.Marshal(r.Contributions)
	if err != nil {
		return nil, err
	}
	return []any{id, r.EmployerID, r.Period, int32(r.Seq), r.Status, r.Received, notNil(r.Digest), string(header),
		int64(r.Totals.Headcount), r.Totals.Days, r.Totals.Payroll, r.Totals.Capped, string(contrib), nullable(r.Seal), r.Contributions.Total, notNil(r.Lines)}, nil
}

// notNil stores an empty byte string in a NOT NULL column as empty, not NULL.
func notNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

func requestRow(r *amane.ImmRequestRecord) []any {
	return []any{r.ID, r.EmployerID, r.Period, nullable(r.CINIndex), r.State, r.Created}
}

func scanDeclaration(row pgx.Row, lines bool) (*amane.DeclarationRecord, error) {
	var r amane.DeclarationRecord
	var seq int32
	var headcount int64
	var header, contrib string
	dest := []any{&r.ID, &r.EmployerID, &r.Period, &seq, &r.Status, &r.Received, &r.Digest, &header,
		&headcount, &r.Totals.Days, &r.Totals.Payroll, &r.Totals.Capped, &contrib, &r.Seal}
	if lines {
		dest = append(dest, &r.Lines)
	}
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	r.Seq, r.Totals.Headcount = int(seq), int(headcount)
	if err := json.Unmarshal([]byte(header), &r.Header); err != nil {
		return nil, fmt.Errorf("postgres: declaration %d: header: %w", r.ID, err)
	}
	if err := json.Unmarshal([]byte(contrib), &r.Contributions); err != nil {
		return nil, fmt.Errorf("postgres: declaration %d: contributions: %w", r.ID, err)
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

// declarationError names what a failed write of a batch ran into (PostgreSQL's own message would
// quote the key).
func declarationError(err error, field, rule string) error {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return err
	}
	switch pe.Code {
	case "23505":
		return conflictOn(field, rule)
	case "23503":
		return amane.Errorf(amane.ENOTFOUND, "An employer or insured person named by the declaration is not in the registry.")
	}
	return err
}

// keyOf looks up the history key of the person e, one primary-key probe per person. As a plain
// LEFT JOIN the planner trusts statistics taken before any history key existed (a month's ingest
// writes them by the million, faster than autovacuum analyses): it estimated one key of kind 3,
// read them all once and compared every person with every key, and a call for 1,000 employers ran
// for minutes. LIMIT 1 (the key is unique anyway) keeps the subquery a parameterised lookup.
const keyOf = `SELECT kek_version, wrapped FROM data_keys WHERE kind = 3 AND subject_id = e.id LIMIT 1`

// DeclarationPeople implements amane.EmploymentStore: one query for all the employers asked.
func (s *Store) DeclarationPeople(ctx context.Context, employerIDs []int64) (map[int64][]amane.DeclarationPerson, error) {
	out := make(map[int64][]amane.DeclarationPerson, len(employerIDs))
	if len(employerIDs) == 0 {
		return out, nil
	}
	// An erased person keeps the employment and a random immatriculation index matching no one: the
	// index is reported as nil, so that a line cannot be matched to them.
	rows, err := s.pool.Query(ctx, `SELECT j.employer_id, e.id, CASE WHEN x.employee_id IS NULL THEN e.imm_bidx END, j.state,
			coalesce(h.kek_version, 0), h.wrapped, coalesce(k.kek_version, 0), k.wrapped, e.nom, e.prenom
		FROM employments j JOIN employees e ON e.id = j.employee_id
		LEFT JOIN erasures x ON x.employee_id = e.id
		LEFT JOIN LATERAL (`+keyOf+`) h ON true
		LEFT JOIN LATERAL (SELECT kek_version, wrapped FROM data_keys WHERE kind = 2 AND subject_id = e.id LIMIT 1) k ON true
		WHERE j.employer_id = ANY($1::bigint[])
		ORDER BY j.employer_id, j.employee_id`, employerIDs)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var er, ver, kver int64
		var p amane.DeclarationPerson
		if err := rows.Scan(&er, &p.ID, &p.ImmIndex, &p.State, &ver, &p.History.Blob, &kver, &p.Key.Blob, &p.Surname, &p.FirstName); err != nil {
			return nil, err
		}
		p.History.Version, p.Key.Version = uint32(ver), uint32(kver)
		out[er] = append(out[er], p)
	}
	return out, rows.Err()
}

// EmployerByID implements amane.EmployerStore.
func (s *Store) EmployerByID(ctx context.Context, id int64) (*amane.EmployerRecord, error) {
	r, err := scanEmployer(s.pool.QueryRow(ctx, `SELECT `+employerCols+employerFrom+` WHERE e.id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, amane.Errorf(amane.ENOTFOUND, "Employer not found.")
	}
	return r, err
}

// NextRequestIDs implements amane.ImmRequestStore: n consecutive values of the imm_request_ids
// sequence. A sequence is never rolled back, so a reserved id is never handed out twice, whether or
// not its request is ever stored.
func (s *Store) NextRequestIDs(ctx context.Context, n int) (int64, error) {
	if n < 0 {
		return 0, amane.Errorf(amane.EINVALID, "Reserve zero or more request ids.")
	}
	return s.reserve(ctx, requestIDs, n)
}

// A sequence whose values reserve hands out in ranges, and the advisory lock that makes a range
// one: nextval then setval, with no other reservation of the same sequence in between. Every user
// of these sequences reserves through reserve (a lone nextval could fall inside a range).
type sequence struct {
	name string
	lock int64
}

var (
	requestIDs     = sequence{"imm_request_ids", 7261747}
	declarationIDs = sequence{"declaration_ids", 7261748}
)

// reserve returns the first of n consecutive values of seq, in a short transaction of its own (an
// advisory lock held for a whole batch would serialise the batches).
func (s *Store) reserve(ctx context.Context, seq sequence, n int) (int64, error) {
	if n == 0 {
		return 0, nil
	}
	var last int64
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, seq.lock); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `SELECT setval($1::regclass, nextval($1::regclass) + $2 - 1)`, seq.name, int64(n)).Scan(&last)
	})
	return last - int64(n) + 1, err
}

// PutDeclarations implements amane.DeclarationStore. Declarations go first, so that a batch that
// repeats a stored declaration reports the period (the caller then looks at the digest) before any
// key it shares with the stored one. Each table's rows go in a fixed order (declarations by
// employer, period and seq; keys by subject; employments by person and employer): two concurrent
// batches that share a key then meet on it in the same order, and one waits for the other instead of
// deadlocking.
func (s *Store) PutDeclarations(ctx context.Context, b *amane.DeclarationBatch) error {
	for _, k := range b.HistoryKeys {
		if k.Kind != amane.KeyHistory || len(k.Blob) == 0 {
			return fmt.Errorf("postgres: history key of %s: kind %d, %d bytes", k.VaultSubject(), k.Kind, len(k.Blob))
		}
	}
	for _, r := range b.Requests {
		if r.ID <= 0 || len(r.Key.Blob) == 0 {
			return fmt.Errorf("postgres: immatriculation request %d without a reserved id or a key", r.ID)
		}
	}
	order := make([]int, len(b.Declarations))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(i, j int) int {
		x, y := b.Declarations[i], b.Declarations[j]
		return cmp.Or(cmp.Compare(x.EmployerID, y.EmployerID), cmp.Compare(x.Period, y.Period), cmp.Compare(x.Seq, y.Seq))
	})
	history := make([][]any, len(b.HistoryKeys))
	for i, k := range b.HistoryKeys {
		history[i] = []any{int16(amane.KeyHistory), k.Subject, int64(k.Version), k.Blob}
	}
	slices.SortFunc(history, func(x, y []any) int { return cmp.Compare(x[1].(int64), y[1].(int64)) })
	requests := make([][]any, len(b.Requests))
	requestKeys := make([][]any, len(b.Requests))
	for i, r := range b.Requests {
		requests[i] = requestRow(r)
		requestKeys[i] = []any{int16(amane.KeyRequest), r.ID, int64(r.Key.Version), r.Key.Blob}
	}
	jobs := slices.Clone(b.Pending)
	slices.SortFunc(jobs, func(x, y amane.Employment) int {
		return cmp.Or(cmp.Compare(x.EmployeeID, y.EmployeeID), cmp.Compare(x.EmployerID, y.EmployerID))
	})
	first, err := s.reserve(ctx, declarationIDs, len(order))
	if err != nil {
		return err
	}
	decls := make([][]any, len(order))
	for k, i := range order {
		if decls[k], err = declarationRow(first+int64(i), b.Declarations[i]); err != nil {
			return err
		}
	}
	employers := make([]int64, 0, len(order))
	for _, i := range order {
		if id := b.Declarations[i].EmployerID; len(employers) == 0 || employers[len(employers)-1] != id {
			employers = append(employers, id)
		}
	}
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		if len(decls) > 0 {
			// The employers exist: in place of a foreign key, one query for the batch (see the
			// migration 007).
			var n int
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM employers WHERE id = ANY($1)`, employers).Scan(&n); err != nil {
				return err
			}
			if n != len(employers) {
				return amane.Errorf(amane.ENOTFOUND, "Employer not found.")
			}
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{"declarations"}, declarationColumns, pgx.CopyFromRows(decls)); err != nil {
				return declarationError(err, "periode", "a declaration of this period and sequence is stored already")
			}
		}
		if len(history) > 0 {
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{"data_keys"}, keyColumns, pgx.CopyFromRows(history)); err != nil {
				return declarationError(err, "history_key", "the person has a history key already")
			}
			// No new history key for an erased person: a batch sealed from a read taken before an
			// erasure would otherwise give them a fresh key and store their lines readable. The
			// conflict makes the caller re-read, and find the person gone. The check comes after the
			// insert, and EraseEmployee locks data_keys against writers first: either the erasure
			// waited for this batch and deletes its key, or this insert waited for the erasure and
			// the check sees it.
			subjects := make([]int64, len(history))
			for i, h := range history {
				subjects[i] = h[1].(int64)
			}
			var n int
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM erasures WHERE employee_id = ANY($1)`, subjects).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return conflictOn("history_key", "the person was erased")
			}
		}
		for _, t := range []struct {
			table       string
			cols        []string
			rows        [][]any
			field, rule string
		}{
			{"data_keys", keyColumns, requestKeys, "demande", "this request id is taken"},
			{"imm_requests", requestColumns, requests, "demande", "this request id is taken"},
		} {
			if len(t.rows) == 0 {
				continue
			}
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{t.table}, t.cols, pgx.CopyFromRows(t.rows)); err != nil {
				return declarationError(err, t.field, t.rule)
			}
		}
		if len(jobs) > 0 {
			ee, er, since, state := make([]int64, len(jobs)), make([]int64, len(jobs)), make([]string, len(jobs)), make([]string, len(jobs))
			for i, j := range jobs {
				ee[i], er[i], since[i], state[i] = j.EmployeeID, j.EmployerID, j.Since, j.State
			}
			if _, err := tx.Exec(ctx, `INSERT INTO employments (employee_id, employer_id, since, state)
				SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[]) ON CONFLICT DO NOTHING`, ee, er, since, state); err != nil {
				return declarationError(err, "", "")
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	// Only now: a rolled-back batch leaves its records as they were given (and its ids unused).
	for i, d := range b.Declarations {
		d.ID = first + int64(i)
	}
	return nil
}

// Declarations implements amane.DeclarationStore.
func (s *Store) Declarations(ctx context.Context, employerID int64, period string) ([]*amane.DeclarationRecord, error) {
	return s.declarations(ctx, true, `WHERE employer_id = $1 AND period = $2 ORDER BY seq`, employerID, period)
}

// DeclarationSummaries implements amane.DeclarationStore.
func (s *Store) DeclarationSummaries(ctx context.Context, employerID int64) ([]*amane.DeclarationRecord, error) {
	return s.declarations(ctx, false, `WHERE employer_id = $1 ORDER BY period DESC, seq`, employerID)
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
	rs, err := s.declarations(ctx, true, `WHERE employer_id = $1 AND period = $2 AND digest = $3 ORDER BY seq LIMIT 1`, employerID, period, digest)
	if err != nil {
		return nil, err
	}
	if len(rs) == 0 {
		return nil, amane.Errorf(amane.ENOTFOUND, "Declaration not found.")
	}
	return rs[0], nil
}

// declarations reads declarations; where is a constant clause, its values parameters.
func (s *Store) declarations(ctx context.Context, lines bool, where string, args ...any) ([]*amane.DeclarationRecord, error) {
	cols := declarationCols
	if lines {
		cols += `, lines`
	}
	rows, err := s.pool.Query(ctx, `SELECT `+cols+` FROM declarations `+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*amane.DeclarationRecord
	for rows.Next() {
		r, err := scanDeclaration(rows, lines)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// ImmRequests implements amane.ImmRequestStore. No request is closed yet (the agents' side comes
// later): every request of the employer is open.
func (s *Store) ImmRequests(ctx context.Context, employerID int64) ([]*amane.ImmRequestRecord, error) {
	// The key by a lateral lookup, as in DeclarationPeople: request keys may be newer than the
	// statistics.
	rows, err := s.pool.Query(ctx, `SELECT r.id, r.employer_id, r.period, r.cin_index, r.state, r.created, coalesce(k.kek_version, 0), k.wrapped
		FROM imm_requests r LEFT JOIN LATERAL (SELECT kek_version, wrapped FROM data_keys WHERE kind = 4 AND subject_id = r.id LIMIT 1) k ON true
		WHERE r.employer_id = $1 ORDER BY r.id`, employerID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*amane.ImmRequestRecord
	for rows.Next() {
		var r amane.ImmRequestRecord
		var ver int64
		if err := rows.Scan(&r.ID, &r.EmployerID, &r.Period, &r.CINIndex, &r.State, &r.Created, &ver, &r.Key.Blob); err != nil {
			return nil, err
		}
		r.Key.Version = uint32(ver)
		out = append(out, &r)
	}
	return out, rows.Err()
}

// PriorDeclarations implements amane.DeclarationStore: one query for the batch, each employer's
// latest earlier period found through the (employer_id, period, seq) unique index.
func (s *Store) PriorDeclarations(ctx context.Context, period string, employerIDs []int64) (map[int64][]*amane.DeclarationRecord, error) {
	out := map[int64][]*amane.DeclarationRecord{}
	if len(employerIDs) == 0 {
		return out, nil
	}
	recs, err := s.declarations(ctx, true, `d JOIN LATERAL (SELECT max(p.period) AS last FROM declarations p
			WHERE p.employer_id = d.employer_id AND p.period < $2) m ON d.period = m.last
		WHERE d.employer_id = ANY($1::bigint[]) ORDER BY d.employer_id, d.seq`, employerIDs, period)
	for _, r := range recs {
		out[r.EmployerID] = append(out[r.EmployerID], r)
	}
	return out, err
}

// HistoryKey implements amane.DeclarationStore.
func (s *Store) HistoryKey(ctx context.Context, employeeID int64) (amane.WrappedKey, error) {
	var k amane.WrappedKey
	var ver int64
	err := s.pool.QueryRow(ctx, `SELECT kek_version, wrapped FROM data_keys WHERE kind = 3 AND subject_id = $1`, employeeID).Scan(&ver, &k.Blob)
	if errors.Is(err, pgx.ErrNoRows) {
		return amane.WrappedKey{}, nil
	}
	k.Version = uint32(ver)
	return k, err
}

// ValidateEmployment implements amane.EmploymentStore.
func (s *Store) ValidateEmployment(ctx context.Context, employeeID, employerID int64) error {
	tag, err := s.pool.Exec(ctx, `UPDATE employments SET state = $1 WHERE employee_id = $2 AND employer_id = $3 AND state = $4`,
		amane.EmploymentValidated, employeeID, employerID, amane.EmploymentPending)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return amane.Errorf(amane.ENOTFOUND, "No pending employment of this person at this employer.")
	}
	return nil
}

// UnsealedDeclarations implements amane.DeclarationStore.
func (s *Store) UnsealedDeclarations(ctx context.Context, after int64, limit int) ([]*amane.DeclarationRecord, error) {
	return s.declarations(ctx, true, `WHERE seal IS NULL AND id > $1 ORDER BY id LIMIT $2`, after, limit)
}

// SetDeclarationSeal implements amane.DeclarationStore.
func (s *Store) SetDeclarationSeal(ctx context.Context, id int64, seal []byte) error {
	tag, err := s.pool.Exec(ctx, `UPDATE declarations SET seal = $1 WHERE id = $2 AND seal IS NULL`, seal, id)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return amane.Errorf(amane.ENOTFOUND, "No unsealed declaration %d.", id)
	}
	return nil
}

// PutDataKey buffers a restored data key of a kind other than employer and employee (those come
// with their records).
func (l *loader) PutDataKey(k amane.DataKey) error {
	if k.Kind == amane.KeyEmployer || k.Kind == amane.KeyEmployee || len(k.Blob) == 0 {
		return amane.Errorf(amane.EINVALID, "A data-key row holds a history or request key.")
	}
	l.buf.keys = append(l.buf.keys, []any{int16(k.Kind), k.Subject, int64(k.Version), k.Blob})
	return l.maybeFlush()
}

// PutDeclaration buffers a restored declaration with its id.
func (l *loader) PutDeclaration(r *amane.DeclarationRecord) error {
	if r.ID <= 0 {
		return amane.Errorf(amane.EINVALID, "A restored declaration keeps its id.")
	}
	row, err := declarationRow(r.ID, r)
	if err != nil {
		return err
	}
	l.buf.declarations = append(l.buf.declarations, row)
	l.restored.declarations = true
	return l.maybeFlush()
}

// PutImmRequest buffers a restored request; its key is a data-key row of its own (PutDataKey), and a
// request that carries one is refused rather than half restored.
func (l *loader) PutImmRequest(r *amane.ImmRequestRecord) error {
	if r.ID <= 0 || r.Key.Blob != nil {
		return amane.Errorf(amane.EINVALID, "A restored request keeps its id, and its key comes as a data-key row.")
	}
	l.buf.requests = append(l.buf.requests, requestRow(r))
	l.restored.requests = true
	return l.maybeFlush()
}

// advanceSequences moves the id sequences past the restored ids, so that the restored store goes on
// after them. The table names are constants.
func (l *loader) advanceSequences() error {
	for _, q := range []struct {
		restored bool
		seq      sequence
		maxID    string
	}{
		{l.restored.declarations, declarationIDs, `SELECT max(id) FROM declarations`},
		{l.restored.requests, requestIDs, `SELECT max(id) FROM imm_requests`},
	} {
		if !q.restored {
			continue
		}
		if _, err := l.tx.Exec(l.ctx, `SELECT pg_advisory_xact_lock($1)`, q.seq.lock); err != nil {
			return err
		}
		var last int64
		if err := l.tx.QueryRow(l.ctx, `SELECT last_value FROM `+pgx.Identifier{q.seq.name}.Sanitize()).Scan(&last); err != nil {
			return err
		}
		if _, err := l.tx.Exec(l.ctx, `SELECT setval($1::regclass, greatest((`+q.maxID+`), $2))`, q.seq.name, last); err != nil {
			return err
		}
	}
	return nil
}
