package postgres

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"

	"amane"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Cases (amane.CaseStore); see migrations/011_cases.sql. A case's records and staff travel with it,
// comma-joined (no reference holds a comma).

const caseCols = `c.id, c.type, c.number, c.team, c.opened, c.opened_by, c.origin, coalesce(c.closed, ''), coalesce(c.closed_by, ''),
	coalesce((SELECT string_agg(record, ',' ORDER BY record) FROM case_records r WHERE r.case_id = c.id), ''),
	coalesce((SELECT string_agg(principal, ',' ORDER BY principal) FROM case_staff s WHERE s.case_id = c.id), '')`

// CreateCase implements amane.CaseStore.
func (s *Store) CreateCase(ctx context.Context, c *amane.Case) (int64, error) {
	if err := amane.CheckCase(c); err != nil {
		return 0, err
	}
	var id int64
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		id, err = insertCase(ctx, tx, c, false)
		return err
	})
	return id, err
}

// insertCase inserts a checked case with its records and staff; withID keeps c.ID (a restore).
func insertCase(ctx context.Context, tx pgx.Tx, c *amane.Case, withID bool) (int64, error) {
	var got int64
	var err error
	if withID {
		err = tx.QueryRow(ctx, `INSERT INTO cases (id, type, number, team, opened, opened_by, origin, closed, closed_by)
			VALUES ($1, $2, $3, $4, $5, $6, $7, nullif($8, ''), nullif($9, '')) RETURNING id`,
			c.ID, c.Type, c.Number, c.Team, c.Opened, c.OpenedBy, c.Origin, c.Closed, c.ClosedBy).Scan(&got)
	} else {
		err = tx.QueryRow(ctx, `INSERT INTO cases (type, number, team, opened, opened_by, origin, closed, closed_by)
			VALUES ($1, $2, $3, $4, $5, $6, nullif($7, ''), nullif($8, '')) RETURNING id`,
			c.Type, c.Number, c.Team, c.Opened, c.OpenedBy, c.Origin, c.Closed, c.ClosedBy).Scan(&got)
	}
	if err != nil {
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == "23505" {
			return 0, amane.Conflict("number")
		}
		return 0, err
	}
	if len(c.Records) > 0 {
		if _, err := tx.Exec(ctx, `INSERT INTO case_records (case_id, record) SELECT $1, r FROM unnest($2::text[]) AS r ON CONFLICT DO NOTHING`, got, c.Records); err != nil {
			return 0, err
		}
	}
	if len(c.Staff) > 0 {
		if _, err := tx.Exec(ctx, `INSERT INTO case_staff (case_id, principal) SELECT $1, p FROM unnest($2::text[]) AS p ON CONFLICT DO NOTHING`, got, c.Staff); err != nil {
			return 0, err
		}
	}
	return got, nil
}

// CaseByID implements amane.CaseStore.
func (s *Store) CaseByID(ctx context.Context, id int64) (*amane.Case, error) {
	return s.oneCase(ctx, `SELECT `+caseCols+` FROM cases c WHERE c.id = $1`, id)
}

// CaseByNumber implements amane.CaseStore.
func (s *Store) CaseByNumber(ctx context.Context, number string) (*amane.Case, error) {
	return s.oneCase(ctx, `SELECT `+caseCols+` FROM cases c WHERE c.number = $1`, number)
}

func (s *Store) oneCase(ctx context.Context, q string, arg any) (*amane.Case, error) {
	c, err := scanCase(s.pool.QueryRow(ctx, q, arg))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, amane.Errorf(amane.ENOTFOUND, "No such case.")
	}
	return c, err
}

// openCase locks the case's row and checks that it exists and is open: two writers of one case
// take turns, so that a closed case gains nothing.
func openCase(ctx context.Context, tx pgx.Tx, id int64) error {
	var closed *string
	err := tx.QueryRow(ctx, `SELECT closed FROM cases WHERE id = $1 FOR UPDATE`, id).Scan(&closed)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return amane.Errorf(amane.ENOTFOUND, "No such case.")
	case err != nil:
		return err
	case closed != nil:
		return amane.Errorf(amane.ECONFLICT, "This case is closed.")
	}
	return nil
}

