package gate_test

import (
	"context"
	"testing"

	"amane"
	"amane/amanetest"
	"amane/gate"
	"amane/journal"
	"amane/sentinel"
)

// TestRefuseJournalsEdgeDenials: Refuse journals a denial decided before the gate — for the context's
// principal, or as "anonymous" — and refuses (journaling nothing) a record that is not an internal
// reference or a reason that holds an identifier, so that no careless caller puts a request path in
// the journal. Both stores.
func TestRefuseJournalsEdgeDenials(t *testing.T) {
	amanetest.Each(t, func(t *testing.T, r *amanetest.Registry) {
		agent := amanetest.As(&amane.Principal{ID: "account/7", Role: amane.RoleAgent, Agency: "AGADIR"})
		if err := r.Gate.Refuse(agent, "route", "", "no such route (GET /api/v1/employees/{immatriculation})"); err != nil {
			t.Fatal(err)
		}
		if err := r.Gate.Refuse(context.Background(), "authenticate", "", "unknown token (unmatched route)"); err != nil {
			t.Fatal(err)
		}
		before := len(entries(t, r))
		for _, c := range []struct{ action, record, reason string }{
			{"route", "", "no such route (GET /api/v1/employees/111111111)"}, // a path, not a pattern
			{"route", "", "no such route (GET /api/v1/employees/JA123456)"},
			{"route", "K450111", "no such route"},
			{"Route Probe", "", "no such route"},
			{"route", "", "<script>"},
			{"route", "", ""},
		} {
			if err := r.Gate.Refuse(agent, c.action, c.record, c.reason); amane.ErrorCode(err) != amane.EINVALID {
				t.Errorf("%+v: %v", c, err)
			}
		}
		es := entries(t, r)
		if len(es) != before {
			t.Fatalf("%d entries journaled by refused calls", len(es)-before)
		}
		a, b := es[len(es)-2], es[len(es)-1]
		if a.Principal != "account/7" || a.Role != amane.RoleAgent || a.Scope != "AGADIR" || a.Action != "route" || a.Outcome != journal.Denied {
			t.Errorf("the agent's denial: %+v", a)
		}
		if b.Principal != "anonymous" || b.Role != "anonymous" || b.Scope != "" || b.Action != "authenticate" || b.Outcome != journal.Denied {
			t.Errorf("the anonymous denial: %+v", b)
		}
	})
}

// TestRefusedAuthenticationIsNotTheHolders: a dead token replayed by anyone is journaled for its
// account but never counts in the account's denied windows (it would get the account suspended); a
// live principal's probe does count.
func TestRefusedAuthenticationIsNotTheHolders(t *testing.T) {
	r := amanetest.Open(t)
	live := sentinel.NewLive(sentinel.New(sentinel.DefaultConfig(), nil))
	r.Gate.UseSentinel(live)
	dead := amanetest.As(&amane.Principal{ID: "account/8", Role: amane.RoleEmployer, Affiliation: "1234567"})
	for range 20 {
		if err := r.Gate.Refuse(dead, gate.ActAuthenticate, "", "This token has expired or was revoked (GET /api/v1/employees/{immatriculation})"); err != nil {
			t.Fatal(err)
		}
	}
	if s := live.Standing("account/8"); s != "" {
		t.Errorf("a dead token's refusals put its account under %q", s)
	}
	prober := amanetest.As(&amane.Principal{ID: "account/9", Role: amane.RoleEmployer, Affiliation: "1234567"})
	for range 20 {
		if err := r.Gate.Refuse(prober, "route", "", "no such route (unmatched route)"); err != nil {
			t.Fatal(err)
		}
	}
	if s := live.Standing("account/9"); s == "" {
		t.Error("a live principal's 20 probes left no response in force")
	}
}
