package gate

import (
	"context"
	"regexp"
	"strconv"

	"amane"
	"amane/journal"
)

// Refusals decided before the gate. The web layer refuses some requests itself — a token that
// expired or was revoked, a page or an API route for another role, a route that does not exist, a
// metrics scrape without the right role — and each is a denial the journal must show like the gate's
// own: who, what, why. Refuse journals one, and reports a known principal's denial to the sentinel
// (it counts in the principal's denied windows, like a refusal by the gate).
//
// Who: the context's principal; without one (no token, an unknown token), AnonymousPrincipal. An
// unknown token is never named, not even by a hash prefix: a fingerprint would let whoever reads the
// journal link one token's attempts to its later use, and say nothing more. A token that expired or
// was revoked is known: its account (or "token/N") is named.
//
// What: action and reason are the caller's constants and record an internal reference
// (employee/N, employer/N) or empty; the caller puts the route pattern in reason, never the path,
// which can hold an identifier. Both are checked here, so that nothing a client typed reaches the
// journal through a careless caller. The purpose and its reference are not journaled: a refusal at the
// edge happens before they are checked.
//
// The sentinel: a live principal's refusal (a route that does not exist, a page of another role) is
// its own act and counts in its denied windows. A refused authentication (action "authenticate": a
// token expired, revoked, of a disabled account) does not: whoever replays a dead token — an old cron
// job, or someone who found it — is not shown to be the account's holder, and counting it would let
// them get the account suspended.
//
// How many: every denial of a known principal is journaled (the sentinel throttles a flood).
// Anonymous denials cost an attacker nothing, so the caller bounds them (web: a few per address per
// hour, the rest counted in a metric) before calling Refuse.

// AnonymousPrincipal names who was refused when no principal is known.
const AnonymousPrincipal = "anonymous"

// ActAuthenticate is the action of a refused authentication (never reported to the sentinel).
const ActAuthenticate = string(amane.ActionAuthenticate)

var (
	refuseWordRE   = regexp.MustCompile(`^[a-z][a-z0-9-]{0,31}$`)
	refuseRecordRE = regexp.MustCompile(`^((employee|employer)/[0-9]{1,19}|journal)?$`)
	// refuseReasonRE: the web layer's sentences and a route pattern ("GET /api/v1/employees/{immatriculation}").
	refuseReasonRE = regexp.MustCompile(`^[A-Za-z0-9 ,.;:'()/{}$_-]{1,200}$`)
	// refuseDigitsRE: four digits in a row are no route pattern's nor constant's, and are most
	// identifiers' (immatriculation, CIN, phone): a path pasted into a reason is refused.
	refuseDigitsRE = regexp.MustCompile(`[0-9]{4}`)
)

// Refuse journals a denial decided before the gate for the context's principal (see above). It
// returns the journal's error, if any; EINVALID if action, record or reason are not of the expected
// forms (the action one of amane.Actions; nothing is journaled then).
func (g *Gate) Refuse(ctx context.Context, action, record, reason string) error {
	if !refuseWordRE.MatchString(action) || !amane.Action(action).Known() || !refuseRecordRE.MatchString(record) || !refuseReasonRE.MatchString(reason) || refuseDigitsRE.MatchString(reason) {
		return amane.Errorf(amane.EINVALID, "A refusal is journaled with a constant action, an internal record reference and a constant reason.")
	}
	if g.journal == nil {
		return amane.Errorf(amane.EINTERNAL, "The access journal is not open.")
	}
	p := amane.PrincipalFromContext(ctx)
	if p == nil {
		e := journal.Entry{Principal: AnonymousPrincipal, Role: AnonymousPrincipal, Action: amane.Action(action), Record: record,
			Outcome: journal.Denied, Reason: reason, RequestID: amane.RequestIDFromContext(ctx)}
		_, err := g.journal.Append(ctx, e)
		return err
	}
	d := &decision{g: g, p: p, action: amane.Action(action), rid: amane.RequestIDFromContext(ctx)}
	if d.action == amane.ActionAuthenticate {
		_, err := g.journal.Append(ctx, d.entry(record, journal.Denied, reason, nil))
		return err
	}
	return d.deny(ctx, record, reason, nil)
}

// grantProof journals the download of the inclusion proof of a journal entry, against the entry's
// record: an auditor's or the DPO's download of the proof of an entry about someone shows in that
// person's access log, like any other look at their record. (An entry about no record is journaled
// against "journal".)
func (d *decision) grantProof(ctx context.Context, index int64, raw []byte) error {
	record := accessEntry(index, raw).Record
	if !refuseRecordRE.MatchString(record) || record == "" {
		record = "journal"
	}
	return d.grant(ctx, []string{record}, nil, "proof of entry "+strconv.FormatInt(index, 10))
}
