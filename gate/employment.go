package gate

import (
	"context"
	"strings"

	"amane"
	"amane/declare"
	"amane/ids"
	"amane/journal"
)

// A B04 line naming a person Amane knows, sent by an employer that does not employ them, is a
// request: the line is stored (sealed under the person's history key) and a pending employment
// opened, which widens nobody's scope. An agent of the employer's agency, or a supervisor, validates
// it under a case (issue 14 brings cases; until then the purpose and its reference name it), after
// the gate has compared the identity the employer declared — surname, first name and CIN as typed
// in the B04 line — with the registry's record. A mismatch is refused with the fields that differ,
// never their values, and journaled; a match validates the employment, journaled.

// actValidate is the journal's action for a pending employment's validation.
const actValidate = amane.ActionValidateEmployment

// ValidateEmployment validates the pending employment of the insured person imm at the employer
// affiliation, opened by a B04 line of that employer's declaration.
func (g *Gate) ValidateEmployment(ctx context.Context, affiliation, imm string) error {
	d, err := g.begin(ctx, actUpdate)
	if err != nil {
		return err
	}
	d.action = actValidate
	switch d.p.Role {
	case amane.RoleAgent, amane.RoleSupervisor, amane.RoleSystem:
	default:
		return d.deny(ctx, "", "role "+d.p.Role+" may not validate an employment", amane.Errorf(amane.EFORBIDDEN, "An agent of the employer's agency or a supervisor validates an employment."))
	}
	emp, rule, err := g.employerInScope(ctx, d, affiliation)
	if err != nil {
		return err
	}
	n, err := ids.ParseImmatriculation(imm)
	if err != nil {
		return amane.Invalid(err.Error(), amane.FieldError{Field: "immatriculation", Rule: err.Error()})
	}
	noPending := amane.Errorf(amane.ENOTFOUND, "No pending employment of this insured number at this employer.")
	rec, err := g.employeeByImm(ctx, d, n)
	if amane.ErrorCode(err) == amane.ENOTFOUND {
		return d.deny(ctx, employerRef(emp.ID), "no pending employment", noPending)
	} else if err != nil {
		return err
	}
	jobs, err := g.store.Employments(ctx, rec.ID)
	if err != nil {
		return err
	}
	var job *amane.Employment
	for i := range jobs {
		if jobs[i].EmployerID == emp.ID && jobs[i].State == amane.EmploymentPending {
			job = &jobs[i]
		}
	}
	if job == nil || len(job.Since) < 7 || rec.Key.Blob == nil {
		return d.deny(ctx, employerRef(emp.ID), "no pending employment", noPending)
	}
	// The B04 line that opened it: in the declarations of the month it starts.
	period := job.Since[:4] + job.Since[5:7]
	recs, err := g.store.Declarations(ctx, emp.ID, period)
	if err != nil {
		return err
	}
	if err := g.checkSeals(recs); err != nil {
		return err
	}
	keys, err := g.declarationKeys(ctx, emp.ID)
	if err != nil {
		return err
	}
	var declared *amane.NewEmployeeLine
	for _, r := range recs {
		bl, err := parseBlob(r.Lines)
		if err != nil {
			return err
		}
		decl, err := g.openDeclaration(emp, r, bl, keys, rec.ID)
		if err != nil {
			return err
		}
		for i := range decl.New {
			if decl.New[i].Surname != amane.ErasedLine {
				declared = &decl.New[i]
			}
		}
	}
	if declared == nil {
		return d.deny(ctx, employeeRef(rec.ID), "no B04 line for the pending employment", noPending)
	}
	e, err := g.openEmployee(rec)
	if err != nil {
		return err
	}
	if differ := declare.Identity(declared, e.Surname, e.FirstName, e.CIN); len(differ) > 0 {
		names := make([]string, len(differ))
		for i, f := range differ {
			names[i] = f.Rule
		}
		return d.deny(ctx, employeeRef(rec.ID), "declared identity differs: "+strings.Join(names, "; "),
			amane.Invalid("The identity the employer declared does not match the registry's: the employment stays pending.", differ...))
	}
	entry := d.entry(employeeRef(rec.ID), journal.Allowed, rule+": declared identity matches", []string{"employment:" + emp.Affiliation})
	if _, err := g.journal.Append(ctx, entry); err != nil {
		return err
	}
	d.observe([]journal.Entry{entry})
	return g.store.ValidateEmployment(ctx, rec.ID, emp.ID)
}
