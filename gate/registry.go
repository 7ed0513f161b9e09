package gate

import (
	"context"
	"fmt"
	"strings"
	"time"

	"amane"
	"amane/ids"
)

// Employer implements amane.EmployerService: the employer and the first page of its employees (EmployerPage).
func (g *Gate) Employer(ctx context.Context, affiliation string) (*amane.EmployerWithEmployees, error) {
	return g.EmployerPage(ctx, affiliation, amane.Page{})
}

// CreateEmployer implements amane.EmployerService.
func (g *Gate) CreateEmployer(ctx context.Context, e *amane.Employer) error {
	d, err := g.begin(ctx, actCreate)
	if err != nil {
		return err
	}
	if errs := e.Normalize(); len(errs) > 0 {
		return invalid(errs)
	}
	rule, ok := d.employerScope(&amane.EmployerRecord{EmployerIdentity: e.EmployerIdentity})
	if !ok {
		return d.deny(ctx, "", rule, outOfScope())
	}
	id, err := g.store.CreateEmployer(ctx, func(id int64) (*amane.EmployerRecord, error) { return g.SealEmployer(id, e) })
	if err != nil {
		return d.refuseConflict(ctx, err)
	}
	e.ID = id
	return d.grant(ctx, []string{employerRef(id)}, allEmployerFields, rule)
}

var (
	allEmployerFields = []string{fRepSurname, fRepFirstName, fRepCIN, fEmail, fPhone, fRIB, fMandataire}
	allEmployeeFields = []string{fImm, fCIN, fPassport, fSurname, fFirstName}
)

// UpdateEmployer implements amane.EmployerService. Every personal field is sealed anew under a fresh data key,
// which replaces the old one: nothing sealed under the old key stays readable.
func (g *Gate) UpdateEmployer(ctx context.Context, e *amane.Employer) error {
	d, err := g.begin(ctx, actUpdate)
	if err != nil {
		return err
	}
	if errs := e.Normalize(); len(errs) > 0 {
		return invalid(errs)
	}
	old, err := g.store.EmployerByAffiliation(ctx, e.Affiliation)
	if amane.ErrorCode(err) == amane.ENOTFOUND {
		return d.refuseUnknown(ctx, "affiliation")
	} else if err != nil {
		return err
	}
	rule, ok := d.employerScope(old)
	if !ok {
		return d.refuseOutOfScope(ctx, employerRef(old.ID), rule)
	}
	if rule, ok = d.employerScope(&amane.EmployerRecord{EmployerIdentity: e.EmployerIdentity}); !ok { // not moved out of reach
		return d.deny(ctx, employerRef(old.ID), rule, outOfScope())
	}
	if err := d.grant(ctx, []string{employerRef(old.ID)}, allEmployerFields, rule); err != nil {
		return err
	}
	r, err := g.SealEmployer(old.ID, e) // a fresh data key: each key seals a field once
	if err != nil {
		return err
	}
	e.ID = old.ID
	return g.store.UpdateEmployer(ctx, r)
}

// Employee implements amane.EmployeeService.
func (g *Gate) Employee(ctx context.Context, imm string) (*amane.Employee, error) {
	d, err := g.begin(ctx, actRead)
	if err != nil {
		return nil, err
	}
	n, err := ids.ParseImmatriculation(imm)
	if err != nil {
		return nil, d.invalidInput(ctx, "immatriculation", amane.Invalid(err.Error(), amane.FieldError{Field: "immatriculation", Rule: err.Error()}))
	}
	r, err := g.employeeByImm(ctx, d, n)
	if amane.ErrorCode(err) == amane.ENOTFOUND {
		return nil, d.refuseUnknown(ctx, "immatriculation")
	} else if err != nil {
		return nil, err
	}
	return g.readEmployee(ctx, d, r)
}

