package testutil

import (
	"errors"
	"net"
	"os"
	"testing"
	"time"
)

// TCPPair returns the two ends of a TCP connection on 127.0.0.1, both
// closed when the test ends.
func TCPPair(t testing.TB) (client, server *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	s, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return c.(*net.TCPConn), s.(*net.TCPConn)
}

// FillSocket writes to c until its socket buffer and its peer's are full
// (the peer reads nothing), then lifts the write deadline: the next write
// on c would wait.
func FillSocket(t testing.TB, c *net.TCPConn) {
	t.Helper()
	_ = c.SetWriteBuffer(4096)
	buf := make([]byte, 64<<10)
	for end := time.Now().Add(5 * time.Second); ; {
		if time.Now().After(end) {
			t.Fatal("the buffers never filled")
		}
		_ = c.SetWriteDeadline(time.Now().Add(20 * time.Millisecond))
		if _, err := c.Write(buf); errors.Is(err, os.ErrDeadlineExceeded) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
	}
	_ = c.SetWriteDeadline(time.Time{})
}

// StallWriter is a TCP connection whose goroutine stalls (garbage
// collection, the scheduler, a loaded machine) for Stall before its first
// write, after the caller set its deadline: the stall a test cannot
// otherwise provoke.
type StallWriter struct {
	*net.TCPConn
	Stall time.Duration
	done  bool
}

// Write sleeps for Stall before the first write, then writes p.
func (c *StallWriter) Write(p []byte) (int, error) {
	if !c.done {
		c.done = true
		time.Sleep(c.Stall)
	}
	return c.TCPConn.Write(p)
}
