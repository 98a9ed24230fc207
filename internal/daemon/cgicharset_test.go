package daemon_test

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"fulcrum/internal/testutil"
)

// cgiCharsetAnswers are the heads the charset application answers with,
// by the last part of its REQUEST_URI parameter.
var cgiCharsetAnswers = map[string]string{
	"utf":  "Status: 200 OK\r\nX-Accel-Charset: utf-8\r\nContent-Type: application/json\r\n\r\n{}",
	"koi":  "Status: 200 OK\r\nX-Accel-Charset: koi8-r\r\nContent-Type: text/plain\r\n\r\nok",
	"what": "Status: 200 OK\r\nX-Accel-Charset: foo\r\nContent-Type: text/plain\r\n\r\nok",
	"two":  "Status: 200 OK\r\nX-Accel-Charset: koi8-r\r\nX-Accel-Charset: utf-8\r\nContent-Type: text/plain\r\n\r\nok",
	"acc":  "Status: 200 OK\r\nX-Accel-Charset: koi8-r\r\nX-Accel-Redirect: /static/x.txt\r\nContent-Type: text/plain\r\n\r\nok",
	"e404": "Status: 404 Not Found\r\nX-Accel-Charset: koi8-r\r\nContent-Type: text/plain\r\n\r\nok",
}

// cgiCharsetBackend starts an application speaking proto ("fastcgi",
// "scgi" or "uwsgi") that answers with cgiCharsetAnswers.
func cgiCharsetBackend(t *testing.T, proto string) string {
	return testutil.RawBackend(t, func(c net.Conn) {
		params, _, err := readParamsAndBody(bufio.NewReader(c), proto)
		if err != nil {
			return
		}
		answer := "Status: 200 OK\r\nContent-Type: text/plain\r\n\r\nnone"
		for _, kv := range params {
			if kv[0] == "REQUEST_URI" {
				if a, ok := cgiCharsetAnswers[kv[1][strings.LastIndexByte(kv[1], '/')+1:]]; ok {
					answer = a
				}
			}
		}
		if proto == "fastcgi" {
			c.Write(fcgiStdout([]byte(answer), 0, 0, 0))
			return
		}
		c.Write([]byte(answer))
	})
}

