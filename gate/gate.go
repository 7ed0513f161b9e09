// Package gate is the one door for personal data. It implements the registry's services
// (amane.EmployerService, EmployeeService, Declarations, Pager, AccessLogService) over a store and a
// vault, and it alone holds the vault's Opener: no other package can turn a ciphertext into plaintext
// (TestOnlyGateOpens type-checks every package that depends on the vault and fails if one reaches the
// Opener, under any name or alias).
//
// Every read follows one order: who asks (a principal in the context) → may they (role) → find the
// record by blind index → unwrap its data key → open the fields. Every write: validate every field
// (all errors at once) → normalize → seal each personal field under the subject's data key, bound to
// the record and the field → compute blind indexes → store, in one transaction.
//
// Every access to personal data passes policy.go first: principal → role → purpose → scope (decided on
// ciphertext records, internal ids and non-personal business data) → a journal entry, durable → only
// then unwrap, open, and mask what was not revealed. Refusals are journaled too. The sentinel, when
// one is in use (UseSentinel), refuses a suspended principal and slows a throttled one before the
// role is checked, counts the records a release would return before it is journaled (admit.go), and
// is told of every journaled decision.
package gate

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"amane"
	"amane/journal"
	"amane/vault"
)

// Field names: the column names, bound into each ciphertext's associated data.
const (
	fRepSurname   = "rep_nom"
	fRepFirstName = "rep_prenom"
	fRepCIN       = "rep_cin"
	fEmail        = "email"
	fPhone        = "telephone"
	fRIB          = "rib"
	fMandataire   = "mandataire"
	fImm          = "imm"
	fCIN          = "cin"
	fPassport     = "passeport"
	fSurname      = "nom"
	fFirstName    = "prenom"
)

// Blind-index kinds. An employee's CIN and a representative's CIN share the kind "cin" so that one
// lookup finds a person in both roles.
const (
	kImm      = "imm"
	kCIN      = "cin"
	kPassport = "passport"
	kEmail    = "email"
	kRIB      = "rib"
	kName     = "name"
)

// Store is what the gate reads and writes of the store: the record services it opens and seals for,
// and Dump, which the reindex reads every record through. The journal's store comes apart
// (UseJournal); bulk loads and restores do not go through the gate's store.
type Store interface {
	amane.EmployerStore
	amane.EmployeeStore
	amane.EmploymentStore
	amane.DeclarationStore
	amane.ImmRequestStore
	amane.AccountStore
	amane.TokenStore
	amane.KeyStore
	amane.AttestationStore
	amane.AlertStore
	amane.CaseStore
	Dump(ctx context.Context, fn func(*amane.DumpItem) error) error
}

// Gate implements the registry's services.
type Gate struct {
	store    Store
	vault    *vault.Vault
	opener   *vault.Opener
	journal  Journal
	jstore   journal.Store
	purposes []amane.PurposeChoice
	sentinel Sentinel
	binding  *binding // nil: reads are not bound to cases (UseCaseBinding)
	Now      amane.Clock
}

var (
	_ amane.EmployerService  = (*Gate)(nil)
	_ amane.EmployeeService  = (*Gate)(nil)
	_ amane.Declarations     = (*Gate)(nil)
	_ amane.Pager            = (*Gate)(nil)
	_ amane.AccessLogService = (*Gate)(nil)
)

// New returns the gate over store and v. It is the only caller of vault.NewOpener.
func New(store Store, v *vault.Vault) *Gate {
	return &Gate{store: store, vault: v, opener: vault.NewOpener(v), purposes: amane.DefaultPurposes, Now: time.Now}
}

func employerSubject(id int64) string { return fmt.Sprintf("employer/%d", id) }
func employeeSubject(id int64) string { return fmt.Sprintf("employee/%d", id) }

// SealEmployer turns a validated employer into the record the store keeps, bound to id.
func (g *Gate) SealEmployer(id int64, e *amane.Employer) (*amane.EmployerRecord, error) {
	subject := employerSubject(id)
	dk, ver, wrapped, err := g.vault.NewDataKey(subject)
	if err != nil {
		return nil, err
	}
	r := &amane.EmployerRecord{ID: id, EmployerIdentity: e.EmployerIdentity, Key: amane.WrappedKey{Version: ver, Blob: wrapped}}
	if err := g.sealEmployerFields(dk, r, e); err != nil {
		return nil, err
	}
	return r, nil
}

func (g *Gate) sealEmployerFields(dk *vault.DataKey, r *amane.EmployerRecord, e *amane.Employer) error {
	var s sealer
	r.RepSurname = s.seal(dk, fRepSurname, e.Representative.Surname)
	r.RepFirstName = s.seal(dk, fRepFirstName, e.Representative.FirstName)
	r.RepCIN = s.seal(dk, fRepCIN, e.Representative.CIN)
	r.Email = s.seal(dk, fEmail, e.Email)
	r.Phone = s.seal(dk, fPhone, e.Phone)
	r.RIB = s.seal(dk, fRIB, e.RIB)
	r.Mandataire = s.seal(dk, fMandataire, e.Mandataire)
	employerIndexes(g.vault, r, e)
	return s.err
}

