package gate

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	"amane"
)

// Cases (dossiers, issue 14 item 1). A case is the work a staff read will be bound to; this file
// opens, assigns, closes and lists them. Reads are not bound to cases yet (item 2): nothing here
// changes who may read what.
//
// Who may do what, and why:
//   - an agent opens a case for an outside event that reaches its agency — an insured person's
//     request, a complaint, an immatriculation request, a rights request — on records of its agency
//     only. The case is assigned to the agent; an agent assigns nobody else (assignment is a
//     supervisor's decision, so that an agent cannot hand itself a colleague's team).
//   - a supervisor opens any case but batch jobs (control missions, litigation) and assigns staff.
//   - the operator declares batch jobs (type traitement) and assigns them to integration tokens.
//   - the DPO, the security officer and the auditor hold no personal data and open none; employer
//     users and insured people act on their own records, not on staff cases.
//
// A record outside the opener's scope reads as an unknown one (404), journaled like any out-of-scope
// read: a case is no way to learn that a record exists. Every act is journaled once per record the
// case concerns, with the type's purpose and the case number as the reference, so that the person's
// access log will show the case. The number is checked (its type's shape, then the configured
// purpose's pattern, then that it is no person's identifier) before it may reach the journal.

const (
	actCaseOpen   = amane.ActionCaseOpen
	actCaseAssign = amane.ActionCaseAssign
	actCaseClose  = amane.ActionCaseClose
	actCaseList   = amane.ActionCaseList
)

func init() {
	rolesFor[actCaseOpen] = []string{amane.RoleAgent, amane.RoleSupervisor, amane.RoleOperator, amane.RoleSystem}
	rolesFor[actCaseAssign] = []string{amane.RoleSupervisor, amane.RoleOperator, amane.RoleSystem}
	rolesFor[actCaseClose] = []string{amane.RoleAgent, amane.RoleSupervisor, amane.RoleOperator, amane.RoleSystem}
	rolesFor[actCaseList] = []string{amane.RoleAgent, amane.RoleSupervisor, amane.RoleOperator, amane.RoleSystem}
	// A case act releases no personal data: it states no purpose of its own; its entries carry the
	// case's (the type's purpose and the case number).
	noPersonalData = append(noPersonalData, actCaseOpen, actCaseAssign, actCaseClose, actCaseList)
}

// caseTypesFor are the case types each role may open.
var caseTypesFor = map[string][]string{
	amane.RoleAgent:      {amane.CaseImmatriculation, amane.CaseRequest, amane.CaseComplaint, amane.CaseRights},
	amane.RoleSupervisor: {amane.CaseImmatriculation, amane.CaseRequest, amane.CaseComplaint, amane.CaseRights, amane.CaseControl, amane.CaseLitigation},
	amane.RoleOperator:   {amane.CaseJob},
	amane.RoleSystem:     {amane.CaseImmatriculation, amane.CaseRequest, amane.CaseComplaint, amane.CaseRights, amane.CaseControl, amane.CaseLitigation, amane.CaseJob},
}

// noCase is the one answer to a case the principal may not reach: an unknown number and another's
// case read the same.
func noCase() error {
	return amane.Errorf(amane.ENOTFOUND, "Not found: no case in your reach has this number.")
}

