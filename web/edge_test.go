package web_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"amane"
	"amane/amanetest"
	"amane/web"
)

// edge is a server over a seeded registry, with a stub attester, its metrics listener, and the
// tokens of the tests.
type edge struct {
	*apiFixture
	srv     *web.Server
	metrics string
}

func newEdge(t *testing.T, r *amanetest.Registry) *edge {
	t.Helper()
	seed(t, r)
	operator := web.NewToken()
	if err := r.Store.AddOperatorToken(context.Background(), web.TokenHash(operator), "test"); err != nil {
		t.Fatal(err)
	}
	srv := web.NewServer(r.Gate, r.Store, slog.New(slog.NewTextHandler(io.Discard, nil)))
	srv.Attester = stubAttester{}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	ms := httptest.NewServer(srv.MetricsHandler())
	t.Cleanup(ms.Close)
	return &edge{apiFixture: &apiFixture{url: hs.URL, token: operator}, srv: srv, metrics: ms.URL}
}

// raw sends a request with the given token (none if empty) and returns the status, the
// Content-Type and the body.
func raw(t *testing.T, method, url, token string) (int, string, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
}

// journalTail is the newest entries of the journal (read as the system, which journals the read).
func journalTail(t *testing.T, r *amanetest.Registry) []amane.AccessEntry {
	t.Helper()
	es, err := r.Gate.Journal(amanetest.Context(amane.RoleSystem), 0, 500)
	if err != nil {
		t.Fatal(err)
	}
	return es
}

func count(es []amane.AccessEntry, f func(e amane.AccessEntry) bool) int {
	n := 0
	for _, e := range es {
		if f(e) {
			n++
		}
	}
	return n
}

// TestMetricsNotForAgents is the attack on /metrics: a tool with an agent's token (or none) reads the
// sentinel's responses to pace itself. The main listener has no /metrics at all (JSON 404, whatever
// the token); the metrics listener answers a security officer's, an auditor's or the operator's token
// only, and the refusal of the agent is journaled.
func TestMetricsNotForAgents(t *testing.T) { amanetest.Each(t, testMetricsNotForAgents) }

func testMetricsNotForAgents(t *testing.T, r *amanetest.Registry) {
	e := newEdge(t, r)
	agent := addToken(t, r, amane.Token{Role: amane.RoleAgent, Agency: "AGADIR"})
	secu := addToken(t, r, amane.Token{Role: amane.RoleSecurity})
	auditor := addToken(t, r, amane.Token{Role: amane.RoleAuditor})
	for _, tok := range []string{"", agent, secu, e.token} {
		if code, ct, body := raw(t, "GET", e.url+"/metrics", tok); code != 404 || !strings.HasPrefix(ct, "application/json") || strings.Contains(body, "amane_") {
			t.Errorf("main listener /metrics: %d %s %s", code, ct, body)
		}
	}
	if code, _, body := raw(t, "GET", e.metrics+"/metrics", ""); code != 401 || strings.Contains(body, "amane_") {
		t.Errorf("no token: %d %s", code, body)
	}
	if code, _, body := raw(t, "GET", e.metrics+"/metrics", agent); code != 403 || strings.Contains(body, "amane_") {
		t.Errorf("an agent's token: %d %s", code, body)
	}
	for _, tok := range []string{secu, auditor, e.token} {
		if code, ct, _ := raw(t, "GET", e.metrics+"/metrics", tok); code != 200 || !strings.HasPrefix(ct, "text/plain") {
			t.Errorf("an allowed token: %d %s", code, ct)
		}
	}
	es := journalTail(t, r)
	if count(es, func(x amane.AccessEntry) bool {
		return x.Role == amane.RoleAgent && x.Action == "metrics" && x.Outcome == "denied" && strings.Contains(x.Reason, "(GET /metrics)")
	}) != 1 {
		t.Errorf("the agent's scrape is not journaled once: %+v", es[:5])
	}
}

