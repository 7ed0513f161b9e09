package gate

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"

	"amane"
	"amane/declare"
	"amane/ids"
	"amane/internal/declblob"
	"amane/journal"
	"amane/vault"
)

// Declarations pass the door like any write: principal → role → purpose → scope (the employer's
// affiliation or agency) → validation of every rule at once (package declare's, then the registry's:
// every number among the employer's people) → journal → seal → store. A declaration's
// lines are personal data: each is sealed under its person's history key (vault.HistoryKey, kind
// amane.KeyHistory), bound to the declaration and the line's place, so that erasing a person shreds
// their declared months in every declaration and every backup. A line naming a person Amane does not
// know (a B04 new employee without immatriculation, an occasional worker) is sealed under the key of
// the immatriculation request it opens.
//
// The sealed blob (DeclarationRecord.Lines) and each line's plaintext are specified, written and
// read by package amane/internal/declblob: per line, its tag (B02 or B04), the kind and subject of
// the key it is sealed under, and the sealed plaintext. Subjects are internal ids: the store learns
// who is declared by which employer (it knows the employments already), never names, salaries or days.

const (
	tagLine = declblob.TagLine
	tagNew  = declblob.TagNew
)

// fDeclaration is the field name the journal records for a declaration's lines.
const fDeclaration = "declaration"

// SubmitDeclaration implements amane.Declarations.
func (g *Gate) SubmitDeclaration(ctx context.Context, d *amane.Declaration) (*amane.DeclarationResult, error) {
	res, errs, err := g.SubmitDeclarations(ctx, []*amane.Declaration{d})
	if err != nil {
		return nil, err
	}
	if errs[0] != nil {
		return nil, errs[0]
	}
	return res[0], nil
}

// submission is one declaration's passage through SubmitDeclarations.
type submission struct {
	d        *amane.Declaration
	emp      *amane.EmployerRecord
	rule     string
	existing []*amane.DeclarationRecord
	prior    []*amane.DeclarationRecord // the latest earlier period's, with lines
	digest   []byte
	res      *amane.DeclarationResult
	err      error
	// unknown counts the lines naming an insured number that is not among the employer's people
	// (unknown to Amane or employed elsewhere: one answer for both); many are a signal.
	unknown int
	// What this submission already journaled, kept across the retries of SubmitDeclarations: a
	// decision taken again after another writer's conflict is journaled once.
	journaled []journalEntry
	denied    error // the scope refusal, journaled on the first attempt
	// filled by check, for an accepted declaration
	people  map[string]*amane.DeclarationPerson // by immatriculation index
	subject []lineSubject                       // per line then per new employee
	rec     *amane.DeclarationRecord
}

// lineSubject is the key a line is sealed under.
type lineSubject struct {
	kind    int
	person  *amane.DeclarationPerson // KeyHistory
	pending bool                     // a known person not yet employed here: a pending employment
	// numbered: a B04 line's number Amane does not know, sealed under a request key and answered
	// as pending, like a known person's
	numbered bool
	request  int // KeyRequest: index into the batch's requests
}

// SubmitDeclarations submits several declarations at once (a bulk file load): each is validated and
// answered on its own — results[i] or errs[i] (out of scope, unknown employer) — and the accepted
// ones are written in one transaction. err is a failure of the whole call (the journal, the store).
func (g *Gate) SubmitDeclarations(ctx context.Context, ds []*amane.Declaration) (results []*amane.DeclarationResult, errs []error, err error) {
	dec, err := g.begin(ctx, actDeclare)
	if err != nil {
		return nil, nil, err
	}
	subs := make([]*submission, len(ds))
	for i, d := range ds {
		subs[i] = &submission{d: d}
	}
	for attempt := 0; ; attempt++ {
		err = g.submit(ctx, dec, subs)
		if attempt < 3 && amane.ErrorCode(err) == amane.ECONFLICT {
			// Another writer declared one of these people first (a history key) or the same period:
			// read again and decide again; nothing was written.
			for _, s := range subs {
				*s = submission{d: s.d, journaled: s.journaled, denied: s.denied}
			}
			continue
		}
		break
	}
	if err != nil {
		return nil, nil, err
	}
	results, errs = make([]*amane.DeclarationResult, len(ds)), make([]error, len(ds))
	for i, s := range subs {
		results[i], errs[i] = s.res, s.err
	}
	return results, errs, nil
}

