package gate

import (
	"context"
	"errors"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"amane"
	"amane/ids"
	"amane/journal"
	"amane/sentinel"
)

// Actions, as the journal records them.
const (
	actRead    = "read"
	actReveal  = "reveal"
	actSearch  = "search"
	actCreate  = "create"
	actUpdate  = "update"
	actErase   = "erase"
	actLog     = "access-log"
	actProof   = "proof"
	actAudit   = "journal"
	actDeclare = "declare"
	actAttest  = "attest"
	actRevoke  = "revoke"
)

// Journal is what the gate needs of the access journal (package journal): an append that returns once
// the entry is durable.
type Journal interface {
	Append(ctx context.Context, e journal.Entry) (int64, error)
	AppendAll(ctx context.Context, es []journal.Entry) error
	Checkpoint(ctx context.Context) (int64, error)
}

// UseJournal makes the gate journal every decision to j, kept in st (read back for access logs and
// proofs). Without a journal, the gate refuses every access to personal data: it fails closed.
func (g *Gate) UseJournal(j Journal, st journal.Store) *Gate {
	g.journal, g.jstore = j, st
	return g
}

// SetPurposes replaces the list of purposes principals may state (DIR/purposes.json).
func (g *Gate) SetPurposes(list []amane.PurposeChoice) *Gate {
	g.purposes = list
	return g
}

// Purposes implements amane.Registry.
func (g *Gate) Purposes() []amane.PurposeChoice { return g.purposes }

// Unchecked returns a copy of the gate that neither authorizes nor journals: every principal may read everything,
// masked unless revealed. It exists for one use, `amane-bench gate`, to measure what the checks and
// the journal cost; `amane serve` never builds one (TestServeGateIsChecked).
func (g *Gate) Unchecked() *Gate {
	u := *g
	u.unchecked = true
	return &u
}

// Sentinel watches the gate's decisions as they are made (package sentinel's Live implements it):
// a suspended principal is refused at the door, and every decision is an event.
type Sentinel interface {
	Observe(e sentinel.Event) []sentinel.Response
	// Admit is "" when the principal's request may go on, sentinel.Suspend or sentinel.Throttle if not.
	Admit(principal string, now time.Time) string
	// AdmitRelease counts, before anything is released, the records a response would release (one
	// event per record): "" if the release may go on, sentinel.Suspend if it would cross a ceiling.
	AdmitRelease(es []sentinel.Event) string
	// Standing is the strongest response in force; Hold imposes one (restored from the store); Lift
	// ends them (a security officer's decision).
	Standing(principal string) string
	Hold(principal, response string)
	Lift(principal string)
}

// UseSentinel makes the gate refuse suspended principals and report every decision to s.
func (g *Gate) UseSentinel(s Sentinel) *Gate {
	g.sentinel = s
	return g
}

// observe reports journaled decisions to the sentinel (refusals; grants were admitted before
// release, see admit).
func (d *decision) observe(es []journal.Entry) {
	if d.g.sentinel == nil {
		return
	}
	for _, e := range d.sentinelEvents(es) {
		d.g.sentinel.Observe(e)
	}
}

// setHome notes a record's agency for the sentinel.
func (d *decision) setHome(record, agency string) {
	if d.homes == nil {
		d.homes = map[string]string{}
	}
	d.homes[record] = agency
}

