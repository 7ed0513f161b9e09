package main

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	neturl "net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"amane/damancom"
	"amane/postgres/pgtest"
)

// newDataDir initialises a data directory on the given store ("sqlite" or "postgres"), loads a small
// synthetic registry, and returns the directory, the CSV directory and the operator token.
func newDataDir(t *testing.T, kind string, employers, employees int) (data, csvDir, token string) {
	t.Helper()
	root := t.TempDir()
	data, csvDir = filepath.Join(root, "data"), filepath.Join(root, "csv")
	args := []string{"init", "--data", data}
	if kind == "postgres" {
		args = append(args, "--db", pgtest.URL(t))
	}
	token = tokenRE.FindString(mustRun(t, args...))
	mustRun(t, "synth", "--employers", fmt.Sprint(employers), "--employees", fmt.Sprint(employees), "--seed", "11", "--out", csvDir)
	mustRun(t, "load", "--data", data, filepath.Join(csvDir, "ADHERENTS.csv"), filepath.Join(csvDir, "SALARIES.csv"))
	return data, csvDir, token
}

func eachStore(t *testing.T, fn func(t *testing.T, kind string)) {
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) { fn(t, kind) })
	}
}

type keyStatus struct {
	Versions []struct {
		Version  uint32
		Current  bool
		Held     bool
		DataKeys int64 `json:"data_keys"`
	}
}

func status(t *testing.T, data string) keyStatus {
	t.Helper()
	var st keyStatus
	if err := json.Unmarshal([]byte(mustRun(t, "keys", "status", "--data", data)), &st); err != nil {
		t.Fatal(err)
	}
	return st
}

// TestRotationUnderLoad rotates the key-encryption key while a server answers a storm of reads and
// writes: not one request may fail, every data key ends under the new version, the old one can then
// be retired, and the registry reads the same afterwards.
func TestRotationUnderLoad(t *testing.T) {
	eachStore(t, func(t *testing.T, kind string) {
		t.Setenv("AMANE_PASSPHRASE", "a test passphrase, long enough")
		data, csvDir, token := newDataDir(t, kind, 20, 300)
		rows := readCSV(t, filepath.Join(csvDir, "SALARIES.csv"))[1:]
		aff := rows[0][len(rows[0])-2]
		url, _, logs, stop := background(t, []string{"serve", "--data", data, "--addr", "127.0.0.1:0"}, urlRE)
		defer stop()

		if code, _, errOut := amaneCLI(t, "keys", "retire", "1", "--data", data); code != 1 || !strings.Contains(errOut, "current") {
			t.Fatalf("retiring the current version: exit %d %s", code, errOut)
		}

		var reads, writes, failures atomic.Int64
		var firstFailure atomic.Value
		fail := func(what string) {
			failures.Add(1)
			firstFailure.CompareAndSwap(nil, what)
		}
		done := make(chan struct{})
		var wg sync.WaitGroup
		for w := 0; w < 4; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				for i := 0; ; i++ {
					select {
					case <-done:
						return
					default:
					}
					var req *http.Request
					if w == 0 { // one writer: new insured people, sealed under whatever version is current
						imm := fmt.Sprintf("7%08d", i)
						body, _ := json.Marshal(map[string]any{"immatriculation": imm, "cin": fmt.Sprintf("ZZ%06d", i), "nom": "Rotation", "prenom": "Test",
							"date_affiliation": "2024-01-01", "emplois": []any{map[string]any{"affiliation": aff, "depuis": "2024-01-01", "etat": "validee"}}})
						req, _ = http.NewRequest("POST", url+"/api/v1/employees", bytes.NewReader(body))
						req.Header.Set("Content-Type", "application/json")
					} else {
						req, _ = http.NewRequest("GET", url+"/api/v1/employees/"+rows[(i*7+w)%len(rows)][0], nil)
					}
					apiHeaders(req, token)
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						fail(err.Error())
						continue
					}
					resp.Body.Close()
					switch {
					case w == 0 && resp.StatusCode == 201:
						writes.Add(1)
					case w != 0 && resp.StatusCode == 200:
						reads.Add(1)
					default:
						fail(fmt.Sprintf("%s %s: %d", req.Method, req.URL.Path, resp.StatusCode))
					}
				}
			}(w)
		}
		time.Sleep(300 * time.Millisecond)
		out := mustRun(t, "keys", "rotate", "--data", data, "--settle", "4s")
		time.Sleep(300 * time.Millisecond)
		close(done)
		wg.Wait()
		t.Logf("during rotation: %d reads, %d writes, %d failures; %s", reads.Load(), writes.Load(), failures.Load(), strings.TrimSpace(out))
		if failures.Load() > 0 {
			t.Fatalf("%d requests failed during rotation, the first: %v\n%s", failures.Load(), firstFailure.Load(), logs.String())
		}
		if reads.Load() < 50 || writes.Load() < 5 {
			t.Fatalf("the storm was too light to prove anything: %d reads, %d writes", reads.Load(), writes.Load())
		}
		if !strings.Contains(out, "version 2 is current") {
			t.Fatalf("rotate: %s", out)
		}
		// Writes made after the rotation finished are sealed under version 2 too (the server refreshed).
		st := status(t, data)
		if len(st.Versions) != 2 || st.Versions[0].DataKeys != 0 || !st.Versions[1].Current || st.Versions[1].DataKeys < int64(320)+writes.Load() {
			t.Fatalf("after rotation: %+v", st)
		}
		mustRun(t, "keys", "retire", "1", "--data", data)
		if st := status(t, data); len(st.Versions) != 1 || st.Versions[0].Version != 2 {
			t.Fatalf("after retire: %+v", st)
		}
		// A fresh process, which holds version 2 only, reads old and new records.
		mustRun(t, "employee", "show", "--data", data, "--imm", rows[0][0])
		mustRun(t, "employee", "show", "--data", data, "--imm", "700000000")
		if code := stop(); code != 0 {
			t.Fatalf("serve exited %d", code)
		}
	})
}

