package sqlite

import (
	"context"
	"database/sql"

	"amane"
)

// The sentinel's alerts (amane.AlertStore); see migrations/009_alerts.sql.

const alertCols = `id, time, principal, response, signal, evidence, journal, coalesce(lifted, ''), coalesce(lifted_by, '')`

// AddAlert implements amane.AlertStore.
func (s *Store) AddAlert(ctx context.Context, a *amane.SecurityAlert) (int64, error) {
	if err := amane.CheckAlert(a); err != nil {
		return 0, err
	}
	var id int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `INSERT INTO security_alerts (time, principal, response, signal, evidence, journal)
			VALUES (?, ?, ?, ?, ?, ?) RETURNING id`, a.Time, a.Principal, a.Response, a.Signal, string(a.Evidence), a.Journal).Scan(&id)
	})
	return id, err
}

// Alerts implements amane.AlertStore.
func (s *Store) Alerts(ctx context.Context, before int64, limit int) ([]amane.SecurityAlert, error) {
	if before <= 0 {
		before = 1<<63 - 1
	}
	return s.alerts(ctx, `SELECT `+alertCols+` FROM security_alerts WHERE id < ? ORDER BY id DESC LIMIT ?`, before, limit)
}

// OpenAlerts implements amane.AlertStore.
func (s *Store) OpenAlerts(ctx context.Context, principal string) ([]amane.SecurityAlert, error) {
	return s.alerts(ctx, `SELECT `+alertCols+` FROM security_alerts WHERE lifted IS NULL AND (? = '' OR principal = ?) ORDER BY id`, principal, principal)
}

// LiftAlerts implements amane.AlertStore.
func (s *Store) LiftAlerts(ctx context.Context, principal, by, at string) (int, error) {
	var n int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE security_alerts SET lifted = ?, lifted_by = ? WHERE principal = ? AND lifted IS NULL`, at, by, principal)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}

func (s *Store) alerts(ctx context.Context, q string, args ...any) ([]amane.SecurityAlert, error) {
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []amane.SecurityAlert
	for rows.Next() {
		a, err := scanAlert(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *a)
	}
	return out, rows.Err()
}

func scanAlert(r interface{ Scan(...any) error }) (*amane.SecurityAlert, error) {
	var a amane.SecurityAlert
	var ev string
	if err := r.Scan(&a.ID, &a.Time, &a.Principal, &a.Response, &a.Signal, &ev, &a.Journal, &a.Lifted, &a.LiftedBy); err != nil {
		return nil, err
	}
	a.Evidence = []byte(ev)
	return &a, nil
}

// PutAlert inserts a restored alert (a restore's row): it keeps its id.
func (l *loader) PutAlert(a *amane.SecurityAlert) error {
	if err := amane.CheckAlert(a); err != nil {
		return err
	}
	if a.ID <= 0 {
		return amane.Errorf(amane.EINVALID, "A restored alert needs its id.")
	}
	_, err := l.tx.ExecContext(l.ctx, `INSERT INTO security_alerts (id, time, principal, response, signal, evidence, journal, lifted, lifted_by)
		VALUES (?, ?, ?, ?, ?, ?, ?, nullif(?, ''), nullif(?, ''))`, a.ID, a.Time, a.Principal, a.Response, a.Signal, string(a.Evidence), a.Journal, a.Lifted, a.LiftedBy)
	return err
}
