package amane

import (
	"context"
	"fmt"
	"strconv"
	"time"
)

// Declaration statuses. A declaration with any problem is refused whole and not stored: "rejetee"
// is only ever an answer, never a stored state.
const (
	DeclReceived = "recue"
	DeclAccepted = "acceptee"
	DeclRejected = "rejetee"
)

// OccasionalInsured is the insured number a new occasional employee carries in a B04 line.
const OccasionalInsured = "999999999"

// ErasedLine is the surname an opened declaration shows on a line whose person was erased: their
// history key is gone, and the line with it.
const ErasedLine = "(efface)"

// MaxDaysPerMonth is the most days a line may declare for one month.
const MaxDaysPerMonth = 26

// Situations of a declared line (Damancom L_Situation). "" is an ordinary month.
var Situations = []string{"", "SO", "DE", "IT", "IL", "AT", "CS", "MS", "MP"}

// Declaration is an employer's monthly salary declaration: what the employer sends (lines, new
// employees) and what Amane computes (totals, contributions). Its lines are personal data: the store
// keeps each line sealed under the insured person's own history key.
type Declaration struct {
	Affiliation string `json:"affiliation"`
	Period      string `json:"periode"` // AAAAMM
	// Seq is 0 for the principal declaration, n for the period's n-th complementary declaration.
	Seq      int    `json:"complementaire,omitempty"`
	Status   string `json:"statut,omitempty"`
	Received string `json:"recue_le,omitempty"` // RFC 3339, UTC

	Header DeclarationHeader `json:"entete"`
	Lines  []DeclarationLine `json:"lignes"`
	New    []NewEmployeeLine `json:"nouveaux,omitempty"`

	Totals        DeclarationTotals `json:"totaux"`
	Contributions Contributions     `json:"cotisations"`
}

// DeclarationHeader is the non-personal envelope of a Damancom file, kept so that a stored declaration
// exports back byte for byte: the transfer identifier, the employer block as the file wrote it, and
// the file's layout choices.
type DeclarationHeader struct {
	Transfer   string `json:"identifiant_transfert,omitempty"` // N14, from the préétabli
	Name       string `json:"raison_sociale,omitempty"`
	Activity   string `json:"activite,omitempty"`
	Address    string `json:"adresse,omitempty"`
	City       string `json:"ville,omitempty"`
	PostalCode string `json:"code_postal,omitempty"`
	Agency     string `json:"code_agence,omitempty"`
	IssueDate  string `json:"date_emission,omitempty"`    // AAAAMMJJ
	DueDate    string `json:"date_exigibilite,omitempty"` // AAAAMMJJ
	BlankB04   bool   `json:"b04_vide,omitempty"`
	CRLF       bool   `json:"crlf,omitempty"`
}

// DeclarationLine is one insured person's month (a B02 record). Amounts are in centimes.
type DeclarationLine struct {
	Imm        string `json:"immatriculation"`
	Surname    string `json:"nom,omitempty"`
	FirstName  string `json:"prenom,omitempty"`
	Children   int    `json:"enfants,omitempty"`
	AFToPay    int64  `json:"af_a_payer,omitempty"`
	AFToDeduct int64  `json:"af_a_deduire,omitempty"`
	AFNet      int64  `json:"af_net,omitempty"`
	AFToReturn int64  `json:"af_a_reverser,omitempty"`
	Days       int    `json:"jours"`
	Salary     int64  `json:"salaire_reel"`
	Capped     int64  `json:"salaire_plafonne"`
	Situation  string `json:"situation,omitempty"`
	// Line is the line number in the file it came from (0 for the JSON API): reports name it.
	Line int `json:"-"`
}

// NewEmployeeLine is a new employee (a B04 record): an insured person not on the préétabli, or a
// person without an immatriculation yet (then a request is opened), or an occasional employee.
type NewEmployeeLine struct {
	Imm       string `json:"immatriculation"`
	Surname   string `json:"nom,omitempty"`
	FirstName string `json:"prenom,omitempty"`
	CIN       string `json:"cin,omitempty"`
	Days      int    `json:"jours"`
	Salary    int64  `json:"salaire_reel"`
	Capped    int64  `json:"salaire_plafonne"`
	Line      int    `json:"-"`
}

// DeclarationTotals are a declaration's aggregates: the employer's payroll, not a person's.
type DeclarationTotals struct {
	Headcount int   `json:"effectif"`
	Days      int64 `json:"jours"`
	Payroll   int64 `json:"masse_salariale"` // sum of real salaries, centimes
	Capped    int64 `json:"masse_plafonnee"` // sum of capped salaries, centimes
}

// Compute returns the totals of the lines and new employees.
func (d *Declaration) ComputeTotals() DeclarationTotals {
	var t DeclarationTotals
	for _, l := range d.Lines {
		t.Headcount++
		t.Days += int64(l.Days)
		t.Payroll += l.Salary
		t.Capped += l.Capped
	}
	for _, n := range d.New {
		t.Headcount++
		t.Days += int64(n.Days)
		t.Payroll += n.Salary
		t.Capped += n.Capped
	}
	return t
}

