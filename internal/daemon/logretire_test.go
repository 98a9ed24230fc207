package daemon_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// logOpen reports whether the process has path open.
func logOpen(path string) bool {
	ents, _ := os.ReadDir("/proc/self/fd")
	for _, e := range ents {
		if l, _ := os.Readlink("/proc/self/fd/" + e.Name()); l == path {
			return true
		}
	}
	return false
}

// TestReloadClosesErrorLogAfterLastRequest: a reload that changes a
// server's error_log keeps the old file open while a request of the old
// configuration runs, which still logs there, and closes it as soon as
// that request ends, as nginx's old worker closes its cycle's logs when
// it exits. Before, the old file was closed a minute after the reload
// whatever ran: open a minute for nothing after a quick reload (one more
// descriptor per reload that changed it), and closed under a request
// longer than that, whose lines were lost.
func TestReloadClosesErrorLogAfterLastRequest(t *testing.T) {
	if _, err := os.Stat("/proc/self/fd"); err != nil {
		t.Skip("no /proc/self/fd")
	}
	dir := t.TempDir()
	release, arrived := make(chan struct{}), make(chan struct{}, 1)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-release
		c, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			c.Close() // no answer: "upstream prematurely closed connection"
		}
	}))
	t.Cleanup(backend.Close)
	t.Cleanup(func() {
		select {
		case <-release:
		default:
			close(release)
		}
	})
	conf := func(name string) string {
		return fmt.Sprintf("pid %[1]s/fulcrum.pid;\nerror_log %[1]s/error.log notice;\nhttp {\n    access_log off;\n    server {\n        listen 127.0.0.1:0;\n        error_log %[1]s/%[2]s.log error;\n        location / { proxy_pass http://%[3]s; }\n    }\n}\n", dir, name, backend.Listener.Addr())
	}
	addr, sigs := runConfig(t, dir, conf("a"))
	aLog := filepath.Join(dir, "a.log")
	done := make(chan int, 1)
	go func() {
		resp, err := http.Get("http://" + addr + "/slow")
		if err != nil {
			done <- 0
			return
		}
		resp.Body.Close()
		done <- resp.StatusCode
	}()
	select {
	case <-arrived:
	case <-time.After(5 * time.Second):
		t.Fatal("the request did not reach the backend within 5 s")
	}
	if err := os.WriteFile(filepath.Join(dir, "fulcrum.conf"), []byte(conf("b")), 0o644); err != nil {
		t.Fatal(err)
	}
	sigs <- syscall.SIGHUP
	waitUntil(t, "the reload", func() bool {
		return strings.Contains(readFile(t, filepath.Join(dir, "error.log")), "reconfiguring: done")
	})
	if !logOpen(aLog) {
		t.Fatal("a.log closed at the reload, under a request of the old configuration")
	}
	close(release)
	if code := <-done; code != http.StatusBadGateway {
		t.Fatalf("the request: %d, want 502", code)
	}
	waitUntil(t, "a.log closed after the old configuration's last request", func() bool { return !logOpen(aLog) })
	if got := readFile(t, aLog); !strings.Contains(got, "upstream prematurely closed connection") {
		t.Errorf("a.log: %q, want the old request's line", got)
	}
	if !logOpen(filepath.Join(dir, "b.log")) {
		t.Error("b.log is not open")
	}
}

// waitUntil polls cond for up to 5 s.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// readFile returns path's contents ("" when missing).
func readFile(t *testing.T, path string) string {
	t.Helper()
	b, _ := os.ReadFile(path)
	return string(b)
}
