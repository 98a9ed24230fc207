package integration

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// debianConf is the configuration Debian's nginx packages install.
const debianConf = "/etc/nginx/nginx.conf"

// TestDebianNginxConf checks that fulcrum accepts a stock nginx configuration:
// -t succeeds, and whatever it says besides the two ok lines is a warning (about
// directives fulcrum accepts but ignores). It needs config.Load to know nginx's
// directives.
func TestDebianNginxConf(t *testing.T) {
	t.Parallel() // fulcrum -t runs in their own temp dirs
	if _, err := os.Stat(debianConf); err != nil {
		t.Skipf("%s is absent: %v", debianConf, err)
	}
	r := runFulcrum(t, "-t", "-c", debianConf)
	if r.code != 0 {
		t.Fatalf("exit %d:\n%s", r.code, r.stderr)
	}
	lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
	if len(lines) < 2 || lines[len(lines)-2]+"\n"+lines[len(lines)-1]+"\n" != okLines(debianConf) {
		t.Errorf("stderr does not end with the ok lines:\n%s", r.stderr)
	}
	for _, l := range lines[:max(len(lines)-2, 0)] {
		if !strings.HasPrefix(l, "fulcrum: [warn] ") {
			t.Errorf("a line that is not a warning: %q", l)
		}
	}
}

// TestDebianShapedConf runs `fulcrum -t` on the copy of Debian's stock config
// kept in internal/config/testdata/debian, so CI checks that shape through the
// binary even where nginx is not installed. Only the log and pid paths are moved
// into a temporary directory.
func TestDebianShapedConf(t *testing.T) {
	t.Parallel() // fulcrum -t runs in their own temp dirs
	src := filepath.Join("..", "internal", "config", "testdata", "debian")
	dir := t.TempDir()
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		out := filepath.Join(dir, rel)
		if d.IsDir() {
			return os.MkdirAll(out, 0o755)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		text := strings.NewReplacer("/var/log/nginx/", dir+"/log/", "/run/nginx.pid", dir+"/nginx.pid").Replace(string(b))
		return os.WriteFile(out, []byte(text), 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(dir, "log"), 0o755)
	conf := filepath.Join(dir, "nginx.conf")
	r := runFulcrum(t, "-t", "-c", conf)
	if r.code != 0 {
		t.Fatalf("exit %d:\n%s", r.code, r.stderr)
	}
	lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
	warnings := 0
	for _, l := range lines[:max(len(lines)-2, 0)] {
		if !strings.HasPrefix(l, "fulcrum: [warn] ") {
			t.Errorf("a line that is not a warning: %q", l)
		}
		warnings++
	}
	if warnings == 0 {
		t.Error("Debian's config uses directives fulcrum ignores: expected warnings")
	}
	if got := strings.Join(lines[len(lines)-2:], "\n") + "\n"; got != okLines(conf) {
		t.Errorf("stderr does not end with the ok lines:\n%s", r.stderr)
	}
}
