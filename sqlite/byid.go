package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"amane"
)

// EmployeeByID implements amane.EmployeeStore.
func (s *Store) EmployeeByID(ctx context.Context, id int64) (*amane.EmployeeRecord, error) {
	var r *amane.EmployeeRecord
	err := s.readTx(ctx, func(tx *sql.Tx) (err error) {
		r, err = scanEmployee(tx.QueryRowContext(ctx, `SELECT `+employeeCols+employeeFrom+` WHERE e.id = ?`, id))
		return err
	})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, amane.Errorf(amane.ENOTFOUND, "Insured person not found.")
	}
	return r, err
}