// DeclarationSummary is one declaration without its lines: what history pages and attestations use.
type DeclarationSummary struct {
	Affiliation string            `json:"affiliation"`
	Period      string            `json:"periode"`
	Seq         int               `json:"complementaire,omitempty"`
	Status      string            `json:"statut"`
	Received    string            `json:"recue_le"`
	Totals      DeclarationTotals `json:"totaux"`
	Due         int64             `json:"cotisations_dues"` // centimes, employer + employee shares
}

// DeclarationResult is the answer to a submission: accepted (with the stored declaration's summary
// and contributions) or rejected (with every problem). Duplicate is set when the same content was
// already accepted: nothing was written and the first result is returned.
type DeclarationResult struct {
	Status        string             `json:"statut"`
	Duplicate     bool               `json:"deja_recue,omitempty"`
	Summary       DeclarationSummary `json:"declaration"`
	Contributions *Contributions     `json:"cotisations,omitempty"`
	Requests      int                `json:"demandes_immatriculation,omitempty"`
	// Pending counts the new employees (B04) declared with an insured number, awaiting an agent:
	// a person known elsewhere (a pending employment) or a number Amane does not know (a request
	// carrying it) alike, so that the answer does not tell which numbers exist.
	Pending  int          `json:"emplois_en_attente,omitempty"`
	Problems []FieldError `json:"erreurs,omitempty"`
}

// Declarations is the declaration service (package gate implements it, through the door).
type Declarations interface {
	// SubmitDeclaration validates every rule at once and stores the declaration, or stores nothing and
	// returns a result with status rejetee and every problem (line, record, field, expected, found).
	// Submitting content already accepted returns the first result. d.Seq > 0 asks for a
	// complementary declaration of an accepted period.
	SubmitDeclaration(ctx context.Context, d *Declaration) (*DeclarationResult, error)
	// Declaration returns the declarations of a period (principal first, then complementary ones),
	// every line: for writing a file back (an export, counted and admitted whole by the sentinel);
	// DeclarationPage reads them a page at a time. ENOTFOUND if none.
	Declaration(ctx context.Context, affiliation, period string) ([]Declaration, error)
	// DeclarationHistory lists an employer's declarations, newest period first, without lines.
	DeclarationHistory(ctx context.Context, affiliation string) ([]DeclarationSummary, error)
	// Preetabli returns what CNSS sends the employer for a period: the employer block and one line per
	// insured person employed (validated employments), with zero days and salary.
	Preetabli(ctx context.Context, affiliation, period string) (*Declaration, error)
}

// ParsePeriod checks an AAAAMM period and returns its first day (UTC).
func ParsePeriod(p string) (time.Time, error) {
	if len(p) != 6 {
		return time.Time{}, fmt.Errorf("a period is AAAAMM, 6 digits")
	}
	t, err := time.Parse("200601", p)
	if err != nil || t.Year() < 1959 {
		return time.Time{}, fmt.Errorf("a period is AAAAMM with a month 01–12")
	}
	return t, nil
}

// PeriodOf returns the AAAAMM period of t.
func PeriodOf(t time.Time) string { return t.UTC().Format("200601") }

// DeclarationRecord is a declaration as the store keeps it. The aggregates, the header and the
// contributions are non-personal and in clear; Lines is the gate's sealed blob (each line sealed
// under its person's history key, see package gate); Digest is a keyed hash of the content, for
// idempotent submission (never a plain hash: salaries are guessable).
type DeclarationRecord struct {
	ID            int64             `json:"id"`
	EmployerID    int64             `json:"employer_id"`
	Period        string            `json:"period"`
	Seq           int               `json:"seq"`
	Status        string            `json:"status"`
	Received      string            `json:"received"`
	Digest        []byte            `json:"digest"`
	Header        DeclarationHeader `json:"header"`
	Totals        DeclarationTotals `json:"totals"`
	Contributions Contributions     `json:"contributions"`
	Lines         []byte            `json:"lines"`
	// Seal authenticates everything above but Lines (and ID): the gate's keyed MAC over the
	// employer, period, seq, status, received, digest, header, totals and contributions, checked on
	// every read that shows or signs them. The figures are in clear for SQL sums and history pages;
	// the seal is what makes an edit of them in the store an integrity error. nil on a row written
	// before seals existed (see gate.SealLegacyDeclarations).
	Seal []byte `json:"seal,omitempty"`
}

// DeclarationPerson is what the gate needs to check and seal a line: an insured person employed by the
// declaring employer (any employment state), found by the immatriculation's blind index, with the
// person's history key (empty until the first declaration that names them).
type DeclarationPerson struct {
	ID       int64
	ImmIndex []byte
	State    string
	History  WrappedKey
	// The person's data key and sealed names (nil when erased): a B02 line's name is checked against
	// the registry's, as the préétabli writes it.
	Key                WrappedKey
	Surname, FirstName []byte
}

