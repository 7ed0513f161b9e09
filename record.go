package amane

import (
	"context"
	"errors"
	"fmt"
)

// WrappedKey is a subject's data key as stored: sealed by key-encryption key Version. Deleting it makes
// the subject's fields unrecoverable.
type WrappedKey struct {
	Version uint32
	Blob    []byte
}

// EmployerRecord is an employer as the store keeps it. Sealed fields are ciphertext bound to the record
// and field; Index fields are keyed blind indexes; EmployerIdentity is non-personal.
type EmployerRecord struct {
	ID int64
	EmployerIdentity
	Key WrappedKey

	RepSurname, RepFirstName, RepCIN, Email, Phone, RIB, Mandataire []byte // sealed

	RepCINIndex, EmailIndex, RIBIndex []byte
}

// EmployeeRecord is an insured person as the store keeps it.
type EmployeeRecord struct {
	ID              int64
	AffiliationDate string
	Key             WrappedKey

	Imm, CIN, Passport, Surname, FirstName []byte // sealed

	ImmIndex, CINIndex, PassportIndex []byte
	NameIndex                         [][]byte // one blind index per name word, for SearchEmployees
}

// Store persists records. Every method is one transaction. Methods return *Error with the codes named.
type Store interface {
	AccessStore
	DeclarationStore
	AttestationStore
	AlertStore

	// CreateEmployer allocates an id, calls seal with it (the id is bound into every ciphertext),
	// and inserts the record. ECONFLICT if the affiliation exists.
	CreateEmployer(ctx context.Context, seal func(id int64) (*EmployerRecord, error)) (int64, error)
	// UpdateEmployer replaces the record with the same ID and its data key. ENOTFOUND.
	UpdateEmployer(ctx context.Context, r *EmployerRecord) error
	// EmployerByAffiliation returns the record. ENOTFOUND.
	EmployerByAffiliation(ctx context.Context, affiliation string) (*EmployerRecord, error)

	// CreateEmployee allocates an id, seals, inserts the record and its employments (EmployeeID is
	// filled in). ECONFLICT (immatriculation or CIN index taken), ENOTFOUND (an employer id unknown).
	CreateEmployee(ctx context.Context, seal func(id int64) (*EmployeeRecord, error), jobs []Employment) (int64, error)
	// UpdateEmployee replaces the record with the same ID and its data key. ENOTFOUND, ECONFLICT.
	UpdateEmployee(ctx context.Context, r *EmployeeRecord) error
	// EmployeeByImmIndex returns the record whose immatriculation has this blind index. ENOTFOUND.
	EmployeeByImmIndex(ctx context.Context, idx []byte) (*EmployeeRecord, error)
	// EmployeeByID returns the record with this internal id. ENOTFOUND.
	EmployeeByID(ctx context.Context, id int64) (*EmployeeRecord, error)
	// EmployeesByCINIndex returns the records whose CIN or passport has this blind index.
	EmployeesByCINIndex(ctx context.Context, idx []byte) ([]*EmployeeRecord, error)
	// EmployeesByNameIndex returns up to limit records that carry every one of the name-word indexes.
	EmployeesByNameIndex(ctx context.Context, words [][]byte, limit int) ([]*EmployeeRecord, error)
	// EmployeesOf returns the records employed by an employer, with the employment, in id order.
	EmployeesOf(ctx context.Context, employerID int64) ([]*EmployeeRecord, []Employment, error)
	// Employments returns an insured person's employments with the employer's affiliation and name.
	Employments(ctx context.Context, employeeID int64) ([]Employment, error)

	// BeginLoad starts a bulk load: one transaction for the whole load (so that a bad file writes
	// nothing), committed by Loader.Commit.
	BeginLoad(ctx context.Context) (Loader, error)

	// AddOperatorToken stores the hash of an operator bearer token; OperatorToken reports whether a
	// hash is known.
	AddOperatorToken(ctx context.Context, hash []byte, label string) error
	OperatorToken(ctx context.Context, hash []byte) (bool, error)

	// KeyVersions counts the wrapped data keys per key-encryption key version.
	KeyVersions(ctx context.Context) (map[uint32]int64, error)
	// DataKeys returns up to limit data keys wrapped under version, after the given subject in
	// (kind, subject) order: the rotation's cursor.
	DataKeys(ctx context.Context, version uint32, after DataKeyRef, limit int) ([]DataKey, error)
	// RewrapDataKeys replaces each key whose stored version and blob are still Old by New, in one
	// transaction, and returns how many it replaced: a key replaced meanwhile (an update seals under a
	// fresh key) is left alone.
	RewrapDataKeys(ctx context.Context, rw []Rewrap) (int, error)

	// EraseEmployee destroys an insured person's data key, ciphertext and blind indexes, keeps the
	// internal id and employments (headcounts survive), and records the erasure. ENOTFOUND.
	EraseEmployee(ctx context.Context, id int64, e Erasure) error
	// Erasures lists the erasures recorded, oldest first.
	Erasures(ctx context.Context) ([]Erasure, error)

	// IndexVersion is the blind-index key version the store's indexes are computed with (1 until a
	// reindex).
	IndexVersion(ctx context.Context) (uint32, error)
	// BeginReindex starts the transaction that rewrites every blind index; writers wait until it ends.
	BeginReindex(ctx context.Context) (Reindexer, error)

	// Dump calls fn with every row of the store, read in one consistent snapshot while writers go on,
	// in an order Restore can insert: agencies, employers, employees, employments, operator tokens,
	// erasures, settings, accounts, passkeys, tokens, journal entries, journal hashes, checkpoints,
	// other data keys (history, request), immatriculation requests, declarations, attestations.
	Dump(ctx context.Context, fn func(*DumpItem) error) error

	Close() error
}

