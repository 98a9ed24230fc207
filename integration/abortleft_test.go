package integration

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"fulcrum/internal/testutil"
)

// slowMemcached is a fake memcached server for one connection: it reads
// the get, tells arrived, sends reply (maybe a part of a value, maybe
// nothing), then waits for fulcrum to close the connection (closed) or for
// 5 s.
type slowMemcached struct {
	ln              net.Listener
	arrived, closed chan struct{}
}

func startSlowMemcached(t *testing.T, reply string) *slowMemcached {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	m := &slowMemcached{ln: ln, arrived: make(chan struct{}, 1), closed: make(chan struct{}, 1)}
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		buf := make([]byte, 4096)
		if _, err := c.Read(buf); err != nil {
			return
		}
		if _, err := io.WriteString(c, reply); err != nil {
			return
		}
		m.arrived <- struct{}{}
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		for {
			if _, err := c.Read(buf); err != nil {
				if !errors.Is(err, os.ErrDeadlineExceeded) {
					m.closed <- struct{}{}
				}
				return
			}
		}
	}()
	return m
}

// TestMemcachedClientAbortLog: memcached_pass watches the client as the
// other upstream modules do, as nginx 1.22.1 does (recorded with a python
// memcached that reads the get and answers after 3 s, or sends the head
// of a value and pauses, and python clients that close or reset): the
// memcached connection is closed at once, the request logged 499 before
// the value's head (200 after it) and the info line written, "while
// sending request to upstream" before the reply, "while sending to
// client" while the value streams, with " (104: Connection reset by
// peer)" after a reset, upstream: "memcached://ADDR".
func TestMemcachedClientAbortLog(t *testing.T) {
	t.Parallel() // its cases run in parallel too; the whole waits beside the other parallel tests, not before them
	const gone = "epoll_wait() reported that client prematurely closed connection, so upstream connection is closed too"
	for _, tt := range []struct {
		name, reply string
		reset       bool
		status      string
		want        string
	}{
		{"close before the reply", "", false, "499", gone + " while sending request to upstream"},
		{"reset before the reply", "", true, "499", gone + " (104: Connection reset by peer) while sending request to upstream"},
		{"close while the value streams", "VALUE k 0 10\r\nab", false, "200", gone + " while sending to client"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := startSlowMemcached(t, tt.reply)
			in := startFulcrum(t, fmt.Sprintf(`
events {}
http {
    log_format st '$request_uri $status';
    access_log %%DIR%%/access.log st buffer=0;
    server {
        listen 127.0.0.1:0;
        location / { set $memcached_key k; memcached_pass %s; }
    }
}`, m.ln.Addr()), 1)
			sendThenLeave(t, in, "/mc", m.arrived, true, tt.reset) // reads the value's head first
			select {
			case <-m.closed:
			case <-time.After(2 * time.Second):
				t.Fatal("the memcached connection was not closed within 2 s of the client leaving")
			}
			checkAccessLine(t, in, "/mc "+tt.status)
			checkAbortLine(t, in, tt.want+`, client: 127.0.0.1, server: , request: "GET /mc HTTP/1.1", upstream: "memcached://`+
				m.ln.Addr().String()+`", host: "x"`, strings.NewReplacer())
		})
	}
}

// checkAccessLine waits for the access log (access.log in the instance's
// directory, one '$request_uri $status' line) and checks its first line.
func checkAccessLine(t *testing.T, in *instance, want string) {
	t.Helper()
	logPath := filepath.Join(in.dir, "access.log")
	waitFor(t, "the request's log line", func() bool {
		b, _ := os.ReadFile(logPath)
		return strings.Contains(string(b), "\n")
	})
	if b, _ := os.ReadFile(logPath); firstLine(string(b)) != want {
		t.Errorf("log line %q, want %q", firstLine(string(b)), want)
	}
}

