package daemon_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"fulcrum/internal/testutil"
)

// TestReusedConnectionClosedAfterRequest: a kept upstream connection whose
// server reads the next request and closes without answering. The request
// reached the server, which may have acted on it, so only a request that may
// go twice goes again on a fresh connection (RFC 9110 9.2.2,
// ../shared/spec/http-hardening.md "Retries"): a GET does, silently (fulcrum
// keeps upstream connections where nginx would not); a POST gets 502 with
// "upstream prematurely closed connection", as nginx 1.22.1 answers with
// keepalive (recorded), unless proxy_next_upstream has non_idempotent.
// fulcrum sent the POST twice.
func TestReusedConnectionClosedAfterRequest(t *testing.T) {
	var mu sync.Mutex
	var seen []string // every request the backend read: "METHOD URI"
	backend := testutil.RawBackend(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		for n := 0; ; n++ {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			_, _ = io.Copy(io.Discard, req.Body)
			mu.Lock()
			seen = append(seen, req.Method+" "+req.RequestURI)
			mu.Unlock()
			if n == 1 {
				return // the second request on a connection: closed unanswered
			}
			if _, err := io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"); err != nil {
				return
			}
		}
	})
	dir := t.TempDir()
	addr := startDaemon(t, dir, fmt.Sprintf(`
    access_log off;
    upstream u { server %[1]s; }
    server {
        listen 127.0.0.1:0;
        location / { proxy_pass http://u; }
        location /ni/ { proxy_pass http://u; proxy_next_upstream error timeout non_idempotent; }
    }`, backend))
	// Each backend connection answers one request: every second request
	// on a connection finds it closed after reading it.
	tests := []struct {
		method, target string
		status         int
		times          int // how often the backend read the request
	}{
		{"GET", "/warm1", 200, 1},
		{"POST", "/post", 502, 1},
		{"GET", "/warm2", 200, 1},
		{"GET", "/get", 200, 2},
		{"GET", "/ni/get", 200, 2}, // on /get's fresh connection, its second request
		{"POST", "/ni/post", 200, 2},
	}
	for _, tt := range tests {
		status, times := sendCounted(t, addr, tt.method, tt.target, &mu, &seen)
		if status != tt.status || times != tt.times {
			t.Errorf("%s %s: %d, the backend read it %d times; want %d and %d", tt.method, tt.target, status, times, tt.status, tt.times)
		}
	}
	waitLog(t, filepath.Join(dir, "error.log"), `upstream prematurely closed connection while reading response header from upstream`)
}

// fcgiRecord writes one FastCGI record of type typ for request 1.
func fcgiRecord(w io.Writer, typ byte, content []byte) error {
	h := []byte{1, typ, 0, 1, byte(len(content) >> 8), byte(len(content)), 0, 0}
	_, err := w.Write(append(h, content...))
	return err
}

// fcgiParams decodes FastCGI name-value pairs.
func fcgiParams(b []byte, into map[string]string) {
	length := func() int {
		if len(b) == 0 {
			return -1
		}
		if b[0] < 0x80 {
			n := int(b[0])
			b = b[1:]
			return n
		}
		if len(b) < 4 {
			return -1
		}
		n := int(b[0]&0x7f)<<24 | int(b[1])<<16 | int(b[2])<<8 | int(b[3])
		b = b[4:]
		return n
	}
	for len(b) > 0 {
		nl, vl := length(), length()
		if nl < 0 || vl < 0 || nl+vl > len(b) {
			return
		}
		into[string(b[:nl])] = string(b[nl : nl+vl])
		b = b[nl+vl:]
	}
}

// TestFastCGIReusedConnectionClosedAfterRequest: as
// TestReusedConnectionClosedAfterRequest, for a kept FastCGI connection
// (fastcgi_keep_conn): an application that read the whole request and
// closed without answering gets a GET again on a fresh connection, not a
// POST (the client gets 502), unless fastcgi_next_upstream has
// non_idempotent. fulcrum sent the POST twice.
func TestFastCGIReusedConnectionClosedAfterRequest(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	app := testutil.RawBackend(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		params := map[string]string{}
		var paramBytes []byte
		for n := 0; ; {
			h := make([]byte, 8)
			if _, err := io.ReadFull(br, h); err != nil {
				return
			}
			content := make([]byte, int(h[4])<<8|int(h[5])+int(h[6]))
			if _, err := io.ReadFull(br, content); err != nil {
				return
			}
			content = content[:int(h[4])<<8|int(h[5])]
			switch h[1] {
			case 4: // PARAMS
				paramBytes = append(paramBytes, content...)
			case 5: // STDIN
				if len(content) > 0 {
					continue
				}
				clear(params)
				fcgiParams(paramBytes, params)
				paramBytes = nil
				mu.Lock()
				seen = append(seen, params["REQUEST_METHOD"]+" "+params["REQUEST_URI"])
				mu.Unlock()
				n++
				if n == 2 {
					return // the second request on a connection: closed unanswered
				}
				if fcgiRecord(c, 6, []byte("Content-Type: text/plain\r\n\r\nok")) != nil ||
					fcgiRecord(c, 6, nil) != nil || fcgiRecord(c, 3, make([]byte, 8)) != nil {
					return
				}
			}
		}
	})
	dir := t.TempDir()
	addr := startDaemon(t, dir, fmt.Sprintf(`
    access_log off;
    upstream php { server %[1]s; keepalive 4; }
    server {
        listen 127.0.0.1:0;
        fastcgi_keep_conn on;
        fastcgi_param REQUEST_METHOD $request_method;
        fastcgi_param REQUEST_URI $request_uri;
        location / { fastcgi_pass php; }
        location /ni/ { fastcgi_pass php; fastcgi_next_upstream error timeout non_idempotent; }
    }`, app))
	// Each application connection answers one request.
	tests := []struct {
		method, target string
		status         int
		times          int
	}{
		{"GET", "/warm1", 200, 1},
		{"POST", "/post", 502, 1},
		{"GET", "/warm2", 200, 1},
		{"GET", "/get", 200, 2},
		// The block's idle connections are shared by its locations, as
		// nginx's keepalive cache: the one that answered /get takes
		// /ni/warm as its second request and closes, and a fresh one
		// answers it and stays for /ni/post.
		{"GET", "/ni/warm", 200, 2},
		{"POST", "/ni/post", 200, 2},
	}
	for _, tt := range tests {
		status, times := sendCounted(t, addr, tt.method, tt.target, &mu, &seen)
		if status != tt.status || times != tt.times {
			t.Errorf("%s %s: %d, the application read it %d times; want %d and %d", tt.method, tt.target, status, times, tt.status, tt.times)
		}
	}
}

// sendCounted sends method target with a small body to addr and returns the
// status and how many times the backend read the request, from seen (the
// backend's "METHOD URI" list, guarded by mu).
func sendCounted(t *testing.T, addr, method, target string, mu *sync.Mutex, seen *[]string) (status, times int) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+addr+target, strings.NewReader("body"))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	mu.Lock()
	defer mu.Unlock()
	for _, s := range *seen {
		if s == method+" "+target {
			times++
		}
	}
	return resp.StatusCode, times
}
