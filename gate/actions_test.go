package gate_test

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"amane"
	"amane/amanetest"
	"amane/sentinel"
)

// TestJournaledActionsAreKnown: every action the gate journals is one of amane.Actions, and the
// sentinel knows each (its class replays; or it is one of the journal's own views, which it does
// not watch). The issue that built the one list found the sentinel matching "export", an action the
// gate did not emit; with one list, an action the gate journals and the sentinel does not know, or
// the other way round (sentinel's TestActionsShared), fails here.
//
// "Journals" is read in the gate's source: every expression that sets the action of a decision or of
// an entry — begin's and refuseOutsideBegin's argument, an assignment to d.action, an `action:` or
// `Action:` field — must be a constant whose value (through the gate's short names, to amane's
// constants) is listed. The one place an action arrives as a string, Refuse (from the web layer), is
// checked at run time: an unlisted word is refused, journaling nothing.
func TestJournaledActionsAreKnown(t *testing.T) {
	fset := token.NewFileSet()
	gateFiles := parseGo(t, fset, ".")
	consts := map[string]ast.Expr{}   // the gate's constants: name → value expression
	rootConsts := map[string]string{} // amane's string constants: name → value
	for _, f := range parseGo(t, fset, "..") {
		eachConst(f, func(name string, v ast.Expr) {
			if lit, ok := v.(*ast.BasicLit); ok && lit.Kind == token.STRING {
				rootConsts[name], _ = strconv.Unquote(lit.Value)
			}
		})
	}
	for _, f := range gateFiles {
		eachConst(f, func(name string, v ast.Expr) { consts[name] = v })
	}
	var resolve func(e ast.Expr) (string, bool)
	resolve = func(e ast.Expr) (string, bool) {
		switch e := e.(type) {
		case *ast.Ident:
			if v, ok := consts[e.Name]; ok {
				return resolve(v)
			}
		case *ast.SelectorExpr:
			if x, ok := e.X.(*ast.Ident); ok && x.Name == "amane" {
				v, ok := rootConsts[e.Sel.Name]
				return v, ok
			}
		case *ast.CallExpr: // a conversion: string(amane.ActionX)
			if len(e.Args) == 1 {
				return resolve(e.Args[0])
			}
		}
		return "", false
	}

	journaled := map[string]bool{}
	sites := 0
	for _, f := range gateFiles {
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Body == nil {
				continue
			}
			params := map[string]bool{}
			for _, fld := range fn.Type.Params.List {
				for _, n := range fld.Names {
					params[n.Name] = true
				}
			}
			check := func(e ast.Expr) {
				sites++
				pos := fset.Position(e.Pos())
				if id, ok := e.(*ast.Ident); ok && params[id.Name] {
					return // a parameter passed through: its callers are checked
				}
				if sel, ok := e.(*ast.SelectorExpr); ok && sel.Sel.Name == "action" {
					return // the decision's action (d.action): where it is set is checked
				}
				if call, ok := e.(*ast.CallExpr); ok && fn.Name.Name == "Refuse" {
					if sel, ok := call.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "Action" && len(call.Args) == 1 {
						if id, ok := call.Args[0].(*ast.Ident); ok && params[id.Name] {
							return // the web layer's word: checked at run time below
						}
					}
				}
				v, ok := resolve(e)
				if !ok {
					t.Errorf("%s: the action journaled here is not a constant of the gate or of amane", pos)
					return
				}
				journaled[v] = true
				if !slices.Contains(amane.Actions, amane.Action(v)) {
					t.Errorf("%s: the gate journals the action %q, which is not in amane.Actions", pos, v)
				}
			}
			ast.Inspect(fn.Body, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.CallExpr:
					if sel, ok := n.Fun.(*ast.SelectorExpr); ok {
						switch {
						case sel.Sel.Name == "begin" && len(n.Args) == 2:
							check(n.Args[1])
						case sel.Sel.Name == "refuseOutsideBegin" && len(n.Args) == 5:
							check(n.Args[2])
						}
					}
				case *ast.AssignStmt:
					for i, l := range n.Lhs {
						if sel, ok := l.(*ast.SelectorExpr); ok && sel.Sel.Name == "action" && i < len(n.Rhs) {
							check(n.Rhs[i])
						}
					}
				case *ast.KeyValueExpr:
					if k, ok := n.Key.(*ast.Ident); ok && (k.Name == "action" || k.Name == "Action") {
						check(n.Value)
					}
				}
				return true
			})
		}
	}
	if sites < 30 {
		t.Fatalf("found only %d places that set an action: the walk is broken", sites)
	}
	for _, a := range []amane.Action{amane.ActionRead, amane.ActionReveal, amane.ActionExport, amane.ActionAttest,
		amane.ActionDeclare, amane.ActionValidateEmployment, amane.ActionSentinel, amane.ActionJournal} {
		if !journaled[string(a)] {
			t.Errorf("the walk did not find the gate journaling %q", a)
		}
	}

	// Each action the gate journals reaches the sentinel as an event its replay accepts, or not at
	// all (the journal's own views).
	at := time.Date(2026, 3, 2, 9, 15, 4, 0, time.UTC)
	for v := range journaled {
		a := amane.Action(v)
		ev, ok := sentinel.EventOf(&amane.AccessEvent{Principal: "account/1", Action: a, Outcome: amane.OutcomeAllowed},
			at, "agent", "A", "A")
		if !ok {
			continue
		}
		b, _ := json.Marshal(ev)
		if _, err := sentinel.DecodeEvent(b); err != nil {
			t.Errorf("the gate journals %q; the sentinel's event of it does not replay: %v", a, err)
		}
	}

	// Refuse: the web layer's listed words are journaled, an unlisted one refused.
	r := amanetest.Open(t)
	agent := amanetest.As(&amane.Principal{ID: "account/7", Role: amane.RoleAgent, Agency: "AGADIR"})
	for _, a := range []amane.Action{amane.ActionRoute, amane.ActionPage, amane.ActionMetrics, amane.ActionAuthenticate, amane.ActionAttest} {
		if err := r.Gate.Refuse(agent, string(a), "", "refused (GET /x)"); err != nil {
			t.Errorf("Refuse %q: %v", a, err)
		}
	}
	if err := r.Gate.Refuse(agent, "probe", "", "refused (GET /x)"); amane.ErrorCode(err) != amane.EINVALID {
		t.Errorf("Refuse of an unlisted action: %v, want EINVALID", err)
	}
}

// parseGo parses the non-test Go files of dir.
func parseGo(t *testing.T, fset *token.FileSet, dir string) []*ast.File {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	var out []*ast.File
	for _, n := range names {
		if strings.HasSuffix(n, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, n, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, f)
	}
	return out
}

// eachConst calls fn for each named constant of f declared with a value.
func eachConst(f *ast.File, fn func(name string, v ast.Expr)) {
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, s := range g.Specs {
			vs := s.(*ast.ValueSpec)
			for i, n := range vs.Names {
				if i < len(vs.Values) {
					fn(n.Name, vs.Values[i])
				}
			}
		}
	}
}
