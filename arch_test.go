package amane_test

import (
	"bytes"
	"encoding/json"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"amane"
)

// maxMethods is the most methods a root interface may have, embedded ones counted: each consumer
// takes the few services it uses (issue 13).
const maxMethods = 12

// TestStoreServicesAreSmall type-checks the root package's own files and fails for every interface
// with more than maxMethods methods, embedded interfaces' methods counted: the store services and the
// registry's (the 20-method Registry became EmployerService, EmployeeService, Declarations, Pager and
// AccessLogService; web composes the ones it serves as web.Registry).
func TestStoreServicesAreSmall(t *testing.T) {
	pkg, _, _ := typeCheck(t, "amane")
	if pkg.Scope().Lookup("Registry") != nil {
		t.Error("the root package declares Registry again: compose the services in the adapter that uses them (web.Registry)")
	}
	for _, want := range []string{"EmployerService", "EmployeeService", "Declarations", "Pager", "AccessLogService"} {
		if pkg.Scope().Lookup(want) == nil {
			t.Errorf("no interface %s in the root package", want)
		}
	}
	n := 0
	for _, name := range pkg.Scope().Names() {
		tn, ok := pkg.Scope().Lookup(name).(*types.TypeName)
		if !ok || tn.IsAlias() {
			continue
		}
		it, ok := tn.Type().Underlying().(*types.Interface)
		if !ok {
			continue
		}
		n++
		if c := it.NumMethods(); c > maxMethods {
			t.Errorf("amane.%s has %d methods, more than %d: split it into services sized to their consumers", name, c, maxMethods)
		}
	}
	if n < 10 {
		t.Fatalf("found only %d interfaces in the root package: the check is broken", n)
	}
}

// TestWebImportsNoStore: the web layer's whole import graph holds no store and no vault, so that no
// page or handler can open a store or a key except through what it is handed (the gate, and a
// SignInStore). web imports neither today, not even for a legitimate reason.
func TestWebImportsNoStore(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "amane/web").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	deps := strings.Fields(string(out))
	if !slices.Contains(deps, "amane") {
		t.Fatalf("go list -deps amane/web lists no amane: %q", deps)
	}
	for _, p := range []string{"amane/sqlite", "amane/postgres", "amane/vault"} {
		if slices.Contains(deps, p) {
			t.Errorf("amane/web depends on %s: the web reaches records only through the gate", p)
		}
	}
}

// TestNoStoreCiphertextOutsideTheGate type-checks the web layer and the CLI (their non-test files)
// and fails at every use of a method or function that takes or returns store-side records or wrapped
// keys, or that erases, dumps or restores: those go through the gate (or the backup package) only.
//
// The forbidden set is decided from the types, not from names of methods: a signature is forbidden
// when a parameter or a result can hold a store-side record, that is a root type named *Record (the
// form "as the store keeps it": ciphertext, blind indexes, see the package doc) or a WrappedKey,
// through pointers, slices, maps, struct fields (DumpItem, DataKey, DeclarationBatch…) or the
// methods of an interface (a Loader takes records). An alias or a type defined over a record has the
// same structure and is caught alike. Checked: every method of an interface (wherever it is declared:
// an anonymous interface or one of the package's own is no way around), and the methods and
// functions of amane, amane/sqlite and amane/postgres. A wrapper of the package's own that returns
// records calls one of these, and is caught there. The gate's own methods are the door and are not
// checked.
func TestNoStoreCiphertextOutsideTheGate(t *testing.T) {
	for _, path := range []string{"amane/web", "amane/cmd/amane"} {
		t.Run(path, func(t *testing.T) {
			_, files, info := typeCheck(t, path)
			fset := files[0].fset
			checked := 0
			for _, f := range files {
				ast.Inspect(f.file, func(n ast.Node) bool {
					sel, ok := n.(*ast.SelectorExpr)
					if !ok {
						return true
					}
					fn, ok := info.Uses[sel.Sel].(*types.Func)
					if !ok || !checkedFunc(fn) {
						return true
					}
					checked++
					if why := forbidden(fn); why != "" {
						t.Errorf("%s: %s%s: %s; only the gate may", fset.Position(sel.Pos()), describe(fn), fn.Name(), why)
					}
					return true
				})
			}
			if checked < 5 {
				t.Fatalf("checked only %d uses of store methods in %s: the walk is broken", checked, path)
			}
		})
	}
}

