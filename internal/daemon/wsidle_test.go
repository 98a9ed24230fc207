package daemon_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fulcrum/internal/testutil"
)

// TestWebSocketIdleTimeout checks proxy_read_timeout over a proxied
// WebSocket, as nginx 1.22.1 applied it (recorded with proxy_read_timeout
// 1s): the tunnel closes when nothing went through it, either way, for the
// timeout, with "upstream timed out (110: Connection timed out) while
// proxying upgraded connection" at info; a client that keeps sending keeps
// it open. fulcrum kept an idle tunnel open for ever (the published
// configurations raise proxy_read_timeout because nginx closes it).
func TestWebSocketIdleTimeout(t *testing.T) {
	backend := testutil.RawBackend(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			if line == "\r\n" {
				break
			}
		}
		_, _ = io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
		buf := make([]byte, 64)
		for {
			n, err := br.Read(buf)
			if err != nil {
				return
			}
			_, _ = c.Write(append([]byte("ws:"), buf[:n]...))
		}
	})
	dir := t.TempDir()
	addr := startDaemonLevel(t, dir, "info", fmt.Sprintf(`
    access_log off;
    server {
        listen 127.0.0.1:0;
        location / {
            proxy_pass http://%[1]s;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection upgrade;
            proxy_read_timeout 400ms;
        }
    }`, backend))
	c := testutil.SendRaw(t, addr, "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(c)
	head := ""
	for !strings.HasSuffix(head, "\r\n\r\n") {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("head %q: %v", head, err)
		}
		head += line
	}
	start := time.Now()
	// Pings every 100 ms keep the tunnel open past the timeout.
	for i := 0; i < 8; i++ {
		time.Sleep(100 * time.Millisecond)
		_, _ = io.WriteString(c, "p")
		got := make([]byte, 4)
		if _, err := io.ReadFull(br, got); err != nil || string(got) != "ws:p" {
			t.Fatalf("ping %d after %v: %q, %v", i, time.Since(start), got, err)
		}
	}
	idleFrom := time.Now()
	if n, err := br.Read(make([]byte, 8)); err != io.EOF {
		t.Fatalf("idle tunnel: read %d bytes, %v; want the end", n, err)
	}
	if d := time.Since(idleFrom); d < 300*time.Millisecond {
		t.Errorf("the tunnel closed %v after the last bytes, want the 400ms timeout", d)
	}
	waitForLog(t, filepath.Join(dir, "error.log"), `info upstream timed out (110: Connection timed out) while proxying upgraded connection, client: 127.0.0.1, server: , request: "GET /ws HTTP/1.1", upstream: "http://`+backend+`/ws", host: "x"`)
}
