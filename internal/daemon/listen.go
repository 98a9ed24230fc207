package daemon

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"

	"fulcrum/internal/errlog"
	"fulcrum/internal/proxyproto"
)

// connLimiter caps the number of open client connections across every listener
// (events { worker_connections N; }). A listener at the cap stops accepting, so new
// connections wait in the kernel's backlog instead of being refused.
type connLimiter struct {
	slots chan struct{}
}

func newConnLimiter(n int) *connLimiter {
	if n <= 0 {
		n = 1024
	}
	return &connLimiter{slots: make(chan struct{}, n)}
}

// limitedListener is a net.Listener whose connections hold a connLimiter slot from
// Accept until Close.
type limitedListener struct {
	net.Listener
	lim  *connLimiter
	done chan struct{}
	once sync.Once
}

func (l *limitedListener) Accept() (net.Conn, error) {
	select {
	case l.lim.slots <- struct{}{}:
	case <-l.done:
		return nil, net.ErrClosed
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.lim.slots
		return nil, err
	}
	return &limitedConn{Conn: c, release: func() { <-l.lim.slots }, lim: l.lim}, nil
}

func (l *limitedListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return l.Listener.Close()
}

// limitedConn gives its slot back exactly once, on the first Close.
type limitedConn struct {
	net.Conn
	once    sync.Once
	release func()
	lim     *connLimiter // the limiter the slot is from (lingerSlot)
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

// listenSocket opens a listening socket. A unix socket path left over from a
// previous run is removed first, as nginx does.
func listenSocket(network, addr string) (net.Listener, error) {
	if network == "unix" {
		if fi, err := os.Lstat(addr); err == nil && fi.Mode()&os.ModeSocket != 0 {
			if err := os.Remove(addr); err != nil {
				return nil, fmt.Errorf("remove stale socket %s: %w", addr, err)
			}
		}
	}
	ln, err := net.Listen(network, addr)
	if err != nil {
		return nil, describeListenError(network, addr, err)
	}
	return ln, nil
}

// describeListenError turns a bind error into nginx's words, "bind() to
// ADDR failed (98: Address already in use)" (nginx 1.22.1 recorded), then
// a hint on what to do; Go's own text of the error is not repeated.
func describeListenError(network, addr string, err error) error {
	var hint string
	switch {
	case errors.Is(err, os.ErrPermission):
		hint = "; ports below 1024 need root or CAP_NET_BIND_SERVICE"
	case isAddrInUse(err):
		hint = "; another process listens there: stop it or change listen"
	}
	if network == "unix" {
		addr = "unix:" + addr
	}
	return &listenError{msg: "bind() to " + addr + " failed (" + errlog.Errno(err) + ")" + hint, err: err}
}

// listenError is a failed bind in nginx's words; err is the cause.
type listenError struct {
	msg string
	err error
}

func (e *listenError) Error() string { return e.msg }
func (e *listenError) Unwrap() error { return e.err }

func isAddrInUse(err error) bool {
	var se *os.SyscallError
	if errors.As(err, &se) {
		return se.Err.Error() == "address already in use"
	}
	return false
}

// proxyProtocol reports whether connections to the listener's address
// local start with a PROXY protocol header ("listen ... proxy_protocol",
// ORed over the address's listens, as ssl), and how many bytes nginx looks
// at for it: the address's default server's client_header_buffer_size,
// or 108 on an ssl address (NGX_PROXY_PROTOCOL_MAX_HEADER + 1, its
// handshake's peek; ssl reports that). It asks the current snapshot, so a reload that adds
// or removes the parameter applies to the next connection.
func (s *httpServer) proxyProtocol(local netip.AddrPort) (size int, ssl, ok bool) {
	if s.daemon == nil {
		return 0, false, false
	}
	snap := s.daemon.current.Load()
	if snap == nil {
		return 0, false, false
	}
	rl := snap.byKey[s.key]
	if rl == nil {
		return 0, false, false
	}
	hosts := rl.Hosts(local)
	if hosts == nil || !hosts.ProxyProtocol {
		return 0, false, false
	}
	if hosts.SSL {
		return proxyproto.MaxHeader + 1, true, true
	}
	size = 1024
	if set := hosts.DefaultServer.Config.Settings; set != nil && set.ClientHeaderBufferSize > 0 {
		size = int(set.ClientHeaderBufferSize)
	}
	return size, false, true
}
