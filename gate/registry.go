package gate

import (
	"context"
	"strings"
	"time"

	"amane"
	"amane/ids"
)

// Employer implements amane.Registry.
func (g *Gate) Employer(ctx context.Context, affiliation string) (*amane.EmployerWithEmployees, error) {
	if err := authorize(ctx); err != nil {
		return nil, err
	}
	aff, err := ids.ParseAffiliation(affiliation)
	if err != nil {
		return nil, amane.Invalid(err.Error(), amane.FieldError{Field: "affiliation", Rule: err.Error()})
	}
	r, err := g.store.EmployerByAffiliation(ctx, aff)
	if err != nil {
		return nil, err
	}
	e, err := g.openEmployer(r)
	if err != nil {
		return nil, err
	}
	recs, jobs, err := g.store.EmployeesOf(ctx, r.ID)
	if err != nil {
		return nil, err
	}
	out := &amane.EmployerWithEmployees{Employer: *e, Employees: make([]amane.Employee, 0, len(recs))}
	for i, rec := range recs {
		emp, err := g.openEmployee(rec)
		if err != nil {
			return nil, err
		}
		emp.Employments = []amane.Employment{jobs[i]}
		out.Employees = append(out.Employees, *emp)
	}
	return out, nil
}

// CreateEmployer implements amane.Registry.
func (g *Gate) CreateEmployer(ctx context.Context, e *amane.Employer) error {
	if err := authorize(ctx); err != nil {
		return err
	}
	if errs := e.Normalize(); len(errs) > 0 {
		return invalid(errs)
	}
	id, err := g.store.CreateEmployer(ctx, func(id int64) (*amane.EmployerRecord, error) { return g.SealEmployer(id, e) })
	if err != nil {
		return err
	}
	e.ID = id
	return nil
}

// UpdateEmployer implements amane.Registry. Every personal field is sealed anew under a fresh data key,
// which replaces the old one: nothing sealed under the old key stays readable.
func (g *Gate) UpdateEmployer(ctx context.Context, e *amane.Employer) error {
	if err := authorize(ctx); err != nil {
		return err
	}
	if errs := e.Normalize(); len(errs) > 0 {
		return invalid(errs)
	}
	old, err := g.store.EmployerByAffiliation(ctx, e.Affiliation)
	if err != nil {
		return err
	}
	r, err := g.SealEmployer(old.ID, e) // a fresh data key: each key seals a field once
	if err != nil {
		return err
	}
	e.ID = old.ID
	return g.store.UpdateEmployer(ctx, r)
}

// Employee implements amane.Registry.
func (g *Gate) Employee(ctx context.Context, imm string) (*amane.Employee, error) {
	if err := authorize(ctx); err != nil {
		return nil, err
	}
	n, err := ids.ParseImmatriculation(imm)
	if err != nil {
		return nil, amane.Invalid(err.Error(), amane.FieldError{Field: "immatriculation", Rule: err.Error()})
	}
	r, err := g.store.EmployeeByImmIndex(ctx, g.vault.Index(kImm, n))
	if err != nil {
		return nil, err
	}
	return g.withEmployments(ctx, r)
}

func (g *Gate) withEmployments(ctx context.Context, r *amane.EmployeeRecord) (*amane.Employee, error) {
	e, err := g.openEmployee(r)
	if err != nil {
		return nil, err
	}
	if e.Employments, err = g.store.Employments(ctx, r.ID); err != nil {
		return nil, err
	}
	return e, nil
}

// EmployeesByCIN implements amane.Registry. It accepts a CIN or, for foreign employees, a passport.
func (g *Gate) EmployeesByCIN(ctx context.Context, cin string) ([]amane.Employee, error) {
	if err := authorize(ctx); err != nil {
		return nil, err
	}
	var idx []byte
	if c, err := ids.ParseCIN(cin); err == nil {
		idx = g.vault.Index(kCIN, c)
	} else if p, perr := ids.ParsePassport(cin); perr == nil {
		idx = g.vault.Index(kPassport, p)
	} else {
		return nil, amane.Invalid(err.Error(), amane.FieldError{Field: "cin", Rule: err.Error()})
	}
	recs, err := g.store.EmployeesByCINIndex(ctx, idx)
	if err != nil {
		return nil, err
	}
	return g.openAll(ctx, recs)
}