// OpenCase opens a case: c's type, number, origin and records (internal references) as stated;
// staff and team as stated by a supervisor, the operator or the system, and the opener alone for an
// agent. The opener, the opening time and the id are set here. EINVALID (every field at once),
// EFORBIDDEN (a role or a type the principal may not open), ENOTFOUND (a record unknown or outside
// the principal's scope), ECONFLICT (the number is taken).
func (g *Gate) OpenCase(ctx context.Context, c *amane.Case) error {
	d, err := g.begin(ctx, actCaseOpen)
	if err != nil {
		return err
	}
	p := d.p
	c.ID, c.OpenedBy, c.Opened, c.Closed, c.ClosedBy = 0, p.ID, g.Now().UTC().Format(time.RFC3339), "", ""
	switch p.Role {
	case amane.RoleAgent:
		// An agent's case is its own: assigned to it, and at most to its own agency.
		if c.Team != "" && c.Team != p.Agency {
			return d.deny(ctx, "", "case team outside the agency", amane.Errorf(amane.EFORBIDDEN, "An agent assigns a case to itself or to its own agency only."))
		}
		c.Staff = []string{p.ID}
	case amane.RoleOperator:
		c.Staff = append(c.Staff, p.ID)
	}
	if errs := c.Normalize(); len(errs) > 0 {
		return d.invalidInput(ctx, "case", invalid(errs))
	}
	t, _ := amane.CaseTypeOf(c.Type)
	if !slices.Contains(caseTypesFor[p.Role], t.Code) {
		return d.deny(ctx, "", "role "+p.Role+" may not open a case of type "+t.Code, amane.Errorf(amane.EFORBIDDEN, "Your role may not open a case of this type."))
	}
	if p.Role == amane.RoleOperator && slices.ContainsFunc(c.Staff, func(s string) bool { return s != p.ID && !strings.HasPrefix(s, "token/") }) {
		return d.deny(ctx, "", "operator assigns a job to tokens only", amane.Errorf(amane.EFORBIDDEN, "A batch job is assigned to integration tokens only."))
	}
	if err := d.caseNumber(ctx, t, c.Number); err != nil {
		return err
	}
	if err := g.assignable(ctx, d, c.Staff); err != nil {
		return err
	}
	rules := make([]string, len(c.Records))
	for i, r := range c.Records {
		rule, err := g.caseRecordInScope(ctx, d, r)
		if err != nil {
			return err
		}
		rules[i] = rule
	}
	id, err := g.store.CreateCase(ctx, c)
	if err != nil {
		if amane.ErrorCode(err) == amane.ECONFLICT {
			return d.deny(ctx, c.Records[0], "case number taken", err)
		}
		return err
	}
	c.ID = id
	return d.grant(ctx, c.Records, nil, "case opened: "+t.Code+", origin "+originKind(c.Origin))
}

// caseNumber checks a case number against its type's purpose as configured (when it is) and
// against every identifier's shape, then states it as the decision's purpose: from here on, the
// journal names the case.
func (d *decision) caseNumber(ctx context.Context, t amane.CaseType, number string) error {
	if choice, ok := d.g.purposeChoice(t.Purpose); ok {
		if reason, err := checkReference(choice, number); err != nil {
			return d.deny(ctx, "", reason, err)
		}
	} else if looksPersonal(number) {
		return d.deny(ctx, "", "reference is a person's identifier", amane.Invalid("A case number is not a person's identifier.",
			amane.FieldError{Field: "number", Rule: "must not be a CIN, immatriculation or phone number"}))
	}
	d.purpose = amane.Purpose{Code: t.Purpose, Reference: number}
	return nil
}

// originKind is what of an origin the journal's reason names: its code, or its kind without the id.
func originKind(origin string) string {
	kind, _, _ := strings.Cut(origin, "/")
	return kind
}

// caseRecordInScope decides whether the principal may name a record in a case: the record exists
// and lies in its scope (the same rules as a read). Otherwise the denial is journaled against the
// record and reads as an unknown record.
func (g *Gate) caseRecordInScope(ctx context.Context, d *decision, ref string) (string, error) {
	kind, num, _ := strings.Cut(ref, "/")
	id, _ := strconv.ParseInt(num, 10, 64)
	switch kind {
	case "employee":
		if _, err := g.store.EmployeeByID(ctx, id); amane.ErrorCode(err) == amane.ENOTFOUND {
			return "", d.deny(ctx, ref, "no such record", noRecord())
		} else if err != nil {
			return "", err
		}
		jobs, err := g.store.Employments(ctx, id)
		if err != nil {
			return "", err
		}
		rule, ok := d.employeeScope(id, jobs)
		if !ok {
			return "", d.deny(ctx, ref, rule, noRecord())
		}
		return rule, nil
	case "employer":
		r, err := g.store.EmployerByID(ctx, id)
		if amane.ErrorCode(err) == amane.ENOTFOUND {
			return "", d.deny(ctx, ref, "no such record", noRecord())
		} else if err != nil {
			return "", err
		}
		rule, ok := d.employerScope(r)
		if !ok {
			return "", d.deny(ctx, ref, rule, noRecord())
		}
		return rule, nil
	}
	return "", d.invalidInput(ctx, "record", amane.Invalid("Not a record reference.", amane.FieldError{Field: "records", Rule: "each must be employee/ID or employer/ID"}))
}

