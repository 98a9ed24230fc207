package daemon_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestStaticCoreFlags checks that a location's etag, if_modified_since and
// max_ranges reach the files it serves (and memcached-free ranges), with
// the answers nginx 1.22.1 gave to the same requests.
func TestStaticCoreFlags(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "a.txt")
	mod := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	writeDated(t, file, []byte("hello world, this is a file\n"), mod)
	addr := startDaemon(t, dir, fmt.Sprintf(`server { listen 127.0.0.1:0; root %[1]s;
		location /noetag/ { etag off; alias %[1]s/; }
		location /before/ { if_modified_since before; alias %[1]s/; }
		location /off/ { if_modified_since off; alias %[1]s/; }
		location /mr0/ { max_ranges 0; alias %[1]s/; }
		location /mr1/ { max_ranges 1; alias %[1]s/; }
	}`, dir))
	later := mod.Add(time.Hour).Format(http.TimeFormat)
	tests := []struct {
		path   string
		header [2]string
		status int
		etag   bool
		ranges bool // Accept-Ranges
	}{
		{"/a.txt", [2]string{}, 200, true, true},
		{"/noetag/a.txt", [2]string{}, 200, false, true},
		{"/noetag/a.txt", [2]string{"If-None-Match", "*"}, 304, false, false},
		{"/a.txt", [2]string{"If-Modified-Since", later}, 200, true, true},
		{"/before/a.txt", [2]string{"If-Modified-Since", later}, 304, true, false},
		{"/off/a.txt", [2]string{"If-Modified-Since", mod.Format(http.TimeFormat)}, 200, true, true},
		{"/mr0/a.txt", [2]string{"Range", "bytes=0-1"}, 200, true, false},
		{"/mr1/a.txt", [2]string{"Range", "bytes=0-1,3-4"}, 200, true, true},
		{"/mr1/a.txt", [2]string{"Range", "bytes=0-1"}, 206, true, false},
	}
	for _, tc := range tests {
		t.Run(tc.path+" "+tc.header[0], func(t *testing.T) {
			req, _ := http.NewRequest("GET", "http://"+addr+tc.path, nil)
			if tc.header[0] != "" {
				req.Header.Set(tc.header[0], tc.header[1])
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			_, etag := resp.Header["Etag"]
			_, ranges := resp.Header["Accept-Ranges"]
			if resp.StatusCode != tc.status || etag != tc.etag || ranges != tc.ranges {
				t.Errorf("got %d ETag %v Accept-Ranges %v, want %d %v %v", resp.StatusCode, etag, ranges, tc.status, tc.etag, tc.ranges)
			}
		})
	}
}

