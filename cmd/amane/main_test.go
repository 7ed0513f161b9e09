package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"amane/amanetest"
	"amane/ids"
)

// amane runs the CLI in-process and returns its exit code, stdout and stderr.
func amaneCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(""), &out, &errb)
	if code == 0 {
		cheapenKeyring(t, args)
	}
	return code, out.String(), errb.String()
}

func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	code, out, errOut := amaneCLI(t, args...)
	if code != 0 {
		t.Fatalf("amane %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

var tokenRE = regexp.MustCompile(`amane_op_[0-9a-f]{64}`)

// personalValues returns every personal value of the synthetic files: what must never be found in
// clear in a store file or a log. Values shorter than 4 bytes are left out: they would match by
// chance inside ciphertext.
func personalValues(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	add := func(kind, v string) {
		if len(v) >= 4 {
			out[v] = kind
		}
	}
	read := func(name string, cols map[string]string) {
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		recs, err := csv.NewReader(f).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		for _, rec := range recs[1:] {
			for i, h := range recs[0] {
				kind, ok := cols[h]
				if !ok {
					continue
				}
				add(kind, rec[i])
				switch kind {
				case "phone":
					if p, err := ids.ParsePhone(rec[i]); err == nil {
						add(kind, p)
						add(kind, p[4:]) // the national number without any prefix
					}
				case "name":
					add(kind, strings.ToLower(rec[i]))
				}
			}
		}
	}
	read("ADHERENTS.csv", map[string]string{"representant_nom": "name", "representant_prenom": "name", "representant_cin": "cin",
		"email": "email", "telephone": "phone", "rib": "rib"})
	read("SALARIES.csv", map[string]string{"immatriculation": "imm", "cin": "cin", "passeport": "passport", "nom": "name", "prenom": "name"})
	return out
}

// find returns how many personal values b holds in clear, and the kinds of the first few.
func find(b []byte, values map[string]string) (int, []string) {
	n, kinds := 0, []string{}
	for v, kind := range values {
		if bytes.Contains(b, []byte(v)) {
			n++
			if len(kinds) < 10 {
				kinds = append(kinds, kind)
			}
		}
	}
	return n, kinds
}

// findTokens is find for text that carries ciphertext as base64 (a backup's JSON lines): a value counts
// only where it stands as a token, not inside a longer run of letters and digits. Inside 150 KB of base64,
// some 4-letter name turns up by chance about one run in three (64^-4 per position per name); a value
// leaked in clear stands between quotes, spaces or punctuation and is still found.
func findTokens(b []byte, values map[string]string) (int, []string) {
	alnum := func(i int) bool {
		if i < 0 || i >= len(b) {
			return false
		}
		c := b[i]
		return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '+' || c == '/'
	}
	n, kinds := 0, []string{}
	for v, kind := range values {
		for off := 0; ; {
			i := bytes.Index(b[off:], []byte(v))
			if i < 0 {
				break
			}
			i += off
			if !alnum(i-1) && !alnum(i+len(v)) {
				n++
				if len(kinds) < 10 {
					kinds = append(kinds, kind)
				}
				break
			}
			off = i + 1
		}
	}
	return n, kinds
}

// scan reports every personal value found in b.
func scan(t *testing.T, what string, b []byte, values map[string]string) {
	t.Helper()
	if n, kinds := find(b, values); n > 0 {
		t.Errorf("%s (%d bytes) holds %d personal values in clear, kinds %v", what, len(b), n, kinds)
	}
}

func scanDir(t *testing.T, dir string, values map[string]string) int {
	t.Helper()
	n := 0
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		scan(t, e.Name(), b, values)
		n++
	}
	return n
}

// TestNoPersonalDataAtRest loads a synthetic registry, serves it, queries it, and scans every byte of
// every file the store wrote (database, WAL, shared memory, and the keyring) and everything the server
// logged, for every personal value of the CSV files.
func TestNoPersonalDataAtRest(t *testing.T) {
	t.Setenv("AMANE_PASSPHRASE", "a test passphrase, long enough")
	root := t.TempDir()
	data, csvDir := filepath.Join(root, "data"), filepath.Join(root, "csv")
	out := mustRun(t, "init", "--data", data)
	token := tokenRE.FindString(out)
	if token == "" {
		t.Fatalf("init printed no token:\n%s", out)
	}
	mustRun(t, "synth", "--employers", "100", "--employees", "1000", "--seed", "7", "--out", csvDir)
	out = mustRun(t, "load", "--data", data, filepath.Join(csvDir, "ADHERENTS.csv"), filepath.Join(csvDir, "SALARIES.csv"))
	if !strings.Contains(out, "100 employers added") || !strings.Contains(out, "1000 insured added") {
		t.Fatalf("load: %s", out)
	}
	values := personalValues(t, csvDir)
	if len(values) < 2000 {
		t.Fatalf("only %d personal values to look for", len(values))
	}
	// The scanner itself must see plaintext where there is some: the CSV files are plaintext.
	for _, name := range []string{"ADHERENTS.csv", "SALARIES.csv"} {
		b, _ := os.ReadFile(filepath.Join(csvDir, name))
		if n, _ := find(b, values); n < 500 {
			t.Fatalf("the scanner finds only %d values in %s", n, name)
		}
	}

	// Read a few people back through the CLI and the API, so that reads and their logs are covered.
	rows := readCSV(t, filepath.Join(csvDir, "SALARIES.csv"))
	imm, cin, nom := rows[1][0], rows[1][1], rows[1][3]
	var shown struct{ Immatriculation, Nom string }
	json.Unmarshal([]byte(mustRun(t, "employee", "show", "--data", data, "--imm", imm)), &shown)
	if shown.Immatriculation != imm {
		t.Fatalf("employee show --imm: %+v", shown)
	}

	url, _, logs, stop := background(t, []string{"serve", "--data", data, "--addr", "127.0.0.1:0"}, urlRE)
	for _, p := range []string{"/api/v1/employees/" + imm, "/api/v1/employees?cin=" + cin, "/api/v1/employees?name=" + nom,
		"/api/v1/employers/" + rows[1][7], "/api/v1/employees/000000001"} {
		req, _ := http.NewRequest("GET", url+p, nil)
		apiHeaders(req, token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 && !strings.HasSuffix(p, "000000001") {
			t.Fatalf("GET %s: %d %s", p, resp.StatusCode, body)
		}
	}
	if n := scanDir(t, data, values); n < 2 {
		t.Fatalf("scanned %d files while serving", n)
	}
	if code := stop(); code != 0 {
		t.Fatalf("serve exited %d: %s", code, logs.String())
	}
	if !strings.Contains(logs.String(), "/api/v1/employees/{immatriculation}") {
		t.Fatalf("the server logged no request: %s", logs.String())
	}
	scan(t, "the server log", []byte(logs.String()), values)
	scanDir(t, data, values)
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

var urlRE = regexp.MustCompile(`(http://127\.0\.0\.1:[0-9]+)`)

// background runs the CLI in a goroutine until stop is called, waits until its stdout matches ready
// (whose first group is the URL returned), and returns what stop returns: the exit code.
func background(t *testing.T, args []string, ready *regexp.Regexp) (url string, stdout, stderr *amanetest.SyncBuffer, stop func() int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stdout, stderr = &amanetest.SyncBuffer{}, &amanetest.SyncBuffer{}
	done := make(chan int)
	go func() { done <- run(ctx, args, nil, stdout, stderr) }()
	var once sync.Once
	var code int
	stop = func() int { once.Do(func() { cancel(); code = <-done }); return code } // callable twice (defer and check)
	for i := 0; i < 6000; i++ {                                                    // up to a minute: a loaded CI machine runs Argon2id slowly
		if m := ready.FindStringSubmatch(stdout.String()); m != nil {
			return m[1], stdout, stderr, stop
		}
		time.Sleep(10 * time.Millisecond)
	}
	stop()
	t.Fatalf("amane %s did not start: %s%s", args[0], stdout.String(), stderr.String())
	return
}

// TestBadIdentifierOnTheCLI: a load with a wrong RIB key is refused with the file, line and field,
// exits non-zero, and writes nothing.
func TestBadIdentifierOnTheCLI(t *testing.T) {
	t.Setenv("AMANE_PASSPHRASE", "a test passphrase, long enough")
	root := t.TempDir()
	data, csvDir := filepath.Join(root, "data"), filepath.Join(root, "csv")
	mustRun(t, "init", "--data", data)
	mustRun(t, "synth", "--employers", "5", "--employees", "20", "--seed", "7", "--out", csvDir)
	rows := readCSV(t, filepath.Join(csvDir, "ADHERENTS.csv"))
	rib := rows[1][20]
	rows[1][20] = rib[:22] + map[bool]string{true: "11", false: "12"}[rib[22:] != "11"]
	f, _ := os.Create(filepath.Join(csvDir, "ADHERENTS.csv"))
	w := csv.NewWriter(f)
	w.WriteAll(rows)
	f.Close()
	code, _, errOut := amaneCLI(t, "load", "--data", data, filepath.Join(csvDir, "ADHERENTS.csv"), filepath.Join(csvDir, "SALARIES.csv"))
	if code != 1 || !strings.Contains(errOut, "ADHERENTS.csv:2: rib: ") || !strings.Contains(errOut, "nothing was written") {
		t.Fatalf("exit %d, stderr:\n%s", code, errOut)
	}
	if strings.Contains(errOut, rib[:22]) {
		t.Fatalf("the error quotes the RIB")
	}
	code, _, errOut = amaneCLI(t, "employer", "show", "--data", data, "--affiliation", rows[2][0])
	if code != 1 || !strings.Contains(strings.ToLower(errOut), "not found") {
		t.Fatalf("employer of a refused load: exit %d %s", code, errOut)
	}
	t.Run("ErrPassphraseFlag", func(t *testing.T) {
		if code, _, _ := amaneCLI(t, "init", "--data", filepath.Join(root, "x"), "--passphrase", "secret"); code != 2 {
			t.Fatalf("a --passphrase flag must not exist; exit %d", code)
		}
	})
	t.Run("ErrWrongPassphrase", func(t *testing.T) {
		t.Setenv("AMANE_PASSPHRASE", "not the right passphrase")
		if code, _, errOut := amaneCLI(t, "employer", "show", "--data", data, "--affiliation", rows[2][0]); code != 1 || !strings.Contains(errOut, "wrong passphrase") {
			t.Fatalf("exit %d %s", code, errOut)
		}
	})
}

// apiHeaders authenticates req with an operator token, states the tests' purpose (staff must) and
// asks every field in clear (a reveal, journaled), so that tests compare what they wrote.
func apiHeaders(req *http.Request, token string) {
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("X-Amane-Purpose", "dossier")
	req.Header.Set("X-Amane-Reference", "DOS-2026/0001")
	req.Header.Set("X-Amane-Reveal", "*")
}
