package amane

import (
	"context"
	"encoding/json"
)

// One access, one type. The gate decides an access and describes it as an AccessEvent; the journal
// appends that event's canonical encoding (Encode) as a leaf of its Merkle tree (package journal:
// journal.Entry is this type); the access log shows it with its index (AccessEntry); the sentinel
// watches it with the homes of the principal and the record (sentinel.Event, built from it by
// sentinel.EventOf). The action and outcome vocabularies below are the one list all of them share.

// Action is what an access did, as the journal records it.
type Action string

// The journal's actions: every action the gate journals is one of these (Actions lists them, and
// gate's TestJournaledActionsAreKnown proves the gate journals no other).
const (
	ActionRead   Action = "read"   // a record shown, masked
	ActionReveal Action = "reveal" // a record shown with fields in clear (the fields are journaled)
	ActionSearch Action = "search" // a name search, or its refusal
	// ActionExport is a response that writes records out whole as a file (a period's declaration
	// file, the préétabli): never paged, counted whole by the sentinel before release.
	ActionExport             Action = "export"
	ActionAttest             Action = "attest" // an attestation delivered
	ActionRevoke             Action = "revoke" // an attestation revoked
	ActionCreate             Action = "create"
	ActionUpdate             Action = "update"
	ActionValidateEmployment Action = "validate-employment" // a pending employment validated
	ActionErase              Action = "erase"
	ActionDeclare            Action = "declare" // a declaration submitted, and its decisions
	// Cases (dossiers, issue 14): opened, assigned, closed, and a refused look at them. Each entry
	// names the case by its number (Reference) and the type's purpose (Purpose).
	ActionCaseOpen   Action = "case-open"
	ActionCaseAssign Action = "case-assign"
	ActionCaseClose  Action = "case-close"
	ActionCaseList   Action = "case-list"
	// The journal's own views: they release no personal data, and the sentinel does not watch them.
	ActionAccessLog Action = "access-log" // an insured person's "who accessed my data"
	ActionProof     Action = "proof"      // an inclusion proof downloaded
	ActionJournal   Action = "journal"    // the journal read by an auditor, the DPO, a security officer
	// The sentinel's own entries: a response it took, a security officer lifting them, and a
	// refused look at its alerts (a role that may not watch them).
	ActionSentinel       Action = "sentinel"
	ActionSentinelLift   Action = "sentinel-lift"
	ActionSentinelAlerts Action = "sentinel-alerts"
	// Denials decided at the edge, before the gate (gate.Refuse): a token that did not authenticate,
	// an API route that does not exist or is another role's, a page of another role, a metrics scrape.
	ActionAuthenticate Action = "authenticate"
	ActionRoute        Action = "route"
	ActionPage         Action = "page"
	ActionMetrics      Action = "metrics"
)

// ActionWrite is the sentinel's class of every action that changes or decides without releasing
// records (create, update, erase, declare, revoke, an edge denial…): see Action.Watched. The gate
// never journals it.
const ActionWrite Action = "write"

// actionTable is the one list: every action the journal records and its class as the sentinel
// sees it (Action.Watched), "" for the journal's own views, which release no personal data. Actions
// and Watched are read from it, so that an action cannot be added to one and not the other.
var actionTable = []struct{ action, watched Action }{
	{ActionRead, ActionRead},
	{ActionReveal, ActionRead},
	{ActionSearch, ActionSearch},
	{ActionExport, ActionExport},
	{ActionAttest, ActionAttest},
	{ActionRevoke, ActionWrite},
	{ActionCreate, ActionWrite},
	{ActionUpdate, ActionWrite},
	{ActionValidateEmployment, ActionWrite},
	{ActionErase, ActionWrite},
	{ActionDeclare, ActionWrite},
	{ActionCaseOpen, ActionWrite},
	{ActionCaseAssign, ActionWrite},
	{ActionCaseClose, ActionWrite},
	{ActionCaseList, ActionWrite},
	{ActionAccessLog, ""},
	{ActionProof, ""},
	{ActionJournal, ""},
	{ActionSentinel, ActionWrite},
	{ActionSentinelLift, ActionWrite},
	{ActionSentinelAlerts, ActionWrite},
	{ActionAuthenticate, ActionWrite},
	{ActionRoute, ActionWrite},
	{ActionPage, ActionWrite},
	{ActionMetrics, ActionWrite},
}

