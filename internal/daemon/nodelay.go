package daemon

import (
	"syscall"

	"fulcrum/internal/config"
)

// applyNoDelay sets TCP_NODELAY on the client's socket as tcp_nodelay says
// for the request's location (on: set, off: cleared). Go sets it on every
// accepted connection; the system call is made only when the location's
// value differs from the socket's, so the default costs nothing. nginx
// sets it when a connection turns keep-alive (and for TLS, unbuffered
// responses and upgrades), never with off: fulcrum's socket has it from
// the start with on, and never while off is in force.
func (ci *connInfo) applyNoDelay(set *config.Settings) {
	if ci.sock == nil || ci.noDelayOff == set.NoDelayOff {
		return
	}
	v := 1
	if set.NoDelayOff {
		v = 0
	}
	var serr error
	if err := ci.sock.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_NODELAY, v)
	}); err != nil || serr != nil {
		return // the connection is closing; nothing to set
	}
	ci.noDelayOff = set.NoDelayOff
}
