package postgres

import (
	"context"

	"amane"
)

// EmployersByAffiliation implements amane.EmployerStore: one query for a batch of affiliations.
func (s *Store) EmployersByAffiliation(ctx context.Context, affs []string) (map[string]*amane.EmployerRecord, error) {
	out := make(map[string]*amane.EmployerRecord, len(affs))
	rows, err := s.pool.Query(ctx, `SELECT `+employerCols+employerFrom+` WHERE e.affiliation = ANY($1)`, affs)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		r, err := scanEmployer(rows)
		if err != nil {
			return nil, err
		}
		out[r.Affiliation] = r
	}
	return out, rows.Err()
}

// PeriodDeclarations implements amane.DeclarationStore: the declarations of a period for a batch of employers,
// without their lines, in one query.
func (s *Store) PeriodDeclarations(ctx context.Context, period string, employerIDs []int64) (map[int64][]*amane.DeclarationRecord, error) {
	rs, err := s.declarations(ctx, false, `WHERE period = $1 AND employer_id = ANY($2) ORDER BY employer_id, seq`, period, employerIDs)
	if err != nil {
		return nil, err
	}
	out := make(map[int64][]*amane.DeclarationRecord, len(employerIDs))
	for _, r := range rs {
		out[r.EmployerID] = append(out[r.EmployerID], r)
	}
	return out, nil
}
