package config

import (
	"net/netip"
	"strings"
)

// applyProxyBind reads "proxy_bind address [transparent] | off;" (and
// the other *_bind directives, which take the same values), in nginx's
// order (ngx_http_upstream_bind_set_slot): "off" alone, then the address
// (a literal one must be an IP address, optionally with a non-zero port,
// as nginx's ngx_parse_addr_port takes; one with variables is checked per
// request), then "transparent", which binds with IP_TRANSPARENT so that
// the address may be a foreign one.
func applyProxyBind(_ *builder, st *Settings, dirs []*Directive, _ *scope) error {
	d := dirs[0]
	addr := d.Args[0]
	if addr == "off" && len(d.Args) == 1 {
		st.ProxyBind = ProxyBind{Pos: d.Pos}
		return nil
	}
	b := ProxyBind{Addr: addr, HasVariables: strings.Contains(addr, "$"), Pos: d.Pos}
	if _, ok := ParseBindAddr(addr); !ok && !b.HasVariables {
		return errorf(d.Pos, `invalid address "%s"`, addr)
	}
	if len(d.Args) == 2 {
		if d.Args[1] != "transparent" {
			return errorf(d.Pos, `invalid parameter "%s"`, d.Args[1])
		}
		b.Transparent = true
	}
	st.ProxyBind = b
	return nil
}

// ParseBindAddr parses a proxy_bind address: an IP address ("127.0.0.2",
// "::1") or one with a non-zero port ("127.0.0.2:4000", "[::1]:4000"); the
// port is 0 when none is given. ok is false for anything else.
func ParseBindAddr(s string) (ap netip.AddrPort, ok bool) {
	if a, err := netip.ParseAddr(s); err == nil && a.Zone() == "" {
		return netip.AddrPortFrom(a.Unmap(), 0), true
	}
	ap, err := netip.ParseAddrPort(s)
	if err != nil || ap.Port() == 0 || ap.Addr().Zone() != "" {
		return netip.AddrPort{}, false
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), true
}
