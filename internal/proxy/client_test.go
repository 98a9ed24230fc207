package proxy

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"fulcrum/internal/config"
	"fulcrum/internal/testutil"
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
		return newPoolConn(c, connKey{network: "tcp", addr: ln.Addr().String()}, time.Now()), <-accepted
	}
	pc, server := dial()
	defer pc.c.Close()
	if !alive(pc) {
		t.Error("an open, quiet connection was reported dead")
	}
	server.Close()
	waitFor(t, "a connection the server closed to be reported dead", func() bool { return !alive(pc) })
	pc2, server2 := dial()
	defer pc2.c.Close()
	defer server2.Close()
	server2.Write([]byte("HTTP/1.1 200 OK\r\n\r\n")) // bytes nobody asked for
	waitFor(t, "a connection with stray bytes to be reported not reusable", func() bool { return !alive(pc2) })
}

// TestGetPeeksEveryReuse: every idle connection is checked before reuse,
// however recently it carried a response: one the server closed is dropped
// (a fresh one is dialled), and so is one on which the server sent bytes
// nobody asked for (a second response), which would otherwise be read as
// the next request's response, another client's. nginx's keepalive close
// handler closes such a connection on its read event.
func TestGetPeeksEveryReuse(t *testing.T) {
	tests := []struct {
		name  string
		stray string // what the server sends after its answer; "" closes
		idle  time.Duration
	}{
		{"closed, used just now", "", 0},
		{"closed, idle over a second", "", 2 * time.Second},
		{"stray response, used just now", "HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\npoisoned", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			done := make(chan struct{})
			addr := testutil.RawBackend(t, func(c net.Conn) {
				if tc.stray != "" {
					io.WriteString(c, tc.stray)
					<-done // kept open: the bytes are the only sign
				}
			})
			t.Cleanup(func() { close(done) })
			pool := newConnPool(PoolOptions{})
			pc, _, err := pool.get(context.Background(), tcpTarget(addr), time.Now())
			if err != nil {
				t.Fatal(err)
			}
			// Wait until the server's close or bytes reached us, then pool
			// it as if it had just carried a response.
			waitFor(t, "the server's close or bytes to arrive", func() bool { return !alive(pc) })
			pool.put(pc, time.Now())
			pc.lastUsed = time.Now().Add(-tc.idle)
			got, reused, err := pool.get(context.Background(), tcpTarget(addr), time.Now())
			if err != nil {
				t.Fatal(err)
			}
			defer got.c.Close()
			if reused {
				t.Error("the connection was reused")
			}
		})
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
		pc, reused, err := pool.get(ctx, tcpTarget(ln.Addr().String()), time.Now())
		if err != nil {
			t.Fatal(err)
		}
		// A GET may go twice: the proxy sets resendable for it. Without it a
		// reset that comes after the request went out (the server's close
		// racing the peek) is a failure, not errStale.
		out := &outgoing{head: []byte("GET / HTTP/1.1\r\nHost: x\r\n"), method: []byte("GET"), resendable: true}
		var resp upstreamResponse
		_, err = pool.exchange(ctx, pc, reused, out, exchangeTimeouts{read: time.Second}, &resp)
		if errors.Is(err, errStale) {
			// What the proxy does: once more on a fresh connection.
			pc, reused, err = pool.get(ctx, tcpTarget(ln.Addr().String()), time.Now())
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

// TestExchangeWritesWholeRequests: whatever part of a request sendThenAwait
// writes (all of it, a head with a small body, or a part when the socket
// buffer is full), the server gets every byte of head and body, once.
func TestExchangeWritesWholeRequests(t *testing.T) {
	const start = "POST / HTTP/1.1\r\nHost: x\r\n"
	big := "X-Big: " + strings.Repeat("a", 1<<20) + "\r\n"
	tests := []struct {
		name     string
		fields   string // after the request line
		body     int    // bytes of buffered body
		wantSent string // how much sendThenAwait wrote: "all", "part" or "none" (the usual writer did)
	}{
		{"head only", "", 0, "all"},
		{"head and a small body", "", 100, "all"},
		{"body over maxInlineBody", "", maxInlineBody + 1, "none"},
		{"head too big for one write", big, 0, "part"},
		{"head too big, with a small body", big, 100, "part"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			type got struct{ head, body, extra int }
			received := make(chan got, 1)
			addr := testutil.RawBackend(t, func(c net.Conn) {
				time.Sleep(50 * time.Millisecond) // let a small socket buffer fill
				br := bufio.NewReaderSize(c, 64<<10)
				var g got
				length := 0
				for {
					line, err := br.ReadString('\n')
					if err != nil {
						received <- got{-1, -1, -1}
						return
					}
					g.head += len(line)
					if v, ok := strings.CutPrefix(line, "Content-Length: "); ok {
						length, _ = strconv.Atoi(strings.TrimSpace(v))
					}
					if line == "\r\n" {
						break
					}
				}
				n, _ := io.CopyN(io.Discard, br, int64(length))
				g.body = int(n)
				// Nothing may follow the body (a body sent twice, say).
				_ = c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
				extra, _ := io.Copy(io.Discard, br)
				g.extra = int(extra)
				received <- g
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
			})
			pool := newConnPool(PoolOptions{})
			ctx := context.Background()
			pc, reused, err := pool.get(ctx, tcpTarget(addr), time.Now())
			if err != nil {
				t.Fatal(err)
			}
			// Small socket buffers on our side, so that one non-blocking
			// write cannot take a 1 MiB head.
			if err := pc.c.(*net.TCPConn).SetWriteBuffer(16 << 10); err != nil {
				t.Fatal(err)
			}
			body := []byte(strings.Repeat("b", tt.body))
			out := &outgoing{head: []byte(start + tt.fields), method: []byte("POST"), bodyLen: int64(len(body)), sendLength: true}
			if len(body) > 0 {
				out.body, out.inMemory = bytes.NewReader(body), body
			}
			var resp upstreamResponse
			if _, err := pool.exchange(ctx, pc, reused, out, exchangeTimeouts{read: 5 * time.Second}, &resp); err != nil {
				t.Fatal(err)
			}
			head := len(start+tt.fields) + len("Content-Length: \r\n\r\n") + len(strconv.Itoa(tt.body))
			var sent string
			switch {
			case pc.sent == head+tt.body:
				sent = "all"
			case pc.sent == 0:
				sent = "none"
			case pc.sent > 0 && pc.sent < head:
				sent = "part"
			default:
				sent = fmt.Sprintf("%d bytes", pc.sent)
			}
			if sent != tt.wantSent {
				t.Errorf("sendThenAwait wrote %s of a %d-byte head and %d-byte body, want %s", sent, head, tt.body, tt.wantSent)
			}
			data, _ := io.ReadAll(&resp)
			resp.Close()
			if string(data) != "ok" {
				t.Errorf("answer %q, want ok", data)
			}
			if g := <-received; g.head != head || g.body != tt.body || g.extra != 0 {
				t.Errorf("server read a %d-byte head, a %d-byte body and %d bytes more, want %d, %d and 0", g.head, g.body, g.extra, head, tt.body)
			}
		})
	}
}

// TestExchangeWaitEnds: the wait for an answer that never comes ends at
// proxy_read_timeout, or when the client goes, with an error and no hang.
func TestExchangeWaitEnds(t *testing.T) {
	tests := []struct {
		name    string
		timeout time.Duration // proxy_read_timeout
		cancel  time.Duration // when the client's context ends; 0 never
		want    error
	}{
		{"read timeout", 150 * time.Millisecond, 0, os.ErrDeadlineExceeded},
		{"client gone", 0, 150 * time.Millisecond, context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := make(chan string, 1)
			addr := testutil.RawBackend(t, func(c net.Conn) {
				req, err := http.ReadRequest(bufio.NewReader(c))
				if err == nil {
					got <- req.URL.Path
				}
				io.Copy(io.Discard, c) // never answers
			})
			pool := newConnPool(PoolOptions{})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tt.cancel > 0 {
				time.AfterFunc(tt.cancel, cancel)
			}
			pc, reused, err := pool.get(ctx, tcpTarget(addr), time.Now())
			if err != nil {
				t.Fatal(err)
			}
			out := &outgoing{head: []byte("GET /wait HTTP/1.1\r\nHost: x\r\n"), method: []byte("GET")}
			var resp upstreamResponse
			done := make(chan error, 1)
			go func() {
				wrote, err := pool.exchange(ctx, pc, reused, out, exchangeTimeouts{read: tt.timeout}, &resp)
				if !wrote {
					err = fmt.Errorf("wrote false after the request went out: %w", err)
				}
				done <- err
			}()
			select {
			case err := <-done:
				if tt.want == context.Canceled {
					err = ctx.Err() // what the proxy checks once the exchange fails
				}
				if !errors.Is(err, tt.want) {
					t.Errorf("exchange: %v, want %v", err, tt.want)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("exchange still waiting 5 s later")
			}
			select {
			case p := <-got:
				if p != "/wait" {
					t.Errorf("server got %q", p)
				}
			case <-time.After(time.Second):
				t.Error("the server never got the request")
			}
		})
	}
}

// TestCloseGivesTheReadBufferBack: an upstream connection borrows its read
// buffer only to read, and a closed one gives it back, once, whatever closes
// it twice.
func TestCloseGivesTheReadBufferBack(t *testing.T) {
	addr := testutil.RawBackend(t, func(c net.Conn) { io.Copy(io.Discard, c) })
	pool := newConnPool(PoolOptions{})
	pc, _, err := pool.get(context.Background(), tcpTarget(addr), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if pc.rbuf.Held() != nil {
		t.Fatal("a new connection holds a read buffer before it reads anything")
	}
	if pc.rbuf.Reader() == nil || pc.rbuf.Held() == nil {
		t.Fatal("reader lent no read buffer")
	}
	if err := pc.close(); err != nil {
		t.Errorf("close: %v", err)
	}
	if pc.rbuf.Held() != nil {
		t.Error("the read buffer is still held after close")
	}
	if err := pc.close(); err == nil {
		t.Error("a second close reported no error (net.ErrClosed expected)")
	}
}

// TestWriteBuffered: a length-delimited body that came whole with its head
// is written straight from the read buffer and the connection goes back to
// the pool; a body still on its way, or one without a length, is left to the
// usual copy.
func TestWriteBuffered(t *testing.T) {
	tests := []struct {
		name   string
		answer []string // written one after another, 100 ms apart
		wantOK bool
		want   string // body written by writeBuffered when ok
	}{
		{"whole body with the head", []string{"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"}, true, "hello"},
		{"empty body", []string{"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"}, true, ""},
		{"body still coming", []string{"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhe", "llo"}, false, ""},
		{"chunked", []string{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"}, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := testutil.RawBackend(t, func(c net.Conn) {
				br := bufio.NewReader(c)
				if _, err := http.ReadRequest(br); err != nil {
					return
				}
				for i, part := range tt.answer {
					if i > 0 {
						time.Sleep(100 * time.Millisecond)
					}
					io.WriteString(c, part)
				}
				io.Copy(io.Discard, br) // keep the connection open
			})
			pool := newConnPool(PoolOptions{})
			resp := getOnce(t, context.Background(), pool, addr)
			var got bytes.Buffer
			n, ok, err := resp.writeBuffered(&got)
			if ok != tt.wantOK || err != nil {
				t.Fatalf("writeBuffered: ok %v err %v, want ok %v", ok, err, tt.wantOK)
			}
			if !ok {
				if got.Len() != 0 || n != 0 {
					t.Fatalf("wrote %q without taking the body", got.String())
				}
				body, err := io.ReadAll(resp) // the usual copy still gets all of it
				if err != nil || string(body) != "hello" {
					t.Fatalf("then read %q, %v; want hello", body, err)
				}
			} else if got.String() != tt.want || n != int64(len(tt.want)) {
				t.Fatalf("wrote %q (%d), want %q", got.String(), n, tt.want)
			}
			resp.Close()
			idle := idleConns(pool, addr)
			if len(idle) != 1 {
				t.Fatalf("%d idle connections after a complete body, want 1 (reused)", len(idle))
			}
			if idle[0].rbuf.Held() != nil {
				t.Error("the idle connection still holds its read buffer")
			}
		})
	}
}

