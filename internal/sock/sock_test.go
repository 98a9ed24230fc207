package sock

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"syscall"
	"testing"
	"time"

	"fulcrum/internal/testutil"
)

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
	c, s := testutil.TCPPair(t)
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
	c, _ := testutil.TCPPair(t)
	r := reader(t, c)
	_ = c.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	n, err := r.Read(make([]byte, 8))
	if n != 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read past the deadline = %d, %v; want the deadline's error", n, err)
	}
}

// TestReaderStallEdge checks a read whose deadline passed before it began
// (its goroutine stalled past it: garbage collection, the scheduler, a
// loaded machine) while the peer's bytes, its end of stream or its reset
// arrived: the Reader returns them, as nginx reads an event that came with
// its timer, where net.Conn's Read reports the deadline; the deadline stays
// as it was. With nothing there the read times out.
func TestReaderStallEdge(t *testing.T) {
	for _, tc := range []struct {
		name string
		peer func(s *net.TCPConn) // what the peer does before the read
		want string               // the bytes read, or "EOF", "reset", "timeout"
	}{
		{"bytes", func(s *net.TCPConn) { s.Write([]byte("hello")) }, "hello"},
		{"end of stream", func(s *net.TCPConn) { s.CloseWrite() }, "EOF"},
		{"reset", func(s *net.TCPConn) { s.SetLinger(0); s.Close() }, "reset"},
		{"nothing", func(*net.TCPConn) {}, "timeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, s := testutil.TCPPair(t)
			r := reader(t, c)
			tc.peer(s)
			if tc.want == "hello" || tc.want == "EOF" {
				awaitReadable(t, c) // a peek would take a reset's error
			}
			_ = c.SetReadDeadline(time.Now().Add(-time.Millisecond))
			buf := make([]byte, 16)
			n, err := r.Read(buf)
			got := string(buf[:n])
			switch {
			case err == io.EOF:
				got = "EOF"
			case errors.Is(err, syscall.ECONNRESET):
				got = "reset"
			case errors.Is(err, os.ErrDeadlineExceeded):
				got = "timeout"
			case err != nil:
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("read past the deadline got %q, want %q", got, tc.want)
			}
			// The deadline is still the one set: the next read times out.
			if _, err := r.Read(buf); !errors.Is(err, os.ErrDeadlineExceeded) && tc.want == "hello" {
				t.Errorf("the next read: %v, want the deadline's error", err)
			}
		})
	}
}

// awaitReadable polls (MSG_PEEK) until c has something to read.
func awaitReadable(t *testing.T, c *net.TCPConn) {
	t.Helper()
	raw, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	for end := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		var ready bool
		_ = raw.Control(func(fd uintptr) {
			var b [1]byte
			n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
			ready = n > 0 || err == nil || err != syscall.EAGAIN
		})
		if ready {
			return
		}
		if time.Now().After(end) {
			t.Fatal("the socket never became readable")
		}
	}
}

func TestReaderReportsAReset(t *testing.T) {
	c, s := testutil.TCPPair(t)
	r := reader(t, c)
	_ = s.SetLinger(0) // close with RST
	s.Close()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err := r.Read(make([]byte, 8))
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("read after a reset = %v, want ECONNRESET", err)
	}
}

// impls are the two ways this package reads and writes: Read and Write
// (on Linux the raw calls) and the portable ones other systems use, tested
// here too so that the fallback runs somewhere.
var impls = []struct {
	name  string
	read  func(int, []byte) (int, syscall.Errno)
	write func(int, []byte) (int, syscall.Errno)
	peek  func(int, []byte) (int, syscall.Errno)
}{
	{"Read/Write", Read, Write, Peek},
	{"portable", readSyscall, writeSyscall, peekSyscall},
}