// AssignCase implements amane.CaseStore.
func (s *Store) AssignCase(ctx context.Context, id int64, staff []string, team string) error {
	if err := amane.CheckCaseAssignment(staff, team); err != nil {
		return err
	}
	return s.inTx(ctx, func(tx pgx.Tx) error {
		if err := openCase(ctx, tx, id); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM case_staff WHERE case_id = $1`, id).Scan(&n); err != nil {
			return err
		}
		if n+len(staff) > amane.MaxCaseStaff {
			return amane.Invalid("Too many staff on this case.", amane.FieldError{Field: "staff", Rule: "at most 50 principals"})
		}
		if len(staff) > 0 {
			if _, err := tx.Exec(ctx, `INSERT INTO case_staff (case_id, principal) SELECT $1, p FROM unnest($2::text[]) AS p ON CONFLICT DO NOTHING`, id, staff); err != nil {
				return err
			}
		}
		if team != "" {
			_, err := tx.Exec(ctx, `UPDATE cases SET team = $1 WHERE id = $2`, team, id)
			return err
		}
		return nil
	})
}

// AddCaseRecord implements amane.CaseStore.
func (s *Store) AddCaseRecord(ctx context.Context, id int64, record string) error {
	if err := amane.CheckCaseRecord(record); err != nil {
		return err
	}
	return s.inTx(ctx, func(tx pgx.Tx) error {
		if err := openCase(ctx, tx, id); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM case_records WHERE case_id = $1`, id).Scan(&n); err != nil {
			return err
		}
		if n >= amane.MaxCaseRecords {
			return amane.Invalid("Too many records on this case.", amane.FieldError{Field: "records", Rule: "at most 500 records"})
		}
		_, err := tx.Exec(ctx, `INSERT INTO case_records (case_id, record) VALUES ($1, $2) ON CONFLICT DO NOTHING`, id, record)
		return err
	})
}

// CloseCase implements amane.CaseStore.
func (s *Store) CloseCase(ctx context.Context, id int64, by, at string) error {
	if err := amane.CheckCaseClosing(by, at); err != nil {
		return err
	}
	return s.inTx(ctx, func(tx pgx.Tx) error {
		if err := openCase(ctx, tx, id); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `UPDATE cases SET closed = $1, closed_by = $2 WHERE id = $3`, at, by, id)
		return err
	})
}

// OpenCases implements amane.CaseStore. The query is built from the filter's fields, so that a
// record's cases are found through case_records' index on record, not by scanning every open case.
func (s *Store) OpenCases(ctx context.Context, f amane.CaseFilter, limit int) ([]amane.Case, error) {
	if limit <= 0 || limit > amane.MaxPage {
		limit = amane.MaxPage
	}
	q, args := `SELECT `+caseCols+` FROM cases c WHERE c.closed IS NULL`, []any{}
	arg := func(v any) string { args = append(args, v); return "$" + strconv.Itoa(len(args)) }
	if f.Record != "" {
		q += ` AND c.id IN (SELECT case_id FROM case_records WHERE record = ` + arg(f.Record) + `)`
	}
	switch {
	case f.Principal != "" && f.Team != "":
		q += ` AND (c.id IN (SELECT case_id FROM case_staff WHERE principal = ` + arg(f.Principal) + `) OR c.team = ` + arg(f.Team) + `)`
	case f.Principal != "":
		q += ` AND c.id IN (SELECT case_id FROM case_staff WHERE principal = ` + arg(f.Principal) + `)`
	case f.Team != "":
		q += ` AND c.team = ` + arg(f.Team)
	}
	q += ` ORDER BY c.id LIMIT ` + arg(limit)
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []amane.Case
	for rows.Next() {
		c, err := scanCase(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *c)
	}
	return out, rows.Err()
}

func scanCase(r pgx.Row) (*amane.Case, error) {
	var c amane.Case
	var records, staff string
	if err := r.Scan(&c.ID, &c.Type, &c.Number, &c.Team, &c.Opened, &c.OpenedBy, &c.Origin, &c.Closed, &c.ClosedBy, &records, &staff); err != nil {
		return nil, err
	}
	c.Records, c.Staff = splitSorted(records), splitSorted(staff)
	return &c, nil
}

func splitSorted(s string) []string {
	if s == "" {
		return nil
	}
	out := strings.Split(s, ",")
	slices.Sort(out)
	return out
}

// PutCase inserts a restored case (a restore's row) with its id, records and staff.
func (l *loader) PutCase(c *amane.Case) error {
	if err := amane.CheckCase(c); err != nil {
		return err
	}
	if c.ID <= 0 {
		return amane.Errorf(amane.EINVALID, "A restored case needs its id.")
	}
	if err := l.wait(); err != nil {
		return err
	}
	if _, err := insertCase(l.ctx, l.tx, c, true); err != nil {
		return err
	}
	_, err := l.tx.Exec(l.ctx, `SELECT setval(pg_get_serial_sequence('cases', 'id'), (SELECT max(id) FROM cases))`)
	return err
}
