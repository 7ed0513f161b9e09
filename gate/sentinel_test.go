package gate_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"amane"
	"amane/amanetest"
	"amane/journal"
	"amane/sentinel"
)

// TestSentinelSuspendsAtTheDoor: the gate reports every decision to the sentinel; a principal
// reading past the (here tiny) volume ceiling is suspended, and its next request is refused at the
// door and journaled, on both stores.
func TestSentinelSuspendsAtTheDoor(t *testing.T) { amanetest.Each(t, testSentinelSuspends) }

func testSentinelSuspends(t *testing.T, r *amanetest.Registry) {
	f := fixtureOf(r)
	twoEmployers(t, f)
	cfg := sentinel.DefaultConfig()
	cfg.Volume = []sentinel.WindowRule{{Window: sentinel.Duration(10 * time.Minute),
		Levels: sentinel.Levels{Alert: 2, Throttle: 3, StepUp: 4, Suspend: 5}}}
	live := sentinel.NewLive(sentinel.New(cfg, nil))
	var mu sync.Mutex
	var got []sentinel.Response
	live.OnResponse = func(r sentinel.Response) { mu.Lock(); got = append(got, r); mu.Unlock() }
	f.gate.UseSentinel(live)

	ctx := amanetest.As(&amane.Principal{ID: "token/7", Role: amane.RoleOperator})
	ctx = amane.NewContextWithPurpose(ctx, amane.Purpose{Code: "dossier", Reference: "DOS-2026/0007"})
	if _, err := f.gate.Employer(ctx, "1234567"); err != nil { // 4 records: the employer and 3 people
		t.Fatal(err)
	}
	if live.Suspended("token/7") {
		t.Fatal("suspended at 4 distinct records, the ceiling is 5")
	}
	// 2 more would make 6: the sentinel refuses the release before it happens, and suspends.
	if e, err := f.gate.Employer(ctx, "7654321"); amane.ErrorCode(err) != amane.EFORBIDDEN || e != nil {
		t.Fatalf("a read crossing the ceiling: %v, %v; want forbidden and nothing released", e, err)
	}
	if e := last(t, r, "token/7"); e.Outcome != "denied" || e.Reason != "release refused by the sentinel" {
		t.Errorf("the refused release is not journaled: %+v", e)
	}
	if !live.Suspended("token/7") {
		t.Fatalf("not suspended after 6 distinct records; responses %+v", got)
	}
	mu.Lock()
	final := got[len(got)-1]
	mu.Unlock()
	if final.Response != sentinel.Suspend || final.Principal != "token/7" {
		t.Errorf("last response %+v, want a suspension of token/7", final)
	}
	if _, err := f.gate.Employee(ctx, "123456789"); amane.ErrorCode(err) != amane.EFORBIDDEN {
		t.Fatalf("a suspended principal's read: %v, want forbidden", err)
	}
	if e := last(t, r, "token/7"); e.Outcome != "denied" || e.Reason != "suspended by the sentinel" {
		t.Errorf("the refusal is not journaled: %+v", e)
	}
	// Another principal goes on.
	if _, err := f.gate.Employee(f.ctx, "123456789"); err != nil {
		t.Errorf("another principal refused: %v", err)
	}
}

// TestSentinelResponsesCarriedOut: a throttled principal gets one request a second and a "throttled"
// refusal in between; each response is journaled and kept as an alert; a suspension disables the
// account (and revokes a token); a security officer's lift is journaled and enables the account
// again; a suspension survives a restart of the sentinel (RestoreSentinel). Both stores.
func TestSentinelResponsesCarriedOut(t *testing.T) { amanetest.Each(t, testSentinelResponses) }