// assignable refuses staff that are not staff: an account must exist and hold a staff role (an
// employer user or an insured person works on no one's case). Tokens are integrations; the operator
// answers for them.
func (g *Gate) assignable(ctx context.Context, d *decision, staff []string) error {
	for _, s := range staff {
		kind, id := principalRef(s)
		if kind != "account" {
			continue
		}
		a, err := g.store.Account(ctx, id)
		if amane.ErrorCode(err) == amane.ENOTFOUND || (err == nil && !amane.StaffRole(a.Role)) {
			return d.deny(ctx, "", "assigned principal is not staff", amane.Invalid("Assign staff accounts only.",
				amane.FieldError{Field: "staff", Rule: "each must be a staff account"}))
		} else if err != nil {
			return err
		}
	}
	return nil
}

// caseInReach returns the case with this number if the principal may act on it: a supervisor and
// the system any, the operator its batch jobs, an agent a case assigned to it or its agency.
// Otherwise the refusal is journaled (without the number, which did not pass) and reads as unknown.
func (g *Gate) caseInReach(ctx context.Context, d *decision, number string) (*amane.Case, error) {
	if !amane.ValidCaseNumber(number) || looksPersonal(number) {
		return nil, d.invalidInput(ctx, "case number", amane.Invalid("A case number is written XXX-AAAA/NNNN.", amane.FieldError{Field: "number", Rule: "must be written XXX-AAAA/NNNN"}))
	}
	c, err := g.store.CaseByNumber(ctx, number)
	if amane.ErrorCode(err) == amane.ENOTFOUND {
		return nil, d.deny(ctx, "", "no such case", noCase())
	} else if err != nil {
		return nil, err
	}
	t, _ := amane.CaseTypeOf(c.Type)
	p := d.p
	ok := false
	switch p.Role {
	case amane.RoleSupervisor:
		ok = t.Code != amane.CaseJob
	case amane.RoleSystem:
		ok = true
	case amane.RoleOperator:
		ok = t.Code == amane.CaseJob
	case amane.RoleAgent:
		ok = c.AssignedTo(p.ID, p.Agency)
	}
	if !ok {
		return nil, d.deny(ctx, "", "case not in reach", noCase())
	}
	d.purpose = amane.Purpose{Code: t.Purpose, Reference: c.Number}
	return c, nil
}

// AssignCase assigns staff (principal ids) and, if team is not "", a team (an agency) to an open
// case: a supervisor's act (the operator's for its batch jobs, to tokens). EINVALID, EFORBIDDEN,
// ENOTFOUND, ECONFLICT (the case is closed).
func (g *Gate) AssignCase(ctx context.Context, number string, staff []string, team string) error {
	d, err := g.begin(ctx, actCaseAssign)
	if err != nil {
		return err
	}
	if err := amane.CheckCaseAssignment(staff, team); err != nil {
		return d.invalidInput(ctx, "assignment", err)
	}
	c, err := g.caseInReach(ctx, d, number)
	if err != nil {
		return err
	}
	if d.p.Role == amane.RoleOperator && (team != "" || slices.ContainsFunc(staff, func(s string) bool { return !strings.HasPrefix(s, "token/") })) {
		return d.deny(ctx, c.Records[0], "operator assigns a job to tokens only", amane.Errorf(amane.EFORBIDDEN, "A batch job is assigned to integration tokens only."))
	}
	if err := g.assignable(ctx, d, staff); err != nil {
		return err
	}
	if err := g.store.AssignCase(ctx, c.ID, staff, team); err != nil {
		if amane.ErrorCode(err) == amane.ECONFLICT {
			return d.deny(ctx, c.Records[0], "case closed", err)
		}
		return err
	}
	return d.grant(ctx, c.Records, nil, "case assigned")
}

