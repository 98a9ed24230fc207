package daemon_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// charsetBackend answers with the Content-Type, status and Content-Encoding
// its query asks for (ct=, s=, ce=); without ct= it sends no Content-Type.
func charsetBackend(t *testing.T) string {
	t.Helper()
	b := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := url.Values{} // by hand: url.Query drops a pair with a ';'
		for _, kv := range strings.Split(r.URL.RawQuery, "&") {
			k, v, _ := strings.Cut(kv, "=")
			v, _ = url.QueryUnescape(v)
			q[k] = append(q[k], v)
		}
		w.Header()["Content-Type"] = nil // no sniffed type
		if ct, ok := q["ct"]; ok {
			w.Header()["Content-Type"] = ct
		}
		if ce := q.Get("ce"); ce != "" {
			w.Header().Set("Content-Encoding", ce)
		}
		code := 200
		if s := q.Get("s"); s != "" {
			code, _ = strconv.Atoi(s)
		}
		w.WriteHeader(code)
		if code != 204 && code != 304 {
			io.WriteString(w, "body\n")
		}
	}))
	t.Cleanup(b.Close)
	return strings.TrimPrefix(b.URL, "http://")
}

// TestCharset checks the Content-Type fulcrum sends under charset and its
// kin against what nginx 1.22.1 sent for the same configuration and
// requests (curl -si against both): static files, return texts, its own
// error pages, redirects (301 and 302 without a charset), proxied
// responses with and without their own charset, override_charset,
// charset_types, a variable, HEAD, and gzip and add_header alongside.
func TestCharset(t *testing.T) {
	be := charsetBackend(t)
	addr, _ := runDaemon(t, func(dir string) string {
		if err := os.MkdirAll(filepath.Join(dir, "html"), 0o755); err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{"a.html", "a.txt", "a.css", "a.json"} {
			if err := os.WriteFile(filepath.Join(dir, "html", f), []byte("x\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return fmt.Sprintf(`types { text/html html; text/plain txt; text/css css; application/json json; }
server {
    listen 127.0.0.1:0;
    root %s/html;
    charset UTF-8;
    location /p/ { proxy_pass http://%s/; }
    location /po/ { override_charset on; proxy_pass http://%s/; }
    location /r200 { return 200 "text"; }
    location /r301 { return 301 /x; }
    location /r302 { return 302 /x; }
    location /r303 { return 303 /x; }
    location /r404 { return 404; }
    location /lower { charset utf-8; return 200 "x"; }
    location /off { charset off; return 200 "x"; }
    location /var { charset $arg_cs; return 200 "x"; }
    location /types/ { charset_types text/css; alias %s/html/; }
    location /star/ { charset_types *; alias %s/html/; }
    location /same { source_charset utf-8; return 200 "x"; }
    location /gz { gzip on; gzip_min_length 1; return 200 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"; }
    location /ah { add_header X-A 1; expires 1h; return 200 "x"; }
}`, dir, be, be, dir, dir)
	})
	tests := []struct {
		method, uri, extra string
		status             int
		ct                 string // "" for no Content-Type field
	}{
		{"GET", "/a.html", "", 200, "text/html; charset=UTF-8"},
		{"HEAD", "/a.html", "", 200, "text/html; charset=UTF-8"},
		{"GET", "/a.txt", "", 200, "text/plain; charset=UTF-8"},
		{"GET", "/a.css", "", 200, "text/css"},
		{"GET", "/a.json", "", 200, "application/json"},
		{"GET", "/nofile", "", 404, "text/html; charset=UTF-8"},
		{"GET", "/r200", "", 200, "text/plain; charset=UTF-8"},
		{"GET", "/r301", "", 301, "text/html"},
		{"GET", "/r302", "", 302, "text/html"},
		{"GET", "/r303", "", 303, "text/html; charset=UTF-8"},
		{"GET", "/r404", "", 404, "text/html; charset=UTF-8"},
		{"GET", "/lower", "", 200, "text/plain; charset=UTF-8"}, // the first spelling
		{"GET", "/off", "", 200, "text/plain"},
		{"GET", "/var?cs=KOI8-R", "", 200, "text/plain; charset=KOI8-R"},
		{"GET", "/var?cs=", "", 200, "text/plain"},
		{"GET", "/types/a.css", "", 200, "text/css; charset=UTF-8"},
		{"GET", "/types/a.txt", "", 200, "text/plain"},
		{"GET", "/types/a.html", "", 200, "text/html; charset=UTF-8"},
		{"GET", "/star/a.json", "", 200, "application/json; charset=UTF-8"},
		{"GET", "/same", "", 200, "text/plain; charset=UTF-8"},
		{"GET", "/gz", "Accept-Encoding: gzip\r\n", 200, "text/plain; charset=UTF-8"},
		{"GET", "/ah", "", 200, "text/plain; charset=UTF-8"},
		{"GET", "/p/?ct=text/html", "", 200, "text/html; charset=UTF-8"},
		{"GET", "/p/?ct=TEXT/HTML", "", 200, "TEXT/HTML; charset=UTF-8"},
		{"GET", "/p/", "", 200, ""},
		{"GET", "/p/?ct=text/html;%20charset=koi8-r", "", 200, "text/html; charset=koi8-r"},
		{"GET", "/p/?ct=text/html;charset=koi8-r", "", 200, "text/html;charset=koi8-r"},
		{"GET", "/p/?ct=text/html;%20charset=", "", 200, "text/html; charset="},
		{"GET", "/p/?ct=text/html&s=204", "", 204, "text/html; charset=UTF-8"},
		{"GET", "/p/?ct=text/html&s=301", "", 301, "text/html"},
		{"GET", "/p/?ct=text/html&ce=br", "", 200, "text/html; charset=UTF-8"},
		{"GET", "/po/?ct=text/html;%20charset=koi8-r", "", 200, "text/html; charset=koi8-r"},
		{"GET", "/po/?ct=text/html;%20charset=utf-8", "", 200, "text/html; charset=UTF-8"},
		{"GET", "/po/?ct=text/html;%20charset=%22utf-8%22", "", 200, "text/html; charset=UTF-8"},
		{"GET", "/po/?ct=text/html;%20charset=UTF-8&s=302", "", 302, "text/html"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.uri, func(t *testing.T) {
			resp, _ := exchange(t, addr, tt.method+" "+tt.uri+" HTTP/1.1\r\nHost: a\r\nConnection: close\r\n"+tt.extra+"\r\n")
			got, has := resp.Header["Content-Type"]
			if resp.StatusCode != tt.status || tt.ct == "" && has || tt.ct != "" && (!has || got[0] != tt.ct) {
				t.Errorf("status %d, Content-Type %q; want %d, %q", resp.StatusCode, got, tt.status, tt.ct)
			}
		})
	}
}

// TestCharsetVariableNotFound: a charset variable that is not found closes
// the connection without an answer, as nginx does (its header filter
// fails), and the log has the status meant.
func TestCharsetVariableNotFound(t *testing.T) {
	addr, dir := runDaemon(t, func(dir string) string {
		return fmt.Sprintf(`log_format st "$status $body_bytes_sent";
server { listen 127.0.0.1:0; access_log %s/access.log st buffer=0; location / { charset $arg_cs; return 200 "x"; } }`, dir)
	})
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	if resp, err := http.ReadResponse(bufio.NewReader(c), nil); err == nil {
		t.Fatalf("got a response %d, want the connection closed", resp.StatusCode)
	}
	logged, err := os.ReadFile(filepath.Join(dir, "access.log"))
	if err != nil || string(logged) != "200 0\n" {
		t.Errorf("access log %q (%v), want %q", logged, err, "200 0\n")
	}
}

// TestCharsetNoMapLogged: override_charset on with a proxied charset other
// than charset's (and no charset_map) leaves the response as it is and logs
// nginx's error.
func TestCharsetNoMapLogged(t *testing.T) {
	be := charsetBackend(t)
	addr, dir := runDaemon(t, func(string) string {
		return fmt.Sprintf(`server { listen 127.0.0.1:0; charset utf-8; override_charset on; location / { proxy_pass http://%s; } }`, be)
	})
	resp, _ := exchange(t, addr, "GET /?ct=text/html;%20charset=koi8-r HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
	if got := resp.Header.Get("Content-Type"); got != "text/html; charset=koi8-r" {
		t.Errorf("Content-Type %q", got)
	}
	logged, _ := os.ReadFile(filepath.Join(dir, "error.log"))
	if want := `[error]`; !strings.Contains(string(logged), want) ||
		!strings.Contains(string(logged), `no "charset_map" between the charsets "koi8-r" and "utf-8"`) {
		t.Errorf("error log %q lacks nginx's no charset_map error", logged)
	}
}
