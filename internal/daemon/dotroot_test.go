package daemon_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// TestDotSegmentsInConfiguredRoot: a root or alias written with "." and
// ".." segments in the configuration serves its files, as nginx does
// (nginx-tests' http_disable_symlinks.t, "complex root"; recorded with
// nginx 1.22.1: "alias DIR/./cached/../;", the same under
// "disable_symlinks on", "root DIR/cached/..;" and an alias with try_files
// answer 200 for empty.html). fulcrum refused any ".." in the file's
// path, the operator's part too: 403 (404 with try_files).
func TestDotSegmentsInConfiguredRoot(t *testing.T) {
	dir := t.TempDir()
	for _, d := range []string{"cached", "c3"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"empty.html", "c3/empty.html"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	addr := startDaemon(t, dir, fmt.Sprintf(`
    access_log off;
    error_log /dev/null crit;
    server {
        listen 127.0.0.1:0;
        location /c1/ { alias %[1]s/./cached/../; }
        location /c2/ { disable_symlinks on; alias %[1]s//./cached/..//; }
        location /c3/ { root %[1]s/cached/..; }
        location /c4/ { alias %[1]s/cached/../; try_files $uri =404; }
        location /v/ { root %[1]s/$arg_d; }
    }`, dir))
	for _, tc := range []struct {
		target string
		code   string
	}{
		{"/c1/empty.html", "200"},
		{"/c2/empty.html", "200"},
		{"/c3/empty.html", "200"},
		{"/c4/empty.html", "200"},
		{"/v/empty.html?d=cached/..", "403"}, // from a variable: still refused
	} {
		head := rawTalkHead(t, addr, "GET "+tc.target+" HTTP/1.0\r\nHost: a\r\n\r\n")
		if len(head) < 12 || head[9:12] != tc.code {
			t.Errorf("GET %s: %q, want %s", tc.target, head, tc.code)
		}
	}
}