// Reindexer rewrites blind indexes in one transaction, and records their key version at Commit.
type Reindexer interface {
	SetEmployerIndexes(id int64, repCIN, email, rib []byte) error
	SetEmployeeIndexes(id int64, imm, cin, passport []byte, words [][]byte) error
	// SetDeclarationSeal replaces a declaration's seal, a MAC under the index key (package gate).
	SetDeclarationSeal(id int64, seal []byte) error
	Commit(version uint32) error
	Rollback() error
}

// Data-key kinds: whose key it is.
const (
	KeyEmployer = 1
	KeyEmployee = 2
)

// DataKeyRef names a data key: its kind and the subject's internal id.
type DataKeyRef struct {
	Kind    int
	Subject int64
}

// VaultSubject is the vault subject the key is bound to ("employer/12", "employee/7").
func (r DataKeyRef) VaultSubject() string { return kindSubject(r.Kind, r.Subject) }

// DataKey is a stored wrapped data key.
type DataKey struct {
	DataKeyRef
	WrappedKey
}

// Rewrap replaces one data key's wrapping.
type Rewrap struct {
	DataKeyRef
	Old, New WrappedKey
}

// Erasure records that an insured person's personal fields were destroyed.
type Erasure struct {
	EmployeeID int64  `json:"employee_id"`
	At         string `json:"at"`     // RFC 3339, UTC
	By         string `json:"by"`     // the principal's id
	Reason     string `json:"reason"` // the stated legal ground, e.g. "retention limit (law 09-08 art. 8)"
}

// DumpItem is one row of a backup: exactly one field is set.
type DumpItem struct {
	Agency        *Agency         `json:"agency,omitempty"`
	Employer      *EmployerRecord `json:"employer,omitempty"`
	Employee      *EmployeeRecord `json:"employee,omitempty"`
	Employment    *Employment     `json:"employment,omitempty"`
	OperatorToken *OperatorToken  `json:"operator_token,omitempty"`
	Erasure       *Erasure        `json:"erasure,omitempty"`
	Setting       *Setting        `json:"setting,omitempty"`
	Account       *Account        `json:"account,omitempty"`
	Passkey       *Passkey        `json:"passkey,omitempty"`
	Token         *Token          `json:"token,omitempty"`
	Journal       *JournalRow     `json:"journal,omitempty"`
	// DataKey is a key of a kind other than employer and employee (history, request keys); it comes
	// before the declarations and requests it seals.
	DataKey     *DataKey           `json:"data_key,omitempty"`
	Declaration *DeclarationRecord `json:"declaration,omitempty"`
	ImmRequest  *ImmRequestRecord  `json:"imm_request,omitempty"`
	Attestation *AttestationRecord `json:"attestation,omitempty"`
	Alert       *SecurityAlert     `json:"security_alert,omitempty"`
}

