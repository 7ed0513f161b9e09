package sqlite

import (
	"context"
	"database/sql"
	"strings"

	"amane"
)

// placeholders returns "?, ?, …" for n values: the query holds only placeholders, the values go as
// arguments.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// EmployersByAffiliation implements amane.EmployerStore: one query for a batch of affiliations (a bulk
// declaration load asks for hundreds at once).
func (s *Store) EmployersByAffiliation(ctx context.Context, affs []string) (map[string]*amane.EmployerRecord, error) {
	out := make(map[string]*amane.EmployerRecord, len(affs))
	for len(affs) > 0 {
		n := min(len(affs), 500)
		args := make([]any, n)
		for i, a := range affs[:n] {
			args[i] = a
		}
		err := s.readTx(ctx, func(tx *sql.Tx) error {
			rows, err := tx.QueryContext(ctx, `SELECT `+employerCols+employerFrom+` WHERE e.affiliation IN (`+placeholders(n)+`)`, args...)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				r, err := scanEmployer(rows)
				if err != nil {
					return err
				}
				out[r.Affiliation] = r
			}
			return rows.Err()
		})
		if err != nil {
			return nil, err
		}
		affs = affs[n:]
	}
	return out, nil
}

// PeriodDeclarations implements amane.DeclarationStore: the declarations of a period for a batch of employers,
// without their lines, in one query per 500 employers.
func (s *Store) PeriodDeclarations(ctx context.Context, period string, employerIDs []int64) (map[int64][]*amane.DeclarationRecord, error) {
	out := make(map[int64][]*amane.DeclarationRecord, len(employerIDs))
	for len(employerIDs) > 0 {
		n := min(len(employerIDs), 500)
		args := make([]any, 0, n+1)
		args = append(args, period)
		for _, id := range employerIDs[:n] {
			args = append(args, id)
		}
		rs, err := s.declarations(ctx, false, `WHERE period = ? AND employer_id IN (`+placeholders(n)+`) ORDER BY employer_id, seq`, args...)
		if err != nil {
			return nil, err
		}
		for _, r := range rs {
			out[r.EmployerID] = append(out[r.EmployerID], r)
		}
		employerIDs = employerIDs[n:]
	}
	return out, nil
}