// Actions is every action the journal records, in the order of the constants above.
var Actions = func() []Action {
	out := make([]Action, len(actionTable))
	for i, r := range actionTable {
		out[i] = r.action
	}
	return out
}()

// WatchedActions are the sentinel's classes of actions (the "action" of its JSON Lines events):
// every record reached by read, search, export or attest counts in its windows; write is the rest.
var WatchedActions = []Action{ActionRead, ActionSearch, ActionExport, ActionWrite, ActionAttest}

// Known reports whether a is one of Actions.
func (a Action) Known() bool {
	for _, r := range actionTable {
		if r.action == a {
			return true
		}
	}
	return false
}

// Watched is a's class as the sentinel counts it (one of WatchedActions), and false for the
// journal's own views, which the sentinel does not see. An action outside Actions counts as a write:
// a denial of it still weighs in the principal's denied windows.
func (a Action) Watched() (Action, bool) {
	for _, r := range actionTable {
		if r.action == a {
			return r.watched, r.watched != ""
		}
	}
	return ActionWrite, true
}

// Outcome is how the gate decided an access.
type Outcome string

// Outcomes the journal records.
const (
	OutcomeAllowed Outcome = "allowed"
	OutcomeDenied  Outcome = "denied"
)

// Outcomes an access log shows in place of an entry it cannot show (never journaled): the stored
// bytes do not decode (unreadable) or are gone (missing) — a journal tampered with.
const (
	OutcomeUnreadable Outcome = "unreadable"
	OutcomeMissing    Outcome = "missing"
)

// AccessEvent is one access decision of the gate, as the journal records it. It never carries
// personal data: Record is an internal reference ("employee/42"), never an identifier such as a CIN
// or an immatriculation; a refused purpose or reference is journaled as the rule it broke.
//
// Its JSON encoding is the journal's at-rest format (Encode): the field order, the keys and their
// omitempty are pinned by journal/testdata/entry-v1.txt (journal's TestEntryVectorV1), and are the
// keys of the API's access-log entries (web/openapi.json, AccessEntry).
type AccessEvent struct {
	Time      string   `json:"time"`                // RFC 3339, UTC, milliseconds (journal.FormatTime)
	Principal string   `json:"principal"`           // who asked
	Role      string   `json:"role"`                // the principal's role
	Scope     string   `json:"scope,omitempty"`     // agency code or affiliation the principal acts for
	Action    Action   `json:"action"`              // one of Actions
	Record    string   `json:"record,omitempty"`    // internal reference: "employee/42", "employer/7"
	Fields    []string `json:"fields,omitempty"`    // fields read or revealed
	Purpose   string   `json:"purpose,omitempty"`   // the stated purpose
	Reference string   `json:"reference,omitempty"` // the case or file reference given with the purpose
	Outcome   Outcome  `json:"outcome"`             // OutcomeAllowed or OutcomeDenied
	Reason    string   `json:"reason,omitempty"`    // why denied, or the rule that allowed
	RequestID string   `json:"request_id,omitempty"`
}

// Encode returns the event's canonical encoding: the bytes the journal stores, hashes and proves
// (json.Marshal of the fields in declaration order, compact).
func (e *AccessEvent) Encode() ([]byte, error) {
	return json.Marshal(e)
}

// AccessEntry is a journal entry as the access log shows it: the event and its index in the
// journal. It holds no personal data.
type AccessEntry struct {
	Index int64 `json:"index"`
	AccessEvent
}

// AccessLogService is the journal as the registry shows it: who accessed what, and why. Purposes
// are the reasons a principal may state for an access; the rest reads journaled events.
type AccessLogService interface {
	// Purposes is the configured list of purposes a principal may state.
	Purposes() []PurposeChoice
	// AccessLog returns the journal entries about an insured person's record, oldest first: the
	// insured person for their own record (employeeID 0 means "mine"), or the DPO for anyone's.
	AccessLog(ctx context.Context, employeeID int64) ([]AccessEntry, error)
	// AccessProof returns the inclusion proof (JSON, `amane journal check-proof` checks it) of the
	// journal entry at index, to a principal who may see that entry.
	AccessProof(ctx context.Context, index int64) ([]byte, error)
	// Journal returns up to limit entries before index before (newest first; before <= 0: from the
	// end), to the auditor and the DPO.
	Journal(ctx context.Context, before int64, limit int) ([]AccessEntry, error)
}
