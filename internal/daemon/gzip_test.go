package daemon_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// gzipPage is the body the gzip tests compress: text/html of 614 bytes.
var gzipPage = "<html>" + strings.Repeat("hello world ", 50) + "</html>\n"

// runDaemon runs the daemon with the http block's contents body (%s is
// replaced by dir, the test's directory) on an ephemeral loopback port, and
// returns its address and dir. It stops at cleanup.
func runDaemon(t *testing.T, body func(dir string) string) (string, string) {
	t.Helper()
	dir := t.TempDir()
	conf := fmt.Sprintf("pid %s/fulcrum.pid;\nerror_log %s/error.log warn;\nevents { }\nhttp {\n%s\n}\n", dir, dir, body(dir))
	addr, _ := runConfig(t, dir, conf)
	return addr, dir
}

// exchange sends one raw request and reads the response, body decompressed
// when it says Content-Encoding: gzip.
func exchange(t *testing.T, addr, raw string) (*http.Response, string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	method, _, _ := strings.Cut(raw, " ")
	resp, err := http.ReadResponse(bufio.NewReader(c), &http.Request{Method: method})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	if resp.Header.Get("Content-Encoding") == "gzip" && len(body) > 0 {
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			t.Fatalf("gzip body: %v", err)
		}
		if body, err = io.ReadAll(zr); err != nil {
			t.Fatalf("gzip body: %v", err)
		}
	}
	return resp, string(body)
}

