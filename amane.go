// Package amane holds the domain of the Amane social-security registry: employers, insured employees,
// employments and agencies; the error vocabulary; the services the adapters call (EmployerService,
// EmployeeService, Declarations, Pager, AccessLogService) and the store services the registry writes
// to (EmployerStore, EmployeeStore, … one per entity). It imports no database driver, no net/http and
// no cryptography (only tlog's hash type, for JournalStore): the vault seals, the gate decides, the
// stores persist, the web and the CLI talk to users.
//
// Personal data (a natural person's names, CIN or passport, immatriculation, e-mail, phone, and the
// RIB) appears in plaintext only in the domain types below, between the gate and the user. The store
// sees the same data as *Record types: ciphertext, blind indexes, internal identifiers and non-personal
// business data.
package amane

import (
	"context"
	"time"
)

// Account states of an employer.
const (
	AccountActive    = "actif"
	AccountSuspended = "suspendu"
	AccountStruckOff = "radie"
)

// Tele-payment modes.
const (
	PayTransfer    = "virement"
	PayDirectDebit = "prelevement"
	PayATM         = "gab"
	PayCard        = "carte"
)

// Employment (affiliation request) states.
const (
	EmploymentValidated = "validee"
	EmploymentPending   = "en_attente"
	EmploymentRejected  = "rejetee"
)

// Legal forms accepted for an employer.
var LegalForms = []string{"SARL", "SARL AU", "SA", "SNC", "SCS", "Personne physique", "Coopérative", "Association"}

// Agency is a CNSS agency. An agent's scope is its agency's employers and their employees.
type Agency struct {
	Code string `json:"code"`
	Name string `json:"name"`
	City string `json:"city"`
}

// EmployerIdentity is the non-personal part of an employer: the company's public identity, dates and
// states. The store keeps it in clear.
type EmployerIdentity struct {
	Affiliation     string `json:"affiliation"`
	Name            string `json:"raison_sociale"`
	Activity        string `json:"activite"`
	Address         string `json:"adresse"`
	City            string `json:"ville"`
	AdhesionDate    string `json:"date_adhesion"`
	AffiliationDate string `json:"date_affiliation"`
	ICE             string `json:"ice"`
	RC              string `json:"rc"`
	TP              string `json:"tp"`
	IF              string `json:"if"`
	LegalForm       string `json:"forme_juridique"`
	Agency          string `json:"agence"`
	AccountState    string `json:"etat_compte"`
	PaymentMode     string `json:"mode_telepaiement"`
	BankCode        string `json:"code_banque"`
	BankAccountDate string `json:"date_creation_compte"`
}

// Representative is an employer's legal representative: a natural person.
type Representative struct {
	Surname   string `json:"nom"`
	FirstName string `json:"prenom"`
	CIN       string `json:"cin"`
}

// Employer is an affiliated entity with its personal fields in plaintext.
type Employer struct {
	ID int64 `json:"id"`
	EmployerIdentity
	Representative Representative `json:"representant"`
	Email          string         `json:"email"`
	Phone          string         `json:"telephone"`
	RIB            string         `json:"rib"`
	Mandataire     string         `json:"mandataire,omitempty"`
}

// Employee is an insured person.
type Employee struct {
	ID              int64        `json:"id"`
	Immatriculation string       `json:"immatriculation"`
	CIN             string       `json:"cin,omitempty"`
	Passport        string       `json:"passeport,omitempty"`
	Surname         string       `json:"nom"`
	FirstName       string       `json:"prenom"`
	AffiliationDate string       `json:"date_affiliation"`
	Employments     []Employment `json:"emplois,omitempty"`
	// Erased: the person's personal fields were destroyed (crypto-shredding); only the internal id,
	// the affiliation date and the employments remain.
	Erased bool `json:"efface,omitempty"`
}

// Employment links an insured person to an employer.
type Employment struct {
	EmployeeID   int64  `json:"-"`
	EmployerID   int64  `json:"-"`
	Affiliation  string `json:"affiliation"`
	EmployerName string `json:"employeur,omitempty"`
	Agency       string `json:"agence,omitempty"` // the employer's agency: an agent's scope
	Since        string `json:"depuis"`
	State        string `json:"etat"`
}

// EmployerWithEmployees is what `amane employer show` and GET /api/v1/employers/{affiliation} return.
type EmployerWithEmployees struct {
	Employer
	Employees []Employee `json:"salaries"`
	// Next is the cursor of the next page of employees (see Page), "" on the last.
	Next string `json:"next,omitempty"`
}

// The services every adapter calls, one per thing served: EmployerService, EmployeeService,
// Declarations, Pager (their paged reads) and AccessLogService. Their implementation (package gate)
// is the one door: it decrypts only after deciding who asks and why. Each adapter composes the ones
// it uses (web.Registry); none holds more than a dozen methods.

// EmployerService reads and writes employers.
type EmployerService interface {
	// Employer returns the employer with the first page of its employees (EmployerPage). ENOTFOUND if none.
	Employer(ctx context.Context, affiliation string) (*EmployerWithEmployees, error)
	// CreateEmployer validates and stores a new employer. EINVALID (every bad field at once),
	// ECONFLICT if the affiliation exists.
	CreateEmployer(ctx context.Context, e *Employer) error
	// UpdateEmployer replaces an employer's fields. EINVALID, ENOTFOUND.
	UpdateEmployer(ctx context.Context, e *Employer) error
}

// EmployeeService reads, finds and writes insured people.
type EmployeeService interface {
	// Employee returns an insured person by immatriculation. ENOTFOUND if none.
	Employee(ctx context.Context, imm string) (*Employee, error)
	// EmployeesByCIN returns the insured people holding a CIN (normally one). EINVALID if it is malformed.
	EmployeesByCIN(ctx context.Context, cin string) ([]Employee, error)
	// SearchEmployees finds insured people whose names contain every word of query, ignoring case and
	// accents, at most limit (capped at MaxPage). EINVALID if the query has no word.
	SearchEmployees(ctx context.Context, query string, limit int) ([]Employee, error)
	// CreateEmployee validates and stores a new insured person with its employments.
	// EINVALID, ECONFLICT (immatriculation or CIN taken), ENOTFOUND (unknown employer).
	CreateEmployee(ctx context.Context, e *Employee) error
	// UpdateEmployee replaces an insured person's fields (the immatriculation identifies it).
	UpdateEmployee(ctx context.Context, e *Employee) error

	// EmployeeByID returns an insured person by internal id: pages put ids in URLs, never identifiers.
	EmployeeByID(ctx context.Context, id int64) (*Employee, error)
}

// Fields that responses mask unless revealed (JSON names; RevealAll asks for all).
const (
	FieldCIN        = "cin"
	FieldPassport   = "passeport"
	FieldRepCIN     = "representant.cin"
	FieldEmail      = "email"
	FieldPhone      = "telephone"
	FieldRIB        = "rib"
	FieldMandataire = "mandataire"
)

// Clock returns the current time; services hold one as a field so that tests can fix it.
type Clock func() time.Time