// TestPeek: a peek at a quiet socket is EAGAIN without waiting; at one
// with bytes it sees them and leaves them to the next read; at one the
// peer closed it sees the end (0 bytes, no error).
func TestPeek(t *testing.T) {
	for _, im := range impls {
		t.Run(im.name, func(t *testing.T) {
			c, s := testutil.TCPPair(t)
			raw, err := c.SyscallConn()
			if err != nil {
				t.Fatal(err)
			}
			peek := func() (string, syscall.Errno) {
				var n int
				var e syscall.Errno
				p := make([]byte, 8)
				_ = raw.Control(func(fd uintptr) { n, e = im.peek(int(fd), p) })
				return string(p[:n]), e
			}
			if got, e := peek(); got != "" || e != syscall.EAGAIN {
				t.Fatalf("peek at a quiet socket = %q, %v; want EAGAIN", got, e)
			}
			if n, e := im.peek(-1, nil); n != 0 || e != 0 {
				t.Fatalf("empty peek = %d, %v", n, e)
			}
			s.Write([]byte("stray"))
			deadline := time.Now().Add(10 * time.Second)
			got, e := peek()
			for e == syscall.EAGAIN && time.Now().Before(deadline) {
				runtime.Gosched()
				got, e = peek()
			}
			if got != "stray" || e != 0 {
				t.Fatalf("peek after a write = %q, %v; want stray", got, e)
			}
			if again, e := peek(); again != "stray" || e != 0 {
				t.Fatalf("second peek = %q, %v: the first one took the bytes", again, e)
			}
			buf := make([]byte, 8)
			n, err := c.Read(buf)
			if err != nil || string(buf[:n]) != "stray" {
				t.Fatalf("read after the peeks = %q, %v", buf[:n], err)
			}
			s.Close()
			got, e = peek()
			for e == syscall.EAGAIN && time.Now().Before(deadline) {
				runtime.Gosched()
				got, e = peek()
			}
			if got != "" || e != 0 {
				t.Fatalf("peek after the peer closed = %q, %v; want the end", got, e)
			}
		})
	}
}

// TestWriteStopsWhenFull: a write never blocks; once the peer's buffers
// are full it reports EAGAIN, and what went arrives whole and in order.
func TestWriteStopsWhenFull(t *testing.T) {
	for _, im := range impls {
		t.Run(im.name, func(t *testing.T) { testWriteStopsWhenFull(t, im.write) })
	}
}

