package daemon_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"fulcrum/internal/testutil"
)

// TestHTTP2MirrorsBoundedByStreams checks that the HTTP/2 streams whose
// mirror subrequests still run count against http2_max_concurrent_streams,
// as nginx counts a stream until its request is freed (h2c->processing,
// which its mirrors keep alive: "concurrent streams exceeded" past it).
// Before, a stream ended at its answer and its mirrors went on apart, so
// one connection could start any number of mirrors to a slow backend, each
// a goroutine, an upstream connection and its request body: ten sequential
// requests left ten mirrors running under a limit of 2.
func TestHTTP2MirrorsBoundedByStreams(t *testing.T) {
	const limit, requests = 2, 10
	release := make(chan struct{})
	var held atomic.Int32
	shadow := testutil.RawBackend(t, func(c net.Conn) {
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := http.ReadRequest(bufio.NewReader(c)); err != nil {
			return
		}
		held.Add(1)
		<-release
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
	})
	main := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "main") }))
	t.Cleanup(main.Close)
	dir := t.TempDir()
	certs, pool := h2Site(t, dir)
	addr := startDaemon(t, dir, fmt.Sprintf(`access_log off;
    server { listen 127.0.0.1:0 ssl http2; server_name a.test; %s
        http2_max_concurrent_streams %d;
        location / { mirror /m; proxy_pass http://%s; }
        location = /m { internal; proxy_pass http://%s; }
    }`, certs, limit, main.Listener.Addr(), shadow))
	client := h2Client(t, addr, pool, false)
	released := false
	defer func() {
		if !released {
			close(release)
		}
	}()
	var blocked chan error
	for i := 0; i < requests; i++ {
		done := make(chan error, 1)
		go func() {
			resp, err := client.Get("https://a.test/x")
			if err == nil {
				_, err = io.ReadAll(resp.Body)
				resp.Body.Close()
				if err == nil && resp.ProtoMajor != 2 {
					err = fmt.Errorf("answered over %s", resp.Proto)
				}
			}
			done <- err
		}()
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			continue
		case <-time.After(time.Second):
			blocked = done // waits for a stream to finish: the bound
		}
		break
	}
	if n := held.Load(); n > 2*limit {
		t.Fatalf("%d mirrors run at once on one connection, want at most %d", n, 2*limit)
	}
	if blocked == nil {
		t.Fatalf("all %d requests finished with %d mirrors held", requests, held.Load())
	}
	close(release)
	released = true
	select {
	case err := <-blocked:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the waiting request never finished after the mirrors did")
	}
}
