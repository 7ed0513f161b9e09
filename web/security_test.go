package web_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"amane"
	"amane/amanetest"
	"amane/sentinel"
)

// TestSecurityConsole: with the sentinel running, a canary touched by an agent suspends the agent:
// its session ends, the account is disabled, the console lists the alert with its evidence and the
// measure in force, an agent may not open the console, the security officer lifts the measure (CSRF
// form) and the account is enabled again; /metrics counts the response. Both stores.
func TestSecurityConsole(t *testing.T) { amanetest.Each(t, testSecurityConsole) }

func testSecurityConsole(t *testing.T, r *amanetest.Registry) {
	p := newPages(t, r)
	p.account(amane.Account{Login: "secu-01", Role: amane.RoleSecurity}, false)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	live := sentinel.NewLive(sentinel.New(sentinel.DefaultConfig(), []string{"employee/424242"}))
	r.Gate.UseSentinel(live)
	p.srv.UseSentinel(ctx, r.Gate, live, nil)

	officer := &visitor{p: p, cookie: p.srv.SessionForTest(p.ids["secu-01"])}
	if resp, body := officer.do("GET", "/securite", nil, nil); resp.StatusCode != http.StatusOK || !strings.Contains(body, "Aucune alerte") {
		t.Fatalf("empty console: %d\n%s", resp.StatusCode, body)
	}
	agentID := p.ids["agent-0412"]
	agent := &visitor{p: p, cookie: p.srv.SessionForTest(agentID)}
	if resp, _ := agent.do("GET", "/securite", nil, nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("an agent opens the console: %d", resp.StatusCode)
	}

	principal := fmt.Sprintf("account/%d", agentID)
	live.Observe(sentinel.Event{Time: time.Now(), Principal: principal, Role: "agent", Home: "AGADIR", Action: "read",
		Record: "employee/424242", RecordHome: "AGADIR", Purpose: "dossier", Outcome: "allowed"})
	var body string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		_, body = officer.do("GET", "/securite", nil, nil)
		// Both responses (alert, then suspend) shown: the second is stored once it is in force.
		if strings.Count(body, `class="alerte`) == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the console does not show the canary's alert:\n%s", body)
		}
	}
	for _, want := range []string{principal, "employee/424242", "suspendu", "canary", "canary_record", `name="principal" value="` + principal + `"`} {
		if !strings.Contains(body, want) {
			t.Errorf("the console lacks %q", want)
		}
	}
	if a, _ := r.Store.Account(context.Background(), agentID); !a.Disabled {
		t.Error("the suspended agent's account is enabled")
	}
	if resp, _ := agent.do("GET", "/cle", nil, nil); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("the suspended agent's session goes on: GET /cle %d", resp.StatusCode)
	}

	// A lift without the CSRF token is refused; with it, the measure is lifted and the account enabled.
	if resp, _ := officer.do("POST", "/securite/lever", url.Values{"principal": {principal}}, nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("a lift without CSRF: %d", resp.StatusCode)
	}
	resp, body := officer.do("POST", "/securite/lever", url.Values{"csrf": {officer.csrf}, "principal": {principal}}, map[string]string{"Origin": p.url})
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Mesures levées pour "+principal) || !strings.Contains(body, "Aucune mesure en vigueur") {
		t.Fatalf("lift: %d\n%s", resp.StatusCode, body)
	}
	if a, _ := r.Store.Account(context.Background(), agentID); a.Disabled {
		t.Error("the lifted agent's account is still disabled")
	}
	if live.Standing(principal) != "" {
		t.Errorf("standing %q after the lift", live.Standing(principal))
	}

	// The metrics are on their own listener, for a security officer's token (TestMetricsNotForAgents, edge_test.go).
	ms := httptest.NewServer(p.srv.MetricsHandler())
	defer ms.Close()
	req, _ := http.NewRequest("GET", ms.URL+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+addToken(t, r, amane.Token{AccountID: p.ids["secu-01"], Role: amane.RoleSecurity}))
	m, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(m.Body)
	m.Body.Close()
	for _, want := range []string{`amane_sentinel_responses_total{response="suspend",signal="canary"} 1`, "amane_sentinel_lifts_total 1", "amane_sentinel_events_total 1"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("/metrics lacks %q:\n%s", want, b)
		}
	}
}
