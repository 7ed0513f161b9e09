// Package graphtest lets tests check rules on the import graph and on resolved types rather than on
// the names written in the source: which packages depend on which (`go list -deps -json`), and what a
// package's identifiers denote once type-checked (go/types), whatever import name or alias they use.
//
// Load lists packages with their export data (`go list -deps -export -json`), built by the go command
// into its cache; Check type-checks a package's non-test Go files against that export data, and
// CheckSource a scratch package given as source text (to prove a checker catches what it claims to).
// It is used by tests only.
package graphtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
)

// Package is one package as `go list -json` describes it (the fields used here).
type Package struct {
	ImportPath string
	Name       string
	Dir        string
	GoFiles    []string
	CgoFiles   []string
	Imports    []string
	Deps       []string
	Export     string
	Standard   bool
	Module     *struct {
		Path string
		Main bool
	}
	Error *struct{ Err string }
}

// InModule reports whether p belongs to the main module (not the standard library, not a dependency).
func (p *Package) InModule() bool { return p.Module != nil && p.Module.Main }

// DependsOn reports whether p imports path, directly or not.
func (p *Package) DependsOn(path string) bool { return slices.Contains(p.Deps, path) }

// Graph is a set of listed packages and the type information of their export data.
type Graph struct {
	Fset     *token.FileSet
	packages map[string]*Package
	imp      types.Importer
}

// Load lists patterns (e.g. "./...") from dir with every dependency and its export data.
func Load(dir string, patterns ...string) (*Graph, error) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	cmd := exec.Command(goTool, append([]string{"list", "-deps", "-export", "-json=ImportPath,Name,Dir,GoFiles,CgoFiles,Imports,Deps,Export,Standard,Module,Error"}, patterns...)...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list: %v: %s", err, stderr.Bytes())
	}
	g := &Graph{Fset: token.NewFileSet(), packages: map[string]*Package{}}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p Package
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			return nil, err
		}
		if p.Error != nil {
			return nil, fmt.Errorf("go list: %s: %s", p.ImportPath, p.Error.Err)
		}
		g.packages[p.ImportPath] = &p
	}
	g.imp = importer.ForCompiler(g.Fset, "gc", func(path string) (io.ReadCloser, error) {
		p := g.packages[path]
		if p == nil || p.Export == "" {
			return nil, fmt.Errorf("graphtest: no export data for %s", path)
		}
		return os.Open(p.Export)
	})
	return g, nil
}

// Package returns the listed package path, or nil.
func (g *Graph) Package(path string) *Package { return g.packages[path] }

// Module returns the listed packages of the main module, by import path.
func (g *Graph) Module() []*Package {
	var out []*Package
	for _, p := range g.packages {
		if p.InModule() {
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ImportPath < out[j].ImportPath })
	return out
}

// Import returns the type information of a listed package, from its export data. Every package
// imported through g shares the same objects: a *types.TypeName found here is the one Check's
// results refer to.
func (g *Graph) Import(path string) (*types.Package, error) { return g.imp.Import(path) }

// Check type-checks the non-test Go files of a listed package against the export data of its
// imports, and returns its package and the resolved meaning of every identifier and expression.
func (g *Graph) Check(path string) (*types.Package, *types.Info, error) {
	p := g.packages[path]
	if p == nil {
		return nil, nil, fmt.Errorf("graphtest: %s is not listed", path)
	}
	var files []*ast.File
	for _, name := range append(slices.Clone(p.GoFiles), p.CgoFiles...) {
		f, err := parser.ParseFile(g.Fset, filepath.Join(p.Dir, name), nil, 0)
		if err != nil {
			return nil, nil, err
		}
		files = append(files, f)
	}
	return g.check(path, files, nil)
}

// CheckSource type-checks a scratch package path made of src (file name → Go source); it may import
// any listed package, and the packages in extra by their paths.
func (g *Graph) CheckSource(path string, src map[string]string, extra ...*types.Package) (*types.Package, *types.Info, error) {
	names := make([]string, 0, len(src))
	for name := range src {
		names = append(names, name)
	}
	slices.Sort(names)
	var files []*ast.File
	for _, name := range names {
		f, err := parser.ParseFile(g.Fset, name, src[name], 0)
		if err != nil {
			return nil, nil, err
		}
		files = append(files, f)
	}
	return g.check(path, files, extra)
}

func (g *Graph) check(path string, files []*ast.File, extra []*types.Package) (*types.Package, *types.Info, error) {
	info := &types.Info{
		Types:      map[ast.Expr]types.TypeAndValue{},
		Defs:       map[*ast.Ident]types.Object{},
		Uses:       map[*ast.Ident]types.Object{},
		Selections: map[*ast.SelectorExpr]*types.Selection{},
	}
	var errs []error
	conf := types.Config{
		Importer:    importerFunc(func(p string) (*types.Package, error) { return g.importWith(p, extra) }),
		FakeImportC: true,
		Error:       func(err error) { errs = append(errs, err) },
	}
	pkg, _ := conf.Check(path, g.Fset, files, info)
	if len(errs) > 0 {
		return nil, nil, errors.Join(errs...)
	}
	return pkg, info, nil
}

func (g *Graph) importWith(path string, extra []*types.Package) (*types.Package, error) {
	for _, p := range extra {
		if p.Path() == path {
			return p, nil
		}
	}
	return g.imp.Import(path)
}

type importerFunc func(path string) (*types.Package, error)

func (f importerFunc) Import(path string) (*types.Package, error) { return f(path) }
