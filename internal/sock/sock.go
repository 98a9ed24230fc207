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
package sock

import (
	"io"
	"os"
	"syscall"
	"unsafe"
)

// Write writes p to the non-blocking socket fd with one raw send(2)
// (sendto without an address, MSG_NOSIGNAL: a closed peer gives EPIPE, not a
// signal). It returns how much went (EAGAIN: none, the socket buffer is
// full). send, not write: the socket call skips the file layer's position
// lock, access checks and notification hooks that write(2) runs for every
// file (bench/README.md, profile step 13).
func Write(fd int, p []byte) (int, syscall.Errno) {
	if len(p) == 0 {
		return 0, 0
	}
	r, _, e := syscall.RawSyscall6(syscall.SYS_SENDTO, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)), syscall.MSG_NOSIGNAL, 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(r), 0
}

// Read reads from the non-blocking socket fd into p with one raw recv(2)
// (recvfrom without an address; EAGAIN: nothing there yet; 0 bytes and no
// error: the peer closed).
func Read(fd int, p []byte) (int, syscall.Errno) {
	if len(p) == 0 {
		return 0, 0
	}
	r, _, e := syscall.RawSyscall6(syscall.SYS_RECVFROM, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)), 0, 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(r), 0
}

// Reader is an io.Reader over a socket's RawConn that reads with Read and,
// when the socket has nothing, waits in the RawConn (the runtime's poller),
// with the connection's read deadline: what net.Conn's Read does, with a raw
// read. The zero Reader is not usable; Reset sets its socket. A Reader is not
// safe for concurrent use.
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

// Read reads up to len(p) bytes: at least one, or an error (io.EOF when the
// peer closed; the RawConn's error, such as the deadline's, when the wait
// ended without data).
func (r *Reader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	r.p, r.n, r.err = p, 0, nil
	err := r.raw.Read(r.step)
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
