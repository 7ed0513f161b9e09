package gate

import (
	"context"
	"encoding/json"
	"slices"
	"time"

	"amane"
	"amane/declare"
	"amane/ids"
	"amane/internal/vercode"
	"amane/journal"
)

// Attestations pass the door like reads: principal → role → purpose → scope → journal → open. A
// nominative attestation (the employer's list of its declared people) goes only to the employer or
// its agency (and the CLI's batch); the third-party one holds no names; a salary attestation goes to
// the insured person (or their agency) and holds their own lines only. Issuing stores the public
// summary under a fresh verification code; the document itself is rendered and signed by the caller.

// AttestationRequest asks for one attestation.
type AttestationRequest struct {
	Kind        string // amane.AttestationKindEmployees, AttestationKindThirdParty or AttestationKindSalary
	Affiliation string // the employer (KindEmployees, KindThirdParty)
	Imm         string // the insured person (KindSalary); empty for an insured principal: their own
	From, To    string // AAAAMM, inclusive; empty: the last 12 declared months
}

// rolesForAttestation: who may ask for which kind.
var rolesForAttestation = map[string][]string{
	amane.AttestationKindEmployees:  {amane.RoleEmployer, amane.RoleAgent, amane.RoleSystem},
	amane.AttestationKindThirdParty: {amane.RoleEmployer, amane.RoleAgent, amane.RoleSupervisor, amane.RoleOperator, amane.RoleSystem},
	amane.AttestationKindSalary:     {amane.RoleInsured, amane.RoleAgent, amane.RoleSystem},
}

// Issuer is the name attestations carry.
const Issuer = "Caisse Nationale de Sécurité Sociale — Amane"

// Attestations issues a batch of attestations (one request for a single document; the CLI's --all
// sends hundreds): each is decided, journaled and opened on its own — docs[i] or errs[i] — and their
// summaries are stored in one transaction. err fails the whole call.
func (g *Gate) Attestations(ctx context.Context, reqs []AttestationRequest) (docs []*amane.AttestationDocument, errs []error, err error) {
	d, err := g.begin(ctx, actAttest)
	if err != nil {
		return nil, nil, err
	}
	now := g.Now().UTC()
	docs, errs = make([]*amane.AttestationDocument, len(reqs)), make([]error, len(reqs))
	// Decide every request, then journal the batch's accesses in one durable append, then open: a
	// batch of 32 employers is one journal commit, not 32.
	decided := make([]*granted, len(reqs))
	var entries []journal.Entry
	for i, r := range reqs {
		gr, err := g.attestation(ctx, d, r, now)
		if err != nil {
			errs[i] = err
			continue
		}
		decided[i] = gr
		entries = append(entries, gr.entries...)
	}
	if err := d.appendGranted(ctx, entries); err != nil {
		return nil, nil, err
	}
	// The keys the nominative lists are sealed under: the batch's people in one query.
	var withLines []int64
	for _, gr := range decided {
		if gr != nil && gr.open != nil {
			withLines = append(withLines, gr.rec.EmployerID)
		}
	}
	people, err := g.store.DeclarationPeople(ctx, withLines)
	if err != nil {
		return nil, nil, err
	}
	var recs []*amane.AttestationRecord
	var docsOf []*amane.AttestationDocument // recs[i] is docsOf[i]'s
	for i, gr := range decided {
		if gr == nil {
			continue
		}
		if gr.open != nil {
			keys, err := g.keysOf(ctx, gr.rec.EmployerID, people[gr.rec.EmployerID])
			if err == nil {
				err = gr.open(keys)
			}
			if err != nil {
				errs[i] = err
				continue
			}
		}
		docs[i] = gr.doc
		recs, docsOf = append(recs, gr.rec), append(docsOf, gr.doc)
	}
	for attempt := 0; len(recs) > 0; attempt++ {
		err := g.store.PutAttestations(ctx, recs)
		if err == nil {
			break
		}
		if amane.ErrorCode(err) != amane.ECONFLICT || attempt == 3 {
			return nil, nil, err
		}
		// A code drawn twice (odds below 1 in 20,000 for a batch of 53,574): draw them all again.
		for i, doc := range docsOf {
			doc.Summary.Code = vercode.New()
			recs[i].Code = doc.Summary.Code
			recs[i].Summary, _ = json.Marshal(&doc.Summary)
		}
	}
	return docs, errs, nil
}