// TestLogNotFound checks the error-log lines of missing files and index
// files, word for word as nginx 1.22.1 wrote them for the same requests,
// and that "log_not_found off" leaves out those lines only: a directory
// without an index file is still logged as forbidden.
func TestLogNotFound(t *testing.T) {
	dir := t.TempDir()
	for _, d := range []string{"on", "off", "off/empty"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "on", "f.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := startDaemon(t, dir, fmt.Sprintf(`server { listen 127.0.0.1:0; server_name h.test; root %s;
		location /off/ { log_not_found off; }
	}`, dir))
	for _, p := range []string{"/on/missing.txt", "/on/nodir/", "/on/f.txt/", "/on/f.txt/x", "/off/missing.txt", "/off/nodir/", "/off/empty/", "/on/last"} {
		resp, err := http.Get("http://" + addr + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	logPath := filepath.Join(dir, "error.log")
	waitForLog(t, logPath, `error open() "`+dir+`/on/last" failed (2: No such file or directory)`) // the last request's
	for _, want := range []string{
		`error open() "` + dir + `/on/missing.txt" failed (2: No such file or directory), client: 127.0.0.1, server: h.test, request: "GET /on/missing.txt HTTP/1.1", host: "` + addr + `"`,
		`error "` + dir + `/on/nodir/index.html" is not found (2: No such file or directory)`,
		`error "` + dir + `/on/f.txt/index.html" is not found (20: Not a directory)`,
		`error open() "` + dir + `/on/f.txt/x" failed (20: Not a directory)`,
		`error directory index of "` + dir + `/off/empty/" is forbidden`,
	} {
		waitForLog(t, logPath, want)
	}
	b, _ := os.ReadFile(logPath)
	for _, quiet := range []string{"/off/missing.txt", "/off/nodir/"} {
		if strings.Contains(string(b), dir+quiet) {
			t.Errorf("log_not_found off: the log has %s:\n%s", quiet, b)
		}
	}
}

// TestTooLargeBodyLogged: a declared body over client_max_body_size gets 413
// and nginx's error line, with the length the client declared.
func TestTooLargeBodyLogged(t *testing.T) {
	dir := t.TempDir()
	addr := startDaemon(t, dir, `server { listen 127.0.0.1:0; server_name s1;
		client_max_body_size 10; location / { return 200 ok; } }`)
	resp, err := http.Post("http://"+addr+"/x", "text/plain", strings.NewReader("aaaaaaaaaaaaaaaaaaaaaaa"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d, want 413", resp.StatusCode)
	}
	waitForLog(t, filepath.Join(dir, "error.log"), `error client intended to send too large body: 23 bytes, client: 127.0.0.1, server: s1, request: "POST /x HTTP/1.1", host: "`+addr+`"`)
}

// rawTalk sends req on a new connection to addr and reads until the
// server closes it or wait passes; it returns what arrived, how the read
// ended ("eof", "reset" or "open": still open after wait) and when.
func rawTalk(t *testing.T, addr, req string, wait time.Duration) (got, end string, took time.Duration) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(start.Add(wait))
	b, err := io.ReadAll(c)
	return string(b), readEnd(err), time.Since(start)
}

// rawTalkHead sends req on a new connection to addr and returns what came
// up to and including the end of the response head ("\r\n\r\n"), or all
// that came if the head does not end within 5 s: for tests of a head on a
// connection that stays open, without waiting out rawTalk's read deadline.
func rawTalkHead(t *testing.T, addr, req string) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	var got []byte
	buf := make([]byte, 4096)
	for {
		n, err := c.Read(buf)
		got = append(got, buf[:n]...)
		if i := bytes.Index(got, []byte("\r\n\r\n")); i >= 0 {
			return string(got[:i+4])
		}
		if err != nil {
			return string(got)
		}
	}
}

// readEnd names how a read to the end stopped.
func readEnd(err error) string {
	switch {
	case err == nil:
		return "eof"
	case errors.Is(err, syscall.ECONNRESET):
		return "reset"
	case errors.Is(err, os.ErrDeadlineExceeded):
		return "open"
	}
	return err.Error()
}

// TestChunkedTransferEncodingOff checks that with chunked_transfer_encoding
// off a body of unknown length (an upstream's chunked one) goes to an
// HTTP/1.1 client without chunked framing, up to the close, as nginx
// 1.22.1 sends it, while a location with the default keeps chunking and
// the connection.
func TestChunkedTransferEncodingOff(t *testing.T) {
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello")
		w.(http.Flusher).Flush() // chunked: the length is not known
		io.WriteString(w, " world")
	}))
	t.Cleanup(be.Close)
	dir := t.TempDir()
	addr := startDaemon(t, dir, fmt.Sprintf(`server { listen 127.0.0.1:0;
		location /off/ { chunked_transfer_encoding off; proxy_pass http://%[1]s; }
		location /on/ { proxy_pass http://%[1]s; }
		location /short/ { chunked_transfer_encoding off; return 200 "short"; }
	}`, be.Listener.Addr()))
	tests := []struct {
		path, proto string
		head        []string // in the head
		notHead     []string
		body        string
		end         string
	}{
		{"/off/", "HTTP/1.1", []string{"Connection: close"}, []string{"Transfer-Encoding", "Content-Length"}, "hello world", "eof"},
		{"/off/", "HTTP/1.0", []string{"Connection: close"}, []string{"Transfer-Encoding"}, "hello world", "eof"},
		{"/on/", "HTTP/1.1", []string{"Transfer-Encoding: chunked", "Connection: keep-alive"}, nil, "hello world", "open"},
		{"/short/", "HTTP/1.1", []string{"Content-Length: 5", "Connection: keep-alive"}, nil, "short", "open"},
	}
	for _, tc := range tests {
		t.Run(tc.path+tc.proto, func(t *testing.T) {
			got, end, _ := rawTalk(t, addr, "GET "+tc.path+" "+tc.proto+"\r\nHost: x\r\n\r\n", 300*time.Millisecond)
			head, body, _ := strings.Cut(got, "\r\n\r\n")
			head += "\r\n"
			if strings.Contains(head, "chunked") {
				body = dechunk(t, body)
			}
			for _, h := range tc.head {
				if !strings.Contains(head, "\r\n"+h+"\r\n") {
					t.Errorf("head has no %q:\n%s", h, head)
				}
			}
			for _, h := range tc.notHead {
				if strings.Contains(head, "\r\n"+h+":") {
					t.Errorf("head has %q:\n%s", h, head)
				}
			}
			if body != tc.body || end != tc.end {
				t.Errorf("body %q, connection %s; want %q, %s", body, end, tc.body, tc.end)
			}
		})
	}
}

// dechunk decodes a chunked body, which must end with its last chunk.
func dechunk(t *testing.T, body string) string {
	t.Helper()
	var out strings.Builder
	for {
		line, rest, ok := strings.Cut(body, "\r\n")
		n, err := strconv.ParseInt(line, 16, 64)
		if !ok || err != nil || int64(len(rest)) < n+2 {
			t.Fatalf("bad chunked body %q", body)
		}
		if n == 0 {
			return out.String()
		}
		out.WriteString(rest[:n])
		body = rest[n+2:]
	}
}

// TestAuthDelay checks auth_delay as nginx 1.22.1 applies it: the access
// phase's 401 (auth_basic without or with a wrong login, auth_request's
// 401) waits, a 403 and a good login do not; a delayed request holds
// nothing but its own connection; a client that leaves during the delay
// ends it (499, no answer); and a graceful stop ends it early.
func TestAuthDelay(t *testing.T) {
	const delay = 500 * time.Millisecond // an undelayed answer stays well under it on a loaded machine
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "users"), []byte("alice:{PLAIN}secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "f.txt"), []byte("in"), 0o644); err != nil {
		t.Fatal(err)
	}
	// The locations serve a file: a return would answer in the rewrite
	// phase, before the access phase, in nginx as in fulcrum.
	text := fmt.Sprintf(`pid %[1]s/fulcrum.pid; error_log %[1]s/error.log info;
	http { log_format st "$request_uri $status"; access_log %[1]s/access.log st buffer=0;
	server { listen 127.0.0.1:0; auth_delay %[2]dms;
		location /basic { auth_basic x; auth_basic_user_file %[1]s/users; alias %[1]s/f.txt; }
		location /req401 { auth_request /sub401; alias %[1]s/f.txt; }
		location /req403 { auth_request /sub403; alias %[1]s/f.txt; }
		location = /sub401 { internal; return 401; }
		location = /sub403 { internal; return 403; }
		location /deny { deny all; }
		location /ret401 { return 401; }
		location /open { return 200 "open"; }
		location /long { auth_delay 3s; auth_basic x; auth_basic_user_file %[1]s/users; alias %[1]s/f.txt; }
	} }`, dir, delay.Milliseconds())
	addr, signals := runConfig(t, dir, text)
	tests := []struct {
		path, auth string
		status     int
		delayed    bool
	}{
		{"/basic", "", 401, true},
		{"/basic", "alice:wrong", 401, true},
		{"/basic", "alice:secret", 200, false},
		{"/req401", "", 401, true},
		{"/req403", "", 403, false},
		{"/deny", "", 403, false},
		{"/ret401", "", 401, false},
	}
	for _, tc := range tests {
		t.Run(tc.path+" "+tc.auth, func(t *testing.T) {
			req, _ := http.NewRequest("GET", "http://"+addr+tc.path, nil)
			if u, p, ok := strings.Cut(tc.auth, ":"); ok {
				req.SetBasicAuth(u, p)
			}
			start := time.Now()
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			took := time.Since(start)
			if resp.StatusCode != tc.status || (took >= delay) != tc.delayed {
				t.Errorf("got %d after %v, want %d delayed %v", resp.StatusCode, took, tc.status, tc.delayed)
			}
		})
	}

	// A delayed request blocks nothing else.
	done := make(chan time.Duration, 1)
	go func() {
		start := time.Now()
		if resp, err := http.Get("http://" + addr + "/basic"); err == nil {
			resp.Body.Close()
		}
		done <- time.Since(start)
	}()
	waitForLog(t, filepath.Join(dir, "error.log"), `info delaying unauthorized request`)
	start := time.Now()
	resp, err := http.Get("http://" + addr + "/open")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if took := time.Since(start); took >= delay/2 {
		t.Errorf("a request beside a delayed one took %v", took)
	}
	<-done

	// A client that leaves during the delay: 499, nothing sent.
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	io.WriteString(c, "GET /long?gone HTTP/1.1\r\nHost: x\r\n\r\n")
	time.Sleep(50 * time.Millisecond) // the request is in its delay
	c.Close()
	waitForAccessLine(t, filepath.Join(dir, "access.log"), "/long?gone 499", 3*time.Second)
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("the client's leaving ended the delay after %v", took)
	}

	// A graceful stop answers a delayed request at once, with close.
	c, err = net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET /long?stop HTTP/1.1\r\nHost: x\r\n\r\n")
	time.Sleep(50 * time.Millisecond)
	start = time.Now()
	signals <- syscall.SIGQUIT
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	b, _ := io.ReadAll(c)
	if !strings.HasPrefix(string(b), "HTTP/1.1 401") || !strings.Contains(string(b), "Connection: close") || time.Since(start) >= time.Second {
		t.Errorf("after QUIT, in %v: %q", time.Since(start), b)
	}
}

// waitForAccessLine polls the access log at path for a line.
func waitForAccessLine(t *testing.T, path, line string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		b, _ := os.ReadFile(path)
		if strings.Contains("\n"+string(b), "\n"+line+"\n") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("access log has no %q:\n%s", line, b)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// uploadAfterAnswer sends a request head announcing a large body and part of
// it, then keeps sending pieces every 50 ms for sendFor (the client does not
// look at the answer yet, as a client busy uploading), then reads. It
// returns the answer's status line, whether the connection was reset (on a
// write or the read), and how the read ended.
func uploadAfterAnswer(t *testing.T, addr, path string, sendFor time.Duration) (status string, reset bool, end string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	piece := strings.Repeat("y", 32<<10)
	_, err = io.WriteString(c, "POST "+path+" HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\n"+piece)
	for start := time.Now(); err == nil && time.Since(start) < sendFor; {
		time.Sleep(50 * time.Millisecond)
		_, err = io.WriteString(c, piece)
	}
	reset = err != nil
	_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
	b, rerr := io.ReadAll(c)
	status, _, _ = strings.Cut(string(b), "\r\n")
	end = readEnd(rerr)
	return status, reset || end == "reset", end
}

// TestLingeringClose checks lingering_close: a client still uploading
// after an early 413 reads the answer and a clean end (on, always) instead
// of a reset (off); the discarding stops after lingering_timeout without
// data and after lingering_time in all; and a graceful stop closes a
// lingering connection at once.
func TestLingeringClose(t *testing.T) {
	dir := t.TempDir()
	text := fmt.Sprintf(`pid %[1]s/fulcrum.pid; error_log %[1]s/error.log;
	http { access_log off; client_max_body_size 1k;
	server { listen 127.0.0.1:0; lingering_timeout 300ms; lingering_time 1s;
		location /on { return 200; }
		location /off { lingering_close off; return 200; }
		location /always { lingering_close always; return 200 "ok"; }
		location /long { lingering_timeout 30s; lingering_time 30s; return 200; }
	} }`, dir)
	addr, signals := runConfig(t, dir, text)

	for _, tc := range []struct {
		path  string
		reset bool
	}{{"/on", false}, {"/off", true}} {
		status, reset, end := uploadAfterAnswer(t, addr, tc.path, 300*time.Millisecond)
		if status != "HTTP/1.1 413 Request Entity Too Large" && !tc.reset || reset != tc.reset {
			t.Errorf("%s: %q, reset %v (%s), want 413, reset %v", tc.path, status, reset, end, tc.reset)
		}
	}

	// A request that closes the connection, followed by more bytes (a
	// pipelining client): always and on linger, off resets.
	junk := strings.Repeat("z", 64<<10)
	for _, tc := range []struct {
		path string
		end  string
	}{{"/always", "eof"}, {"/on", "eof"}, {"/off", "reset"}} {
		got, end, _ := rawTalk(t, addr, "GET "+tc.path+" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"+junk, 2*time.Second)
		if end != tc.end || tc.end == "eof" && !strings.HasPrefix(got, "HTTP/1.1 200 OK") {
			t.Errorf("%s with more bytes: %.30q, ended %s, want %s", tc.path, got, end, tc.end)
		}
	}

	// lingering_time: a client that never stops sending is cut off after
	// about 1s of lingering, however often it sends.
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "POST /on HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\n")
	br := make([]byte, 4096)
	_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Read(br); err != nil {
		t.Fatal(err)
	}
	answered := time.Now()
	for time.Since(answered) < 5*time.Second {
		if _, err := io.WriteString(c, "y"); err != nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if took := time.Since(answered); took < 900*time.Millisecond || took > 2500*time.Millisecond {
		t.Errorf("lingering_time 1s: the connection closed %v after the answer", took)
	}

	// lingering_timeout: a client that stops sending is closed about 300ms
	// after its last byte; before that its bytes are taken silently.
	c2, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	io.WriteString(c2, "POST /on HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\n")
	_ = c2.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := c2.Read(br); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if _, err := io.WriteString(c2, "y"); err != nil {
		t.Fatalf("a write 100ms into lingering: %v", err)
	}
	if !closedWithin(c2, 1500*time.Millisecond) {
		t.Error("lingering_timeout 300ms: the connection is still open 1.5s after the last byte")
	}

	// A graceful stop closes a lingering connection at once.
	c3, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c3.Close()
	io.WriteString(c3, "POST /long HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\n")
	_ = c3.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := c3.Read(br); err != nil {
		t.Fatal(err)
	}
	signals <- syscall.SIGQUIT
	if !closedWithin(c3, 2*time.Second) {
		t.Error("a graceful stop left a lingering connection open")
	}
}

// closedWithin writes a byte now and then until a write fails (the server
// closed its socket: RST, then EPIPE) or d passes.
func closedWithin(c net.Conn, d time.Duration) bool {
	for start := time.Now(); time.Since(start) < d; time.Sleep(25 * time.Millisecond) {
		if _, err := io.WriteString(c, "y"); err != nil {
			return true
		}
	}
	return false
}

// TestResetTimedoutConnection checks reset_timedout_connection against
// nginx 1.22.1: a request head that times out is reset (no 408, which
// nginx never sends for it), "return 444" is reset, a keep-alive timeout
// closes normally; without the directive all end with FIN.
func TestResetTimedoutConnection(t *testing.T) {
	dir := t.TempDir()
	addr := startDaemon(t, dir, `
	server { listen 127.0.0.1:0; client_header_timeout 200ms; keepalive_timeout 200ms; reset_timedout_connection on;
		location /close { return 444; }
		location /ka { return 200 "ok"; }
		location /plain444 { reset_timedout_connection off; return 444; }
	}`)
	tests := []struct {
		name, req, end, prefix string
	}{
		{"head timeout", "GET / HTTP/1.1\r\nHost: x\r\n", "reset", ""},
		{"444", "GET /close HTTP/1.1\r\nHost: x\r\n\r\n", "reset", ""},
		{"444 with off", "GET /plain444 HTTP/1.1\r\nHost: x\r\n\r\n", "eof", ""},
		{"keep-alive timeout", "GET /ka HTTP/1.1\r\nHost: x\r\n\r\n", "eof", "HTTP/1.1 200 OK"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, end, _ := rawTalk(t, addr, tc.req, 2*time.Second)
			if end != tc.end || !strings.HasPrefix(got, tc.prefix) || tc.prefix == "" && got != "" {
				t.Errorf("got %q, ended %s; want %q..., %s", got, end, tc.prefix, tc.end)
			}
		})
	}
}

// TestClientBodyTimeoutLikeNginx checks a request body that stops coming
// against nginx 1.22.1. A location that reads the body (proxy_pass) ends the
// request without an answer: the connection closes (reset with
// reset_timedout_connection on) and only the access log says 408, with
// nothing sent. A static file answers at once and discards the rest of the
// body afterwards, with lingering_timeout between reads (not
// client_body_timeout), then closes.
func TestClientBodyTimeoutLikeNginx(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "f.txt"), []byte("hello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(dir, "access.log")
	addr := startDaemon(t, dir, fmt.Sprintf(`
	log_format t '$status $body_bytes_sent "$request"';
	server { listen 127.0.0.1:0; access_log %[1]s t buffer=0; client_body_timeout 300ms; lingering_timeout 300ms; root %[2]s;
		location /p/ { proxy_pass http://%[3]s; }
		location /pr/ { reset_timedout_connection on; proxy_pass http://%[3]s; }
		location /slow/ { client_body_timeout 3s; alias %[2]s/; }
	}`, logPath, dir, echoBackend(t)))
	const stalled = " HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc"
	tests := []struct {
		name, target, end, log string
	}{
		{"proxied", "/p/x", "eof", `408 0 "POST /p/x HTTP/1.1"`},
		{"proxied, reset_timedout_connection on", "/pr/x", "reset", `408 0 "POST /pr/x HTTP/1.1"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, end, _ := rawTalk(t, addr, "POST "+tc.target+stalled, 3*time.Second)
			if got != "" || end != tc.end {
				t.Errorf("got %q, ended %s; want no answer, %s", got, end, tc.end)
			}
			waitLogged(t, logPath, tc.log)
		})
	}
	t.Run("static", func(t *testing.T) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		io.WriteString(c, "GET /slow/f.txt"+stalled)
		// The answer comes before client_body_timeout (3s) could pass.
		_ = c.SetReadDeadline(time.Now().Add(1500 * time.Millisecond))
		br := make([]byte, 4096)
		n, err := c.Read(br)
		if err != nil || !strings.HasPrefix(string(br[:n]), "HTTP/1.1 200 OK") {
			t.Fatalf("read %q, %v; want the 200 at once", br[:n], err)
		}
		// lingering_timeout (300ms), not client_body_timeout, ends the wait
		// for the rest of the body.
		start := time.Now()
		_ = c.SetReadDeadline(start.Add(2500 * time.Millisecond))
		if _, err := io.ReadAll(c); err != nil {
			t.Errorf("after the answer: %v, want the close within lingering_timeout", err)
		}
		waitLogged(t, logPath, `200 6 "GET /slow/f.txt HTTP/1.1"`)
	})
}
