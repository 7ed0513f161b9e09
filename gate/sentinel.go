package gate

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"amane"
	"amane/journal"
	"amane/sentinel"
)

// The sentinel's responses, as the gate carries them out: each one is journaled (the principal
// "system/sentinel" acted on a principal, for a signal), kept for the security console, and applied
// to what the store holds — a suspended account is disabled and its tokens revoked; a step-up revokes
// the tokens (a token cannot sign in again with a passkey), as it does an integration token. Ending the account's sessions is the web server's part. A
// security officer lifts a principal's responses: that is journaled too, and re-enables an account
// the sentinel disabled. A revoked token stays revoked: its holder gets a new one.

// sentinelPrincipal is who the journal says took the sentinel's responses.
const sentinelPrincipal = "system/sentinel"

// Journal actions of the sentinel's responses, of lifting them, and of a refused look at them.
const (
	actSentinel = amane.ActionSentinel
	actLift     = amane.ActionSentinelLift
	actAlerts   = amane.ActionSentinelAlerts // a refused look at the alerts
)

// Respond journals, stores and applies one response of the sentinel. The campaign flag (principal
// "campaign") is journaled and stored like any alert; it contains nobody by itself.
func (g *Gate) Respond(ctx context.Context, r sentinel.Response) (*amane.SecurityAlert, error) {
	ev, err := json.Marshal(r.Evidence)
	if err != nil {
		return nil, err
	}
	e := journal.Entry{Time: journal.FormatTime(r.Time), Principal: sentinelPrincipal, Role: amane.RoleSystem, Action: actSentinel,
		Record: r.Principal, Fields: []string{r.Signal}, Purpose: "security", Outcome: journal.Allowed, Reason: r.Response}
	if g.journal == nil {
		return nil, amane.Errorf(amane.EINTERNAL, "The access journal is not open.")
	}
	idx, err := g.journal.Append(ctx, e)
	if err != nil {
		return nil, err
	}
	// Containment before the alert is stored: once the console shows a measure, it is in force.
	cerr := g.contain(ctx, r)
	a := &amane.SecurityAlert{Time: e.Time, Principal: r.Principal, Response: r.Response, Signal: r.Signal, Evidence: ev, Journal: idx}
	if a.ID, err = g.store.AddAlert(ctx, a); err != nil {
		return nil, err
	}
	return a, cerr
}

// contain carries out a suspend or a step-up: the account disabled (suspend) and its tokens
// revoked, or the token itself revoked.
func (g *Gate) contain(ctx context.Context, r sentinel.Response) error {
	if r.Response != sentinel.Suspend && r.Response != sentinel.StepUp {
		return nil
	}
	kind, id := principalRef(r.Principal)
	switch kind {
	case "account":
		if r.Response == sentinel.Suspend {
			acc, err := g.store.Account(ctx, id)
			if err != nil {
				return err
			}
			if !acc.Disabled {
				acc.Disabled = true
				if err := g.store.UpdateAccount(ctx, acc); err != nil {
					return err
				}
			}
		}
		// The account's tokens go with it: a token cannot sign in again with a passkey.
		toks, err := g.store.Tokens(ctx)
		if err != nil {
			return err
		}
		for _, t := range toks {
			if t.AccountID == id && !t.Revoked {
				if err := g.store.RevokeToken(ctx, t.ID); err != nil {
					return err
				}
			}
		}
	case "token":
		if err := g.store.RevokeToken(ctx, id); err != nil && amane.ErrorCode(err) != amane.ENOTFOUND {
			return err
		}
	}
	return nil
}

// principalRef splits "account/12" into "account" and 12.
func principalRef(p string) (string, int64) {
	kind, num, ok := strings.Cut(p, "/")
	if !ok {
		return "", 0
	}
	id, err := strconv.ParseInt(num, 10, 64)
	if err != nil {
		return "", 0
	}
	return kind, id
}

