package integration

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// abortBackend answers /slow only when released (reporting whether the proxy
// cut the request first) and anything else at once, and counts the
// connections it accepted.
type abortBackend struct {
	srv       *httptest.Server
	conns     atomic.Int32
	arrived   chan struct{}
	release   chan struct{}
	cancelled chan struct{}
}

func startAbortBackend(t *testing.T) *abortBackend {
	b := &abortBackend{arrived: make(chan struct{}, 1), release: make(chan struct{}), cancelled: make(chan struct{}, 1)}
	b.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/slow":
		case "/partial": // part of the body at once, the rest when released
			w.Header().Set("Content-Length", "100")
			fmt.Fprint(w, "partial")
			w.(http.Flusher).Flush()
		default:
			fmt.Fprint(w, "fast")
			return
		}
		b.arrived <- struct{}{}
		select {
		case <-r.Context().Done():
			b.cancelled <- struct{}{}
			return
		case <-b.release:
		}
		if r.URL.Path == "/slow" {
			fmt.Fprint(w, "slow answer")
		}
	}))
	b.srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			b.conns.Add(1)
		}
	}
	b.srv.Start()
	t.Cleanup(b.srv.Close)
	return b
}

// TestProxyIgnoreClientAbort: a client that sends a request and hangs up
// before the upstream answers. With proxy_ignore_client_abort off, the upstream
// request is cut (the backend sees its connection close), the request is
// logged 499 with no upstream status, and the next request needs a new
// upstream connection. With on, the upstream request goes on to its answer,
// which is logged with the upstream's status (200), and the upstream
// connection is kept alive for the next request. Checked against nginx 1.22
// on loopback with the same backend and client (keepalive upstream, default
// proxy_buffering).
func TestProxyIgnoreClientAbort(t *testing.T) {
	t.Parallel() // its cases run in parallel too; the whole waits beside the other parallel tests, not before them
	for _, tt := range []struct {
		ignore    string
		wantLine  string
		wantConns int32
	}{
		{"off", "/slow 499 -", 2},
		{"on", "/slow 200 200", 1},
	} {
		t.Run(tt.ignore, func(t *testing.T) {
			t.Parallel() // its own backend and process; both wait on abort checks
			b := startAbortBackend(t)
			in := startFulcrum(t, fmt.Sprintf(`
events {}
http {
    log_format st '$request_uri $status $upstream_status';
    access_log %%DIR%%/access.log st buffer=0;
    upstream app { server %s; keepalive 4; }
    server {
        listen 127.0.0.1:0;
        location / {
            proxy_pass http://app;
            proxy_set_header Connection "";
            proxy_ignore_client_abort %s;
        }
    }
}`, strings.TrimPrefix(b.srv.URL, "http://"), tt.ignore), 1)
			conn, err := net.Dial("tcp", in.listening()[0])
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(conn, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
			select {
			case <-b.arrived:
			case <-time.After(5 * time.Second):
				t.Fatal("request never reached the backend")
			}
			conn.Close()
			// fulcrum checks for clients that went away every 500ms: off
			// cuts the upstream request within about two checks. On must
			// not, however long it waits; four checks stand in for that.
			select {
			case <-b.cancelled:
				if tt.ignore == "on" {
					t.Fatal("the upstream request was cut although client aborts are ignored")
				}
			case <-time.After(2 * time.Second):
				if tt.ignore == "off" {
					t.Fatal("the upstream request was not cut when the client went away")
				}
				close(b.release)
			}
			logPath := filepath.Join(in.dir, "access.log")
			waitFor(t, "the /slow log line", func() bool {
				b, _ := os.ReadFile(logPath)
				return strings.Contains(string(b), "/slow ")
			})
			if status, body := get(t, newClient(), in.url(0)+"/fast"); status != 200 || body != "fast" {
				t.Fatalf("next request: %d %q", status, body)
			}
			lines, _ := os.ReadFile(logPath)
			if first := firstLine(string(lines)); first != tt.wantLine {
				t.Errorf("log line %q, want %q", first, tt.wantLine)
			}
			if got := b.conns.Load(); got != tt.wantConns {
				t.Errorf("backend accepted %d connections, want %d (the upstream connection kept alive: %v)", got, tt.wantConns, tt.wantConns == 1)
			}
		})
	}
}

// TestClientAbortAfterBodyKeepsStatus: a client that goes away once part of
// the body reached it cuts the upstream request (proxy_ignore_client_abort
// off), but the request is logged with the status it was sent, not 499, as
// nginx does (it logs 499 only for a request that sent nothing).
func TestClientAbortAfterBodyKeepsStatus(t *testing.T) {
	t.Parallel() // its own process, backends and temp dir; no upper time bound
	b := startAbortBackend(t)
	in := startFulcrum(t, fmt.Sprintf(`
events {}
http {
    log_format st '$request_uri $status $upstream_status';
    access_log %%DIR%%/access.log st buffer=0;
    server {
        listen 127.0.0.1:0;
        location / { proxy_pass http://%s; proxy_buffering off; }
    }
}`, strings.TrimPrefix(b.srv.URL, "http://")), 1)
	conn, err := net.Dial("tcp", in.listening()[0])
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "GET /partial HTTP/1.1\r\nHost: x\r\n\r\n")
	select {
	case <-b.arrived:
	case <-time.After(5 * time.Second):
		t.Fatal("request never reached the backend")
	}
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	got := ""
	for buf := make([]byte, 512); !strings.Contains(got, "partial"); {
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatalf("reading the partial answer: %v (got %q)", err, got)
		}
		got += string(buf[:n])
	}
	conn.Close()
	select {
	case <-b.cancelled:
	case <-time.After(5 * time.Second):
		t.Fatal("the upstream request was not cut when the client went away")
	}
	logPath := filepath.Join(in.dir, "access.log")
	waitFor(t, "the /partial log line", func() bool {
		b, _ := os.ReadFile(logPath)
		return strings.Contains(string(b), "/partial ")
	})
	lines, _ := os.ReadFile(logPath)
	if first := firstLine(string(lines)); first != "/partial 200 200" {
		t.Errorf("log line %q, want %q", first, "/partial 200 200")
	}
}
