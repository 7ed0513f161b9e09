package gate_test

import (
	"fmt"
	"go/token"
	"go/types"
	"slices"
	"testing"

	"amane/internal/graphtest"
)

// The rules below are checked on the import graph (`go list -deps`) and on resolved types (go/types),
// not on the names written in the source: an import renamed, an alias (type O = vault.Opener), a
// method value kept in a variable or a function handing out the opener are all seen for what they
// denote.

const (
	vaultPath    = "amane/vault"
	gatePath     = "amane/gate"
	benchPath    = "amane/bench"
	baselinePath = "amane/bench/internal/baseline"
)

// loadGraph lists every package of the module with its dependencies and export data.
func loadGraph(t *testing.T) *graphtest.Graph {
	t.Helper()
	g, err := graphtest.Load("..", "./...")
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// capability is a set of vault objects a package may reach only with leave: the opening API (the
// Opener type, its methods, NewOpener), or the constructor of vaults over other primitives.
type capability struct {
	types []*types.TypeName // using the type, or a method of it, or a value of it
	funcs []*types.Func
}

func openingAPI(t *testing.T, g *graphtest.Graph) capability {
	t.Helper()
	v, err := g.Import(vaultPath)
	if err != nil {
		t.Fatal(err)
	}
	opener, ok := v.Scope().Lookup("Opener").(*types.TypeName)
	newOpener, ok2 := v.Scope().Lookup("NewOpener").(*types.Func)
	if !ok || !ok2 {
		t.Fatal("vault has no Opener type or NewOpener function: the check must follow them")
	}
	return capability{types: []*types.TypeName{opener}, funcs: []*types.Func{newOpener}}
}

// reaches lists where a type-checked package reaches c, on resolved objects and types: a use of one
// of its functions; a use of one of its types under any name (an alias resolves to it); a method whose
// receiver is one of its types (a call, a method value, a method expression); any expression whose
// type is, or points to, one of its types (a value handed out by another package).
func (c capability) reaches(fset *token.FileSet, info *types.Info) []string {
	seen := map[token.Pos]string{}
	note := func(pos token.Pos, what string) {
		if _, ok := seen[pos]; !ok {
			seen[pos] = fmt.Sprintf("%s: %s", fset.Position(pos), what)
		}
	}
	isCap := func(t types.Type) bool {
		t = types.Unalias(t)
		if p, ok := t.(*types.Pointer); ok {
			t = types.Unalias(p.Elem())
		}
		n, ok := t.(*types.Named)
		return ok && slices.Contains(c.types, n.Origin().Obj())
	}
	for id, obj := range info.Uses {
		switch o := obj.(type) {
		case *types.Func:
			if slices.Contains(c.funcs, o) {
				note(id.Pos(), "uses "+o.FullName())
			} else if recv := o.Signature().Recv(); recv != nil && isCap(recv.Type()) {
				note(id.Pos(), "uses method "+o.FullName())
			}
		case *types.TypeName:
			if isCap(o.Type()) {
				note(id.Pos(), "names type "+types.TypeString(types.Unalias(o.Type()), nil)+" as "+o.Name())
			}
		}
	}
	for e, tv := range info.Types {
		if tv.IsType() {
			continue // a type expression is a use, seen above
		}
		if isCap(tv.Type) {
			note(e.Pos(), "holds a value of type "+types.TypeString(tv.Type, nil))
		}
	}
	out := make([]string, 0, len(seen))
	for _, s := range seen {
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

// TestOnlyGateOpens fails if a non-test package other than gate (and vault itself) reaches the vault's
// opening API: the one door must stay the only door. Every package of the module that depends on the
// vault (`go list -deps`: no other can reach it) is type-checked, and its resolved identifiers and
// expressions are searched for the Opener, its methods and NewOpener.
func TestOnlyGateOpens(t *testing.T) {
	g := loadGraph(t)
	api := openingAPI(t, g)
	checked := 0
	for _, p := range g.Module() {
		if p.ImportPath == vaultPath || !p.DependsOn(vaultPath) {
			continue
		}
		_, info, err := g.Check(p.ImportPath)
		if err != nil {
			t.Fatalf("%s: %v", p.ImportPath, err)
		}
		checked++
		found := api.reaches(g.Fset, info)
		if p.ImportPath == gatePath {
			if len(found) == 0 { // the gate opens: a checker that does not see it sees nothing
				t.Error("the check finds no use of the opener in package gate itself: it is broken")
			}
			continue
		}
		for _, f := range found {
			t.Errorf("%s reaches the vault's opening API (only package gate may): %s", p.ImportPath, f)
		}
	}
	if checked < 10 {
		t.Fatalf("checked only %d packages depending on the vault: the listing is broken", checked)
	}

	// The gate hands the opener to nobody: no exported function, method, field or variable of gate
	// mentions it (a package that got one could open without naming the vault).
	gp, err := g.Import(gatePath)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range exportedMentions(gp, api.types) {
		t.Errorf("package gate exports the opener: %s", s)
	}
}

// TestOnlyGateOpensCatchesAliases proves the check on scratch packages: each hides the opener in
// another way, and each must be caught; a package that only seals must not be.
func TestOnlyGateOpensCatchesAliases(t *testing.T) {
	g := loadGraph(t)
	api := openingAPI(t, g)
	for _, tc := range []struct {
		name string
		src  string
		want bool
	}{
		{"Alias", `package scratch
import v "amane/vault"
type O = v.Opener
func Open(o *O, k *v.DataKey, ct []byte) (string, error) { return o.Open(k, "nom", ct) }`, true},
		{"MethodValue", `package scratch
import "amane/vault"
var open func(*vault.DataKey, string, []byte) (string, error)
func Keep(vv *vault.Vault) { open = vault.NewOpener(vv).Open }`, true},
		{"MethodExpression", `package scratch
import "amane/vault"
var open = (*vault.Opener).Open`, true},
		{"DefinedType", `package scratch
import "amane/vault"
type O vault.Opener
var _ *O`, true},
		{"SealOnly", `package scratch
import "amane/vault"
func Seal(vv *vault.Vault) ([]byte, error) {
	k, _, _, err := vv.NewDataKey("employee/1")
	if err != nil {
		return nil, err
	}
	return k.Seal("nom", "x")
}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, info, err := g.CheckSource("scratch", map[string]string{"scratch.go": tc.src})
			if err != nil {
				t.Fatal(err)
			}
			found := api.reaches(g.Fset, info)
			if (len(found) > 0) != tc.want {
				t.Fatalf("found %q, want found = %v", found, tc.want)
			}
		})
	}

	// An alias declared in one package and used from another that never imports the vault.
	t.Run("AliasElsewhere", func(t *testing.T) {
		a, _, err := g.CheckSource("scratch/a", map[string]string{"a.go": `package a
import "amane/vault"
type O = vault.Opener
func Get(v *vault.Vault) *O { return vault.NewOpener(v) }`})
		if err != nil {
			t.Fatal(err)
		}
		_, info, err := g.CheckSource("scratch/b", map[string]string{"b.go": `package b
import "scratch/a"
var o *a.O
var open = o.Open`}, a)
		if err != nil {
			t.Fatal(err)
		}
		if found := api.reaches(g.Fset, info); len(found) == 0 {
			t.Fatal("an alias from another package gets past the check")
		}
		if s := exportedMentions(a, api.types); len(s) == 0 {
			t.Fatal("a package exporting the opener gets past the check")
		}
	})
}

// exportedMentions lists the exported objects of pkg whose types mention one of ts: functions and
// methods (parameters and results), variables, constants, fields of exported struct types, and
// aliases. A defined type is not followed into its unexported fields (the gate holds its opener
// there).
func exportedMentions(pkg *types.Package, ts []*types.TypeName) []string {
	var out []string
	check := func(where string, t types.Type) {
		if mentions(t, ts, map[types.Type]bool{}) {
			out = append(out, where+": "+types.TypeString(t, nil))
		}
	}
	scope := pkg.Scope()
	for _, name := range scope.Names() {
		obj := scope.Lookup(name)
		if !obj.Exported() {
			continue
		}
		switch o := obj.(type) {
		case *types.Func, *types.Var, *types.Const:
			check(pkg.Path()+"."+name, o.Type())
		case *types.TypeName:
			if o.IsAlias() {
				check(pkg.Path()+"."+name, o.Type())
				continue
			}
			n, ok := o.Type().(*types.Named)
			if !ok {
				continue
			}
			if st, ok := n.Underlying().(*types.Struct); ok {
				for i := range st.NumFields() {
					if f := st.Field(i); f.Exported() {
						check(pkg.Path()+"."+name+"."+f.Name(), f.Type())
					}
				}
			}
			if it, ok := n.Underlying().(*types.Interface); ok {
				for i := range it.NumMethods() {
					check(pkg.Path()+"."+name+"."+it.Method(i).Name(), it.Method(i).Type())
				}
			}
			for i := range n.NumMethods() {
				if m := n.Method(i); m.Exported() {
					check(m.FullName(), m.Type())
				}
			}
		}
	}
	return out
}

// mentions reports whether t is, or is built from, one of ts: through pointers, slices, arrays, maps,
// channels, function signatures, struct literals and interfaces, but not into a defined type's own
// fields.
func mentions(t types.Type, ts []*types.TypeName, seen map[types.Type]bool) bool {
	if seen[t] {
		return false
	}
	seen[t] = true
	switch t := t.(type) {
	case *types.Alias:
		return mentions(types.Unalias(t), ts, seen)
	case *types.Named:
		if slices.Contains(ts, t.Origin().Obj()) {
			return true
		}
		for i := range t.TypeArgs().Len() {
			if mentions(t.TypeArgs().At(i), ts, seen) {
				return true
			}
		}
		return false
	case *types.Pointer:
		return mentions(t.Elem(), ts, seen)
	case *types.Slice:
		return mentions(t.Elem(), ts, seen)
	case *types.Array:
		return mentions(t.Elem(), ts, seen)
	case *types.Chan:
		return mentions(t.Elem(), ts, seen)
	case *types.Map:
		return mentions(t.Key(), ts, seen) || mentions(t.Elem(), ts, seen)
	case *types.Signature:
		for _, tup := range []*types.Tuple{t.Params(), t.Results()} {
			for i := range tup.Len() {
				if mentions(tup.At(i).Type(), ts, seen) {
					return true
				}
			}
		}
		return false
	case *types.Struct:
		for i := range t.NumFields() {
			if mentions(t.Field(i).Type(), ts, seen) {
				return true
			}
		}
		return false
	case *types.Interface:
		for i := range t.NumMethods() {
			if mentions(t.Method(i).Type(), ts, seen) {
				return true
			}
		}
		return false
	}
	return false
}

// TestBaselineOnlyInBench: `amane serve` can never build a gate that journals nothing or a vault that
// seals nothing. Neither holds a switch any more; the benchmark's baselines are injected from
// bench/internal/baseline, and this test checks that they stay there:
//   - on the import graph, the only packages that reach baseline are bench and the commands that
//     import bench (the benchmark command); no library package (gate, vault, web, the stores…) does;
//   - on resolved types, the only non-test package that calls vault.NewWithPrimitives (a vault over
//     other primitives) is baseline (vault's own New aside);
//   - bench exports nothing that hands a *gate.Gate, a *vault.Vault or a gate.Journal to its caller,
//     so the command that runs the benchmark cannot take its baselines for serving.
func TestBaselineOnlyInBench(t *testing.T) {
	g := loadGraph(t)
	if g.Package(baselinePath) == nil {
		t.Fatalf("%s is not listed: the check must follow it", baselinePath)
	}
	t.Run("ImportGraph", func(t *testing.T) {
		reached := 0
		for _, p := range g.Module() {
			if p.ImportPath == baselinePath || !p.DependsOn(baselinePath) {
				continue
			}
			reached++
			switch {
			case p.ImportPath == benchPath:
			case p.Name == "main" && slices.Contains(p.Imports, benchPath):
			default:
				t.Errorf("%s reaches %s: only bench and the command running it may", p.ImportPath, baselinePath)
			}
			if p.ImportPath != benchPath && slices.Contains(p.Imports, baselinePath) {
				t.Errorf("%s imports %s directly", p.ImportPath, baselinePath)
			}
		}
		if reached == 0 {
			t.Fatal("nothing reaches the baseline, not even bench: the listing is broken")
		}
	})
	t.Run("NewWithPrimitives", func(t *testing.T) {
		v, err := g.Import(vaultPath)
		if err != nil {
			t.Fatal(err)
		}
		ctor, ok := v.Scope().Lookup("NewWithPrimitives").(*types.Func)
		if !ok {
			t.Fatal("vault has no NewWithPrimitives: the check must follow it")
		}
		c := capability{funcs: []*types.Func{ctor}}
		sawBaseline := false
		for _, p := range g.Module() {
			if p.ImportPath == vaultPath || !p.DependsOn(vaultPath) {
				continue
			}
			_, info, err := g.Check(p.ImportPath)
			if err != nil {
				t.Fatalf("%s: %v", p.ImportPath, err)
			}
			found := c.reaches(g.Fset, info)
			if p.ImportPath == baselinePath {
				sawBaseline = len(found) > 0
				continue
			}
			for _, f := range found {
				t.Errorf("%s builds a vault over other primitives (only %s may): %s", p.ImportPath, baselinePath, f)
			}
		}
		if !sawBaseline {
			t.Fatal("the check does not see baseline's own call: it is broken")
		}
	})
	t.Run("BenchExportsNoGate", func(t *testing.T) {
		var ts []*types.TypeName
		for _, ref := range []struct{ pkg, name string }{{gatePath, "Gate"}, {gatePath, "Journal"}, {vaultPath, "Vault"}} {
			p, err := g.Import(ref.pkg)
			if err != nil {
				t.Fatal(err)
			}
			tn, ok := p.Scope().Lookup(ref.name).(*types.TypeName)
			if !ok {
				t.Fatalf("%s.%s not found", ref.pkg, ref.name)
			}
			ts = append(ts, tn)
		}
		b, err := g.Import(benchPath)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range exportedMentions(b, ts) {
			t.Errorf("bench hands out a gate, a journal or a vault: %s", s)
		}
	})
}
