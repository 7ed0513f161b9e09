package postgres

import (
	"context"
	"errors"
	"slices"
	"strings"

	"amane"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Attestations (amane.AttestationStore): one row per issued attestation, keyed by its verification
// code, with its signed public summary kept byte for byte (bytea). The rows hold no personal data, so
// EraseEmployee leaves them alone (see migrations/008_attestations.sql). A batch is one transaction
// whose rows go by COPY.

var attestationColumns = []string{"code", "kind", "employer_id", "employee_id", "summary", "issued", "expires", "revoked", "reason"}

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

// attestationRow is an attestation's COPY row: no employee, no revocation and no reason are NULL.
func attestationRow(r *amane.AttestationRecord) []any {
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

func scanAttestation(row pgx.Row) (*amane.AttestationRecord, error) {
	var r amane.AttestationRecord
	err := row.Scan(&r.Code, &r.Kind, &r.EmployerID, &r.EmployeeID, &r.Summary, &r.Issued, &r.Expires, &r.Revoked, &r.Reason)
	return &r, err
}

// attestationError names what a failed write ran into (PostgreSQL's own message would quote the
// code).
func attestationError(err error) error {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return err
	}
	switch pe.Code {
	case "23505":
		e := amane.Conflict("code")
		if len(e.Fields) == 0 {
			e.Fields = []amane.FieldError{{Field: "code", Rule: "an attestation with this code exists already"}}
		}
		return e
	case "23503":
		return amane.Errorf(amane.ENOTFOUND, "An employer or insured person named by the attestation is not in the registry.")
	}
	return err
}

// PutAttestations implements amane.AttestationStore: all or nothing, one COPY in one transaction.
// Rows go in code order, so that two concurrent batches that share a code meet on it in the same
// order and one waits for the other instead of deadlocking.
func (s *Store) PutAttestations(ctx context.Context, rs []*amane.AttestationRecord) error {
	if len(rs) == 0 {
		return nil
	}
	rows := make([][]any, len(rs))
	for i, r := range rs {
		if err := checkAttestation(r); err != nil {
			return err
		}
		rows[i] = attestationRow(r)
	}
	slices.SortFunc(rows, func(x, y []any) int { return strings.Compare(x[0].(string), y[0].(string)) })
	return s.inTx(ctx, func(tx pgx.Tx) error {
		_, err := tx.CopyFrom(ctx, pgx.Identifier{"attestations"}, attestationColumns, pgx.CopyFromRows(rows))
		return attestationError(err)
	})
}

// AttestationByCode implements amane.AttestationStore.
func (s *Store) AttestationByCode(ctx context.Context, code string) (*amane.AttestationRecord, error) {
	r, err := scanAttestation(s.pool.QueryRow(ctx, selectAttestation+` WHERE code = $1`, code))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, amane.Errorf(amane.ENOTFOUND, "Attestation not found.")
	}
	return r, err
}

// RevokeAttestation implements amane.AttestationStore. A revoked attestation keeps its first
// revocation's time and reason: SET reads the row as it was, and a concurrent revocation waits for
// the row lock, then reads the row the first one wrote.
func (s *Store) RevokeAttestation(ctx context.Context, code, at, reason string) error {
	if at == "" {
		return amane.Errorf(amane.EINVALID, "A revocation needs a time.")
	}
	tag, err := s.pool.Exec(ctx, `UPDATE attestations SET revoked = coalesce(revoked, $1::text),
		reason = CASE WHEN revoked IS NULL THEN $2::text ELSE reason END WHERE code = $3`, at, nullIfEmpty(reason), code)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return amane.Errorf(amane.ENOTFOUND, "Attestation not found.")
	}
	return nil
}

// DeclaringEmployers implements amane.AttestationStore: the employers with a declaration of the
// period, by their principal declaration's headcount (an employer with only complementary ones
// counts 0), then by id.
func (s *Store) DeclaringEmployers(ctx context.Context, period string) ([]int64, error) {
	rows, err := s.pool.Query(ctx, `SELECT employer_id FROM declarations WHERE period = $1 GROUP BY employer_id
		ORDER BY coalesce(max(CASE WHEN seq = 0 THEN headcount END), 0) DESC, employer_id`, period)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[int64])
}

// PutAttestation buffers a restored attestation (COPY after the declarations: its employer and
// insured person are in the tables before it).
func (l *loader) PutAttestation(r *amane.AttestationRecord) error {
	if err := checkAttestation(r); err != nil {
		return err
	}
	l.buf.attestations = append(l.buf.attestations, attestationRow(r))
	return l.maybeFlush()
}
