package amane

import (
	"context"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// A case (dossier) is the work a staff read will be bound to (issue 14): opened by an event that comes
// from outside the reader — an insured person's request, an employer's complaint, an immatriculation
// request, a control mission, a batch job — it names the records it concerns and the staff assigned,
// and is open until closed. It is not personal data: its number is a file number of a fixed shape,
// its records are internal references ("employee/42"), its staff are principal ids ("account/12") and
// an agency code, its origin a code and an internal id, its times RFC 3339. The gate journals every
// act on a case with its number, so that the journal, not the case row, is the history.

// Case types: each is one kind of outside event, with the purpose (DefaultPurposes) its reads state
// and the prefix of its number.
const (
	CaseImmatriculation = "immatriculation" // an immatriculation request (a B04 line, a counter request)
	CaseRequest         = "demande"         // an insured person's request or claim (a benefit)
	CaseComplaint       = "reclamation"     // an employer's or an insured person's complaint
	CaseControl         = "controle"        // a control mission, created by a supervisor
	CaseLitigation      = "contentieux"     // recovery and litigation
	CaseRights          = "droits"          // a data-subject request (law 09-08)
	CaseJob             = "traitement"      // a batch job declared by the operator
)

// CaseType is one entry of the closed list of case types: its code, the purpose code its reads state,
// and the prefix of its number ("DOS" for DOS-AAAA/NNNN).
type CaseType struct {
	Code    string `json:"code"`
	Purpose string `json:"purpose"`
	Prefix  string `json:"prefix"`
}

// CaseTypes is the closed list. A batch job has no purpose of DefaultPurposes: it is the operator's,
// and its reads will state the job (issue 14, item 2).
var CaseTypes = []CaseType{
	{CaseImmatriculation, "dossier", "DOS"},
	{CaseRequest, "prestation", "PRE"},
	{CaseComplaint, "reclamation", "REC"},
	{CaseControl, "controle", "CTL"},
	{CaseLitigation, "contentieux", "CTX"},
	{CaseRights, "droits-0908", "DRT"},
	{CaseJob, "traitement", "TRT"},
}

// CaseTypeOf returns the case type with this code.
func CaseTypeOf(code string) (CaseType, bool) {
	i := slices.IndexFunc(CaseTypes, func(t CaseType) bool { return t.Code == code })
	if i < 0 {
		return CaseType{}, false
	}
	return CaseTypes[i], true
}

// Case is a dossier: see the paragraph above.
type Case struct {
	ID     int64  `json:"id"`
	Type   string `json:"type"`   // one of CaseTypes
	Number string `json:"number"` // PREFIX-AAAA/NNNN, the prefix of its type: the reference agents type
	// Records are the records the case concerns, internal references: "employee/ID", "employer/ID".
	Records []string `json:"records"`
	// Staff are the principals assigned ("account/12", "token/3"); Team an agency whose staff all are.
	Staff    []string `json:"staff,omitempty"`
	Team     string   `json:"team,omitempty"`
	Opened   string   `json:"opened"`    // RFC 3339, UTC
	OpenedBy string   `json:"opened_by"` // the principal who opened it
	// Origin is the outside event that opened it: a code of CaseOrigins, or "declaration/ID",
	// "imm_request/ID" — an internal id, never a person's identifier.
	Origin   string `json:"origin"`
	Closed   string `json:"closed,omitempty"` // RFC 3339, UTC; "" while open
	ClosedBy string `json:"closed_by,omitempty"`
}

// CaseOrigins are the outside events a case may come from without an internal id: a request at an
// agency's counter, by mail, on the portal, by phone; a mission ordered; a job scheduled.
var CaseOrigins = []string{"guichet", "courrier", "portail", "telephone", "mission", "planification"}

// caseOriginRefs are the kinds of internal ids an origin may name ("declaration/12").
var caseOriginRefs = []string{"declaration", "imm_request"}

// Bounds of a case: enough for a control mission over an employer's staff, small enough that a case
// cannot stand for the whole registry.
const (
	MaxCaseRecords = 500
	MaxCaseStaff   = 50
)

var caseNumberRE = regexp.MustCompile(`^([A-Z]{3})-(\d{4})/(\d{4})$`)

// Open reports whether the case is open.
func (c *Case) Open() bool { return c.Closed == "" }

// Concerns reports whether the case names record.
func (c *Case) Concerns(record string) bool { return slices.Contains(c.Records, record) }

// AssignedTo reports whether the case is assigned to the principal id, or to its team (agency).
func (c *Case) AssignedTo(principal, agency string) bool {
	return slices.Contains(c.Staff, principal) || (agency != "" && c.Team == agency)
}

// Normalize validates a case about to be stored and returns every problem at once (fields and rules,
// never the values): a type of the list, a number of its type's shape, at least one record reference
// and at most MaxCaseRecords, staff as principal ids, a team as an agency code, times RFC 3339, an
// opener, an origin. Records and staff are sorted and deduplicated.
func (c *Case) Normalize() []FieldError {
	var errs fieldErrors
	t, ok := CaseTypeOf(c.Type)
	if !ok {
		errs.add("type", "must be one of: "+strings.Join(caseTypeCodes(), ", "))
	}
	if m := caseNumberRE.FindStringSubmatch(c.Number); m == nil {
		errs.add("number", "must be written XXX-AAAA/NNNN")
	} else if ok && m[1] != t.Prefix {
		errs.add("number", "must be written "+t.Prefix+"-AAAA/NNNN for this type")
	}
	c.Records = sortedSet(c.Records)
	switch {
	case len(c.Records) == 0:
		errs.add("records", "name at least one record")
	case len(c.Records) > MaxCaseRecords:
		errs.add("records", "at most "+itoa(MaxCaseRecords)+" records")
	}
	for _, r := range c.Records {
		if !ValidRecordRef(r) {
			errs.add("records", "each must be employee/ID or employer/ID")
			break
		}
	}
	c.Staff = sortedSet(c.Staff)
	if len(c.Staff) > MaxCaseStaff {
		errs.add("staff", "at most "+itoa(MaxCaseStaff)+" principals")
	}
	for _, p := range c.Staff {
		if !ValidPrincipalRef(p) {
			errs.add("staff", "each must be a principal id: account/ID, token/ID, operator:…")
			break
		}
	}
	if c.Team != "" {
		errs.agency("team", c.Team)
	}
	if !validActor(c.OpenedBy) {
		errs.add("opened_by", "must be a principal id: account/ID, token/ID, operator:…")
	}
	if !ValidCaseOrigin(c.Origin) {
		errs.add("origin", "must be one of "+strings.Join(CaseOrigins, ", ")+", or declaration/ID, imm_request/ID")
	}
	if _, err := time.Parse(time.RFC3339, c.Opened); err != nil {
		errs.add("opened", "must be an RFC 3339 time")
	}
	if c.Closed != "" {
		if _, err := time.Parse(time.RFC3339, c.Closed); err != nil {
			errs.add("closed", "must be an RFC 3339 time")
		}
		if !validActor(c.ClosedBy) {
			errs.add("closed_by", "must be a principal id: account/ID, token/ID, operator:…")
		}
	}
	return errs
}

// CheckCase is Normalize as an error: EINVALID with every field at once, nil if none.
func CheckCase(c *Case) error {
	if c == nil {
		return Errorf(EINVALID, "No case.")
	}
	if errs := c.Normalize(); len(errs) > 0 {
		return Invalid("This case cannot be stored as given.", errs...)
	}
	return nil
}

// ValidCaseNumber reports whether s has the shape of a case number (XXX-AAAA/NNNN).
func ValidCaseNumber(s string) bool { return caseNumberRE.MatchString(s) }

// ValidRecordRef reports whether s is an internal record reference: "employee/ID" or "employer/ID"
// with ID a positive decimal without leading zero.
func ValidRecordRef(s string) bool {
	kind, id, ok := strings.Cut(s, "/")
	return ok && (kind == "employee" || kind == "employer") && positiveID(id)
}

// ValidPrincipalRef reports whether s is a principal id as the gate names principals: "account/ID",
// "token/ID", or a kind and a short code ("operator:3fa2c1d04b9e", "cli:case") — never a login or
// a name.
func ValidPrincipalRef(s string) bool {
	if kind, id, ok := strings.Cut(s, "/"); ok {
		return (kind == "account" || kind == "token") && positiveID(id)
	}
	return principalCodeRE.MatchString(s)
}

var principalCodeRE = regexp.MustCompile(`^[a-z]{2,16}:[a-z0-9-]{1,32}$`)

// actorRE is who may have opened or closed a case: a principal id, or the CLI's system principal
// with its command ("cli:case open"); the gate sets it, nobody types it.
var actorRE = regexp.MustCompile(`^[a-z]{2,16}:[a-z0-9 -]{1,32}$`)

func validActor(s string) bool { return ValidPrincipalRef(s) || actorRE.MatchString(s) }

// ValidCaseOrigin reports whether s is an origin: a code of CaseOrigins or KIND/ID.
func ValidCaseOrigin(s string) bool {
	if slices.Contains(CaseOrigins, s) {
		return true
	}
	kind, id, ok := strings.Cut(s, "/")
	return ok && slices.Contains(caseOriginRefs, kind) && positiveID(id)
}

func positiveID(s string) bool {
	n, err := strconv.ParseInt(s, 10, 64)
	return err == nil && n > 0 && strconv.FormatInt(n, 10) == s
}

func caseTypeCodes() []string {
	out := make([]string, len(CaseTypes))
	for i, t := range CaseTypes {
		out[i] = t.Code
	}
	return out
}

func sortedSet(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	out := slices.Clone(s)
	slices.Sort(out)
	return slices.Compact(out)
}

// CaseFilter selects open cases: every field set must hold. Principal and Team together select the
// cases assigned to the principal or to the team; Record the cases concerning the record.
type CaseFilter struct {
	Principal string
	Team      string
	Record    string
}

// CaseStore keeps cases. Each method is one transaction.
type CaseStore interface {
	// CreateCase stores a new case (CheckCase) and returns its id. EINVALID, ECONFLICT if its number
	// is taken.
	CreateCase(ctx context.Context, c *Case) (int64, error)
	// CaseByID returns a case. ENOTFOUND if none.
	CaseByID(ctx context.Context, id int64) (*Case, error)
	// CaseByNumber returns the case with this number. ENOTFOUND if none.
	CaseByNumber(ctx context.Context, number string) (*Case, error)
	// AssignCase adds principals to an open case's staff and, if team is not "", sets its team.
	// EINVALID, ENOTFOUND, ECONFLICT if the case is closed.
	AssignCase(ctx context.Context, id int64, staff []string, team string) error
	// AddCaseRecord adds a record to an open case. EINVALID, ENOTFOUND, ECONFLICT if closed.
	AddCaseRecord(ctx context.Context, id int64, record string) error
	// CloseCase closes an open case at a time (RFC 3339) by a principal. EINVALID, ENOTFOUND,
	// ECONFLICT if closed already.
	CloseCase(ctx context.Context, id int64, by, at string) error
	// OpenCases returns the open cases the filter selects, by id, at most limit (capped at MaxPage).
	OpenCases(ctx context.Context, f CaseFilter, limit int) ([]Case, error)
}

// CheckCaseAssignment validates an assignment: principal ids and an agency code ("" for none), at
// least one of them. EINVALID with every field at once.
func CheckCaseAssignment(staff []string, team string) error {
	var errs fieldErrors
	if len(staff) == 0 && team == "" {
		errs.add("staff", "name a principal or a team")
	}
	if len(staff) > MaxCaseStaff {
		errs.add("staff", "at most "+itoa(MaxCaseStaff)+" principals")
	}
	for _, p := range staff {
		if !ValidPrincipalRef(p) {
			errs.add("staff", "each must be a principal id: account/ID, token/ID, operator:…")
			break
		}
	}
	if team != "" {
		errs.agency("team", team)
	}
	if len(errs) > 0 {
		return Invalid("This assignment cannot be stored as given.", errs...)
	}
	return nil
}

// CheckCaseClosing validates who closes a case and when.
func CheckCaseClosing(by, at string) error {
	var errs fieldErrors
	if !validActor(by) {
		errs.add("closed_by", "must be a principal id: account/ID, token/ID, operator:…")
	}
	if _, err := time.Parse(time.RFC3339, at); err != nil {
		errs.add("closed", "must be an RFC 3339 time")
	}
	if len(errs) > 0 {
		return Invalid("This closing cannot be stored as given.", errs...)
	}
	return nil
}

// CheckCaseRecord validates a record reference added to a case.
func CheckCaseRecord(record string) error {
	if !ValidRecordRef(record) {
		return Invalid("Not a record reference.", FieldError{Field: "record", Rule: "must be employee/ID or employer/ID"})
	}
	return nil
}

// CaseService opens, assigns, closes and lists cases through the door (package gate implements it;
// the web and the CLI call it). Each method says which codes it returns.
type CaseService interface {
	// OpenCase opens c (type, number, origin, records, staff, team) and sets its id, opener and
	// opening time. EINVALID, EFORBIDDEN, ENOTFOUND (a record unknown or out of scope), ECONFLICT.
	OpenCase(ctx context.Context, c *Case) error
	// AssignCase assigns staff and/or a team to an open case. EINVALID, EFORBIDDEN, ENOTFOUND, ECONFLICT.
	AssignCase(ctx context.Context, number string, staff []string, team string) error
	// CloseCase closes an open case. ENOTFOUND, ECONFLICT.
	CloseCase(ctx context.Context, number string) error
	// Case returns a case the principal may act on. ENOTFOUND.
	Case(ctx context.Context, number string) (*Case, error)
	// Cases lists open cases the principal may act on, oldest first.
	Cases(ctx context.Context, f CaseFilter, limit int) ([]Case, error)
}
