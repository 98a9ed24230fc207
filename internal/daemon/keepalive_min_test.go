package daemon_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestKeepaliveMinTimeout stops the daemon gracefully (SIGQUIT) with two
// keep-alive connections waiting for their next request, as nginx 1.27.4's
// keepalive_min_timeout describes: the one whose last response came from a
// location with keepalive_min_timeout stays open, answers its next request
// (kept alive again, a fresh minimum), and is closed once the minimum has
// passed with no request; the one without it is closed at once.
func TestKeepaliveMinTimeout(t *testing.T) {
	const min = 700 * time.Millisecond
	dir := t.TempDir()
	text := fmt.Sprintf(`pid %[1]s/fulcrum.pid;
error_log %[1]s/error.log notice;
http {
    access_log off;
    keepalive_timeout 30s;
    server { listen 127.0.0.1:0;
        location /min { keepalive_min_timeout %[2]dms; return 200 "min\n"; }
        location /plain { return 200 "plain\n"; }
    }
}
`, dir, min.Milliseconds())
	path := filepath.Join(dir, "fulcrum.conf")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	addr, signals := runConfigFile(t, path)
	type conn struct {
		c  net.Conn
		br *bufio.Reader
	}
	get := func(c conn, target string) (*http.Response, error) {
		_ = c.c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.WriteString(c.c, "GET "+target+" HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			return nil, err
		}
		resp, err := http.ReadResponse(c.br, nil)
		if err != nil {
			return nil, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp, nil
	}
	dial := func(target string) conn {
		t.Helper()
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		cn := conn{c, bufio.NewReader(c)}
		if resp, err := get(cn, target); err != nil || resp.Header.Get("Connection") != "keep-alive" {
			t.Fatalf("%s: %v %v", target, resp, err)
		}
		return cn
	}
	withMin, plain := dial("/min"), dial("/plain")
	// closedWithin reports whether the server closes c within d.
	closedWithin := func(c conn, d time.Duration) bool {
		_ = c.c.SetReadDeadline(time.Now().Add(d))
		_, err := c.br.ReadByte()
		return err != nil && !os.IsTimeout(err)
	}
	stopped := time.Now()
	signals <- syscall.SIGQUIT
	if !closedWithin(plain, min/2) {
		t.Fatal("the connection without keepalive_min_timeout was not closed at once by the graceful stop")
	}
	resp, err := get(withMin, "/min")
	if err != nil {
		t.Fatalf("the connection within keepalive_min_timeout did not answer during the graceful stop: %v", err)
	}
	if c := resp.Header.Get("Connection"); c != "keep-alive" {
		t.Errorf("response during the stop: Connection %q, want keep-alive (a fresh keepalive_min_timeout)", c)
	}
	answered := time.Now()
	if !closedWithin(withMin, 5*time.Second) {
		t.Fatal("the connection was not closed after keepalive_min_timeout")
	}
	if took := time.Since(answered); took < min-100*time.Millisecond {
		t.Errorf("closed %v after its last response, want keepalive_min_timeout (%v)", took, min)
	}
	t.Logf("stop began %v ago", time.Since(stopped))
}
