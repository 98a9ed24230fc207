package proxy

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"

	"fulcrum/internal/config"
	"fulcrum/internal/errlog"
	"fulcrum/internal/vars"
)

// localBind is a compiled proxy_bind: the local address of connections to
// upstreams, fixed (addr) or evaluated per request (tmpl).
type localBind struct {
	addr netip.AddrPort
	tmpl *vars.Template
}

// compileBind compiles proxy_bind; nil when the location lets the system
// pick the local address.
func compileBind(c *vars.Compiler, pb config.ProxyBind) (*localBind, error) {
	switch {
	case pb.Addr == "":
		return nil, nil
	case pb.HasVariables:
		t, err := c.Compile(pb.Addr)
		if err != nil {
			return nil, fmt.Errorf("%w in %s", err, pb.Pos)
		}
		return &localBind{tmpl: t}, nil
	}
	ap, ok := config.ParseBindAddr(pb.Addr)
	if !ok { // config.Load checked it
		return nil, fmt.Errorf("invalid address %q in %s", pb.Addr, pb.Pos)
	}
	return &localBind{addr: ap}, nil
}

// local is the address req's upstream connections bind to; the zero
// AddrPort lets the system pick. As nginx's ngx_http_upstream_set_local,
// an empty value binds nothing and one that is not an address is logged
// and binds nothing.
func (h *Handler) local(req *request) netip.AddrPort {
	b := h.bind
	if b.tmpl == nil {
		return b.addr
	}
	v := b.tmpl.String(req.st)
	if v == "" {
		return netip.AddrPort{}
	}
	ap, ok := config.ParseBindAddr(v)
	if !ok {
		h.log.LogRequest(errlog.Error, req.logRequest(""), fmt.Sprintf("invalid local address %q", v))
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
// local address: nginx's ngx_event_connect_peer returns NGX_ERROR then,
// the request ends with 500, logged at crit, with no retry and no failure
// counted against the server.
func bindFailure(err error, local netip.AddrPort) *failure {
	var se *os.SyscallError
	if !errors.As(err, &se) || se.Syscall != "bind" {
		return nil
	}
	return &failure{status: 500,
		msg: fmt.Sprintf("bind(%s) failed (%s) while connecting to upstream", local.Addr(), errlog.Errno(err))}
}
