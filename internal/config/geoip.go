package config

import "net/netip"

// GeoIP are the legacy MaxMind GeoIP databases of http or stream
// (ngx_http_geoip_module, ngx_stream_geoip_module): geoip_country,
// geoip_city and geoip_org, each at most once, and http's geoip_proxy and
// geoip_proxy_recursive. The files are opened when the configuration is
// built into something that serves (not here), so that `fulcrum -t` and a
// reload report a missing or broken file and a database of the wrong
// edition.
type GeoIP struct {
	// Country, City and Org are the databases; nil: not configured, and
	// their variables are not found.
	Country, City, Org *GeoIPFile
	// Proxies are geoip_proxy's networks: a client in one of them is
	// looked up by the address its X-Forwarded-For gives, the last one
	// not in them with ProxyRecursive (geoip_proxy_recursive on). http
	// only.
	Proxies        []netip.Prefix
	ProxyRecursive bool
}

// GeoIPFile is a geoip_country, geoip_city or geoip_org directive.
type GeoIPFile struct {
	// File is the database's path, made absolute against the prefix (-p),
	// as ngx_conf_full_name does.
	File string
	// UTF8 is the "utf8" parameter: names are converted from Latin-1
	// (libGeoIP's GEOIP_CHARSET_UTF8).
	UTF8 bool
	// Directive is the directive's name, for messages.
	Directive string
	Pos       Pos
}

// Used reports whether any database is configured: the module's variables
// are then defined (see package daemon).
func (g *GeoIP) Used() bool {
	return g != nil && (g.Country != nil || g.City != nil || g.Org != nil)
}

// geoIPFiles reads geoip_country, geoip_city and geoip_org of http or
// stream, as ngx_http_geoip_country and its siblings: a file and an
// optional "utf8".
func (b *builder) geoIPFiles(top *scope) (*GeoIP, error) {
	g := &GeoIP{}
	for _, f := range []struct {
		name string
		dst  **GeoIPFile
	}{{"geoip_country", &g.Country}, {"geoip_city", &g.City}, {"geoip_org", &g.Org}} {
		for _, d := range top.own(f.name) {
			gf := &GeoIPFile{File: b.path(d.Args[0]), Directive: d.Name, Pos: d.Pos}
			if len(d.Args) == 2 {
				if d.Args[1] != "utf8" {
					return nil, hintf(d.Pos, `the only parameter after the file is "utf8"`, `invalid parameter "%s"`, d.Args[1])
				}
				gf.UTF8 = true
			}
			*f.dst = gf
		}
	}
	return g, nil
}

// geoIP is the http step that reads the legacy GeoIP databases and
// geoip_proxy and geoip_proxy_recursive.
func (b *builder) geoIP(h *HTTP, http *scope) error {
	g, err := b.geoIPFiles(http)
	if err != nil {
		return err
	}
	for _, d := range http.own("geoip_proxy") {
		n, err := b.proxyNetwork(d, d.Args[0])
		if err != nil {
			return err
		}
		g.Proxies = append(g.Proxies, n)
	}
	for _, d := range http.own("geoip_proxy_recursive") {
		on, err := parseFlag(d.Args[0])
		if err != nil {
			return errorf(d.Pos, `invalid value "%s" in "%s" directive, it must be "on" or "off"`, d.Args[0], d.Name)
		}
		g.ProxyRecursive = on
	}
	h.GeoIP = g
	return nil
}
