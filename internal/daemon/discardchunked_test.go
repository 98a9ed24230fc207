package daemon_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestDiscardInvalidChunkedBody checks a malformed chunked body that arrives
// after the answer of a location that does not read it (return 200), as
// nginx 1.22.1 treats it: the 200 stands and is logged, the discard finds
// the bad size line, logs "client sent invalid chunked body" at error and
// closes the connection.
func TestDiscardInvalidChunkedBody(t *testing.T) {
	dir := t.TempDir()
	logPath := filepath.Join(dir, "access.log")
	addr := startDaemonLevel(t, dir, "info", fmt.Sprintf(`
    log_format t '$status "$request"';
    server {
        listen 127.0.0.1:0;
        access_log %s t buffer=0;
        location /ret { return 200 "abc"; }
    }`, logPath))
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, "POST /ret HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(body) != "abc" {
		t.Fatalf("got %d %q, want 200 \"abc\"", resp.StatusCode, body)
	}
	if _, err := io.WriteString(c, "zz\r\n"); err != nil {
		t.Fatal(err)
	}
	if rest, err := io.ReadAll(br); err != nil || len(rest) > 0 {
		t.Errorf("after the bad body: %q, %v; want the connection closed", rest, err)
	}
	errorLog := filepath.Join(dir, "error.log")
	waitLogged(t, errorLog, `[error]`, `client sent invalid chunked body, client: 127.0.0.1, server: , request: "POST /ret HTTP/1.1", host: "a"`)
	waitLogged(t, logPath, `200 "POST /ret HTTP/1.1"`)
	if logged, _ := os.ReadFile(errorLog); strings.Count(string(logged), "invalid chunked body") != 1 {
		t.Errorf("want one line:\n%s", logged)
	}
}

