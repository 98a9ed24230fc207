package daemon_test

import (
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fulcrum/internal/testutil"
)

// TestAddHeaderValidators: add_header ETag and add_header Last-Modified
// replace the response's own field instead of adding a second one, as
// nginx's headers filter does (ngx_http_set_response_header,
// ngx_http_set_last_modified): in place and spelt as configured (the last
// of an upstream's several), a static file's Last-Modified (the header
// filter's own) after the other fields; an empty value removes the field.
// nginx's range filter runs after that filter, so If-Range is compared with
// the replaced values, and its own 416 page clears them. Every head is what
// nginx 1.22.1 sent for the same configuration, recorded with
// scripts/static-filters-nginx-sweep.py (there for a 2000-byte file: the
// lengths here are this 6-byte file's).
func TestAddHeaderValidators(t *testing.T) {
	backend := testutil.RawBackend(t, func(c net.Conn) {
		buf := make([]byte, 4096)
		n, _ := c.Read(buf)
		path := strings.Fields(string(buf[:n]))[1]
		var b strings.Builder
		b.WriteString("HTTP/1.1 200 OK\r\n")
		if strings.Contains(path, "lm") {
			b.WriteString("Last-Modified: Wed, 01 Jan 2020 00:00:00 GMT\r\nETag: \"abc\"\r\nETag: \"second\"\r\n")
		}
		b.WriteString("X-End: e\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n")
		_, _ = io.WriteString(c, b.String())
	})
	addr, dir := runDaemon(t, func(dir string) string {
		return fmt.Sprintf(`
    access_log off;
    server_tokens off;
    server {
        listen 127.0.0.1:0;
        root %[1]s/html;
        location /ahe/ { alias %[1]s/html/; add_header ETag '"x"'; add_header Last-Modified yesterday; add_header X-After z; }
        location /ahv/ { alias %[1]s/html/; add_header etag '"y"'; add_header Last-Modified "Wed, 01 Jan 2020 00:00:00 GMT"; add_header X-After z; }
        location /ahd/ { alias %[1]s/html/; add_header ETag ""; add_header Last-Modified ""; add_header X-After z; }
        location /ahea/ { alias %[1]s/html/; add_header ETag '"x"' always; add_header Last-Modified yesterday always; add_header X-N n; }
        location /ahd2/ { alias %[1]s/html/; add_header ETag '"1"'; add_header ETag '"2"'; add_header Last-Modified a; add_header Last-Modified b; }
        location /pahe/ { proxy_pass http://%[2]s/; add_header ETag '"x"'; add_header last-modified yesterday; add_header X-After z; }
        location /pahd/ { proxy_pass http://%[2]s/; add_header ETag ""; add_header Last-Modified ""; add_header X-After z; }
    }`, dir, backend)
	})
	html := filepath.Join(dir, "html")
	if err := os.MkdirAll(html, 0o755); err != nil {
		t.Fatal(err)
	}
	writeDated(t, filepath.Join(html, "a.txt"), []byte("hello\n"), time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC))
	const fileTag = `"5e0d5da5-6"`
	head := func(status, length string, fields ...string) []string {
		out := []string{"HTTP/1.1 " + status, "Server: fulcrum", "Date", "Content-Type: text/plain", "Content-Length: " + length, "Connection: close"}
		return append(out, fields...)
	}
	proxied := func(fields ...string) []string {
		return append([]string{"HTTP/1.1 200 OK", "Server: fulcrum", "Date", "Content-Length: 3", "Connection: close"}, fields...)
	}
	tests := []struct {
		name, req string
		want      []string
	}{
		{"ETag in place, Last-Modified after the others", "GET /ahe/a.txt",
			head("200 OK", "6", `ETag: "x"`, "Last-Modified: yesterday", "X-After: z", "Accept-Ranges: bytes")},
		{"304 from the file's tag, then replaced", "GET /ahe/a.txt\r\nIf-None-Match: " + fileTag,
			[]string{"HTTP/1.1 304 Not Modified", "Server: fulcrum", "Date", "Connection: close", `ETag: "x"`, "Last-Modified: yesterday", "X-After: z"}},
		{"If-Range matches the configured tag", "GET /ahe/a.txt\r\nRange: bytes=0-1\r\nIf-Range: \"x\"",
			head("206 Partial Content", "2", `ETag: "x"`, "Last-Modified: yesterday", "X-After: z", "Content-Range: bytes 0-1/6")},
		{"If-Range with the file's own tag: the whole file", "GET /ahe/a.txt\r\nRange: bytes=0-1\r\nIf-Range: " + fileTag,
			head("200 OK", "6", `ETag: "x"`, "Last-Modified: yesterday", "X-After: z", "Accept-Ranges: bytes")},
		{"416 page clears them", "GET /ahe/a.txt\r\nRange: bytes=100-",
			[]string{"HTTP/1.1 416 Requested Range Not Satisfiable", "Server: fulcrum", "Date", "Content-Type: text/html", "Content-Length: 192", "Connection: close",
				"X-After: z", "Content-Range: bytes */6"}},
		{"416 page: the always ones again, after Content-Range", "GET /ahea/a.txt\r\nRange: bytes=100-",
			[]string{"HTTP/1.1 416 Requested Range Not Satisfiable", "Server: fulcrum", "Date", "Content-Type: text/html", "Content-Length: 192", "Connection: close",
				"X-N: n", "Content-Range: bytes */6", `ETag: "x"`, "Last-Modified: yesterday"}},
		{"always on a 404", "GET /ahea/nothere",
			[]string{"HTTP/1.1 404 Not Found", "Server: fulcrum", "Date", "Content-Type: text/html", "Content-Length: 148", "Connection: close",
				`ETag: "x"`, "Last-Modified: yesterday"}},
		{"spelt as configured, a date", "GET /ahv/a.txt",
			head("200 OK", "6", `etag: "y"`, "Last-Modified: Wed, 01 Jan 2020 00:00:00 GMT", "X-After: z", "Accept-Ranges: bytes")},
		{"If-Range matches the configured date", "GET /ahv/a.txt\r\nRange: bytes=0-1\r\nIf-Range: Wed, 01 Jan 2020 00:00:00 GMT",
			head("206 Partial Content", "2", `etag: "y"`, "Last-Modified: Wed, 01 Jan 2020 00:00:00 GMT", "X-After: z", "Content-Range: bytes 0-1/6")},
		{"If-Range with the file's date: the whole file", "GET /ahv/a.txt\r\nRange: bytes=0-1\r\nIf-Range: Thu, 02 Jan 2020 03:04:05 GMT",
			head("200 OK", "6", `etag: "y"`, "Last-Modified: Wed, 01 Jan 2020 00:00:00 GMT", "X-After: z", "Accept-Ranges: bytes")},
		{"empty values remove both", "GET /ahd/a.txt",
			head("200 OK", "6", "X-After: z", "Accept-Ranges: bytes")},
		{"empty values: no tag for If-Range", "GET /ahd/a.txt\r\nRange: bytes=0-1\r\nIf-Range: " + fileTag,
			head("200 OK", "6", "X-After: z", "Accept-Ranges: bytes")},
		{"the last of two wins", "GET /ahd2/a.txt",
			head("200 OK", "6", `ETag: "2"`, "Last-Modified: b", "Accept-Ranges: bytes")},
		{"upstream's: in place, the last ETag replaced", "GET /pahe/lm",
			proxied("last-modified: yesterday", `ETag: "abc"`, `ETag: "x"`, "X-End: e", "X-After: z")},
		{"upstream without them: added", "GET /pahe/plain",
			proxied("X-End: e", `ETag: "x"`, "last-modified: yesterday", "X-After: z")},
		{"upstream's removed: the last ETag only", "GET /pahd/lm",
			proxied(`ETag: "abc"`, "X-End: e", "X-After: z")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			line, fields, _ := strings.Cut(tt.req, "\r\n")
			raw := line + " HTTP/1.1\r\nHost: " + addr + "\r\nConnection: close\r\n"
			if fields != "" {
				raw += fields + "\r\n"
			}
			got := headLines(t, addr, raw+"\r\n")
			for i, l := range got {
				if strings.HasPrefix(l, "Date: ") {
					got[i] = "Date"
				}
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("head\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}