// EmployeeByID implements amane.EmployeeService.
func (g *Gate) EmployeeByID(ctx context.Context, id int64) (*amane.Employee, error) {
	d, err := g.begin(ctx, actRead)
	if err != nil {
		return nil, err
	}
	r, err := g.store.EmployeeByID(ctx, id)
	if amane.ErrorCode(err) == amane.ENOTFOUND {
		return nil, d.refuseUnknown(ctx, "internal id")
	} else if err != nil {
		return nil, err
	}
	return g.readEmployee(ctx, d, r)
}

// readEmployee decides on one record, journals, then opens and masks.
func (g *Gate) readEmployee(ctx context.Context, d *decision, r *amane.EmployeeRecord) (*amane.Employee, error) {
	if err := d.refusePending(ctx, employeeRef(r.ID)); err != nil {
		return nil, err
	}
	jobs, err := g.store.Employments(ctx, r.ID)
	if err != nil {
		return nil, err
	}
	rule, ok := d.employeeScope(r.ID, jobs)
	if !ok {
		return nil, d.refuseOutOfScope(ctx, employeeRef(r.ID), rule)
	}
	if rule, err = d.bind(ctx, employeeRef(r.ID), rule); err != nil {
		return nil, err
	}
	if err := d.grant(ctx, []string{employeeRef(r.ID)}, d.fieldsShown(employeeClear, amane.FieldCIN, amane.FieldPassport), rule); err != nil {
		return nil, err
	}
	e, err := g.openEmployee(r)
	if err != nil {
		return nil, err
	}
	d.maskEmployee(e)
	e.Employments = jobs
	return e, nil
}

// inScope keeps the records the principal may reach, with their employments. The others are left out
// silently: a search shows only what its principal may see.
func (g *Gate) inScope(ctx context.Context, d *decision, recs []*amane.EmployeeRecord) ([]*amane.EmployeeRecord, [][]amane.Employment, string, error) {
	return g.inScopeJournaled(ctx, d, recs, false)
}

// inScopeJournaled is inScope; with journal, each record left out is a refusal journaled against it (a
// lookup by number, where the answer is the same as for an unknown number).
func (g *Gate) inScopeJournaled(ctx context.Context, d *decision, recs []*amane.EmployeeRecord, journal bool) ([]*amane.EmployeeRecord, [][]amane.Employment, string, error) {
	var keep []*amane.EmployeeRecord
	var jobs [][]amane.Employment
	rule := ""
	for _, r := range recs {
		js, err := g.store.Employments(ctx, r.ID)
		if err != nil {
			return nil, nil, "", err
		}
		if why, ok := d.employeeScope(r.ID, js); ok {
			keep, jobs, rule = append(keep, r), append(jobs, js), why
		} else if journal {
			if err := d.refuseOutOfScope(ctx, employeeRef(r.ID), why); amane.ErrorCode(err) != amane.ENOTFOUND {
				return nil, nil, "", err
			}
		}
	}
	return keep, jobs, rule, nil
}

// release journals the records found, then opens and masks them.
func (g *Gate) release(ctx context.Context, d *decision, recs []*amane.EmployeeRecord, jobs [][]amane.Employment, rule string) ([]amane.Employee, error) {
	refs := make([]string, len(recs))
	for i, r := range recs {
		refs[i] = employeeRef(r.ID)
	}
	if err := d.grant(ctx, refs, d.fieldsShown(employeeClear, amane.FieldCIN, amane.FieldPassport), rule); err != nil {
		return nil, err
	}
	out := make([]amane.Employee, 0, len(recs))
	for i, r := range recs {
		e, err := g.openEmployee(r)
		if err != nil {
			return nil, err
		}
		d.maskEmployee(e)
		e.Employments = jobs[i]
		out = append(out, *e)
	}
	return out, nil
}

