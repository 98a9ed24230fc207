package integration

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"testing"
	"time"
)

// TestClientStackStaysSmall measures, through the binary's metrics
// (fulcrum_go_stack_bytes), the goroutine stack a kept-alive client
// connection holds after a proxied request. A client goroutine grows its
// stack by doubling to fit its deepest path (the upstream response head's
// parse under the handler chain), which fits in 8 KiB: a frame that once
// grew on that path pushed it past 8 KiB, every connection's stack doubled
// to 16 KiB and RSS with 400 connections rose by 3.5 MiB (bench/README.md,
// "A stack that doubled"). The binary is built as the release is, with the
// profile-guided optimisation whose inlining decides the frames.
func TestClientStackStaysSmall(t *testing.T) {
	const conns = 64
	backend := startBackend(t, "b")
	in := startFulcrum(t, fmt.Sprintf(`events {}
http {
    access_log off;
    upstream b { server %s; keepalive 8; }
    server {
        listen 127.0.0.1:0;
        location = /metrics { metrics; }
        location / { proxy_pass http://b; proxy_set_header Connection ""; }
    }
}`, backend.addr()), 1)
	addr := in.listening()[0]
	client := newClient()
	stack := func() int64 {
		t.Helper()
		code, body := get(t, client, in.url(0)+"/metrics")
		m := regexp.MustCompile(`(?m)^fulcrum_go_stack_bytes (\d+)$`).FindStringSubmatch(body)
		if code != 200 || m == nil {
			t.Fatalf("metrics: %d, no fulcrum_go_stack_bytes in\n%s", code, body)
		}
		n, _ := strconv.ParseInt(m[1], 10, 64)
		return n
	}
	proxied := func() net.Conn {
		t.Helper()
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.WriteString(c, "GET /x HTTP/1.1\r\nHost: a\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
		return c
	}
	proxied().Close() // the upstream connection and the pools exist
	before := stack()
	for range conns {
		defer proxied().Close()
	}
	per := (stack() - before) / conns
	const limit = 12 << 10
	t.Logf("stack per kept-alive client connection: %d bytes (limit %d)", per, limit)
	if per > limit {
		t.Errorf("a kept-alive client connection holds %d bytes of stack, want at most %d: a frame on the request path grew (go build -gcflags=-S, locals=)", per, limit)
	}
}
