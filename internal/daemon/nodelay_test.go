package daemon_test

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// serverSocketNoDelay reads TCP_NODELAY of the daemon's (this process's)
// socket of the connection from client: its inode from /proc/net/tcp,
// then the descriptor in /proc/self/fd that holds it.
func serverSocketNoDelay(t *testing.T, client net.Conn) bool {
	t.Helper()
	local := client.RemoteAddr().(*net.TCPAddr).Port // the daemon's side
	peer := client.LocalAddr().(*net.TCPAddr).Port
	b, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		t.Fatal(err)
	}
	inode := ""
	for _, l := range strings.Split(string(b), "\n")[1:] {
		f := strings.Fields(l)
		if len(f) > 9 && strings.HasSuffix(f[1], fmt.Sprintf(":%04X", local)) && strings.HasSuffix(f[2], fmt.Sprintf(":%04X", peer)) {
			inode = f[9]
		}
	}
	fds, _ := filepath.Glob("/proc/self/fd/*")
	for _, p := range fds {
		if target, _ := os.Readlink(p); target == "socket:["+inode+"]" {
			fd, _ := strconv.Atoi(filepath.Base(p))
			v, err := syscall.GetsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_NODELAY)
			if err != nil {
				t.Fatal(err)
			}
			return v != 0
		}
	}
	t.Fatalf("no socket %d->%d (inode %q) in this process", local, peer, inode)
	return false
}

// TestTCPNoDelay sends requests on one connection to locations with
// tcp_nodelay on and off: the daemon's socket has TCP_NODELAY cleared
// while a location with off is served (nginx never sets it then) and set
// again for one with on.
func TestTCPNoDelay(t *testing.T) {
	dir := t.TempDir()
	addr := startDaemon(t, dir, `
    access_log off;
    server {
        listen 127.0.0.1:0;
        location /on { return 200 on; }
        location /off { tcp_nodelay off; return 200 off; }
    }`)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	for i, path := range []string{"/on", "/off", "/off", "/on", "/off"} {
		fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		resp.Body.Close()
		if got, want := serverSocketNoDelay(t, c), path == "/on"; got != want {
			t.Errorf("request %d (%s): TCP_NODELAY %v, want %v", i, path, got, want)
		}
	}
}

// TestKeepaliveDisable checks which requests close their connection under
// keepalive_disable, as nginx 1.22.1 answered them ("Connection: close"):
// by default (msie6) a POST from Internet Explorer 6 or older; with
// safari, any request from Safari on macOS; none keeps every one.
func TestKeepaliveDisable(t *testing.T) {
	const (
		msie6  = "Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1)"
		sv1    = "Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1; SV1)"
		safari = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15"
		chrome = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"
	)
	dir := t.TempDir()
	addr := startDaemon(t, dir, `
    access_log off;
    server {
        listen 127.0.0.1:0;
        location / { return 200 ok; }
        location /none { keepalive_disable none; return 200 ok; }
        location /safari { keepalive_disable safari; return 200 ok; }
        location /both { keepalive_disable msie6 safari; return 200 ok; }
    }`)
	tests := []struct {
		method, path, ua string
		close            bool
	}{
		{"POST", "/", msie6, true},
		{"GET", "/", msie6, false},
		{"POST", "/", sv1, false},
		{"POST", "/", safari, false},
		{"POST", "/none", msie6, false},
		{"GET", "/safari", safari, true},
		{"POST", "/safari", msie6, false},
		{"GET", "/safari", chrome, false},
		{"POST", "/both", msie6, true},
		{"GET", "/both", safari, true},
	}
	for _, tt := range tests {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(c, "%s %s HTTP/1.1\r\nHost: x\r\nUser-Agent: %s\r\nContent-Length: 0\r\n\r\n", tt.method, tt.path, tt.ua)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		c.Close()
		if err != nil {
			t.Fatalf("%s %s %q: %v", tt.method, tt.path, tt.ua, err)
		}
		resp.Body.Close()
		if resp.Close != tt.close {
			t.Errorf("%s %s %q: Connection %q, want close %v", tt.method, tt.path, tt.ua, resp.Header.Get("Connection"), tt.close)
		}
	}
}
