package daemon_test

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"fulcrum/internal/testutil"
)

// spoolRequest is what spoolBackend saw of one request.
type spoolRequest struct {
	accepted time.Time // when the connection was accepted
	length   string    // Content-Length
	te       string    // Transfer-Encoding
	file     string    // X-RBF ($request_body_file)
	body     []byte
}

// spoolRecorder gathers spoolBackend's requests.
type spoolRecorder struct {
	mu   sync.Mutex
	reqs []spoolRequest
}

// wait polls until n requests came and returns them.
func (s *spoolRecorder) wait(t *testing.T, n int) []spoolRequest {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; {
		s.mu.Lock()
		reqs := append([]spoolRequest(nil), s.reqs...)
		s.mu.Unlock()
		if len(reqs) >= n {
			return reqs
		}
		if time.Now().After(deadline) {
			t.Fatalf("the backend got %d requests, want %d", len(reqs), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// spoolBackend is an HTTP server that records each request (its accept
// time, framing fields and body); with hangUp it closes the connection
// after reading the request, without answering.
func spoolBackend(t *testing.T, hangUp bool) (string, *spoolRecorder) {
	rec := &spoolRecorder{}
	addr := testutil.RawBackend(t, func(c net.Conn) {
		r := spoolRequest{accepted: time.Now()}
		req, err := http.ReadRequest(bufio.NewReader(c))
		if err != nil {
			return
		}
		r.length, r.te, r.file = req.Header.Get("Content-Length"), strings.Join(req.TransferEncoding, ","), req.Header.Get("X-RBF")
		r.body, _ = io.ReadAll(req.Body)
		rec.mu.Lock()
		rec.reqs = append(rec.reqs, r)
		rec.mu.Unlock()
		if hangUp {
			return
		}
		fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\ngot %d", 4+len(strconv.Itoa(len(r.body))), len(r.body))
	})
	return addr, rec
}

// bigBody is a 3 MB body that is not all the same byte.
func bigBody() []byte {
	return bytes.Repeat([]byte("0123456789abcdef"), 3_000_000/16)
}

// upload sends body to url, chunked or with its length, and returns the
// answer's status and body.
func upload(t *testing.T, method, url string, body []byte, chunked bool) (int, string) {
	t.Helper()
	var r io.Reader = bytes.NewReader(body)
	if chunked {
		r = io.MultiReader(r) // no length: net/http sends it chunked
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	if chunked {
		req.ContentLength = -1
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(got)
}

// levelName is a temporary file's name under cbt with levels "1 2", as
// nginx 1.22.1 names them (cbt/1/00/0000000001).
var levelName = regexp.MustCompile(`/cbt/(\d)/(\d\d)/\d{7}(\d\d)(\d)$`)

// TestSpooledUploads checks that with proxy_request_buffering on a 3 MB
// body, with a length or chunked, goes to a temporary file and reaches
// the upstream whole with its length, as nginx 1.22.1 sends it (recorded:
// "Content-Length: 3000000" for both, the file named in
// $request_body_file); the file is unlinked at once and no file is left.
func TestSpooledUploads(t *testing.T) {
	t.Parallel() // its own daemon and backends; waits on timers, no upper time bound
	dir := t.TempDir()
	backend, rec := spoolBackend(t, false)
	addr := startDaemon(t, dir, fmt.Sprintf(`
    access_log off;
    client_max_body_size 10m;
    client_body_temp_path %[1]s/cbt 1 2;
    server {
        listen 127.0.0.1:0;
        location / { proxy_pass http://%[2]s; proxy_set_header X-RBF $request_body_file; }
    }`, dir, backend))
	body := bigBody()
	for i, chunked := range []bool{false, true} {
		t.Run(fmt.Sprintf("chunked=%v", chunked), func(t *testing.T) {
			code, got := upload(t, "POST", "http://"+addr+"/", body, chunked)
			if code != 200 || got != "got 3000000" {
				t.Fatalf("answer %d %q, want 200 \"got 3000000\"", code, got)
			}
			r := rec.wait(t, i+1)[i]
			if r.length != "3000000" || r.te != "" || !bytes.Equal(r.body, body) {
				t.Errorf("upstream got Content-Length %q, Transfer-Encoding %q, %d bytes; want 3000000, none, the body", r.length, r.te, len(r.body))
			}
			m := levelName.FindStringSubmatch(r.file)
			if m == nil || !strings.HasPrefix(r.file, dir) || m[1] != m[4] || m[2] != m[3] {
				t.Errorf("$request_body_file = %q, want %s/cbt/D/DD/0000000DDD", r.file, dir)
			}
			if _, err := os.Stat(r.file); !os.IsNotExist(err) {
				t.Errorf("%s is on disk (%v); nginx unlinks it once created", r.file, err)
			}
		})
	}
}

// TestSpoolSlowClient checks that the upstream is connected to only once
// the whole body arrived, however long (nginx 1.22.1: a 600 KB body sent
// at 200 KB/s reached the backend 0.1 s before curl finished reading the
// answer). The body here is 1.2 MB, past the 1 MiB fulcrum once streamed.
func TestSpoolSlowClient(t *testing.T) {
	dir := t.TempDir()
	backend, rec := spoolBackend(t, false)
	addr := startDaemon(t, dir, fmt.Sprintf(`
    access_log off;
    client_max_body_size 10m;
    client_body_temp_path %[1]s/cbt 1 2;
    server {
        listen 127.0.0.1:0;
        location / { proxy_pass http://%[2]s; }
    }`, dir, backend))
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const pieces, size = 6, 200_000
	fmt.Fprintf(c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", pieces*size)
	var last time.Time
	for i := range pieces {
		if i > 0 {
			time.Sleep(50 * time.Millisecond) // the client's pace, not a wait for the server
		}
		last = time.Now()
		if _, err := c.Write(bytes.Repeat([]byte{'a' + byte(i)}, size)); err != nil {
			t.Fatal(err)
		}
	}
	r := rec.wait(t, 1)[0]
	if r.accepted.Before(last) {
		t.Errorf("the upstream was connected to %v before the client's last piece", last.Sub(r.accepted))
	}
	if len(r.body) != pieces*size || r.length != strconv.Itoa(pieces*size) {
		t.Errorf("upstream got %d bytes, Content-Length %q", len(r.body), r.length)
	}
}

// TestSpoolRetry checks that a 3 MB body is sent whole again to the next
// server after the first one closed the connection without answering.
func TestSpoolRetry(t *testing.T) {
	t.Parallel() // its own daemon and backends; waits on timers, no upper time bound
	dir := t.TempDir()
	first, hung := spoolBackend(t, true)
	second, rec := spoolBackend(t, false)
	addr := startDaemon(t, dir, fmt.Sprintf(`
    access_log off;
    client_max_body_size 10m;
    client_body_temp_path %[1]s/cbt;
    upstream pair { server %[2]s; server %[3]s; }
    server {
        listen 127.0.0.1:0;
        location / { proxy_pass http://pair; proxy_next_upstream error; }
    }`, dir, first, second))
	body := bigBody()
	code, got := upload(t, "PUT", "http://"+addr+"/", body, true)
	if code != 200 || got != "got 3000000" {
		t.Fatalf("answer %d %q, want 200 \"got 3000000\"", code, got)
	}
	if r := hung.wait(t, 1)[0]; !bytes.Equal(r.body, body) {
		t.Errorf("first server got %d bytes", len(r.body))
	}
	if r := rec.wait(t, 1)[0]; !bytes.Equal(r.body, body) || r.length != "3000000" {
		t.Errorf("second server got %d bytes, Content-Length %q; want the whole body again", len(r.body), r.length)
	}
}

// TestSpoolInFileOnly checks client_body_in_file_only: "on" keeps the file
// named by $request_body_file after the request (nginx 1.22.1 left
// cbt/6/00/0000000006 with the 10,000 bytes), "clean" removes it at the
// end; both write even a short body to a file, logged at notice.
func TestSpoolInFileOnly(t *testing.T) {
	for _, mode := range []string{"on", "clean"} {
		t.Run(mode, func(t *testing.T) {
			dir := t.TempDir()
			backend, rec := spoolBackend(t, false)
			addr := startDaemon(t, dir, fmt.Sprintf(`
    access_log off;
    client_body_temp_path %[1]s/cbt 1 2;
    client_body_in_file_only %[3]s;
    server {
        listen 127.0.0.1:0;
        location / { proxy_pass http://%[2]s; proxy_set_header X-RBF $request_body_file; }
    }`, dir, backend, mode))
			code, _ := upload(t, "POST", "http://"+addr+"/", []byte("hello"), false)
			r := rec.wait(t, 1)[0]
			if code != 200 || string(r.body) != "hello" || levelName.FindString(r.file) == "" {
				t.Fatalf("answer %d, upstream got %q, $request_body_file %q", code, r.body, r.file)
			}
			if mode == "on" {
				if kept, err := os.ReadFile(r.file); err != nil || string(kept) != "hello" {
					t.Errorf("kept file: %q, %v; want \"hello\"", kept, err)
				}
			} else {
				pollGone(t, r.file)
			}
			want := "a client request body is buffered to a temporary file " + r.file
			logged := waitLine(t, filepath.Join(dir, "error.log"), "with "+strconv.Quote(want), 3*time.Second, func(l string) bool { return strings.Contains(l, want) })
			if !strings.Contains(logged, "[notice]") {
				t.Errorf("logged %q, want a notice", logged)
			}
		})
	}
}

// TestSpoolTooLarge checks that client_max_body_size still refuses a body
// with 413 before it is read, leaving no file and no upstream request.
func TestSpoolTooLarge(t *testing.T) {
	dir := t.TempDir()
	backend, rec := spoolBackend(t, false)
	addr := startDaemon(t, dir, fmt.Sprintf(`
    access_log off;
    client_max_body_size 100k;
    client_body_temp_path %[1]s/cbt;
    server {
        listen 127.0.0.1:0;
        location / { proxy_pass http://%[2]s; }
    }`, dir, backend))
	for _, chunked := range []bool{false, true} {
		if code, _ := upload(t, "POST", "http://"+addr+"/", bigBody(), chunked); code != 413 {
			t.Errorf("chunked=%v: status %d, want 413", chunked, code)
		}
	}
	rec.mu.Lock()
	n := len(rec.reqs)
	rec.mu.Unlock()
	if n != 0 {
		t.Errorf("the upstream got %d requests", n)
	}
	if left, _ := os.ReadDir(filepath.Join(dir, "cbt")); len(left) != 0 {
		t.Errorf("left in cbt: %v", left)
	}
}

// TestSpoolFastCGI checks that a FastCGI request's 3 MB body goes through a
// temporary file (its level directory appears) and arrives whole.
func TestSpoolFastCGI(t *testing.T) {
	t.Parallel() // its own daemon and backends; no upper time bound
	dir := t.TempDir()
	backend, rec := paramBackend(t, "fastcgi")
	addr := startDaemon(t, dir, fmt.Sprintf(`
    access_log off;
    client_max_body_size 10m;
    client_body_temp_path %[1]s/cbt 1 2;
    server {
        listen 127.0.0.1:0;
        location / { fastcgi_pass %[2]s; fastcgi_param CONTENT_LENGTH $content_length; }
    }`, dir, backend))
	body := bigBody()
	code, got := upload(t, "POST", "http://"+addr+"/", body, true)
	if code != 200 || got != "got 3000000" {
		t.Fatalf("answer %d %q", code, got)
	}
	if line := rec.last(t); !strings.HasPrefix(line, "CL=3000000 ") || !strings.HasSuffix(line, "body="+string(body)) {
		t.Errorf("application got %.60q..., want CL=3000000 and the body", line)
	}
	if _, err := os.Stat(filepath.Join(dir, "cbt", "1", "00")); err != nil {
		t.Errorf("no temporary file was made: %v", err)
	}
}

// pollGone polls until name no longer exists.
func pollGone(t *testing.T, name string) {
	t.Helper()
	for deadline := time.Now().Add(3 * time.Second); ; {
		if _, err := os.Stat(name); os.IsNotExist(err) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s is still there", name)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestClientBodyTempPathCheck checks that `fulcrum -t` (daemon.Check)
// creates client_body_temp_path's directory with mode 0700, as `nginx -t`
// does, and that one that cannot be made (nginx 1.22.1: `mkdir()
// "/x/a/cb" failed (2: No such file or directory)`) or bad levels (nginx:
// `"client_body_temp_path" directive invalid value` for "0", "x", "5 6")
// are errors naming the file and line.
func TestClientBodyTempPathCheck(t *testing.T) {
	tests := []struct {
		name, args, want string
		made             bool
	}{
		{"made", "DIR/cbt 1 2", "", true},
		{"exists", "DIR", "", true},
		{"parent missing", "DIR/missing/cbt", `mkdir() "DIR/missing/cbt" failed (2: No such file or directory) in `, false},
		{"level 0", "DIR/cbt 0", `"client_body_temp_path" directive invalid value in `, false},
		{"levels too long", "DIR/cbt 5 6", `"client_body_temp_path" directive invalid value in `, false},
		{"level not a number", "DIR/cbt x", `"client_body_temp_path" directive invalid value in `, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "fulcrum.conf")
			args := strings.ReplaceAll(tt.args, "DIR", dir)
			text := "http {\n server {\n  listen 127.0.0.1:0;\n  client_body_temp_path " + args + ";\n }\n}\n"
			err := checkText(t, path, text)
			want := strings.ReplaceAll(tt.want, "DIR", dir)
			switch {
			case want == "" && err != nil:
				t.Fatalf("Check: %v", err)
			case want != "" && (err == nil || !strings.Contains(err.Error(), want+path+":4")):
				t.Fatalf("Check: %v, want %q at %s:4", err, want, path)
			}
			if tt.made {
				target := strings.Fields(args)[0]
				if fi, err := os.Stat(target); err != nil || !fi.IsDir() {
					t.Errorf("%s: %v, want a directory", target, err)
				} else if target != dir && fi.Mode().Perm() != 0o700 {
					t.Errorf("%s: mode %v, want 0700", target, fi.Mode().Perm())
				}
			}
		})
	}
}

// TestSpoolBodyAfterErrorPage checks that a body in a temporary file still
// goes to the proxy_pass an error_page leads to (as one in memory does:
// TestRequestBodyAfterRedirect).
func TestSpoolBodyAfterErrorPage(t *testing.T) {
	dir := t.TempDir()
	backend, rec := spoolBackend(t, false)
	addr := startDaemon(t, dir, fmt.Sprintf(`
    access_log off;
    client_max_body_size 10m;
    client_body_temp_path %[1]s/cbt;
    server {
        listen 127.0.0.1:0;
        location / { error_page 502 = @be; proxy_pass http://127.0.0.1:1; }
        location @be { proxy_pass http://%[2]s; }
    }`, dir, backend))
	body := bytes.Repeat([]byte("x"), 100_000)
	if code, got := upload(t, "POST", "http://"+addr+"/", body, false); code != 200 || got != "got 100000" {
		t.Fatalf("answer %d %q, want 200 \"got 100000\"", code, got)
	}
	if r := rec.wait(t, 1)[0]; !bytes.Equal(r.body, body) {
		t.Errorf("the error_page's upstream got %d bytes", len(r.body))
	}
}

// TestSpoolBodyNotReadBackWithoutErrorPage checks that a failed proxy_pass
// that no error_page catches leaves a body in a temporary file there: it
// is read back into memory only for a redirect that takes it
// (TestSpoolBodyAfterErrorPage), never for a plain 502, or every upload
// to a failing upstream would cost its whole size in memory.
func TestSpoolBodyNotReadBackWithoutErrorPage(t *testing.T) {
	dir := t.TempDir()
	addr := startDaemon(t, dir, fmt.Sprintf(`
    access_log off;
    client_max_body_size 64m;
    client_body_temp_path %[1]s/cbt;
    server {
        listen 127.0.0.1:0;
        location / { error_page 404 /nf; proxy_pass http://127.0.0.1:1; }
    }`, dir))
	const size = 16 << 20
	body := bytes.Repeat([]byte("x"), size)
	upload(t, "POST", "http://"+addr+"/", []byte("warm"), false) // first-use costs out of the count
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if code, _ := upload(t, "POST", "http://"+addr+"/", body, false); code != http.StatusBadGateway {
		t.Fatalf("answer %d, want 502", code)
	}
	runtime.ReadMemStats(&after)
	if n := after.TotalAlloc - before.TotalAlloc; n > size/2 {
		t.Errorf("a 502 for a %d-byte spooled body allocated %d bytes: the body was read back into memory", size, n)
	}
}

// TestSpoolBodyErrorPageFromFile checks that a body in a temporary file
// goes on to the proxy_pass an error_page leads to from the file, not
// read back into memory, and as nginx 1.22.1 sends it there (recorded with
// a 20,000-byte body: a named location gets "POST" with
// "Content-Length: 20000" and the body, a URI "GET" with the same length
// and body; a chunked body goes with its length too), named by
// $request_body_file there, and logged once.
func TestSpoolBodyErrorPageFromFile(t *testing.T) {
	type seen struct {
		method, length, te, file string
		sum                      [sha256.Size]byte
		n                        int64
	}
	var mu sync.Mutex
	var got []seen
	backend := testutil.RawBackend(t, func(c net.Conn) {
		req, err := http.ReadRequest(bufio.NewReader(c))
		if err != nil {
			return
		}
		h := sha256.New()
		n, _ := io.Copy(h, req.Body) // no copy of the body in memory here
		s := seen{method: req.Method, length: req.Header.Get("Content-Length"), te: strings.Join(req.TransferEncoding, ","), file: req.Header.Get("X-RBF"), n: n}
		h.Sum(s.sum[:0])
		mu.Lock()
		got = append(got, s)
		mu.Unlock()
		fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
	})
	dir := t.TempDir()
	addr := startDaemon(t, dir, fmt.Sprintf(`
    access_log off;
    client_max_body_size 64m;
    client_body_temp_path %[1]s/cbt;
    server {
        listen 127.0.0.1:0;
        location /named { error_page 502 = @be; proxy_pass http://127.0.0.1:1; }
        location /uri { error_page 502 =200 /be; proxy_pass http://127.0.0.1:1; }
        location @be { proxy_pass http://%[2]s; proxy_set_header X-RBF $request_body_file; }
        location /be { proxy_pass http://%[2]s; proxy_set_header X-RBF $request_body_file; }
    }`, dir, backend))
	const size = 16 << 20
	body := bytes.Repeat([]byte("0123456789abcdef"), size/16)
	want := sha256.Sum256(body)
	upload(t, "POST", "http://"+addr+"/named", []byte("warm"), false) // first-use costs out of the count
	mu.Lock()
	got = nil
	mu.Unlock()
	for i, tc := range []struct {
		path, method string
		chunked      bool
	}{
		{"/named", "POST", false},
		{"/uri", "GET", false},
		{"/named", "POST", true},
	} {
		t.Run(fmt.Sprintf("%s chunked=%v", tc.path, tc.chunked), func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			if code, answer := upload(t, "POST", "http://"+addr+tc.path, body, tc.chunked); code != 200 || answer != "ok" {
				t.Fatalf("answer %d %q, want 200 \"ok\"", code, answer)
			}
			runtime.ReadMemStats(&after)
			if n := after.TotalAlloc - before.TotalAlloc; n > size/2 {
				t.Errorf("allocated %d bytes for a %d-byte body in a file: it was read back into memory", n, size)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(got) <= i {
				t.Fatalf("the error_page's upstream got %d requests, want %d", len(got), i+1)
			}
			s := got[i]
			if s.method != tc.method || s.length != strconv.Itoa(size) || s.te != "" || s.n != size || s.sum != want {
				t.Errorf("the error_page's upstream got %s, Content-Length %q, Transfer-Encoding %q, %d bytes (same: %v); want %s, %d, none, the body",
					s.method, s.length, s.te, s.n, s.sum == want, tc.method, size)
			}
			if !strings.Contains(s.file, "/cbt/") {
				t.Errorf("$request_body_file there is %q, want the temporary file", s.file)
			}
		})
	}
	logText, _ := os.ReadFile(filepath.Join(dir, "error.log"))
	if n := strings.Count(string(logText), "a client request body is buffered to a temporary file"); n != 3 {
		t.Errorf("logged %d temporary files for 3 bodies, want 3 (once each):\n%s", n, logText)
	}
}

// chunkedUpload sends a chunked POST of size bytes in chunks of chunk
// bytes to addr on a raw connection and returns the answer's status line.
func chunkedUpload(t *testing.T, addr, path string, size, chunk int) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	var b bytes.Buffer
	fmt.Fprintf(&b, "POST %s HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n", path)
	for left := size; left > 0; left -= chunk {
		n := min(chunk, left)
		fmt.Fprintf(&b, "%x\r\n%s\r\n", n, bytes.Repeat([]byte("a"), n))
	}
	b.WriteString("0\r\n\r\n")
	if _, err := c.Write(b.Bytes()); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(line)
}

// TestSpoolChunkedThreshold checks where a chunked body goes to a
// temporary file, as nginx 1.22.1 decides (recorded with bodies sent
// after the head, by bisection over the size, the file seen in the error
// log's "a client request body is buffered to a temporary file"): when
// its bytes on the wire, framing included through the last chunk, are
// more than client_body_buffer_size. With the default 8k: one chunk of
// 8,179 bytes (8,192 on the wire) stays in memory, 8,180 goes to a file;
// in chunks of 1,000 the edge is 8,125/8,126, of 100 7,719/7,720, of 10
// 5,457/5,458; with 16k, one chunk 16,371/16,372, chunks of 1,000
// 16,260/16,261.
func TestSpoolChunkedThreshold(t *testing.T) {
	dir := t.TempDir()
	backend, rec := spoolBackend(t, false)
	addr := startDaemon(t, dir, fmt.Sprintf(`
    access_log off;
    client_body_temp_path %[1]s/cbt;
    server {
        listen 127.0.0.1:0;
        location / { proxy_pass http://%[2]s; proxy_set_header X-RBF $request_body_file; }
        location /b16 { client_body_buffer_size 16k; proxy_pass http://%[2]s; proxy_set_header X-RBF $request_body_file; }
    }`, dir, backend))
	cases := []struct {
		path        string
		size, chunk int
		file        bool
	}{
		{"/", 8179, 100000, false},
		{"/", 8180, 100000, true},
		{"/", 8125, 1000, false},
		{"/", 8126, 1000, true},
		{"/", 7719, 100, false},
		{"/", 7720, 100, true},
		{"/", 5457, 10, false},
		{"/", 5458, 10, true},
		{"/b16", 16371, 100000, false},
		{"/b16", 16372, 100000, true},
		{"/b16", 16260, 1000, false},
		{"/b16", 16261, 1000, true},
	}
	for i, tc := range cases {
		if line := chunkedUpload(t, addr, tc.path, tc.size, tc.chunk); !strings.Contains(line, " 200 ") {
			t.Fatalf("%s %d bytes in chunks of %d: answer %q, want 200", tc.path, tc.size, tc.chunk, line)
		}
		r := rec.wait(t, i+1)[i]
		if len(r.body) != tc.size || r.length != strconv.Itoa(tc.size) {
			t.Errorf("%s %d bytes in chunks of %d: the backend got %d bytes, Content-Length %q", tc.path, tc.size, tc.chunk, len(r.body), r.length)
		}
		if inFile := r.file != ""; inFile != tc.file {
			t.Errorf("%s %d bytes in chunks of %d: in a temporary file %v ($request_body_file %q), want %v", tc.path, tc.size, tc.chunk, inFile, r.file, tc.file)
		}
	}
}

// TestCachePathCheck checks that `fulcrum -t` (daemon.Check) creates a
// *_cache_path directory one level deep with mode 0700 and refuses one
// whose parent is missing, as `nginx -t` does (nginx 1.22.1, recorded with
// Mastodon's and Discourse's "proxy_cache_path /var/cache/nginx ..." on a
// machine without that directory: `mkdir() "/var/cache/nginx" failed (2:
// No such file or directory)`); the error names the file and line.
func TestCachePathCheck(t *testing.T) {
	tests := []struct {
		name, directive, path, want string
		made                        bool
	}{
		{"made", "proxy_cache_path", "DIR/c", "", true},
		{"exists", "proxy_cache_path", "DIR", "", true},
		{"parent missing", "proxy_cache_path", "DIR/missing/c", `mkdir() "DIR/missing/c" failed (2: No such file or directory) in `, false},
		{"fastcgi parent missing", "fastcgi_cache_path", "DIR/missing/f", `mkdir() "DIR/missing/f" failed (2: No such file or directory) in `, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "fulcrum.conf")
			target := strings.ReplaceAll(tt.path, "DIR", dir)
			text := "http {\n client_body_temp_path " + dir + ";\n " + tt.directive + " " + target + " keys_zone=z:1m;\n server { listen 127.0.0.1:0; }\n}\n"
			err := checkText(t, path, text)
			want := strings.ReplaceAll(tt.want, "DIR", dir)
			switch {
			case want == "" && err != nil:
				t.Fatalf("Check: %v", err)
			case want != "" && (err == nil || !strings.Contains(err.Error(), want+path+":3")):
				t.Fatalf("Check: %v, want %q at %s:3", err, want, path)
			}
			if tt.made {
				if fi, err := os.Stat(target); err != nil || !fi.IsDir() {
					t.Errorf("%s: %v, want a directory", target, err)
				} else if target != dir && fi.Mode().Perm() != 0o700 {
					t.Errorf("%s: mode %v, want 0700", target, fi.Mode().Perm())
				}
			}
		})
	}
}