// TestQueueClientAbortLog: a client that goes away while its request waits
// in the upstream's queue (NGINX Plus's, so no recording: nginx's
// ngx_http_upstream_check_broken_connection with no upstream connection
// yet) is logged 499 with the line without "so upstream connection is
// closed too", "while connecting to upstream", naming no upstream; for
// proxy_pass, memcached_pass and fastcgi_pass.
func TestQueueClientAbortLog(t *testing.T) {
	t.Parallel() // its cases run in parallel too; the whole waits beside the other parallel tests, not before them
	for _, tt := range []struct{ name, pass string }{
		{"proxy_pass", "proxy_pass http://app"},
		{"memcached_pass", "set $memcached_key k; memcached_pass app"},
		{"fastcgi_pass", "fastcgi_pass app"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// The only server takes one connection and holds it: the
			// first request occupies it, the second waits in the queue.
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			arrived := make(chan struct{}, 1)
			go func() {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				defer c.Close()
				buf := make([]byte, 4096)
				c.Read(buf)
				arrived <- struct{}{}
				c.SetReadDeadline(time.Now().Add(5 * time.Second))
				c.Read(buf)
			}()
			in := startFulcrum(t, fmt.Sprintf(`
events {}
http {
    log_format st '$request_uri $status';
    access_log %%DIR%%/access.log st buffer=0;
    upstream app { zone app 64k; server %s max_conns=1; queue 5 timeout=10s; }
    server {
        listen 127.0.0.1:0;
        location / { %s; }
    }
}`, ln.Addr(), tt.pass), 1)
			first, err := net.Dial("tcp", in.listening()[0])
			if err != nil {
				t.Fatal(err)
			}
			defer first.Close()
			io.WriteString(first, "GET /first HTTP/1.1\r\nHost: x\r\n\r\n")
			select {
			case <-arrived:
			case <-time.After(5 * time.Second):
				t.Fatal("the first request never reached the server")
			}
			c, err := net.Dial("tcp", in.listening()[0])
			if err != nil {
				t.Fatal(err)
			}
			io.WriteString(c, "GET /queued HTTP/1.1\r\nHost: x\r\n\r\n")
			c.Close()
			checkAccessLine(t, in, "/queued 499")
			checkAbortLine(t, in, `epoll_wait() reported that client prematurely closed connection while connecting to upstream,`+
				` client: 127.0.0.1, server: , request: "GET /queued HTTP/1.1", host: "x"`, strings.NewReplacer())
		})
	}
}

// TestAuthRequestClientAbortLog: a client that goes away while its
// auth_request subrequest waits for the auth server ends the whole
// request, as nginx 1.22.1 does (recorded with an auth backend answering
// after 3 s, python clients closing or resetting): the info line of the
// proxied subrequest, naming it (subrequest: "/slow"), the request logged
// 499 with no answer, and no "auth request unexpected status" line.
func TestAuthRequestClientAbortLog(t *testing.T) {
	t.Parallel() // its cases run in parallel too; the whole waits beside the other parallel tests, not before them
	for _, tt := range []struct {
		name  string
		reset bool
		errno string
	}{
		{"close", false, ""},
		{"reset", true, " (104: Connection reset by peer)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := startAbortBackend(t)
			backend := strings.TrimPrefix(b.srv.URL, "http://")
			in := startFulcrum(t, fmt.Sprintf(`
events {}
http {
    log_format st '$request_uri $status';
    access_log %%DIR%%/access.log st buffer=0;
    server {
        listen 127.0.0.1:0;
        location /ar { auth_request /slow; proxy_pass http://%s; }
        location = /slow { internal; proxy_pass http://%[1]s; }
    }
}`, backend), 1)
			sendThenLeave(t, in, "/ar", b.arrived, false, tt.reset)
			select {
			case <-b.cancelled:
			case <-time.After(2 * time.Second):
				close(b.release)
				t.Fatal("the subrequest was not cut within 2 s of the client leaving")
			}
			checkAccessLine(t, in, "/ar 499")
			checkAbortLine(t, in, "epoll_wait() reported that client prematurely closed connection, so upstream connection is closed too"+tt.errno+
				` while sending request to upstream, client: 127.0.0.1, server: , request: "GET /ar HTTP/1.1", subrequest: "/slow", upstream: "http://`+
				backend+`/slow", host: "x"`, strings.NewReplacer())
			for _, l := range in.logLines() {
				if strings.Contains(l, "auth request unexpected status") {
					t.Errorf("unexpected line %q", l)
				}
			}
		})
	}
}

