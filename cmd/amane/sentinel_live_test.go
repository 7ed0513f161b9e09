package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"amane/alert/alerttest"
)

// TestSentinelLiveOnServe: `amane serve --sentinel default --syslog tcp:…` with the default thresholds.
// A compromised agent's token (issued to the agent's account, so it acts as the account) reads the
// agency's insured people one after another as fast as four clients can. The sentinel throttles it
// (429), then suspends it on the burst of refusals: the account is disabled, its token stops working,
// its signed-in session is ended. The security console's API lists the alerts with their evidence, the
// suspension reaches a real rsyslogd as RFC 5424 with a JSON body, /metrics counts it, and a security
// officer lifts it. No name reaches the server's log.
func TestSentinelLiveOnServe(t *testing.T) {
	_, tcpAddr, syslogOut := alerttest.StartRsyslog(t)
	t.Setenv("AMANE_PASSPHRASE", "sentinel test passphrase, long")
	t.Setenv("AMANE_ACCOUNT_PASSWORD", "a first password, long enough")
	root := t.TempDir()
	data, csvDir := filepath.Join(root, "data"), filepath.Join(root, "csv")
	mustRun(t, "init", "--data", data)
	mustRun(t, "synth", "--employers", "3", "--employees", "600", "--seed", "7", "--out", csvDir)
	mustRun(t, "load", "--data", data, filepath.Join(csvDir, "ADHERENTS.csv"), filepath.Join(csvDir, "SALARIES.csv"))

	// The agency with the most insured people, and their immatriculations.
	agencyOf := map[string]string{}
	for _, r := range readCSV(t, filepath.Join(csvDir, "ADHERENTS.csv"))[1:] {
		agencyOf[r[0]] = r[12]
	}
	byAgency := map[string][]string{}
	var names []string
	for _, r := range readCSV(t, filepath.Join(csvDir, "SALARIES.csv"))[1:] {
		names = append(names, r[3])
		if r[8] != "validee" { // a pending or rejected employment is nobody's scope: reading it is a denial
			continue
		}
		byAgency[agencyOf[r[7]]] = append(byAgency[agencyOf[r[7]]], r[0])
	}
	agency := ""
	for a, imms := range byAgency {
		if len(imms) > len(byAgency[agency]) {
			agency = a
		}
	}
	imms := byAgency[agency]
	if len(imms) < 150 {
		t.Fatalf("the largest agency has %d insured people; the test needs 150", len(imms))
	}

	mustRun(t, "account", "add", "--data", data, "--login", "agent-0412", "--role", "agent", "--agency", agency)
	mustRun(t, "account", "add", "--data", data, "--login", "secu-01", "--role", "security")
	agentTok := scopedTokenRE.FindString(mustRun(t, "token", "create", "--data", data, "--account", "agent-0412", "--ttl", "1h", "--label", "poste"))
	secuTok := scopedTokenRE.FindString(mustRun(t, "token", "create", "--data", data, "--account", "secu-01", "--ttl", "1h", "--label", "console"))
	if agentTok == "" || secuTok == "" {
		t.Fatal("no token printed")
	}

	srvURL, stdout, stderr, stop := background(t, []string{"serve", "--data", data, "--addr", "127.0.0.1:0",
		"--sentinel", "default", "--syslog", "tcp:" + tcpAddr, "--metrics-addr", "127.0.0.1:0"}, urlRE)
	defer stop()

	// The agent is also signed in on the pages (a password session, before its passkey).
	agent := &liveVisitor{t: t, base: srvURL}
	agent.signIn("agent-0412")
	if code := agent.get("/cle"); code != http.StatusOK {
		t.Fatalf("the agent's session: GET /cle %d", code)
	}

	// The extraction: four clients, each taking the next immatriculation.
	var mu sync.Mutex
	counts := map[int]int{}
	next, stopped := 0, false
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				mu.Lock()
				if stopped || next >= 4*len(imms) {
					mu.Unlock()
					return
				}
				imm := imms[next%len(imms)]
				next++
				mu.Unlock()
				req, _ := http.NewRequest("GET", srvURL+"/api/v1/employees/"+imm, nil)
				req.Header.Set("Authorization", "Bearer "+agentTok)
				req.Header.Set("X-Amane-Purpose", "dossier")
				req.Header.Set("X-Amane-Reference", "DOS-2024/0412")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				mu.Lock()
				counts[resp.StatusCode]++
				if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
					stopped = true
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	t.Logf("statuses: %v", counts)
	if counts[http.StatusUnauthorized]+counts[http.StatusForbidden] == 0 {
		t.Fatalf("never contained: %v", counts)
	}
	if counts[http.StatusTooManyRequests] == 0 {
		t.Errorf("never throttled before the suspension: %v", counts)
	}
	if counts[http.StatusOK] > 200 {
		t.Errorf("%d records read before containment; the default thresholds allow 100 and then one a second", counts[http.StatusOK])
	}

	// The suspension is carried out: the token and the session stop working.
	waitFor(t, "the agent's token refused", func() bool {
		req, _ := http.NewRequest("GET", srvURL+"/api/v1/employees/"+imms[0], nil)
		req.Header.Set("Authorization", "Bearer "+agentTok)
		req.Header.Set("X-Amane-Purpose", "dossier")
		req.Header.Set("X-Amane-Reference", "DOS-2024/0412")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusUnauthorized
	})
	waitFor(t, "the agent's session ended", func() bool { return agent.get("/cle") == http.StatusSeeOther })

	// The console: the alerts, with their evidence, for the security officer.
	var got struct {
		Alerts []struct {
			Principal, Response, Signal string
			Evidence                    map[string]any
			Journal                     int64
		}
	}
	// The worker carries responses out in order: the step-up (tokens revoked, sessions ended, which
	// the waits above saw) may be in force before the suspension that followed it is stored.
	var suspended, throttled bool
	waitFor(t, "the console shows the suspension", func() bool {
		getJSON(t, srvURL+"/api/v1/security/alerts", secuTok, &got)
		for _, a := range got.Alerts {
			if a.Principal == "account/1" && a.Response == "suspend" {
				return true
			}
		}
		return false
	})
	for _, a := range got.Alerts {
		if a.Principal != "account/1" {
			continue
		}
		switch a.Response {
		case "suspend":
			suspended = true
			if len(a.Evidence) == 0 || a.Evidence["sample_records"] == nil {
				t.Errorf("a suspension without evidence: %+v", a)
			}
		case "throttle":
			throttled = true
		}
	}
	if !suspended || !throttled {
		t.Fatalf("the console's alerts: %+v", got.Alerts)
	}

	// Syslog: the suspension as RFC 5424 (authpriv.alert = 81) with the response as JSON.
	fields := alerttest.WaitLine(t, syslogOut, "sentinel-suspend")
	if fields[0] != "81" || !strings.Contains(fields[5], `"principal":"account/1"`) || !strings.Contains(fields[5], `"response":"suspend"`) {
		t.Errorf("the syslog message: %q", fields)
	}

	// Metrics: on their own listener, for the security officer's token.
	m := regexp.MustCompile(`Metrics on (\S+) `).FindStringSubmatch(stdout.String())
	if m == nil {
		t.Fatalf("no metrics listener: %s", stdout)
	}
	mreq, _ := http.NewRequest("GET", "http://"+m[1]+"/metrics", nil)
	mreq.Header.Set("Authorization", "Bearer "+secuTok)
	resp, err := http.DefaultClient.Do(mreq)
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !regexp.MustCompile(`amane_sentinel_responses_total\{response="suspend",signal="[a-z0-9-]+"\} 1`).Match(metrics) ||
		!strings.Contains(string(metrics), "amane_alert_deliveries_sent_total") {
		t.Errorf("/metrics:\n%s", metrics)
	}

	// The officer lifts the suspension: the agent signs in again; its token stays revoked.
	req, _ := http.NewRequest("POST", srvURL+"/api/v1/security/lift", strings.NewReader(`{"principal":"account/1"}`))
	req.Header.Set("Authorization", "Bearer "+secuTok)
	req.Header.Set("Content-Type", "application/json")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("lift: %v %v", resp.Status, err)
	}
	again := &liveVisitor{t: t, base: srvURL}
	again.signIn("agent-0412")
	if code := again.get("/cle"); code != http.StatusOK {
		t.Errorf("the lifted agent cannot sign in: GET /cle %d", code)
	}

	stop()
	logs := stderr.String()
	for _, n := range names {
		if len(n) >= 5 && strings.Contains(logs, n) { // names only: numbers could match a duration by chance
			t.Fatal("the server logged a name")
		}
	}
}

