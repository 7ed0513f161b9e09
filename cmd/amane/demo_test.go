package main

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestDemo runs `amane demo` twice on one directory: the first run builds and serves the synthetic
// registry (a smaller one than the command's), the second reuses it; both print a URL and a token
// that work.
func TestDemo(t *testing.T) {
	// The same build at a tenth of the size: 200 employers, 2,000 people, 12 months of declarations.
	defer func(e, p int) { demoEmployers, demoEmployees = e, p }(demoEmployers, demoEmployees)
	demoEmployers, demoEmployees = 200, 2000
	dir := filepath.Join(t.TempDir(), "demo")
	for i, want := range []string{"Building the demo registry", ""} {
		url, stdout, stderr, stop := background(t, []string{"demo", "--data", dir, "--addr", "127.0.0.1:0"}, demoURLRE)
		token := tokenRE.FindString(stdout.String())
		if !strings.Contains(stdout.String(), "DEMO ONLY") || token == "" {
			t.Fatalf("run %d printed:\n%s", i+1, stdout.String())
		}
		if built := strings.Contains(stdout.String(), "Building the demo registry"); built != (want != "") {
			t.Fatalf("run %d: built=%v\n%s", i+1, built, stdout.String())
		}
		req, _ := http.NewRequest("GET", url+"/api/v1/employees?name=alaoui", nil)
		apiHeaders(req, token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var list struct{ Salaries []map[string]any }
		json.NewDecoder(resp.Body).Decode(&list)
		resp.Body.Close()
		if resp.StatusCode != 200 || len(list.Salaries) == 0 {
			t.Fatalf("run %d: search answered %d with %d people", i+1, resp.StatusCode, len(list.Salaries))
		}
		if code := stop(); code != 0 {
			t.Fatalf("demo exited %d: %s", code, stderr.String())
		}
	}
	if fi, err := os.Stat(filepath.Join(dir, demoPassFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("demo passphrase file: %v %v", fi, err)
	}
}

var demoURLRE = regexp.MustCompile(`URL: +(http://127\.0\.0\.1:[0-9]+)`)
