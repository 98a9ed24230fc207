package daemon

import (
	"bytes"
	"io"
	"net"
	"testing"
	"time"
)

// TestFlushThenAwaitPassedBound checks a response whose last bytes wait for
// flushThenAwait when the wait's bound (awaitBound, kept lazily from an
// earlier wait) has passed before the wait begins, as it does when the
// serving goroutine stalls for 20 ms on a loaded machine: the bytes go out
// and the connection stays open for the next request. Go's poller ends such
// a wait before its step runs, which once closed the connection with the
// response unsent (a client saw EOF on a kept-alive connection).
func TestFlushThenAwaitPassedBound(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	server, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	cc := newClientConn(&httpServer{nextID: func() uint64 { return 1 }}, server)
	if cc.rawc == nil {
		t.Fatal("a TCP connection has no raw socket")
	}
	const resp = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
	if _, err := cc.writer().WriteString(resp); err != nil {
		t.Fatal(err)
	}
	cc.flushPending = true // as finish leaves it
	past := time.Now().Add(-time.Millisecond)
	if err := server.SetReadDeadline(past); err != nil {
		t.Fatal(err)
	}
	cc.rd.Set(past)

	switch end := cc.flushThenAwait(); end {
	case awaitClosed:
		t.Fatal("flushThenAwait closed the connection")
	case awaitSent: // the caller reads with the usual deadline
	default:
		t.Errorf("flushThenAwait ended with %d, want awaitSent (%d)", end, awaitSent)
	}
	if got := cc.state.Load(); got != connIdle {
		t.Errorf("connection state %d after the response, want idle (%d)", got, connIdle)
	}
	if cc.flushPending || cc.bw != nil {
		t.Errorf("flushPending %v, write buffer held %v after the response", cc.flushPending, cc.bw != nil)
	}
	client.SetReadDeadline(time.Now().Add(5 * time.Second))
	got := make([]byte, len(resp))
	if _, err := io.ReadFull(client, got); err != nil {
		t.Fatalf("the client got %q: %v", got, err)
	}
	if !bytes.Equal(got, []byte(resp)) {
		t.Errorf("the client got %q, want %q", got, resp)
	}
}
