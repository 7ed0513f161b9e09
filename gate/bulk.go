package gate

import (
	"context"
	"slices"

	"amane"
)

// Bulk reads: an employer's employees, a period's declared lines and a name search answer at most
// amane.MaxPage people at a time; the whole lists go out only as files (exports), counted whole.

// EmployerPage implements amane.Pager: the employer and one page of its employees, by internal id,
// one journal entry per record released.
func (g *Gate) EmployerPage(ctx context.Context, affiliation string, page amane.Page) (*amane.EmployerWithEmployees, error) {
	d, err := g.begin(ctx, actRead)
	if err != nil {
		return nil, err
	}
	after, err := pageCursor(cursorEmployees, page)
	if err != nil {
		return nil, err
	}
	return g.employerRead(ctx, d, affiliation, after, page.Size())
}

// employerRead reads an employer and its employees whose internal id is above after, at most size
// of them (size < 0: all, for an export), and sets Next when more follow.
func (g *Gate) employerRead(ctx context.Context, d *decision, affiliation string, after int64, size int) (*amane.EmployerWithEmployees, error) {
	r, rule, err := g.employerInScope(ctx, d, affiliation)
	if err != nil {
		return nil, err
	}
	if rule, err = d.bind(ctx, employerRef(r.ID), rule); err != nil {
		return nil, err
	}
	// The employees stay sealed until the page is decided: only the page's are journaled and opened.
	recs, jobs, err := g.store.EmployeesOf(ctx, r.ID)
	if err != nil {
		return nil, err
	}
	recs, jobs = validatedEmployees(recs, jobs) // a pending employment is not an employee yet
	start := 0
	for start < len(recs) && recs[start].ID <= after {
		start++
	}
	end := len(recs)
	if size >= 0 {
		end = min(end, start+size)
	}
	next := ""
	if end < len(recs) {
		next = encodeCursor(cursorEmployees, recs[end-1].ID)
	}
	recs, jobs = recs[start:end], jobs[start:end]
	refs := make([]string, 0, 1+len(recs))
	refs = append(refs, employerRef(r.ID))
	for _, rec := range recs {
		refs = append(refs, employeeRef(rec.ID))
	}
	fields := append(d.fieldsShown(employerClear, amane.FieldRepCIN, amane.FieldEmail, amane.FieldPhone, amane.FieldRIB, amane.FieldMandataire),
		d.fieldsShown(employeeClear, amane.FieldCIN, amane.FieldPassport)...)
	if err := d.grant(ctx, refs, fields, rule); err != nil {
		return nil, err
	}
	e, err := g.openEmployer(r)
	if err != nil {
		return nil, err
	}
	d.maskEmployer(e)
	out := &amane.EmployerWithEmployees{Employer: *e, Employees: make([]amane.Employee, 0, len(recs)), Next: next}
	for i, rec := range recs {
		emp, err := g.openEmployee(rec)
		if err != nil {
			return nil, err
		}
		d.maskEmployee(emp)
		emp.Employments = []amane.Employment{jobs[i]}
		out.Employees = append(out.Employees, *emp)
	}
	return out, nil
}

// searchCandidates is how many candidates a name search weighs per person it may show: enough to
// tell "more match" from the in-scope, confirmed ones without an unbounded scan.
const searchCandidates = 4

// SearchEmployeesPage implements amane.Pager. Candidates come from the name-word blind indexes,
// narrowed to the principal's scope; each is confirmed on its decrypted names (inside the gate), so
// that a truncated-index collision never shows a wrong person; only the first limit (at most
// amane.MaxPage) confirmed ones are journaled and released, and More says that others in scope
// matched. A principal's out-of-scope namesakes never set More.
func (g *Gate) SearchEmployeesPage(ctx context.Context, query string, limit int) (*amane.EmployeePage, error) {
	d, err := g.begin(ctx, actSearch)
	if err != nil {
		return nil, err
	}
	words := amane.NameWords(query)
	if len(words) == 0 || len(words) > 8 {
		return nil, d.invalidInput(ctx, "name query", amane.Invalid("Search with 1 to 8 words of a name.", amane.FieldError{Field: "name", Rule: "must hold 1 to 8 words"}))
	}
	limit = amane.Page{Limit: limit}.Size()
	idx := make([][]byte, len(words))
	for i, w := range words {
		idx[i] = g.vault.Index(kName, w)
	}
	recs, err := g.store.EmployeesByNameIndex(ctx, idx, limit*searchCandidates)
	if err != nil {
		return nil, err
	}
	recs, jobs, rule, err := g.inScope(ctx, d, recs)
	if err != nil {
		return nil, err
	}
	keep, keepJobs := recs[:0], jobs[:0]
	more := false
	for i, r := range recs {
		e, err := g.openEmployee(r)
		if err != nil {
			return nil, err
		}
		if containsAll(amane.NameWords(e.Surname+" "+e.FirstName), words) {
			if len(keep) == limit {
				more = true
				break
			}
			keep, keepJobs = append(keep, r), append(keepJobs, jobs[i])
		}
	}
	out, err := g.release(ctx, d, keep, keepJobs, rule)
	if err != nil {
		return nil, err
	}
	if out == nil {
		out = []amane.Employee{}
	}
	return &amane.EmployeePage{Employees: out, More: more}, nil
}