// roles that may take each action. Staff among them state a purpose (see decision.purpose).
// The DPO, the security officer and the auditor hold no personal data: they take only the journal's
// own views (actLog for the system and the insured person's own log, actProof, actAudit). Where a DPO
// must see one person (a rights request), it will be under that request's case (issue 14); until then,
// not at all.
var rolesFor = map[string][]string{
	actRead:    {amane.RoleAgent, amane.RoleSupervisor, amane.RoleOperator, amane.RoleSystem, amane.RoleEmployer, amane.RoleInsured},
	actSearch:  {amane.RoleAgent, amane.RoleSupervisor, amane.RoleOperator, amane.RoleSystem, amane.RoleEmployer},
	actCreate:  {amane.RoleAgent, amane.RoleSupervisor, amane.RoleOperator, amane.RoleSystem},
	actUpdate:  {amane.RoleAgent, amane.RoleSupervisor, amane.RoleOperator, amane.RoleSystem},
	actErase:   {amane.RoleSystem},
	actAttest:  {amane.RoleAgent, amane.RoleSupervisor, amane.RoleOperator, amane.RoleSystem, amane.RoleEmployer, amane.RoleInsured},
	actRevoke:  {amane.RoleAgent, amane.RoleSupervisor, amane.RoleSystem},
	actDeclare: {amane.RoleAgent, amane.RoleSupervisor, amane.RoleOperator, amane.RoleSystem, amane.RoleEmployer},
	actLog:     {amane.RoleInsured, amane.RoleSystem},
	actProof:   {amane.RoleInsured, amane.RoleDPO, amane.RoleAuditor, amane.RoleSystem},
	actAudit:   {amane.RoleAuditor, amane.RoleDPO, amane.RoleSecurity, amane.RoleSystem},
}

// decision is one request's passage through the gate: who, why, which fields in clear.
type decision struct {
	g       *Gate
	p       *amane.Principal
	action  string
	purpose amane.Purpose
	reveal  []string // masked fields asked in clear (JSON names), or [RevealAll]
	rid     string
	// homes is each record's agency as the scope checks saw it (the sentinel's record_home).
	homes map[string]string
	// pending is a refusal decided before the record was looked up (a missing purpose on a read),
	// journaled with the record's reference once known, so that the person sees the attempt.
	pending       error
	pendingReason string
}

// begin checks who asks and why, before anything is looked up: a principal, a role that may take the
// action, a purpose from the list (mandatory for staff, and for any reveal but an insured person's
// own). A refusal is journaled, then returned.
func (g *Gate) begin(ctx context.Context, action string) (*decision, error) {
	p := amane.PrincipalFromContext(ctx)
	if p == nil {
		return nil, amane.Errorf(amane.EUNAUTHORIZED, "Sign in first.")
	}
	d := &decision{g: g, p: p, action: action, purpose: amane.PurposeFromContext(ctx),
		reveal: amane.RevealFromContext(ctx), rid: amane.RequestIDFromContext(ctx)}
	if g.unchecked {
		return d, nil
	}
	if g.journal == nil {
		return nil, amane.Errorf(amane.EINTERNAL, "The access journal is not open: no personal data leaves the gate without it.")
	}
	// The purpose first: until it is checked, nothing the principal typed may reach the journal, so
	// every refusal below journals only a configured code and a reference that matched its pattern.
	reason, perr := d.checkPurpose()
	if g.sentinel != nil {
		switch g.sentinel.Admit(p.ID, g.Now()) {
		case sentinel.Suspend:
			return nil, d.deny(ctx, "", "suspended by the sentinel", amane.Errorf(amane.EFORBIDDEN, "This account is suspended: a security officer must lift it."))
		case sentinel.Throttle:
			return nil, d.deny(ctx, "", "throttled by the sentinel", amane.Errorf(amane.ETHROTTLED, "Too many requests: wait a second between two."))
		}
	}
	if !slices.Contains(rolesFor[action], p.Role) {
		return nil, d.deny(ctx, "", "role "+p.Role+" may not "+action, amane.Errorf(amane.EFORBIDDEN, "Your role may not do this."))
	}
	for _, f := range d.reveal {
		if f != amane.RevealAll && !slices.Contains(maskable, f) {
			return nil, d.deny(ctx, "", "unknown field to reveal", amane.Invalid("Unknown field to reveal.", amane.FieldError{Field: "reveal", Rule: "one of " + strings.Join(maskable, ", ")}))
		}
	}
	if perr != nil {
		if action == actRead { // journaled against the record, once looked up (nothing is opened)
			d.pending, d.pendingReason = perr, reason
			return d, nil
		}
		return nil, d.deny(ctx, "", reason, perr)
	}
	return d, nil
}

// noPersonalData are the actions that release no personal data: the journal's own views. Staff
// take them without a purpose.
var noPersonalData = []string{actLog, actProof, actAudit}