// gatedBackend answers GET /p/... with "Cache-Control: max-age=60" and a
// 10-byte body: the head and "ab" at once for /p/body (else nothing),
// the rest once gate is closed; arrived tells each request's path.
type gatedBackend struct {
	ln      net.Listener
	gate    chan struct{}
	arrived chan string
}

func startGatedBackend(t *testing.T) *gatedBackend {
	t.Helper()
	return newGatedBackend(t, func(b *gatedBackend, c net.Conn) {
		buf := make([]byte, 4096)
		n, err := c.Read(buf)
		if err != nil {
			return
		}
		path := strings.Fields(string(buf[:n]))[1]
		const head = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\nCache-Control: max-age=60\r\nConnection: close\r\n\r\n"
		body := strings.HasSuffix(path, "/body")
		if body {
			io.WriteString(c, head+"ab")
		}
		b.arrived <- path
		<-b.gate
		if body {
			io.WriteString(c, "cdefghij")
		} else {
			io.WriteString(c, head+"abcdefghij")
		}
	})
}

// newGatedBackend listens on 127.0.0.1 and hands each connection to serve,
// on its own goroutine, until the test ends (the connection closes when
// serve returns).
func newGatedBackend(t *testing.T, serve func(b *gatedBackend, c net.Conn)) *gatedBackend {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &gatedBackend{ln: ln, gate: make(chan struct{}), arrived: make(chan string, 8)}
	testutil.Serve(t, ln, func(c net.Conn) { serve(b, c) })
	return b
}

// TestCacheClientAbortLog: a client that goes away while proxy_cache
// fetches its response (a miss the cache is to store), as nginx 1.22.1
// does it (recorded with a backend answering after 3 s or pausing in its
// body, python clients closing or resetting): the line without "so
// upstream connection is closed too" (the upstream request goes on, as
// u->cacheable keeps it), then: gone before the response head, the
// request ends when the head comes, logged 200 with no body, nothing
// stored; gone while the body streams, the body is read whole and stored.
// A client that leaves while it waits on proxy_cache_lock is not watched:
// it is answered from the entry the first request stored (200, HIT), and
// no line.
func TestCacheClientAbortLog(t *testing.T) {
	t.Parallel() // its cases run in parallel too; the whole waits beside the other parallel tests, not before them
	for _, tt := range cacheAborts {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := startGatedBackend(t)
			in := startFulcrum(t, fmt.Sprintf(`
events {}
http {
    log_format st '$request_uri $status $body_bytes_sent $upstream_cache_status';
    access_log %%DIR%%/access.log st buffer=0;
    proxy_cache_path %%DIR%%/cache keys_zone=c:1m;
    server {
        listen 127.0.0.1:0;
        location /p/ { proxy_cache c; proxy_cache_lock on; proxy_pass http://%s; }
    }
}`, b.ln.Addr()), 1)
			cacheAbortCase(t, in, b, tt, "http://"+b.ln.Addr().String()+tt.path)
		})
	}
}

// cacheAbort is a case of the proxy and CGI cache abort tests.
type cacheAbort struct {
	name, path string
	lock       bool
	want       []string // the access log's lines
	line       string   // the info line's message, "" for none
}

