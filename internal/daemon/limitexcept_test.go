package daemon_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLimitExceptConfiguration checks what serves a request whose method a
// location's limit_except restricts, against nginx 1.22's answers for the
// same server (nginx-diff): nginx swaps in the block's nameless location,
// which has the location's settings but not its rewrite-module script
// (return, rewrite, if, set) nor try_files, and no content handler but
// proxy_pass; so an allowed POST gets the static file handler (404 for a
// missing file), and a denied one 403 even where the location returns.
func TestLimitExceptConfiguration(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "backend %s %s", r.Method, r.URL.Path)
	}))
	t.Cleanup(backend.Close)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "a.txt"), []byte("file a\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := startDaemonLevel(t, dir, "warn", fmt.Sprintf(`
    access_log off;
    server {
        listen 127.0.0.1:0;
        root %%[1]s;
        location /lim { limit_except GET { deny all; } return 200 "ok"; }
        location /lim2 { limit_except GET { allow 127.0.0.1; deny all; } return 200 "ok2"; }
        location /lim3 { limit_except GET { allow 127.0.0.1; deny all; } proxy_pass http://%s; }
        location /lim4 { limit_except GET { allow 127.0.0.1; deny all; } rewrite ^ /a.txt last; }
        location /lim5 { rewrite ^ /a.txt break; limit_except GET { allow 127.0.0.1; } }
        location /lim6 { limit_except GET { allow 127.0.0.1; deny all; } add_header X-A a always; try_files /a.txt =404; }
        location /lim7 { if ($request_method = POST) { return 202 "if"; } limit_except GET { deny all; } }
    }`, backend.Listener.Addr()))
	tests := []struct {
		method, path string
		status       int
		body         string // a prefix of the body
		xa           string
	}{
		{"POST", "/lim", 403, "<html>", ""},
		{"GET", "/lim", 200, "ok", ""},
		{"POST", "/lim2", 404, "<html>", ""},
		{"GET", "/lim2", 200, "ok2", ""},
		{"POST", "/lim3", 200, "backend POST /lim3", ""},
		{"POST", "/lim4", 404, "<html>", ""},
		{"GET", "/lim4", 200, "file a", ""},
		{"POST", "/lim5", 404, "<html>", ""},
		{"GET", "/lim5", 200, "file a", ""},
		{"POST", "/lim6", 404, "<html>", "a"},
		{"GET", "/lim6", 200, "file a", "a"},
		{"POST", "/lim7", 403, "<html>", ""},
	}
	for _, tt := range tests {
		req, err := http.NewRequest(tt.method, "http://"+addr+tt.path, strings.NewReader("x"))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := noRedirects.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.status || !strings.HasPrefix(string(body), tt.body) {
			t.Errorf("%s %s: %d %q, want %d %q...", tt.method, tt.path, resp.StatusCode, body, tt.status, tt.body)
		}
		if got := resp.Header.Get("X-A"); got != tt.xa {
			t.Errorf("%s %s: X-A %q, want %q", tt.method, tt.path, got, tt.xa)
		}
	}
}
