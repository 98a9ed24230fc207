//go:build !linux

package daemon

import (
	"errors"
	"syscall"
)

// peerGone reports whether the client closed its side of the socket or
// reset it: a peek that takes no bytes finds the end of the stream or a
// reset. Unlike Linux's poll (peergone_linux.go), it cannot see an end of
// stream behind bytes not read yet (a TLS close_notify, a pipelined
// request): such a client is noticed at the next write. A reset comes
// with ECONNRESET, as Linux's SO_ERROR gives it.
func peerGone(fd uintptr) (bool, syscall.Errno) {
	var b [1]byte
	n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	if errors.Is(err, syscall.ECONNRESET) {
		return true, syscall.ECONNRESET
	}
	return n == 0 && err == nil, 0
}
