package sock

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"
)

// pair returns the two ends of a loopback TCP connection.
func pair(t *testing.T) (client, server *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	s := <-accepted
	if s == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { c.Close(); s.Close() })
	return c.(*net.TCPConn), s.(*net.TCPConn)
}

func reader(t *testing.T, c *net.TCPConn) *Reader {
	t.Helper()
	raw, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	r := &Reader{}
	r.Reset(raw)
	return r
}

func TestReaderReads(t *testing.T) {
	c, s := pair(t)
	r := reader(t, c)
	if n, err := r.Read(nil); n != 0 || err != nil {
		t.Fatalf("empty read = %d, %v", n, err)
	}
	// The read waits in the poller until the peer writes.
	go func() { s.Write([]byte("hello, fulcrum")) }()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	got, err := io.ReadAll(io.LimitReader(r, 14))
	if err != nil || string(got) != "hello, fulcrum" {
		t.Fatalf("read %q, %v", got, err)
	}
	s.CloseWrite()
	if n, err := r.Read(make([]byte, 8)); n != 0 || err != io.EOF {
		t.Fatalf("after the peer closed: %d, %v; want 0, EOF", n, err)
	}
}

func TestReaderKeepsTheDeadline(t *testing.T) {
	c, _ := pair(t)
	r := reader(t, c)
	_ = c.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	n, err := r.Read(make([]byte, 8))
	if n != 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read past the deadline = %d, %v; want the deadline's error", n, err)
	}
}

func TestReaderReportsAReset(t *testing.T) {
	c, s := pair(t)
	r := reader(t, c)
	_ = s.SetLinger(0) // close with RST
	s.Close()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err := r.Read(make([]byte, 8))
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("read after a reset = %v, want ECONNRESET", err)
	}
}

// TestWriteStopsWhenFull: a raw write never blocks; once the peer's buffers
// are full it reports EAGAIN, and what went arrives whole and in order.
func TestWriteStopsWhenFull(t *testing.T) {
	c, s := pair(t)
	raw, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	chunk := bytes.Repeat([]byte("0123456789abcdef"), 4096) // 64 KiB
	var sent bytes.Buffer
	full := false
	for i := 0; i < 4096 && !full; i++ { // at most 256 MiB: far past any socket buffer
		_ = raw.Write(func(fd uintptr) bool {
			n, e := Write(int(fd), chunk)
			switch e {
			case 0:
				sent.Write(chunk[:n])
			case syscall.EAGAIN:
				full = true
			default:
				t.Fatalf("write: %v", e)
			}
			return true
		})
	}
	if !full {
		t.Fatal("256 MiB went to a peer that reads nothing: the write was not non-blocking")
	}
	if n, e := Write(-1, nil); n != 0 || e != 0 {
		t.Fatalf("empty write = %d, %v", n, e)
	}
	c.CloseWrite()
	_ = s.SetReadDeadline(time.Now().Add(10 * time.Second))
	got, err := io.ReadAll(s)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, sent.Bytes()) {
		t.Fatalf("the peer got %d bytes, not the %d written in order", len(got), sent.Len())
	}
}
