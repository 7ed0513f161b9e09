// Package attest renders, signs and verifies Amane's attestations: PDF documents (go-pdf/fpdf, fonts
// embedded) signed as PAdES baseline B-B (CMS, SHA-256, detached, over a byte range that covers the
// whole file but the signature), each carrying a QR code and a short verification code, and a signed
// summary of the non-personal figures so that a verifier can check offline that the visible figures
// are the signed ones.
//
// The package knows documents, not the registry: package gate decides who may have which document
// and journals it; the CLI and the web serve it.
package attest

import "time"

// Kinds of attestation.
const (
	// KindEmployees is the "Attestation des salariés déclarés", for the employer itself: identity,
	// monthly payroll mass and headcount, and the nominative list of declared employees.
	KindEmployees = "salaries-declares"
	// KindThirdParty is the "Attestation d'affiliation et de déclaration", for banks and public buyers:
	// identity, monthly payroll mass and headcount, no names.
	KindThirdParty = "affiliation-declaration"
	// KindSalary is the "Attestation de salaire", for one insured person: their own lines only.
	KindSalary = "salaire"
)

// Titles are the documents' French titles by kind.
var Titles = map[string]string{
	KindEmployees:  "Attestation des salariés déclarés",
	KindThirdParty: "Attestation d'affiliation et de déclaration",
	KindSalary:     "Attestation de salaire",
}

// Month is one declared month of an employer: non-personal aggregates.
type Month struct {
	Period    string `json:"periode"`         // AAAAMM
	Headcount int    `json:"effectif"`        // people declared
	Payroll   int64  `json:"masse_salariale"` // centimes
}

// Summary is what an attestation proves and what anyone may see: it is embedded in the PDF (signed
// with it) and served by GET /verify/{code}. It holds no personal data: for a salary attestation,
// no figure at all (the person's salary is theirs alone).
type Summary struct {
	Code        string  `json:"code"` // the short verification code, e.g. "AMN-7K3Q-M9XD"
	Kind        string  `json:"type"` // a Kind constant
	Issuer      string  `json:"emetteur"`
	Affiliation string  `json:"affiliation"`
	Employer    string  `json:"raison_sociale"`
	From        string  `json:"du"` // AAAAMM
	To          string  `json:"au"` // AAAAMM
	Months      []Month `json:"mois,omitempty"`
	Issued      string  `json:"delivree_le"` // RFC 3339, UTC
	Expires     string  `json:"expire_le"`   // RFC 3339, UTC
}

// Company is the employer's public identity as the documents print it.
type Company struct {
	Name, Activity, Address, City string
	Affiliation, AffiliationDate  string
	ICE, RC, TP, IF, LegalForm    string
}

// Line is one nominative line: an insured person's declared month.
type Line struct {
	Period    string
	Imm       string
	Surname   string
	FirstName string
	Days      int
	Salary    int64 // centimes
}

// Person is the insured person a salary attestation is issued to.
type Person struct {
	Imm, Surname, FirstName string
}

// Document is everything one attestation shows. Lines is empty for KindThirdParty; Person is set for
// KindSalary only, and then Lines are that person's own.
type Document struct {
	Summary Summary
	Company Company
	Lines   []Line
	Person  *Person
	// VerifyURL is the base of the QR code's link: VerifyURL + "/" + Summary.Code.
	VerifyURL string
}

// Validity is how long an attestation stays valid after it is issued.
const Validity = 90 * 24 * time.Hour
