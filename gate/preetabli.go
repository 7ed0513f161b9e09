package gate

import (
	"context"

	"amane"
	"amane/declare"
)

// The préétabli's A02 carries, for each insured person, the figures the CNSS holds of their family:
// children, family allowances to pay, to deduct, and net. Amane holds no family-allowance file of its
// own; its figures of record are what the employer last declared and Amane accepted: the person's
// B02 line in the employer's latest declarations before the period (a complementary declaration's
// line over the principal's). The préétabli writes them, and a declaration must repeat them: the
// format says B02 repeats A02 up to column 105, so each B02 line is checked against the A02 the
// préétabli would carry — the registry's name (when the line carries one: the JSON API may leave it
// out), children and the three allowances — every difference a problem with its line and field,
// names never quoted (declare.Repeated, declare.Name). A person without a previous line has no
// figures of record: the préétabli writes zeros, and the first declaration that names them sets them.

// priorFigures returns, by person id, each person's B02 line in the employer's latest declarations
// before period, and that period ("" when there is none). people gives the history keys to open
// them with.
func (g *Gate) priorFigures(ctx context.Context, emp *amane.EmployerRecord, period string, people []amane.DeclarationPerson) (map[int64]amane.DeclarationLine, string, error) {
	recs, err := g.store.PriorDeclarations(ctx, period, []int64{emp.ID})
	if err != nil || len(recs[emp.ID]) == 0 {
		return nil, "", err
	}
	out, err := g.figuresOf(emp, recs[emp.ID], people)
	return out, recs[emp.ID][0].Period, err
}

// figuresOf opens the B02 lines of recs (one period's declarations, by seq) by person id, a later
// seq's line over an earlier one's.
func (g *Gate) figuresOf(emp *amane.EmployerRecord, recs []*amane.DeclarationRecord, people []amane.DeclarationPerson) (map[int64]amane.DeclarationLine, error) {
	if len(recs) == 0 {
		return nil, nil
	}
	if err := g.checkSeals(recs); err != nil {
		return nil, err
	}
	keys := make(map[amane.DataKeyRef]amane.WrappedKey, len(people))
	for _, p := range people {
		if len(p.History.Blob) > 0 {
			keys[amane.DataKeyRef{Kind: amane.KeyHistory, Subject: p.ID}] = p.History
		}
	}
	out := map[int64]amane.DeclarationLine{}
	for _, r := range recs {
		bl, err := parseBlob(r.Lines)
		if err != nil {
			return nil, err
		}
		d, err := g.openDeclaration(emp, r, bl, keys, 0)
		if err != nil {
			return nil, err
		}
		k := 0
		for _, l := range bl {
			if l.tag != tagLine {
				continue
			}
			dl := d.Lines[k]
			k++
			if l.kind == amane.KeyHistory && dl.Surname != amane.ErasedLine {
				out[l.subject] = dl
			}
		}
	}
	return out, nil
}

// preetabliFigures fills a préétabli's lines (one per person, by id in ids) with the figures of
// record, journaled as a read of the previous declaration for each person whose figures are shown.
func (g *Gate) preetabliFigures(ctx context.Context, affiliation string, d *amane.Declaration, ids []int64) error {
	dec, err := g.begin(ctx, actRead)
	if err != nil {
		return err
	}
	emp, rule, err := g.employerInScope(ctx, dec, affiliation)
	if err != nil {
		return err
	}
	people, err := g.store.DeclarationPeople(ctx, []int64{emp.ID})
	if err != nil {
		return err
	}
	prior, prev, err := g.priorFigures(ctx, emp, d.Period, people[emp.ID])
	if err != nil || prev == "" {
		return err
	}
	var refs []string
	for _, id := range ids {
		if _, ok := prior[id]; ok {
			refs = append(refs, employeeRef(id))
		}
	}
	if err := dec.grant(ctx, refs, []string{fDeclaration + ":" + prev}, rule); err != nil {
		return err
	}
	for i, id := range ids {
		if p, ok := prior[id]; ok {
			l := &d.Lines[i]
			l.Children, l.AFToPay, l.AFToDeduct, l.AFNet = p.Children, p.AFToPay, p.AFToDeduct, p.AFNet
		}
	}
	return nil
}

// checkName opens the registry's name of a B02 line's person, when the line carries a name to
// compare (declare.Name), and compares them.
func (g *Gate) checkName(l *amane.DeclarationLine, p *amane.DeclarationPerson, line int) ([]amane.FieldError, error) {
	if p.Key.Blob == nil || p.Surname == nil || l.Surname == "" && l.FirstName == "" {
		return nil, nil
	}
	o := g.openerFor(employeeSubject(p.ID), p.Key)
	surname, first := o.open(fSurname, p.Surname), o.open(fFirstName, p.FirstName)
	if o.err != nil {
		return nil, openFailure(o.err)
	}
	return declare.Name(l, surname, first, line), nil
}
