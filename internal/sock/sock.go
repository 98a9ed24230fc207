// Package sock reads and writes non-blocking sockets with raw system calls:
// without the runtime's system call bookkeeping (entersyscall/exitsyscall),
// which the engine's hot path pays four times per proxied request.
//
// The bookkeeping exists for calls that may block: it lets the runtime's
// monitor thread (sysmon) hand the goroutine's P to another thread when a
// call lasts. A read or write on a non-blocking socket never blocks; on
// loopback a write does take the receiver's network processing with it (tens
// of microseconds), long enough for sysmon to see it twice, wake up every
// 20 us for the next millisecond, and now and then move the P. Measured under
// wrk (bench/README.md, profile step 10): half the context switches and a
// fourteenth of the sleeps per request, and 0-9% less CPU per small request.
//
// Only for sockets in non-blocking mode (every socket of Go's net package),
// and only with the file descriptor from a syscall.RawConn callback, or
// through Reader, so that the descriptor stays valid while in use.
//
// The raw calls are Linux's (sock_linux.go). Elsewhere (macOS, the BSDs:
// sock_other.go) Read and Write are read(2) and write(2) through package
// syscall, bookkeeping included: correct, only not tuned.
package sock

import (
	"errors"
	"io"
	"net"
	"os"
	"syscall"
)

// Reader is an io.Reader over a socket's RawConn that reads with Read and,
// when the socket has nothing, waits in the RawConn (the runtime's poller),
// with the connection's read deadline: what net.Conn's Read does, with a raw
// read, but for the stall edge. Go's poller reports a deadline that has
// passed before it tries the read (and runs a deadline's timer before it
// looks for the socket's events), so after a stall (garbage collection, the
// scheduler, a loaded machine) net.Conn's Read times out although the bytes
// are there; nginx 1.22 handles the events epoll_wait returned before it
// expires timers and reads them. A Reader does as nginx: when the deadline
// ended the read, it reads once more without waiting (no deadline moved)
// and returns the bytes, the end of stream or the error it finds; only a
// socket with nothing there times out. The zero Reader is not usable; Reset
// sets its socket. A Reader is not safe for concurrent use.
type Reader struct {
	raw  syscall.RawConn
	step func(fd uintptr) bool // r.read, made once: no closure per Read
	p    []byte
	n    int
	err  error
}

// Reset makes r read from raw.
func (r *Reader) Reset(raw syscall.RawConn) {
	r.raw = raw
	if r.step == nil {
		r.step = r.read
	}
}

// RawConn returns the socket r reads, nil before Reset or after Reset(nil).
func (r *Reader) RawConn() syscall.RawConn { return r.raw }

// Conn makes r read from c's socket and returns r, or returns c itself when
// c has no socket to read raw (a TLS connection, a wrapper): what reads c
// with the Reader's rules where it can.
func (r *Reader) Conn(c net.Conn) io.Reader {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return c
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return c
	}
	r.Reset(raw)
	return r
}

// Read reads up to len(p) bytes: at least one, or an error (io.EOF when the
// peer closed; the RawConn's error, such as the deadline's, when the wait
// ended without data).
func (r *Reader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	r.p, r.n, r.err = p, 0, nil
	err := r.raw.Read(r.step)
	if err != nil && errors.Is(err, os.ErrDeadlineExceeded) {
		// The deadline ended the read, maybe as the bytes came (the
		// stall edge): Control runs the step without the poller's
		// deadline check, and without waiting.
		// A closure on this rare path only.
		got := false
		if r.raw.Control(func(fd uintptr) { got = r.read(fd) }) == nil && got {
			err = nil
		}
	}
	r.p = nil
	if err != nil {
		return 0, err
	}
	return r.n, r.err
}

// read is Read's step, called by RawConn.Read with the socket: false asks
// to wait until it is readable.
func (r *Reader) read(fd uintptr) bool {
	for {
		n, e := Read(int(fd), r.p)
		switch {
		case e == syscall.EINTR:
			continue
		case e == syscall.EAGAIN:
			return false
		case e != 0:
			r.err = os.NewSyscallError("read", e)
		case n == 0:
			r.err = io.EOF
		default:
			r.n = n
		}
		return true
	}
}
