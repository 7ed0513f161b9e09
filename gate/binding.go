package gate

import (
	"context"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"amane"
)

// Case binding (issue 14, item 2). When on, a staff member's read of an employee's or an employer's
// record is allowed only under a case: the reference they state must be the number of an open case
// assigned to them (or to their agency) that concerns the record. Otherwise the read is hors dossier
// (break the glass): allowed only with a written reason, journaled as such, and at most BreakGlassPerDay
// of them per account and UTC day. Employer users, insured people and the system (the CLI) are not
// bound: their scope is the record itself. The operator (the integration token) is staff, bound to
// its batch jobs' cases (type traitement). Searches are not bound yet: a search names no record
// before it runs; it stays under its purpose and scope as before.
//
// The binding is off unless UseCaseBinding is called: nothing changes for a gate without it.

// CaseBinding configures the binding.
type CaseBinding struct {
	// BreakGlassPerDay is how many reads hors dossier an account may make per UTC day; 0 means
	// DefaultBreakGlassPerDay.
	BreakGlassPerDay int
}

// DefaultBreakGlassPerDay is the daily cap of reads hors dossier per account.
const DefaultBreakGlassPerDay = 20

// Bounds of a break-the-glass reason, in characters.
const (
	MinBreakGlassReason = 10
	MaxBreakGlassReason = 200
)

// binding is the gate's state when the binding is on. The cap is counted in memory, keyed by
// principal and UTC day, under one mutex: a slot is taken before the read is journaled, so that 40
// concurrent requests cannot all pass a count read from the journal before any of them is written.
// It is per process and starts again at a restart (at worst one more day's cap after a restart).
type binding struct {
	perDay int
	mu     sync.Mutex
	day    string         // the UTC day counted; older days are dropped when it changes
	used   map[string]int // principal → reads hors dossier today
}

// UseCaseBinding binds staff reads to cases (see above). Off unless called.
func (g *Gate) UseCaseBinding(cfg CaseBinding) *Gate {
	if cfg.BreakGlassPerDay <= 0 {
		cfg.BreakGlassPerDay = DefaultBreakGlassPerDay
	}
	g.binding = &binding{perDay: cfg.BreakGlassPerDay, used: map[string]int{}}
	return g
}

// take counts one read hors dossier of principal on day; false if the cap is reached.
func (b *binding) take(principal string, now time.Time) bool {
	day := now.UTC().Format(time.DateOnly)
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.day != day {
		b.day, b.used = day, map[string]int{}
	}
	if b.used[principal] >= b.perDay {
		return false
	}
	b.used[principal]++
	return true
}

// bound reports whether the principal's reads are bound to cases.
func (d *decision) bound() bool {
	if d.g.binding == nil || d.action != actRead {
		return false
	}
	switch d.p.Role {
	case amane.RoleAgent, amane.RoleSupervisor, amane.RoleOperator:
		return true
	}
	return false
}

// bind decides a read of record under the binding, once its scope passed with rule: it returns the
// rule to journal (rule itself under a case, "hors dossier: REASON" when the glass is broken), or a
// refusal, journaled against the record.
func (d *decision) bind(ctx context.Context, record, rule string) (string, error) {
	if !d.bound() {
		return rule, nil
	}
	if ref := d.purpose.Reference; amane.ValidCaseNumber(ref) {
		cases, err := d.g.store.OpenCases(ctx, amane.CaseFilter{Principal: d.p.ID, Team: d.p.Agency, Record: record}, amane.MaxPage)
		if err != nil {
			return "", err
		}
		for _, c := range cases {
			if c.Number == ref && c.Open() && c.Concerns(record) && c.AssignedTo(d.p.ID, d.p.Agency) &&
				(d.p.Role != amane.RoleOperator || c.Type == amane.CaseJob) {
				return rule, nil
			}
		}
	}
	reason := amane.BreakGlassFromContext(ctx).Reason
	if reason == "" {
		return "", d.deny(ctx, record, "hors dossier: no reason given", amane.Errorf(amane.EFORBIDDEN,
			"This record is in no open case assigned to you under this reference: give a reason to read it hors dossier (break the glass)."))
	}
	if why := checkBreakGlass(reason); why != "" {
		return "", d.deny(ctx, record, "hors dossier: reason "+why, amane.Invalid("This break-the-glass reason cannot be accepted.",
			amane.FieldError{Field: "break_glass", Rule: why}))
	}
	if !d.g.binding.take(d.p.ID, d.g.Now()) {
		return "", d.deny(ctx, record, "hors dossier: daily cap reached", amane.Errorf(amane.EFORBIDDEN,
			"You have read the most records hors dossier allowed in a day: work under a case, or ask a supervisor."))
	}
	return "hors dossier: " + reason, nil
}

// checkBreakGlass returns the rule a reason breaks, "" if none: 10 to 200 characters, printable, no
// word that is a person's identifier (a CIN, an immatriculation, a phone number, as for a reference),
// and no number of 6 digits or more, even written with spaces or dots.
func checkBreakGlass(reason string) string {
	n := utf8.RuneCountInString(reason)
	if !utf8.ValidString(reason) || n < MinBreakGlassReason || n > MaxBreakGlassReason {
		return "must be 10 to 200 characters"
	}
	for _, r := range reason {
		if !unicode.IsPrint(r) {
			return "must be printable text on one line"
		}
	}
	for _, w := range strings.FieldsFunc(reason, func(r rune) bool { return unicode.IsSpace(r) || strings.ContainsRune(",;:()[]\"'", r) }) {
		if looksPersonal(strings.TrimRight(w, ".!?")) {
			return "must not hold a CIN, immatriculation or phone number"
		}
	}
	if longDigitRun(reason) {
		return "must not hold a number of 6 digits or more"
	}
	return ""
}

// longDigitRun reports whether s holds 6 digits or more in a row, counting across the separators a
// phone number or an immatriculation is written with ("+212 661 234 567", "123.456.789"): a number
// that long in a reason is an identifier (a case number, PRE-2026/0001, is two runs of 4).
func longDigitRun(s string) bool {
	n := 0
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			if n++; n >= 6 {
				return true
			}
		case r == ' ' || r == '.' || r == '-' || r == '+' || r == '(' || r == ')':
		default:
			n = 0
		}
	}
	return false
}