// JournalRow is one row of the access journal's tables, as a backup carries it: an entry (Index,
// Entry, Record), a stored hash of the Merkle tree (Index, Hash) or a signed checkpoint (Size, Signed).
// Exactly one group is set.
type JournalRow struct {
	Kind   string `json:"kind"` // "entry", "hash", "checkpoint"
	Index  int64  `json:"index,omitempty"`
	Entry  []byte `json:"entry,omitempty"`
	Record string `json:"record,omitempty"`
	Hash   []byte `json:"hash,omitempty"`
	Size   int64  `json:"size,omitempty"`
	Signed []byte `json:"signed,omitempty"`
}

// Setting is a store-wide setting, such as the blind-index key version.
type Setting struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// OperatorToken is a stored operator token: its hash, never the token.
type OperatorToken struct {
	Hash    []byte `json:"hash"`
	Label   string `json:"label"`
	Created string `json:"created"`
}

// Loader is one bulk-load transaction. Its id allocators may be called from several goroutines; the
// Put methods from one goroutine only.
type Loader interface {
	NextEmployerID() int64
	NextEmployeeID() int64
	// PutEmployer inserts the record unless its affiliation exists; it returns the id in the store and
	// whether it inserted.
	PutEmployer(r *EmployerRecord) (id int64, inserted bool, err error)
	// PutEmployee inserts the record unless its immatriculation index exists; same results.
	PutEmployee(r *EmployeeRecord) (id int64, inserted bool, err error)
	// PutEmployment inserts the employment unless the pair exists, and says whether it inserted.
	PutEmployment(e Employment) (bool, error)
	// EmployerID returns the id of an existing employer by affiliation, 0 if none.
	EmployerID(affiliation string) (int64, error)
	// Restore only (into an empty store): rows that have no other way in. An employee record with no
	// key blob is an erased person.
	PutAgency(a Agency) error
	PutOperatorToken(t OperatorToken) error
	PutErasure(e Erasure) error
	PutSetting(s Setting) error
	PutAccount(a Account) error
	PutPasskey(p Passkey) error
	PutToken(t Token) error
	PutJournal(r JournalRow) error
	PutDataKey(k DataKey) error
	PutDeclaration(r *DeclarationRecord) error
	PutImmRequest(r *ImmRequestRecord) error
	PutAttestation(r *AttestationRecord) error
	// PutAlert inserts a sentinel alert with its id, lifted or not.
	PutAlert(a *SecurityAlert) error
	Commit() error
	Rollback() error
}

// PutDumpItem writes one row of a dump into a restore's loader (an empty store): each kind to its Put
// method. An employer, employee or employment the store did not insert as dumped (its key taken, its
// id changed) is an error: a restore reproduces the store or fails.
func PutDumpItem(l Loader, it *DumpItem) error {
	switch {
	case it.Agency != nil:
		return l.PutAgency(*it.Agency)
	case it.Employer != nil:
		id, ok, err := l.PutEmployer(it.Employer)
		if err == nil && (!ok || id != it.Employer.ID) {
			err = fmt.Errorf("employer %d: its affiliation is already taken", it.Employer.ID)
		}
		return err
	case it.Employee != nil:
		id, ok, err := l.PutEmployee(it.Employee)
		if err == nil && (!ok || id != it.Employee.ID) {
			err = fmt.Errorf("employee %d: its immatriculation index is already taken", it.Employee.ID)
		}
		return err
	case it.Employment != nil:
		ok, err := l.PutEmployment(*it.Employment)
		if err == nil && !ok {
			err = fmt.Errorf("employment of employee %d with employer %d appears twice", it.Employment.EmployeeID, it.Employment.EmployerID)
		}
		return err
	case it.OperatorToken != nil:
		return l.PutOperatorToken(*it.OperatorToken)
	case it.Erasure != nil:
		return l.PutErasure(*it.Erasure)
	case it.Setting != nil:
		return l.PutSetting(*it.Setting)
	case it.Account != nil:
		return l.PutAccount(*it.Account)
	case it.Passkey != nil:
		return l.PutPasskey(*it.Passkey)
	case it.Token != nil:
		return l.PutToken(*it.Token)
	case it.Journal != nil:
		return l.PutJournal(*it.Journal)
	case it.DataKey != nil:
		return l.PutDataKey(*it.DataKey)
	case it.ImmRequest != nil:
		return l.PutImmRequest(it.ImmRequest)
	case it.Declaration != nil:
		return l.PutDeclaration(it.Declaration)
	case it.Attestation != nil:
		return l.PutAttestation(it.Attestation)
	case it.Alert != nil:
		return l.PutAlert(it.Alert)
	}
	return errors.New("a dump row of no kind")
}
