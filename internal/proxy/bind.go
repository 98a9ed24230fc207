package proxy

import (
	"fmt"
	"net"
	"net/netip"

	"fulcrum/internal/bindaddr"
	"fulcrum/internal/errlog"
)

// local is the address req's upstream connections bind to; the zero
// AddrPort lets the system pick (bindaddr.Bind.Local), a value that is not
// an address is logged.
func (h *Handler) local(req *request) netip.AddrPort {
	ap, bad := h.bind.Local(req.st)
	if bad != "" {
		req.log.LogRequest(errlog.Error, req.logRequest(""), fmt.Sprintf("invalid local address %q", bad))
	}
	return ap
}

// localAddr is the dialer's LocalAddr for ap on network: nil for the
// zero AddrPort and for a unix socket.
func localAddr(network string, ap netip.AddrPort) net.Addr {
	if !ap.IsValid() || network == "unix" {
		return nil
	}
	return net.TCPAddrFromAddrPort(ap)
}

// bindFailure is the failure of a connection that could not bind its
// local address (or set IP_TRANSPARENT for it): nginx's
// ngx_event_connect_peer returns NGX_ERROR then, the request ends with
// 500, logged at bindLevel (bindaddr.Failure), with no retry and no
// failure counted against the server.
func bindFailure(err error, local netip.AddrPort) *failure {
	msg, level, ok := bindaddr.Failure(err, local)
	if !ok {
		return nil
	}
	return &failure{status: 500, msg: msg, bindLevel: level}
}
