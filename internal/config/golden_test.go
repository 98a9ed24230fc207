package config

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// goldenLoad loads a testdata configuration with the test resolver and a fixed
// prefix, and returns text in which the absolute testdata directory reads
// "testdata".
func goldenLoad(t *testing.T, path string) (string, error) {
	t.Helper()
	abs, err := filepath.Abs("testdata")
	if err != nil {
		t.Fatal(err)
	}
	path, err = filepath.Abs(path)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(path, LoadOptions{Prefix: testPrefix, Resolver: testResolver(t)})
	if err != nil {
		return strings.ReplaceAll(err.Error(), abs, "testdata") + "\n", err
	}
	return strings.ReplaceAll(Dump(cfg), abs, "testdata"), nil
}

// checkGolden compares got with the golden file, or rewrites it with -update.
func checkGolden(t *testing.T, golden, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -run TestGolden -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (run with -update to accept):\n%s", golden, lineDiff(string(want), got))
	}
}

// lineDiff shows the lines of want and got that differ, in order.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := 0; i < max(len(w), len(g)); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			b.WriteString("- " + wl + "\n+ " + gl + "\n")
		}
	}
	return b.String()
}

func TestGoldenValid(t *testing.T) {
	files, err := filepath.Glob("testdata/valid/*.conf")
	if err != nil || len(files) == 0 {
		t.Fatalf("no valid configurations: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			got, err := goldenLoad(t, f)
			if err != nil {
				t.Fatalf("load: %v", err)
			}
			checkGolden(t, strings.TrimSuffix(f, ".conf")+".golden", got)
		})
	}
}

func TestGoldenInvalid(t *testing.T) {
	files, err := filepath.Glob("testdata/invalid/*.conf")
	if err != nil || len(files) == 0 {
		t.Fatalf("no invalid configurations: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			got, err := goldenLoad(t, f)
			if err == nil {
				t.Fatalf("loaded without an error:\n%s", got)
			}
			if _, ok := AsError(err); !ok {
				t.Errorf("error %v is not an *Error", err)
			}
			checkGolden(t, strings.TrimSuffix(f, ".conf")+".golden", got)
		})
	}
}
