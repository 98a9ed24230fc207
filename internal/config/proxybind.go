package config

import (
	"net/netip"
	"strings"
)

// applyProxyBind reads "proxy_bind address [transparent] | off;" (and
// memcached_bind, which takes the same values). A
// literal address must be an IP address, optionally with a non-zero port,
// as nginx's ngx_parse_addr_port takes; one with variables is checked per
// request. "transparent" (IP_TRANSPARENT) is refused: fulcrum does not
// bind to foreign addresses.
func applyProxyBind(_ *builder, st *Settings, dirs []*Directive, _ *scope) error {
	d := dirs[0]
	addr := d.Args[0]
	if len(d.Args) == 2 {
		if d.Args[1] != "transparent" {
			return errorf(d.Pos, `invalid parameter "%s"`, d.Args[1])
		}
		return hintf(d.Pos, "fulcrum binds only to its own addresses; drop the parameter",
			`"%s %s transparent" is not supported yet`, d.Name, addr)
	}
	if addr == "off" {
		st.ProxyBind = ProxyBind{Pos: d.Pos}
		return nil
	}
	if strings.Contains(addr, "$") {
		st.ProxyBind = ProxyBind{Addr: addr, HasVariables: true, Pos: d.Pos}
		return nil
	}
	if _, ok := ParseBindAddr(addr); !ok {
		return errorf(d.Pos, `invalid address "%s"`, addr)
	}
	st.ProxyBind = ProxyBind{Addr: addr, Pos: d.Pos}
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
