package proxy

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

func TestAliveDetectsClosedIdleConnections(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 3)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	dial := func() (*poolConn, net.Conn) {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		return &poolConn{c: c, br: bufio.NewReader(c)}, <-accepted
	}
	pc, server := dial()
	defer pc.c.Close()
	if !alive(pc) {
		t.Error("an open, quiet connection was reported dead")
	}
	server.Close()
	deadline := time.Now().Add(2 * time.Second)
	for alive(pc) {
		if time.Now().After(deadline) {
			t.Fatal("a connection the server closed was still reported alive")
		}
		time.Sleep(5 * time.Millisecond)
	}
	pc2, server2 := dial()
	defer pc2.c.Close()
	defer server2.Close()
	server2.Write([]byte("HTTP/1.1 200 OK\r\n\r\n")) // bytes nobody asked for
	deadline = time.Now().Add(2 * time.Second)
	for alive(pc2) {
		if time.Now().After(deadline) {
			t.Fatal("a connection with stray bytes was reported reusable")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestStaleConnectionRetriedOnce: a pooled connection the server closed after a
// response is replaced transparently for the next request.
func TestStaleConnectionRetriedOnce(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	conns := make(chan int, 10)
	go func() {
		n := 0
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			n++
			conns <- n
			go func(c net.Conn) {
				br := bufio.NewReader(c)
				req, err := http.ReadRequest(br)
				if err != nil {
					c.Close()
					return
				}
				io.Copy(io.Discard, req.Body)
				// Answer keep-alive, then close at once: the pooled connection
				// is dead before the client's next request.
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
				c.Close()
			}(c)
		}
	}()
	pool := newConnPool(PoolOptions{})
	for i := range 2 {
		ctx := context.Background()
		pc, reused, err := pool.get(ctx, "tcp", ln.Addr().String(), time.Second)
		if err != nil {
			t.Fatal(err)
		}
		out := &outgoing{head: []byte("GET / HTTP/1.1\r\nHost: x\r\n"), method: []byte("GET")}
		var resp upstreamResponse
		_, err = pool.exchange(ctx, pc, reused, out, exchangeTimeouts{read: time.Second}, &resp)
		if errors.Is(err, errStale) {
			// What the proxy does: once more on a fresh connection.
			pc, reused, err = pool.get(ctx, "tcp", ln.Addr().String(), time.Second)
			if err != nil || reused {
				t.Fatalf("retry got a reused connection (%v) or %v", reused, err)
			}
			_, err = pool.exchange(ctx, pc, reused, out, exchangeTimeouts{read: time.Second}, &resp)
		}
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		body, _ := io.ReadAll(&resp)
		resp.Close()
		if string(body) != "ok" {
			t.Fatalf("request %d: body %q", i, body)
		}
	}
	if n := len(conns); n != 2 {
		t.Errorf("%d connections, want 2 (the closed one not reused)", n)
	}
}