// TestCloseAfterCancelDoesNotReuse: when the client's context ends after the
// response was read but before Close, the cancellation is setting a past
// deadline on the connection; Close must close it, not hand it to the next
// request, which would fail with a timeout it never had.
func TestCloseAfterCancelDoesNotReuse(t *testing.T) {
	addr := okBackend(t)
	pool := newConnPool(PoolOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	resp := getOnce(t, ctx, pool, addr)
	if body, err := io.ReadAll(resp); err != nil || string(body) != "ok" {
		t.Fatalf("body %q, %v", body, err)
	}
	cancel()
	resp.Close()
	idle := len(idleConns(pool, addr))
	if idle != 0 {
		t.Errorf("%d idle connections after the client's context ended, want 0", idle)
	}
}

// TestPutAfterCloseIdle: a connection in use while CloseIdle emptied the
// pool comes back to a list the pool still finds (its old one was dropped
// with the map's entry), and the next request reuses it.
func TestPutAfterCloseIdle(t *testing.T) {
	addr := okBackend(t)
	pool := newConnPool(PoolOptions{})
	ctx := context.Background()
	resp := getOnce(t, ctx, pool, addr)
	pool.CloseIdle()
	if body, err := io.ReadAll(resp); err != nil || string(body) != "ok" {
		t.Fatalf("body %q, %v", body, err)
	}
	resp.Close()
	idle := len(idleConns(pool, addr))
	if idle != 1 {
		t.Fatalf("%d idle connections after CloseIdle and a complete body, want 1", idle)
	}
	pc, reused, err := pool.get(ctx, tcpTarget(addr), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	defer pc.close()
	if !reused {
		t.Error("the connection put back after CloseIdle was not reused")
	}
}

// getOnce takes a connection to addr from pool and exchanges a GET on it,
// returning the response with its body still to read.
func getOnce(t *testing.T, ctx context.Context, pool *ConnPool, addr string) *upstreamResponse {
	t.Helper()
	pc, reused, err := pool.get(ctx, tcpTarget(addr), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	out := &outgoing{head: []byte("GET / HTTP/1.1\r\nHost: x\r\n"), method: []byte("GET")}
	resp := &upstreamResponse{}
	if _, err := pool.exchange(ctx, pc, reused, out, exchangeTimeouts{read: 5 * time.Second}, resp); err != nil {
		t.Fatal(err)
	}
	return resp
}

// TestAliveOverTLS: an idle TLS connection, which has no raw socket to peek
// at, is checked by a read that cannot wait: a quiet one is reused (and its
// next exchange is not cut short by the check's deadline), one the server
// closed is not.
func TestAliveOverTLS(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") }))
	defer srv.Close()
	pool := newConnPool(PoolOptions{})
	dst := &dialTarget{network: "tcp", addr: srv.Listener.Addr().String(), timeout: time.Second,
		tls: newUpstreamTLS(config.ProxySSL{MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS13, SessionReuse: true}, "127.0.0.1")}
	ctx := context.Background()
	exchange := func() bool {
		t.Helper()
		pc, reused, err := pool.get(ctx, dst, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if pc.raw != nil {
			t.Fatal("a TLS connection has a raw socket")
		}
		out := &outgoing{head: []byte("GET / HTTP/1.1\r\nHost: x\r\n"), method: []byte("GET")}
		resp := &upstreamResponse{}
		if _, err := pool.exchange(ctx, pc, reused, out, exchangeTimeouts{read: 5 * time.Second}, resp); err != nil {
			t.Fatal(err)
		}
		if b, err := io.ReadAll(resp); err != nil || string(b) != "ok" {
			t.Fatalf("body %q, %v", b, err)
		}
		resp.Close()
		return reused
	}
	exchange()
	if !exchange() { // checked by alive
		t.Fatal("a quiet idle TLS connection was not reused")
	}
	srv.CloseClientConnections()
	waitFor(t, "a TLS connection the server closed to look dead", func() bool {
		pool.mu.Lock()
		defer pool.mu.Unlock()
		list := pool.idleLocked(dst.key())
		return len(list) == 0 || !alive(list[0])
	})
	if exchange() {
		t.Error("a closed TLS connection was reused")
	}
}

// tcpTarget is a plain TCP dial target for addr with a one-second connect
// timeout.
func tcpTarget(addr string) *dialTarget {
	return &dialTarget{network: "tcp", addr: addr, timeout: time.Second}
}

// okBackend starts a keep-alive backend that answers every request with a
// 2-byte "ok" body, and returns its address.
func okBackend(t *testing.T) string {
	t.Helper()
	return testutil.RawBackend(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		for {
			if _, err := http.ReadRequest(br); err != nil {
				return
			}
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		}
	})
}

// idleConns returns the pool's idle connections to the plain TCP target addr.
func idleConns(pool *ConnPool, addr string) []*poolConn {
	pool.mu.Lock()
	defer pool.mu.Unlock()
	return pool.idleLocked(tcpTarget(addr).key())
}

// waitFor polls cond until it holds, failing the test if it still does not
// after two seconds; what says what is awaited.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