// TestStoreCiphertextCheckFails: the check of TestNoStoreCiphertextOutsideTheGate finds what it
// must, on the root's own methods: reading a record, taking one, starting a load, erasing, dumping.
// Reading accounts or employer ids is allowed.
func TestStoreCiphertextCheckFails(t *testing.T) {
	pkg, _, _ := typeCheck(t, "amane")
	method := func(iface, name string) *types.Func {
		obj, _, _ := types.LookupFieldOrMethod(pkg.Scope().Lookup(iface).Type(), true, pkg, name)
		if obj == nil {
			t.Fatalf("amane.%s has no method %s", iface, name)
		}
		return obj.(*types.Func)
	}
	for _, m := range [][2]string{{"EmployerStore", "EmployerByAffiliation"}, {"EmployeeStore", "EmployeesByCINIndex"},
		{"EmployerStore", "UpdateEmployer"}, {"LoadStore", "BeginLoad"}, {"KeyStore", "EraseEmployee"}, {"BackupStore", "Dump"},
		{"BackupStore", "BeginRestore"}, {"KeyStore", "DataKeys"}, {"DeclarationStore", "DeclarationSummaries"}} {
		if forbidden(method(m[0], m[1])) == "" {
			t.Errorf("amane.%s.%s passes the check", m[0], m[1])
		}
	}
	for _, m := range [][2]string{{"SignInStore", "AccountByLogin"}, {"EmployerStore", "EmployerIDByAffiliation"},
		{"EmployerStore", "EmployerIdentityByID"}, {"DeclarationStore", "DeclaredPeriods"}, {"TokenStore", "AddToken"}} {
		if why := forbidden(method(m[0], m[1])); why != "" {
			t.Errorf("amane.%s.%s is refused: %s", m[0], m[1], why)
		}
	}
}

// TestDumpKinds: DumpKinds names every DumpItem field's JSON key once, and Kind finds the one set.
func TestDumpKinds(t *testing.T) {
	rt := reflect.TypeOf(amane.DumpItem{})
	var keys []string
	for i := range rt.NumField() {
		k, _, _ := strings.Cut(rt.Field(i).Tag.Get("json"), ",")
		keys = append(keys, k)
	}
	got := slices.Clone(amane.DumpKinds)
	slices.Sort(got)
	slices.Sort(keys)
	if !slices.Equal(got, keys) {
		t.Fatalf("DumpKinds = %q, DumpItem's keys %q", amane.DumpKinds, keys)
	}
	if k, err := (&amane.DumpItem{Employment: &amane.Employment{}}).Kind(); k != "employment" || err != nil {
		t.Errorf("Kind of an employment row = %q, %v", k, err)
	}
	if _, err := (&amane.DumpItem{}).Kind(); err == nil || err.Error() != "a dump row of no kind" {
		t.Errorf("Kind of an empty row: %v", err)
	}
	if _, err := (&amane.DumpItem{Agency: &amane.Agency{}, Setting: &amane.Setting{}}).Kind(); err == nil {
		t.Error("Kind of a row of two kinds: no error")
	}
}

var storePkgs = map[string]bool{"amane": true, "amane/sqlite": true, "amane/postgres": true}

// checkedFunc says whether a use of fn in pkg is checked (see TestNoStoreCiphertextOutsideTheGate).
func checkedFunc(fn *types.Func) bool {
	sig := fn.Type().(*types.Signature)
	if fn.Pkg() == nil {
		return false
	}
	if sig.Recv() == nil {
		return storePkgs[fn.Pkg().Path()]
	}
	if types.IsInterface(sig.Recv().Type()) {
		return true
	}
	return storePkgs[fn.Pkg().Path()]
}

var destructive = regexp.MustCompile(`Erase|Dump|Restore`)

