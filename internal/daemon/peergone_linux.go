package daemon

import (
	"syscall"
	"unsafe"
)

// poll(2)'s event bits (syscall does not name them).
const (
	pollErr   = 0x8
	pollHup   = 0x10
	pollRDHup = 0x2000
)

// pollFd is struct pollfd.
type pollFd struct {
	fd      int32
	events  int16
	revents int16
}

// peerGone reports whether the client closed its side of the socket or
// reset it, as nginx 1.22's abort check sees it on Linux
// (ngx_http_upstream_check_broken_connection with EPOLLRDHUP: pending_eof):
// an end of stream counts even with bytes still unread before it (a TLS
// close_notify, a pipelined request), and bytes without one do not. A poll
// with no timeout looks at the socket's state only: it neither waits nor
// takes bytes, so it is safe while another goroutine reads the socket
// (through crypto/tls or not). For a gone client it also returns the
// socket's pending error (SO_ERROR: ECONNRESET after a reset), which nginx
// appends to its line (0 after a close).
func peerGone(fd uintptr) (bool, syscall.Errno) {
	p := pollFd{fd: int32(fd), events: pollRDHup}
	var zero syscall.Timespec
	n, _, e := syscall.RawSyscall6(syscall.SYS_PPOLL, uintptr(unsafe.Pointer(&p)), 1, uintptr(unsafe.Pointer(&zero)), 0, 0, 0)
	if e != 0 || n == 0 || p.revents&(pollRDHup|pollHup|pollErr) == 0 {
		return false, 0
	}
	soErr, err := syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_ERROR)
	if err != nil || syscall.Errno(soErr) == syscall.EPIPE {
		// EPIPE is the kernel's answer to a reset that followed the
		// client's close (a write of ours after its FIN, between two
		// checks): nginx saw the close alone.
		return true, 0
	}
	return true, syscall.Errno(soErr)
}
