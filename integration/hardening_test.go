package integration

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"fulcrum/internal/testutil"
)

// recorder is a raw TCP backend that records every request it parses (leniently,
// with net/http's reader) and answers each with "ok N", N counting requests.
type recorder struct {
	ln   net.Listener
	mu   sync.Mutex // guards reqs
	reqs []recorded
}

// recorded is one request as the backend read it.
type recorded struct {
	method, uri string
	header      http.Header
	host        string
	body        string
}

func startRecorder(t *testing.T) *recorder {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &recorder{ln: ln}
	go r.serve()
	t.Cleanup(func() { ln.Close() })
	return r
}

func (r *recorder) serve() {
	for {
		c, err := r.ln.Accept()
		if err != nil {
			return
		}
		go r.handle(c)
	}
}

func (r *recorder) handle(c net.Conn) {
	defer c.Close()
	br := bufio.NewReader(c)
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.reqs = append(r.reqs, recorded{method: req.Method, uri: req.RequestURI, header: req.Header, host: req.Host, body: string(body)})
		n := len(r.reqs)
		r.mu.Unlock()
		msg := fmt.Sprintf("ok %d", n)
		fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(msg), msg)
	}
}

func (r *recorder) addr() string { return r.ln.Addr().String() }

// take returns and forgets the requests recorded so far.
func (r *recorder) take() []recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.reqs
	r.reqs = nil
	return out
}

// exchange sends raw bytes on a new connection and reads one response. It
// returns the response (nil if none came), whether the server then closed the
// connection, and the connection (still open unless closed).
func exchange(t *testing.T, addr, raw string) (*http.Response, string, bool, net.Conn, *bufio.Reader) {
	t.Helper()
	resp, body, c, br := exchangeResponse(t, addr, raw)
	if resp == nil {
		return nil, "", true, nil, nil
	}
	closed := resp.Close || connClosed(c, br)
	return resp, body, closed, c, br
}

