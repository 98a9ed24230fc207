package fastcgi

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"

	"fulcrum/internal/bindaddr"
	"fulcrum/internal/errlog"
)

// local is the address req's connections bind to (bindaddr.Bind.Local); a
// value that is not an address is logged and binds nothing.
func (h *Handler) local(req *request) netip.AddrPort {
	ap, bad := h.bind.Local(req.st)
	if bad != "" {
		req.log.LogRequest(errlog.Error, req.logRequest(), fmt.Sprintf("invalid local address %q", bad))
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
		d.Control = h.bind.Control()
	}
	return d
}

// bindFailed reports a connection that could not bind its local address
// (or set IP_TRANSPARENT for it): nginx's ngx_event_connect_peer fails
// then, and the request ends with 500, logged as bindaddr.Failure words
// it, with no retry and no failure counted against the server. It returns
// nil for any other error.
func (h *Handler) bindFailed(req *request, err error) *failure {
	msg, level, ok := bindaddr.Failure(err, h.local(req))
	if !ok {
		return nil
	}
	req.log.LogRequest(level, req.logRequest(), msg)
	return &failure{status: http.StatusInternalServerError}
}
