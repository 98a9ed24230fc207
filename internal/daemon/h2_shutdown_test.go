package daemon_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"fulcrum/internal/config"
	"fulcrum/internal/daemon"
)

// TestHTTP2ShutdownTimeout stops the daemon (SIGQUIT) while an HTTP/2
// stream waits for an upstream that never answers: the stop waits for the
// stream until worker_shutdown_timeout, then cuts it, Run returns, and no
// goroutine of the HTTP/2 connection (net/http's server, fulcrum's stream
// handler) is left behind.
func TestHTTP2ShutdownTimeout(t *testing.T) {
	got, release := make(chan struct{}), make(chan struct{})
	b := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(got)
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer b.Close()
	defer close(release) // before b.Close, which waits for its handlers
	dir := t.TempDir()
	certs, pool := h2Site(t, dir)
	path := filepath.Join(dir, "fulcrum.conf")
	const timeout = time.Second
	conf := fmt.Sprintf("pid %[1]s/fulcrum.pid;\nerror_log %[1]s/error.log;\nworker_shutdown_timeout %[4]dms;\nhttp { server { listen 127.0.0.1:0 ssl http2; %[2]s location / { proxy_pass http://%[3]s; proxy_read_timeout 60s; } } }\n",
		dir, certs, b.Listener.Addr(), timeout.Milliseconds())
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path, config.LoadOptions{ErrorLog: filepath.Join(dir, "error.log")})
	if err != nil {
		t.Fatal(err)
	}
	ready, done := make(chan string, 1), make(chan error, 1)
	sigs := make(chan os.Signal, 1)
	go func() {
		done <- daemon.Run(context.Background(), cfg, daemon.Options{
			ConfPath: path,
			Ready:    func(addrs []net.Addr) { ready <- addrs[0].String() },
			Signals:  sigs,
		})
	}()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatalf("daemon stopped before it was ready: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("daemon not ready within 10s")
	}

	c := h2Client(t, addr, pool, false)
	res := make(chan error, 1)
	go func() {
		resp, err := c.Get("https://a.test/never")
		if err == nil {
			_, err = io.ReadAll(resp.Body)
			resp.Body.Close()
			if err == nil {
				err = fmt.Errorf("a whole response: %s", resp.Status)
			}
		}
		res <- err
	}()
	select {
	case <-got:
	case <-time.After(5 * time.Second):
		t.Fatal("the request did not reach the backend")
	}
	start := time.Now()
	sigs <- syscall.SIGQUIT
	select {
	case err := <-done:
		if took := time.Since(start); took < timeout-100*time.Millisecond || took > timeout+3*time.Second {
			t.Errorf("Run returned %v after SIGQUIT, want about worker_shutdown_timeout (%v)", took, timeout)
		}
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(timeout + 5*time.Second):
		t.Fatal("the daemon did not stop after worker_shutdown_timeout")
	}
	select {
	case err := <-res:
		if err == nil {
			t.Error("the stream in flight was not cut")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the stream in flight never ended")
	}
	waitNoGoroutine(t, "net/http.(*http2serverConn)", "daemon.(*h2Conn)", "daemon.(*clientConn).serveH2")
}

// waitNoGoroutine polls, within a deadline, until no goroutine's stack
// names any of funcs.
func waitNoGoroutine(t *testing.T, funcs ...string) {
	t.Helper()
	buf := make([]byte, 8<<20)
	var left string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		stacks := string(buf[:runtime.Stack(buf, true)])
		left = ""
		for _, g := range strings.Split(stacks, "\n\n") {
			for _, f := range funcs {
				if strings.Contains(g, f) {
					left = g
				}
			}
		}
		if left == "" {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Errorf("a goroutine is left:\n%s", left)
}
