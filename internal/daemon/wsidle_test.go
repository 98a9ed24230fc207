package daemon_test

import (
	"fmt"
	"io"
	"path/filepath"
	"testing"
	"time"
)

// TestWebSocketIdleTimeout checks proxy_read_timeout over a proxied
// WebSocket, as nginx 1.22.1 applied it (recorded with proxy_read_timeout
// 1s): the tunnel closes when nothing went through it, either way, for the
// timeout, with "upstream timed out (110: Connection timed out) while
// proxying upgraded connection" at info; a client that keeps sending keeps
// it open. fulcrum kept an idle tunnel open for ever (the published
// configurations raise proxy_read_timeout because nginx closes it).
func TestWebSocketIdleTimeout(t *testing.T) {
	backend := wsEchoBackend(t)
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
	c, br := wsUpgrade(t, addr, "/ws")
	defer c.Close()
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
