package integration

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// startWebSocketEcho starts a backend that accepts a WebSocket upgrade and then
// echoes each line it reads as "echo: LINE".
func startWebSocketEcho(t *testing.T) *httptest.Server {
	t.Helper()
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
			http.Error(w, "want an upgrade", http.StatusBadRequest)
			return
		}
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
		brw.Flush()
		for {
			line, err := brw.ReadString('\n')
			if err != nil {
				return
			}
			brw.WriteString("echo: " + line)
			brw.Flush()
		}
	}))
	t.Cleanup(echo.Close)
	return echo
}

// TestWebSocketUpgradePassesThrough upgrades a connection through fulcrum to a
// backend that echoes lines, with no proxy_set_header needed.
func TestWebSocketUpgradePassesThrough(t *testing.T) {
	echo := startWebSocketEcho(t)
	in := startFulcrum(t, fmt.Sprintf(`
events {}
http {
    server {
        listen 127.0.0.1:0;
        location /ws { proxy_pass http://%s; }
    }
}`, strings.TrimPrefix(echo.URL, "http://")), 1)
	conn, err := net.DialTimeout("tcp", in.listening()[0], 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(conn, "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("status %d, want 101", resp.StatusCode)
	}
	for _, msg := range []string{"hello\n", "second\n"} {
		io.WriteString(conn, msg)
		got, err := br.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if got != "echo: "+msg {
			t.Errorf("got %q, want %q", got, "echo: "+msg)
		}
	}
}

// TestClientAbortIs499 checks that a client hanging up while the upstream is slow
// is logged as 499 and does not count against the server.
func TestClientAbortIs499(t *testing.T) {
	t.Parallel() // its own process, backends and temp dir; no upper time bound
	arrived := make(chan struct{}, 1)
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-r.Context().Done()
	}))
	t.Cleanup(slow.Close)
	in := startFulcrum(t, fmt.Sprintf(`
events {}
http {
    log_format st '$status $upstream_status';
    access_log %%DIR%%/access.log st buffer=0;
    upstream app {
        server %s max_fails=1;
        server 127.0.0.1:1 down;
    }
    server {
        listen 127.0.0.1:0;
        location / { proxy_pass http://app; }
    }
}`, strings.TrimPrefix(slow.URL, "http://")), 1)
	conn, err := net.Dial("tcp", in.listening()[0])
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	select {
	case <-arrived:
	case <-time.After(5 * time.Second):
		t.Fatal("request never reached the backend")
	}
	conn.Close()
	logPath := filepath.Join(in.dir, "access.log")
	waitFor(t, "the 499 line", func() bool {
		b, _ := os.ReadFile(logPath)
		return strings.Contains(string(b), "499")
	})
	// The server was not marked failed: the next request still reaches it.
	go func() { <-arrived }()
	client := newClient()
	client.Timeout = 300 * time.Millisecond
	_, err = client.Get(in.url(0) + "/")
	if err == nil {
		t.Fatal("the slow backend answered?")
	}
	if in.logged("no live upstreams") {
		t.Error("a client abort counted as an upstream failure")
	}
}

// TestUnixSockets listens on a unix socket and proxies to a backend on one.
func TestUnixSockets(t *testing.T) {
	dir := t.TempDir()
	backendSock := filepath.Join(dir, "backend.sock")
	ln, err := net.Listen("unix", backendSock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "unix backend %s host=%s", r.RequestURI, r.Host)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	front := filepath.Join(dir, "front.sock")
	in := startFulcrum(t, fmt.Sprintf(`
events {}
http {
    upstream app { server unix:%s; }
    server {
        listen unix:%s;
        location / { proxy_pass http://app; }
        location /direct/ { proxy_pass http://unix:%s:/other/; }
    }
}`, backendSock, front, backendSock), 1)
	_ = in
	client := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", front)
		},
	}}
	for path, want := range map[string]string{
		"/x?y=1":    "unix backend /x?y=1 host=app",
		"/direct/z": "unix backend /other/z host=localhost",
	} {
		resp, err := client.Get("http://fulcrum" + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(body) != want {
			t.Errorf("GET %s over a unix socket: %d %q, want %q", path, resp.StatusCode, body, want)
		}
	}
}