// DeclarationPage implements amane.Pager: one page of a period's declared lines (principal
// declaration first, then the complementary ones, each in its file's order), at most page.Size()
// lines — one person each — journaled once per person shown.
func (g *Gate) DeclarationPage(ctx context.Context, affiliation, period string, page amane.Page) (*amane.DeclarationPage, error) {
	d, err := g.begin(ctx, actRead)
	if err != nil {
		return nil, err
	}
	from, err := pageCursor(cursorLines, page)
	if err != nil {
		return nil, err
	}
	ds, next, err := g.declarationRead(ctx, d, affiliation, period, int(min(from, 1<<31)), page.Size())
	if err != nil {
		return nil, err
	}
	return &amane.DeclarationPage{Declarations: ds, Next: next}, nil
}

// declarationRead reads a period's declarations with the lines at positions [from, from+size) of
// their concatenation (size < 0: every line, for an export), and the cursor of the next lines.
func (g *Gate) declarationRead(ctx context.Context, d *decision, affiliation, period string, from, size int) ([]amane.Declaration, string, error) {
	emp, rule, err := g.employerInScope(ctx, d, affiliation)
	if err != nil {
		return nil, "", err
	}
	if _, err := amane.ParsePeriod(period); err != nil {
		return nil, "", amane.Invalid(err.Error(), amane.FieldError{Field: "periode", Rule: err.Error()})
	}
	recs, err := g.store.Declarations(ctx, emp.ID, period)
	if err != nil {
		return nil, "", err
	}
	if len(recs) == 0 {
		return nil, "", amane.Errorf(amane.ENOTFOUND, "No declaration for this period.")
	}
	if err := g.checkSeals(recs); err != nil {
		return nil, "", err
	}
	lines := make([][]blobLine, len(recs))
	total := 0
	for i, r := range recs {
		if lines[i], err = parseBlob(r.Lines); err != nil {
			return nil, "", err
		}
		total += len(lines[i])
	}
	to := total
	if size >= 0 {
		to = min(total, from+size)
	}
	next := ""
	if to < total {
		next = encodeCursor(cursorLines, int64(to))
	}
	// Mark the lines off the page: they stay sealed and out of the answer.
	refs := []string{employerRef(emp.ID)}
	pos := 0
	for i := range lines {
		for j := range lines[i] {
			l := &lines[i][j]
			if pos < from || pos >= to {
				l.skip = true
			} else {
				ref := amane.DataKeyRef{Kind: l.kind, Subject: l.subject}.VaultSubject()
				if l.kind == amane.KeyHistory {
					ref = employeeRef(l.subject)
				}
				if !slices.Contains(refs, ref) {
					refs = append(refs, ref)
				}
			}
			pos++
		}
	}
	fields := []string{fDeclaration, fImm, fSurname, fFirstName}
	// A B04 line's CIN is what the employer typed: its own users read it back in clear (their file
	// downloaded byte for byte); anyone else sees it masked unless revealed for a purpose.
	ownNewCIN := d.p.Role == amane.RoleEmployer
	if d.revealed(amane.FieldCIN) || ownNewCIN {
		fields = append(fields, fCIN)
	}
	if err := d.grant(ctx, refs, fields, rule); err != nil {
		return nil, "", err
	}
	// Only now: the keys, then the lines.
	keys, err := g.declarationKeys(ctx, emp.ID)
	if err != nil {
		return nil, "", err
	}
	out := make([]amane.Declaration, len(recs))
	for i, r := range recs {
		decl, err := g.openDeclaration(emp, r, lines[i], keys, 0)
		if err != nil {
			return nil, "", err
		}
		for j := range decl.New {
			if !d.revealed(amane.FieldCIN) && !ownNewCIN {
				decl.New[j].CIN = maskIf(decl.New[j].CIN, amane.MaskCIN)
			}
		}
		out[i] = *decl
	}
	return out, next, nil
}
