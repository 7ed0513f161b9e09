package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// TestProductionBinaryDeps lists what the production binary links (`go list -deps amane/cmd/amane`)
// and fails if it holds the benchmarks (amane/bench, cmd/amane-bench), the headless browser driver
// they use (github.com/chromedp/…), or a test tool: the standard library's testing packages, or a
// package of this module that imports "testing" outside its tests (storetest, amanetest, pgtest, …).
func TestProductionBinaryDeps(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go tool is needed to list the binary's packages: %v", err)
	}
	// The module's test tools: packages whose own (non-test) files import "testing".
	testTools := map[string]bool{}
	imports := mustOutput(t, goTool, "list", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, "amane/...")
	for _, line := range strings.Split(strings.TrimSpace(string(imports)), "\n") {
		f := strings.Fields(line)
		for _, imp := range f[1:] {
			if imp == "testing" {
				testTools[f[0]] = true
			}
		}
	}
	if !testTools["amane/storetest"] || !testTools["amane/postgres/pgtest"] {
		t.Fatalf("the module's test tools were not recognised (want at least storetest and pgtest): %v", testTools)
	}

	deps := strings.Fields(string(mustOutput(t, goTool, "list", "-deps", "amane/cmd/amane")))
	if len(deps) < 50 || !contains(deps, "amane/gate") || !contains(deps, "github.com/jackc/pgx/v5") {
		t.Fatalf("go list -deps amane/cmd/amane gave %d packages, without the gate or pgx: the listing is not the binary's", len(deps))
	}
	for _, p := range deps {
		switch {
		case strings.HasPrefix(p, "github.com/chromedp/"):
			t.Errorf("the production binary links %s (the browser driver belongs to cmd/amane-bench and the web tests)", p)
		case p == "amane/bench" || strings.HasPrefix(p, "amane/bench/") || p == "amane/cmd/amane-bench":
			t.Errorf("the production binary links %s (the benchmarks are cmd/amane-bench)", p)
		case p == "testing" || strings.HasPrefix(p, "testing/") || p == "net/http/httptest":
			t.Errorf("the production binary links the test package %s", p)
		case testTools[p]:
			t.Errorf("the production binary links the test tool %s", p)
		}
	}
}

func mustOutput(t *testing.T, name string, args ...string) []byte {
	t.Helper()
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr)
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestBenchMovedOut: `amane bench …` says in one line where the benchmarks are, and exits 2 like
// an unknown command.
func TestBenchMovedOut(t *testing.T) {
	for _, args := range [][]string{{"bench"}, {"bench", "gate", "--rounds", "1"}} {
		code, out, errOut := amaneCLI(t, args...)
		if code != 2 || out != "" {
			t.Errorf("amane %s: exit %d, stdout %q; want 2 and nothing", strings.Join(args, " "), code, out)
		}
		if strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, "go run ./cmd/amane-bench") {
			t.Errorf("amane %s: stderr %q; want one line naming cmd/amane-bench", strings.Join(args, " "), errOut)
		}
	}
}

// TestHelpListsEveryCommand: every command run dispatches (the cases of its switch, in main.go) is
// in `amane help`, and the help names no command that run does not know.
func TestHelpListsEveryCommand(t *testing.T) {
	code, help, _ := amaneCLI(t, "help")
	if code != 0 {
		t.Fatalf("amane help: exit %d", code)
	}
	f, err := parser.ParseFile(token.NewFileSet(), "main.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	commands := map[string]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		fd, ok := n.(*ast.FuncDecl)
		if !ok || fd.Name.Name != "run" {
			return true
		}
		ast.Inspect(fd.Body, func(n ast.Node) bool {
			if cc, ok := n.(*ast.CaseClause); ok {
				for _, e := range cc.List {
					if lit, ok := e.(*ast.BasicLit); ok && lit.Kind == token.STRING {
						name, _ := strconv.Unquote(lit.Value)
						commands[name] = true
					}
				}
			}
			return true
		})
		return false
	})
	if len(commands) < 20 {
		t.Fatalf("found %d commands in run's switch; the test no longer reads it", len(commands))
	}
	for name := range commands {
		switch name {
		case "help", "-h", "--help", "bench": // bench only says where the benchmarks went
			continue
		}
		if !strings.Contains(help, "  amane "+name+" ") {
			t.Errorf("amane help does not list the command %q", name)
		}
	}
	for _, line := range strings.Split(help, "\n") {
		if rest, ok := strings.CutPrefix(line, "  amane "); ok {
			if name, _, _ := strings.Cut(rest, " "); !commands[name] {
				t.Errorf("amane help lists %q, which run does not know", name)
			}
		}
	}
}