// checkPurpose applies the purpose rule and returns the refusal's reason and error, if any. It leaves
// in d.purpose only what passed: a configured code, then a reference that matched that purpose's
// pattern. A refused code or reference is journaled as the rule it broke, never as the text typed.
func (d *decision) checkPurpose() (string, error) {
	p := d.p
	needPurpose := (amane.StaffRole(p.Role) && !slices.Contains(noPersonalData, d.action)) ||
		(len(d.reveal) > 0 && p.Role != amane.RoleInsured && p.Role != amane.RoleSystem)
	stated := d.purpose
	if p.Role == amane.RoleSystem { // the CLI states its command; nothing to check it against
		return "", nil
	}
	d.purpose = amane.Purpose{}
	if stated.Code == "" {
		if !needPurpose {
			return "", nil
		}
		return "no purpose stated", amane.Invalid("State the purpose of this access and its reference (a case number).",
			amane.FieldError{Field: "purpose", Rule: "required for staff and for any reveal"})
	}
	choice, ok := d.g.purposeChoice(stated.Code)
	if !ok {
		return "unknown purpose", amane.Invalid("This purpose is not in the list.",
			amane.FieldError{Field: "purpose", Rule: "one of the configured purposes"})
	}
	d.purpose.Code = choice.Code
	if reason, err := checkReference(choice, stated.Reference); err != nil {
		return reason, err
	}
	d.purpose.Reference = stated.Reference
	return "", nil
}

// journaledPurpose is what of the purpose stated in ctx may be journaled for p: the configured code and
// a reference that matched its pattern, or less. Any entry the gate writes outside begin (a web-layer
// refusal) takes its purpose from here, so that nothing typed reaches the journal unchecked.
func (g *Gate) journaledPurpose(ctx context.Context, p *amane.Principal) amane.Purpose {
	d := &decision{g: g, p: p, purpose: amane.PurposeFromContext(ctx), reveal: amane.RevealFromContext(ctx)}
	d.checkPurpose()
	return d.purpose
}

// purposeChoice returns the configured purpose with this code; a code longer than any configured
// one is not even compared.
func (g *Gate) purposeChoice(code string) (amane.PurposeChoice, bool) {
	if len(code) > amane.MaxPurposeCode {
		return amane.PurposeChoice{}, false
	}
	i := slices.IndexFunc(g.purposes, func(c amane.PurposeChoice) bool { return c.Code == code })
	if i < 0 {
		return amane.PurposeChoice{}, false
	}
	return g.purposes[i], true
}

// referencePatterns caches the compiled reference pattern of each configured purpose, by pattern.
var referencePatterns sync.Map // string → *regexp.Regexp, or nil if it does not compile

// checkReference applies a purpose's reference pattern, then refuses what is still a person's
// identifier (a loose pattern in DIR/purposes.json must not let a CIN through). The reason names the
// rule only: it is journaled, and the reference was refused because it may be personal.
func checkReference(c amane.PurposeChoice, ref string) (string, error) {
	re, ok := referencePatterns.Load(c.Reference)
	if !ok {
		compiled, err := c.CompileReference()
		if err != nil {
			compiled = nil // fail closed: no reference matches a pattern that does not compile
		}
		re, _ = referencePatterns.LoadOrStore(c.Reference, compiled)
	}
	rx, _ := re.(*regexp.Regexp)
	if len(ref) > amane.MaxReference || rx == nil || !rx.MatchString(ref) {
		return "reference does not match " + c.Format, amane.Invalid("Give the reference of your case for this purpose, in the form "+c.Format+".",
			amane.FieldError{Field: "reference", Rule: "must match " + c.Format})
	}
	if looksPersonal(ref) {
		return "reference is a person's identifier", amane.Invalid("A reference must be a case number, not a person's identifier.",
			amane.FieldError{Field: "reference", Rule: "must not be a CIN, immatriculation or phone number"})
	}
	return "", nil
}

// refusePending journals and returns the refusal begin deferred, now that the record is known.
func (d *decision) refusePending(ctx context.Context, record string) error {
	if d.pending == nil {
		return nil
	}
	return d.deny(ctx, record, d.pendingReason, d.pending)
}

