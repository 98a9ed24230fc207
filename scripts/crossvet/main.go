// Command crossvet type-checks every package of the module, tests included,
// for other systems than the one it runs on: by default macOS
// (darwin/arm64) and FreeBSD (freebsd/amd64), where fulcrum must build
// (docs/operations.md, "Supported systems"). It catches a Linux-only call
// (a syscall name, a field's type) in a file without a build tag.
//
// It is go vet's type-checking step without the compiling: go list picks
// each package's files for the target (build tags, _GOOS suffixes), and
// go/types, the compiler's type checker, checks them. Dependencies (the
// standard library, golang.org/x) are checked without their function
// bodies, which is what makes it cheap: go vet for the same targets first
// compiles the whole standard library once per target, minutes on a cold
// build cache. Usage, from the module root:
//
//	go run ./scripts/crossvet [GOOS/GOARCH ...]
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// listed is the part of go list -json that the check reads.
type listed struct {
	ImportPath string
	Dir        string
	GoFiles    []string
	ImportMap  map[string]string
	Module     *struct{ Main bool }
	Error      *struct{ Err string }
}

func main() {
	targets := os.Args[1:]
	if len(targets) == 0 {
		targets = []string{"darwin/arm64", "freebsd/amd64"}
	}
	failed := false
	for _, t := range targets {
		goos, goarch, ok := strings.Cut(t, "/")
		if !ok {
			fmt.Fprintf(os.Stderr, "crossvet: target %q: want GOOS/GOARCH\n", t)
			os.Exit(2)
		}
		n, err := check(goos, goarch, os.Stderr)
		if err != nil {
			fmt.Fprintf(os.Stderr, "crossvet: %s: %v\n", t, err)
			failed = true
			continue
		}
		fmt.Printf("crossvet: %s: %d packages type-check\n", t, n)
	}
	if failed {
		os.Exit(1)
	}
}

// check type-checks the module's packages and their tests for goos/goarch,
// writing each error to w. It returns how many of the module's packages
// were checked.
func check(goos, goarch string, w io.Writer) (int, error) {
	pkgs, err := list(goos, goarch)
	if err != nil {
		return 0, err
	}
	fset := token.NewFileSet()
	done := map[string]*types.Package{"unsafe": types.Unsafe}
	sizes := types.SizesFor("gc", goarch)
	mine, bad := 0, 0
	seen := map[string]bool{}
	for _, p := range pkgs {
		if base, _, _ := strings.Cut(p.ImportPath, " "); base == "unsafe" {
			done[p.ImportPath] = types.Unsafe // also "unsafe [p.test]"
			continue
		}
		if strings.HasSuffix(p.ImportPath, ".test") {
			continue // a test's generated main package
		}
		main := p.Module != nil && p.Module.Main
		if p.Error != nil {
			fmt.Fprintf(w, "%s: %s\n", p.ImportPath, p.Error.Err)
			bad++
			continue
		}
		tp, errs := checkPackage(fset, p, done, sizes, !main)
		for _, e := range errs {
			if msg := e.Error(); !seen[msg] { // a package and its test variant share files
				seen[msg] = true
				fmt.Fprintln(w, msg)
				bad++
			}
		}
		done[p.ImportPath] = tp
		if main {
			mine++
		}
	}
	if bad > 0 {
		return mine, fmt.Errorf("%d errors", bad)
	}
	return mine, nil
}

// list runs go list for every package of the module with its tests and all
// their dependencies, for goos/goarch without cgo, dependencies first.
func list(goos, goarch string) ([]listed, error) {
	cmd := exec.Command("go", "list", "-e", "-deps", "-test", "-json=ImportPath,Dir,GoFiles,ImportMap,Module,Error", "./...")
	cmd.Env = append(os.Environ(), "GOOS="+goos, "GOARCH="+goarch, "CGO_ENABLED=0", "GOFLAGS=")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list: %w: %s", err, stderr.Bytes())
	}
	var pkgs []listed
	for dec := json.NewDecoder(bytes.NewReader(out)); ; {
		var p listed
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			return pkgs, nil
		} else if err != nil {
			return nil, fmt.Errorf("go list output: %w", err)
		}
		pkgs = append(pkgs, p)
	}
}

// checkPackage parses and type-checks one package against the ones done
// (by import path, as go list names them); with deps, as a dependency,
// without looking into its function bodies.
func checkPackage(fset *token.FileSet, p listed, done map[string]*types.Package, sizes types.Sizes, deps bool) (*types.Package, []error) {
	mode := parser.SkipObjectResolution
	var files []*ast.File
	var errs []error
	for _, name := range p.GoFiles {
		f, err := parser.ParseFile(fset, filepath.Join(p.Dir, name), nil, mode)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		files = append(files, f)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	conf := types.Config{
		Importer:         importer{done: done, imports: p.ImportMap},
		Sizes:            sizes,
		IgnoreFuncBodies: deps,
		Error:            func(err error) { errs = append(errs, err) },
	}
	path, _, _ := strings.Cut(p.ImportPath, " ") // "p [p.test]": the test variant of p
	tp, _ := conf.Check(path, fset, files, nil)
	return tp, errs
}

// importer gives a package's imports from the packages already checked,
// through the package's import map (vendored standard library packages,
// test variants).
type importer struct {
	done    map[string]*types.Package
	imports map[string]string
}

// Import returns the checked package that path names in the importing
// package.
func (im importer) Import(path string) (*types.Package, error) {
	if to, ok := im.imports[path]; ok {
		path = to
	}
	if p := im.done[path]; p != nil {
		return p, nil
	}
	return nil, fmt.Errorf("package %q not checked (or it failed)", path)
}