// TestDiscardInvalidChunkedBodyBeforeAnswer checks a malformed chunked body
// that comes with the head of a request whose location does not read it,
// as nginx 1.22.1 answers it (recorded on raw sockets, 30 cases): the
// discard before the answer finds the fault, so what answers through
// ngx_http_send_response (return with text or below 400, redirects
// included) and a static file answer 400, an error status (return 404, a
// missing file, POST to a file) keeps its own, an error_page's target
// answers 400, and every one of them closes the connection with one
// "client sent invalid chunked body" line; $request_length is the head's
// and $content_length "-". A size line fails at its first
// bad byte, before its LF comes.
func TestDiscardInvalidChunkedBodyBeforeAnswer(t *testing.T) {
	dir, root := discardDocroot(t)
	logPath := filepath.Join(dir, "access.log")
	addr := startDaemonLevel(t, dir, "info", fmt.Sprintf(`
    log_format t '$status $request_length $content_length "$request"';
    server {
        listen 127.0.0.1:0;
        root %s;
        access_log %s t buffer=0;
        location /r200 { return 200 "abc"; }
        location /r204 { return 204; }
        location /r301 { return 301 /x; }
        location /r404 { return 404; }
        location /r404t { return 404 "nf"; }
        location /ep { error_page 404 = /r200; return 404; }
        location /file.txt { }
        location /missing.txt { }
    }`, root, logPath))
	cases := []struct {
		method, path string
		want         int
	}{
		{"POST", "/r200", 400},
		{"POST", "/r204", 400},
		{"POST", "/r301", 400},
		{"POST", "/r404", 404},
		{"POST", "/r404t", 400},
		{"POST", "/ep", 400},
		{"GET", "/file.txt", 400},
		{"POST", "/file.txt", 405},
		{"POST", "/missing.txt", 404},
	}
	bodies := []struct{ name, body string }{
		{"bad size line", "zz\r\n\r\n"},
		{"a good chunk then a bad one", "3\r\nabc\r\nzz\r\n"},
		{"bad size line without its LF", "zz"},
	}
	lines := 0
	for _, body := range bodies {
		for _, tc := range cases {
			t.Run(body.name+" "+tc.method+" "+tc.path, func(t *testing.T) {
				_, br, head := sendChunked(t, addr, tc.method, tc.path, body.body, 5*time.Second)
				expectAnswerThenClose(t, br, tc.want)
				lines++
				// The discarded body is in neither length, as in nginx.
				waitLogged(t, logPath, fmt.Sprintf(`%d %d - "%s %s HTTP/1.1"`, tc.want, len(head), tc.method, tc.path))
			})
		}
	}
	errorLog := filepath.Join(dir, "error.log")
	waitLogged(t, errorLog, `[error]`, `client sent invalid chunked body, client: 127.0.0.1, server: , request: "POST /ep HTTP/1.1", host: "a"`)
	deadline := time.Now().Add(5 * time.Second)
	for {
		logged, _ := os.ReadFile(errorLog)
		n := strings.Count(string(logged), "invalid chunked body")
		if n == lines {
			break
		}
		if n > lines || time.Now().After(deadline) {
			t.Fatalf("%d invalid chunked body lines, want one a request (%d):\n%s", n, lines, logged)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestDiscardChunkedBodyBeforeAnswerDoesNotWait checks a chunked body that
// is valid so far but not whole when a location that does not read it
// answers: the discard before the answer takes what is buffered and never
// waits for the socket, as nginx 1.22.1 (recorded on raw sockets: each of
// these answered at once, without Connection: close, and the connection
// served the next request once the body's rest came). The cases stop after
// a size line, after the last chunk's size line and inside the trailer
// section, where a step of the coding leaves nothing buffered to read.
func TestDiscardChunkedBodyBeforeAnswerDoesNotWait(t *testing.T) {
	dir, root := discardDocroot(t)
	addr := startDaemonLevel(t, dir, "info", fmt.Sprintf(`
    server {
        listen 127.0.0.1:0;
        root %s;
        location /r200 { return 200 "abc"; }
        location /r404 { return 404; }
        location /file.txt { }
    }`, root))
	cases := []struct {
		method, path string
		want         int
	}{
		{"POST", "/r200", 200},
		{"POST", "/r404", 404},
		{"GET", "/file.txt", 200},
	}
	bodies := []struct{ name, body, rest string }{
		{"size line only", "5\r\n", "abcde\r\n0\r\n\r\n"},
		{"last chunk without trailer end", "0\r\n", "\r\n"},
		{"inside the trailer section", "0\r\nX: y\r\n", "\r\n"},
		{"chunk data without its CRLF", "5\r\nabcde", "\r\n0\r\n\r\n"},
	}
	for _, body := range bodies {
		for _, tc := range cases {
			t.Run(body.name+" "+tc.method+" "+tc.path, func(t *testing.T) {
				// nginx answers at once; a discard that waits for the rest
				// of the body runs into this deadline.
				c, br, _ := sendChunked(t, addr, tc.method, tc.path, body.body, 2*time.Second)
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					t.Fatalf("no answer before the body's end: %v", err)
				}
				io.Copy(io.Discard, resp.Body)
				if resp.StatusCode != tc.want || resp.Close {
					t.Fatalf("got %d, Connection %q; want %d, keep-alive", resp.StatusCode, resp.Header.Get("Connection"), tc.want)
				}
				if _, err := io.WriteString(c, body.rest+"GET /r200 HTTP/1.1\r\nHost: a\r\n\r\n"); err != nil {
					t.Fatal(err)
				}
				resp, err = http.ReadResponse(br, nil)
				if err != nil {
					t.Fatalf("the next request: %v", err)
				}
				got, _ := io.ReadAll(resp.Body)
				if resp.StatusCode != 200 || string(got) != "abc" {
					t.Errorf("the next request: %d %q, want 200 \"abc\"", resp.StatusCode, got)
				}
			})
		}
	}
}

// sendChunked connects to addr, sends a chunked request head for method and
// path followed by body, and returns the connection (closed at the test's
// end, with deadline set), a reader on it, and the head sent.
func sendChunked(t *testing.T, addr, method, path, body string, deadline time.Duration) (net.Conn, *bufio.Reader, string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(deadline))
	head := method + " " + path + " HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
	if _, err := io.WriteString(c, head+body); err != nil {
		t.Fatal(err)
	}
	return c, bufio.NewReader(c), head
}

// TestDiscardChunkedBodyInSocketBeforeAnswer checks a malformed chunked body
// that is still in the socket, not in the read buffer, when a location that
// does not read it answers, as nginx 1.22.1 treats it (recorded on raw
// sockets): its discard reads the socket without waiting where its read
// event says there is more (the last read filled its buffer, or the request
// waited for a timer or a subrequest meanwhile), so the bad chunk turns the
// answer into 400 (an error status kept) with Connection: close, as when it
// came with the head. The cases: a head that fills the read buffer exactly,
// a long good chunk past the buffer's end, both sent in one write, and a
// body sent in a segment of its own while limit_req delays the request,
// auth_delay holds its 401 or auth_request waits for its subrequest. A body
// in a segment of its own after a head answered at once is left for after
// the answer in both (TestDiscardInvalidChunkedBody).
func TestDiscardChunkedBodyInSocketBeforeAnswer(t *testing.T) {
	t.Parallel() // its cases run in parallel too; the whole waits beside the other parallel tests, not before them
	dir, root := discardDocroot(t)
	if err := os.WriteFile(filepath.Join(dir, "users"), []byte("u:{PLAIN}p\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	auth := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(300 * time.Millisecond) // the subrequest the main request waits for
	}))
	t.Cleanup(auth.Close)
	logPath := filepath.Join(dir, "access.log")
	// Each request of the delayed locations has a key of its own
	// ($arg_k), sent twice: the second waits 500 ms (2r/s).
	addr := startDaemonLevel(t, dir, "info", fmt.Sprintf(`
    log_format t '$status $request_length "$request"';
    limit_req_zone $arg_k zone=z:1m rate=2r/s;
    server {
        listen 127.0.0.1:0;
        root %[1]s;
        access_log %[2]s t buffer=0;
        location /r200 { return 200 "abc"; }
        location /r404 { return 404; }
        location /file.txt { }
        location /d/ { limit_req zone=z burst=5; alias %[1]s/; error_page 404 = /r200; }
        location /dmissing { limit_req zone=z burst=5; }
        location /adelay { auth_basic x; auth_basic_user_file %[3]s/users; auth_delay 300ms; }
        location /areq { auth_request /auth; alias %[1]s/file.txt; }
        location = /auth { internal; proxy_pass %[4]s; }
    }`, root, logPath, dir, auth.URL))
	long := func(n int) string { return fmt.Sprintf("%x\r\n%s\r\nzz\r\n", n, strings.Repeat("a", n)) }
	cases := []struct {
		name, method, path string
		headSize           int    // pad the head to this many bytes (0: as it is)
		body               string // sent with the head, or after it when wait
		wait               bool   // the location waits: the body comes in a segment of its own
		want               int
	}{
		{"head fills the read buffer", "POST", "/r200", 2048, "zz\r\n\r\n", false, 400},
		{"head fills the read buffer, file", "GET", "/file.txt", 2048, "zz\r\n\r\n", false, 400},
		{"head fills the read buffer, error status", "POST", "/r404", 2048, "zz\r\n\r\n", false, 404},
		{"long good chunk then a bad one", "POST", "/r200", 0, long(3000), false, 400},
		{"longer good chunk then a bad one", "POST", "/r200", 0, long(20000), false, 400},
		{"long good chunk then a bad one, file", "GET", "/file.txt", 0, long(3000), false, 400},
		{"long good chunk then a bad one, error status", "POST", "/r404", 0, long(3000), false, 404},
		{"limit_req delay, file", "GET", "/d/file.txt?k=1", 0, "zz\r\n\r\n", true, 400},
		{"limit_req delay, good chunk then bad", "GET", "/d/file.txt?k=2", 0, "3\r\nabc\r\nzz\r\n", true, 400},
		{"limit_req delay, error_page to return", "GET", "/d/missing?k=3", 0, "zz\r\n\r\n", true, 400},
		{"limit_req delay, missing file", "GET", "/dmissing?k=4", 0, "zz\r\n\r\n", true, 404},
		{"limit_req delay, POST to a file", "POST", "/d/file.txt?k=5", 0, "zz\r\n\r\n", true, 405},
		{"auth_delay 401", "POST", "/adelay", 0, "zz\r\n\r\n", true, 401},
		{"auth_request", "GET", "/areq", 0, "zz\r\n\r\n", true, 400},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if strings.Contains(tc.path, "?k=") {
				warmLimitReq(t, addr, tc.path)
			}
			head := chunkedHead(tc.method, tc.path, tc.headSize)
			c, br := dialRaw(t, addr, 5*time.Second)
			if tc.wait {
				write(t, c, head)
				// A segment of its own, well within the location's wait.
				time.Sleep(20 * time.Millisecond)
				write(t, c, tc.body)
			} else {
				write(t, c, head+tc.body)
			}
			expectAnswerThenClose(t, br, tc.want)
			waitLogged(t, logPath, fmt.Sprintf(`%d %d "%s %s HTTP/1.1"`, tc.want, len(head), tc.method, tc.path))
		})
	}
	t.Run("limit_req delay, body not whole", func(t *testing.T) {
		// The discard after the wait takes what came and does not wait
		// for the rest: the answer goes out at the delay's end, and the
		// connection serves the next request once the body's rest came.
		t.Parallel()
		path := "/d/file.txt?k=6"
		warmLimitReq(t, addr, path)
		c, br := dialRaw(t, addr, 3*time.Second)
		write(t, c, chunkedHead("GET", path, 0))
		time.Sleep(20 * time.Millisecond)
		write(t, c, "5\r\n")
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("no answer before the body's end: %v", err)
		}
		io.Copy(io.Discard, resp.Body)
		if resp.StatusCode != 200 || resp.Close {
			t.Fatalf("got %d, Connection %q; want 200, keep-alive", resp.StatusCode, resp.Header.Get("Connection"))
		}
		write(t, c, "abcde\r\n0\r\n\r\nGET /r200 HTTP/1.1\r\nHost: a\r\n\r\n")
		resp, err = http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("the next request: %v", err)
		}
		if got, _ := io.ReadAll(resp.Body); resp.StatusCode != 200 || string(got) != "abc" {
			t.Errorf("the next request: %d %q, want 200 \"abc\"", resp.StatusCode, got)
		}
	})
}

