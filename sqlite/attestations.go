package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"amane"
)

// Attestations (amane.AttestationStore): one row per issued attestation, keyed by its verification
// code, with its signed public summary kept byte for byte. The rows hold no personal data, so
// EraseEmployee leaves them alone (see migrations/008_attestations.sql). A batch is one write
// transaction whose rows go in multi-row INSERTs prepared on the transaction's own connection
// (insertMany): preparing on the writer pool inside the transaction would wait for itself.

const attestationCols = `code, kind, employer_id, employee_id, summary, issued, expires, revoked, reason`

// attestationRows inserts up to 64 attestations a statement (9 values a row).
var attestationRows = rowsInsert{`INSERT INTO attestations (` + attestationCols + `) VALUES `, `(?, ?, ?, ?, ?, ?, ?, ?, ?)`, ``, 64}

const insertAttestation = `INSERT INTO attestations (` + attestationCols + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`

// selectAttestation reads the columns in AttestationRecord's order, absent values as zero values.
const selectAttestation = `SELECT code, kind, employer_id, coalesce(employee_id, 0), summary, issued, expires,
	coalesce(revoked, ''), coalesce(reason, '') FROM attestations`

// checkAttestation refuses a record the table could not hold as given.
func checkAttestation(r *amane.AttestationRecord) error {
	if r == nil || r.Code == "" || r.Kind == "" || r.EmployerID <= 0 || r.EmployeeID < 0 || len(r.Summary) == 0 || r.Issued == "" || r.Expires == "" {
		return amane.Errorf(amane.EINVALID, "An attestation needs a code, a kind, an employer, a summary, an issue and an expiry time.")
	}
	return nil
}

// attestationArgs are the insert's arguments: no employee, no revocation and no reason are NULL.
func attestationArgs(r *amane.AttestationRecord) []any {
	return []any{r.Code, r.Kind, r.EmployerID, nullIfZero(r.EmployeeID), r.Summary, r.Issued, r.Expires, nullIfEmpty(r.Revoked), nullIfEmpty(r.Reason)}
}

func nullIfZero(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func scanAttestation(row interface{ Scan(...any) error }) (*amane.AttestationRecord, error) {
	var r amane.AttestationRecord
	err := row.Scan(&r.Code, &r.Kind, &r.EmployerID, &r.EmployeeID, &r.Summary, &r.Issued, &r.Expires, &r.Revoked, &r.Reason)
	return &r, err
}

// attestationError names what a failed insert ran into, never the code itself.
func attestationError(err error) error {
	switch {
	case isUnique(err):
		e := amane.Conflict("code")
		if len(e.Fields) == 0 {
			e.Fields = []amane.FieldError{{Field: "code", Rule: "an attestation with this code exists already"}}
		}
		return e
	case isForeignKey(err):
		return amane.Errorf(amane.ENOTFOUND, "An employer or insured person named by the attestation is not in the registry.")
	}
	return err
}

// PutAttestations implements amane.AttestationStore: all or nothing, in one write transaction.
func (s *Store) PutAttestations(ctx context.Context, rs []*amane.AttestationRecord) error {
	if len(rs) == 0 {
		return nil
	}
	// Arguments are built before the write lock is taken.
	rows := make([][]any, len(rs))
	for i, r := range rs {
		if err := checkAttestation(r); err != nil {
			return err
		}
		rows[i] = attestationArgs(r)
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		return attestationError(insertMany(ctx, tx, attestationRows, rows))
	})
}

// AttestationByCode implements amane.AttestationStore.
func (s *Store) AttestationByCode(ctx context.Context, code string) (*amane.AttestationRecord, error) {
	var r *amane.AttestationRecord
	err := s.readTx(ctx, func(tx *sql.Tx) (err error) {
		r, err = scanAttestation(tx.QueryRowContext(ctx, selectAttestation+` WHERE code = ?`, code))
		return err
	})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, amane.Errorf(amane.ENOTFOUND, "Attestation not found.")
	}
	return r, err
}

// RevokeAttestation implements amane.AttestationStore. A revoked attestation keeps its first
// revocation's time and reason (SET reads the row as it was before the update).
func (s *Store) RevokeAttestation(ctx context.Context, code, at, reason string) error {
	if at == "" {
		return amane.Errorf(amane.EINVALID, "A revocation needs a time.")
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE attestations SET revoked = coalesce(revoked, ?),
			reason = CASE WHEN revoked IS NULL THEN ? ELSE reason END WHERE code = ?`, at, nullIfEmpty(reason), code)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return amane.Errorf(amane.ENOTFOUND, "Attestation not found.")
		}
		return nil
	})
}

// DeclaringEmployers implements amane.AttestationStore: the employers with a declaration of the
// period, by their principal declaration's headcount (an employer with only complementary ones
// counts 0), then by id.
func (s *Store) DeclaringEmployers(ctx context.Context, period string) (out []int64, err error) {
	err = s.readTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT employer_id FROM declarations WHERE period = ? GROUP BY employer_id
			ORDER BY coalesce(max(CASE WHEN seq = 0 THEN headcount END), 0) DESC, employer_id`, period)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				return err
			}
			out = append(out, id)
		}
		return rows.Err()
	})
	return out, err
}

// PutAttestation inserts a restored attestation.
func (l *loader) PutAttestation(r *amane.AttestationRecord) error {
	if err := checkAttestation(r); err != nil {
		return err
	}
	if l.insAttest == nil {
		var err error
		if l.insAttest, err = l.tx.PrepareContext(l.ctx, insertAttestation); err != nil {
			return err
		}
	}
	_, err := l.insAttest.ExecContext(l.ctx, attestationArgs(r)...)
	return attestationError(err)
}