// TestEraseOnTheCLI: amane erase makes the person unreadable and leaves the others.
func TestEraseOnTheCLI(t *testing.T) {
	eachStore(t, func(t *testing.T, kind string) {
		t.Setenv("AMANE_PASSPHRASE", "a test passphrase, long enough")
		data, csvDir, _ := newDataDir(t, kind, 3, 30)
		rows := readCSV(t, filepath.Join(csvDir, "SALARIES.csv"))
		if code, _, errOut := amaneCLI(t, "erase", "--data", data, "--imm", rows[1][0]); code != 2 || !strings.Contains(errOut, "--reason") {
			t.Fatalf("erase without a reason: exit %d %s", code, errOut)
		}
		out := mustRun(t, "erase", "--data", data, "--imm", rows[1][0], "--reason", "retention limit (law 09-08 art. 8)")
		if !strings.Contains(out, "Erased insured person #") {
			t.Fatalf("erase: %s", out)
		}
		if code, _, errOut := amaneCLI(t, "employee", "show", "--data", data, "--imm", rows[1][0]); code != 1 || !strings.Contains(strings.ToLower(errOut), "not found") {
			t.Fatalf("erased person: exit %d %s", code, errOut)
		}
		var e struct{ Nom string }
		json.Unmarshal([]byte(mustRun(t, "employee", "show", "--data", data, "--imm", rows[2][0])), &e)
		if e.Nom != rows[2][3] {
			t.Fatalf("another person reads %q, want %q", e.Nom, rows[2][3])
		}
	})
}

// TestNoPersonalDataInPostgres loads a synthetic registry into PostgreSQL, serves it, and scans a
// pg_dump of the database and the server's log for every personal value of the CSV files.
func TestNoPersonalDataInPostgres(t *testing.T) {
	pgDump, err := exec.LookPath("pg_dump")
	if err != nil {
		t.Skip("pg_dump not found: apt-get install postgresql-client")
	}
	t.Setenv("AMANE_PASSPHRASE", "a test passphrase, long enough")
	data, csvDir, token := newDataDir(t, "postgres", 200, 2000)
	values := personalValues(t, csvDir)
	rows := readCSV(t, filepath.Join(csvDir, "SALARIES.csv"))
	url, _, logs, stop := background(t, []string{"serve", "--data", data, "--addr", "127.0.0.1:0"}, urlRE)
	for _, r := range rows[1:50] {
		req, _ := http.NewRequest("GET", url+"/api/v1/employees/"+r[0], nil)
		apiHeaders(req, token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("GET: %v %v", err, resp)
		}
		resp.Body.Close()
	}
	stop()
	var cfg config
	raw, err := os.ReadFile(filepath.Join(data, configFile))
	if err != nil {
		t.Fatal(err)
	}
	json.Unmarshal(raw, &cfg)
	u, err := neturl.Parse(cfg.DB)
	if err != nil {
		t.Fatal(err)
	}
	schema := u.Query().Get("search_path")
	// This registry's schema only: the test database also holds the other tests' schemas, whose
	// ciphertext would only add chance matches of short names in random bytes.
	dump, err := exec.Command(pgDump, "--no-owner", "--schema", schema, "--dbname", strings.Split(cfg.DB, "?")[0]).Output()
	if err != nil {
		t.Fatalf("pg_dump: %v", err)
	}
	if !bytes.Contains(dump, []byte("COPY "+schema+".employees ")) || !bytes.Contains(dump, []byte("COPY "+schema+".data_keys ")) {
		t.Fatalf("the dump (%d bytes) lacks the registry's tables (schema %s):\n%.2000s", len(dump), schema, dump)
	}
	// bytea columns come out as hex: a 9-digit number or a short name made of a–f letters matches
	// hex text by chance. Scan the text with the hex taken out, and the decoded bytes apart — where
	// plaintext stored in a bytea column would show.
	text, blobs := splitHex(dump)
	if len(blobs) < len(dump)/4 {
		t.Fatalf("only %d bytes of bytea decoded from a %d-byte dump", len(blobs), len(dump))
	}
	scan(t, "pg_dump (text)", text, values)
	scan(t, "pg_dump (bytea values)", blobs, values)
	scan(t, "the server log", []byte(logs.String()), values)
	scanDir(t, data, values)
}