// RestoreSentinel gives the sentinel back the suspensions the store holds (alerts not lifted), as a
// server starts: a principal suspended before a restart stays suspended.
func (g *Gate) RestoreSentinel(ctx context.Context) (int, error) {
	if g.sentinel == nil {
		return 0, nil
	}
	open, err := g.store.OpenAlerts(ctx, "")
	if err != nil {
		return 0, err
	}
	n := 0
	for _, a := range open {
		if a.Response == sentinel.Suspend {
			g.sentinel.Hold(a.Principal, a.Response)
			n++
		}
	}
	return n, nil
}

// mayWatch are the roles that see the sentinel's alerts: none of them sees personal data there.
var mayWatch = []string{amane.RoleSecurity, amane.RoleAuditor, amane.RoleDPO, amane.RoleSystem}

// Alerts returns the sentinel's alerts, newest first, up to limit below id before (0: the newest),
// to a security officer, an auditor or the DPO.
func (g *Gate) Alerts(ctx context.Context, before int64, limit int) ([]amane.SecurityAlert, error) {
	p := amane.PrincipalFromContext(ctx)
	if p == nil {
		return nil, amane.Errorf(amane.EUNAUTHORIZED, "Sign in first.")
	}
	if !slices.Contains(mayWatch, p.Role) {
		return nil, g.refuseOutsideBegin(ctx, p, actAlerts, "role "+p.Role+" may not watch", amane.Errorf(amane.EFORBIDDEN, "Security officers, auditors and the DPO only."))
	}
	if limit <= 0 || limit > 500 {
		limit = 500
	}
	return g.store.Alerts(ctx, before, limit)
}

// Standing is the strongest response in force for a principal ("" if none or no sentinel).
func (g *Gate) Standing(principal string) string {
	if g.sentinel == nil {
		return ""
	}
	return g.sentinel.Standing(principal)
}

// Lift ends a principal's responses: a security officer's decision after review, journaled. An
// account the sentinel disabled is enabled again; the detector forgets the principal's levels.
func (g *Gate) Lift(ctx context.Context, principal string) (int, error) {
	p := amane.PrincipalFromContext(ctx)
	if p == nil {
		return 0, amane.Errorf(amane.EUNAUTHORIZED, "Sign in first.")
	}
	if p.Role != amane.RoleSecurity && p.Role != amane.RoleSystem {
		return 0, g.refuseOutsideBegin(ctx, p, actLift, "role "+p.Role+" may not lift", amane.Errorf(amane.EFORBIDDEN, "Only a security officer lifts the sentinel's responses."))
	}
	kind, id := principalRef(principal)
	if kind != "account" && kind != "token" {
		return 0, amane.Invalid("Not a principal.", amane.FieldError{Field: "principal", Rule: "account/N or token/N"})
	}
	if g.journal == nil {
		return 0, amane.Errorf(amane.EINTERNAL, "The access journal is not open.")
	}
	open, err := g.store.OpenAlerts(ctx, principal)
	if err != nil {
		return 0, err
	}
	if len(open) == 0 && g.Standing(principal) == "" {
		return 0, amane.Errorf(amane.ENOTFOUND, "No response of the sentinel is in force for this principal.")
	}
	now := g.Now().UTC()
	e := journal.Entry{Time: journal.FormatTime(now), Principal: p.ID, Role: p.Role, Scope: p.Scope(), Action: actLift,
		Record: principal, Purpose: "security", Outcome: journal.Allowed, Reason: fmt.Sprintf("%d alerts reviewed", len(open)), RequestID: amane.RequestIDFromContext(ctx)}
	if _, err := g.journal.Append(ctx, e); err != nil {
		return 0, err
	}
	suspended := false
	for _, a := range open {
		suspended = suspended || a.Response == sentinel.Suspend
	}
	if kind == "account" && suspended {
		acc, err := g.store.Account(ctx, id)
		if err != nil {
			return 0, err
		}
		if acc.Disabled {
			acc.Disabled = false
			if err := g.store.UpdateAccount(ctx, acc); err != nil {
				return 0, err
			}
		}
	}
	n, err := g.store.LiftAlerts(ctx, principal, p.ID, e.Time)
	if err != nil {
		return 0, err
	}
	if g.sentinel != nil {
		g.sentinel.Lift(principal)
	}
	return n, nil
}
