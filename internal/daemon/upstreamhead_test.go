package daemon_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http/httputil"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"fulcrum/internal/testutil"
)

// rawHeadBackend answers every request with the request line and field lines
// it received, in order and spelled as sent, one per line: what a proxy put
// on the wire, which net/http's header map would not show (order, repeats).
// It reads a chunked body, else one by the first Content-Length, and closes
// after each answer.
func rawHeadBackend(t *testing.T) string {
	t.Helper()
	return testutil.RawBackend(t, answerRawHead)
}

// answerRawHead serves one request of rawHeadBackend (RawBackend closes
// the connection when it returns).
func answerRawHead(c net.Conn) {
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(c)
	var lines []string
	length, chunked := -1, false
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			break
		}
		name, value, _ := strings.Cut(line, ":")
		switch {
		case length < 0 && strings.EqualFold(name, "Content-Length"):
			length, _ = strconv.Atoi(strings.TrimSpace(value))
		case strings.EqualFold(name, "Transfer-Encoding") && strings.TrimSpace(value) == "chunked":
			chunked = true
		}
		lines = append(lines, line)
	}
	var body []byte
	if chunked {
		var err error
		if body, err = io.ReadAll(httputil.NewChunkedReader(br)); err != nil {
			return
		}
	} else {
		body = make([]byte, max(length, 0))
		if _, err := io.ReadFull(br, body); err != nil {
			return
		}
	}
	out := strings.Join(lines, "\n") + "\nbody=" + string(body)
	fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", len(out), out)
}

// TestUpstreamRequestHead checks the head fulcrum writes upstream against
// nginx 1.22.1's (recorded with a raw backend): proxy_set_header
// Content-Length is the only length sent (fulcrum sent its own as well: two
// lengths), "" sends none even with proxy_pass_request_body off; the
// Connection and Content-Length fields come after proxy_set_header's and
// Host, before the client's fields, where nginx's header template puts
// them; proxy_http_version 1.0 writes HTTP/1.0 (fulcrum wrote HTTP/1.1
// with Connection: close); proxy_method takes variables.
func TestUpstreamRequestHead(t *testing.T) {
	up := rawHeadBackend(t)
	dir := t.TempDir()
	addr := startDaemon(t, dir, fmt.Sprintf(`server { listen 127.0.0.1:0;
        proxy_set_header X-S s;
        location / { proxy_pass http://%[1]s; }
        location /len/ { proxy_set_header Content-Length 3; proxy_pass http://%[1]s; }
        location /lenstream/ { proxy_request_buffering off; proxy_set_header Content-Length 3; proxy_pass http://%[1]s; }
        location /nolen/ { proxy_pass_request_body off; proxy_set_header Content-Length ""; proxy_pass http://%[1]s; }
        location /h10/ { proxy_http_version 1.0; proxy_pass http://%[1]s; }
        location /m/ { proxy_method $arg_m; proxy_pass http://%[1]s; }
        location /mh/ { proxy_method $http_x_m; proxy_pass http://%[1]s; }
    }`, up))
	host := "Host: " + up
	tests := []struct {
		name, request string
		want          []string
	}{
		{"Content-Length after Host, before the client's fields",
			"POST /x HTTP/1.1\r\nHost: a\r\nX-A: 1\r\nContent-Type: t\r\nContent-Length: 2\r\n\r\nab",
			[]string{"POST /x HTTP/1.1", "X-S: s", host, "Content-Length: 2", "X-A: 1", "Content-Type: t", "body=ab"}},
		{"chunked body's length after Host",
			"POST /x HTTP/1.1\r\nHost: a\r\nX-A: 1\r\nTransfer-Encoding: chunked\r\nX-B: 2\r\n\r\n2\r\nab\r\n0\r\n\r\n",
			[]string{"POST /x HTTP/1.1", "X-S: s", host, "Content-Length: 2", "X-A: 1", "X-B: 2", "body=ab"}},
		{"proxy_set_header Content-Length is the only length",
			"POST /len/x HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\n\r\nabcdef",
			[]string{"POST /len/x HTTP/1.1", "Content-Length: 3", host, "body=abc"}},
		// nginx 1.22.1 sends the set length and its chunked framing both
		// (h-sweepb's sweep); http-hardening.md: never forward both.
		{"a streamed chunked body drops proxy_set_header's Content-Length",
			"POST /lenstream/x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nabcdef\r\n0\r\n\r\n",
			[]string{"POST /lenstream/x HTTP/1.1", host, "Transfer-Encoding: chunked", "body=abcdef"}},
		{`proxy_pass_request_body off and Content-Length ""`,
			"POST /nolen/x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello",
			[]string{"POST /nolen/x HTTP/1.1", host, "body="}},
		{"proxy_http_version 1.0: Connection after Host",
			"POST /h10/x HTTP/1.1\r\nHost: a\r\nX-A: 1\r\nContent-Length: 1\r\n\r\nz",
			[]string{"POST /h10/x HTTP/1.0", "X-S: s", host, "Connection: close", "Content-Length: 1", "X-A: 1", "body=z"}},
		{"proxy_method from a variable",
			"GET /m/x?m=PATCH HTTP/1.1\r\nHost: a\r\n\r\n",
			[]string{"PATCH /m/x?m=PATCH HTTP/1.1", "X-S: s", host, "body="}},
		{"proxy_method empty keeps the client's",
			"DELETE /m/x HTTP/1.1\r\nHost: a\r\n\r\n",
			[]string{"DELETE /m/x HTTP/1.1", "X-S: s", host, "body="}},
		{"proxy_method not a token keeps the client's",
			"GET /mh/x HTTP/1.1\r\nHost: a\r\nX-M: A B\r\n\r\n",
			[]string{"GET /mh/x HTTP/1.1", "X-S: s", host, "X-M: A B", "body="}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, body := sendHead(t, addr, tt.request)
			if got, want := string(body), strings.Join(tt.want, "\n"); got != want {
				t.Errorf("upstream got\n%s\nwant\n%s", got, want)
			}
		})
	}
}