// EmployeesByCIN implements amane.EmployeeService. It accepts a CIN or, for foreign employees, a passport.
func (g *Gate) EmployeesByCIN(ctx context.Context, cin string) ([]amane.Employee, error) {
	d, err := g.begin(ctx, actSearch)
	if err != nil {
		return nil, err
	}
	var idx []byte
	field, want := fCIN, ""
	if c, err := ids.ParseCIN(cin); err == nil {
		idx, want = g.vault.Index(kCIN, c), c
	} else if p, perr := ids.ParsePassport(cin); perr == nil {
		idx, field, want = g.vault.Index(kPassport, p), fPassport, p
	} else {
		return nil, d.invalidInput(ctx, "cin", amane.Invalid(err.Error(), amane.FieldError{Field: "cin", Rule: err.Error()}))
	}
	recs, err := g.store.EmployeesByCINIndex(ctx, idx)
	if err != nil {
		return nil, err
	}
	for _, r := range recs {
		ct := r.CIN
		if field == fPassport {
			ct = r.Passport
		}
		if err := g.confirmIndex(ctx, d, r, field, ct, want); err != nil {
			return nil, err
		}
	}
	if len(recs) == 0 {
		// Nothing found and nothing in scope answer the same (an empty list); both are journaled.
		if err := d.refuseUnknown(ctx, "cin"); amane.ErrorCode(err) != amane.ENOTFOUND {
			return nil, err
		}
		return nil, nil
	}
	recs, jobs, rule, err := g.inScopeJournaled(ctx, d, recs, true)
	if err != nil {
		return nil, err
	}
	return g.release(ctx, d, recs, jobs, rule)
}

// SearchEmployees implements amane.EmployeeService: SearchEmployeesPage's people.
func (g *Gate) SearchEmployees(ctx context.Context, query string, limit int) ([]amane.Employee, error) {
	p, err := g.SearchEmployeesPage(ctx, query, limit)
	if err != nil {
		return nil, err
	}
	return p.Employees, nil
}