// granted is one attestation decided: its document (lines still sealed), its record, the journal
// entries of the accesses it needs, and what opens the lines once they are durable.
type granted struct {
	doc     *amane.AttestationDocument
	rec     *amane.AttestationRecord
	entries []journal.Entry
	open    func(keys map[amane.DataKeyRef]amane.WrappedKey) error
}

func (g *Gate) attestation(ctx context.Context, d *decision, r AttestationRequest, now time.Time) (*granted, error) {
	if !slices.Contains(rolesForAttestation[r.Kind], d.p.Role) {
		if _, ok := rolesForAttestation[r.Kind]; !ok {
			return nil, d.invalidInput(ctx, "kind of attestation", amane.Invalid("Unknown kind of attestation.", amane.FieldError{Field: "type", Rule: "salaries-declares, affiliation-declaration or salaire"}))
		}
		return nil, d.deny(ctx, "", "role "+d.p.Role+" may not issue "+r.Kind, amane.Errorf(amane.EFORBIDDEN, "Your role may not issue this attestation."))
	}
	for _, p := range []string{r.From, r.To} {
		if _, err := amane.ParsePeriod(p); p != "" && err != nil {
			return nil, d.invalidInput(ctx, "period", amane.Invalid(err.Error(), amane.FieldError{Field: "periode", Rule: err.Error()}))
		}
	}
	if r.Kind == amane.AttestationKindSalary { // one at a time: journaled and opened inside
		doc, rec, err := g.salaryAttestation(ctx, d, r, now)
		if err != nil {
			return nil, err
		}
		return &granted{doc: doc, rec: rec}, nil
	}
	emp, rule, err := g.employerInScope(ctx, d, r.Affiliation)
	if err != nil {
		return nil, err
	}
	sums, err := g.store.DeclarationSummaries(ctx, emp.ID)
	if err == nil {
		err = g.checkSeals(sums) // figures signed are the ones the gate sealed
	}
	if err != nil {
		return nil, err
	}
	months, periods := declare.Months(sums, r.From, r.To)
	if len(months) == 0 {
		return nil, amane.Errorf(amane.ENOTFOUND, "No declaration in this period: nothing to attest.")
	}
	gr := &granted{doc: &amane.AttestationDocument{Company: companyOf(emp), Summary: summary(r.Kind, emp, months, now)}}
	gr.rec = record(gr.doc, emp.ID, 0)
	refs := []string{employerRef(emp.ID)}
	fields := []string{fDeclaration + ":" + r.Kind}
	if r.Kind == amane.AttestationKindEmployees {
		var lines []*amane.DeclarationRecord
		if lines, refs, err = g.declaredLines(ctx, d, emp, periods, refs); err != nil {
			return nil, err
		}
		fields = append(fields, fImm, fSurname, fFirstName)
		gr.open = func(keys map[amane.DataKeyRef]amane.WrappedKey) (err error) {
			gr.doc.Lines, err = g.openLines(emp, lines, 0, keys)
			return err
		}
	}
	gr.entries = d.grantEntries(refs, fields, rule)
	return gr, nil
}

