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
// request): such a client is noticed at the next write.
func peerGone(fd uintptr) bool {
	var b [1]byte
	n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	return n == 0 && err == nil || errors.Is(err, syscall.ECONNRESET)
}
