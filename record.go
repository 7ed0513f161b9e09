package amane

import "context"

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

	Close() error
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