// looksPersonal reports whether a purpose reference is itself a person's identifier.
func looksPersonal(s string) bool {
	if _, err := ids.ParseCIN(s); err == nil {
		return true
	}
	if _, err := ids.ParseImmatriculation(s); err == nil {
		return true
	}
	if _, err := ids.ParsePhone(s); err == nil {
		return true
	}
	return false
}

func (d *decision) entry(record, outcome, reason string, fields []string) journal.Entry {
	return journal.Entry{Principal: d.p.ID, Role: d.p.Role, Scope: d.p.Scope(), Action: d.action, Record: record,
		Fields: fields, Purpose: d.purpose.Code, Reference: d.purpose.Reference, Outcome: outcome, Reason: reason, RequestID: d.rid}
}

// deny journals a refusal and returns err; if the journal fails, that failure is returned instead.
func (d *decision) deny(ctx context.Context, record, reason string, err error) error {
	if d.g.unchecked {
		return err
	}
	e := d.entry(record, journal.Denied, reason, nil)
	if _, jerr := d.g.journal.Append(ctx, e); jerr != nil {
		return jerr
	}
	d.observe([]journal.Entry{e})
	return err
}

// grant journals the access to records, durably, before the caller releases any plaintext. action
// becomes "reveal" when fields are asked in clear.
func (d *decision) grant(ctx context.Context, records []string, fields []string, rule string) error {
	if d.g.unchecked || len(records) == 0 {
		return nil
	}
	return d.appendGranted(ctx, d.grantEntries(records, fields, rule))
}

// grantEntries are the journal entries of an access to records, as grant appends them.
func (d *decision) grantEntries(records []string, fields []string, rule string) []journal.Entry {
	if len(d.reveal) > 0 && (d.action == actRead || d.action == actSearch) {
		d.action = actReveal
	}
	es := make([]journal.Entry, len(records))
	for i, r := range records {
		es[i] = d.entry(r, journal.Allowed, rule, fields)
	}
	return es
}

// appendGranted appends the entries of granted accesses, durably, before any plaintext is released.
func (d *decision) appendGranted(ctx context.Context, es []journal.Entry) error {
	if d.g.unchecked || len(es) == 0 {
		return nil
	}
	if d.pending != nil { // fail closed: a path that forgot refusePending still releases nothing
		return d.deny(ctx, es[0].Record, d.pendingReason, d.pending)
	}
	if err := d.admit(ctx, es); err != nil {
		return err
	}
	var err error
	if len(es) == 1 {
		_, err = d.g.journal.Append(ctx, es[0])
	} else {
		err = d.g.journal.AppendAll(ctx, es)
	}
	return err
}

// employeeScope decides whether the principal may reach an insured person with these employments, and
// names the rule. Nothing is decrypted to decide. Only validated employments count: a pending one is
// a claim an employer sent (a B04 line naming anyone's immatriculation), and a rejected one was
// refused, so neither widens anybody's scope nor makes a read count as "inside home".
func (d *decision) employeeScope(id int64, jobs []amane.Employment) (string, bool) {
	jobs = validated(jobs)
	if d.g.sentinel != nil && len(jobs) == 0 && id != 0 {
		d.setHome(employeeRef(id), noHome)
	}
	if d.g.sentinel != nil && len(jobs) > 0 {
		// The record's home as the principal's is counted: an agency, or an affiliation for an employer user.
		homeOf := func(j amane.Employment) string { return j.Agency }
		if d.p.Role == amane.RoleEmployer {
			homeOf = func(j amane.Employment) string { return j.Affiliation }
		}
		home := homeOf(jobs[0])
		for _, j := range jobs {
			if h := homeOf(j); h == d.p.Agency || (h == d.p.Affiliation && h != "") {
				home = h
			}
		}
		d.setHome(employeeRef(id), home)
	}
	switch d.p.Role {
	case amane.RoleSupervisor, amane.RoleOperator, amane.RoleSystem:
		return "national", true
	case amane.RoleAgent:
		for _, j := range jobs {
			if d.p.Agency != "" && j.Agency == d.p.Agency {
				return "agency", true
			}
		}
		return "outside the agency", false
	case amane.RoleEmployer:
		for _, j := range jobs {
			if d.p.Affiliation != "" && j.Affiliation == d.p.Affiliation {
				return "employer", true
			}
		}
		return "not an employee of this employer", false
	case amane.RoleInsured:
		if d.p.EmployeeID != 0 && d.p.EmployeeID == id {
			return "own record", true
		}
		return "not their own record", false
	}
	return "role " + d.p.Role, false
}