func (g *Gate) submit(ctx context.Context, dec *decision, subs []*submission) error {
	now := g.Now().UTC()
	// Employer and scope, then what the store knows of each employer's people and period.
	var empIDs []int64
	affs := make([]string, 0, len(subs))
	for _, s := range subs {
		aff, err := ids.ParseAffiliation(s.d.Affiliation)
		if err != nil {
			s.err = amane.Invalid(err.Error(), amane.FieldError{Field: "affiliation", Rule: err.Error()})
			continue
		}
		s.d.Affiliation = aff
		affs = append(affs, aff)
	}
	emps, err := g.store.EmployersByAffiliation(ctx, affs)
	if err != nil {
		return err
	}
	for _, s := range subs {
		if s.err != nil {
			continue
		}
		emp := emps[s.d.Affiliation]
		if emp == nil { // answered as out of scope: no submission tells whether an affiliation exists
			s.err = dec.refuseUnknown(ctx, "affiliation")
			continue
		}
		rule, ok := dec.employerScope(emp)
		if !ok {
			if s.denied == nil { // journaled once, whatever the retries
				s.denied = dec.refuseOutOfScope(ctx, employerRef(emp.ID), rule)
			}
			s.err = s.denied
			continue
		}
		s.emp, s.rule = emp, rule
		if !slices.Contains(empIDs, emp.ID) {
			empIDs = append(empIDs, emp.ID)
		}
	}
	people, err := g.store.DeclarationPeople(ctx, empIDs)
	if err != nil {
		return err
	}
	// What each employer already declared for the periods at hand, and its declarations before them
	// (the figures of record): two queries per period.
	existing := map[string]map[int64][]*amane.DeclarationRecord{}
	prior := map[string]map[int64][]*amane.DeclarationRecord{}
	for _, s := range subs {
		if s.err == nil && existing[s.d.Period] == nil {
			var ids []int64
			for _, o := range subs {
				if o.err == nil && o.d.Period == s.d.Period {
					ids = append(ids, o.emp.ID)
				}
			}
			if existing[s.d.Period], err = g.store.PeriodDeclarations(ctx, s.d.Period, ids); err != nil {
				return err
			}
			if prior[s.d.Period], err = g.store.PriorDeclarations(ctx, s.d.Period, ids); err != nil {
				return err
			}
		}
	}
	batch := &amane.DeclarationBatch{}
	var entries []journalEntry
	seen := map[string]bool{}
	for _, s := range subs {
		if s.err != nil {
			continue
		}
		s.existing = existing[s.d.Period][s.emp.ID]
		s.prior = prior[s.d.Period][s.emp.ID]
		if err := g.check(ctx, s, people[s.emp.ID], now); err != nil {
			return err
		}
		if s.unknown >= UnknownInsuredSignal {
			// Many numbers that are not the employer's people: someone sorting numbers, not an
			// employer declaring its staff. A denial with the count, no number, that the sentinel
			// counts as that many denied requests.
			entries = append(entries, journalEntry{sub: s, record: employerRef(s.emp.ID), denied: s.unknown, period: s.d.Period,
				reason: fmt.Sprintf("%d insured numbers unknown or not employed by this employer", s.unknown)})
		}
		if s.res.Status == amane.DeclRejected {
			entries = append(entries, journalEntry{sub: s, record: employerRef(s.emp.ID), reason: fmt.Sprintf("rejected: %d problems", len(s.res.Problems)), period: s.d.Period})
			continue
		}
		if s.res.Duplicate {
			continue
		}
		key := fmt.Sprintf("%d/%s/%d", s.emp.ID, s.rec.Period, s.rec.Seq)
		if seen[key] { // twice in one load: the first one stands, the other is refused whole
			s.rec, s.subject = nil, nil
			s.res = declare.Rejected(s.d.Affiliation, s.d.Period, []amane.FieldError{declare.TwiceInLoad()})
			continue
		}
		seen[key] = true
		entries = append(entries, journalEntry{sub: s, record: employerRef(s.emp.ID), reason: s.rule, period: s.d.Period})
	}
	// Seal the accepted declarations.
	keys := map[int64]*vault.HistoryKey{} // by person id, across the batch
	var reqs []*submission
	for _, s := range subs {
		if s.rec != nil && slices.ContainsFunc(s.subject, func(l lineSubject) bool { return l.kind == amane.KeyRequest }) {
			reqs = append(reqs, s)
		}
	}
	var reqKeys []*vault.HistoryKey
	if n := countRequests(reqs); n > 0 {
		first, err := g.store.NextRequestIDs(ctx, n)
		if err != nil {
			return err
		}
		for i := range n {
			id := first + int64(i)
			hk, ver, wrapped, err := g.vault.NewHistoryKey(amane.DataKeyRef{Kind: amane.KeyRequest, Subject: id}.VaultSubject())
			if err != nil {
				return err
			}
			reqKeys = append(reqKeys, hk)
			batch.Requests = append(batch.Requests, &amane.ImmRequestRecord{ID: id, State: amane.EmploymentPending,
				Created: now.Format(time.RFC3339), Key: amane.WrappedKey{Version: ver, Blob: wrapped}})
		}
	}
	next := 0
	var scratch []byte
	for _, s := range subs {
		if s.rec == nil {
			continue
		}
		blob := []byte{declblob.Version}
		ctxBase := fmt.Sprintf("declaration/%d/%s/%d#", s.emp.ID, s.rec.Period, s.rec.Seq)
		for i, ls := range s.subject {
			var plain []byte
			var tag byte = tagLine
			var nl *amane.NewEmployeeLine
			if i < len(s.d.Lines) {
				plain = declblob.AppendLine(scratch[:0], &s.d.Lines[i])
			} else {
				tag = tagNew
				nl = &s.d.New[i-len(s.d.Lines)]
				plain = declblob.AppendNew(scratch[:0], nl)
			}
			scratch = plain
			var hk *vault.HistoryKey
			var subject int64
			switch ls.kind {
			case amane.KeyHistory:
				p := ls.person
				subject = p.ID
				hk = keys[p.ID]
				if hk == nil {
					ref := amane.DataKeyRef{Kind: amane.KeyHistory, Subject: p.ID}
					if len(p.History.Blob) == 0 { // declared for the first time
						k, ver, wrapped, err := g.vault.NewHistoryKey(ref.VaultSubject())
						if err != nil {
							return err
						}
						hk = k
						p.History = amane.WrappedKey{Version: ver, Blob: wrapped}
						batch.HistoryKeys = append(batch.HistoryKeys, amane.DataKey{DataKeyRef: ref, WrappedKey: p.History})
					} else if hk, err = g.vault.HistoryKey(ref.VaultSubject(), p.History.Version, p.History.Blob); err != nil {
						return err
					}
					keys[p.ID] = hk
				}
				if ls.pending && !slices.ContainsFunc(batch.Pending, func(j amane.Employment) bool { return j.EmployeeID == p.ID && j.EmployerID == s.emp.ID }) {
					batch.Pending = append(batch.Pending, amane.Employment{EmployeeID: p.ID, EmployerID: s.emp.ID,
						Since: s.rec.Period[:4] + "-" + s.rec.Period[4:] + "-01", State: amane.EmploymentPending})
				}
			case amane.KeyRequest:
				r := batch.Requests[next]
				r.EmployerID, r.Period = s.emp.ID, s.rec.Period
				if nl != nil && nl.CIN != "" {
					if cin, err := ids.ParseCIN(nl.CIN); err == nil {
						r.CINIndex = g.vault.Index(kCIN, cin)
					}
				}
				subject, hk = r.ID, reqKeys[next]
				next++
			}
			sealed, err := hk.Seal(nil, ctxBase+strconv.Itoa(i), plain)
			clear(plain)
			if err != nil {
				return err
			}
			blob = declblob.Append(blob, declblob.Entry{Tag: tag, Kind: byte(ls.kind), Subject: subject, Sealed: sealed})
		}
		s.rec.Lines = blob
		batch.Declarations = append(batch.Declarations, s.rec)
	}
	// The journal first: no write of personal data without its entry.
	if err := dec.journalAll(ctx, entries); err != nil {
		return err
	}
	if len(batch.Declarations) > 0 {
		if err := g.store.PutDeclarations(ctx, batch); err != nil {
			return err
		}
	}
	for _, s := range subs {
		if s.rec != nil {
			s.res.Summary = declare.Summary(s.d.Affiliation, s.rec)
		}
	}
	return nil
}