// exchangeResponse is exchange without the wait for the server's close:
// for tests that look only at the response. The connection is nil when no
// response came.
func exchangeResponse(t *testing.T, addr, raw string) (*http.Response, string, net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	for err == nil && resp.StatusCode == http.StatusContinue {
		resp, err = http.ReadResponse(br, nil)
	}
	if err != nil {
		c.Close()
		return nil, "", nil, nil
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(body), c, br
}

// connClosed reports whether the peer closed c (EOF within a short wait).
func connClosed(c net.Conn, br *bufio.Reader) bool {
	return closedWithin(c, br, 150*time.Millisecond)
}

// closedWithin reports whether the peer closes c within wait: EOF or a
// reset before it (false: bytes came, or nothing did). It leaves c with a
// 5-second deadline.
func closedWithin(c net.Conn, br *bufio.Reader, wait time.Duration) bool {
	c.SetReadDeadline(time.Now().Add(wait))
	_, err := br.Peek(1)
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if err == nil {
		return false // bytes we did not ask for: not closed, and suspicious
	}
	var ne net.Error
	return !(errorAs(err, &ne) && ne.Timeout())
}

func errorAs(err error, target *net.Error) bool {
	ne, ok := err.(net.Error)
	if ok {
		*target = ne
	}
	return ok
}

// hardeningConfig proxies / to the recorder and denies /admin/.
func hardeningConfig(backend string) string {
	return fmt.Sprintf(`
events {}
http {
    server {
        listen 127.0.0.1:0;
        server_name a;
        client_max_body_size 64;
        location / {
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Real-IP $remote_addr;
            proxy_pass http://%[1]s;
        }
        location /admin/ { return 403; }
    }
    server {
        listen 127.0.0.1:0;
        server_name other.test;
        location / { return 200 "other $host"; }
    }
    server {
        listen 127.0.0.1:0;
        server_name keep.test;
        ignore_invalid_headers off;
        location / { proxy_pass http://%[1]s; }
    }
    server {
        listen 127.0.0.1:0;
        server_name under.test;
        underscores_in_headers on;
        location / {
            proxy_set_header X-Key $http_x_api_key;
            proxy_pass http://%[1]s;
        }
    }
}`, backend)
}

// TestRequestFramingAndHeaders sends exact bytes over raw connections and checks
// the status, whether the connection was closed, and what the backend received.
// After every case a follow-up request (on the same connection when it is still
// open) and a second client must each get their own answer.
func TestRequestFramingAndHeaders(t *testing.T) {
	t.Parallel() // its own process, recorder and connections; no upper time bound
	rec := startRecorder(t)
	in := startFulcrum(t, hardeningConfig(rec.addr()), 1)
	addr := in.listening()[0]
	const h = "Host: a\r\n"
	tests := []struct {
		name       string
		raw        string
		wantStatus int
		wantClose  bool
		// backend: how many requests must reach the backend, and a check of them.
		wantBackend int
		check       func(t *testing.T, got []recorded)
	}{
		{"plain GET", "GET /x HTTP/1.1\r\n" + h + "\r\n", 200, false, 1, nil},
		{"both Transfer-Encoding and Content-Length", "POST / HTTP/1.1\r\n" + h + "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, true, 0, nil},
		{"Transfer-Encoding not ending in chunked", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked, gzip\r\n\r\n", 400, true, 0, nil},
		{"chunked twice", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n", 400, true, 0, nil},
		{"empty Transfer-Encoding element", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: ,chunked\r\n\r\n0\r\n\r\n", 400, true, 0, nil},
		// The policy keeps 400 for a malformed Transfer-Encoding and for one
		// beside a Content-Length, 501 for an unknown coding; nginx 1.22.1
		// answers 501 to any Transfer-Encoding but a single "chunked"
		// (recorded with scripts/request-nginx-sweep.py; docs/directives.md).
		{"chunked with a parameter", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked;q=1\r\n\r\n0\r\n\r\n", 400, true, 0, nil},
		{"unknown coding", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501, true, 0, nil},
		{"gzip, chunked and Content-Length", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: gzip, chunked\r\nContent-Length: 5\r\n\r\nhello", 400, true, 0, nil},
		{"unknown coding and Content-Length", "POST / HTTP/1.1\r\n" + h + "Content-Length: 5\r\nTransfer-Encoding: x\r\n\r\nhello", 400, true, 0, nil},
		{"invalid Content-Length beside chunked", "POST / HTTP/1.1\r\n" + h + "Content-Length: 5x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, true, 0, nil},
		// nginx 1.22: an HTTP/1.0 request without Host is served by the default
		// server; an empty Host field is refused on either version.
		{"HTTP/1.0 without Host", "GET /x HTTP/1.0\r\n\r\n", 200, true, 1, nil},
		{"empty Host on HTTP/1.0", "GET /x HTTP/1.0\r\nHost: \r\n\r\n", 400, true, 0, nil},
		{"empty Host on HTTP/1.1", "GET /x HTTP/1.1\r\nHost: \r\n\r\n", 400, true, 0, nil},
		{"Transfer-Encoding on HTTP/1.0", "POST / HTTP/1.0\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, true, 0, nil},
		{"bare LF line endings", "GET / HTTP/1.1\n" + "Host: a\n\n", 400, true, 0, nil},
		{"obs-fold", "GET / HTTP/1.1\r\n" + h + "X: a\r\n b\r\n\r\n", 400, true, 0, nil},
		{"chunk line ending in bare LF", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n2\nhi\r\n0\r\n\r\n", 400, true, 0, nil},
		{"identical Content-Lengths collapse", "POST / HTTP/1.1\r\n" + h + "Content-Length: 2, 2\r\n\r\nhi", 200, false, 1,
			func(t *testing.T, got []recorded) {
				if got[0].body != "hi" || got[0].header.Get("Content-Length") != "2" {
					t.Errorf("backend got body %q Content-Length %q", got[0].body, got[0].header.Get("Content-Length"))
				}
			}},
		{"smuggled second request in a chunked body stays body", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n1d\r\nGET /smuggled HTTP/1.1\r\nX: \r\n\r\n0\r\n\r\n", 200, false, 1,
			func(t *testing.T, got []recorded) {
				if got[0].uri != "/" || !strings.Contains(got[0].body, "/smuggled") {
					t.Errorf("backend got %+v", got)
				}
			}},
		{"body over client_max_body_size", "POST / HTTP/1.1\r\n" + h + "Content-Length: 100\r\n\r\n" + strings.Repeat("x", 100), 413, true, 0, nil},
		{"chunked body over client_max_body_size", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n64\r\n" + strings.Repeat("x", 100) + "\r\n0\r\n\r\n", 413, true, 0, nil},
		{"control character in the target", "GET /a\x01b HTTP/1.1\r\n" + h + "\r\n", 400, true, 0, nil},
		{"lowercase method (nginx: 400)", "get /x HTTP/1.1\r\n" + h + "\r\n", 400, true, 0, nil},
		{"mixed-case method (nginx: 400)", "Get /x HTTP/1.1\r\n" + h + "\r\n", 400, true, 0, nil},
		{"chunk extensions dropped, trailers with framing fields dropped", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n2;ext=1\r\nhi\r\n0\r\nContent-Length: 99\r\nX-Trailer: t\r\n\r\n", 200, false, 1,
			func(t *testing.T, got []recorded) {
				if got[0].body != "hi" || got[0].header.Get("Content-Length") == "99" {
					t.Errorf("backend got %+v", got[0])
				}
			}},
		{"request line too long", "GET /" + strings.Repeat("a", 9000) + " HTTP/1.1\r\n" + h + "\r\n", 414, true, 0, nil},
		{"Transfer-Encoding with an unknown coding", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: foo\r\n\r\n", 501, true, 0, nil},
		{"two different Content-Lengths", "POST / HTTP/1.1\r\n" + h + "Content-Length: 2\r\nContent-Length: 3\r\n\r\nhi!", 400, true, 0, nil},
		{"Content-Length with a sign", "POST / HTTP/1.1\r\n" + h + "Content-Length: +2\r\n\r\nhi", 400, true, 0, nil},
		{"chunk size not hex", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n0x2\r\nhi\r\n0\r\n\r\n", 400, true, 0, nil},
		{"chunk data longer than its size", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n2\r\nhello\r\n0\r\n\r\n", 400, true, 0, nil},
		{"bare CR in a value", "GET / HTTP/1.1\r\n" + h + "X: a\rb\r\n\r\n", 400, true, 0, nil},
		// Refused when the byte after the CR comes, not at the header
		// timeout: nginx 1.22.1 answers 400 at once (recorded).
		{"bare CR after the last field line, no LF after it", "PUT / HTTP/1.1\r\n" + h + "Content-Length: 5\r\n\rhello", 400, true, 0, nil},
		{"bare CR inside a field line, no LF after it", "GET / HTTP/1.1\r\n" + h + "X: a\rb", 400, true, 0, nil},
		{"NUL in a value", "GET / HTTP/1.1\r\n" + h + "X: a\x00b\r\n\r\n", 400, true, 0, nil},
		{"space before the colon", "GET / HTTP/1.1\r\n" + h + "X : b\r\n\r\n", 400, true, 0, nil},
		{"line without a colon", "GET / HTTP/1.1\r\n" + h + "Xb\r\n\r\n", 400, true, 0, nil},
		{"whitespace before the first header", "GET / HTTP/1.1\r\n Host: a\r\n\r\n", 400, true, 0, nil},
		{"two Host headers", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, true, 0, nil},
		{"no Host on HTTP/1.1", "GET / HTTP/1.1\r\n\r\n", 400, true, 0, nil},
		{"invalid Host", "GET / HTTP/1.1\r\nHost: a..b\r\n\r\n", 400, true, 0, nil},
		{"# in the target", "GET /a#b HTTP/1.1\r\n" + h + "\r\n", 400, true, 0, nil},
		{"HTTP/2.0 request line", "GET / HTTP/2.0\r\n" + h + "\r\n", 505, true, 0, nil},
		// Empty lines before the request line are skipped, a bare LF as a
		// CRLF, as nginx 1.22.1 does (RFC 9112 section 2.2).
		{"bare LF lines before the request line", "\n\r\n\nGET / HTTP/1.1\r\n" + h + "\r\n", 200, false, 1, nil},
		// nginx 1.22.1's version rules: a major version over 1 is 505 as soon
		// as it is read, a later HTTP/1 minor version is served as HTTP/1.1
		// (RFC 9110 section 2.5), HTTP/0.9 in a request line is a 400.
		{"HTTP/10.0 request line", "GET / HTTP/10.0\r\n" + h + "\r\n", 505, true, 0, nil},
		{"HTTP/3 request line", "GET / HTTP/3\r\n" + h + "\r\n", 505, true, 0, nil},
		{"HTTP/0.9 request line", "GET / HTTP/0.9\r\n" + h + "\r\n", 400, true, 0, nil},
		{"HTTP/1.2 request line served as HTTP/1.1", "GET / HTTP/1.2\r\n" + h + "\r\n", 200, false, 1, nil},
		{"HTTP/1.10 request line served as HTTP/1.1", "GET / HTTP/1.10\r\n" + h + "\r\n", 200, false, 1, nil},
		// nginx reads the method, the target, then the version; an empty
		// host is its check after the line.
		{"lower-case method before HTTP/2.0", "get / HTTP/2.0\r\n" + h + "\r\n", 400, true, 0, nil},
		{"bad target before HTTP/3.0", "DELETE http:h/a HTTP/3.0\r\n" + h + "\r\n", 400, true, 0, nil},
		{"HTTP/2.0 before an empty host", "GET http:///a HTTP/2.0\r\n" + h + "\r\n", 505, true, 0, nil},
		{"OPTIONS *", "OPTIONS * HTTP/1.1\r\n" + h + "\r\n", 400, true, 0, nil},
		{"CONNECT", "CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n", 400, true, 0, nil},
		// nginx 1.22.1 bounds the head by bytes only, not by a count of fields.
		{"150 short fields", "GET / HTTP/1.1\r\n" + h + strings.Repeat("X-F: v\r\n", 150) + "\r\n", 200, false, 1, nil},
		{"header section too large", "GET / HTTP/1.1\r\n" + h + "X: " + strings.Repeat("a", 70000) + "\r\n\r\n", 431, true, 0, nil},
		{"Expect other than 100-continue", "POST / HTTP/1.1\r\n" + h + "Expect: foo\r\nContent-Length: 2\r\n\r\nhi", 417, true, 0, nil},
		{"underscore header dropped", "GET / HTTP/1.1\r\n" + h + "X_Forwarded_For: 6.6.6.6\r\nX-Ok: 1\r\n\r\n", 200, false, 1,
			func(t *testing.T, got []recorded) {
				for name := range got[0].header {
					if strings.Contains(name, "_") {
						t.Errorf("backend got underscore header %q", name)
					}
				}
				if got[0].header.Get("X-Ok") != "1" {
					t.Error("a normal header was lost")
				}
			}},
		// nginx 1.22.1 (ignore_invalid_headers on): a name with anything but
		// letters, digits and '-' ('_' with underscores_in_headers) is dropped.
		{"names nginx calls invalid dropped", "GET / HTTP/1.1\r\n" + h + "X.Dot: 1\r\nX!Bang: 2\r\nX~Tilde: 3\r\nX-Ok: 1\r\n\r\n", 200, false, 1,
			func(t *testing.T, got []recorded) {
				for _, name := range []string{"X.Dot", "X!Bang", "X~Tilde"} {
					if v := got[0].header.Get(name); v != "" {
						t.Errorf("backend got %s: %s", name, v)
					}
				}
				if got[0].header.Get("X-Ok") != "1" {
					t.Error("a valid field was lost")
				}
			}},
		{"ignore_invalid_headers off passes them all", "GET / HTTP/1.1\r\nHost: keep.test\r\nX.Dot: 1\r\nX_Under: 2\r\n\r\n", 200, false, 1,
			func(t *testing.T, got []recorded) {
				if got[0].header.Get("X.Dot") != "1" || got[0].header.Get("X_Under") != "2" {
					t.Errorf("backend got %v", got[0].header)
				}
			}},
		{"underscores_in_headers on keeps '_' only", "GET / HTTP/1.1\r\nHost: under.test\r\nX.Dot: 1\r\nX_Under: 2\r\n\r\n", 200, false, 1,
			func(t *testing.T, got []recorded) {
				if got[0].header.Get("X.Dot") != "" || got[0].header.Get("X_Under") != "2" {
					t.Errorf("backend got %v", got[0].header)
				}
			}},
		// nginx's $http_x_api_key reads "X_Api_Key" once it is kept.
		{"$http_NAME finds a kept underscored name", "GET / HTTP/1.1\r\nHost: under.test\r\nX_Api_Key: k1\r\n\r\n", 200, false, 1,
			func(t *testing.T, got []recorded) {
				if v := got[0].header.Get("X-Key"); v != "k1" {
					t.Errorf("backend got X-Key %q, want k1", v)
				}
			}},
		{"TRACE refused (nginx: 405, closes)", "TRACE / HTTP/1.1\r\n" + h + "\r\n", 405, true, 0, nil},
		{"Connection cannot remove what fulcrum sets", "GET / HTTP/1.1\r\n" + h + "Connection: X-Forwarded-For, X-Real-IP\r\n\r\n", 200, false, 1,
			func(t *testing.T, got []recorded) {
				if got[0].header.Get("X-Forwarded-For") != "127.0.0.1" || got[0].header.Get("X-Real-Ip") != "127.0.0.1" {
					t.Errorf("backend headers %v: fulcrum's X-Forwarded-For/X-Real-IP missing", got[0].header)
				}
			}},
		{"Connection-named header removed", "GET / HTTP/1.1\r\n" + h + "Connection: X-Secret\r\nX-Secret: 1\r\n\r\n", 200, false, 1,
			func(t *testing.T, got []recorded) {
				if _, ok := got[0].header["X-Secret"]; ok {
					t.Error("a header named in Connection was forwarded")
				}
			}},
		{"spoofed forwarding headers from an untrusted client", "GET / HTTP/1.1\r\n" + h + "X-Real-IP: 6.6.6.6\r\nX-Forwarded-For: 6.6.6.6\r\n\r\n", 200, false, 1,
			func(t *testing.T, got []recorded) {
				if got[0].header.Get("X-Real-Ip") != "127.0.0.1" {
					t.Errorf("X-Real-IP %q reached the backend as the client", got[0].header.Get("X-Real-Ip"))
				}
				if got[0].header.Get("X-Forwarded-For") != "6.6.6.6, 127.0.0.1" {
					t.Errorf("X-Forwarded-For %q, want the client's list plus the peer", got[0].header.Get("X-Forwarded-For"))
				}
			}},
		// Declined, the upgrade leaves the connection open, as nginx 1.22.1 does.
		{"h2c upgrade never forwarded", "GET / HTTP/1.1\r\n" + h + "Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n", 200, false, 1,
			func(t *testing.T, got []recorded) {
				if got[0].header.Get("Upgrade") != "" || got[0].header.Get("Http2-Settings") != "" {
					t.Errorf("h2c upgrade forwarded: %v", got[0].header)
				}
			}},
		{"Expect: 100-continue handled, not forwarded", "POST / HTTP/1.1\r\n" + h + "Expect: 100-continue\r\nContent-Length: 2\r\n\r\nhi", 200, false, 1,
			func(t *testing.T, got []recorded) {
				if got[0].header.Get("Expect") != "" || got[0].body != "hi" {
					t.Errorf("backend got Expect %q body %q", got[0].header.Get("Expect"), got[0].body)
				}
			}},
		{"chunked body forwarded whole", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n3\r\n!!!\r\n0\r\n\r\n", 200, false, 1,
			func(t *testing.T, got []recorded) {
				if got[0].body != "hi!!!" {
					t.Errorf("backend body %q", got[0].body)
				}
			}},
		{"query forwarded byte for byte", "GET /q?a=%2F%zz&b=;c HTTP/1.1\r\n" + h + "\r\n", 200, false, 1,
			func(t *testing.T, got []recorded) {
				if got[0].uri != "/q?a=%2F%zz&b=;c" {
					t.Errorf("backend target %q", got[0].uri)
				}
			}},
		{"absolute-form routes by its host", "GET http://other.test/x HTTP/1.1\r\n" + h + "\r\n", 200, false, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec.take()
			resp, _, c, br := exchangeResponse(t, addr, tt.raw)
			if resp == nil {
				t.Fatalf("no response")
			}
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			// A connection that must close is waited on until it does; one
			// that must stay open proves it with the follow-up below
			// instead of a wait for a close that does not come.
			closed := resp.Close || tt.wantClose && closedWithin(c, br, 5*time.Second)
			if closed != tt.wantClose {
				t.Errorf("connection closed = %v, want %v", closed, tt.wantClose)
			}
			got := rec.take()
			if len(got) != tt.wantBackend {
				t.Errorf("backend got %d requests, want %d: %+v", len(got), tt.wantBackend, got)
			} else if tt.check != nil {
				tt.check(t, got)
			}
			if !closed {
				io.WriteString(c, "GET /follow-up HTTP/1.1\r\nHost: a\r\n\r\n")
				r2, err := http.ReadResponse(br, nil)
				if err != nil {
					t.Fatalf("follow-up on the same connection (closed, want open?): %v", err)
				}
				body, _ := io.ReadAll(r2.Body)
				r2.Body.Close()
				if r2.StatusCode != 200 || !strings.HasPrefix(string(body), "ok ") {
					t.Errorf("follow-up got %d %q", r2.StatusCode, body)
				}
			}
			if c != nil {
				c.Close()
			}
			code, body := get(t, newClient(), "http://"+addr+"/second", "Host", "a")
			if code != 200 || !strings.HasPrefix(body, "ok ") {
				t.Errorf("second client got %d %q", code, body)
			}
			rec.take()
		})
	}
}

// TestDeniedPathStaysDenied tries to reach a denied location through encodings.
func TestDeniedPathStaysDenied(t *testing.T) {
	t.Parallel() // its own process, backends and temp dir; no upper time bound
	rec := startRecorder(t)
	in := startFulcrum(t, hardeningConfig(rec.addr()), 1)
	addr := in.listening()[0]
	for _, target := range []string{
		"/admin/", "/%61dmin/", "/x/%2e%2e/admin/", "/x/%2E%2E/admin/secret", "/%2fadmin/", "//admin/",
		"/./admin/", "/admin/./x", "/x/../admin/", "/admin%2fx", "/%61%64%6d%69%6e/",
	} {
		t.Run(target, func(t *testing.T) {
			rec.take()
			resp, _, c, _ := exchangeResponse(t, addr, "GET "+target+" HTTP/1.1\r\nHost: a\r\n\r\n")
			if c != nil {
				c.Close()
			}
			if resp == nil || resp.StatusCode != http.StatusForbidden {
				t.Errorf("GET %s: %v, want 403", target, resp)
			}
			if got := rec.take(); len(got) != 0 {
				t.Errorf("GET %s reached the backend: %+v", target, got)
			}
		})
	}
	// Encodings that do not decode to /admin/ are not denied, and the backend gets
	// the target exactly as sent.
	for _, target := range []string{"/%252e%252e/admin/", "/admin;/x", "/%5cadmin/", "/adm%69n"} {
		t.Run(target, func(t *testing.T) {
			rec.take()
			resp, _, c, _ := exchangeResponse(t, addr, "GET "+target+" HTTP/1.1\r\nHost: a\r\n\r\n")
			if c != nil {
				c.Close()
			}
			if resp == nil {
				t.Fatal("no response")
			}
			got := rec.take()
			if target == "/adm%69n" { // decodes to /admin: not under /admin/, proxied as sent
				if len(got) != 1 || got[0].uri != target {
					t.Errorf("backend got %+v, want the target as sent", got)
				}
				return
			}
			if len(got) == 1 && got[0].uri != target {
				t.Errorf("backend got target %q, want %q", got[0].uri, target)
			}
		})
	}
	for _, target := range []string{"/%00admin/", "/x/../../admin/", "/%2e%2e/admin/"} {
		t.Run("rejected "+target, func(t *testing.T) {
			resp, _, c, _ := exchangeResponse(t, addr, "GET "+target+" HTTP/1.1\r\nHost: a\r\n\r\n")
			if c != nil {
				c.Close()
			}
			if resp == nil || resp.StatusCode != http.StatusBadRequest {
				t.Errorf("GET %s: %v, want 400", target, resp)
			}
			if got := rec.take(); len(got) != 0 {
				t.Errorf("GET %s reached the backend", target)
			}
		})
	}
}

var _ = bytes.NewReader

// TestClientFieldsForwardedInOrderAsSent: the client's header fields reach the
// backend in the order sent, spelled as sent, repeated fields where they
// were, as nginx 1.22 passes them (checked against nginx with a backend that
// records the raw head: x-lower, X-B, x-lower, ACCEPT, Z-Last, A-First). The
// fields fulcrum removes are found whatever their case.
func TestClientFieldsForwardedInOrderAsSent(t *testing.T) {
	heads := make(chan string, 1)
	report := func(head string) { // the first request's; later ones are not waited for
		select {
		case heads <- head:
		default:
		}
	}
	backend := testutil.RawBackend(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		var head strings.Builder
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				report("read error: " + err.Error())
				return
			}
			if line == "\r\n" {
				break
			}
			head.WriteString(line)
		}
		report(head.String())
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
	})
	in := startFulcrum(t, hardeningConfig(backend), 1)
	raw := "GET /x HTTP/1.1\r\nHost: a\r\nx-lower: 1\r\nX-B: 2\r\nx-lower: 3\r\n" +
		"connection: x-secret\r\nx-secret: s\r\nproxy-connection: keep-alive\r\nx-real-ip: 6.6.6.6\r\n" +
		"ACCEPT: */*\r\nZ-Last: z\r\nA-First: a\r\n\r\n"
	resp, _, c, _ := exchangeResponse(t, in.listening()[0], raw)
	if c != nil {
		defer c.Close()
	}
	if resp == nil || resp.StatusCode != 200 {
		t.Fatalf("response %v, want 200", resp)
	}
	var head string
	select {
	case head = <-heads:
	case <-time.After(5 * time.Second):
		t.Fatal("the backend got no request")
	}
	// nginx 1.22 with the same configuration sent X-Forwarded-For, X-Real-IP
	// (as written in proxy_set_header), Host, "Connection: close" (its
	// HTTP/1.0 default; fulcrum speaks HTTP/1.1 upstream and keeps the
	// connection), then the client's fields.
	lines := strings.Split(strings.TrimSuffix(head, "\r\n"), "\r\n")[1:]
	var names, client []string
	for i, line := range lines {
		name, _, _ := strings.Cut(line, ":")
		if i < 3 {
			names = append(names, name)
			continue
		}
		client = append(client, line)
	}
	if want := []string{"X-Forwarded-For", "X-Real-IP", "Host"}; !slices.Equal(names, want) {
		t.Errorf("fulcrum's own fields %q, want %q\nwhole head:\n%s", names, want, head)
	}
	want := []string{"x-lower: 1", "X-B: 2", "x-lower: 3", "ACCEPT: */*", "Z-Last: z", "A-First: a"}
	if !slices.Equal(client, want) {
		t.Errorf("client fields upstream:\n%q\nwant (as nginx sends them):\n%q\nwhole head:\n%s", client, want, head)
	}
	if strings.Contains(head, "6.6.6.6") {
		t.Errorf("the client's x-real-ip reached the backend:\n%s", head)
	}
}

// TestUpstreamFieldsPassedInOrderAsSent: an upstream's response fields reach
// the client in the order received, spelled as received, a repeated field
// where each copy was, after the fields nginx writes first; add_header's come
// last. The expected head is what nginx 1.22 sent for the same upstream
// answer and configuration (its Server value aside).
func TestUpstreamFieldsPassedInOrderAsSent(t *testing.T) {
	backend := testutil.RawBackend(t, func(c net.Conn) {
		if _, err := http.ReadRequest(bufio.NewReader(c)); err != nil {
			return
		}
		io.WriteString(c, "HTTP/1.1 302 Found\r\nX-Zeta: 1\r\nSet-Cookie: a=1\r\n"+
			"Location: http://x.test/next\r\nETag: \"e\"\r\nLast-Modified: Mon, 01 Jan 2024 00:00:00 GMT\r\n"+
			"content-type: text/plain\r\nContent-Length: 02\r\nX-Alpha: 2\r\nSet-Cookie: b=2\r\nCache-Control: no-store\r\n"+
			"Content-Length: 02\r\n\r\nok")
	})
	in := startFulcrum(t, fmt.Sprintf(`
events {}
http {
    server {
        listen 127.0.0.1:0;
        location / {
            add_header X-Added yes;
            proxy_pass http://%s;
        }
    }
}`, backend), 1)
	c, err := net.DialTimeout("tcp", in.listening()[0], 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, "GET /x HTTP/1.1\r\nHost: a\r\n\r\n")
	br := bufio.NewReader(c)
	var lines []string
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("reading the head: %v (so far %q)", err, lines)
		}
		if line == "\r\n" {
			break
		}
		line = strings.TrimSuffix(line, "\r\n")
		switch {
		case strings.HasPrefix(line, "Server: "):
			line = "Server: *"
		case strings.HasPrefix(line, "Date: "):
			line = "Date: *"
		}
		lines = append(lines, line)
	}
	want := []string{
		"HTTP/1.1 302 Found", "Server: *", "Date: *", "Content-Type: text/plain", "Content-Length: 2",
		"Connection: keep-alive", "X-Zeta: 1", "Set-Cookie: a=1", "Location: http://x.test/next", `ETag: "e"`,
		"Last-Modified: Mon, 01 Jan 2024 00:00:00 GMT", "X-Alpha: 2", "Set-Cookie: b=2", "Cache-Control: no-store",
		"X-Added: yes",
	}
	// nginx writes the length once, as a number, however the upstream
	// spelt and repeated it.
	if !slices.Equal(lines, want) {
		t.Errorf("response head\n%q\nwant (as nginx writes it)\n%q", lines, want)
	}
}

// TestExpectContinueWithoutBody: nginx 1.22 answers "Expect: 100-continue" on a
// bodiless request wherever it reads or discards the body (proxy_pass, return
// with text or a code below 400, a static file it found), and not on an error it answers before that
// (a missing file, "return 403;"); fulcrum does the same.
func TestExpectContinueWithoutBody(t *testing.T) {
	be := startBackend(t, "b1")
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "f.txt"), []byte("f\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	in := startFulcrum(t, fmt.Sprintf(`events {}
http {
    server {
        listen 127.0.0.1:0;
        location /proxied { proxy_pass http://%s; }
        location /text { return 200 "text\n"; }
        location /code { return 403; }
        location /moved { return 301 /x; }
        location /files/ { alias %s/; }
    }
}`, be.addr(), dir), 1)
	tests := []struct {
		request      string
		wantContinue bool
		wantStatus   string
	}{
		{"GET /proxied HTTP/1.1", true, "200"},
		{"HEAD /proxied HTTP/1.1", true, "200"},
		{"GET /text HTTP/1.1", true, "200"},
		{"GET /moved HTTP/1.1", true, "301"},
		{"GET /code HTTP/1.1", false, "403"},
		{"GET /files/missing HTTP/1.1", false, "404"},
		{"GET /files/f.txt HTTP/1.1", true, "200"},
		{"GET /files/ HTTP/1.1", false, "403"}, // no index.html, no autoindex
		{"GET /text HTTP/1.0", false, "200"},   // HTTP/1.0 ignores Expect
	}
	for _, tt := range tests {
		t.Run(tt.request, func(t *testing.T) {
			c, err := net.Dial("tcp", in.listening()[0])
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(5 * time.Second))
			fmt.Fprintf(c, "%s\r\nHost: a\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n", tt.request)
			out, _ := io.ReadAll(c)
			gotContinue := bytes.HasPrefix(out, []byte("HTTP/1.1 100 Continue\r\n\r\n"))
			final := bytes.TrimPrefix(out, []byte("HTTP/1.1 100 Continue\r\n\r\n"))
			if gotContinue != tt.wantContinue || !bytes.HasPrefix(final, []byte("HTTP/1.1 "+tt.wantStatus+" ")) {
				t.Errorf("got %q, want 100 Continue %v then %s", out, tt.wantContinue, tt.wantStatus)
			}
		})
	}
}

// TestBytesNoMethodStartsRefusedAtOnce: bytes after a request that cannot
// begin a request line (a body longer than its Content-Length, a
// lower-case method, a TLS record) get their 400 as soon as they come, and
// the connection closes, as nginx 1.22.1 answers them ("client sent invalid
// method" at once; recorded with scripts/request-nginx-sweep.py), not at
// client_header_timeout.
func TestBytesNoMethodStartsRefusedAtOnce(t *testing.T) {
	t.Parallel() // its own process, recorder and connections
	rec := startRecorder(t)
	in := startFulcrum(t, hardeningConfig(rec.addr()), 1)
	addr := in.listening()[0]
	tests := []struct {
		name, raw, body string
	}{
		{"body longer than its Content-Length", "PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabcdef", "abc"},
		{"lower-case method", "GET / HTTP/1.1\r\nHost: a\r\n\r\nget /x", ""},
		{"a TLS record", "GET / HTTP/1.1\r\nHost: a\r\n\r\n\x16\x03\x01\x02\x00", ""},
		{"a bare LF, then no method", "PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\nabc\r\ndef", "abc\r"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec.take()
			resp, _, c, br := exchangeResponse(t, addr, tt.raw)
			if resp == nil {
				t.Fatal("no response")
			}
			defer c.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("first status %d, want 200", resp.StatusCode)
			}
			c.SetDeadline(time.Now().Add(5 * time.Second))
			r2, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("no answer to the bytes after the request within 5 s: %v", err)
			}
			io.Copy(io.Discard, r2.Body)
			r2.Body.Close()
			if r2.StatusCode != 400 {
				t.Errorf("second status %d, want 400", r2.StatusCode)
			}
			if !closedWithin(c, br, 5*time.Second) {
				t.Error("connection still open after the 400")
			}
			if got := rec.take(); len(got) != 1 || got[0].body != tt.body {
				t.Errorf("backend got %+v, want one request with body %q", got, tt.body)
			}
		})
	}
}