// TestQuitWaitsForWebSocketsUpToShutdownTimeout: a graceful stop lets an open
// WebSocket keep working until worker_shutdown_timeout, then closes it.
func TestQuitWaitsForWebSocketsUpToShutdownTimeout(t *testing.T) {
	echo := startWebSocketEcho(t)
	in := startFulcrum(t, fmt.Sprintf(`
worker_shutdown_timeout 1s;
events {}
http {
    server {
        listen 127.0.0.1:0;
        location / { proxy_pass http://%s; }
    }
}`, strings.TrimPrefix(echo.URL, "http://")), 1)
	conn, err := net.Dial("tcp", in.listening()[0])
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(conn, "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
	br := bufio.NewReader(conn)
	if resp, err := http.ReadResponse(br, nil); err != nil || resp.StatusCode != 101 {
		t.Fatalf("upgrade: %v %v", resp, err)
	}
	start := time.Now()
	in.signal(syscall.SIGQUIT)
	waitFor(t, "graceful shutdown to start", func() bool { return in.logged("gracefully shutting down") })
	io.WriteString(conn, "still here\n") // the WebSocket keeps working while fulcrum drains
	if got, err := br.ReadString('\n'); err != nil || got != "echo: still here\n" {
		t.Fatalf("during the drain: %q %v", got, err)
	}
	select {
	case <-in.exited:
	case <-time.After(5 * time.Second):
		t.Fatal("fulcrum did not exit after worker_shutdown_timeout")
	}
	if d := time.Since(start); d < 900*time.Millisecond {
		t.Errorf("exited after %v, before worker_shutdown_timeout (1s)", d)
	}
	if _, err := br.ReadString('\n'); err == nil {
		t.Error("the WebSocket stayed open after fulcrum exited")
	}
}

// TestChunkedResponseWithTrailers streams a chunked response through fulcrum:
// the body arrives whole and, under proxy_pass_trailers on (nginx 1.27.2),
// an allowed trailer reaches the client.
func TestChunkedResponseWithTrailers(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Trailer", "X-Checksum")
		for i := range 3 {
			fmt.Fprintf(w, "part %d\n", i)
			http.NewResponseController(w).Flush()
		}
		w.Header().Set("X-Checksum", "abc123")
	}))
	t.Cleanup(backend.Close)
	in := startFulcrum(t, fmt.Sprintf(`
events {}
http {
    server {
        listen 127.0.0.1:0;
        location / { proxy_pass_trailers on; proxy_pass http://%s; }
    }
}`, backend.Listener.Addr()), 1)
	req, _ := http.NewRequest(http.MethodGet, in.url(0)+"/", nil)
	req.Header.Set("TE", "trailers")
	resp, err := newClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || string(body) != "part 0\npart 1\npart 2\n" {
		t.Fatalf("body %q, %v", body, err)
	}
	if got := resp.Trailer.Get("X-Checksum"); got != "abc123" {
		t.Errorf("trailer X-Checksum %q, want abc123 (trailers %v)", got, resp.Trailer)
	}
}

// TestServerSentEventsFlushAtOnce: with proxy_buffering off every event reaches
// the client as the backend sends it, not when a buffer fills.
func TestServerSentEventsFlushAtOnce(t *testing.T) {
	next := make(chan struct{})
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for i := range 3 {
			fmt.Fprintf(w, "data: %d\n\n", i)
			http.NewResponseController(w).Flush()
			select {
			case <-next: // the test read this event: send the next
			case <-r.Context().Done():
				return
			}
		}
	}))
	t.Cleanup(backend.Close)
	in := startFulcrum(t, fmt.Sprintf(`
events {}
http {
    server {
        listen 127.0.0.1:0;
        location / {
            proxy_buffering off;
            proxy_pass http://%s;
        }
    }
}`, backend.Listener.Addr()), 1)
	resp, err := newClient().Get(in.url(0) + "/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	for i := range 3 {
		line, err := br.ReadString('\n')
		if err != nil || line != fmt.Sprintf("data: %d\n", i) {
			t.Fatalf("event %d: %q %v (an event stuck in a buffer blocks the stream)", i, line, err)
		}
		br.ReadString('\n')
		next <- struct{}{}
	}
}