func countRequests(subs []*submission) int {
	n := 0
	for _, s := range subs {
		for _, l := range s.subject {
			if l.kind == amane.KeyRequest {
				n++
			}
		}
	}
	return n
}

// journalEntry is one declaration's entry, appended with the batch's others. denied > 0 makes it a
// denial that the sentinel counts as that many denied requests.
type journalEntry struct {
	sub                    *submission
	record, reason, period string
	denied                 int
}

func (e journalEntry) same(o journalEntry) bool {
	return e.record == o.record && e.reason == o.reason && e.period == o.period && e.denied == o.denied
}

// UnknownInsuredSignal is how many lines of one declaration may name insured numbers that are not
// among the employer's people before the submission is journaled as a denial and counted by the
// sentinel as that many denied requests. An employer fills its declaration from the préétabli,
// which lists its people: an honest file has none of these lines, a typo or two, a wrong month's
// file perhaps a handful. Twenty is past any of those and an order of magnitude below a file
// written to sort numbers (the attack classified 20,000 in one request); counted as denials, it
// reaches the sentinel's denied-request thresholds (4 to alert, 12 to suspend in 10 minutes) at
// once, so one such submission contains its sender.
const UnknownInsuredSignal = 20

// maxDeniedEvents bounds the events one submission reports to the sentinel: far past every denied
// threshold, so that a 20,000-line file costs the sentinel no more than a few hundred events.
const maxDeniedEvents = 256

