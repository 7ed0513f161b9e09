// Package attest renders, signs and verifies Amane's attestations: PDF documents (go-pdf/fpdf, fonts
// embedded) signed as PAdES baseline B-B (CMS, SHA-256, detached, over a byte range that covers the
// whole file but the signature), each carrying a QR code and a short verification code, and a signed
// summary of the non-personal figures so that a verifier can check offline that the visible figures
// are the signed ones.
//
// The package knows documents, not the registry: package gate decides who may have which document,
// journals it and returns what it says (amane.AttestationDocument, named Document here); the CLI and
// the web render and sign it with this package and serve it. The gate does not import this package.
package attest

import (
	"amane"
	"amane/internal/vercode"
)

// What an attestation says is defined in package amane (the gate builds it without importing this
// package); the names below are the same types.

// Kinds of attestation: amane.AttestationKindEmployees, …
const (
	KindEmployees  = amane.AttestationKindEmployees
	KindThirdParty = amane.AttestationKindThirdParty
	KindSalary     = amane.AttestationKindSalary
)

// Titles are the documents' French titles by kind.
var Titles = map[string]string{
	KindEmployees:  "Attestation des salariés déclarés",
	KindThirdParty: "Attestation d'affiliation et de déclaration",
	KindSalary:     "Attestation de salaire",
}

// The document's parts, as the gate returns them.
type (
	Month    = amane.AttestationMonth
	Summary  = amane.AttestationSummary
	Company  = amane.AttestationCompany
	Line     = amane.AttestationLine
	Person   = amane.AttestationPerson
	Document = amane.AttestationDocument
)

// Validity is how long an attestation stays valid after it is issued.
const Validity = amane.AttestationValidity

// ErrCode is returned for a code that is not one Amane could have issued.
var ErrCode = vercode.ErrCode

// NewCode draws a fresh verification code (package amane/internal/vercode describes them).
func NewCode() string { return vercode.New() }

// ParseCode normalizes a typed code (any case, spaces or dashes anywhere, I/L read as 1, O as 0) and
// checks it.
func ParseCode(s string) (string, error) { return vercode.Parse(s) }
