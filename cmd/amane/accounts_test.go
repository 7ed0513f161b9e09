package main

import (
	"context"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"amane/journal"
	"amane/sqlite"
)

var scopedTokenRE = regexp.MustCompile(`amane_tk_[0-9a-f]{64}`)

// TestAccountsAndTokensOnTheCLI: accounts refuse handles that are identifiers and scopes that do not
// fit the role; a token made for one employer reads that employer's people (masked) and gets 404 for
// another's (as for an unknown number), and both decisions are in the journal, which still verifies; a revoked token is refused.
func TestAccountsAndTokensOnTheCLI(t *testing.T) {
	t.Setenv("AMANE_PASSPHRASE", "accounts test passphrase, long")
	t.Setenv("AMANE_ACCOUNT_PASSWORD", "a first password, long enough")
	root := t.TempDir()
	data, csvDir := filepath.Join(root, "data"), filepath.Join(root, "csv")
	mustRun(t, "init", "--data", data)
	mustRun(t, "synth", "--employers", "4", "--employees", "40", "--seed", "11", "--out", csvDir)
	mustRun(t, "load", "--data", data, filepath.Join(csvDir, "ADHERENTS.csv"), filepath.Join(csvDir, "SALARIES.csv"))
	sal := readCSV(t, filepath.Join(csvDir, "SALARIES.csv"))
	affA := sal[1][7]
	var mine, theirs string
	for _, r := range sal[1:] {
		if r[7] == affA && mine == "" {
			mine = r[0]
		}
		if r[7] != affA && theirs == "" {
			theirs = r[0]
		}
	}

	for _, bad := range [][]string{
		{"--login", "AB123456", "--role", "auditor"},                          // a CIN as a handle
		{"--login", "k.berrada@example.ma", "--role", "auditor"},              // an e-mail
		{"--login", "agent-1", "--role", "agent"},                             // an agent without agency
		{"--login", "rh-1", "--role", "employer", "--affiliation", "9999999"}, // no such employer
		{"--login", "audit-1", "--role", "auditor", "--agency", "CASA-ANFA"},  // a scope the role does not take
		{"--login", "x-1", "--role", "root"},
	} {
		if code, _, _ := amaneCLI(t, append([]string{"account", "add", "--data", data}, bad...)...); code == 0 {
			t.Fatalf("account add %v succeeded", bad)
		}
	}
	mustRun(t, "account", "add", "--data", data, "--login", "rh-atlas", "--role", "employer", "--affiliation", affA, "--totp")
	if code, _, errOut := amaneCLI(t, "account", "add", "--data", data, "--login", "rh-atlas", "--role", "auditor"); code == 0 || !strings.Contains(errOut, "login is taken") {
		t.Fatalf("a second rh-atlas: %d %s", code, errOut)
	}
	if out := mustRun(t, "account", "list", "--data", data); !strings.Contains(out, "rh-atlas\temployer\t"+affA) {
		t.Fatalf("account list: %s", out)
	}

	out := mustRun(t, "token", "create", "--data", data, "--role", "employer", "--affiliation", affA, "--ttl", "1h", "--label", "paie")
	tok := scopedTokenRE.FindString(out)
	if tok == "" {
		t.Fatalf("token create printed no token: %s", out)
	}
	url, _, stderr, stop := background(t, []string{"serve", "--data", data, "--addr", "127.0.0.1:0"}, urlRE)
	defer stop()
	get := func(imm string) (int, string) {
		req, _ := http.NewRequest("GET", url+"/api/v1/employees/"+imm, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get(mine); code != 200 || !strings.Contains(body, "••") {
		t.Fatalf("own employee: %d %s", code, body)
	}
	if code, body := get(theirs); code != 404 { // answered as an unknown number: no existence oracle
		t.Fatalf("another employer's employee: %d %s", code, body)
	}
	stop()
	if strings.Contains(stderr.String(), tok) {
		t.Fatal("the server logged the token")
	}
	out = mustRun(t, "journal", "verify", "--data", data)
	if !strings.Contains(out, "intact") {
		t.Fatalf("journal verify: %s", out)
	}
	outcomes := map[string]int{}
	for _, e := range journalEntries(t, data) {
		if e.Principal == "token/1" && e.Role == "employer" && e.Scope == affA {
			outcomes[string(e.Outcome)]++
		}
	}
	if outcomes["allowed"] != 1 || outcomes["denied"] != 1 {
		t.Fatalf("the token's decisions in the journal: %v", outcomes)
	}
	m := regexp.MustCompile(`Token (\d+),`).FindStringSubmatch(mustRun(t, "token", "create", "--data", data, "--role", "auditor", "--ttl", "1m"))
	if m == nil {
		t.Fatal("no token id")
	}
	mustRun(t, "token", "revoke", "--data", data, "--id", "1")
	url, _, _, stop = background(t, []string{"serve", "--data", data, "--addr", "127.0.0.1:0"}, urlRE)
	defer stop()
	if code, _ := get(mine); code != 401 {
		t.Fatalf("revoked token: %d", code)
	}
}

// journalEntries reads a SQLite data directory's journal.
func journalEntries(t *testing.T, data string) []*journal.Entry {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(data, dbFile))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	n, err := st.JournalSize(ctx)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := st.JournalEntries(ctx, 0, n)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]*journal.Entry, len(raw))
	for i, b := range raw {
		if out[i], err = journal.DecodeEntry(b); err != nil {
			t.Fatal(err)
		}
	}
	return out
}