// journalAll appends the batch's entries, each once across the retries of SubmitDeclarations (an
// entry its submission journaled on an earlier attempt is not appended again), and reports the
// denials to the sentinel.
func (d *decision) journalAll(ctx context.Context, es []journalEntry) error {
	if len(es) == 0 {
		return nil
	}
	var out, denials []journal.Entry
	var fresh []journalEntry
	for _, e := range es {
		if e.sub != nil && slices.ContainsFunc(e.sub.journaled, e.same) {
			continue
		}
		if e.denied > 0 {
			je := d.entry(e.record, journal.Denied, e.reason, []string{fDeclaration + ":" + e.period})
			out = append(out, je)
			for range min(e.denied, maxDeniedEvents) {
				denials = append(denials, je)
			}
		} else {
			out = append(out, d.entry(e.record, journal.Allowed, e.reason, []string{fDeclaration + ":" + e.period}))
		}
		fresh = append(fresh, e)
	}
	var err error
	switch len(out) {
	case 0:
		return nil
	case 1:
		_, err = d.g.journal.Append(ctx, out[0])
	default:
		err = d.g.journal.AppendAll(ctx, out)
	}
	if err != nil {
		return err
	}
	for _, e := range fresh {
		if e.sub != nil {
			e.sub.journaled = append(e.sub.journaled, e)
		}
	}
	d.observe(denials)
	return nil
}

