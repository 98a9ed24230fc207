// Package bindaddr compiles the *_bind directives (proxy_bind, fastcgi_bind,
// scgi_bind, uwsgi_bind, memcached_bind): the local address of connections
// to upstream servers, fixed or evaluated per request, with nginx's rules
// for a value that is empty or not an address.
package bindaddr

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"syscall"

	"fulcrum/internal/config"
	"fulcrum/internal/errlog"
	"fulcrum/internal/vars"
)

// Bind is a compiled bind directive. The zero Bind lets the system pick
// the local address.
type Bind struct {
	addr netip.AddrPort
	tmpl *vars.Template
	// transparent is the directive's "transparent": the connections'
	// sockets get IP_TRANSPARENT before they bind (Control).
	transparent bool
}

// Compile compiles b; name ("proxy_bind") words its errors.
func Compile(c *vars.Compiler, b config.ProxyBind, name string) (Bind, error) {
	switch {
	case b.Addr == "":
		return Bind{}, nil
	case b.HasVariables:
		t, err := c.Compile(b.Addr)
		if err != nil {
			return Bind{}, fmt.Errorf("%s: %w in %s", name, err, b.Pos)
		}
		return Bind{tmpl: t, transparent: b.Transparent}, nil
	}
	ap, ok := config.ParseBindAddr(b.Addr)
	if !ok { // config.Load checked it
		return Bind{}, fmt.Errorf("%s: invalid address %q in %s", name, b.Addr, b.Pos)
	}
	return Bind{addr: ap, transparent: b.Transparent}, nil
}

// Control is the net.Dialer Control function of the directive's
// connections: Transparent for "transparent", else nil.
func (b Bind) Control() func(network, address string, c syscall.RawConn) error {
	if b.transparent {
		return Transparent
	}
	return nil
}

// Failure words err, the failure to set up the local side of an upstream
// connection, as nginx's ngx_event_connect_peer logs it, with the level:
// "bind(ADDR) failed (99: Cannot assign requested address)" at crit,
// "setsockopt(IP_TRANSPARENT) failed (1: Operation not permitted)" at
// alert (the request then ends with 500, nothing retried or counted
// against the server). ok is false for any other error.
func Failure(err error, local netip.AddrPort) (msg string, level errlog.Level, ok bool) {
	var se *os.SyscallError
	if !errors.As(err, &se) {
		return "", 0, false
	}
	switch {
	case se.Syscall == "bind":
		return fmt.Sprintf("bind(%s) failed (%s) while connecting to upstream", local.Addr(), errlog.Errno(err)), errlog.Crit, true
	case strings.HasPrefix(se.Syscall, "setsockopt(") && strings.HasSuffix(se.Syscall, "_TRANSPARENT)"):
		return fmt.Sprintf("%s failed (%s) while connecting to upstream", se.Syscall, errlog.Errno(err)), errlog.Alert, true
	}
	return "", 0, false
}

// Set reports whether the directive binds at all (an address or a value
// with variables).
func (b Bind) Set() bool { return b.tmpl != nil || b.addr.IsValid() }

// Local returns the address a request's connections bind to; the zero
// AddrPort lets the system pick. As nginx's ngx_http_upstream_set_local, an
// empty value binds nothing, and a value that is not an address binds
// nothing and comes back as bad, for the caller to log ("invalid local
// address").
func (b Bind) Local(st *vars.State) (ap netip.AddrPort, bad string) {
	if b.tmpl == nil {
		return b.addr, ""
	}
	v := b.tmpl.String(st)
	if v == "" {
		return netip.AddrPort{}, ""
	}
	ap, ok := config.ParseBindAddr(v)
	if !ok {
		return netip.AddrPort{}, v
	}
	return ap, ""
}