// warmLimitReq sends a request for path and reads its answer, so that the
// next one for the same limit_req key is delayed.
func warmLimitReq(t *testing.T, addr, path string) {
	t.Helper()
	c, br := dialRaw(t, addr, 5*time.Second)
	write(t, c, "GET "+path+" HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	c.Close()
}

// chunkedHead returns a chunked request head for method and path, padded
// with an X-Pad field to size bytes when size is not 0.
func chunkedHead(method, path string, size int) string {
	head := method + " " + path + " HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
	if size > 0 {
		head += "X-Pad: " + strings.Repeat("p", size-len(head)-len("X-Pad: \r\n\r\n")) + "\r\n"
	}
	return head + "\r\n"
}

// dialRaw connects to addr with deadline set, closing the connection at the
// test's end, and returns it with a reader on it.
func dialRaw(t *testing.T, addr string, deadline time.Duration) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(deadline))
	return c, bufio.NewReader(c)
}

// write sends s on c, failing the test if it cannot.
func write(t *testing.T, c net.Conn, s string) {
	t.Helper()
	if _, err := io.WriteString(c, s); err != nil {
		t.Fatal(err)
	}
}

// expectAnswerThenClose reads one response from br and checks its status is
// want, it says Connection: close, and nothing follows it before the
// connection closes.
func expectAnswerThenClose(t *testing.T, br *bufio.Reader, want int) {
	t.Helper()
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != want || !resp.Close {
		t.Errorf("got %d, Connection %q; want %d, close", resp.StatusCode, resp.Header.Get("Connection"), want)
	}
	if rest, err := io.ReadAll(br); err != nil || len(rest) > 0 {
		t.Errorf("after the answer: %q, %v; want the connection closed", rest, err)
	}
}

// discardDocroot makes the temporary directory the chunked-discard tests
// run in and its document root "www" holding file.txt.
func discardDocroot(t *testing.T) (dir, root string) {
	t.Helper()
	dir = t.TempDir()
	root = filepath.Join(dir, "www")
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "file.txt"), []byte("hello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, root
}
