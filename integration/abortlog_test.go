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

	"fulcrum/internal/testutil"
)

// TestClientAbortLog: the info line of a plain HTTP/1.1 client that goes
// away while its request is proxied, as nginx 1.22.1 writes it (recorded on
// loopback with error_log info, a backend answering after 3 s or sending
// part of its body then pausing, python clients closing or resetting the
// socket): "epoll_wait() reported that client prematurely closed
// connection, so upstream connection is closed too", with " (104:
// Connection reset by peer)" after a reset, "while sending request to
// upstream" before the upstream answered (nginx keeps that action while
// it waits for the head) and "while reading upstream" once the body
// streams, with proxy_buffering on or off.
func TestClientAbortLog(t *testing.T) {
	t.Parallel() // its cases run in parallel too; the whole waits beside the other parallel tests, not before them
	for _, tt := range []struct {
		name, path string
		reset      bool
		want       string
	}{
		{"close before the answer", "/slow", false, epollLine("", "sending request to upstream", "/slow")},
		{"reset before the answer", "/slow", true, epollLine(" (104: Connection reset by peer)", "sending request to upstream", "/slow")},
		{"close while the body streams", "/partial", false, epollLine("", "reading upstream", "/partial")},
		{"reset while the body streams", "/partial", true, epollLine(" (104: Connection reset by peer)", "reading upstream", "/partial")},
		{"close while the body streams unbuffered", "/nobuf/partial", false, epollLine("", "reading upstream", "/nobuf/partial")},
		{"reset while the body streams unbuffered", "/nobuf/partial", true, epollLine(" (104: Connection reset by peer)", "reading upstream", "/nobuf/partial")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := startAbortBackend(t)
			backend := strings.TrimPrefix(b.srv.URL, "http://")
			in := startFulcrum(t, fmt.Sprintf(`
events {}
http {
    access_log off;
    server {
        listen 127.0.0.1:0;
        location / { proxy_pass http://%s; }
        location /nobuf/ { proxy_pass http://%[1]s/; proxy_buffering off; }
    }
}`, backend), 1)
			sendThenLeave(t, in, tt.path, b.arrived, true, tt.reset)
			select {
			case <-b.cancelled:
			case <-time.After(2 * time.Second):
				close(b.release)
				t.Fatal("the upstream request was not cut within 2 s of the client leaving")
			}
			// The unbuffered path serves the backend's URI without /nobuf.
			want := strings.Replace(tt.want, `upstream: "http://BACKEND/nobuf/`, `upstream: "http://BACKEND/`, 1)
			checkAbortLine(t, in, want, strings.NewReplacer("BACKEND", backend))
		})
	}
}

// TestCGIClientAbortLog: fastcgi_pass, scgi_pass and uwsgi_pass watch the
// client as proxy_pass does, as nginx 1.22.1's upstream module does for
// every protocol (recorded with a server that reads the request and
// answers after 3 s): a client that closes before the answer has the
// application's connection closed at once, the request logged 499 and the
// info line written, its upstream the server's URL without a URI. Over
// HTTP/2 a stream reset does the same, with "client canceled stream 1"
// (clients over TLS: HTTP/1.1 closes, HTTP/2 resets its stream).
func TestCGIClientAbortLog(t *testing.T) {
	t.Parallel() // its cases run in parallel too; the whole waits beside the other parallel tests, not before them
	certDir := t.TempDir()
	cert, key := testutil.WriteCert(t, certDir, "site", testutil.ECDSA, "localhost", "127.0.0.1")
	for _, tt := range []struct {
		pass, scheme string
		h2           bool
	}{
		{"fastcgi_pass", "fastcgi", false},
		{"scgi_pass", "scgi", false},
		{"uwsgi_pass", "uwsgi", false},
		{"fastcgi_pass", "fastcgi", true},
	} {
		name := tt.pass
		if tt.h2 {
			name += " h2"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			arrived, closed := make(chan struct{}, 1), make(chan struct{}, 1)
			go func() {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				defer c.Close()
				buf := make([]byte, 64<<10)
				if _, err := c.Read(buf); err != nil {
					return
				}
				arrived <- struct{}{}
				c.SetReadDeadline(time.Now().Add(5 * time.Second))
				for {
					if _, err := c.Read(buf); err != nil {
						if !errors.Is(err, os.ErrDeadlineExceeded) {
							closed <- struct{}{}
						}
						return
					}
				}
			}()
			in := startFulcrum(t, fmt.Sprintf(`
events {}
http {
    log_format st '$request_uri $status';
    access_log %%DIR%%/access.log st buffer=0;
    server {
        listen 127.0.0.1:0 ssl http2;
        ssl_certificate %s;
        ssl_certificate_key %s;
        location / { %s %s; }
    }
}`, cert, key, tt.pass, ln.Addr()), 1)
			leave := func() {}
			proto, msg := "HTTP/1.1", "epoll_wait() reported that client prematurely closed connection, so upstream connection is closed too"
			if tt.h2 {
				tc, fr := sendH2Request(t, in.listening()[0], "/app")
				leave = func() { h2Reset(tc, fr) }
				proto, msg = "HTTP/2.0", "client canceled stream 1"
			} else {
				tc := sendTLSRequest(t, in.listening()[0], "/app")
				leave = func() { leaveClose(t, tc) }
			}
			select {
			case <-arrived:
			case <-time.After(5 * time.Second):
				t.Fatal("request never reached the application")
			}
			leave()
			select {
			case <-closed:
			case <-time.After(2 * time.Second):
				t.Fatal("the application's connection was not closed within 2 s of the client leaving")
			}
			logPath := filepath.Join(in.dir, "access.log")
			waitFor(t, "the request's log line", func() bool {
				b, _ := os.ReadFile(logPath)
				return strings.Contains(string(b), "/app ")
			})
			if b, _ := os.ReadFile(logPath); firstLine(string(b)) != "/app 499" {
				t.Errorf("log line %q, want %q", firstLine(string(b)), "/app 499")
			}
			checkAbortLine(t, in, msg+" while sending request to upstream"+
				`, client: 127.0.0.1, server: , request: "GET /app `+proto+`", upstream: "`+tt.scheme+`://`+ln.Addr().String()+`", host: "x"`, strings.NewReplacer())
		})
	}
}

// sendThenLeave sends "GET path" on a new connection to in, waits until
// arrived says the request reached the backend, reads for 200 ms what
// came when read is set (as the recordings' clients did: a close with
// unread bytes is a reset, an EPIPE on fulcrum's side), and leaves:
// closes, or resets with reset.
func sendThenLeave[T any](t *testing.T, in *instance, path string, arrived <-chan T, read, reset bool) {
	t.Helper()
	c, err := net.Dial("tcp", in.listening()[0])
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-arrived:
	case <-time.After(5 * time.Second):
		t.Fatal("the request never reached the backend")
	}
	if read {
		c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		io.Copy(io.Discard, c)
	}
	if reset {
		c.(*net.TCPConn).SetLinger(0)
	}
}