func testWriteStopsWhenFull(t *testing.T, write func(int, []byte) (int, syscall.Errno)) {
	c, s := testutil.TCPPair(t)
	raw, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	chunk := bytes.Repeat([]byte("0123456789abcdef"), 4096) // 64 KiB
	var sent bytes.Buffer
	full := false
	for i := 0; i < 4096 && !full; i++ { // at most 256 MiB: far past any socket buffer
		_ = raw.Write(func(fd uintptr) bool {
			n, e := write(int(fd), chunk)
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
	if n, e := write(-1, nil); n != 0 || e != 0 {
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

// TestReadNeverBlocks: a read reports EAGAIN while nothing is there, then
// the bytes, then 0 and no error once the peer closed.
func TestReadNeverBlocks(t *testing.T) {
	for _, im := range impls {
		t.Run(im.name, func(t *testing.T) {
			c, s := testutil.TCPPair(t)
			raw, err := c.SyscallConn()
			if err != nil {
				t.Fatal(err)
			}
			read := func() (string, syscall.Errno) {
				var n int
				var e syscall.Errno
				p := make([]byte, 64)
				_ = raw.Read(func(fd uintptr) bool {
					n, e = im.read(int(fd), p)
					return true
				})
				return string(p[:n]), e
			}
			if got, e := read(); got != "" || e != syscall.EAGAIN {
				t.Fatalf("read of an empty socket = %q, %v; want EAGAIN", got, e)
			}
			if n, e := im.read(-1, nil); n != 0 || e != 0 {
				t.Fatalf("empty read = %d, %v", n, e)
			}
			s.Write([]byte("ping"))
			s.Close()
			var got string
			deadline := time.Now().Add(10 * time.Second)
			for {
				part, e := read()
				if e == syscall.EAGAIN && time.Now().Before(deadline) {
					runtime.Gosched()
					continue
				}
				if e != 0 {
					t.Fatalf("read: %v (after %q)", e, got)
				}
				if part == "" {
					break
				}
				got += part
			}
			if got != "ping" {
				t.Fatalf("read %q, want ping then the end", got)
			}
		})
	}
}

// TestWriteToAResetPeer: writes to a peer that reset the connection fail
// (ECONNRESET, then EPIPE) and the process lives on through the SIGPIPE
// the kernel raises for EPIPE: MSG_NOSIGNAL on Linux's raw send; the
// runtime ignoring SIGPIPE for the portable write(2) that macOS and the BSDs
// use.
func TestWriteToAResetPeer(t *testing.T) {
	for _, im := range impls {
		t.Run(im.name, func(t *testing.T) {
			c, s := testutil.TCPPair(t)
			_ = s.SetLinger(0) // close with RST
			s.Close()
			raw, err := c.SyscallConn()
			if err != nil {
				t.Fatal(err)
			}
			var e syscall.Errno
			deadline := time.Now().Add(10 * time.Second)
			for e != syscall.EPIPE {
				if time.Now().After(deadline) {
					t.Fatalf("writes to a reset peer never gave EPIPE (last: %v)", e)
				}
				_ = raw.Write(func(fd uintptr) bool {
					_, e = im.write(int(fd), []byte("after the reset"))
					return true
				})
				if e != 0 && e != syscall.EAGAIN && e != syscall.ECONNRESET && e != syscall.EPIPE {
					t.Fatalf("write to a reset peer: %v, want ECONNRESET or EPIPE", e)
				}
			}
		})
	}
}

// TestReaderConn checks that Conn reads a plain socket through the Reader
// (with its stall edge: bytes there past the deadline are read) and leaves
// a connection without a socket as it is.
func TestReaderConn(t *testing.T) {
	c, s := testutil.TCPPair(t)
	var r Reader
	src := r.Conn(c)
	if src != io.Reader(&r) {
		t.Fatalf("Conn(a TCP connection) = %T, want the Reader", src)
	}
	s.Write([]byte("hello"))
	awaitReadable(t, c)
	_ = c.SetReadDeadline(time.Now().Add(-time.Millisecond))
	buf := make([]byte, 16)
	if n, err := src.Read(buf); err != nil || string(buf[:n]) != "hello" {
		t.Errorf("read past the deadline with bytes there: %q, %v; want them", buf[:n], err)
	}
	p1, p2 := net.Pipe()
	defer p1.Close()
	defer p2.Close()
	if got := r.Conn(p1); got != io.Reader(p1) {
		t.Errorf("Conn(a pipe) = %T, want the pipe itself", got)
	}
}

// TestPending: a quiet connection is not Pending; one with bytes waiting,
// one the peer closed, and one closed here are; a connection without a
// socket is not. The bytes stay for the next read.
func TestPending(t *testing.T) {
	c, s := testutil.TCPPair(t)
	if Pending(c) {
		t.Fatal("a quiet connection is Pending")
	}
	s.Write([]byte("x"))
	deadline := time.Now().Add(10 * time.Second)
	for !Pending(c) {
		if time.Now().After(deadline) {
			t.Fatal("bytes waiting: not Pending")
		}
		runtime.Gosched()
	}
	buf := make([]byte, 4)
	if n, err := c.Read(buf); err != nil || string(buf[:n]) != "x" {
		t.Fatalf("read after Pending = %q, %v", buf[:n], err)
	}
	if Pending(c) {
		t.Fatal("Pending after the bytes were read")
	}
	s.Close()
	for !Pending(c) {
		if time.Now().After(deadline) {
			t.Fatal("the peer's close: not Pending")
		}
		runtime.Gosched()
	}
	c.Close()
	if !Pending(c) {
		t.Fatal("a closed connection is not Pending")
	}
	p1, p2 := net.Pipe()
	defer p1.Close()
	defer p2.Close()
	if Pending(p1) {
		t.Fatal("a connection without a socket is Pending")
	}
}

// TestPendingAllocatesNothing: FastCGI's and memcached's kept connections
// are checked with Pending at every reuse, so it allocates nothing there,
// on a plain TCP socket and on a TLS-like wrapper (NetConn) over one.
func TestPendingAllocatesNothing(t *testing.T) {
	c, _ := testutil.TCPPair(t)
	u := unixPair(t)
	for _, tc := range []struct {
		name string
		conn net.Conn
	}{
		{"tcp", c},
		{"unix", u},
		{"wrapped", netConnWrapper{c}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if Pending(tc.conn) {
				t.Fatal("a quiet connection is Pending")
			}
			if n := testing.AllocsPerRun(100, func() { Pending(tc.conn) }); n != 0 {
				t.Errorf("Pending allocates %v times per call, want 0", n)
			}
		})
	}
}

// unixPair returns the client end of a connected UNIX-domain socket pair
// (the server end is kept open, quiet, until the test ends).
func unixPair(t *testing.T) *net.UnixConn {
	t.Helper()
	ln, err := net.Listen("unix", t.TempDir()+"/s")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("unix", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	s, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return c.(*net.UnixConn)
}

// netConnWrapper is a connection over another that exposes it as
// crypto/tls's Conn does (NetConn).
type netConnWrapper struct{ net.Conn }

func (w netConnWrapper) NetConn() net.Conn { return w.Conn }
