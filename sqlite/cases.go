package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"

	"amane"
)

// Cases (amane.CaseStore); see migrations/011_cases.sql. A case's records and staff travel with it,
// comma-joined (no reference holds a comma).

const caseCols = `c.id, c.type, c.number, c.team, c.opened, c.opened_by, c.origin, coalesce(c.closed, ''), coalesce(c.closed_by, ''),
	coalesce((SELECT group_concat(record, ',') FROM case_records r WHERE r.case_id = c.id), ''),
	coalesce((SELECT group_concat(principal, ',') FROM case_staff s WHERE s.case_id = c.id), '')`

// CreateCase implements amane.CaseStore.
func (s *Store) CreateCase(ctx context.Context, c *amane.Case) (int64, error) {
	if err := amane.CheckCase(c); err != nil {
		return 0, err
	}
	var id int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		id, err = insertCase(ctx, tx, c, false)
		return err
	})
	return id, err
}

// insertCase inserts a checked case with its records and staff; withID keeps c.ID (a restore).
func insertCase(ctx context.Context, tx *sql.Tx, c *amane.Case, withID bool) (int64, error) {
	var id any
	if withID {
		id = c.ID
	}
	var got int64
	err := tx.QueryRowContext(ctx, `INSERT INTO cases (id, type, number, team, opened, opened_by, origin, closed, closed_by)
		VALUES (?, ?, ?, ?, ?, ?, ?, nullif(?, ''), nullif(?, '')) RETURNING id`,
		id, c.Type, c.Number, c.Team, c.Opened, c.OpenedBy, c.Origin, c.Closed, c.ClosedBy).Scan(&got)
	if err != nil {
		if strings.Contains(err.Error(), "UNIQUE constraint failed") {
			return 0, amane.Conflict("number")
		}
		return 0, err
	}
	for _, r := range c.Records {
		if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO case_records (case_id, record) VALUES (?, ?)`, got, r); err != nil {
			return 0, err
		}
	}
	for _, p := range c.Staff {
		if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO case_staff (case_id, principal) VALUES (?, ?)`, got, p); err != nil {
			return 0, err
		}
	}
	return got, nil
}

// CaseByID implements amane.CaseStore.
func (s *Store) CaseByID(ctx context.Context, id int64) (*amane.Case, error) {
	return s.oneCase(ctx, `SELECT `+caseCols+` FROM cases c WHERE c.id = ?`, id)
}

// CaseByNumber implements amane.CaseStore.
func (s *Store) CaseByNumber(ctx context.Context, number string) (*amane.Case, error) {
	return s.oneCase(ctx, `SELECT `+caseCols+` FROM cases c WHERE c.number = ?`, number)
}

func (s *Store) oneCase(ctx context.Context, q string, arg any) (*amane.Case, error) {
	c, err := scanCase(s.r.QueryRowContext(ctx, q, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, amane.Errorf(amane.ENOTFOUND, "No such case.")
	}
	return c, err
}

// openCase locks nothing (SQLite's one writer serializes) and checks that the case exists and is open.
func openCase(ctx context.Context, tx *sql.Tx, id int64) error {
	var closed sql.NullString
	err := tx.QueryRowContext(ctx, `SELECT closed FROM cases WHERE id = ?`, id).Scan(&closed)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return amane.Errorf(amane.ENOTFOUND, "No such case.")
	case err != nil:
		return err
	case closed.Valid:
		return amane.Errorf(amane.ECONFLICT, "This case is closed.")
	}
	return nil
}

// AssignCase implements amane.CaseStore.
func (s *Store) AssignCase(ctx context.Context, id int64, staff []string, team string) error {
	if err := amane.CheckCaseAssignment(staff, team); err != nil {
		return err
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := openCase(ctx, tx, id); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM case_staff WHERE case_id = ?`, id).Scan(&n); err != nil {
			return err
		}
		if n+len(staff) > amane.MaxCaseStaff {
			return amane.Invalid("Too many staff on this case.", amane.FieldError{Field: "staff", Rule: "at most 50 principals"})
		}
		for _, p := range staff {
			if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO case_staff (case_id, principal) VALUES (?, ?)`, id, p); err != nil {
				return err
			}
		}
		if team != "" {
			_, err := tx.ExecContext(ctx, `UPDATE cases SET team = ? WHERE id = ?`, team, id)
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
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := openCase(ctx, tx, id); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM case_records WHERE case_id = ?`, id).Scan(&n); err != nil {
			return err
		}
		if n >= amane.MaxCaseRecords {
			return amane.Invalid("Too many records on this case.", amane.FieldError{Field: "records", Rule: "at most 500 records"})
		}
		_, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO case_records (case_id, record) VALUES (?, ?)`, id, record)
		return err
	})
}

// CloseCase implements amane.CaseStore.
func (s *Store) CloseCase(ctx context.Context, id int64, by, at string) error {
	if err := amane.CheckCaseClosing(by, at); err != nil {
		return err
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := openCase(ctx, tx, id); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE cases SET closed = ?, closed_by = ? WHERE id = ?`, at, by, id)
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
	if f.Record != "" {
		q += ` AND c.id IN (SELECT case_id FROM case_records WHERE record = ?)`
		args = append(args, f.Record)
	}
	switch {
	case f.Principal != "" && f.Team != "":
		q += ` AND (c.id IN (SELECT case_id FROM case_staff WHERE principal = ?) OR c.team = ?)`
		args = append(args, f.Principal, f.Team)
	case f.Principal != "":
		q += ` AND c.id IN (SELECT case_id FROM case_staff WHERE principal = ?)`
		args = append(args, f.Principal)
	case f.Team != "":
		q += ` AND c.team = ?`
		args = append(args, f.Team)
	}
	// At most eight query texts: each is prepared once per reader connection (readRows).
	rows, err := s.readRows(ctx, q+` ORDER BY c.id LIMIT ?`, append(args, limit)...)
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

func scanCase(r interface{ Scan(...any) error }) (*amane.Case, error) {
	var c amane.Case
	var records, staff string
	if err := r.Scan(&c.ID, &c.Type, &c.Number, &c.Team, &c.Opened, &c.OpenedBy, &c.Origin, &c.Closed, &c.ClosedBy, &records, &staff); err != nil {
		return nil, err
	}
	c.Records, c.Staff = splitSorted(records), splitSorted(staff)
	return &c, nil
}

// splitSorted splits a comma-joined list and sorts it (group_concat promises no order).
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
	_, err := insertCase(l.ctx, l.tx, c, true)
	return err
}
