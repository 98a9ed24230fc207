package sock

import (
	"net"
	"syscall"
)

// Pending reports whether something waits to be read on c's socket (the
// one under a crypto/tls connection too): bytes, the peer's end of stream
// or an error. One Peek, which takes nothing and never waits. A kept
// upstream connection that is Pending before its reuse has bytes nobody
// asked for (a second response to a request the server read as two,
// another client's were it reused) or was closed by the server: nginx's
// keepalive close handler drops such a connection on the read event. A
// connection without a socket is never Pending; a closed one always is.
// Portable: Peek is recv(2) with MSG_PEEK|MSG_DONTWAIT on every Unix.
func Pending(c net.Conn) bool {
	if u, ok := c.(interface{ NetConn() net.Conn }); ok {
		c = u.NetConn()
	}
	sc, ok := c.(syscall.Conn)
	if !ok {
		return false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return true
	}
	var e syscall.Errno
	var b [1]byte
	if rc.Control(func(fd uintptr) { _, e = Peek(int(fd), b[:]) }) != nil {
		return true
	}
	return e != syscall.EAGAIN
}