// cacheAborts are the cases of TestCacheClientAbortLog and
// TestCGICacheClientAbortLog, one behaviour for every pass that caches.
var cacheAborts = []cacheAbort{
	{"gone before the head", "/p/slow", false, []string{"/p/slow 200 0 MISS", "/p/slow 200 10 MISS"},
		"epoll_wait() reported that client prematurely closed connection while sending request to upstream"},
	{"gone while the body streams", "/p/body", false, []string{"/p/body 200 MISS", "/p/body 200 10 HIT"},
		"epoll_wait() reported that client prematurely closed connection while reading upstream"},
	{"gone while waiting on the lock", "/p/slow", true, []string{"/p/slow 200 10 MISS", "/p/slow 200 10 HIT"}, ""},
}

// cacheAbortCase runs tt against in, in front of b: a client that leaves
// before the head or while the body streams (path ending in /body), or,
// with lock, while it waits on the cache lock behind another request's
// fetch; b is released once the abort check (every 500 ms) has seen the
// client go; then a request for path again, except in the lock case, and
// the access log's two lines compared with want (sorted in the lock case,
// where both requests end together; a want line of three fields skips the
// bytes sent); last the error log's info line, naming upstream, or none.
func cacheAbortCase(t *testing.T, in *instance, b *gatedBackend, tt cacheAbort, upstream string) {
	t.Helper()
	checkCacheAbortLog(t, in, b, tt.path, tt.lock, tt.want)
	if tt.line == "" {
		checkAbortLine(t, in, "", nil)
		return
	}
	checkAbortLine(t, in, tt.line+`, client: 127.0.0.1, server: , request: "GET `+tt.path+` HTTP/1.1", upstream: "`+
		upstream+`", host: "x"`, strings.NewReplacer())
}

// checkCacheAbortLog is cacheAbortCase up to the access log's lines.
func checkCacheAbortLog(t *testing.T, in *instance, b *gatedBackend, path string, lock bool, want []string) {
	t.Helper()
	get := func() chan string {
		done := make(chan string, 1)
		go func() {
			resp, err := newClient().Get(in.url(0) + path)
			if err != nil {
				done <- err.Error()
				return
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			done <- string(body)
		}()
		return done
	}
	var first chan string
	if lock {
		first = get() // takes the lock and fetches
		<-b.arrived
	}
	c, err := net.Dial("tcp", in.listening()[0])
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: x\r\n\r\n")
	if !lock {
		<-b.arrived
		if strings.HasSuffix(path, "/body") {
			// Let the head reach fulcrum (which holds it with the first
			// bytes: nothing to read yet).
			time.Sleep(200 * time.Millisecond)
		}
	}
	c.Close()
	// The abort check (every 500 ms) must see the client gone before the
	// backend goes on. Nothing shows when it has (the line is written when
	// the request ends), so the test gives it four checks: two were too
	// few once, under a load average of 12 (go test -race ./... beside
	// three builds).
	time.Sleep(2 * time.Second)
	close(b.gate)
	if first != nil {
		if got := <-first; got != "abcdefghij" {
			t.Fatalf("the lock's holder got %q", got)
		}
	}
	logPath := filepath.Join(in.dir, "access.log")
	waitFor(t, "the first request's log line", func() bool {
		b, _ := os.ReadFile(logPath)
		return strings.Count(string(b), "\n") >= 1
	})
	if !lock {
		if got := <-get(); got != "abcdefghij" {
			t.Fatalf("the next request got %q", got)
		}
	}
	waitFor(t, "two log lines", func() bool {
		b, _ := os.ReadFile(logPath)
		return strings.Count(string(b), "\n") >= 2
	})
	raw, _ := os.ReadFile(logPath)
	lines := strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n")
	if lock {
		// The holder and the waiter end at the same time: their lines
		// come in either order.
		slices.Sort(lines)
		want = slices.Sorted(slices.Values(want))
	}
	for i, w := range want {
		got := lines[i]
		if strings.Count(w, " ") == 2 { // bytes sent not compared
			f := strings.Fields(got)
			got = strings.Join([]string{f[0], f[1], f[3]}, " ")
		}
		if got != w {
			t.Errorf("access log line %d %q, want %q", i+1, lines[i], w)
		}
	}
}
