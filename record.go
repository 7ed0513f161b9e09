package amane

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
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

// The store is a set of services, one per entity, the way every consumer takes only the ones it uses
// (the gate most of them, web only SignInStore, keys only KeyStore): the types show what each can
// reach. Both stores (sqlite, postgres) implement every one. Every method is one transaction and
// returns *Error with the codes named.

// EmployerStore keeps employers' records.
type EmployerStore interface {
	// CreateEmployer allocates an id, calls seal with it (the id is bound into every ciphertext),
	// and inserts the record. ECONFLICT if the affiliation exists.
	CreateEmployer(ctx context.Context, seal func(id int64) (*EmployerRecord, error)) (int64, error)
	// UpdateEmployer replaces the record with the same ID and its data key. ENOTFOUND.
	UpdateEmployer(ctx context.Context, r *EmployerRecord) error
	// EmployerByAffiliation returns the record. ENOTFOUND.
	EmployerByAffiliation(ctx context.Context, affiliation string) (*EmployerRecord, error)
	// EmployerByID returns an employer's record by internal id. ENOTFOUND.
	EmployerByID(ctx context.Context, id int64) (*EmployerRecord, error)
	// EmployersByAffiliation returns the employers of a batch of affiliations (absent ones are left
	// out), in one query: a bulk load of declarations asks for hundreds at once.
	EmployersByAffiliation(ctx context.Context, affiliations []string) (map[string]*EmployerRecord, error)
	// EmployerIDByAffiliation returns the internal id of the employer with this affiliation and
	// nothing of its record: enough to know that it exists. ENOTFOUND.
	EmployerIDByAffiliation(ctx context.Context, affiliation string) (int64, error)
	// EmployerIdentityByID returns the non-personal part of an employer's record (no ciphertext, no
	// blind index). ENOTFOUND.
	EmployerIdentityByID(ctx context.Context, id int64) (*EmployerIdentity, error)
}

// EmployeeStore keeps insured people's records.
type EmployeeStore interface {
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
}

// EmploymentStore keeps who works where: employments, validated or pending.
type EmploymentStore interface {
	// EmployeesOf returns the records employed by an employer, with the employment, in id order.
	EmployeesOf(ctx context.Context, employerID int64) ([]*EmployeeRecord, []Employment, error)
	// Employments returns an insured person's employments with the employer's affiliation and name.
	Employments(ctx context.Context, employeeID int64) ([]Employment, error)
	// DeclarationPeople returns, for each employer id asked, the people it employs (any state).
	DeclarationPeople(ctx context.Context, employerIDs []int64) (map[int64][]DeclarationPerson, error)
	// ValidateEmployment turns a pending employment into a validated one. ENOTFOUND when there is no
	// pending employment of this person at this employer.
	ValidateEmployment(ctx context.Context, employeeID, employerID int64) error
}

// LoadStore starts bulk loads.
type LoadStore interface {
	// BeginLoad starts a bulk load: one transaction for the whole load (so that a bad file writes
	// nothing), committed by Loader.Commit.
	BeginLoad(ctx context.Context) (Loader, error)
}

// KeyStore keeps the wrapped data keys and what depends on the keys: rotation's rewrap, erasure (a
// destroyed data key), the blind-index key version and the reindex.
type KeyStore interface {
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
}

// BackupStore is a store's side of backups: a consistent dump and a restore into an empty store,
// both driven by the store's one ordered list of tables (DumpKinds is their order).
type BackupStore interface {
	// Dump calls fn with every row of the store, read in one consistent snapshot while writers go on,
	// in an order Restore can insert: the order of DumpKinds (agencies, employers, employees,
	// employments, operator tokens, erasures, settings, accounts, passkeys, tokens, journal entries,
	// journal hashes, checkpoints, other data keys (history, request), immatriculation requests,
	// declarations, attestations, alerts, cases).
	Dump(ctx context.Context, fn func(*DumpItem) error) error
	// BeginRestore starts a restore: one transaction for the whole restore (so that a bad backup
	// writes nothing), committed by Restorer.Commit.
	BeginRestore(ctx context.Context) (Restorer, error)
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
	// Case is a dossier with its records and staff (issue 14); backups before cases hold none.
	Case *Case `json:"case,omitempty"`
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
	Commit() error
	Rollback() error
}

// Restorer is one restore transaction into an empty store.
type Restorer interface {
	// NextEmployerID and NextEmployeeID allocate ids as a Loader does: both are 1 in an empty store.
	NextEmployerID() int64
	NextEmployeeID() int64
	// Put inserts one row of a dump, by its kind, into the table the store's table list names for it.
	// An employee record with no key blob is an erased person. An employer, employee or employment
	// not inserted as dumped is an error (RestoreEmployer, RestoreEmployee, RestoreEmployment): a
	// restore reproduces the store or fails.
	Put(it *DumpItem) error
	Commit() error
	Rollback() error
}

// DumpKinds are the kinds of dump rows, each the JSON key of one DumpItem field, in the order a dump
// writes them and a restore inserts them: a row comes after the rows it refers to. Each store keeps
// one ordered list of its tables in this order, which both its Dump and its Restorer read: a new
// table is a DumpItem field, a kind here, and one entry in each store's list.
var DumpKinds = []string{"agency", "employer", "employee", "employment", "operator_token", "erasure", "setting",
	"account", "passkey", "token", "journal", "data_key", "imm_request", "declaration", "attestation", "security_alert", "case"}

// Kind returns the kind of the one field set (its JSON key), or an error if there is not exactly one.
func (it *DumpItem) Kind() (string, error) {
	v := reflect.ValueOf(it).Elem()
	kind, n := "", 0
	for i := range v.NumField() {
		if !v.Field(i).IsNil() {
			kind, _, _ = strings.Cut(v.Type().Field(i).Tag.Get("json"), ",")
			n++
		}
	}
	switch n {
	case 0:
		return "", errors.New("a dump row of no kind")
	case 1:
		return kind, nil
	}
	return "", fmt.Errorf("a dump row of %d kinds", n)
}

// RestoreEmployer inserts a restored employer through l, and fails unless it was inserted with its
// dumped id (its affiliation taken).
func RestoreEmployer(l Loader, r *EmployerRecord) error {
	id, ok, err := l.PutEmployer(r)
	if err == nil && (!ok || id != r.ID) {
		err = fmt.Errorf("employer %d: its affiliation is already taken", r.ID)
	}
	return err
}

// RestoreEmployee inserts a restored employee through l, and fails unless it was inserted with its
// dumped id (its immatriculation index taken).
func RestoreEmployee(l Loader, r *EmployeeRecord) error {
	id, ok, err := l.PutEmployee(r)
	if err == nil && (!ok || id != r.ID) {
		err = fmt.Errorf("employee %d: its immatriculation index is already taken", r.ID)
	}
	return err
}

// RestoreEmployment inserts a restored employment through l, and fails if it was there already.
func RestoreEmployment(l Loader, e Employment) error {
	ok, err := l.PutEmployment(e)
	if err == nil && !ok {
		err = fmt.Errorf("employment of employee %d with employer %d appears twice", e.EmployeeID, e.EmployerID)
	}
	return err
}
