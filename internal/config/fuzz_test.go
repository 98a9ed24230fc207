package config

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fuzzParseOptions keep the fuzzer off the file system: every include names a file
// that does not exist and every pattern matches nothing.
var fuzzParseOptions = ParseOptions{
	IncludeDir: "/fuzz",
	ReadFile:   func(string) ([]byte, error) { return nil, os.ErrNotExist },
	Glob:       func(string) ([]string, error) { return nil, nil },
}

// offlineResolver resolves nothing, so that fuzzing never asks DNS.
type offlineResolver struct{}

func (offlineResolver) LookupHost(context.Context, string) ([]string, error) {
	return nil, errors.New("offline")
}

// addSeeds adds every configuration under testdata and the parser tests' snippets.
func addSeeds(f *testing.F) {
	files, _ := filepath.Glob("testdata/*/*.conf")
	more, _ := filepath.Glob("testdata/debian/*/*")
	files = append(files, more...)
	files = append(files, "testdata/debian/mime.types")
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
	for _, s := range []string{
		"", ";", "}", "{", "a", `a "b;{}" 'c' d\ e;`, `a ${x}y "$z";`, "a b}c;", "# c\nx y; # d\n",
		`location ~ \.php$ {}`, "a \"\\\n\";", "a 'it''s';", "if ($a = b) { return 404; }",
	} {
		f.Add(s)
	}
}

// FuzzParse checks that the parser never panics, and that for every input it
// accepts, printing the tree and parsing the print gives the same tree.
func FuzzParse(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, src string) {
		tree, err := ParseBytes("/fuzz/nginx.conf", []byte(src), fuzzParseOptions)
		if err != nil {
			if _, ok := AsError(err); !ok {
				t.Fatalf("error %v is not an *Error", err)
			}
			return
		}
		printed := Print(tree.Directives)
		again, err := ParseBytes("/fuzz/printed.conf", []byte(printed), fuzzParseOptions)
		if err != nil {
			t.Fatalf("Print gave text that does not parse: %v\ninput %q\nprinted %q", err, src, printed)
		}
		if a, b := treeShape(tree.Directives), treeShape(again.Directives); a != b {
			t.Fatalf("round trip changed the tree\ninput   %q\nprinted %q\nbefore %s\nafter  %s", src, printed, a, b)
		}
	})
}

// treeShape renders names, arguments, blocks and nesting unambiguously.
func treeShape(dirs []*Directive) string {
	var b strings.Builder
	var walk func([]*Directive)
	walk = func(ds []*Directive) {
		for _, d := range ds {
			fmt.Fprintf(&b, "%q%q", d.Name, d.Args)
			if d.IsBlock {
				b.WriteString("{")
				walk(d.Block)
				b.WriteString("}")
			}
			b.WriteString(";")
		}
	}
	walk(dirs)
	return b.String()
}

// FuzzLoad runs the validator and the builder on whatever parses: they must never
// panic, must return *Error errors, and a Config they return must be whole (every
// server and location has Settings).
func FuzzLoad(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, src string) {
		tree, err := ParseBytes("/fuzz/nginx.conf", []byte(src), fuzzParseOptions)
		if err != nil {
			return
		}
		warnings, err := validate(tree.Directives)
		if err == nil {
			var cfg *Config
			cfg, err = build(tree.Directives, buildOptions{prefix: "/fuzz", resolver: offlineResolver{}}, warnings)
			if err == nil {
				checkWhole(t, cfg)
				_ = Dump(cfg)
				return
			}
		}
		if _, ok := AsError(err); !ok {
			t.Fatalf("error %v is not an *Error", err)
		}
	})
}

// checkWhole fails when a built Config has a server or location without Settings,
// or a proxy_pass without an upstream that is not dynamic.
func checkWhole(t *testing.T, cfg *Config) {
	if cfg.HTTP == nil {
		return
	}
	var walk func([]*Location)
	walk = func(ls []*Location) {
		for _, l := range ls {
			if l.Settings == nil {
				t.Fatalf("location %q has no Settings", l.Path)
			}
			if p := l.Settings.ProxyPass; p != nil && p.Upstream == nil && !p.HasVariables {
				t.Fatalf("proxy_pass %q has no upstream", p.URL)
			}
			walk(l.Locations)
		}
	}
	for _, s := range cfg.HTTP.Servers {
		if s.Settings == nil || len(s.Listens) == 0 {
			t.Fatalf("server at %s is not whole", s.Pos)
		}
		walk(s.Locations)
	}
}
