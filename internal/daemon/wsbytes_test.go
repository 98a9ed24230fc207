package daemon_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fulcrum/internal/testutil"
)

// TestWebSocketBodyBytesSent checks $body_bytes_sent of a proxied
// WebSocket, as nginx 1.22.1 logged it for the published configurations of
// the streaming sweep (Home Assistant, Jupyter, Grafana Live, code-server...):
// the bytes that went to the client through the tunnel after the 101, 8 for
// an 8-byte answer and 0 when nothing came; fulcrum logged the 101's head
// (137) both times.
func TestWebSocketBodyBytesSent(t *testing.T) {
	backend := wsEchoBackend(t)
	dir := t.TempDir()
	addr := startDaemon(t, dir, fmt.Sprintf(`
    map $http_upgrade $connection_upgrade { default upgrade; '' close; }
    log_format t '$request_uri $status $body_bytes_sent';
    access_log %[2]s/access.log t;
    server {
        listen 127.0.0.1:0;
        location / {
            proxy_pass http://%[1]s;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
        }
    }`, backend, dir))
	for _, tc := range []struct {
		uri, send, line string
	}{
		{"/ping", "ping\n", "/ping 101 8"},
		{"/quiet", "", "/quiet 101 0"},
	} {
		t.Run(tc.uri, func(t *testing.T) {
			c, br := wsUpgrade(t, addr, tc.uri)
			defer c.Close()
			if tc.send != "" {
				_, _ = io.WriteString(c, tc.send)
				got := make([]byte, 3+len(tc.send))
				if _, err := io.ReadFull(br, got); err != nil || !bytes.Equal(got, []byte("ws:"+tc.send)) {
					t.Fatalf("tunnel gave %q, %v", got, err)
				}
			}
			c.Close()
			waitForLine(t, filepath.Join(dir, "access.log"), tc.line)
		})
	}
}

// wsEchoBackend is an upstream that answers any request with a WebSocket 101
// and then echoes what comes through the tunnel, each read as "ws:" + bytes.
func wsEchoBackend(t *testing.T) string {
	t.Helper()
	return testutil.RawBackend(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		if _, err := testutil.ReadHead(br); err != nil {
			return
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
}

// wsUpgrade sends a WebSocket upgrade request for uri to addr, reads the
// answer's head (failing the test unless it is a 101) and returns the
// connection, with a 5 s deadline, and its reader, positioned after the head.
func wsUpgrade(t *testing.T, addr, uri string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c := testutil.SendRaw(t, addr, "GET "+uri+" HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(c)
	head := ""
	for !strings.HasSuffix(head, "\r\n\r\n") {
		line, err := br.ReadString('\n')
		if err != nil {
			c.Close()
			t.Fatalf("head %q: %v", head, err)
		}
		head += line
	}
	if !strings.HasPrefix(head, "HTTP/1.1 101 ") {
		c.Close()
		t.Fatalf("head %q, want a 101", head)
	}
	return c, br
}
