// Package idlepark holds idle sockets without a goroutine each, as nginx
// holds its idle keep-alive connections: in an epoll set, until the socket
// becomes readable (the next request, or the client's close), a deadline
// passes, or the owner wakes it (a graceful stop). Then it calls the
// socket's wake function in a new goroutine, once.
//
// A goroutine waiting in Go's poller keeps its stack, 8 KiB after a proxied
// request, for as long as the connection idles (a browser keeps one open for
// keepalive_timeout, 75 s by default); a parked socket costs a map entry and
// a timer. On systems without epoll, New returns ErrUnsupported and callers
// keep their goroutines.
package idlepark

import (
	"errors"
	"sync/atomic"
	"time"
)

// ErrUnsupported is New's error where the system has no epoll.
var ErrUnsupported = errors.New("idlepark: not supported on this system")

// ErrClosed is Park's error after Close.
var ErrClosed = errors.New("idlepark: closed")

// Ticket is one parked socket. Its wake function runs once: on the socket's
// first readiness, at its deadline, on Wake, or on the Parker's Close.
type Ticket struct {
	p     *Parker
	token uint64
	fd    int
	wake  func()
	slot  *atomic.Pointer[Ticket]
	timer *time.Timer
}

// Wake ends the ticket's wait now, if it still waits: the socket leaves the
// epoll set before Wake returns (so it may be closed right after) and its
// wake function starts in a new goroutine. It reports whether it woke the
// ticket (false: it had woken already).
func (t *Ticket) Wake() bool {
	return t.p.wake(t.token)
}
