package daemon_test

import (
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
)

// TestRedirectErrorPage: a redirect fulcrum makes (return, rewrite ...
// permanent, the 301 that adds a proxying location's slash) is taken by an
// error_page for its code as any other status, as nginx's special response
// handler takes it (nginx-tests' rewrite.t "error 302 return 200 text").
// Recorded with nginx 1.22.1 for each row: the page's body goes out with
// the redirect's status (or error_page's =code) and its Location; a page
// that is a URL redirects there. fulcrum sent its own redirect page.
func TestRedirectErrorPage(t *testing.T) {
	addr := startDaemon(t, t.TempDir(), `
    access_log off;
    server {
        listen 127.0.0.1:0;
        location /text { return 200 "text\n"; }
        location /a { error_page 302 /text; return 302 x; }
        location /b { error_page 301 /text; rewrite ^ /y permanent; }
        location /c { error_page 302 = /text; return 302 /z; }
        location /d { error_page 302 =200 /text; return 302 /z; }
        location /e { error_page 302 @n; return 302 /z; }
        location @n { return 200 "named\n"; }
        location /f { error_page 302 http://example.com/; return 302 /z; }
        location /g/ { error_page 301 /text; proxy_pass http://127.0.0.1:9; }
        location /h { return 302 /z; }
    }`)
	_, port, _ := net.SplitHostPort(addr)
	abs := func(p string) string { return "http://a:" + port + p }
	tests := []struct{ path, status, location, body string }{
		{"/a", "302 Moved Temporarily", "x", "text\n"},
		{"/b", "301 Moved Permanently", abs("/y"), "text\n"},
		{"/c", "200 OK", abs("/z"), "text\n"},
		{"/d", "200 OK", abs("/z"), "text\n"},
		{"/e", "302 Moved Temporarily", abs("/z"), "named\n"},
		{"/f", "302 Moved Temporarily", "http://example.com/", "<head><title>302 Found</title></head>"},
		{"/g", "301 Moved Permanently", abs("/g/"), "text\n"},
		{"/h", "302 Moved Temporarily", abs("/z"), "<head><title>302 Found</title></head>"}, // no error_page
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			fmt.Fprintf(c, "GET %s HTTP/1.0\r\nHost: a\r\n\r\n", tc.path)
			b, _ := io.ReadAll(c)
			head, body, _ := strings.Cut(string(b), "\r\n\r\n")
			if !strings.HasPrefix(head, "HTTP/1.1 "+tc.status+"\r\n") || !strings.Contains(head+"\r\n", "\r\nLocation: "+tc.location+"\r\n") || !strings.Contains(body, tc.body) {
				t.Errorf("got %q, want %s, Location: %s, a body with %q", b, tc.status, tc.location, tc.body)
			}
		})
	}
}
