package daemon_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fulcrum/internal/testutil"
)

// headLines sends one request (with Connection: close) and returns the
// response head's lines, status line first.
func headLines(t *testing.T, addr, raw string) []string {
	t.Helper()
	b := rawReply(t, addr, raw)
	head, _, ok := strings.Cut(b, "\r\n\r\n")
	if !ok {
		t.Fatalf("no complete head in %q", b)
	}
	return strings.Split(head, "\r\n")
}

// TestExpiresServe runs expires through the daemon over real sockets, each
// case's head compared, field by field and in order, with what nginx 1.22.1
// sent for the same configuration: static files (200, 304, 206, 416, a
// directory's 301, a 404), return, proxied responses whose own Expires and
// Cache-Control fields are replaced in place, values from a map on
// $sent_http_content_type, if blocks, inheritance and add_header. "NOW+N"
// stands for the response's own Date plus N seconds.
func TestExpiresServe(t *testing.T) {
	backend := testutil.RawBackend(t, func(c net.Conn) {
		buf := make([]byte, 4096)
		n, _ := c.Read(buf)
		path := strings.Fields(string(buf[:n]))[1]
		var b strings.Builder
		status := "200 OK"
		if strings.Contains(path, "404") {
			status = "404 Not Found"
		}
		fmt.Fprintf(&b, "HTTP/1.1 %s\r\n", status)
		if strings.Contains(path, "cc") {
			b.WriteString("cache-control: private\r\nX-Mid: 1\r\nCache-Control: no-store\r\n")
		}
		if strings.Contains(path, "ex") {
			b.WriteString("expires: Wed, 21 Oct 2015 07:28:00 GMT\r\n")
		}
		if strings.Contains(path, "lm") {
			b.WriteString("Last-Modified: Wed, 01 Jan 2020 00:00:00 GMT\r\n")
		}
		if strings.Contains(path, "css") {
			b.WriteString("Content-Type: text/css\r\n")
		}
		b.WriteString("X-End: e\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n")
		_, _ = io.WriteString(c, b.String())
	})
	addr, dir := runDaemon(t, func(dir string) string {
		return fmt.Sprintf(`
    access_log off;
    server_tokens off;
    map $sent_http_content_type $exp {
        default    off;
        text/css   max;
        text/plain 1h;
        text/html  bogus;
    }
    server {
        listen 127.0.0.1:0;
        root %[1]s/html;
        expires 30d;
        location /h1/ { expires 1h; alias %[1]s/html/; }
        location /mod/ { expires modified 1h; alias %[1]s/html/; }
        location /inherit/ { alias %[1]s/html/; }
        location /off/ { expires off; alias %[1]s/html/; }
        location /ah/ { expires 1h; add_header Cache-Control public; add_header x-a a; alias %[1]s/html/; }
        location /map/ { expires $exp; alias %[1]s/html/; }
        location /arg/ { expires $arg_e; alias %[1]s/html/; }
        location /if/ { if ($arg_x) { expires epoch; } expires 1h; alias %[1]s/html/; }
        location = /ret { expires epoch; return 200 "r\n"; }
        location = /ret404 { return 404; }
        location = /ret302 { expires max; return 302 /x; }
        location /p/ { expires 1h; proxy_pass http://%[2]s/; }
        location /pmod/ { expires modified 1h; proxy_pass http://%[2]s/; }
        location /pah/ { expires max; add_header Cache-Control public; add_header x-a a; proxy_pass http://%[2]s/; }
        location /pmap/ { expires $exp; proxy_pass http://%[2]s/; }
    }`, dir, backend)
	})
	html := filepath.Join(dir, "html")
	if err := os.MkdirAll(filepath.Join(html, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(html, "a.txt")
	mtime := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	writeDated(t, file, []byte("hello\n"), mtime)
	const (
		lm   = "Last-Modified: Thu, 02 Jan 2020 03:04:05 GMT"
		etag = `ETag: "5e0d5da5-6"`
	)
	file200 := func(fields ...string) []string {
		out := []string{"HTTP/1.1 200 OK", "Server: fulcrum", "Date", "Content-Type: text/plain", "Content-Length: 6", lm, "Connection: close", etag}
		return append(append(out, fields...), "Accept-Ranges: bytes")
	}
	tests := []struct {
		name, req string
		want      []string
	}{
		{"1h", "GET /h1/a.txt", file200("Expires: NOW+3600", "Cache-Control: max-age=3600")},
		{"server's 30d inherited", "GET /inherit/a.txt", file200("Expires: NOW+2592000", "Cache-Control: max-age=2592000")},
		{"off", "GET /off/a.txt", file200()},
		{"modified counts from the file's time", "GET /mod/a.txt", file200("Expires: Thu, 02 Jan 2020 04:04:05 GMT", "Cache-Control: no-cache")},
		{"add_header after expires, spelt as written", "GET /ah/a.txt",
			file200("Expires: NOW+3600", "Cache-Control: max-age=3600", "Cache-Control: public", "x-a: a")},
		{"map: text/plain is 1h", "GET /map/a.txt", file200("Expires: NOW+3600", "Cache-Control: max-age=3600")},
		{"variable max", "GET /arg/a.txt?e=max", file200("Expires: Thu, 31 Dec 2037 23:55:55 GMT", "Cache-Control: max-age=315360000")},
		{"variable -1", "GET /arg/a.txt?e=-1", file200("Expires: NOW-1", "Cache-Control: no-cache")},
		{"variable off", "GET /arg/a.txt?e=off", file200()},
		{"variable nginx cannot read", "GET /arg/a.txt?e=bogus", file200()},
		{"variable empty", "GET /arg/a.txt", file200()},
		{"if block's own", "GET /if/a.txt?x=1", file200("Expires: Thu, 01 Jan 1970 00:00:01 GMT", "Cache-Control: no-cache")},
		{"location around the if", "GET /if/a.txt", file200("Expires: NOW+3600", "Cache-Control: max-age=3600")},
		{"304", "GET /mod/a.txt\r\nIf-Modified-Since: Thu, 02 Jan 2020 03:04:05 GMT",
			[]string{"HTTP/1.1 304 Not Modified", "Server: fulcrum", "Date", lm, "Connection: close", etag,
				"Expires: Thu, 02 Jan 2020 04:04:05 GMT", "Cache-Control: no-cache"}},
		{"206: Content-Range after", "GET /ah/a.txt\r\nRange: bytes=0-1",
			[]string{"HTTP/1.1 206 Partial Content", "Server: fulcrum", "Date", "Content-Type: text/plain", "Content-Length: 2", lm, "Connection: close", etag,
				"Expires: NOW+3600", "Cache-Control: max-age=3600", "Cache-Control: public", "x-a: a", "Content-Range: bytes 0-1/6"}},
		{"416 went through the filter as a 200", "GET /ah/a.txt\r\nRange: bytes=100-200",
			[]string{"HTTP/1.1 416 Requested Range Not Satisfiable", "Server: fulcrum", "Date", "Content-Type: text/html", "Content-Length: 192", "Connection: close",
				"Expires: NOW+3600", "Cache-Control: max-age=3600", "Cache-Control: public", "x-a: a", "Content-Range: bytes */6"}},
		{"directory's 301", "GET /h1/sub",
			[]string{"HTTP/1.1 301 Moved Permanently", "Server: fulcrum", "Date", "Content-Type: text/html", "Content-Length: 164",
				"Location: http://" + addr + "/h1/sub/", "Connection: close", "Expires: NOW+3600", "Cache-Control: max-age=3600"}},
		{"404 untouched", "GET /h1/nothere",
			[]string{"HTTP/1.1 404 Not Found", "Server: fulcrum", "Date", "Content-Type: text/html", "Content-Length: 148", "Connection: close"}},
		{"return", "GET /ret",
			[]string{"HTTP/1.1 200 OK", "Server: fulcrum", "Date", "Content-Type: text/plain", "Content-Length: 2", "Connection: close",
				"Expires: Thu, 01 Jan 1970 00:00:01 GMT", "Cache-Control: no-cache"}},
		{"return 404 untouched", "GET /ret404",
			[]string{"HTTP/1.1 404 Not Found", "Server: fulcrum", "Date", "Content-Type: text/html", "Content-Length: 148", "Connection: close"}},
		{"return 302", "GET /ret302",
			[]string{"HTTP/1.1 302 Moved Temporarily", "Server: fulcrum", "Date", "Content-Type: text/html", "Content-Length: 140",
				"Location: http://" + addr + "/x", "Connection: close", "Expires: Thu, 31 Dec 2037 23:55:55 GMT", "Cache-Control: max-age=315360000"}},
		{"upstream's fields replaced in place, its second Cache-Control dropped", "GET /p/cc/ex",
			[]string{"HTTP/1.1 200 OK", "Server: fulcrum", "Date", "Content-Length: 3", "Connection: close",
				"cache-control: max-age=3600", "X-Mid: 1", "expires: NOW+3600", "X-End: e"}},
		{"upstream without them: added after its fields", "GET /p/plain",
			[]string{"HTTP/1.1 200 OK", "Server: fulcrum", "Date", "Content-Length: 3", "Connection: close",
				"X-End: e", "Expires: NOW+3600", "Cache-Control: max-age=3600"}},
		{"upstream 404 untouched", "GET /p/404/cc/ex",
			[]string{"HTTP/1.1 404 Not Found", "Server: fulcrum", "Date", "Content-Length: 3", "Connection: close",
				"cache-control: private", "X-Mid: 1", "Cache-Control: no-store", "expires: Wed, 21 Oct 2015 07:28:00 GMT", "X-End: e"}},
		{"modified counts from the upstream's Last-Modified", "GET /pmod/lm",
			[]string{"HTTP/1.1 200 OK", "Server: fulcrum", "Date", "Content-Length: 3", "Connection: close",
				// An upstream's Last-Modified keeps its place among its fields.
				"Last-Modified: Wed, 01 Jan 2020 00:00:00 GMT", "X-End: e", "Expires: Wed, 01 Jan 2020 01:00:00 GMT", "Cache-Control: no-cache"}},
		{"upstream with add_header", "GET /pah/cc/ex",
			[]string{"HTTP/1.1 200 OK", "Server: fulcrum", "Date", "Content-Length: 3", "Connection: close",
				"cache-control: max-age=315360000", "X-Mid: 1", "expires: Thu, 31 Dec 2037 23:55:55 GMT", "X-End: e", "Cache-Control: public", "x-a: a"}},
		{"map on the upstream's Content-Type", "GET /pmap/css",
			[]string{"HTTP/1.1 200 OK", "Server: fulcrum", "Date", "Content-Type: text/css", "Content-Length: 3", "Connection: close",
				"X-End: e", "Expires: Thu, 31 Dec 2037 23:55:55 GMT", "Cache-Control: max-age=315360000"}},
		{"map default off", "GET /pmap/plain",
			[]string{"HTTP/1.1 200 OK", "Server: fulcrum", "Date", "Content-Length: 3", "Connection: close", "X-End: e"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			line, fields, _ := strings.Cut(tt.req, "\r\n")
			raw := line + " HTTP/1.1\r\nHost: " + addr + "\r\nConnection: close\r\n"
			if fields != "" {
				raw += fields + "\r\n"
			}
			got := headLines(t, addr, raw+"\r\n")
			var date time.Time
			for i, l := range got {
				if v, ok := strings.CutPrefix(l, "Date: "); ok {
					d, err := http.ParseTime(v)
					if err != nil {
						t.Fatalf("Date %q: %v", v, err)
					}
					date, got[i] = d, "Date"
				}
			}
			want := make([]string, len(tt.want))
			for i, l := range tt.want {
				if name, off, ok := strings.Cut(l, ": NOW"); ok {
					var n int64
					fmt.Sscan(off, &n)
					l = name + ": " + date.Add(time.Duration(n)*time.Second).UTC().Format(http.TimeFormat)
				}
				want[i] = l
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("head\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}