// AddCaseRecord adds a record (an internal reference) to an open case: like an assignment, a
// supervisor's act (the operator's for its batch jobs), on a record in the principal's scope; an
// agent widens no case, not even its own. Journaled as an assignment, against the record added. EINVALID,
// ENOTFOUND (the case, or a record unknown or out of scope), ECONFLICT (closed).
func (g *Gate) AddCaseRecord(ctx context.Context, number, record string) error {
	d, err := g.begin(ctx, actCaseAssign)
	if err != nil {
		return err
	}
	if err := amane.CheckCaseRecord(record); err != nil {
		return d.invalidInput(ctx, "record", err)
	}
	c, err := g.caseInReach(ctx, d, number)
	if err != nil {
		return err
	}
	rule, err := g.caseRecordInScope(ctx, d, record)
	if err != nil {
		return err
	}
	if err := g.store.AddCaseRecord(ctx, c.ID, record); err != nil {
		if amane.ErrorCode(err) == amane.ECONFLICT {
			return d.deny(ctx, record, "case closed", err)
		}
		return err
	}
	return d.grant(ctx, []string{record}, nil, "record added to the case ("+rule+")")
}

// CloseCase closes an open case: an agent one assigned to it, a supervisor any (but batch jobs), the
// operator its batch jobs. ENOTFOUND, ECONFLICT (closed already).
func (g *Gate) CloseCase(ctx context.Context, number string) error {
	d, err := g.begin(ctx, actCaseClose)
	if err != nil {
		return err
	}
	c, err := g.caseInReach(ctx, d, number)
	if err != nil {
		return err
	}
	if err := g.store.CloseCase(ctx, c.ID, d.p.ID, g.Now().UTC().Format(time.RFC3339)); err != nil {
		if amane.ErrorCode(err) == amane.ECONFLICT {
			return d.deny(ctx, c.Records[0], "case closed already", err)
		}
		return err
	}
	return d.grant(ctx, c.Records, nil, "case closed")
}

// Case returns the case with this number to a principal who may act on it (see caseInReach).
// ENOTFOUND otherwise. Showing a case releases no personal data (references, codes, times) and is
// not journaled; a refusal is.
func (g *Gate) Case(ctx context.Context, number string) (*amane.Case, error) {
	d, err := g.begin(ctx, actCaseList)
	if err != nil {
		return nil, err
	}
	return g.caseInReach(ctx, d, number)
}

// Cases lists open cases, oldest first, at most amane.MaxPage: an agent's own (assigned to it or its
// agency, whatever filter it states), the operator's batch jobs, any for a supervisor and the
// system. Not journaled: a list releases no personal data.
func (g *Gate) Cases(ctx context.Context, f amane.CaseFilter, limit int) ([]amane.Case, error) {
	d, err := g.begin(ctx, actCaseList)
	if err != nil {
		return nil, err
	}
	if f.Record != "" && !amane.ValidRecordRef(f.Record) {
		return nil, d.invalidInput(ctx, "record", amane.Invalid("Not a record reference.", amane.FieldError{Field: "record", Rule: "must be employee/ID or employer/ID"}))
	}
	switch d.p.Role {
	case amane.RoleAgent:
		f.Principal, f.Team = d.p.ID, d.p.Agency
	case amane.RoleOperator:
		f.Principal, f.Team = d.p.ID, ""
	}
	return g.store.OpenCases(ctx, f, limit)
}

var _ amane.CaseService = (*Gate)(nil)