// employerScope is employeeScope for an employer.
func (d *decision) employerScope(r *amane.EmployerRecord) (string, bool) {
	if d.g.sentinel != nil {
		home := r.Agency
		if d.p.Role == amane.RoleEmployer {
			home = r.Affiliation
		}
		d.setHome(employerRef(r.ID), home)
	}
	switch d.p.Role {
	case amane.RoleSupervisor, amane.RoleOperator, amane.RoleSystem:
		return "national", true
	case amane.RoleAgent:
		if d.p.Agency != "" && r.Agency == d.p.Agency {
			return "agency", true
		}
		return "outside the agency", false
	case amane.RoleEmployer:
		if d.p.Affiliation != "" && r.Affiliation == d.p.Affiliation {
			return "employer", true
		}
		return "another employer", false
	}
	return "role " + d.p.Role, false
}

func outOfScope() error {
	return amane.Errorf(amane.EFORBIDDEN, "This record is outside your scope.")
}

// noHome is the sentinel's record home of a person with no validated employment: it is nobody's home,
// so a read of such a record counts as outside the principal's.
const noHome = "-"

// validated keeps the validated employments: the only ones that place a person in a scope.
func validated(jobs []amane.Employment) []amane.Employment {
	for i, j := range jobs {
		if j.State != amane.EmploymentValidated {
			out := slices.Clone(jobs[:i])
			for _, j := range jobs[i+1:] {
				if j.State == amane.EmploymentValidated {
					out = append(out, j)
				}
			}
			return out
		}
	}
	return jobs
}

// validatedEmployees keeps an employer's employees whose employment there is validated.
func validatedEmployees(recs []*amane.EmployeeRecord, jobs []amane.Employment) ([]*amane.EmployeeRecord, []amane.Employment) {
	var keepRecs []*amane.EmployeeRecord
	var keepJobs []amane.Employment
	for i, j := range jobs {
		if j.State == amane.EmploymentValidated {
			keepRecs, keepJobs = append(keepRecs, recs[i]), append(keepJobs, j)
		}
	}
	return keepRecs, keepJobs
}

// invalidInput journals a malformed identifier once the principal is known (what kind, never the
// text typed) and returns err.
//
// It is journaled, not reported to the sentinel: a mistyped identifier fails its format or check
// digit and reaches nobody — it is the everyday typo of an honest agent, not a probe — and counting it
// in the denied windows (suspension at 12 a day) would suspend agents for typing. What probes the
// registry (a well-formed unknown number, a record out of scope) is counted.
func (d *decision) invalidInput(ctx context.Context, what string, err error) error {
	if d.g.unchecked {
		return err
	}
	if _, jerr := d.g.journal.Append(ctx, d.entry("", journal.Denied, "invalid "+what, nil)); jerr != nil {
		return jerr
	}
	return err
}

// noRecord is the one answer to a lookup by number (immatriculation, CIN, internal id, affiliation)
// that finds nothing the principal may reach: an unknown number and one outside the principal's scope
// read the same, so that no answer tells whether a number exists.
func noRecord() error {
	return amane.Errorf(amane.ENOTFOUND, "Not found: no record in your scope has this number.")
}