func testSentinelResponses(t *testing.T, r *amanetest.Registry) {
	f := fixtureOf(r)
	twoEmployers(t, f)
	bg := context.Background()
	id, err := r.Store.CreateAccount(bg, &amane.Account{Login: "superviseur.test", Role: amane.RoleSupervisor, PasswordHash: "x", Created: "2026-11-23T00:00:00Z"})
	if err != nil {
		t.Fatal(err)
	}
	acc, err := r.Store.Account(bg, id)
	if err != nil {
		t.Fatal(err)
	}
	tokID, err := r.Store.AddToken(bg, &amane.Token{Hash: []byte("0123456789abcdef0123456789abcdef"), Role: amane.RoleOperator, Created: "2026-11-23T00:00:00Z", Expires: "2099-01-01T00:00:00Z"})
	if err != nil {
		t.Fatal(err)
	}

	cfg := sentinel.DefaultConfig()
	cfg.Volume = []sentinel.WindowRule{{Window: sentinel.Duration(10 * time.Minute),
		Levels: sentinel.Levels{Alert: 2, Throttle: 3, Suspend: 6}}}
	live := sentinel.NewLive(sentinel.New(cfg, nil))
	var respErr error
	live.OnResponse = func(resp sentinel.Response) {
		if _, err := f.gate.Respond(bg, resp); err != nil && respErr == nil {
			respErr = err
		}
	}
	clock := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	f.gate.Now = func() time.Time { return clock }
	f.gate.UseSentinel(live)

	p := acc.Principal()
	ctx := amane.NewContextWithPurpose(amanetest.As(p), amane.Purpose{Code: "dossier", Reference: "DOS-2026/0007"})
	if _, err := f.gate.Employer(ctx, "1234567"); err != nil { // 4 distinct records: throttled
		t.Fatal(err)
	}
	if got := live.Standing(p.ID); got != sentinel.Throttle {
		t.Fatalf("standing %q after 4 records, want throttle", got)
	}
	// The first request after the throttle passes, the next one within the second does not.
	if _, err := f.gate.Employee(ctx, "123456789"); err != nil {
		t.Fatalf("the first throttled request: %v", err)
	}
	if _, err := f.gate.Employee(ctx, "123456789"); amane.ErrorCode(err) != amane.ETHROTTLED {
		t.Fatalf("a second request in the same second: %v, want throttled", err)
	}
	if e := last(t, r, p.ID); e.Outcome != "denied" || e.Reason != "throttled by the sentinel" {
		t.Errorf("the throttled refusal is not journaled: %+v", e)
	}
	clock = clock.Add(2 * time.Second)
	// 2 more records would make 6: refused before release, suspended.
	if _, err := f.gate.Employer(ctx, "7654321"); amane.ErrorCode(err) != amane.EFORBIDDEN {
		t.Fatalf("a request two seconds later, crossing the ceiling: %v, want forbidden", err)
	}
	if !live.Suspended(p.ID) {
		t.Fatalf("not suspended; standing %q", live.Standing(p.ID))
	}
	if respErr != nil {
		t.Fatal(respErr)
	}
	if acc, _ := r.Store.Account(bg, id); !acc.Disabled {
		t.Error("the suspended account is not disabled in the store")
	}
	alerts, err := r.Store.OpenAlerts(bg, p.ID)
	if err != nil || len(alerts) < 3 {
		t.Fatalf("open alerts %+v (%v), want alert, throttle and suspend", alerts, err)
	}
	sus := alerts[len(alerts)-1]
	if sus.Response != sentinel.Suspend || !strings.Contains(string(sus.Evidence), "distinct_records") {
		t.Errorf("last alert %+v", sus)
	}
	if e := entryAt(t, r, sus.Journal); e.Principal != "system/sentinel" || e.Record != p.ID || e.Reason != sentinel.Suspend {
		t.Errorf("the suspension's journal entry: %+v", e)
	}

	// The sentinel restarts: the store's open suspension holds again.
	live2 := sentinel.NewLive(sentinel.New(cfg, nil))
	f.gate.UseSentinel(live2)
	if n, err := f.gate.RestoreSentinel(bg); err != nil || n < 1 || !live2.Suspended(p.ID) {
		t.Fatalf("RestoreSentinel: %d, %v; suspended %v", n, err, live2.Suspended(p.ID))
	}

	// Only a security officer lifts; the lift is journaled and enables the account.
	agentCtx := amanetest.As(&amane.Principal{ID: "account/999", Role: amane.RoleAgent, Agency: "CASA-ANFA"})
	if _, err := f.gate.Lift(agentCtx, p.ID); amane.ErrorCode(err) != amane.EFORBIDDEN {
		t.Fatalf("an agent lifts: %v, want forbidden", err)
	}
	officer := &amane.Principal{ID: "account/998", Role: amane.RoleSecurity}
	n, err := f.gate.Lift(amanetest.As(officer), p.ID)
	if err != nil || n != len(alerts) {
		t.Fatalf("Lift: %d, %v; want %d alerts lifted", n, err, len(alerts))
	}
	if acc, _ := r.Store.Account(bg, id); acc.Disabled {
		t.Error("the lifted account is still disabled")
	}
	if live2.Standing(p.ID) != "" {
		t.Errorf("standing %q after the lift", live2.Standing(p.ID))
	}
	if e := last(t, r, officer.ID); e.Action != "sentinel-lift" || e.Record != p.ID {
		t.Errorf("the lift's journal entry: %+v", e)
	}
	if _, err := f.gate.Lift(amanetest.As(officer), p.ID); amane.ErrorCode(err) != amane.ENOTFOUND {
		t.Errorf("a second lift: %v, want not found", err)
	}

	// A token's suspension revokes it.
	tok := fmt.Sprintf("token/%d", tokID)
	if _, err := f.gate.Respond(bg, sentinel.Response{Time: clock, Principal: tok, Response: sentinel.Suspend, Signal: "canary",
		Evidence: map[string]any{"canary_record": "employee/1"}}); err != nil {
		t.Fatal(err)
	}
	toks, _ := r.Store.Tokens(bg)
	for _, k := range toks {
		if k.ID == tokID && !k.Revoked {
			t.Error("the suspended token is not revoked")
		}
	}
	// Alerts are for security officers, auditors and the DPO.
	if _, err := f.gate.Alerts(agentCtx, 0, 10); amane.ErrorCode(err) != amane.EFORBIDDEN {
		t.Errorf("an agent reads the alerts: %v", err)
	}
	if all, err := f.gate.Alerts(amanetest.As(officer), 0, 100); err != nil || len(all) != len(alerts)+1 || all[0].Principal != tok {
		t.Errorf("the officer's alerts: %d, %v", len(all), err)
	}
}

// entryAt decodes the journal entry at index i.
func entryAt(t *testing.T, r *amanetest.Registry, i int64) *journal.Entry {
	t.Helper()
	es := entries(t, r)
	if i < 0 || i >= int64(len(es)) {
		t.Fatalf("no journal entry %d (%d entries)", i, len(es))
	}
	return es[i]
}
