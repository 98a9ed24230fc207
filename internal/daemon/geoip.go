package daemon

import (
	"net/netip"

	"fulcrum/internal/config"
	"fulcrum/internal/geo"
	"fulcrum/internal/geoipdat"
	"fulcrum/internal/vars"
)

// defineGeoIP opens http's legacy GeoIP databases and, when there is one,
// defines the module's variables (each computed once per request, when
// used), as loading ngx_http_geoip_module does: a variable of a database
// not configured is not found. Without any, the names stay free for other
// uses (a geoip2 block or a map often takes $geoip_country_code).
func defineGeoIP(comp *vars.Compiler, h *config.HTTP) error {
	if !h.GeoIP.Used() {
		return nil
	}
	dbs, err := geoipdat.OpenDatabases(geoIPSource(h.GeoIP.Country), geoIPSource(h.GeoIP.City), geoIPSource(h.GeoIP.Org))
	if err != nil {
		return err
	}
	proxies, recursive := geo.Proxies(h.GeoIP.Proxies), h.GeoIP.ProxyRecursive
	for _, name := range geoipdat.VariableNames {
		lookup := dbs.Variable(name)
		comp.DefineCached(name, func(dst []byte, st *vars.State) ([]byte, bool) {
			return lookup(dst, geoIPAddr(st, proxies, recursive))
		})
		comp.Unchangeable(name) // set may not change it, as in nginx
	}
	return nil
}

// geoIPAddr is the address the module looks up, as ngx_http_geoip_addr:
// the client's (after realip), replaced by X-Forwarded-For's when it is in
// one of geoip_proxy's networks; the invalid address for a unix socket
// client (which geoipdat looks up as nginx does one that is neither IPv4
// nor IPv6).
func geoIPAddr(st *vars.State, proxies geo.Proxies, recursive bool) netip.Addr {
	if st.RemoteUnix || !st.Remote.IsValid() {
		return netip.Addr{}
	}
	addr := st.Remote.Addr().Unmap()
	if len(proxies) > 0 && st.Header != nil {
		addr = forwardedAddr(proxies, recursive, addr, st.Header)
	}
	return addr
}

// geoIPSource is a geoip_country, geoip_city or geoip_org directive as
// geoipdat opens it; nil for nil.
func geoIPSource(f *config.GeoIPFile) *geoipdat.Source {
	if f == nil {
		return nil
	}
	return &geoipdat.Source{File: f.File, UTF8: f.UTF8, Where: f.Pos.String()}
}
