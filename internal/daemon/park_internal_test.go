package daemon

import (
	"testing"
	"time"

	"fulcrum/internal/idlepark"
	"fulcrum/internal/testutil"
)

// parkingConn is a kept-alive connection of a bare engine whose daemon
// parks with p, its last request served, waiting for the next (idle).
func parkingConn(t *testing.T, p *idlepark.Parker) *clientConn {
	t.Helper()
	_, server := testutil.TCPPair(t)
	d := &Daemon{}
	d.parking.p = p
	cc := newClientConn(&httpServer{nextID: func() uint64 { return 1 }, daemon: d}, server)
	cc.src.reset(cc.c, cc.rawc)
	cc.in.Init(readerPool, &cc.src)
	cc.state.Store(connIdle)
	return cc
}

// TestParkFailedKeepsScratch: a park that the parker refuses (it was
// closed by a stop between parker() and Park, its epoll loop failed, or
// epoll_ctl failed) leaves the connection as it was, its request scratch
// included: the goroutine goes on waiting (waitIdle), and the close that
// follows touches cc.req and cc.w. It shed the scratch first, and the
// close then dereferenced nil and took the process down.
func TestParkFailedKeepsScratch(t *testing.T) {
	p, err := idlepark.New()
	if err != nil {
		t.Skip(err)
	}
	p.Close() // Park fails with ErrClosed
	cc := parkingConn(t, p)
	if cc.park(false, time.Now().Add(time.Hour)) {
		t.Fatal("parked in a closed parker")
	}
	if cc.connScratch == nil {
		t.Fatal("a refused park left the connection without its request scratch")
	}
	cc.close() // as serveRequests does after the wait fails
}

// TestParkAsItCloses: a connection that parks just as closeIdle (or Close)
// marked it closing, took nothing from its ticket slot (not stored yet) and
// is about to close its socket, must not stay parked on that socket: its
// ticket would wait for its deadline on a closed fd whose number a new
// connection may take by then, and the stale ticket's wake would take that
// connection's socket out of the epoll set (its next request then waits
// for its own keepalive_timeout, and is lost). Here the park wakes itself.
func TestParkAsItCloses(t *testing.T) {
	p, err := idlepark.New()
	if err != nil {
		t.Skip(err)
	}
	t.Cleanup(p.Close)
	cc := parkingConn(t, p)
	// closeIdle: the state first, then unpark (nothing parked yet)...
	if !cc.state.CompareAndSwap(connIdle, connClosing) {
		t.Fatal("not idle")
	}
	cc.unpark()
	parked := cc.park(false, time.Now().Add(time.Hour))
	cc.c.Close() // ...then the socket
	if !parked {
		return // refused: the goroutine goes on and finds the socket closed
	}
	for end := time.Now().Add(10 * time.Second); p.Len() != 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("%d tickets still parked on a closed socket", p.Len())
		}
	}
}