// TestGzip runs nginx's gzip filter through the daemon over real sockets:
// proxied, static, return and error page responses, each case's head as
// nginx 1.22.1 sent it for the same configuration and request.
func TestGzip(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "text/html")
		for _, f := range []string{"ETag", "Content-Encoding", "Expires", "Cache-Control", "Last-Modified", "Vary", "Accept-Ranges", "Content-Type"} {
			if v := r.Header.Get("X-Set-" + f); v != "" {
				h.Set(f, v)
			}
		}
		body := gzipPage
		if r.URL.Path == "/p/short" {
			body = "short"
		}
		if r.URL.Path != "/p/chunked" {
			h.Set("Content-Length", fmt.Sprint(len(body)))
		}
		_, _ = io.WriteString(w, body)
	}))
	defer backend.Close()
	addr, dir := runDaemon(t, func(dir string) string {
		if err := os.WriteFile(filepath.Join(dir, "index.html"), []byte(gzipPage), 0o644); err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf(`
    log_format gz '$request_uri $gzip_ratio $body_bytes_sent';
    access_log %s/access.log gz buffer=0;
    types { text/html html; text/css css; }
    gzip on;
    server {
        listen 127.0.0.1:0;
        root %s;
        location /p/ { gzip_vary on; proxy_pass http://%s; }
        location /px/ { gzip_proxied expired no_last_modified; proxy_pass http://%s; }
        location /ret { gzip_types *; return 200 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"; }
        location /h10/ { gzip_http_version 1.0; alias %s/; }
        location /off/ { gzip off; gzip_vary on; alias %s/; }
    }`, dir, dir, backend.Listener.Addr(), backend.Listener.Addr(), dir, dir)
	})
	const ae = "Accept-Encoding: gzip\r\n"
	tests := []struct {
		name, req string
		status    int
		encoded   bool   // Content-Encoding: gzip
		vary      bool   // Vary: Accept-Encoding
		etag      string // "" for none, "*" for any
		chunked   bool
		body      string // the body, decompressed
	}{
		{"proxied", "GET /p/x HTTP/1.1\r\n" + ae + "X-Set-ETag: \"e\"\r\nX-Set-Accept-Ranges: bytes\r\n", 200, true, true, `W/"e"`, true, gzipPage},
		{"proxied, no Accept-Encoding", "GET /p/x HTTP/1.1\r\n", 200, false, true, "", false, gzipPage},
		{"proxied, q=0", "GET /p/x HTTP/1.1\r\nAccept-Encoding: gzip;q=0\r\n", 200, false, true, "", false, gzipPage},
		{"proxied, unquoted ETag dropped", "GET /p/x HTTP/1.1\r\n" + ae + "X-Set-ETag: abc\r\n", 200, true, true, "", true, gzipPage},
		{"below gzip_min_length", "GET /p/short HTTP/1.1\r\n" + ae, 200, false, false, "", false, "short"},
		{"chunked short", "GET /p/chunked HTTP/1.1\r\n" + ae, 200, true, true, "", true, gzipPage},
		{"type not listed", "GET /p/x HTTP/1.1\r\n" + ae + "X-Set-Content-Type: text/css\r\n", 200, false, false, "", false, gzipPage},
		{"type with charset", "GET /p/x HTTP/1.1\r\n" + ae + "X-Set-Content-Type: TEXT/HTML; charset=utf-8\r\n", 200, true, true, "", true, gzipPage},
		{"already encoded", "GET /p/x HTTP/1.1\r\n" + ae + "X-Set-Content-Encoding: br\r\n", 200, false, false, "", false, gzipPage},
		{"via, proxied off", "GET /p/x HTTP/1.1\r\n" + ae + "Via: 1.1 cache\r\n", 200, false, true, "", false, gzipPage},
		{"via, expired", "GET /px/x HTTP/1.1\r\n" + ae + "Via: 1.1 cache\r\nX-Set-Expires: Mon, 01 Jan 2024 00:00:00 GMT\r\n", 200, true, false, "", true, gzipPage},
		{"via, last modified", "GET /px/x HTTP/1.1\r\n" + ae + "Via: 1.1 cache\r\nX-Set-Last-Modified: Mon, 01 Jan 2024 00:00:00 GMT\r\n", 200, false, false, "", false, gzipPage},
		{"HEAD", "HEAD /p/x HTTP/1.1\r\n" + ae, 200, true, true, "", false, ""},
		{"static", "GET /index.html HTTP/1.1\r\n" + ae, 200, true, false, "*", true, gzipPage},
		{"static, range ignored", "GET /index.html HTTP/1.1\r\n" + ae + "Range: bytes=0-3\r\n", 200, true, false, "*", true, gzipPage},
		{"static, range without gzip", "GET /index.html HTTP/1.1\r\nRange: bytes=0-3\r\n", 206, false, false, "*", false, "<htm"},
		{"static, HTTP/1.0", "GET /index.html HTTP/1.0\r\n" + ae, 200, false, false, "*", false, gzipPage},
		{"static, gzip_http_version 1.0", "GET /h10/index.html HTTP/1.0\r\n" + ae, 200, true, false, "*", false, gzipPage},
		{"gzip off", "GET /off/index.html HTTP/1.1\r\n" + ae, 200, false, false, "*", false, gzipPage},
		{"return", "GET /ret HTTP/1.1\r\n" + ae, 200, true, false, "", true, strings.Repeat("a", 42)},
		{"error page", "GET /missing.html HTTP/1.1\r\n" + ae, 404, true, false, "", true, "*"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := exchange(t, addr, strings.Replace(tt.req, "\r\n", "\r\nHost: t\r\nConnection: close\r\n", 1)+"\r\n")
			if resp.StatusCode != tt.status {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.status)
			}
			if got := resp.Header.Get("Content-Encoding") == "gzip"; got != tt.encoded {
				t.Errorf("Content-Encoding %q", resp.Header.Get("Content-Encoding"))
			}
			if got := resp.Header.Get("Vary") == "Accept-Encoding"; got != tt.vary {
				t.Errorf("Vary %q", resp.Header.Values("Vary"))
			}
			if got := resp.Header.Get("Etag"); tt.etag != "*" && got != tt.etag || tt.etag == "*" && (got == "") {
				t.Errorf("ETag %q, want %q", got, tt.etag)
			} else if tt.etag == "*" && tt.encoded != strings.HasPrefix(got, "W/") {
				t.Errorf("ETag %q for a response compressed %t", got, tt.encoded)
			}
			if tt.encoded && (resp.Header.Get("Content-Length") != "" || resp.Header.Get("Accept-Ranges") != "") {
				t.Errorf("compressed with Content-Length %q, Accept-Ranges %q", resp.Header.Get("Content-Length"), resp.Header.Get("Accept-Ranges"))
			}
			if got := len(resp.TransferEncoding) > 0; got != tt.chunked {
				t.Errorf("Transfer-Encoding %q", resp.TransferEncoding)
			}
			if tt.body != "*" && body != tt.body {
				t.Errorf("body %q, want %q", body, tt.body)
			}
		})
	}
	// The access log: $gzip_ratio and the compressed $body_bytes_sent.
	var logged []byte
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		logged, _ = os.ReadFile(filepath.Join(dir, "access.log"))
		if bytes.Count(logged, []byte("\n")) >= len(tests) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Lines of the same URI: one compressed (a ratio, few bytes), one not.
	var compressed, plain bool
	for _, line := range strings.Split(string(logged), "\n") {
		var uri, ratio string
		var sent int
		if _, err := fmt.Sscan(line, &uri, &ratio, &sent); err != nil || uri != "/p/x" {
			continue
		}
		r, err := strconv.ParseFloat(ratio, 64)
		compressed = compressed || err == nil && r > 5 && sent < 100
		plain = plain || ratio == "-" && sent == len(gzipPage)
	}
	if !compressed || !plain {
		t.Errorf("access log lacks a compressed /p/x line (ratio, < 100 bytes) or an uncompressed one (-, 614):\n%s", logged)
	}
}
