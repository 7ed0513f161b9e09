package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"amane"
)

// EmployeeByID implements amane.EmployeeStore.
func (s *Store) EmployeeByID(ctx context.Context, id int64) (*amane.EmployeeRecord, error) {
	r, err := scanEmployee(s.pool.QueryRow(ctx, `SELECT `+employeeCols+employeeFrom+` WHERE e.id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, amane.Errorf(amane.ENOTFOUND, "Insured person not found.")
	}
	return r, err
}