// check validates one declaration against every rule and, if it passes, prepares its record: s.res is
// set either way (rejected with every problem, a duplicate of an earlier one, or accepted). The rules
// that need no key are package declare's; the gate adds those on the registry: every B02 number among
// the employer's people, the name it holds for them.
func (g *Gate) check(ctx context.Context, s *submission, people []amane.DeclarationPerson, now time.Time) error {
	d := s.d
	if d.Header == (amane.DeclarationHeader{}) { // the JSON API: the employer block from the registry
		d.Header = declare.Header(s.emp.EmployerIdentity, d.Period)
		d.Header.BlankB04 = len(d.New) == 0
	}
	rates, probs := declare.Period(d.Period, now)
	// Same content again: the first answer, nothing written.
	s.digest = g.digest(d)
	existing := s.existing
	for _, r := range existing {
		if bytes.Equal(r.Digest, s.digest) {
			if err := g.checkSeal(r); err != nil {
				return err
			}
			c := r.Contributions
			s.res = &amane.DeclarationResult{Status: r.Status, Duplicate: true, Summary: declare.Summary(d.Affiliation, r), Contributions: &c}
			return nil
		}
	}
	seq, seqProbs := declare.Sequence(d.Seq > 0, existing)
	probs = append(probs, seqProbs...)
	// A refusal of the whole declaration (its period: closed, in the future, without rates; a
	// complementary one without its principal) is answered alone, before any line is looked at: a
	// file sent into a closed period learns nothing about the numbers it carries.
	if len(probs) > 0 {
		s.res = declare.Rejected(d.Affiliation, d.Period, probs)
		return nil
	}
	probs = append(probs, declare.Lines(d, rates.Ceiling)...)
	prior, err := g.figuresOf(s.emp, s.prior, people)
	if err != nil {
		return err
	}
	// The registry's rules: every B02 number among the employer's people. An unknown number and a
	// number employed elsewhere get one answer, without the number: a line cannot tell whether a
	// person exists. A B04 with a number is a request an agent validates either way.
	byIndex := make(map[string]*amane.DeclarationPerson, len(people))
	for i := range people {
		if people[i].ImmIndex != nil && people[i].State != amane.EmploymentRejected {
			byIndex[string(people[i].ImmIndex)] = &people[i]
		}
	}
	s.subject = make([]lineSubject, 0, len(d.Lines)+len(d.New))
	for i := range d.Lines {
		l := &d.Lines[i]
		line := declare.LineNumber(l.Line, i)
		imm, err := ids.ParseImmatriculation(l.Imm)
		if err != nil {
			probs = append(probs, declare.BadNumber(line, err))
			continue
		}
		p := byIndex[string(g.vault.Index(kImm, imm))]
		if p == nil {
			s.unknown++
			probs = append(probs, declare.NotOurs(line))
			continue
		}
		nameProbs, err := g.checkName(l, p, line)
		if err != nil {
			return err
		}
		probs = append(probs, nameProbs...)
		if fig, ok := prior[p.ID]; ok {
			probs = append(probs, declare.Repeated(l, fig, line)...)
		}
		s.subject = append(s.subject, lineSubject{kind: amane.KeyHistory, person: p})
	}
	for i := range d.New {
		n := &d.New[i]
		if n.Imm == "" || n.Imm == amane.OccasionalInsured || n.Imm == "000000000" {
			s.subject = append(s.subject, lineSubject{kind: amane.KeyRequest})
			continue
		}
		imm, err := ids.ParseImmatriculation(n.Imm)
		if err != nil {
			probs = append(probs, declare.BadNewNumber(declare.LineNumber(n.Line, len(d.Lines)+i), err))
			continue
		}
		idx := g.vault.Index(kImm, imm)
		if p := byIndex[string(idx)]; p != nil {
			s.subject = append(s.subject, lineSubject{kind: amane.KeyHistory, person: p})
			continue
		}
		r, err := g.employeeByImm(ctx, nil, imm) // confirmed on the sealed number: a swapped index names nobody else
		if amane.ErrorCode(err) == amane.ENOTFOUND {
			// Nobody with this number: the line opens an immatriculation request carrying the number
			// as typed, answered like a known person's (pending), so that B04 lines tell nothing either.
			s.unknown++
			s.subject = append(s.subject, lineSubject{kind: amane.KeyRequest, numbered: true})
			continue
		} else if err != nil {
			return err
		}
		// A person declared elsewhere: sealed under their history key (created by the first employer
		// that declared them), a pending employment here until an agent validates it.
		hk, err := g.store.HistoryKey(ctx, r.ID)
		if err != nil {
			return err
		}
		p := &amane.DeclarationPerson{ID: r.ID, ImmIndex: idx, State: amane.EmploymentPending, History: hk}
		byIndex[string(idx)] = p
		s.subject = append(s.subject, lineSubject{kind: amane.KeyHistory, person: p, pending: true})
	}
	if len(probs) > 0 {
		s.res = declare.Rejected(d.Affiliation, d.Period, probs)
		s.subject = nil
		return nil
	}
	declare.Accept(d, seq, rates, now)
	s.rec = &amane.DeclarationRecord{EmployerID: s.emp.ID, Period: d.Period, Seq: d.Seq, Status: d.Status,
		Received: d.Received, Digest: s.digest, Header: d.Header, Totals: d.Totals, Contributions: d.Contributions}
	s.rec.Seal = declarationSeal(g.vault, s.rec)
	c := d.Contributions
	s.res = &amane.DeclarationResult{Status: amane.DeclAccepted, Contributions: &c}
	for _, l := range s.subject {
		switch {
		case l.pending || l.numbered:
			s.res.Pending++
		case l.kind == amane.KeyRequest:
			s.res.Requests++
		}
	}
	return nil
}

