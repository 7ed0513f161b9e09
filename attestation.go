package amane

import "context"

// Attestation statuses, as GET /verify/{code} shows them.
const (
	AttestationValid   = "valide"
	AttestationRevoked = "revoquee"
	AttestationExpired = "expiree"
)

// AttestationRecord is an issued attestation as the store keeps it: its verification code, its public
// summary (the signed, non-personal JSON anyone may see), whom it concerns by internal id, its
// validity and its revocation. The document itself is not kept: it can be issued again.
type AttestationRecord struct {
	Code       string `json:"code"`
	Kind       string `json:"kind"`
	EmployerID int64  `json:"employer_id"`
	EmployeeID int64  `json:"employee_id,omitempty"`
	Summary    []byte `json:"summary"`
	Issued     string `json:"issued"`  // RFC 3339, UTC
	Expires    string `json:"expires"` // RFC 3339, UTC
	Revoked    string `json:"revoked,omitempty"`
	Reason     string `json:"reason,omitempty"` // why it was revoked (no personal data)
}

// AttestationStore is the store's side of attestations.
type AttestationStore interface {
	// PutAttestations stores issued attestations in one transaction. ECONFLICT (field "code") if a
	// code exists.
	PutAttestations(ctx context.Context, rs []*AttestationRecord) error
	// AttestationByCode returns an attestation by its code. ENOTFOUND.
	AttestationByCode(ctx context.Context, code string) (*AttestationRecord, error)
	// RevokeAttestation marks an attestation revoked at a time, with a reason. ENOTFOUND.
	RevokeAttestation(ctx context.Context, code, at, reason string) error
	// DeclaringEmployers returns the ids of the employers with a declaration for period, the largest
	// headcount first (ties by id): the batch issues the largest first.
	DeclaringEmployers(ctx context.Context, period string) ([]int64, error)
}