// TestReindexOnTheCLI: amane keys reindex moves every blind index to a new key; lookups by
// immatriculation and CIN still find the same people in a fresh process, and a reindex on top of
// that works again.
func TestReindexOnTheCLI(t *testing.T) {
	eachStore(t, func(t *testing.T, kind string) {
		t.Setenv("AMANE_PASSPHRASE", "a test passphrase, long enough")
		data, csvDir, _ := newDataDir(t, kind, 5, 100)
		rows := readCSV(t, filepath.Join(csvDir, "SALARIES.csv"))
		before := mustRun(t, "employee", "show", "--data", data, "--imm", rows[5][0])
		// A declaration: its figures are sealed under the index key, and must read after a reindex.
		aff := readCSV(t, filepath.Join(csvDir, "ADHERENTS.csv"))[1][0]
		dir := t.TempDir()
		pre := filepath.Join(dir, "pre.txt")
		mustRun(t, "preetabli", "--data", data, "--affiliation", aff, "--period", "202609", "--out", pre)
		raw, err := os.ReadFile(pre)
		if err != nil {
			t.Fatal(err)
		}
		p, err := damancom.DecodePreetabli(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		dd := damancom.PreetabliToDeclaration(p)
		for i := range dd.Lines {
			dd.Lines[i].Days, dd.Lines[i].RealSalary, dd.Lines[i].CappedSalary = 26, 400000, 400000
		}
		var file bytes.Buffer
		if err := dd.Encode(&file); err != nil {
			t.Fatal(err)
		}
		ds := filepath.Join(dir, damancom.DeclarationName(aff, "202609"))
		if err := os.WriteFile(ds, file.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
		mustRun(t, "declare", "--data", data, ds)
		declared := mustRun(t, "declaration", "show", "--data", data, "--affiliation", aff, "--period", "202609")
		for v := 2; v <= 3; v++ {
			out := mustRun(t, "keys", "reindex", "--data", data)
			if !strings.Contains(out, fmt.Sprintf("Reindexed 105 records under blind-index key version %d", v)) {
				t.Fatalf("reindex: %s", out)
			}
			if after := mustRun(t, "employee", "show", "--data", data, "--imm", rows[5][0]); after != before {
				t.Fatalf("after reindex %d the record reads\n%s\nnot\n%s", v, after, before)
			}
			if after := mustRun(t, "declaration", "show", "--data", data, "--affiliation", aff, "--period", "202609"); after != declared {
				t.Fatalf("after reindex %d the declaration reads\n%s\nnot\n%s", v, after, declared)
			}
			cin := rows[7][1]
			if cin == "" {
				continue
			}
			var e struct{ Immatriculation string }
			json.Unmarshal([]byte(mustRun(t, "employee", "show", "--data", data, "--cin", cin)), &e)
			if e.Immatriculation != rows[7][0] {
				t.Fatalf("by CIN after reindex %d: %+v", v, e)
			}
		}
	})
}

var hexLiteral = regexp.MustCompile(`\\\\x([0-9a-f]+)`) // COPY text writes bytea as \\x…

// splitHex returns a pg_dump with every bytea hex literal removed, and those literals decoded, each
// followed by a NUL so that values do not run across two.
func splitHex(dump []byte) (text, blobs []byte) {
	text = hexLiteral.ReplaceAllFunc(dump, func(m []byte) []byte {
		b, err := hex.DecodeString(string(m[3:]))
		if err == nil {
			blobs = append(append(blobs, b...), 0)
		}
		return []byte("<bytea>")
	})
	return text, blobs
}
