package stream

import (
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The tests in this file replay what nginx 1.22.1's stream module
// (libnginx-mod-stream) did with the same configurations, clients and
// backends (an echo, one that closes at once, a port nothing listens on,
// one that never accepts), as recorded side by side with fulcrum.

// blackholeAddr returns an address whose connects hang: a listen socket
// with a full accept queue, so that the kernel drops further SYNs.
func blackholeAddr(t *testing.T) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", sa.(*syscall.SockaddrInet4).Port)
	for i := 0; i < 3; i++ { // a backlog of 0 still queues one
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			t.Cleanup(func() { c.Close() })
		}
	}
	return addr
}

// TestReturnAsNginx: in a return value $status is "000" (nginx has none
// before the session ends), the session ends with no "client disconnected"
// line, and a UDP client's datagram counts in $bytes_received.
func TestReturnAsNginx(t *testing.T) {
	tests := []struct {
		name, network, want, log string
	}{
		{"tcp", "tcp", "[000]\n", "200 6 0\n"},
		{"udp", "udp", "[000]\n", "200 6 1\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			listen := "127.0.0.1:0"
			if tt.network == "udp" {
				listen += " udp"
			}
			_, addr := start(t, load(t, dir, `log_format f '$status $bytes_sent $bytes_received';
server { listen `+listen+`; return "[$status]\n"; access_log %DIR%/s.log f; error_log %DIR%/err.log info; }`))
			c, err := net.Dial(tt.network, addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(5 * time.Second))
			buf := make([]byte, 100)
			if tt.network == "udp" {
				c.Write([]byte("a"))
			}
			n, err := io.ReadAtLeast(c, buf, len(tt.want))
			if err != nil || string(buf[:n]) != tt.want {
				t.Fatalf("answer %q, %v; want %q", buf[:n], err, tt.want)
			}
			waitFor(t, "the log line", func() bool { return readFile(t, filepath.Join(dir, "s.log")) == tt.log })
			if e := readFile(t, filepath.Join(dir, "err.log")); strings.Contains(e, "disconnected") {
				t.Errorf("error log has a disconnected line:\n%s", e)
			}
		})
	}
}

// TestNoLiveUpstreamsAsNginx: once both servers are down, nginx records
// the upstream's name as the server tried: "[u] [0] [0] [-]" in the log,
// upstream: "u" in the error line.
func TestNoLiveUpstreamsAsNginx(t *testing.T) {
	dir := t.TempDir()
	d1, d2 := deadAddr(t), deadAddr(t)
	_, addr := start(t, load(t, dir, fmt.Sprintf(`log_format f '$status [$upstream_addr] [$upstream_bytes_sent] [$upstream_bytes_received] [$upstream_connect_time]';
upstream u { server %s; server %s backup; }
server { listen 127.0.0.1:0; proxy_pass u; access_log %%DIR%%/s.log f; error_log %%DIR%%/err.log; }`, d1, d2)))
	want := fmt.Sprintf("502 [%s, %s] [0, 0] [0, 0] [-, -]\n502 [u] [0] [0] [-]\n", d1, d2)
	for i := 1; i <= 2; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		io.ReadAll(c)
		c.Close()
		waitFor(t, "the log line", func() bool { return strings.Count(readFile(t, filepath.Join(dir, "s.log")), "\n") == i })
	}
	if got := readFile(t, filepath.Join(dir, "s.log")); got != want {
		t.Errorf("log\n%s\nwant\n%s", got, want)
	}
	line := `no live upstreams while connecting to upstream, client: 127.0.0.1, server: ` + addr + `, upstream: "u", bytes from/to client:0/0, bytes from/to upstream:0/0`
	if e := readFile(t, filepath.Join(dir, "err.log")); !strings.Contains(e, line) {
		t.Errorf("error log lacks %q:\n%s", line, e)
	}
}

// TestFailedConnectResets: when no server could be connected, nginx has
// not read what the client sent, and its close resets the connection.
func TestFailedConnectResets(t *testing.T) {
	_, addr := start(t, load(t, t.TempDir(), fmt.Sprintf(
		"server { listen 127.0.0.1:0; proxy_pass %s; proxy_connect_timeout 300ms; }", blackholeAddr(t))))
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte("hi\n")); err != nil {
		t.Fatal(err)
	}
	_, err = io.ReadAll(c)
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("read: %v, want a reset", err)
	}
}
