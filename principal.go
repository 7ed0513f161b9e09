package amane

import "context"

// Roles. Accounts and the full role set arrive with the gate's access policy; until then the API and
// the CLI act as the operator.
const (
	RoleOperator = "operator"
	RoleSystem   = "system"
)

// Principal is who asks: every call into the Registry carries one in its context.
type Principal struct {
	ID   string // internal reference of the account or token, never personal data
	Role string
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