// TestResponseHeaderRules: nginx hides the upstream's Date, Server and X-Accel-*
// headers and sets its own Server; proxy_hide_header hides more and
// proxy_pass_header lets one through; add_header adds. X-Accel-Redirect is
// hidden even when proxy_ignore_headers keeps it from being followed.
func TestResponseHeaderRules(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Server", "backend/1.0")
		h.Set("X-Accel-Redirect", "/internal")
		h.Set("X-Powered-By", "php")
		h.Set("X-Secret", "s")
		io.WriteString(w, "ok")
	}))
	t.Cleanup(backend.Close)
	in := startFulcrum(t, fmt.Sprintf(`
events {}
http {
    server {
        listen 127.0.0.1:0;
        server_tokens off;
        proxy_ignore_headers X-Accel-Redirect;
        location /default/ { proxy_pass http://%[1]s; }
        location /rules/ {
            proxy_hide_header X-Secret;
            proxy_pass_header Server;
            add_header X-Frame-Options DENY;
            proxy_pass http://%[1]s;
        }
    }
}`, backend.Listener.Addr()), 1)
	client := newClient()
	tests := []struct {
		path string
		want map[string]string // header -> value ("" = absent)
	}{
		{"/default/", map[string]string{"Server": "fulcrum", "X-Accel-Redirect": "", "X-Powered-By": "php", "X-Secret": "s"}},
		{"/rules/", map[string]string{"Server": "backend/1.0", "X-Secret": "", "X-Frame-Options": "DENY"}},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			resp, err := client.Get(in.url(0) + tt.path)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			for name, want := range tt.want {
				if got := resp.Header.Get(name); got != want {
					t.Errorf("%s: %q, want %q", name, got, want)
				}
			}
		})
	}
}

// TestUpgradedResponseTime: an upgraded connection's $upstream_response_time
// covers its tunnel, as nginx's does (the attempt ends when the tunnel does),
// not just the 101's head.
func TestUpgradedResponseTime(t *testing.T) {
	t.Parallel() // its own process, backends and temp dir; no upper time bound
	echo := startWebSocketEcho(t)
	in := startFulcrum(t, fmt.Sprintf(`
events {}
http {
    log_format rt '$status $upstream_response_time';
    access_log %%DIR%%/access.log rt buffer=0;
    server {
        listen 127.0.0.1:0;
        location /ws { proxy_pass http://%s; }
    }
}`, strings.TrimPrefix(echo.URL, "http://")), 1)
	conn, err := net.DialTimeout("tcp", in.listening()[0], 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(conn, "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade: %v %v", resp, err)
	}
	// The tunnel's lifetime is what the variable must show: keep it open,
	// with no byte from the upstream after the 101's head.
	time.Sleep(300 * time.Millisecond)
	conn.Close()
	var line string
	waitFor(t, "the upgraded request's access log line", func() bool {
		b, _ := os.ReadFile(filepath.Join(in.dir, "access.log"))
		line = strings.TrimSpace(string(b))
		return line != ""
	})
	var status int
	var rt float64
	if _, err := fmt.Sscanf(line, "%d %f", &status, &rt); err != nil || status != 101 {
		t.Fatalf("access log %q: want \"101 <seconds>\" (%v)", line, err)
	}
	if rt < 0.3 {
		t.Errorf("$upstream_response_time %.3f for a tunnel open 0.3 s; want the tunnel's time", rt)
	}
}
