package postgres

import (
	"context"

	"amane"

	"github.com/jackc/pgx/v5"
)

// The sentinel's alerts (amane.AlertStore); see migrations/009_alerts.sql.

const alertCols = `id, time, principal, response, signal, evidence, journal, coalesce(lifted, ''), coalesce(lifted_by, '')`

// AddAlert implements amane.AlertStore.
func (s *Store) AddAlert(ctx context.Context, a *amane.SecurityAlert) (int64, error) {
	if err := amane.CheckAlert(a); err != nil {
		return 0, err
	}
	var id int64
	err := s.pool.QueryRow(ctx, `INSERT INTO security_alerts (time, principal, response, signal, evidence, journal)
		VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`, a.Time, a.Principal, a.Response, a.Signal, string(a.Evidence), a.Journal).Scan(&id)
	return id, err
}

// Alerts implements amane.AlertStore.
func (s *Store) Alerts(ctx context.Context, before int64, limit int) ([]amane.SecurityAlert, error) {
	if before <= 0 {
		before = 1<<63 - 1
	}
	return s.alerts(ctx, `SELECT `+alertCols+` FROM security_alerts WHERE id < $1 ORDER BY id DESC LIMIT $2`, before, limit)
}

// OpenAlerts implements amane.AlertStore.
func (s *Store) OpenAlerts(ctx context.Context, principal string) ([]amane.SecurityAlert, error) {
	return s.alerts(ctx, `SELECT `+alertCols+` FROM security_alerts WHERE lifted IS NULL AND ($1 = '' OR principal = $1) ORDER BY id`, principal)
}

// LiftAlerts implements amane.AlertStore.
func (s *Store) LiftAlerts(ctx context.Context, principal, by, at string) (int, error) {
	tag, err := s.pool.Exec(ctx, `UPDATE security_alerts SET lifted = $1, lifted_by = $2 WHERE principal = $3 AND lifted IS NULL`, at, by, principal)
	return int(tag.RowsAffected()), err
}

func (s *Store) alerts(ctx context.Context, q string, args ...any) ([]amane.SecurityAlert, error) {
	rows, err := s.pool.Query(ctx, q, args...)
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

func scanAlert(r pgx.Row) (*amane.SecurityAlert, error) {
	var a amane.SecurityAlert
	var ev string
	if err := r.Scan(&a.ID, &a.Time, &a.Principal, &a.Response, &a.Signal, &ev, &a.Journal, &a.Lifted, &a.LiftedBy); err != nil {
		return nil, err
	}
	a.Evidence = []byte(ev)
	return &a, nil
}

// PutAlert inserts a restored alert (a restore's row): it keeps its id, and the id sequence moves past it.
func (l *loader) PutAlert(a *amane.SecurityAlert) error {
	if err := amane.CheckAlert(a); err != nil {
		return err
	}
	if a.ID <= 0 {
		return amane.Errorf(amane.EINVALID, "A restored alert needs its id.")
	}
	if err := l.wait(); err != nil {
		return err
	}
	if _, err := l.tx.Exec(l.ctx, `INSERT INTO security_alerts (id, time, principal, response, signal, evidence, journal, lifted, lifted_by)
		VALUES ($1, $2, $3, $4, $5, $6, $7, nullif($8, ''), nullif($9, ''))`, a.ID, a.Time, a.Principal, a.Response, a.Signal, string(a.Evidence), a.Journal, a.Lifted, a.LiftedBy); err != nil {
		return err
	}
	_, err := l.tx.Exec(l.ctx, `SELECT setval(pg_get_serial_sequence('security_alerts', 'id'), (SELECT max(id) FROM security_alerts))`)
	return err
}
