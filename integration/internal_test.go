package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestInternalLocation: a location marked internal answers 404 to a request
// that reaches it directly (through its own error_page, before its 301 for a
// missing slash), nested locations included, and serves what an internal
// redirect brings: error_page, a try_files fallback, an index file. Answers
// from nginx 1.22.1.
func TestInternalLocation(t *testing.T) {
	t.Parallel() // its own process, backends and temp dir; no upper time bound
	dir := t.TempDir()
	for name, body := range map[string]string{
		"html/404.html": "e404\n", "html/int/fb.html": "int fb\n", "html/int/x": "int x\n",
		"html/int/sub/s.txt": "sub\n", "html/idx/index.html": "idx\n",
	} {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	in := startFulcrum(t, fmt.Sprintf(`
events {}
http {
    server {
        listen 127.0.0.1:0;
        root %s/html;
        location /int/ { internal; location /int/sub/ { } }
        location /secret/ { internal; error_page 404 /404.html; }
        location /slash/ { internal; proxy_pass http://127.0.0.1:9; }
        location = /ep { error_page 418 /int/x; return 418; }
        location /tf { try_files /nope /int/fb.html; }
        location /idx/ { index /int/x; }
    }
}`, dir), 1)
	addr := in.listening()[0]
	tests := []struct {
		path   string
		status int
		body   string
	}{
		{"/int/fb.html", 404, "404 Not Found"},
		{"/int/sub/s.txt", 404, "404 Not Found"},
		{"/secret/x", 404, "e404\n"},
		{"/slash", 404, "404 Not Found"},
		{"/ep", 418, "int x\n"},
		{"/tf", 200, "int fb\n"},
		{"/idx/", 200, "int x\n"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			status, _, body := rawGet(t, addr, tt.path, "")
			if status != tt.status || !strings.Contains(body, tt.body) {
				t.Errorf("GET %s: %d %q, want %d with %q", tt.path, status, body, tt.status, tt.body)
			}
		})
	}
}