// TestCGIAccelCharset checks an application's X-Accel-Charset under
// fastcgi_pass, scgi_pass and uwsgi_pass, as nginx 1.22.1 answered the same
// heads (recorded with a Python FastCGI, SCGI and uwsgi responder): the
// rules of proxy_pass's (nginx's upstream header handler is common to all
// its upstream modules): the charset of any type where the configuration
// knows the name, over the location's charset, none for an unknown name,
// the last field winning, nothing under *_ignore_headers X-Accel-Charset,
// the field passed only with *_pass_header; and it stays for the answer of
// an X-Accel-Redirect or an intercepted error.
func TestCGIAccelCharset(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "static"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"x.txt", "err.txt"} {
		if err := os.WriteFile(filepath.Join(dir, "static", n), []byte("hi\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f, s, u := cgiCharsetBackend(t, "fastcgi"), cgiCharsetBackend(t, "scgi"), cgiCharsetBackend(t, "uwsgi")
	addr := startDaemon(t, dir, fmt.Sprintf(`
    charset_map koi8-r windows-1251 { C0 FE; }
    fastcgi_param REQUEST_URI $request_uri;
    scgi_param REQUEST_URI $request_uri;
    uwsgi_param REQUEST_URI $request_uri;
    server { listen 127.0.0.1:0; root %[4]s;
        location /static/ { }
        location /f/ { fastcgi_pass %[1]s; }
        location /s/ { scgi_pass %[2]s; }
        location /u/ { uwsgi_pass %[3]s; }
        location /fu/ { charset utf-8; fastcgi_pass %[1]s; }
        location /fk/ { charset koi8-r; fastcgi_pass %[1]s; }
        location /fi/ { charset koi8-r; fastcgi_ignore_headers X-Accel-Charset; fastcgi_pass %[1]s; }
        location /si/ { charset koi8-r; scgi_ignore_headers X-Accel-Charset; scgi_pass %[2]s; }
        location /ui/ { charset koi8-r; uwsgi_ignore_headers X-Accel-Charset; uwsgi_pass %[3]s; }
        location /fp/ { fastcgi_pass_header X-Accel-Charset; fastcgi_pass %[1]s; }
        location /fe/ { fastcgi_intercept_errors on; error_page 404 /static/err.txt; fastcgi_pass %[1]s; }
    }`, f, s, u, dir))
	tests := []struct{ path, want, field string }{
		{"/f/utf", "application/json; charset=utf-8", ""},
		{"/s/utf", "application/json; charset=utf-8", ""},
		{"/u/utf", "application/json; charset=utf-8", ""},
		{"/f/koi", "text/plain; charset=koi8-r", ""},
		{"/s/koi", "text/plain; charset=koi8-r", ""},
		{"/u/koi", "text/plain; charset=koi8-r", ""},
		{"/f/what", "text/plain", ""},
		{"/u/what", "text/plain", ""},
		{"/f/two", "text/plain; charset=utf-8", ""},
		{"/fu/koi", "text/plain; charset=koi8-r", ""},
		{"/fu/what", "text/plain", ""},
		{"/fu/none", "text/plain; charset=utf-8", ""},
		{"/fk/utf", "application/json; charset=utf-8", ""},
		{"/fi/utf", "application/json", ""},
		{"/si/utf", "application/json", ""},
		{"/ui/utf", "application/json", ""},
		{"/fi/koi", "text/plain; charset=koi8-r", ""},
		{"/fp/koi", "text/plain; charset=koi8-r", "X-Accel-Charset: koi8-r"},
		{"/f/acc", "text/plain; charset=koi8-r", ""},
		{"/fe/e404", "text/plain; charset=koi8-r", ""},
		{"/static/x.txt", "text/plain", ""},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			head := responseHead(t, addr, "GET "+tt.path+" HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
			var ct, field string
			for _, l := range head {
				if v, ok := strings.CutPrefix(l, "Content-Type: "); ok {
					ct = v
				}
				if strings.HasPrefix(l, "X-Accel-Charset") {
					field = l
				}
			}
			if ct != tt.want || field != tt.field {
				t.Errorf("Content-Type %q, X-Accel-Charset %q; want %q, %q", ct, field, tt.want, tt.field)
			}
		})
	}
}

// TestCGICharsetLogLine checks the line an unknown X-Accel-Charset from an
// application logs, as nginx 1.22.1 wrote it under fastcgi_pass (recorded
// with a Python FastCGI responder): the action of a response from an
// upstream and the application as the upstream, as under proxy_pass
// (nginx's upstream module writes both for every protocol).
func TestCGICharsetLogLine(t *testing.T) {
	dir := t.TempDir()
	f, s, u := cgiCharsetBackend(t, "fastcgi"), cgiCharsetBackend(t, "scgi"), cgiCharsetBackend(t, "uwsgi")
	addr := startDaemonLevel(t, dir, "info", fmt.Sprintf(`
    fastcgi_param REQUEST_URI $request_uri;
    scgi_param REQUEST_URI $request_uri;
    uwsgi_param REQUEST_URI $request_uri;
    server { listen 127.0.0.1:0; server_name a.test;
        location /f/ { fastcgi_pass %[1]s; }
        location /s/ { scgi_pass %[2]s; }
        location /u/ { uwsgi_pass %[3]s; }
    }`, f, s, u))
	tests := []struct{ path, upstream string }{
		{"/f/what", "fastcgi://" + f},
		{"/s/what", "scgi://" + s},
		{"/u/what", "uwsgi://" + u},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			responseHead(t, addr, "GET "+tt.path+" HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n")
			line := `unknown charset "foo" to override while reading response header from upstream, client: 127.0.0.1, server: a.test, request: "GET ` +
				tt.path + ` HTTP/1.1", upstream: "` + tt.upstream + `", host: "a.test"`
			waitForLogMatch(t, filepath.Join(dir, "error.log"), "error", regexp.QuoteMeta(line)+`\n`, line)
		})
	}
}