// employerIndexes computes an employer's blind indexes with v's index key.
func employerIndexes(v *vault.Vault, r *amane.EmployerRecord, e *amane.Employer) {
	r.RepCINIndex = v.Index(kCIN, e.Representative.CIN)
	r.EmailIndex = v.Index(kEmail, e.Email)
	r.RIBIndex = v.Index(kRIB, e.RIB)
}

// SealEmployee turns a validated insured person into the record the store keeps, bound to id.
func (g *Gate) SealEmployee(id int64, e *amane.Employee) (*amane.EmployeeRecord, error) {
	subject := employeeSubject(id)
	dk, ver, wrapped, err := g.vault.NewDataKey(subject)
	if err != nil {
		return nil, err
	}
	r := &amane.EmployeeRecord{ID: id, AffiliationDate: e.AffiliationDate, Key: amane.WrappedKey{Version: ver, Blob: wrapped}}
	if err := g.sealEmployeeFields(dk, r, e); err != nil {
		return nil, err
	}
	return r, nil
}

func (g *Gate) sealEmployeeFields(dk *vault.DataKey, r *amane.EmployeeRecord, e *amane.Employee) error {
	var s sealer
	r.Imm = s.seal(dk, fImm, e.Immatriculation)
	r.CIN = s.seal(dk, fCIN, e.CIN)
	r.Passport = s.seal(dk, fPassport, e.Passport)
	r.Surname = s.seal(dk, fSurname, e.Surname)
	r.FirstName = s.seal(dk, fFirstName, e.FirstName)
	employeeIndexes(g.vault, r, e)
	return s.err
}

// employeeIndexes computes an insured person's blind indexes with v's index key.
func employeeIndexes(v *vault.Vault, r *amane.EmployeeRecord, e *amane.Employee) {
	r.ImmIndex = v.Index(kImm, e.Immatriculation)
	r.CINIndex = v.Index(kCIN, e.CIN)
	r.PassportIndex = v.Index(kPassport, e.Passport)
	r.NameIndex = r.NameIndex[:0]
	for _, w := range amane.NameWords(e.Surname + " " + e.FirstName) {
		r.NameIndex = append(r.NameIndex, v.Index(kName, w))
	}
}

// sealer keeps the first error of a run of Seal calls, so that sealing a record reads as a list.
type sealer struct{ err error }

func (s *sealer) seal(dk *vault.DataKey, field, v string) []byte {
	if s.err != nil {
		return nil
	}
	ct, err := dk.Seal(field, v)
	s.err = err
	return ct
}

// opener opens a run of fields of one subject and keeps the first error.
type opener struct {
	o   *vault.Opener
	dk  *vault.DataKey
	err error
}

func (g *Gate) openerFor(subject string, k amane.WrappedKey) *opener {
	dk, err := g.opener.Unwrap(subject, k.Version, k.Blob)
	return &opener{o: g.opener, dk: dk, err: err}
}

func (o *opener) open(field string, ct []byte) string {
	if o.err != nil {
		return ""
	}
	v, err := o.o.Open(o.dk, field, ct)
	o.err = err
	return v
}

// internal wraps a failure to open a record: logged in full by the adapter, shown as a generic error.
func openFailure(err error) error {
	if errors.Is(err, vault.ErrOpen) {
		return fmt.Errorf("integrity: %w", err)
	}
	return err
}

func (g *Gate) openEmployer(r *amane.EmployerRecord) (*amane.Employer, error) {
	o := g.openerFor(employerSubject(r.ID), r.Key)
	e := &amane.Employer{ID: r.ID, EmployerIdentity: r.EmployerIdentity}
	e.Representative.Surname = o.open(fRepSurname, r.RepSurname)
	e.Representative.FirstName = o.open(fRepFirstName, r.RepFirstName)
	e.Representative.CIN = o.open(fRepCIN, r.RepCIN)
	e.Email = o.open(fEmail, r.Email)
	e.Phone = o.open(fPhone, r.Phone)
	e.RIB = o.open(fRIB, r.RIB)
	e.Mandataire = o.open(fMandataire, r.Mandataire)
	if o.err != nil {
		return nil, openFailure(o.err)
	}
	return e, nil
}

func (g *Gate) openEmployee(r *amane.EmployeeRecord) (*amane.Employee, error) {
	if r.Key.Blob == nil { // erased: no key, nothing to open
		return &amane.Employee{ID: r.ID, AffiliationDate: r.AffiliationDate, Erased: true}, nil
	}
	o := g.openerFor(employeeSubject(r.ID), r.Key)
	e := &amane.Employee{ID: r.ID, AffiliationDate: r.AffiliationDate}
	e.Immatriculation = o.open(fImm, r.Imm)
	e.CIN = o.open(fCIN, r.CIN)
	e.Passport = o.open(fPassport, r.Passport)
	e.Surname = o.open(fSurname, r.Surname)
	e.FirstName = o.open(fFirstName, r.FirstName)
	if o.err != nil {
		return nil, openFailure(o.err)
	}
	return e, nil
}

func invalid(errs []amane.FieldError) error {
	msg := make([]string, len(errs))
	for i, e := range errs {
		msg[i] = e.String()
	}
	return amane.Invalid("Invalid input: "+strings.Join(msg, "; ")+".", errs...)
}
