package integration

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
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
			c, err := net.Dial("tcp", in.listening()[0])
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if _, err := io.WriteString(c, "GET /mc HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
				t.Fatal(err)
			}
			select {
			case <-m.arrived:
			case <-time.After(5 * time.Second):
				t.Fatal("request never reached memcached")
			}
			// Read what came (the value's head), as the recording's
			// client did before it closed.
			c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
			io.Copy(io.Discard, c)
			if tt.reset {
				c.(*net.TCPConn).SetLinger(0)
			}
			c.Close()
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
			c, err := net.Dial("tcp", in.listening()[0])
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if _, err := io.WriteString(c, "GET /ar HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
				t.Fatal(err)
			}
			select {
			case <-b.arrived:
			case <-time.After(5 * time.Second):
				t.Fatal("the subrequest never reached the backend")
			}
			if tt.reset {
				c.(*net.TCPConn).SetLinger(0)
			}
			c.Close()
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