// forbidden says why a use of fn is refused, "" if it is not.
func forbidden(fn *types.Func) string {
	sig := fn.Type().(*types.Signature)
	if sig.Recv() != nil && destructive.MatchString(fn.Name()) {
		return "it erases, dumps or restores"
	}
	if carries(sig.Results(), map[types.Type]bool{}) {
		return "it returns store-side records (ciphertext) or wrapped keys"
	}
	if carries(sig.Params(), map[types.Type]bool{}) {
		return "it takes store-side records (ciphertext) or wrapped keys"
	}
	return ""
}

// carries reports whether a value of t can hold a store-side record or a wrapped key.
func carries(t types.Type, seen map[types.Type]bool) bool {
	if t == nil || seen[t] {
		return false
	}
	seen[t] = true
	switch t := t.(type) {
	case *types.Alias:
		return carries(types.Unalias(t), seen)
	case *types.Named:
		p := t.Obj().Pkg()
		if p == nil || (p.Path() != "amane" && !strings.HasPrefix(p.Path(), "amane/")) {
			return false // outside the module: the standard library and drivers hold no record
		}
		if p.Path() == "amane" && (strings.HasSuffix(t.Obj().Name(), "Record") || t.Obj().Name() == "WrappedKey") {
			return true
		}
		return carries(t.Underlying(), seen)
	case *types.Pointer:
		return carries(t.Elem(), seen)
	case *types.Slice:
		return carries(t.Elem(), seen)
	case *types.Array:
		return carries(t.Elem(), seen)
	case *types.Chan:
		return carries(t.Elem(), seen)
	case *types.Map:
		return carries(t.Key(), seen) || carries(t.Elem(), seen)
	case *types.Struct:
		for i := range t.NumFields() {
			if carries(t.Field(i).Type(), seen) {
				return true
			}
		}
	case *types.Interface:
		for i := range t.NumMethods() {
			if carries(t.Method(i).Type(), seen) {
				return true
			}
		}
	case *types.Signature:
		return carries(t.Params(), seen) || carries(t.Results(), seen)
	case *types.Tuple:
		for i := range t.Len() {
			if carries(t.At(i).Type(), seen) {
				return true
			}
		}
	}
	return false
}

func describe(fn *types.Func) string {
	if recv := fn.Type().(*types.Signature).Recv(); recv != nil {
		return types.TypeString(recv.Type(), nil) + "."
	}
	return fn.Pkg().Path() + "."
}

type parsedFile struct {
	fset *token.FileSet
	file *ast.File
}

// typeCheck parses and type-checks a package's non-test files against its dependencies' export data
// (go list -export: built by the go command, cached).
func typeCheck(t *testing.T, path string) (*types.Package, []parsedFile, *types.Info) {
	t.Helper()
	cmd := exec.Command("go", "list", "-export", "-deps", "-json=ImportPath,Dir,GoFiles,Export", path)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v: %s", err, stderr.Bytes())
	}
	type listed struct {
		ImportPath, Dir, Export string
		GoFiles                 []string
	}
	exports := map[string]string{}
	var target listed
	for dec := json.NewDecoder(bytes.NewReader(out)); ; {
		var p listed
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		exports[p.ImportPath] = p.Export
		if p.ImportPath == path {
			target = p
		}
	}
	if len(target.GoFiles) == 0 {
		t.Fatalf("go list found no Go file in %s", path)
	}
	fset := token.NewFileSet()
	var files []parsedFile
	var asts []*ast.File
	for _, name := range target.GoFiles {
		f, err := parser.ParseFile(fset, filepath.Join(target.Dir, name), nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, parsedFile{fset, f})
		asts = append(asts, f)
	}
	imp := importer.ForCompiler(fset, "gc", func(p string) (io.ReadCloser, error) {
		if exports[p] == "" {
			return nil, os.ErrNotExist
		}
		return os.Open(exports[p])
	})
	info := &types.Info{Uses: map[*ast.Ident]types.Object{}}
	pkg, err := (&types.Config{Importer: imp}).Check(path, fset, asts, info)
	if err != nil {
		t.Fatalf("type-checking %s: %v", path, err)
	}
	return pkg, files, info
}