// refuseOutsideBegin journals a refusal the gate decides outside begin (the sentinel's console), with
// the purpose only as far as it passed its check (these actions take none), and returns err; if the
// journal fails, that failure instead.
func (g *Gate) refuseOutsideBegin(ctx context.Context, p *amane.Principal, action, reason string, err error) error {
	if g.journal == nil || g.unchecked {
		return err
	}
	pp := g.journaledPurpose(ctx, p)
	e := journal.Entry{Principal: p.ID, Role: p.Role, Scope: p.Scope(), Action: action, Purpose: pp.Code, Reference: pp.Reference,
		Outcome: journal.Denied, Reason: reason, RequestID: amane.RequestIDFromContext(ctx)}
	if _, jerr := g.journal.Append(ctx, e); jerr != nil {
		return jerr
	}
	return err
}

// refuseConflict journals a write the store refused because a unique value is taken (an immatriculation,
// a CIN, an affiliation): the answer must say so for honest users, so it tells whether the value
// exists, and a run of them is a signal; the entry names the field, never the value. Other errors
// pass through.
func (d *decision) refuseConflict(ctx context.Context, err error) error {
	if amane.ErrorCode(err) != amane.ECONFLICT {
		return err
	}
	var ae *amane.Error
	field := "record"
	if errors.As(err, &ae) && len(ae.Fields) > 0 {
		field = ae.Fields[0].Field
	}
	return d.deny(ctx, "", "conflict: "+field+" taken", err)
}

// refuseUnknown journals a lookup that found no record and returns noRecord. The entry holds no
// record and not the number typed (it may be a real person's, or a guess): only what kind of lookup
// it was. A purpose refused at begin is the answer instead, as it is for a record that exists.
func (d *decision) refuseUnknown(ctx context.Context, what string) error {
	if d.pending != nil {
		return d.deny(ctx, "", d.pendingReason, d.pending)
	}
	return d.deny(ctx, "", "unknown "+what, noRecord())
}

// refuseOutOfScope journals a refusal on scope against the record, and answers as for an unknown one.
func (d *decision) refuseOutOfScope(ctx context.Context, record, rule string) error {
	return d.deny(ctx, record, rule, noRecord())
}

// Masking. maskable lists the fields shown masked unless revealed.
var maskable = []string{amane.FieldCIN, amane.FieldPassport, amane.FieldRepCIN, amane.FieldEmail, amane.FieldPhone, amane.FieldRIB, amane.FieldMandataire}

// Fields every read shows in clear: names and the immatriculation, which the principal already
// typed or needs to act on the record.
var (
	employeeClear = []string{fImm, fSurname, fFirstName}
	employerClear = []string{fRepSurname, fRepFirstName}
)

func (d *decision) revealed(field string) bool {
	return slices.Contains(d.reveal, amane.RevealAll) || slices.Contains(d.reveal, field)
}

// fieldsShown lists the personal fields a read shows in clear (what the journal records).
func (d *decision) fieldsShown(clear []string, candidates ...string) []string {
	out := slices.Clone(clear)
	for _, f := range candidates {
		if d.revealed(f) {
			out = append(out, f)
		}
	}
	return out
}

func (d *decision) maskEmployee(e *amane.Employee) {
	if !d.revealed(amane.FieldCIN) {
		e.CIN = maskIf(e.CIN, amane.MaskCIN)
	}
	if !d.revealed(amane.FieldPassport) {
		e.Passport = maskIf(e.Passport, amane.MaskCIN)
	}
}

func (d *decision) maskEmployer(e *amane.Employer) {
	if !d.revealed(amane.FieldRepCIN) {
		e.Representative.CIN = maskIf(e.Representative.CIN, amane.MaskCIN)
	}
	if !d.revealed(amane.FieldEmail) {
		e.Email = maskIf(e.Email, amane.MaskEmail)
	}
	if !d.revealed(amane.FieldPhone) {
		e.Phone = maskIf(e.Phone, amane.MaskPhone)
	}
	if !d.revealed(amane.FieldRIB) {
		e.RIB = maskIf(e.RIB, amane.MaskRIB)
	}
	if !d.revealed(amane.FieldMandataire) {
		e.Mandataire = maskIf(e.Mandataire, amane.MaskName)
	}
}

func maskIf(v string, mask func(string) string) string {
	if v == "" {
		return ""
	}
	return mask(v)
}

func employerRef(id int64) string { return employerSubject(id) }
func employeeRef(id int64) string { return employeeSubject(id) }