// ImmRequestRecord is an immatriculation request opened by a B04 line naming a person Amane does not
// know. Its personal content (names, CIN, the month) is the line itself, sealed in the declaration
// under the request's own data key (kind KeyRequest); CINIndex lets an agent find it.
type ImmRequestRecord struct {
	ID         int64  `json:"id"`
	EmployerID int64  `json:"employer_id"`
	Period     string `json:"period"`
	CINIndex   []byte `json:"cin_index,omitempty"`
	State      string `json:"state"`
	Created    string `json:"created"`
	Key        WrappedKey
}

// DeclarationBatch is what one store transaction writes for one or more accepted declarations.
type DeclarationBatch struct {
	Declarations []*DeclarationRecord
	// HistoryKeys are new history keys (kind KeyHistory) for people declared for the first time.
	HistoryKeys []DataKey
	// Pending are new pending employments (B04 lines naming a known person not yet employed here).
	Pending []Employment
	// Requests are new immatriculation requests; their IDs were allocated by NextRequestIDs.
	Requests []*ImmRequestRecord
}

// DeclarationStore is the store's side of declarations.
type DeclarationStore interface {
	// PutDeclarations writes a batch in one transaction: every declaration or none. ECONFLICT
	// (field "periode") if a declaration with the same employer, period and seq exists; a history key
	// that exists already is a conflict too (field "history_key"): the caller re-reads and reseals.
	PutDeclarations(ctx context.Context, b *DeclarationBatch) error
	// Declarations returns an employer's declarations of a period, by seq, with their lines.
	Declarations(ctx context.Context, employerID int64, period string) ([]*DeclarationRecord, error)
	// DeclarationSummaries returns an employer's declarations, newest period first, without lines
	// (Lines nil).
	DeclarationSummaries(ctx context.Context, employerID int64) ([]*DeclarationRecord, error)
	// DeclaredPeriods returns the periods of an employer's principal declarations (seq 0), newest
	// first, and nothing else of them.
	DeclaredPeriods(ctx context.Context, employerID int64) ([]string, error)
	// PriorDeclarations returns, for each employer of the batch, its declarations (with their lines)
	// of the latest period before period that it declared, by seq: the figures of record a
	// préétabli carries and a declaration repeats. Employers without one are absent.
	PriorDeclarations(ctx context.Context, period string, employerIDs []int64) (map[int64][]*DeclarationRecord, error)
	// PeriodDeclarations returns the declarations of one period for a batch of employers, by employer
	// and seq, without their lines (Lines nil): what a submission checks (closed period, same content).
	PeriodDeclarations(ctx context.Context, period string, employerIDs []int64) (map[int64][]*DeclarationRecord, error)
	// DeclarationByDigest returns the declaration of employer and period with this digest. ENOTFOUND.
	DeclarationByDigest(ctx context.Context, employerID int64, period string, digest []byte) (*DeclarationRecord, error)
	// HistoryKey returns an insured person's wrapped history key, empty (no Blob) when they have none
	// yet: a B04 line naming a person declared elsewhere is sealed under their existing key.
	HistoryKey(ctx context.Context, employeeID int64) (WrappedKey, error)
	// UnsealedDeclarations returns up to limit declarations without a seal (rows written before seals
	// existed), with their lines, by id after the given one.
	UnsealedDeclarations(ctx context.Context, after int64, limit int) ([]*DeclarationRecord, error)
	// SetDeclarationSeal stores a declaration's seal where it has none (a legacy row the gate has
	// checked against its sealed lines). ENOTFOUND when the row is gone or sealed already.
	SetDeclarationSeal(ctx context.Context, id int64, seal []byte) error
}

// ImmRequestStore keeps immatriculation requests, opened by B04 lines naming people Amane does not
// know.
type ImmRequestStore interface {
	// NextRequestIDs reserves n immatriculation-request ids (their data keys bind them before the
	// write).
	NextRequestIDs(ctx context.Context, n int) (first int64, err error)
	// ImmRequests lists an employer's open immatriculation requests.
	ImmRequests(ctx context.Context, employerID int64) ([]*ImmRequestRecord, error)
}

// Data-key kinds beyond KeyEmployer and KeyEmployee.
const (
	// KeyHistory: an insured person's history key, sealing their declared lines (random nonces, many
	// seals). Erasing the person destroys it with their data key.
	KeyHistory = 3
	// KeyRequest: an immatriculation request's key, sealing its B04 line.
	KeyRequest = 4
)

func kindSubject(kind int, id int64) string {
	s := strconv.FormatInt(id, 10)
	switch kind {
	case KeyEmployer:
		return "employer/" + s
	case KeyEmployee:
		return "employee/" + s
	case KeyHistory:
		return "history/" + s
	case KeyRequest:
		return "request/" + s
	}
	return "unknown/" + s
}
