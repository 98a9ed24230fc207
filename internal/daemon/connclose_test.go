package daemon_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"fulcrum/internal/testutil"
)

// TestUpstreamConnectionCloseNotReused checks that an upstream connection
// whose request said "Connection: close" is not used for another request:
// RFC 9112 9.6 forbids it, and the server closes it after its answer, maybe
// a moment later, as Python's http.server does. Mastodon's published
// configuration sends it to a request without Upgrade (a map of
// $http_upgrade that gives close for an empty value), and so
// does proxy_http_version 1.0; nginx 1.22.1 opened a connection for each
// request (recorded by the streaming sweep: a 200000-byte POST after another
// request got 200 there, 502 "upstream prematurely closed connection" from
// fulcrum, which sent it on the closing connection and, a POST, did not send
// it again). The backend here answers and then waits for a next request on
// the connection: one that comes counts as a reuse and is left unanswered.
func TestUpstreamConnectionCloseNotReused(t *testing.T) {
	var reused atomic.Int32
	backend := testutil.RawBackend(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		for first := true; ; first = false {
			raw, err := testutil.ReadHead(br)
			if err != nil {
				return
			}
			head, n := strings.ToLower(raw), 0
			for _, line := range strings.Split(head, "\r\n") {
				if v, ok := strings.CutPrefix(line, "content-length:"); ok {
					fmt.Sscan(v, &n)
				}
			}
			if !first {
				reused.Add(1)
				return // closed unanswered, as a server that closes after "close"
			}
			if _, err := io.CopyN(io.Discard, br, int64(n)); err != nil {
				return
			}
			_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n")
			if !strings.Contains(head, "connection: close") {
				continue
			}
			_ = c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		}
	})
	dir := t.TempDir()
	addr := startDaemon(t, dir, fmt.Sprintf(`
    map $http_upgrade $connection_upgrade { default upgrade; '' close; }
    access_log off;
    server {
        listen 127.0.0.1:0;
        location /map/ { proxy_pass http://%[1]s; proxy_http_version 1.1; proxy_set_header Upgrade $http_upgrade; proxy_set_header Connection $connection_upgrade; }
        location /v10/ { proxy_pass http://%[1]s; proxy_http_version 1.0; }
    }`, backend))
	client := &http.Client{Timeout: 5 * time.Second}
	for _, prefix := range []string{"/map/", "/v10/"} {
		t.Run(prefix, func(t *testing.T) {
			for i := 0; i < 3; i++ {
				resp, err := client.Post("http://"+addr+prefix+"x", "text/plain", strings.NewReader("hello"))
				if err != nil {
					t.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("POST %d: %d, want 200", i, resp.StatusCode)
				}
			}
			if n := reused.Load(); n != 0 {
				t.Errorf("%d requests went on a connection asked to close", n)
			}
		})
	}
}
