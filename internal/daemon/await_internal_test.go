package daemon

import (
	"bytes"
	"errors"
	"io"
	"os"
	"testing"
	"time"

	"fulcrum/internal/testutil"
)

// TestFlushThenAwaitPassedBound checks a response whose last bytes wait for
// flushThenAwait when the wait's bound (awaitBound, kept lazily from an
// earlier wait) has passed before the wait begins, as it does when the
// serving goroutine stalls for 20 ms on a loaded machine: the bytes go out
// and the connection stays open for the next request. Go's poller ends such
// a wait before its step runs, which once closed the connection with the
// response unsent (a client saw EOF on a kept-alive connection).
func TestFlushThenAwaitPassedBound(t *testing.T) {
	client, server := testutil.TCPPair(t)
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

// TestWaitIdleStallEdge checks waitIdle, the wait for the next request on
// a kept-alive connection past idleGrace, when keepalive_timeout's deadline
// passed while the request's first byte was already there (the serving
// goroutine stalled: a loaded machine): the byte is read, as nginx handles
// the read event before it expires the timer; with nothing there the wait
// times out.
func TestWaitIdleStallEdge(t *testing.T) {
	for _, tc := range []struct {
		name string
		sent string
		want error
	}{
		{"request there", "G", nil},
		{"nothing there", "", os.ErrDeadlineExceeded},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client, server := testutil.TCPPair(t)
			cc := newClientConn(&httpServer{nextID: func() uint64 { return 1 }}, server)
			cc.src.reset(cc.c, cc.rawc)
			cc.in.Init(readerPool, &cc.src)
			if tc.sent != "" {
				if _, err := client.Write([]byte(tc.sent)); err != nil {
					t.Fatal(err)
				}
				awaitPeek(t, cc)
			}
			err := cc.waitIdle(time.Now().Add(-time.Millisecond))
			if !errors.Is(err, tc.want) && err != tc.want {
				t.Fatalf("waitIdle past its deadline: %v, want %v", err, tc.want)
			}
			if got := string(cc.src.pending); got != tc.sent {
				t.Errorf("pending %q, want %q", got, tc.sent)
			}
		})
	}
}

// awaitPeek polls until cc's socket has bytes to read.
func awaitPeek(t *testing.T, cc *clientConn) {
	t.Helper()
	for end := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		if readable, _ := cc.peek(); readable {
			return
		}
		if time.Now().After(end) {
			t.Fatal("the bytes never arrived")
		}
	}
}