// digest is a keyed hash of a declaration's content, for idempotent submission: the same content twice
// is one declaration. Keyed (a blind index), because salaries are guessable from a plain hash.
func (g *Gate) digest(d *amane.Declaration) []byte {
	c := struct {
		Affiliation, Period string
		Complementary       bool
		Header              amane.DeclarationHeader
		Lines               []amane.DeclarationLine
		New                 []amane.NewEmployeeLine
	}{d.Affiliation, d.Period, d.Seq > 0, d.Header, d.Lines, d.New}
	b, _ := json.Marshal(&c)
	defer clear(b)
	sum := g.vault.Index("declaration", string(b))
	if len(sum) > 32 { // a pass-through vault returns the input: keep the stored digest small
		h := sha256.Sum256(sum)
		return h[:16]
	}
	return sum
}

// blobLine is one sealed line of a declaration's blob.
type blobLine struct {
	tag     byte
	kind    int
	subject int64
	sealed  []byte
	skip    bool // off the page being read: left sealed and out of the answer
}

// parseBlob reads a blob (declblob.Parse) into lines that a page read can mark to skip.
func parseBlob(b []byte) ([]blobLine, error) {
	es, err := declblob.Parse(b)
	if err != nil {
		return nil, err
	}
	out := make([]blobLine, len(es))
	for i, e := range es {
		out[i] = blobLine{tag: e.Tag, kind: int(e.Kind), subject: e.Subject, sealed: e.Sealed}
	}
	return out, nil
}

// Declaration implements amane.Declarations: the period's declarations with every line, for a
// file written back — an export, journaled once per person and admitted whole by the sentinel.
// DeclarationPage reads them a page at a time.
func (g *Gate) Declaration(ctx context.Context, affiliation, period string) ([]amane.Declaration, error) {
	d, err := g.begin(ctx, actExport)
	if err != nil {
		return nil, err
	}
	ds, _, err := g.declarationRead(ctx, d, affiliation, period, 0, -1)
	return ds, err
}

// declarationKeys returns the wrapped keys an employer's declarations are sealed under: its people's
// history keys and its immatriculation requests' keys.
func (g *Gate) declarationKeys(ctx context.Context, employerID int64) (map[amane.DataKeyRef]amane.WrappedKey, error) {
	people, err := g.store.DeclarationPeople(ctx, []int64{employerID})
	if err != nil {
		return nil, err
	}
	return g.keysOf(ctx, employerID, people[employerID])
}

// keysOf is declarationKeys with the employer's people already read.
func (g *Gate) keysOf(ctx context.Context, employerID int64, people []amane.DeclarationPerson) (map[amane.DataKeyRef]amane.WrappedKey, error) {
	keys := map[amane.DataKeyRef]amane.WrappedKey{}
	for _, p := range people {
		keys[amane.DataKeyRef{Kind: amane.KeyHistory, Subject: p.ID}] = p.History
	}
	reqs, err := g.store.ImmRequests(ctx, employerID)
	if err != nil {
		return nil, err
	}
	for _, r := range reqs {
		keys[amane.DataKeyRef{Kind: amane.KeyRequest, Subject: r.ID}] = r.Key
	}
	return keys, nil
}

// openDeclaration opens a declaration's lines; with only != 0, just that person's (the others are
// left sealed and out of the result).
func (g *Gate) openDeclaration(emp *amane.EmployerRecord, r *amane.DeclarationRecord, lines []blobLine, keys map[amane.DataKeyRef]amane.WrappedKey, only int64) (*amane.Declaration, error) {
	d := &amane.Declaration{Affiliation: emp.Affiliation, Period: r.Period, Seq: r.Seq, Status: r.Status, Received: r.Received,
		Header: r.Header, Totals: r.Totals, Contributions: r.Contributions, Lines: []amane.DeclarationLine{}}
	ctxBase := fmt.Sprintf("declaration/%d/%s/%d#", emp.ID, r.Period, r.Seq)
	open := map[amane.DataKeyRef]*vault.HistoryKey{}
	var err error
	for i, l := range lines {
		if l.skip || (only != 0 && (l.kind != amane.KeyHistory || l.subject != only)) {
			continue
		}
		ref := amane.DataKeyRef{Kind: l.kind, Subject: l.subject}
		var plain []byte
		wk, ok := keys[ref]
		if ok && len(wk.Blob) > 0 { // else erased: the key is gone
			hk := open[ref]
			if hk == nil {
				var err error
				if hk, err = g.opener.UnwrapHistory(ref.VaultSubject(), wk.Version, wk.Blob); err != nil {
					return nil, openFailure(err)
				}
				open[ref] = hk
			}
			var err error
			if plain, err = g.opener.OpenRecord(hk, ctxBase+strconv.Itoa(i), l.sealed); err != nil {
				return nil, openFailure(err)
			}
		}
		switch l.tag {
		case tagLine:
			var dl amane.DeclarationLine
			if plain == nil {
				dl.Surname = amane.ErasedLine
			} else if dl, err = declblob.ParseLine(plain); err != nil {
				return nil, err
			}
			d.Lines = append(d.Lines, dl)
		case tagNew:
			var nl amane.NewEmployeeLine
			if plain == nil {
				nl.Surname = amane.ErasedLine
			} else if nl, err = declblob.ParseNew(plain); err != nil {
				return nil, err
			}
			d.New = append(d.New, nl)
		default:
			return nil, declblob.ErrBlob
		}
		clear(plain)
	}
	return d, nil
}

