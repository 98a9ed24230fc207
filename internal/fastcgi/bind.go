package fastcgi

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"

	"fulcrum/internal/config"
	"fulcrum/internal/errlog"
	"fulcrum/internal/vars"
)

// localBind is a compiled fastcgi_bind (scgi_bind, uwsgi_bind): the local
// address of connections to the servers, fixed (addr) or evaluated per
// request (tmpl); both zero let the system pick. The same rules as
// proxy_bind's and memcached_bind's (internal/proxy/bind.go,
// internal/memcached/handler.go).
type localBind struct {
	addr netip.AddrPort
	tmpl *vars.Template
}

// compileBind compiles the bind directive of name ("fastcgi_bind").
func compileBind(c *vars.Compiler, b config.ProxyBind, name string) (localBind, error) {
	switch {
	case b.Addr == "":
		return localBind{}, nil
	case b.HasVariables:
		t, err := c.Compile(b.Addr)
		if err != nil {
			return localBind{}, fmt.Errorf("%s: %w in %s", name, err, b.Pos)
		}
		return localBind{tmpl: t}, nil
	}
	ap, ok := config.ParseBindAddr(b.Addr)
	if !ok { // config.Load checked it
		return localBind{}, fmt.Errorf("invalid address %q in %s", b.Addr, b.Pos)
	}
	return localBind{addr: ap}, nil
}

// local is the address req's connections bind to. As nginx's
// ngx_http_upstream_set_local, an empty value binds nothing and one that
// is not an address is logged and binds nothing.
func (h *Handler) local(req *request) netip.AddrPort {
	if h.bind.tmpl == nil {
		return h.bind.addr
	}
	v := h.bind.tmpl.String(req.st)
	if v == "" {
		return netip.AddrPort{}
	}
	ap, ok := config.ParseBindAddr(v)
	if !ok {
		h.log.LogRequest(errlog.Error, req.logRequest(), fmt.Sprintf("invalid local address %q", v))
	}
	return ap
}

// dialer is the dialer of a new connection to a server on network: the
// connect timeout, the bind address (not for unix sockets) and
// SO_KEEPALIVE with the system's intervals when the socket_keepalive
// directive is on, as nginx sets it (Go's own keep-alive stays off
// otherwise, as nginx's).
func (h *Handler) dialer(req *request, network string) net.Dialer {
	d := net.Dialer{Timeout: h.set.ConnectTimeout, KeepAlive: -1}
	if h.set.SocketKeepalive {
		d.KeepAliveConfig = net.KeepAliveConfig{Enable: true, Idle: -1, Interval: -1, Count: -1}
	}
	if ap := h.local(req); ap.IsValid() && network != "unix" {
		d.LocalAddr = net.TCPAddrFromAddrPort(ap)
	}
	return d
}

// bindFailed reports a connection that could not bind its local address:
// nginx's ngx_event_connect_peer fails then, and the request ends with
// 500, logged at crit, with no retry and no failure counted against the
// server. It returns nil for any other error.
func (h *Handler) bindFailed(req *request, err error) *failure {
	var se *os.SyscallError
	if !errors.As(err, &se) || se.Syscall != "bind" {
		return nil
	}
	h.log.LogRequest(errlog.Crit, req.logRequest(),
		fmt.Sprintf("bind(%s) failed (%s) while connecting to upstream", h.local(req).Addr(), errlog.Errno(err)))
	return &failure{status: http.StatusInternalServerError}
}
