package daemon_test

import (
	"net/http"
	"os"
	"path/filepath"
	"testing"
)

// TestBesideRootLogsENOENT checks the error line for a path that
// concatenation puts beside its document root: fulcrum never opens it
// (docs/directives.md, "Where fulcrum differs") and logs what nginx 1.22.1
// logs when no such file exists (recorded): `open() "DIR/xf" failed (2: No
// such file or directory)` for "location /p/ { alias DIR/x; }" and /p/f, and
// `open() "DIR/html404" failed (2: ...)` for MediaWiki's `try_files $uri
// 404;`, whose fallback "404" (no "=") is a URI without a leading slash.
func TestBesideRootLogsENOENT(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	addr := startDaemon(t, dir, `
    access_log off;
    server {
        listen 127.0.0.1:0;
        root `+dir+`/html;
        location /p/ { alias `+dir+`/x; }
        location /w/ { try_files $uri 404; }
    }`)
	log := filepath.Join(dir, "error.log")
	tests := []struct{ path, line string }{
		{"/p/f", `open() "` + dir + `/xf" failed (2: No such file or directory), client: 127.0.0.1, server: , request: "GET /p/f HTTP/1.1"`},
		{"/w/a", `open() "` + dir + `/html404" failed (2: No such file or directory), client: 127.0.0.1, server: , request: "GET /w/a HTTP/1.1"`},
	}
	for _, tt := range tests {
		resp, err := noRedirects.Get("http://" + addr + tt.path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", tt.path, resp.StatusCode)
		}
		waitLogged(t, log, `[error]`, tt.line)
	}
}