// employerInScope finds an employer by affiliation and checks the principal may reach it; refusals
// are journaled, and an unknown affiliation is answered as one out of scope.
func (g *Gate) employerInScope(ctx context.Context, d *decision, affiliation string) (*amane.EmployerRecord, string, error) {
	aff, err := ids.ParseAffiliation(affiliation)
	if err != nil {
		return nil, "", d.invalidInput(ctx, "affiliation", amane.Invalid(err.Error(), amane.FieldError{Field: "affiliation", Rule: err.Error()}))
	}
	r, err := g.store.EmployerByAffiliation(ctx, aff)
	if amane.ErrorCode(err) == amane.ENOTFOUND {
		return nil, "", d.refuseUnknown(ctx, "affiliation")
	} else if err != nil {
		return nil, "", err
	}
	if err := d.refusePending(ctx, employerRef(r.ID)); err != nil {
		return nil, "", err
	}
	rule, ok := d.employerScope(r)
	if !ok {
		return nil, "", d.refuseOutOfScope(ctx, employerRef(r.ID), rule)
	}
	return r, rule, nil
}

// DeclarationHistory implements amane.Declarations: aggregates only, one journal entry.
func (g *Gate) DeclarationHistory(ctx context.Context, affiliation string) ([]amane.DeclarationSummary, error) {
	d, err := g.begin(ctx, actRead)
	if err != nil {
		return nil, err
	}
	emp, rule, err := g.employerInScope(ctx, d, affiliation)
	if err != nil {
		return nil, err
	}
	recs, err := g.store.DeclarationSummaries(ctx, emp.ID)
	if err != nil {
		return nil, err
	}
	if err := g.checkSeals(recs); err != nil {
		return nil, err
	}
	if err := d.grant(ctx, []string{employerRef(emp.ID)}, []string{fDeclaration + ":history"}, rule); err != nil {
		return nil, err
	}
	out := make([]amane.DeclarationSummary, len(recs))
	for i, r := range recs {
		out[i] = declare.Summary(emp.Affiliation, r)
	}
	return out, nil
}

// Preetabli implements amane.Declarations: the employer block and one line per insured person with a
// validated employment, with the family figures of record (children, allowances) and zero days and
// salary. It is a file of all the employer's people, not paged (the employer declares from it whole):
// an export, journaled per person and admitted whole by the sentinel.
func (g *Gate) Preetabli(ctx context.Context, affiliation, period string) (*amane.Declaration, error) {
	if _, err := amane.ParsePeriod(period); err != nil {
		return nil, amane.Invalid(err.Error(), amane.FieldError{Field: "periode", Rule: err.Error()})
	}
	dec, err := g.begin(ctx, actExport)
	if err != nil {
		return nil, err
	}
	e, err := g.employerRead(ctx, dec, affiliation, 0, -1)
	if err != nil {
		return nil, err
	}
	d := &amane.Declaration{Affiliation: e.Affiliation, Period: period, Lines: []amane.DeclarationLine{}, Header: declare.Header(e.EmployerIdentity, period)}
	var ids []int64
	for _, emp := range e.Employees {
		if emp.Erased || len(emp.Employments) == 0 || emp.Employments[0].State != amane.EmploymentValidated {
			continue
		}
		d.Lines = append(d.Lines, amane.DeclarationLine{Imm: emp.Immatriculation, Surname: emp.Surname, FirstName: emp.FirstName})
		ids = append(ids, emp.ID)
	}
	// The family figures of record: the previous declaration's (see preetabli.go).
	if err := g.preetabliFigures(ctx, e.Affiliation, d, ids); err != nil {
		return nil, err
	}
	return d, nil
}
