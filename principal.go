package amane

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
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

// PurposeChoice is one entry of the configured list of purposes. Reference is the pattern (a Go
// regular expression, matched whole) that every reference stated with this purpose must match, and
// Format the same pattern as people read it ("DOS-AAAA/NNNN"): forms show it, and the journal
// records it as the rule a refused reference broke, never the refused text. A pattern made of fixed
// prefixes and a few digits leaves no room for a name, a CIN, a RIB or an e-mail address.
type PurposeChoice struct {
	Code      string `json:"code"`
	Label     string `json:"label"` // French, shown in pages
	Reference string `json:"reference"`
	Format    string `json:"format"`
}

// DefaultPurposes is the list used unless DIR/purposes.json names another. Each reference is a file
// number of its service: a prefix, the year and a 4-digit sequence (8 digits in all, one fewer than an
// immatriculation).
var DefaultPurposes = []PurposeChoice{
	{"dossier", "Instruction d'un dossier d'immatriculation ou d'affiliation", `DOS-\d{4}/\d{4}`, "DOS-AAAA/NNNN"},
	{"prestation", "Liquidation d'une prestation", `PRE-\d{4}/\d{4}`, "PRE-AAAA/NNNN"},
	{"controle", "Contrôle d'un employeur", `CTL-\d{4}/\d{4}`, "CTL-AAAA/NNNN"},
	{"reclamation", "Traitement d'une réclamation", `REC-\d{4}/\d{4}`, "REC-AAAA/NNNN"},
	{"contentieux", "Recouvrement et contentieux", `CTX-\d{4}/\d{4}`, "CTX-AAAA/NNNN"},
	{"droits-0908", "Demande d'accès, de rectification ou d'effacement (loi 09-08)", `DRT-\d{4}/\d{4}`, "DRT-AAAA/NNNN"},
}

// Bounds of what a principal may state as a purpose: longer is refused before any pattern runs, so
// that a 900 KB header costs nothing and reaches no journal.
const (
	MaxPurposeCode = 32
	MaxReference   = 48
)

var purposeCodeRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,31}$`)

// CompileReference compiles a purpose's reference pattern, anchored at both ends. The pattern must
// compile on its own first, so that a pattern such as "a)|(b" cannot close the anchoring group and
// match any text that merely starts with "a".
func (c PurposeChoice) CompileReference() (*regexp.Regexp, error) {
	if _, err := regexp.Compile(c.Reference); err != nil {
		return nil, err
	}
	return regexp.Compile(`^(?:` + c.Reference + `)$`)
}

// CheckPurposes validates a configured list of purposes: every code lower-case letters, digits and
// dashes (at most MaxPurposeCode), once; a label; a reference pattern that compiles and a format.
func CheckPurposes(list []PurposeChoice) error {
	if len(list) == 0 {
		return fmt.Errorf("no purpose configured")
	}
	seen := map[string]bool{}
	for _, c := range list {
		switch {
		case !purposeCodeRE.MatchString(c.Code):
			return fmt.Errorf("purpose %q: a code is 1 to %d lower-case letters, digits and dashes", c.Code, MaxPurposeCode)
		case seen[c.Code]:
			return fmt.Errorf("purpose %q comes twice", c.Code)
		case c.Label == "":
			return fmt.Errorf("purpose %q needs a label", c.Code)
		case c.Reference == "" || c.Format == "":
			return fmt.Errorf("purpose %q needs a reference pattern and its format (such as \"DOS-\\\\d{4}/\\\\d{4}\" and \"DOS-AAAA/NNNN\")", c.Code)
		}
		if _, err := c.CompileReference(); err != nil {
			return fmt.Errorf("purpose %q: reference pattern: %v", c.Code, err)
		}
		seen[c.Code] = true
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

// BreakGlass is a staff member's written reason to read a record outside any case assigned to them
// (hors dossier, issue 14): the web takes it from the X-Amane-Break-Glass header, the CLI from
// --break-glass. The gate checks it (10 to 200 characters, no person's identifier) and journals it
// only when its case binding is on (gate.UseCaseBinding).
type BreakGlass struct {
	Reason string
}

type breakGlassKey struct{}

// NewContextWithBreakGlass returns ctx carrying a break-the-glass reason.
func NewContextWithBreakGlass(ctx context.Context, b BreakGlass) context.Context {
	return context.WithValue(ctx, breakGlassKey{}, b)
}

// BreakGlassFromContext returns the break-the-glass reason carried by ctx, the zero value if none.
func BreakGlassFromContext(ctx context.Context) BreakGlass {
	b, _ := ctx.Value(breakGlassKey{}).(BreakGlass)
	return b
}
