package daemon_test

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
)

// TestRandomIndex serves random_index through the daemon: the directory's
// URI is answered with a file of it after an internal redirect ($uri is
// the file's), a directory without a file goes on to index, and
// random_index off leaves the index module alone. (nginx 1.22.1 answers
// the same, checked with nginx-diff.)
func TestRandomIndex(t *testing.T) {
	dir := t.TempDir()
	html := filepath.Join(dir, "html")
	for _, d := range []string{"one", "empty", "off"} {
		if err := os.MkdirAll(filepath.Join(html, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, body := range map[string]string{"one/only.html": "only\n", "one/.dot": "dot\n", "off/f.html": "f\n"} {
		if err := os.WriteFile(filepath.Join(html, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	addr := startDaemon(t, dir, fmt.Sprintf(`
    access_log off;
    server {
        listen 127.0.0.1:0;
        root %s;
        location / { random_index on; add_header X-Uri $uri always; }
        location /off/ { random_index off; add_header X-Uri $uri always; }
    }`, html))
	tests := []struct {
		path   string
		status int
		body   string
		uri    string
	}{
		{"/one/?a=1", 200, "only\n", "/one/only.html"},
		{"/empty/", 403, "", "/empty/"},
		{"/off/", 403, "", "/off/"},
		{"/missing/", 404, "", "/missing/"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			resp, err := http.Get("http://" + addr + tt.path)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status || tt.body != "" && string(b) != tt.body {
				t.Errorf("%d %q, want %d %q", resp.StatusCode, b, tt.status, tt.body)
			}
			if got := resp.Header.Get("X-Uri"); got != tt.uri {
				t.Errorf("$uri %q, want %q", got, tt.uri)
			}
		})
	}
}