// liveVisitor is a browser without JavaScript: the session cookie (Secure, so set by hand over
// http) and the CSRF token of the last page.
type liveVisitor struct {
	t          *testing.T
	base       string
	cookie     string
	csrf       string
	lastStatus int
}

var liveCSRF = regexp.MustCompile(`<meta name="csrf" content="([^"]+)">`)

func (v *liveVisitor) do(method, path string, form url.Values) int {
	v.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, v.base+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", v.base)
	}
	if v.cookie != "" {
		req.AddCookie(&http.Cookie{Name: "__Host-amane-session", Value: v.cookie})
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		v.t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, c := range resp.Cookies() {
		if c.Name == "__Host-amane-session" {
			v.cookie = c.Value
		}
	}
	if m := liveCSRF.FindSubmatch(b); m != nil {
		v.csrf = string(m[1])
	}
	return resp.StatusCode
}

func (v *liveVisitor) get(path string) int { return v.do("GET", path, nil) }

func (v *liveVisitor) signIn(login string) {
	v.t.Helper()
	v.get("/connexion")
	if code := v.do("POST", "/connexion", url.Values{"csrf": {v.csrf}, "login": {login}, "password": {"a first password, long enough"}}); code != http.StatusSeeOther {
		v.t.Fatalf("sign-in of %s: %d", login, code)
	}
}

func getJSON(t *testing.T, u, token string, v any) {
	t.Helper()
	req, _ := http.NewRequest("GET", u, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", u, resp.StatusCode, b)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}

// waitFor polls cond for up to 10 s: the sentinel's responses are carried out off the request path.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("%s: not after 10 s", what)
}