// salaryAttestation: one person's own declared months, with every employer that declared them.
func (g *Gate) salaryAttestation(ctx context.Context, d *decision, r AttestationRequest, now time.Time) (*amane.AttestationDocument, *amane.AttestationRecord, error) {
	var rec *amane.EmployeeRecord
	var err error
	switch {
	case r.Imm == "" && d.p.Role == amane.RoleInsured:
		rec, err = g.store.EmployeeByID(ctx, d.p.EmployeeID)
	default:
		imm, perr := ids.ParseImmatriculation(r.Imm)
		if perr != nil {
			return nil, nil, d.invalidInput(ctx, "immatriculation", amane.Invalid(perr.Error(), amane.FieldError{Field: "immatriculation", Rule: perr.Error()}))
		}
		rec, err = g.employeeByImm(ctx, d, imm)
	}
	if amane.ErrorCode(err) == amane.ENOTFOUND {
		return nil, nil, d.refuseUnknown(ctx, "immatriculation")
	} else if err != nil {
		return nil, nil, err
	}
	jobs, err := g.store.Employments(ctx, rec.ID)
	if err != nil {
		return nil, nil, err
	}
	if err := d.refusePending(ctx, employeeRef(rec.ID)); err != nil {
		return nil, nil, err
	}
	rule, ok := d.employeeScope(rec.ID, jobs)
	if !ok {
		return nil, nil, d.refuseOutOfScope(ctx, employeeRef(rec.ID), rule)
	}
	if rec.Key.Blob == nil {
		return nil, nil, amane.Errorf(amane.ENOTFOUND, "This person's data was erased.")
	}
	if err := d.grant(ctx, []string{employeeRef(rec.ID)}, []string{fDeclaration + ":" + r.Kind, fImm, fSurname, fFirstName}, rule); err != nil {
		return nil, nil, err
	}
	e, err := g.openEmployee(rec)
	if err != nil {
		return nil, nil, err
	}
	doc := &amane.AttestationDocument{Person: &amane.AttestationPerson{Imm: e.Immatriculation, Surname: e.Surname, FirstName: e.FirstName}}
	var first *amane.EmployerRecord
	var from, to string
	for _, j := range jobs {
		emp, err := g.store.EmployerByAffiliation(ctx, j.Affiliation)
		if err != nil {
			return nil, nil, err
		}
		sums, err := g.store.DeclarationSummaries(ctx, emp.ID)
		if err == nil {
			err = g.checkSeals(sums)
		}
		if err != nil {
			return nil, nil, err
		}
		_, periods := declare.Months(sums, r.From, r.To)
		decls, _, err := g.declaredLines(ctx, d, emp, periods, nil)
		if err != nil {
			return nil, nil, err
		}
		var lines []amane.AttestationLine
		if len(decls) > 0 {
			keys, err := g.declarationKeys(ctx, emp.ID)
			if err != nil {
				return nil, nil, err
			}
			if lines, err = g.openLines(emp, decls, rec.ID, keys); err != nil {
				return nil, nil, err
			}
		}
		if err != nil {
			return nil, nil, err
		}
		if len(lines) > 0 && first == nil {
			first = emp
		}
		for _, l := range lines {
			l.Imm = emp.Affiliation // the salary attestation's lines name the employer, not the person again
			doc.Lines = append(doc.Lines, l)
			if from == "" || l.Period < from {
				from = l.Period
			}
			to = max(to, l.Period)
		}
	}
	if first == nil {
		return nil, nil, amane.Errorf(amane.ENOTFOUND, "No declared month for this person in this period.")
	}
	slices.SortStableFunc(doc.Lines, func(a, b amane.AttestationLine) int { return cmpString(a.Period, b.Period) })
	doc.Summary = summary(amane.AttestationKindSalary, first, nil, now)
	doc.Summary.From, doc.Summary.To = from, to
	doc.Company = companyOf(first)
	return doc, record(doc, first.ID, rec.ID), nil
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// declaredLines reads the stored declarations of the periods and, when refs is not nil, adds the
// people they name to it.
func (g *Gate) declaredLines(ctx context.Context, d *decision, emp *amane.EmployerRecord, periods []string, refs []string) ([]*amane.DeclarationRecord, []string, error) {
	var out []*amane.DeclarationRecord
	for _, p := range periods {
		recs, err := g.store.Declarations(ctx, emp.ID, p)
		if err == nil {
			err = g.checkSeals(recs)
		}
		if err != nil {
			return nil, nil, err
		}
		for _, r := range recs {
			if refs != nil {
				bl, err := parseBlob(r.Lines)
				if err != nil {
					return nil, nil, err
				}
				for _, l := range bl {
					if ref := employeeRef(l.subject); l.kind == amane.KeyHistory && !slices.Contains(refs, ref) {
						refs = append(refs, ref)
					}
				}
			}
			out = append(out, r)
		}
	}
	return out, refs, nil
}

// openLines opens the declared lines of recs — only person's when person is not 0 (the others stay
// sealed) — as attestation lines, oldest period first. New employees without an immatriculation (B04
// requests) are listed with an empty one.
func (g *Gate) openLines(emp *amane.EmployerRecord, recs []*amane.DeclarationRecord, person int64, keys map[amane.DataKeyRef]amane.WrappedKey) ([]amane.AttestationLine, error) {
	var out []amane.AttestationLine
	for _, r := range recs {
		bl, err := parseBlob(r.Lines)
		if err != nil {
			return nil, err
		}
		decl, err := g.openDeclaration(emp, r, bl, keys, person)
		if err != nil {
			return nil, err
		}
		for _, l := range decl.Lines {
			if l.Surname == amane.ErasedLine || l.Imm == "" {
				continue
			}
			out = append(out, amane.AttestationLine{Period: r.Period, Imm: l.Imm, Surname: l.Surname, FirstName: l.FirstName, Days: l.Days, Salary: l.Salary})
		}
		for _, n := range decl.New {
			if n.Surname == amane.ErasedLine || (person != 0 && n.Imm == "") {
				continue
			}
			imm := n.Imm
			if imm == amane.OccasionalInsured || imm == "000000000" {
				imm = ""
			}
			out = append(out, amane.AttestationLine{Period: r.Period, Imm: imm, Surname: n.Surname, FirstName: n.FirstName, Days: n.Days, Salary: n.Salary})
		}
	}
	return out, nil
}

func companyOf(e *amane.EmployerRecord) amane.AttestationCompany {
	return amane.AttestationCompany{Name: e.Name, Activity: e.Activity, Address: e.Address, City: e.City, Affiliation: e.Affiliation,
		AffiliationDate: e.AffiliationDate, ICE: e.ICE, RC: e.RC, TP: e.TP, IF: e.IF, LegalForm: e.LegalForm}
}

func summary(kind string, e *amane.EmployerRecord, months []amane.AttestationMonth, now time.Time) amane.AttestationSummary {
	s := amane.AttestationSummary{Code: vercode.New(), Kind: kind, Issuer: Issuer, Affiliation: e.Affiliation, Employer: e.Name,
		Months: months, Issued: now.Format(time.RFC3339), Expires: now.Add(amane.AttestationValidity).Format(time.RFC3339)}
	if len(months) > 0 {
		s.From, s.To = months[0].Period, months[len(months)-1].Period
	}
	return s
}

func record(doc *amane.AttestationDocument, employerID, employeeID int64) *amane.AttestationRecord {
	b, _ := json.Marshal(&doc.Summary)
	return &amane.AttestationRecord{Code: doc.Summary.Code, Kind: doc.Summary.Kind, EmployerID: employerID, EmployeeID: employeeID,
		Summary: b, Issued: doc.Summary.Issued, Expires: doc.Summary.Expires}
}

// AttestationStatus is what GET /verify/{code} shows: the public summary and the status. No
// principal is needed and nothing personal is released, so nothing is journaled.
func (g *Gate) AttestationStatus(ctx context.Context, code string) (*amane.AttestationSummary, string, error) {
	c, err := vercode.Parse(code)
	if err != nil {
		return nil, "", amane.Invalid("Not a verification code.", amane.FieldError{Field: "code", Rule: "AMN-XXXXX-XXXXX"})
	}
	r, err := g.store.AttestationByCode(ctx, c)
	if err != nil {
		return nil, "", err
	}
	var s amane.AttestationSummary
	if err := json.Unmarshal(r.Summary, &s); err != nil {
		return nil, "", err
	}
	status := amane.AttestationValid
	switch {
	case r.Revoked != "":
		status = amane.AttestationRevoked
	case r.Expires <= g.Now().UTC().Format(time.RFC3339):
		status = amane.AttestationExpired
	}
	return &s, status, nil
}

// RevokeAttestation revokes an attestation (journaled against its employer).
func (g *Gate) RevokeAttestation(ctx context.Context, code, reason string) error {
	d, err := g.begin(ctx, actRevoke)
	if err != nil {
		return err
	}
	c, err := vercode.Parse(code)
	if err != nil {
		return d.invalidInput(ctx, "attestation code", amane.Invalid("Not a verification code.", amane.FieldError{Field: "code", Rule: "AMN-XXXXX-XXXXX"}))
	}
	r, err := g.store.AttestationByCode(ctx, c)
	if amane.ErrorCode(err) == amane.ENOTFOUND {
		return d.refuseUnknown(ctx, "attestation code")
	} else if err != nil {
		return err
	}
	// An agent revokes its agency's employers' attestations only; another's answers as an unknown code.
	emp, err := g.store.EmployerByID(ctx, r.EmployerID)
	if err != nil {
		return err
	}
	rule, ok := d.employerScope(emp)
	if !ok {
		return d.refuseOutOfScope(ctx, employerRef(r.EmployerID), rule)
	}
	if err := d.grant(ctx, []string{employerRef(r.EmployerID)}, []string{"attestation:" + c}, "revoke: "+rule); err != nil {
		return err
	}
	return g.store.RevokeAttestation(ctx, c, g.Now().UTC().Format(time.RFC3339), reason)
}
