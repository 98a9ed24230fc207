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
//
// Every reuse of a kept FastCGI, SCGI, uwsgi or memcached connection
// calls it, so for the sockets of package net (*net.TCPConn,
// *net.UnixConn) it allocates nothing on Linux (TestPendingAllocatesNothing):
// their RawConn and the function Control runs stay on the stack
// (pendingTCP, pendingUnix). Other connections go through the
// syscall.Conn interface, which costs the RawConn and the function their
// allocations.
func Pending(c net.Conn) bool {
	if u, ok := c.(interface{ NetConn() net.Conn }); ok {
		c = u.NetConn()
	}
	switch c := c.(type) {
	case *net.TCPConn:
		return pendingTCP(c)
	case *net.UnixConn:
		return pendingUnix(c)
	case syscall.Conn:
		rc, err := c.SyscallConn()
		if err != nil {
			return true
		}
		return pendingRaw(rc)
	}
	return false
}

// pendingTCP is Pending for a TCP connection. The concrete type lets the
// compiler see that SyscallConn's RawConn is net's *rawConn, call its
// Control directly and keep it, the function and its variables on the
// stack: the RawConn interface would send all three to the heap.
func pendingTCP(c *net.TCPConn) bool {
	rc, err := c.SyscallConn()
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

// pendingUnix is pendingTCP for a UNIX-domain socket.
func pendingUnix(c *net.UnixConn) bool {
	rc, err := c.SyscallConn()
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

// pendingRaw is Pending for any other socket, through its RawConn.
func pendingRaw(rc syscall.RawConn) bool {
	var e syscall.Errno
	var b [1]byte
	if rc.Control(func(fd uintptr) { _, e = Peek(int(fd), b[:]) }) != nil {
		return true
	}
	return e != syscall.EAGAIN
}
