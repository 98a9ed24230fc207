package daemon

import (
	"fmt"
	"net/netip"

	"fulcrum/internal/config"
	"fulcrum/internal/geo"
	"fulcrum/internal/vars"
)

// geoVar is a geo block ready for requests: where the address comes from, the
// trusted proxies, and the table.
type geoVar struct {
	source    *vars.Template // nil: the client address
	table     *geo.Table
	proxies   geo.Proxies
	recursive bool
}

// newGeoVar builds g's table; compile adds its source.
func newGeoVar(g *config.Geo) *geoVar {
	return &geoVar{table: geo.Compile(g), proxies: geo.Proxies(g.Proxies), recursive: g.ProxyRecursive}
}

// compile compiles the address variable of "geo $address $variable".
func (gv *geoVar) compile(comp *vars.Compiler, g *config.Geo) error {
	if g.Source == "" {
		return nil
	}
	t, err := comp.Compile("$" + g.Source)
	if err != nil {
		return fmt.Errorf("%w in %s", err, g.Pos)
	}
	gv.source = t
	return nil
}

// get is the geo variable's getter, as nginx's ngx_http_geo_cidr_variable and
// ngx_http_geo_range_variable: the address is the client's (after realip),
// or the value of the source variable parsed as ngx_parse_addr does (not
// found or not an address: looked up as 255.255.255.255); then, when it is
// one of the proxies, X-Forwarded-For's.
func (gv *geoVar) get(dst []byte, st *vars.State) ([]byte, bool) {
	addr, ok := gv.addr(dst, st)
	if ok && len(gv.proxies) > 0 && st.Header != nil {
		addr = forwardedAddr(gv.proxies, gv.recursive, addr, st.Header)
	}
	if !ok {
		addr = netip.Addr{}
	}
	return append(dst, gv.table.Lookup(addr)...), true
}

// addr returns the address to look up and whether there is one. The source
// variable's value is appended to dst as scratch, and dropped.
func (gv *geoVar) addr(dst []byte, st *vars.State) (netip.Addr, bool) {
	if gv.source == nil {
		if st.RemoteUnix || !st.Remote.IsValid() {
			return netip.Addr{}, false
		}
		// A client of an IPv4 listener is AF_INET to nginx, also when Go
		// reports it IPv4-mapped.
		return st.Remote.Addr().Unmap(), true
	}
	start := len(dst)
	dst = gv.source.Append(dst, st)
	return geo.ParseAddr(dst[start:])
}

// forwardedAddrHeader is the canonical name of X-Forwarded-For.
const forwardedAddrHeader = "X-Forwarded-For"

// forwardedAddr walks the request's X-Forwarded-For fields with nginx's rules.
func forwardedAddr(proxies geo.Proxies, recursive bool, addr netip.Addr, h vars.Headers) netip.Addr {
	n := 0
	for pos := 0; ; n++ {
		_, next, ok := h.Lookup(forwardedAddrHeader, pos)
		if !ok {
			break
		}
		pos = next
	}
	if n == 0 {
		return addr
	}
	return proxies.Forwarded(addr, recursive, n, func(i int) string {
		pos := 0
		var v string
		for ; i >= 0; i-- {
			v, pos, _ = h.Lookup(forwardedAddrHeader, pos)
		}
		return v
	})
}
