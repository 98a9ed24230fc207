package integration

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
)

// scriptedBackend answers each request with the raw response its path names, then
// keeps the connection open for more (or closes it when the script says so).
type scriptedBackend struct {
	ln    net.Listener
	conns atomic.Int64
}

var backendScripts = map[string]struct {
	raw   string
	close bool
}{
	"/good":       {"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ngood", false},
	"/both":       {"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", false},
	"/badlength":  {"HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\nabc", false},
	"/twolength":  {"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc", false},
	"/unasked101": {"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n", false},
	"/hugeheader": {"HTTP/1.1 200 OK\r\nX-Big: " + strings.Repeat("b", 70<<10) + "\r\nContent-Length: 2\r\n\r\nok", false},
	"/extra":      {"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\npoisoned", false},
	"/short":      {"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", true},
	"/garbage":    {"NOT HTTP AT ALL\r\n\r\n", true},
	// nginx passes a Trailer announcement even with a Content-Length.
	"/trailer":  {"HTTP/1.1 200 OK\r\nTrailer: X-Sum\r\nContent-Length: 2\r\n\r\nok", false},
	"/hopbyhop": {"HTTP/1.1 200 OK\r\nConnection: X-Internal\r\nX-Internal: secret\r\nKeep-Alive: timeout=5\r\nContent-Length: 2\r\n\r\nok", false},
	// A 204 with a length, as Python's http.server sends one: no body (nginx
	// passes it on), and the bytes the length promised, if they come, must
	// not reach the next response.
	"/nocontent":       {"HTTP/1.1 204 No Content\r\nContent-Length: 95\r\n\r\n", false},
	"/nocontent-extra": {"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\nhello", false},
}

func startScriptedBackend(t *testing.T) *scriptedBackend {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &scriptedBackend{ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			b.conns.Add(1)
			go b.handle(c)
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return b
}

func (b *scriptedBackend) handle(c net.Conn) {
	defer c.Close()
	br := bufio.NewReader(c)
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		io.Copy(io.Discard, req.Body)
		s, ok := backendScripts[req.URL.Path]
		if !ok {
			s = backendScripts["/good"]
		}
		io.WriteString(c, s.raw)
		if s.close {
			return
		}
	}
}

// TestMisbehavingBackend checks that a backend's bad framing becomes a 502 (or a
// closed client connection once the body is streaming), and that the upstream
// connection it used is never reused for another request.
func TestMisbehavingBackend(t *testing.T) {
	t.Parallel() // its own process, backends and temp dir; no upper time bound
	b := startScriptedBackend(t)
	in := startFulcrum(t, fmt.Sprintf(`
events {}
http {
    upstream app { server %s; }
    server {
        listen 127.0.0.1:0;
        location / { proxy_pass http://app; }
    }
}`, b.ln.Addr()), 1)
	client := newClient()
	tests := []struct {
		path       string
		wantStatus int // 0: the client connection must break instead
	}{
		{"/both", 502},
		{"/badlength", 502},
		{"/twolength", 502},
		{"/unasked101", 502},
		{"/hugeheader", 502},
		{"/garbage", 502},
		{"/short", 0},
		{"/extra", 200},
		{"/hopbyhop", 200},
		{"/trailer", 200},
		{"/nocontent", 204},
		{"/nocontent-extra", 204},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			resp, err := client.Get(in.url(0) + tt.path)
			switch {
			case tt.wantStatus == 0:
				if err == nil {
					_, err = io.ReadAll(resp.Body)
					resp.Body.Close()
				}
				if err == nil {
					t.Errorf("a truncated upstream body reached the client as complete")
				}
			case err != nil:
				t.Fatalf("GET %s: %v", tt.path, err)
			default:
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != tt.wantStatus {
					t.Errorf("status %d, want %d (body %q)", resp.StatusCode, tt.wantStatus, body)
				}
				if tt.path == "/extra" && string(body) != "ok" {
					t.Errorf("body %q, want exactly the declared 2 bytes", body)
				}
				if resp.StatusCode == 204 && (len(body) != 0 || resp.Header.Get("Content-Length") != "") {
					t.Errorf("204 with body %q and Content-Length %q, want neither", body, resp.Header.Get("Content-Length"))
				}
				if tt.path == "/trailer" && resp.Header.Get("Trailer") != "X-Sum" {
					t.Errorf("Trailer %q, want X-Sum as nginx passes it", resp.Header.Get("Trailer"))
				}
				if tt.path == "/hopbyhop" && (resp.Header.Get("X-Internal") != "" || resp.Header.Get("Keep-Alive") != "") {
					t.Errorf("hop-by-hop response headers reached the client: %v", resp.Header)
				}
			}
			// Whatever happened, the next requests get their own, correct answers:
			// nothing left in a pooled upstream connection leaks into them.
			for range 3 {
				code, body := get(t, client, in.url(0)+"/good")
				if code != 200 || body != "good" {
					t.Fatalf("after %s: next request got %d %q", tt.path, code, body)
				}
			}
		})
	}
}

// TestStrayBodyAfterHEAD: a server that answers HEAD with a body anyway, the
// body coming after the head (Python's http.server does so), leaves stray bytes
// on an idle upstream connection. nginx closes an idle connection that receives
// anything; fulcrum checks a connection after a bodiless response before
// reusing it, so the next request does not read the stray bytes as its answer
// (it did: a 502).
func TestStrayBodyAfterHEAD(t *testing.T) {
	t.Parallel() // its own process, backends and temp dir; no upper time bound
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	headAnswered := make(chan struct{}) // the test got the HEAD's answer
	strayWritten := make(chan struct{}) // the backend wrote the body after it
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func(c net.Conn) {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n")
					if req.Method == http.MethodHead {
						<-headAnswered
						io.WriteString(c, "good")
						close(strayWritten)
						continue
					}
					io.WriteString(c, "good")
				}
			}(c)
		}
	}()
	in := startFulcrum(t, fmt.Sprintf(`
events {}
http {
    upstream app { server %s; keepalive 4; }
    server {
        listen 127.0.0.1:0;
        location / { proxy_pass http://app; }
    }
}`, ln.Addr()), 1)
	client := newClient()
	req, _ := http.NewRequest(http.MethodHead, in.url(0)+"/", nil)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("HEAD: status %d, want 200", resp.StatusCode)
	}
	close(headAnswered)
	<-strayWritten
	for i := range 3 {
		code, body := get(t, client, in.url(0)+"/")
		if code != http.StatusOK || body != "good" {
			t.Fatalf("GET %d after the stray body: %d %q, want 200 \"good\"", i, code, body)
		}
	}
}
