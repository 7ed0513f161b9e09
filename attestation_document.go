package amane

import "time"

// What an attestation says, apart from how it looks. Package gate decides who may have which
// attestation, journals it, opens its lines and returns an AttestationDocument; package attest
// renders it as a PDF and signs it, called by the CLI and the web with the gate's document. These
// types live here, not in attest, so that the gate does not import the PDF, QR and CMS libraries
// (gate/deps_test.go); attest names them by aliases (attest.Document, attest.Summary, …).

// Kinds of attestation.
const (
	// AttestationKindEmployees is the "Attestation des salariés déclarés", for the employer itself:
	// identity, monthly payroll mass and headcount, and the nominative list of declared employees.
	AttestationKindEmployees = "salaries-declares"
	// AttestationKindThirdParty is the "Attestation d'affiliation et de déclaration", for banks and
	// public buyers: identity, monthly payroll mass and headcount, no names.
	AttestationKindThirdParty = "affiliation-declaration"
	// AttestationKindSalary is the "Attestation de salaire", for one insured person: their own lines
	// only.
	AttestationKindSalary = "salaire"
)

// AttestationValidity is how long an attestation stays valid after it is issued.
const AttestationValidity = 90 * 24 * time.Hour

// AttestationMonth is one declared month of an employer: non-personal aggregates.
type AttestationMonth struct {
	Period    string `json:"periode"`         // AAAAMM
	Headcount int    `json:"effectif"`        // people declared
	Payroll   int64  `json:"masse_salariale"` // centimes
}

// AttestationSummary is what an attestation proves and what anyone may see: it is embedded in the
// PDF (signed with it), stored as AttestationRecord.Summary and served by GET /verify/{code}; its
// JSON is therefore an at-rest and wire format. It holds no personal data: for a salary attestation,
// no figure at all (the person's salary is theirs alone).
type AttestationSummary struct {
	Code        string             `json:"code"` // the short verification code, e.g. "AMN-7K3Q-M9XD"
	Kind        string             `json:"type"` // an AttestationKind constant
	Issuer      string             `json:"emetteur"`
	Affiliation string             `json:"affiliation"`
	Employer    string             `json:"raison_sociale"`
	From        string             `json:"du"` // AAAAMM
	To          string             `json:"au"` // AAAAMM
	Months      []AttestationMonth `json:"mois,omitempty"`
	Issued      string             `json:"delivree_le"` // RFC 3339, UTC
	Expires     string             `json:"expire_le"`   // RFC 3339, UTC
}

// AttestationCompany is the employer's public identity as the documents print it.
type AttestationCompany struct {
	Name, Activity, Address, City string
	Affiliation, AffiliationDate  string
	ICE, RC, TP, IF, LegalForm    string
}

// AttestationLine is one nominative line: an insured person's declared month.
type AttestationLine struct {
	Period    string
	Imm       string
	Surname   string
	FirstName string
	Days      int
	Salary    int64 // centimes
}

// AttestationPerson is the insured person a salary attestation is issued to.
type AttestationPerson struct {
	Imm, Surname, FirstName string
}

// AttestationDocument is everything one attestation shows. Lines is empty for the third-party kind;
// Person is set for the salary kind only, and then Lines are that person's own.
type AttestationDocument struct {
	Summary AttestationSummary
	Company AttestationCompany
	Lines   []AttestationLine
	Person  *AttestationPerson
	// VerifyURL is the base of the QR code's link: VerifyURL + "/" + Summary.Code.
	VerifyURL string
}