func (g *Gate) openAll(ctx context.Context, recs []*amane.EmployeeRecord) ([]amane.Employee, error) {
	out := make([]amane.Employee, 0, len(recs))
	for _, r := range recs {
		e, err := g.withEmployments(ctx, r)
		if err != nil {
			return nil, err
		}
		out = append(out, *e)
	}
	return out, nil
}

// SearchEmployees implements amane.Registry. Candidates come from the name-word blind indexes; each
// is confirmed on its decrypted names, so that a truncated-index collision never shows a wrong person.
func (g *Gate) SearchEmployees(ctx context.Context, query string, limit int) ([]amane.Employee, error) {
	if err := authorize(ctx); err != nil {
		return nil, err
	}
	words := amane.NameWords(query)
	if len(words) == 0 || len(words) > 8 {
		return nil, amane.Invalid("Search with 1 to 8 words of a name.", amane.FieldError{Field: "name", Rule: "must hold 1 to 8 words"})
	}
	if limit <= 0 || limit > 200 {
		limit = 50
	}
	idx := make([][]byte, len(words))
	for i, w := range words {
		idx[i] = g.vault.Index(kName, w)
	}
	recs, err := g.store.EmployeesByNameIndex(ctx, idx, limit)
	if err != nil {
		return nil, err
	}
	found, err := g.openAll(ctx, recs)
	if err != nil {
		return nil, err
	}
	out := found[:0]
	for _, e := range found {
		have := amane.NameWords(e.Surname + " " + e.FirstName)
		if containsAll(have, words) {
			out = append(out, e)
		}
	}
	return out, nil
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

// CreateEmployee implements amane.Registry.
func (g *Gate) CreateEmployee(ctx context.Context, e *amane.Employee) error {
	if err := authorize(ctx); err != nil {
		return err
	}
	if errs := e.Normalize(); len(errs) > 0 {
		return invalid(errs)
	}
	id, err := g.store.CreateEmployee(ctx, func(id int64) (*amane.EmployeeRecord, error) { return g.SealEmployee(id, e) }, e.Employments)
	if err != nil {
		return err
	}
	e.ID = id
	return nil
}

// UpdateEmployee implements amane.Registry: the immatriculation names the person; the other fields
// are replaced and sealed anew under a fresh data key.
func (g *Gate) UpdateEmployee(ctx context.Context, e *amane.Employee) error {
	if err := authorize(ctx); err != nil {
		return err
	}
	if errs := e.Normalize(); len(errs) > 0 {
		return invalid(errs)
	}
	old, err := g.store.EmployeeByImmIndex(ctx, g.vault.Index(kImm, e.Immatriculation))
	if err != nil {
		return err
	}
	r, err := g.SealEmployee(old.ID, e) // a fresh data key: each key seals a field once
	if err != nil {
		return err
	}
	e.ID = old.ID
	return g.store.UpdateEmployee(ctx, r)
}

// EraseEmployee destroys an insured person's personal fields (crypto-shredding: their data key, the
// ciphertext and the blind indexes go; the internal id and the employments stay, so headcounts hold)
// and records who erased whom, when and on what ground. Only the system principal (the CLI, holding
// the keys) may erase.
func (g *Gate) EraseEmployee(ctx context.Context, imm, reason string) (int64, error) {
	p := amane.PrincipalFromContext(ctx)
	if p == nil || p.Role != amane.RoleSystem {
		return 0, amane.Errorf(amane.EFORBIDDEN, "Only an administrator holding the keys may erase a person (amane erase).")
	}
	reason = strings.TrimSpace(reason)
	if reason == "" || len(reason) > 500 {
		return 0, amane.Invalid("State the legal ground of the erasure.", amane.FieldError{Field: "reason", Rule: "required, 1 to 500 characters"})
	}
	n, err := ids.ParseImmatriculation(imm)
	if err != nil {
		return 0, amane.Invalid(err.Error(), amane.FieldError{Field: "immatriculation", Rule: err.Error()})
	}
	r, err := g.store.EmployeeByImmIndex(ctx, g.vault.Index(kImm, n))
	if err != nil {
		return 0, err
	}
	e := amane.Erasure{EmployeeID: r.ID, At: g.Now().UTC().Format(time.RFC3339), By: p.ID, Reason: reason}
	return r.ID, g.store.EraseEmployee(ctx, r.ID, e)
}
