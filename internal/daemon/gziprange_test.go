package daemon_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestGzipVaryOnRanges: nginx's gzip header filter runs before its range
// filter, so a response the range filter cuts was still the 200 of a type
// in gzip_types when gzip looked at it, and gzip_vary marked it: its 206
// (and its 416) say "Vary: Accept-Encoding" although nothing is compressed.
// Recorded with nginx 1.22.1 (gzip on, gzip_vary on, gzip_types text/css,
// h5bp's compression.conf): GET /a.css with "Range: bytes=0-3" and no
// Accept-Encoding, the same as HTTP/1.0 with Accept-Encoding, and with an
// MSIE 6 User-Agent under gzip_disable msie6, got 206 with Vary; "Range:
// bytes=9999-" got 416 with Vary; a proxy_cache HIT or MISS cut to 206
// too; a.png (not in gzip_types) got 206 without it, and a 304 (nginx's
// not-modified filter runs before gzip's) none. fulcrum sent none.
func TestGzipVaryOnRanges(t *testing.T) {
	css := strings.Repeat("body { color: red; }\n", 40)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/css")
		w.Header().Set("Accept-Ranges", "bytes")
		fmt.Fprint(w, css)
	}))
	t.Cleanup(backend.Close)
	addr, _ := runDaemon(t, func(dir string) string {
		for name, body := range map[string]string{"a.css": css, "a.png": css} {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
			mtime := time.Unix(1700000000, 0) // ETag "6553f100-348"
			if err := os.Chtimes(filepath.Join(dir, name), mtime, mtime); err != nil {
				t.Fatal(err)
			}
		}
		return fmt.Sprintf(`
    types { text/css css; image/png png; }
    proxy_cache_path %[1]s/cache keys_zone=c:1m;
    gzip on;
    gzip_vary on;
    gzip_types text/css;
    gzip_disable msie6;
    server {
        listen 127.0.0.1:0;
        root %[1]s;
        location /p/ { proxy_cache c; proxy_cache_valid 200 1m; proxy_pass http://%[2]s; }
    }`, dir, backend.Listener.Addr())
	})
	const rng = "Range: bytes=0-3\r\n"
	tests := []struct {
		name, req string
		status    int
		vary      bool
	}{
		{"no Accept-Encoding", "GET /a.css HTTP/1.1\r\n" + rng, 206, true},
		{"HTTP/1.0", "GET /a.css HTTP/1.0\r\nAccept-Encoding: gzip\r\n" + rng, 206, true},
		{"gzip_disable", "GET /a.css HTTP/1.1\r\nUser-Agent: Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1)\r\nAccept-Encoding: gzip\r\n" + rng, 206, true},
		{"past the end", "GET /a.css HTTP/1.1\r\nRange: bytes=9999-\r\n", 416, true},
		{"not a gzip type", "GET /a.png HTTP/1.1\r\n" + rng, 206, false},
		{"not modified", "GET /a.css HTTP/1.1\r\nIf-None-Match: \"6553f100-348\"\r\n" + rng, 304, false},
		{"compressed whole", "GET /a.css HTTP/1.1\r\nAccept-Encoding: gzip\r\n" + rng, 200, true},
		{"cache MISS", "GET /p/x HTTP/1.1\r\n" + rng, 206, true},
		{"cache HIT", "GET /p/x HTTP/1.1\r\n" + rng, 206, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, _ := exchange(t, addr, strings.Replace(tt.req, "\r\n", "\r\nHost: x\r\nConnection: close\r\n", 1)+"\r\n")
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.status)
			}
			if got := resp.Header.Get("Vary") == "Accept-Encoding"; got != tt.vary {
				t.Errorf("Vary %q, want Accept-Encoding: %v", resp.Header.Values("Vary"), tt.vary)
			}
		})
	}
}