// TestAPIErrorsAreJSON: every path under /api/ answers in the API's error shape — an unknown route
// 404, a known path with another method 405 and Allow — where the mux answered text/plain.
func TestAPIErrorsAreJSON(t *testing.T) {
	e := newEdge(t, amanetest.Open(t))
	for _, c := range []struct {
		method, path string
		status       int
		allow        string
	}{
		{"GET", "/api/v1/nope", 404, ""},
		{"GET", "/api/v2/employees", 404, ""},
		{"GET", "/api/v1/employees/", 404, ""},
		{"DELETE", "/api/v1/employees/111111111", 405, "GET, PUT"},
		{"PATCH", "/api/v1/employers", 405, "POST"},
		{"POST", "/api/v1/journal", 405, "GET"},
	} {
		req, _ := http.NewRequest(c.method, e.url+c.path, nil)
		req.Header.Set("Authorization", "Bearer "+e.token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		derr := json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != c.status || derr != nil || body.Error.Code == "" || body.Error.Message == "" ||
			!strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") || resp.Header.Get("Allow") != c.allow {
			t.Errorf("%s %s: %d %q allow %q %+v %v", c.method, c.path, resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Allow"), body, derr)
		}
	}
}

// TestEdgeDenialsJournaled is the attack on the journal's blind spots: a dead token (expired,
// revoked), a role asking for another role's route, 404 probes with a token, an auditor downloading
// the proof of an entry about someone, and an anonymous flood. Each denial is journaled — a known
// principal's every time, by the route pattern and never the path; the anonymous ones up to the
// address's hourly budget, the rest counted in the metrics.
func TestEdgeDenialsJournaled(t *testing.T) { amanetest.Each(t, testEdgeDenialsJournaled) }

func testEdgeDenialsJournaled(t *testing.T, r *amanetest.Registry) {
	e := newEdge(t, r)
	ctx := context.Background()
	acct, err := r.Store.CreateAccount(ctx, &amane.Account{Login: "agent-0500", Role: amane.RoleAgent, Agency: "AGADIR", Created: time.Now().UTC().Format(time.RFC3339)})
	if err != nil {
		t.Fatal(err)
	}
	expired := addToken(t, r, amane.Token{AccountID: acct, Role: amane.RoleAgent, Agency: "AGADIR", Expires: time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)})
	revoked := addToken(t, r, amane.Token{AccountID: acct, Role: amane.RoleAgent, Agency: "AGADIR"})
	tk, err := r.Store.TokenByHash(ctx, web.TokenHash(revoked))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Store.RevokeToken(ctx, tk.ID); err != nil {
		t.Fatal(err)
	}
	agent := addToken(t, r, amane.Token{Role: amane.RoleAgent, Agency: "AGADIR"})
	auditor := addToken(t, r, amane.Token{Role: amane.RoleAuditor})

	for _, tok := range []string{expired, revoked} {
		if code, _, _ := raw(t, "GET", e.url+"/api/v1/employees/111111111", tok); code != 401 {
			t.Fatalf("a dead token: %d", code)
		}
	}
	if code, _, _ := raw(t, "POST", e.url+"/api/v1/me/attestations", agent); code != 403 {
		t.Fatalf("an agent's salary attestation: %d", code)
	}
	if code, _, _ := raw(t, "GET", e.url+"/api/v1/employees/111111111/secret", agent); code != 404 {
		t.Fatalf("a probe: %d", code)
	}
	// The auditor downloads the proof of the operator's read of Benaïssa.
	if code, _, _ := e.do(t, "GET", "/api/v1/employees/111111111", nil, e.token); code != 200 {
		t.Fatalf("read: %d", code)
	}
	var read amane.AccessEntry
	for _, x := range journalTail(t, r) {
		if x.Action == "read" && x.Outcome == "allowed" && strings.HasPrefix(x.Record, "employee/") {
			read = x
			break
		}
	}
	if code, _, body := raw(t, "GET", e.url+"/api/v1/journal/proof/"+strconv.FormatInt(read.Index, 10), auditor); code != 200 {
		t.Fatalf("proof: %d %s", code, body)
	}
	// An anonymous flood from one address: no token, unknown tokens.
	for i := range 3 * 10 {
		tok := ""
		if i%2 == 1 {
			tok = web.NewAccessToken()
		}
		if code, _, _ := raw(t, "GET", e.url+"/api/v1/employees/111111111", tok); code != 401 {
			t.Fatalf("anonymous: %d", code)
		}
	}

	es := journalTail(t, r)
	principal := "account/" + strconv.FormatInt(acct, 10)
	for _, c := range []struct {
		what string
		f    func(x amane.AccessEntry) bool
		want int
	}{
		{"the dead tokens", func(x amane.AccessEntry) bool {
			return x.Principal == principal && x.Action == "authenticate" && x.Outcome == "denied" &&
				strings.Contains(x.Reason, "expired or was revoked") && strings.Contains(x.Reason, "GET /api/v1/employees/{immatriculation}")
		}, 2},
		{"the agent's salary attestation", func(x amane.AccessEntry) bool {
			return x.Role == amane.RoleAgent && x.Action == "attest" && x.Outcome == "denied" && strings.Contains(x.Reason, "POST /api/v1/me/attestations")
		}, 1},
		{"the agent's probe", func(x amane.AccessEntry) bool {
			return x.Role == amane.RoleAgent && x.Action == "route" && x.Outcome == "denied" && strings.Contains(x.Reason, "no such route")
		}, 1},
		{"the auditor's proof", func(x amane.AccessEntry) bool {
			return x.Role == amane.RoleAuditor && x.Action == "proof" && x.Outcome == "allowed" && x.Record == read.Record
		}, 1},
		{"the anonymous flood, within the budget", func(x amane.AccessEntry) bool {
			return x.Principal == "anonymous" && x.Action == "authenticate" && x.Outcome == "denied"
		}, 10},
	} {
		if n := count(es, c.f); n != c.want {
			t.Errorf("%s: %d entries, want %d", c.what, n, c.want)
		}
	}
	for _, x := range es {
		if b, _ := json.Marshal(x); strings.Contains(string(b), "111111111") || strings.Contains(string(b), "secret") {
			t.Errorf("an entry holds the request's path: %s", b)
		}
	}
	secu := addToken(t, r, amane.Token{Role: amane.RoleSecurity})
	if _, _, body := raw(t, "GET", e.metrics+"/metrics", secu); !strings.Contains(body, `amane_denials_unjournaled_total{action="authenticate"} 20`) {
		t.Errorf("the unjournaled denials are not counted:\n%s", body)
	}
}