// cannedBackend answers a request for /r/NAME with answers[NAME], as it is
// (a crafted head and body), and closes the connection.
func cannedBackend(t *testing.T, answers map[string]string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(5 * time.Second))
				line, err := bufio.NewReader(c).ReadString('\n')
				if err != nil {
					return
				}
				_, path, _ := strings.Cut(line, " /r/")
				name, _, _ := strings.Cut(path, " ")
				io.WriteString(c, answers[name])
			}()
		}
	}()
	return ln.Addr().String()
}

// responseHead sends request to addr and returns the response head's lines,
// each Date value masked as "D" and the Server value as "S".
func responseHead(t *testing.T, addr, request string) []string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, request); err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	head, _, _ := strings.Cut(string(raw), "\r\n\r\n")
	lines := strings.Split(head, "\r\n")
	for i, l := range lines {
		switch {
		case strings.HasPrefix(l, "Date: "):
			lines[i] = "Date: D"
		case strings.HasPrefix(l, "Server: fulcrum"):
			lines[i] = "Server: S"
		}
	}
	return lines
}

// TestPassHeaderServerDate checks proxy_pass_header Server and Date as
// nginx 1.22.1 answers (recorded): the upstream's field is passed where the
// upstream put it, and no Server or Date of fulcrum's own goes out, even when
// the upstream sent none (fulcrum wrote its own then, and put the upstream's
// first).
func TestPassHeaderServerDate(t *testing.T) {
	up := cannedBackend(t, map[string]string{
		"both": "HTTP/1.1 200 OK\r\nServer: up/9\r\nDate: Mon, 01 Jan 2001 00:00:00 GMT\r\nX-A: 1\r\nContent-Length: 1\r\n\r\nx",
		"none": "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 1\r\n\r\nx",
	})
	addr := startDaemon(t, t.TempDir(), fmt.Sprintf(`server { listen 127.0.0.1:0;
        location /p/ { proxy_pass http://%[1]s/r/; }
        location /s/ { proxy_pass_header Server; proxy_pass http://%[1]s/r/; }
        location /d/ { proxy_pass_header Date; proxy_pass http://%[1]s/r/; }
        location /sd/ { proxy_pass_header Server; proxy_pass_header Date; proxy_pass http://%[1]s/r/; }
    }`, up))
	tests := []struct {
		path string
		want []string
	}{
		{"/p/both", []string{"HTTP/1.1 200 OK", "Server: S", "Date: D", "Content-Length: 1", "Connection: close", "X-A: 1"}},
		{"/s/both", []string{"HTTP/1.1 200 OK", "Date: D", "Content-Length: 1", "Connection: close", "Server: up/9", "X-A: 1"}},
		{"/s/none", []string{"HTTP/1.1 200 OK", "Date: D", "Content-Type: text/plain", "Content-Length: 1", "Connection: close"}},
		{"/d/both", []string{"HTTP/1.1 200 OK", "Server: S", "Content-Length: 1", "Connection: close", "Date: D", "X-A: 1"}},
		{"/d/none", []string{"HTTP/1.1 200 OK", "Server: S", "Content-Type: text/plain", "Content-Length: 1", "Connection: close"}},
		{"/sd/both", []string{"HTTP/1.1 200 OK", "Content-Length: 1", "Connection: close", "Server: up/9", "Date: D", "X-A: 1"}},
		{"/sd/none", []string{"HTTP/1.1 200 OK", "Content-Type: text/plain", "Content-Length: 1", "Connection: close"}},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			got := responseHead(t, addr, "GET "+tt.path+" HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("head\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

// TestRedirectLocationPlace checks where a rewritten Location goes, as
// nginx 1.22.1 writes it (recorded): one proxy_redirect made relative is
// made absolute and written after Content-Length, where nginx's header
// filter writes its own; others (absolute, not rewritten, or with
// absolute_redirect off) keep the upstream's place.
func TestRedirectLocationPlace(t *testing.T) {
	up := cannedBackend(t, map[string]string{
		"up":  "HTTP/1.1 302 Found\r\nX-A: 1\r\nLocation: http://up.test/y\r\nX-B: 2\r\nContent-Length: 0\r\n\r\n",
		"rel": "HTTP/1.1 302 Found\r\nX-A: 1\r\nLocation: /abs\r\nX-B: 2\r\nContent-Length: 0\r\n\r\n",
		// Two Location fields: only the one proxy_redirect rewrote last is
		// made absolute and moves; the other stays where it was.
		"two":   "HTTP/1.1 302 Found\r\nX-A: 1\r\nLocation: http://up.test/p\r\nX-B: 2\r\nLocation: http://up.test/q\r\nX-C: 3\r\nContent-Length: 0\r\n\r\n",
		"first": "HTTP/1.1 302 Found\r\nX-A: 1\r\nLocation: http://up.test/p\r\nX-B: 2\r\nLocation: http://other.test/q\r\nX-C: 3\r\nContent-Length: 0\r\n\r\n",
		"last":  "HTTP/1.1 302 Found\r\nX-A: 1\r\nLocation: /r1\r\nX-B: 2\r\nLocation: http://up.test/q\r\nX-C: 3\r\nContent-Length: 0\r\n\r\n",
		"mix":   "HTTP/1.1 302 Found\r\nX-A: 1\r\nLocation: http://up.test/p\r\nX-B: 2\r\nLocation: http://z.test/q\r\nX-C: 3\r\nContent-Length: 0\r\n\r\n",
		"xim":   "HTTP/1.1 302 Found\r\nX-A: 1\r\nLocation: http://z.test/p\r\nX-B: 2\r\nLocation: http://up.test/q\r\nX-C: 3\r\nContent-Length: 0\r\n\r\n",
	})
	addr := startDaemon(t, t.TempDir(), fmt.Sprintf(`server { listen 127.0.0.1:0; server_name a.test;
        location /rel/ { proxy_redirect http://up.test/ /mapped/; proxy_pass http://%[1]s/r/; }
        location /abs/ { proxy_redirect http://up.test/ http://x.test/m/; proxy_pass http://%[1]s/r/; }
        location /off/ { absolute_redirect off; proxy_redirect http://up.test/ /mapped/; proxy_pass http://%[1]s/r/; }
        location /mix/ { proxy_redirect http://up.test/ /mapped/; proxy_redirect http://z.test/ http://w.test/; proxy_pass http://%[1]s/r/; }
    }`, up))
	_, port, _ := net.SplitHostPort(addr)
	abs := "Location: http://a.test:" + port
	tests := []struct {
		path string
		want []string
	}{
		{"/rel/up", []string{"HTTP/1.1 302 Found", "Server: S", "Date: D", "Content-Length: 0", "Location: http://a.test:" + port + "/mapped/y", "Connection: close", "X-A: 1", "X-B: 2"}},
		{"/rel/rel", []string{"HTTP/1.1 302 Found", "Server: S", "Date: D", "Content-Length: 0", "Connection: close", "X-A: 1", "Location: /abs", "X-B: 2"}},
		{"/abs/up", []string{"HTTP/1.1 302 Found", "Server: S", "Date: D", "Content-Length: 0", "Connection: close", "X-A: 1", "Location: http://x.test/m/y", "X-B: 2"}},
		{"/off/up", []string{"HTTP/1.1 302 Found", "Server: S", "Date: D", "Content-Length: 0", "Connection: close", "X-A: 1", "Location: /mapped/y", "X-B: 2"}},
		{"/rel/two", []string{"HTTP/1.1 302 Found", "Server: S", "Date: D", "Content-Length: 0", abs + "/mapped/q", "Connection: close", "X-A: 1", "Location: /mapped/p", "X-B: 2", "X-C: 3"}},
		{"/rel/first", []string{"HTTP/1.1 302 Found", "Server: S", "Date: D", "Content-Length: 0", abs + "/mapped/p", "Connection: close", "X-A: 1", "X-B: 2", "Location: http://other.test/q", "X-C: 3"}},
		{"/rel/last", []string{"HTTP/1.1 302 Found", "Server: S", "Date: D", "Content-Length: 0", abs + "/mapped/q", "Connection: close", "X-A: 1", "Location: /r1", "X-B: 2", "X-C: 3"}},
		{"/off/two", []string{"HTTP/1.1 302 Found", "Server: S", "Date: D", "Content-Length: 0", "Connection: close", "X-A: 1", "Location: /mapped/p", "X-B: 2", "Location: /mapped/q", "X-C: 3"}},
		{"/mix/mix", []string{"HTTP/1.1 302 Found", "Server: S", "Date: D", "Content-Length: 0", "Connection: close", "X-A: 1", "Location: /mapped/p", "X-B: 2", "Location: http://w.test/q", "X-C: 3"}},
		{"/mix/xim", []string{"HTTP/1.1 302 Found", "Server: S", "Date: D", "Content-Length: 0", abs + "/mapped/q", "Connection: close", "X-A: 1", "Location: http://w.test/p", "X-B: 2", "X-C: 3"}},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			got := responseHead(t, addr, "GET "+tt.path+" HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n")
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("head\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

// TestAccelCharset checks an upstream's X-Accel-Charset end to end, as
// nginx 1.22.1 answered (recorded): it sets the charset of any type where
// the configuration knows the name (here from the /u/ location's charset),
// replaces the location's, drops it when the name is unknown, and changes
// nothing under proxy_ignore_headers X-Accel-Charset. The field itself is
// never passed. The charset also goes on an X-Accel-Redirect's answer and
// on the page of an intercepted error (recorded).
func TestAccelCharset(t *testing.T) {
	up := cannedBackend(t, map[string]string{
		"utf":  "HTTP/1.1 200 OK\r\nX-Accel-Charset: utf-8\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}",
		"koi":  "HTTP/1.1 200 OK\r\nX-Accel-Charset: koi8-r\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok",
		"what": "HTTP/1.1 200 OK\r\nX-Accel-Charset: foo\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok",
		"acc":  "HTTP/1.1 200 OK\r\nX-Accel-Charset: koi8-r\r\nX-Accel-Redirect: /static/x.txt\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok",
		"e404": "HTTP/1.1 404 Not Found\r\nX-Accel-Charset: koi8-r\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok",
	})
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "static"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"x.txt", "err.txt"} {
		if err := os.WriteFile(filepath.Join(dir, "static", n), []byte("hi\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	addr := startDaemon(t, dir, fmt.Sprintf(`server { listen 127.0.0.1:0; root %[2]s;
        location /static/ { }
        location /pe/ { proxy_intercept_errors on; error_page 404 /static/err.txt; proxy_pass http://%[1]s/r/; }
        location /p/ { proxy_pass http://%[1]s/r/; }
        location /u/ { charset utf-8; proxy_pass http://%[1]s/r/; }
        location /k/ { charset koi8-r; proxy_pass http://%[1]s/r/; }
        location /i/ { charset koi8-r; proxy_ignore_headers X-Accel-Charset; proxy_pass http://%[1]s/r/; }
    }`, up, dir))
	tests := []struct{ path, want string }{
		{"/p/utf", "application/json; charset=utf-8"},
		{"/p/acc", "text/plain; charset=koi8-r"},
		{"/pe/e404", "text/plain; charset=koi8-r"},
		{"/p/e404", "text/plain; charset=koi8-r"},
		{"/static/x.txt", "text/plain"},
		{"/p/koi", "text/plain; charset=koi8-r"},
		{"/p/what", "text/plain"},
		{"/u/koi", "text/plain; charset=koi8-r"},
		{"/u/what", "text/plain"},
		{"/k/utf", "application/json; charset=utf-8"},
		{"/i/utf", "application/json"},
		{"/i/koi", "text/plain; charset=koi8-r"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			head := responseHead(t, addr, "GET "+tt.path+" HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
			var ct string
			for _, l := range head {
				if v, ok := strings.CutPrefix(l, "Content-Type: "); ok {
					ct = v
				}
				if strings.HasPrefix(l, "X-Accel-Charset") {
					t.Errorf("passed on: %s", l)
				}
			}
			if ct != tt.want {
				t.Errorf("Content-Type %q, want %q", ct, tt.want)
			}
		})
	}
}

// TestCharsetLogAction checks the charset filter's error log lines as
// nginx 1.22.1 wrote them (recorded with error_log info): the line ends with
// the connection's action, " while reading response header from upstream"
// for an upstream's own response, " while sending response to client" for a
// static file's (also an X-Accel-Redirect's or an intercepted error's page),
// and with none for a return's (also an X-Accel-Redirect's).
func TestCharsetLogAction(t *testing.T) {
	up := cannedBackend(t, map[string]string{
		"foo":  "HTTP/1.1 200 OK\r\nX-Accel-Charset: foo\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok",
		"utf":  "HTTP/1.1 200 OK\r\nX-Accel-Charset: utf-8\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok",
		"acc":  "HTTP/1.1 200 OK\r\nX-Accel-Charset: foo\r\nX-Accel-Redirect: /static/x.txt\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok",
		"accr": "HTTP/1.1 200 OK\r\nX-Accel-Charset: foo\r\nX-Accel-Redirect: /ret/x\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok",
		"e404": "HTTP/1.1 404 Not Found\r\nX-Accel-Charset: foo\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok",
	})
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "static"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"x.txt", "err.txt", "m.txt"} {
		if err := os.WriteFile(filepath.Join(dir, "static", n), []byte("hi\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	addr := startDaemonLevel(t, dir, "info", fmt.Sprintf(`server { listen 127.0.0.1:0; server_name a.test; root %[2]s;
        location /static/ { }
        location /ret/ { return 200 "r\n"; }
        location /u/ { charset utf-8; }
        location /map/ { alias %[2]s/static/; source_charset koi8-r; charset $arg_c; }
        location /retmap/ { source_charset koi8-r; charset $arg_c; default_type text/plain; return 200 "r\n"; }
        location /p/ { proxy_pass http://%[1]s/r/; }
        location /w/ { source_charset koi8-r; proxy_pass http://%[1]s/r/; }
        location /pe/ { proxy_intercept_errors on; error_page 404 /static/err.txt; proxy_pass http://%[1]s/r/; }
    }`, up, dir))
	const fromUp = " while reading response header from upstream"
	const toClient = " while sending response to client"
	tests := []struct{ path, msg, action string }{
		{"/p/foo", `unknown charset "foo" to override`, fromUp},
		{"/w/utf", `no "charset_map" between the charsets "koi8-r" and "utf-8"`, fromUp},
		{"/p/e404", `unknown charset "foo" to override`, fromUp},
		{"/p/acc", `unknown charset "foo" to override`, toClient},
		{"/pe/e404", `unknown charset "foo" to override`, toClient},
		{"/p/accr", `unknown charset "foo" to override`, ""},
		{"/map/m.txt?c=utf-8", `no "charset_map" between the charsets "koi8-r" and "utf-8"`, toClient},
		{"/retmap/x?c=utf-8", `no "charset_map" between the charsets "koi8-r" and "utf-8"`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			responseHead(t, addr, "GET "+tt.path+" HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n")
			name, _, _ := strings.Cut(tt.path[strings.LastIndex(tt.path, "/")+1:], "?")
			upstream := ""
			if strings.HasPrefix(tt.path, "/p") || strings.HasPrefix(tt.path, "/w/") {
				upstream = `, upstream: "http://` + up + `/r/` + name + `"`
			}
			line := tt.msg + tt.action + `, client: 127.0.0.1, server: a.test, request: "GET ` + tt.path + ` HTTP/1.1"` + upstream + `, host: "a.test"`
			waitForLogMatch(t, filepath.Join(dir, "error.log"), "error", regexp.QuoteMeta(line)+`\n`, line)
		})
	}
}
