// Package bindaddr compiles the *_bind directives (proxy_bind, fastcgi_bind,
// scgi_bind, uwsgi_bind, memcached_bind): the local address of connections
// to upstream servers, fixed or evaluated per request, with nginx's rules
// for a value that is empty or not an address.
package bindaddr

import (
	"fmt"
	"net/netip"

	"fulcrum/internal/config"
	"fulcrum/internal/vars"
)

// Bind is a compiled bind directive. The zero Bind lets the system pick
// the local address.
type Bind struct {
	addr netip.AddrPort
	tmpl *vars.Template
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
		return Bind{tmpl: t}, nil
	}
	ap, ok := config.ParseBindAddr(b.Addr)
	if !ok { // config.Load checked it
		return Bind{}, fmt.Errorf("%s: invalid address %q in %s", name, b.Addr, b.Pos)
	}
	return Bind{addr: ap}, nil
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