func containsAll(have, want []string) bool {
	for _, w := range want {
		ok := false
		for _, h := range have {
			if h == w {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// employmentsScope decides whether the principal may create a person with these employments: an agent
// only at its agency's employers.
func (g *Gate) employmentsScope(ctx context.Context, d *decision, jobs []amane.Employment) (string, bool, error) {
	if d.p.Role != amane.RoleAgent {
		rule, ok := d.employeeScope(0, nil)
		return rule, ok, nil
	}
	if len(jobs) == 0 {
		return "no employer in the agency", false, nil
	}
	for _, j := range jobs {
		r, err := g.store.EmployerByAffiliation(ctx, j.Affiliation)
		if err != nil {
			return "", false, err
		}
		if r.Agency != d.p.Agency {
			return "outside the agency", false, nil
		}
	}
	return "agency", true, nil
}

// CreateEmployee implements amane.EmployeeService.
func (g *Gate) CreateEmployee(ctx context.Context, e *amane.Employee) error {
	d, err := g.begin(ctx, actCreate)
	if err != nil {
		return err
	}
	if errs := e.Normalize(); len(errs) > 0 {
		return invalid(errs)
	}
	rule, ok, err := g.employmentsScope(ctx, d, e.Employments)
	if err != nil {
		return err
	}
	if !ok {
		return d.deny(ctx, "", rule, outOfScope())
	}
	id, err := g.store.CreateEmployee(ctx, func(id int64) (*amane.EmployeeRecord, error) { return g.SealEmployee(id, e) }, e.Employments)
	if err != nil {
		return d.refuseConflict(ctx, err)
	}
	e.ID = id
	return d.grant(ctx, []string{employeeRef(id)}, allEmployeeFields, rule)
}

// UpdateEmployee implements amane.EmployeeService: the immatriculation names the person; the other fields
// are replaced and sealed anew under a fresh data key.
func (g *Gate) UpdateEmployee(ctx context.Context, e *amane.Employee) error {
	d, err := g.begin(ctx, actUpdate)
	if err != nil {
		return err
	}
	if errs := e.Normalize(); len(errs) > 0 {
		return invalid(errs)
	}
	old, err := g.employeeByImm(ctx, d, e.Immatriculation)
	if amane.ErrorCode(err) == amane.ENOTFOUND {
		return d.refuseUnknown(ctx, "immatriculation")
	} else if err != nil {
		return err
	}
	jobs, err := g.store.Employments(ctx, old.ID)
	if err != nil {
		return err
	}
	rule, ok := d.employeeScope(old.ID, jobs)
	if !ok {
		return d.refuseOutOfScope(ctx, employeeRef(old.ID), rule)
	}
	if err := d.grant(ctx, []string{employeeRef(old.ID)}, allEmployeeFields, rule); err != nil {
		return err
	}
	r, err := g.SealEmployee(old.ID, e) // a fresh data key: each key seals a field once
	if err != nil {
		return err
	}
	e.ID = old.ID
	return d.refuseConflict(ctx, g.store.UpdateEmployee(ctx, r))
}

// EraseEmployee destroys an insured person's personal fields (crypto-shredding: their data key, the
// ciphertext and the blind indexes go; the internal id and the employments stay, so headcounts hold)
// and records who erased whom, when and on what ground. Only the system principal (the CLI, holding
// the keys) may erase.
func (g *Gate) EraseEmployee(ctx context.Context, imm, reason string) (int64, error) {
	d, err := g.begin(ctx, actErase)
	if err != nil {
		if amane.ErrorCode(err) == amane.EFORBIDDEN {
			return 0, amane.Errorf(amane.EFORBIDDEN, "Only an administrator holding the keys may erase a person (amane erase).")
		}
		return 0, err
	}
	reason = strings.TrimSpace(reason)
	if reason == "" || len(reason) > 500 {
		return 0, amane.Invalid("State the legal ground of the erasure.", amane.FieldError{Field: "reason", Rule: "required, 1 to 500 characters"})
	}
	n, err := ids.ParseImmatriculation(imm)
	if err != nil {
		return 0, amane.Invalid(err.Error(), amane.FieldError{Field: "immatriculation", Rule: err.Error()})
	}
	r, err := g.employeeByImm(ctx, d, n)
	if err != nil {
		return 0, err
	}
	e := amane.Erasure{EmployeeID: r.ID, At: g.Now().UTC().Format(time.RFC3339), By: d.p.ID, Reason: reason}
	if err := g.store.EraseEmployee(ctx, r.ID, e); err != nil {
		return 0, err
	}
	return r.ID, d.grant(ctx, []string{employeeRef(r.ID)}, nil, "erasure")
}

// employeeByImm finds the record whose immatriculation has n's blind index, and confirms it on the
// sealed immatriculation: an index swapped between two rows in the store must not make a lookup (a
// read, an update, an erasure, an account's binding) land on another person. The store's ENOTFOUND is
// returned as is; d may be nil (the CLI's ResolveInsured), then a mismatch is not journaled.
func (g *Gate) employeeByImm(ctx context.Context, d *decision, n string) (*amane.EmployeeRecord, error) {
	r, err := g.store.EmployeeByImmIndex(ctx, g.vault.Index(kImm, n))
	if err != nil {
		return nil, err
	}
	if err := g.confirmIndex(ctx, d, r, fImm, r.Imm, n); err != nil {
		return nil, err
	}
	return r, nil
}

// confirmIndex opens one sealed field of a record found by blind index, inside the gate, and checks
// it is the normalized value looked up. With 128-bit indexes an honest collision does not happen, so
// a mismatch is tampering: an integrity error (logged in full by the adapter, answered as an internal
// error, so that it is seen), journaled as a refusal against the record found; nothing of it is
// released.
func (g *Gate) confirmIndex(ctx context.Context, d *decision, r *amane.EmployeeRecord, field string, ct []byte, want string) error {
	o := g.openerFor(employeeSubject(r.ID), r.Key)
	v := o.open(field, ct)
	if o.err != nil {
		return openFailure(o.err)
	}
	if v == want {
		return nil
	}
	err := fmt.Errorf("integrity: the %s blind index of %s does not match its sealed value", field, employeeRef(r.ID))
	if d == nil {
		return err
	}
	return d.deny(ctx, employeeRef(r.ID), "integrity: "+field+" index does not match the record", err)
}
