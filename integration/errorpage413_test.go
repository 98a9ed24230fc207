package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestErrorPage413: an error_page for client_max_body_size's 413 is
// followed, as nginx 1.22.1 follows it (recorded: a return page, a file, a
// "=" page that answers 200, a named location), where fulcrum answered 200
// with no body and logged 000; the page's upstream gets the request as a GET
// without the refused body (nginx sends "Content-Length: 0").
func TestErrorPage413(t *testing.T) {
	b := startBackend(t, "up")
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "413.html"), []byte("big file page\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	in := startFulcrum(t, fmt.Sprintf(`
events {}
http {
    access_log %%DIR%%/access.log;
    client_max_body_size 1k;
    server {
        listen 127.0.0.1:0;
        location /a/ { error_page 413 /413r; return 200 "a\n"; }
        location = /413r { internal; return 413 "too large\n"; }
        location /b/ { error_page 413 /413.html; root %[1]s; }
        location = /413.html { root %[1]s; }
        location /c/ { error_page 413 = /413r2; return 200 "c\n"; }
        location = /413r2 { return 200 "replaced\n"; }
        location /d/ { error_page 413 @big; return 200; }
        location @big { return 413 "named\n"; }
        location /e/ { return 200; }
        location /g/ { error_page 413 = /up/; proxy_pass http://%[2]s; }
        location /up/ { proxy_pass http://%[2]s; }
    }
}`, dir, b.addr()), 1)
	tests := []struct {
		path, body string
		status     int
	}{
		{"/a/", "too large\n", 413},
		{"/b/", "big file page\n", 413},
		{"/c/", "replaced\n", 200},
		{"/d/", "named\n", 413},
		{"/e/", "<title>413 Request Entity Too Large</title>", 413},
		{"/g/", "up GET /up/\n", 200},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			status, _, body := rawExchange(t, in.listening()[0], "POST", tt.path, "Content-Length: 2000\r\n", strings.Repeat("x", 2000))
			if status != tt.status || !strings.Contains(body, tt.body) {
				t.Errorf("got %d %q, want %d with %q", status, body, tt.status, tt.body)
			}
			if strings.Contains(body, "content-length: 2000") || strings.Contains(body, "xxxx") {
				t.Errorf("the refused body reached the upstream: %q", body)
			}
		})
	}
	waitFor(t, "the access log lines", func() bool {
		log, _ := os.ReadFile(filepath.Join(in.dir, "access.log"))
		return strings.Contains(string(log), `"POST /a/ HTTP/1.1" 413 10`) && strings.Contains(string(log), `"POST /c/ HTTP/1.1" 200 9`)
	})
}

// TestProxyUnbufferedChunkedTooLarge: with proxy_request_buffering off, a
// chunked body whose chunk takes it past client_max_body_size is refused
// with 413 (and the location's error_page 413), as nginx 1.22.1 refuses it
// (recorded with one 2000-byte chunk, 500+600 and 15 chunks of 100 against
// 1k), where fulcrum answered 502 and logged "writev() failed (http: request
// body too large)"; the line is the engine's, while sending the request.
func TestProxyUnbufferedChunkedTooLarge(t *testing.T) {
	b := startBackend(t, "up")
	in := startFulcrum(t, fmt.Sprintf(`
events {}
http {
    client_max_body_size 1k;
    server {
        listen 127.0.0.1:0;
        location /page/ { proxy_request_buffering off; error_page 413 /413r; proxy_pass http://%[1]s; }
        location = /413r { internal; return 413 "too large\n"; }
        location /plain/ { proxy_request_buffering off; proxy_pass http://%[1]s; }
    }
}`, b.addr()), 1)
	chunked := func(sizes ...int) string {
		var s strings.Builder
		for _, n := range sizes {
			fmt.Fprintf(&s, "%x\r\n%s\r\n", n, strings.Repeat("x", n))
		}
		return s.String() + "0\r\n\r\n"
	}
	tests := []struct {
		name, path, body, want string
		status                 int
	}{
		{"one chunk, error_page", "/page/", chunked(2000), "too large\n", 413},
		{"second chunk, error_page", "/page/", chunked(500, 600), "too large\n", 413},
		{"many chunks", "/plain/", chunked(100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100), "<title>413 Request Entity Too Large</title>", 413},
		{"within the limit", "/plain/", chunked(500, 500), "up POST /plain/", 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, _, body := rawExchange(t, in.listening()[0], "POST", tt.path, "Transfer-Encoding: chunked\r\n", tt.body)
			if status != tt.status || !strings.Contains(body, tt.want) {
				t.Errorf("got %d %q, want %d with %q", status, body, tt.status, tt.want)
			}
		})
	}
	waitFor(t, "the error log line", func() bool {
		return in.logged("client intended to send too large chunked body: 500+600 bytes while sending request to upstream")
	})
}
