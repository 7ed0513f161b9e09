package amane

import (
	"context"
	"regexp"
	"strconv"
	"strings"
)

// Roles. Staff roles (agent, supervisor, DPO, security officer, auditor, operator) sign in with a passkey and
// state a purpose for every access to personal data; employer users and insured people act on their
// own records; the system is the CLI holding the keys.
const (
	RoleAgent       = "agent"      // an agency's agent: its agency's employers and their employees
	RoleSupervisor  = "supervisor" // every agency's records
	RoleEmployer    = "employer"   // an employer user: its own affiliation and its employees
	RoleInsured     = "insured"    // an insured person: their own record
	RoleDPO         = "dpo"        // data-protection officer: the journal and data-subject requests
	RoleSecurity    = "security"   // security officer: alerts and containment, no personal data
	RoleAuditor     = "auditor"    // the journal, no personal data
	RoleOperator    = "operator"   // the instance's integration token from `amane init`: every record, with a purpose
	RoleSystem      = "system"     // the CLI, holding the keys
	RoleIntegration = "integration"
)

// Roles lists the roles an account or a token may hold.
var Roles = []string{RoleAgent, RoleSupervisor, RoleEmployer, RoleInsured, RoleDPO, RoleSecurity, RoleAuditor}

// StaffRole reports whether role is a fund employee's: staff sign in with passkeys and state a purpose.
func StaffRole(role string) bool {
	switch role {
	case RoleAgent, RoleSupervisor, RoleDPO, RoleSecurity, RoleAuditor, RoleOperator:
		return true
	}
	return false
}

// Principal is who asks: every call into the Registry carries one in its context. It holds no
// personal data: an insured person is named by the internal id of their record.
type Principal struct {
	ID          string // internal reference of the account or token ("account/12", "token/3"), never personal data
	Role        string
	Agency      string // agent: the agency whose records it may reach
	Affiliation string // employer user: its affiliation number
	EmployeeID  int64  // insured person: their record's internal id
	Token       bool   // authenticated by a bearer token (an integration), not a session
}

// Scope is what the journal records of the principal's reach: its agency, its affiliation, or
// "employee/ID" for an insured person.
func (p *Principal) Scope() string {
	switch {
	case p.Agency != "":
		return p.Agency
	case p.Affiliation != "":
		return p.Affiliation
	case p.EmployeeID != 0:
		return "employee/" + strconv.FormatInt(p.EmployeeID, 10)
	}
	return ""
}

type principalKey struct{}

// NewContextWithPrincipal returns ctx carrying p.
func NewContextWithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFromContext returns the principal carried by ctx, nil if none.
func PrincipalFromContext(ctx context.Context) *Principal {
	p, _ := ctx.Value(principalKey{}).(*Principal)
	return p
}

// Purpose is why a principal reaches personal data: a code from the configured list and a reference
// (a case or file number). The reference is journaled, so it must not itself be personal data.
type Purpose struct {
	Code      string `json:"code"`
	Reference string `json:"reference"`
}

// PurposeChoice is one entry of the configured list of purposes.
type PurposeChoice struct {
	Code  string `json:"code"`
	Label string `json:"label"` // French, shown in pages
}

// DefaultPurposes is the list used unless DIR/purposes.json names another.
var DefaultPurposes = []PurposeChoice{
	{"dossier", "Instruction d'un dossier d'immatriculation ou d'affiliation"},
	{"prestation", "Liquidation d'une prestation"},
	{"controle", "Contrôle d'un employeur"},
	{"reclamation", "Traitement d'une réclamation"},
	{"contentieux", "Recouvrement et contentieux"},
	{"droits-0908", "Demande d'accès, de rectification ou d'effacement (loi 09-08)"},
}

var referenceRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._/-]{1,47}$`)

// CheckReference validates a purpose reference: 2 to 48 letters, digits and . _ / -. looksPersonal
// (the caller's identifier parsers) rejects a reference that is itself a CIN or an immatriculation.
func CheckReference(ref string, looksPersonal func(string) bool) error {
	ref = strings.TrimSpace(ref)
	if !referenceRE.MatchString(ref) {
		return Invalid("Give a reference for this purpose, such as a case number (2 to 48 letters, digits, . _ / -).",
			FieldError{Field: "reference", Rule: "2 to 48 letters, digits, . _ / -"})
	}
	if looksPersonal != nil && looksPersonal(ref) {
		return Invalid("A reference must be a case number, not a person's identifier.",
			FieldError{Field: "reference", Rule: "must not be a CIN, immatriculation or phone number"})
	}
	return nil
}

type purposeKey struct{}

// NewContextWithPurpose returns ctx carrying the stated purpose.
func NewContextWithPurpose(ctx context.Context, p Purpose) context.Context {
	return context.WithValue(ctx, purposeKey{}, p)
}

// PurposeFromContext returns the purpose stated in ctx, the zero Purpose if none.
func PurposeFromContext(ctx context.Context) Purpose {
	p, _ := ctx.Value(purposeKey{}).(Purpose)
	return p
}

// RevealAll asks for every masked field in clear.
const RevealAll = "*"

type revealKey struct{}

// NewContextWithReveal returns ctx asking the Registry to show the named fields (JSON names: "cin",
// "rib", … or RevealAll) in clear instead of masked. A reveal is its own journaled access, and needs a
// purpose.
func NewContextWithReveal(ctx context.Context, fields ...string) context.Context {
	return context.WithValue(ctx, revealKey{}, fields)
}

// RevealFromContext returns the fields asked in clear.
func RevealFromContext(ctx context.Context) []string {
	f, _ := ctx.Value(revealKey{}).([]string)
	return f
}

type requestIDKey struct{}

// NewContextWithRequestID returns ctx carrying the request id the journal records.
func NewContextWithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestIDFromContext returns the request id carried by ctx.
func RequestIDFromContext(ctx context.Context) string {
	s, _ := ctx.Value(requestIDKey{}).(string)
	return s
}
