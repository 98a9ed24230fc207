package daemon_test

import (
	"fmt"
	"io"
	"net"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"fulcrum/internal/testutil"
)

// TestCookieRegexMatchLimit runs Set-Cookie rewriting whose regex goes over
// its match bound through the daemon, compared with what nginx 1.22.1 sent
// for the same configuration and upstream answers (recorded with
// "^(a|aa)+(?!x)$" on "a"*40+"c", each followed by a rule "^a"): a
// proxy_cookie_flags regex fails the response with 500, whose page has
// the upstream's fields up to the failed Set-Cookie (as received) and
// none after it, and so does an error_page 500's answer; proxy_cookie_path,
// proxy_cookie_domain and proxy_redirect go on to their next rule. Each
// logs the alert "while reading response header from upstream".
func TestCookieRegexMatchLimit(t *testing.T) {
	long := strings.Repeat("a", 40) + "c"
	backend := testutil.RawBackend(t, func(c net.Conn) {
		buf := make([]byte, 4096)
		n, _ := c.Read(buf)
		var fields string
		status := "200 OK"
		switch path := strings.Fields(string(buf[:n]))[1]; {
		case strings.HasPrefix(path, "/flags"):
			fields = "X-Before: 1\r\nSet-Cookie: ok=1\r\nSet-Cookie: " + long + "=v; Path=/\r\nX-After: 2\r\nSet-Cookie: late=1\r\n"
		case path == "/path":
			fields = "Set-Cookie: n=v; Path=" + long + "\r\n"
		case path == "/domain":
			fields = "Set-Cookie: n=v; Domain=" + long + "\r\n"
		case path == "/redirect":
			status, fields = "302 Found", "Location: http://x/"+long+"\r\n"
		}
		_, _ = io.WriteString(c, "HTTP/1.1 "+status+"\r\nContent-Length: 3\r\nConnection: close\r\n"+fields+"\r\nup\n")
	})
	dir := t.TempDir()
	const redos = `~^(a|aa)+(?!x)$`
	addr := startDaemonLevel(t, dir, "info", fmt.Sprintf(`
    access_log off;
    server {
        listen 127.0.0.1:0;
        location /flags { proxy_pass http://%[1]s; proxy_cookie_flags %[2]s secure; proxy_cookie_flags ~^a httponly; }
        location /path { proxy_pass http://%[1]s; proxy_cookie_path %[2]s /first; proxy_cookie_path ~^a /second; }
        location /domain { proxy_pass http://%[1]s; proxy_cookie_domain %[2]s first; proxy_cookie_domain ~^a second; }
        location /redirect { proxy_pass http://%[1]s; proxy_redirect ~^http://x/(a|aa)+(?!x)$ /first; proxy_redirect ~^http://x/a /second; }
        location /flagsint {
            proxy_pass http://%[1]s/flags; proxy_cookie_flags %[2]s secure;
            proxy_intercept_errors on; error_page 500 = /err;
        }
        location = /err { return 200 "error page\n"; }
    }`, backend, redos))
	_, port, _ := net.SplitHostPort(addr)
	page500 := "<html>\r\n<head><title>500 Internal Server Error</title></head>"
	tests := []struct{ path, head, body string }{
		{"/flags", "HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/html\r\nContent-Length: N\r\nConnection: close\r\nX-Before: 1\r\nSet-Cookie: ok=1\r\nSet-Cookie: " + long + "=v; Path=/\r\n", page500},
		{"/flagsint", "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: N\r\nConnection: close\r\nX-Before: 1\r\nSet-Cookie: ok=1\r\nSet-Cookie: " + long + "=v; Path=/\r\n", "error page\n"},
		{"/path", "HTTP/1.1 200 OK\r\nContent-Length: N\r\nConnection: close\r\nSet-Cookie: n=v; Path=/second\r\n", "up\n"},
		{"/domain", "HTTP/1.1 200 OK\r\nContent-Length: N\r\nConnection: close\r\nSet-Cookie: n=v; Domain=second\r\n", "up\n"},
		{"/redirect", "HTTP/1.1 302 Found\r\nContent-Length: N\r\nLocation: http://h:" + port + "/second\r\nConnection: close\r\n", "up\n"},
	}
	unstable := regexp.MustCompile(`(?m)^(Date|Server): [^\r]*\r\n`)
	length := regexp.MustCompile(`(?m)^Content-Length: \d+\r\n`)
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			reply := rawReply(t, addr, "GET "+tt.path+" HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
			head, body, _ := strings.Cut(reply, "\r\n\r\n")
			head = length.ReplaceAllString(unstable.ReplaceAllString(head+"\r\n", ""), "Content-Length: N\r\n")
			if head != tt.head || !strings.HasPrefix(body, tt.body) {
				t.Errorf("answer\n%q\n%q\nwant\n%q\n%q...", head, body, tt.head, tt.body)
			}
			subject := long
			if tt.path == "/redirect" {
				subject = "http://x/" + long
			}
			waitLogged(t, filepath.Join(dir, "error.log"), "[alert]", `regular expression match limit exceeded (20ms) on "`+subject+`"`,
				`while reading response header from upstream, client: 127.0.0.1, server: , request: "GET `+tt.path+` HTTP/1.1"`)
		})
	}
}
