package gate

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"

	"amane"
	"amane/journal"
	"amane/sentinel"
)

// The sentinel admits before release. Every grant — a read, a page of a list, a search, a
// declaration's lines, an attestation, a file exported — is counted by the sentinel before its
// journal entries are appended and before anything is opened: the gate hands it one event per
// record the response would release (sentinel.Live.AdmitRelease), and a release that would cross a
// suspension threshold is refused (journaled as a denial) and the principal suspended, instead of
// learned of after the records left. Bulk answers come in pages of at most amane.MaxPage people, so
// that each page is one such decision.

// actExport is the journal's (and the sentinel's) action for a response that writes records out
// whole as a file: a period's declaration file, the préétabli. It is never paged — a Damancom file
// is whole by its format — so the sentinel counts every person it holds, before release.
const actExport = amane.ActionExport

func init() {
	// An export is a read written to a file: the same roles may take it (and whatever rule narrows
	// reads narrows exports).
	rolesFor[actExport] = rolesFor[actRead]
}

// sentinelEvents are journal entries as the sentinel sees them: roles folded to the sentinel's
// vocabulary (agent, supervisor, employer, insured, integration, system) and actions to its (read,
// search, export, write, attest: amane.Action.Watched). The journal's own views release no personal
// data and are left out.
func (d *decision) sentinelEvents(es []journal.Entry) []sentinel.Event {
	home := d.p.Agency
	if d.p.Role == amane.RoleEmployer {
		home = d.p.Affiliation
	}
	role := d.p.Role
	switch role {
	case amane.RoleOperator, amane.RoleIntegration:
		role = "integration"
	case amane.RoleDPO, amane.RoleSecurity, amane.RoleAuditor:
		role = amane.RoleSupervisor
	}
	if _, ok := d.action.Watched(); !ok {
		return nil // the journal's own views release no personal data
	}
	now := d.g.Now().UTC()
	out := make([]sentinel.Event, len(es))
	for i := range es {
		e := &es[i]
		recordHome := d.homes[e.Record]
		if recordHome == "" && d.p.Role == amane.RoleEmployer && e.Outcome == journal.Allowed {
			// An employer user is granted only its own affiliation's records (its validated people, its
			// declarations' lines, its attestations): what it is granted is at its home.
			recordHome = home
		}
		out[i], _ = sentinel.EventOf(e, now, role, home, recordHome)
	}
	return out
}

// admit asks the sentinel, before the entries of a grant are journaled and anything is opened,
// whether the principal may receive these records. A refusal is journaled (against the first
// record, the one the request named) and returned.
func (d *decision) admit(ctx context.Context, es []journal.Entry) error {
	if d.g.sentinel == nil || len(es) == 0 {
		return nil
	}
	evs := d.sentinelEvents(es)
	if len(evs) == 0 {
		return nil
	}
	if d.g.sentinel.AdmitRelease(evs) == "" {
		return nil
	}
	return d.deny(ctx, es[0].Record, "release refused by the sentinel",
		amane.Errorf(amane.EFORBIDDEN, "This account is suspended: a security officer must lift it."))
}

// Cursors. A cursor is opaque to the client: base64url of a kind byte and a position (an internal
// employee id, or a line's position in a period's declarations) — never an identifier of a person.
const (
	cursorEmployees = 'e'
	cursorLines     = 'l'
)

var errCursor = errors.New("not a cursor of this list")

// encodeCursor writes position pos of a list of this kind.
func encodeCursor(kind byte, pos int64) string {
	b := binary.AppendUvarint([]byte{kind}, uint64(pos))
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor reads a cursor of this kind; "" is the start (0).
func decodeCursor(kind byte, s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	if len(s) > 32 {
		return 0, errCursor
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) < 2 || b[0] != kind {
		return 0, errCursor
	}
	v, n := binary.Uvarint(b[1:])
	if n <= 0 || n != len(b)-1 || v > 1<<62 {
		return 0, errCursor
	}
	if encodeCursor(kind, int64(v)) != s { // one spelling per position: no padded or overlong forms
		return 0, errCursor
	}
	return int64(v), nil
}

// pageCursor reads page's cursor, as an EINVALID error on the field "cursor".
func pageCursor(kind byte, page amane.Page) (int64, error) {
	pos, err := decodeCursor(kind, page.Cursor)
	if err != nil {
		return 0, amane.Invalid("This cursor does not belong to this list: start again from the first page.",
			amane.FieldError{Field: "cursor", Rule: "the next value of the page before"})
	}
	return pos, nil
}
