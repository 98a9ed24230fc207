package stream

import (
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"fulcrum/internal/config"
	"fulcrum/internal/testutil"
)

// stallConn is a connection whose goroutine stalls (garbage collection,
// the scheduler, a loaded machine) before its first read or write, after
// the deadline was set: the stall a test cannot otherwise provoke.
type stallConn struct {
	*net.TCPConn
	stall               time.Duration
	stallRead, stallWrt bool // stall before the first read, write
}

func (c *stallConn) Read(p []byte) (int, error) {
	if c.stallRead {
		c.stallRead = false
		time.Sleep(c.stall)
	}
	return c.TCPConn.Read(p)
}

func (c *stallConn) Write(p []byte) (int, error) {
	if c.stallWrt {
		c.stallWrt = false
		time.Sleep(c.stall)
	}
	return c.TCPConn.Write(p)
}

var _ syscall.Conn = (*stallConn)(nil)

// TestPipeStallEdge checks proxy_timeout at the stall edge: the session's
// goroutine stalls past the deadline it set while the client's bytes (here
// with its end of stream) arrive, or while the upstream socket has room.
// nginx 1.22.1 passes the bytes on (recorded: its worker stopped with
// SIGSTOP for 2 s with proxy_timeout 1s while the client sent a line; after
// SIGCONT the line reached the server and its echo the client, and the
// session ended with the client's close); Go's poller reports the passed
// deadline before it tries the read or write, which ended the session as
// timed out with the bytes unsent. A client that sent nothing still times
// out (nginx's "connection timed out" after the same stall).
func TestPipeStallEdge(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the readiness poll is Linux's")
	}
	const timeout = 50 * time.Millisecond
	for _, tc := range []struct {
		name                  string
		send                  bool // the client sends "hello" and closes its side
		stallRead, stallWrite bool
		want                  string // what the upstream server gets
		timedOut              bool
	}{
		{"bytes came during the stall before the read", true, true, false, "hello", false},
		{"room for bytes during the stall before the write", true, false, true, "hello", false},
		{"idle client", false, true, false, "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client, conn := testutil.TCPPair(t)
			up, peer := testutil.TCPPair(t)
			if tc.send {
				if _, err := client.Write([]byte("hello")); err != nil {
					t.Fatal(err)
				}
				if err := client.CloseWrite(); err != nil {
					t.Fatal(err)
				}
			}
			cfg := &config.StreamServer{Timeout: timeout}
			s := &session{p: New(Options{}), srv: &server{cfg: cfg}, c: conn, done: make(chan struct{})}
			src := &stallConn{TCPConn: conn, stall: 3 * timeout, stallRead: tc.stallRead}
			dst := &stallConn{TCPConn: up, stall: 3 * timeout, stallWrt: tc.stallWrite}
			var sent atomic.Int64
			done := make(chan struct{})
			go func() {
				defer close(done)
				s.pipe(dst, src, 0, &s.fromClient, &sent, nil, nil)
			}()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("the session never ended")
			}
			up.Close()
			_ = peer.SetReadDeadline(time.Now().Add(5 * time.Second))
			got, err := io.ReadAll(peer)
			if err != nil && !errors.Is(err, syscall.ECONNRESET) {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Errorf("the upstream server got %q, want %q", got, tc.want)
			}
			if s.timedOut.Load() != tc.timedOut {
				t.Errorf("timed out %v, want %v", s.timedOut.Load(), tc.timedOut)
			}
		})
	}
}

// TestUDPReadStallEdge checks a UDP session's read when its client's
// datagram is queued and the deadline has passed (the stall edge): the
// datagram is read, every time (a select picks among ready cases at
// random: without the preference, half the reads timed out); with nothing
// queued the read times out.
func TestUDPReadStallEdge(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	c := newUDPConn(pc, pc.LocalAddr(), func() {})
	buf := make([]byte, 16)
	for i := range 64 {
		c.deliver([]byte("d"))
		_ = c.SetReadDeadline(time.Now().Add(-time.Millisecond))
		n, err := c.Read(buf)
		if err != nil || string(buf[:n]) != "d" {
			t.Fatalf("read %d with a datagram queued past the deadline: %q, %v; want the datagram", i, buf[:n], err)
		}
	}
	if _, err := c.Read(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("read with nothing queued past the deadline: %v, want a timeout", err)
	}
}
