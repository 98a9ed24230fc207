package deadline

import (
	"errors"
	"net"
	"os"
	"syscall"
)

// The stall edge. Go's poller checks a connection's deadline before it
// tries the read or write: once the deadline has passed, Read and Write
// fail with os.ErrDeadlineExceeded even when the socket's bytes have
// arrived (or its buffer has room), and when the bytes and the deadline's
// timer come due together (the process stalled: garbage collection, the
// scheduler, a loaded machine) the runtime runs the timer first. nginx 1.22
// does the opposite: ngx_process_events_and_timers handles the events
// epoll_wait returned before ngx_event_expire_timers, so a connection whose
// data is there is read and its timer moved on, and only a connection with
// nothing to do times out. Stalled and WriteStalled give a caller nginx's
// answer.

// Stalled reports whether err is a deadline's timeout on a connection
// whose socket has something to read (bytes, an end of stream or an
// error): the stall edge, where nginx would have read. The caller then
// sets its read deadline afresh (as nginx moves its timer after a read)
// and reads once more, which finds what is there at once. false for other errors, and
// for a timeout with nothing to read, which stands.
func Stalled(c net.Conn, err error) bool {
	return errors.Is(err, os.ErrDeadlineExceeded) && Readable(c)
}

// WriteStalled is Stalled for a write: true when err is a timeout and c's
// socket has room for bytes (or an error waiting). A crypto/tls connection
// cannot write again after a timeout (its state is corrupt), so a timeout
// on one always stands.
func WriteStalled(c net.Conn, err error) bool {
	sc, ok := c.(syscall.Conn)
	return ok && errors.Is(err, os.ErrDeadlineExceeded) && Writable(sc)
}

// Readable reports whether a read on c's socket would return at once:
// bytes, an end of stream or an error wait there. It polls with no
// timeout, so it neither waits nor takes bytes, and it looks under a
// crypto/tls connection (NetConn). false for a connection without a
// socket, and on systems other than Linux.
func Readable(c net.Conn) bool {
	if u, ok := c.(interface{ NetConn() net.Conn }); ok {
		c = u.NetConn()
	}
	sc, ok := c.(syscall.Conn)
	return ok && pollConn(sc, pollIn)
}

// Writable reports whether socket sc has room for bytes, or an error
// waiting (a write returns at once), by a poll with no timeout; false on
// systems other than Linux. For a connection that wraps a socket (the
// caller knows the socket) where WriteStalled cannot look.
func Writable(sc syscall.Conn) bool {
	return pollConn(sc, pollOut)
}

// pollConn polls sc's socket for events without waiting.
func pollConn(sc syscall.Conn, events int16) bool {
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	var ready bool
	// Control takes no read or write lock and does not look at the
	// deadlines.
	if rc.Control(func(fd uintptr) { ready = pollNow(fd, events) }) != nil {
		return false
	}
	return ready
}
