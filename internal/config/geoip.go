package config

import (
	"cmp"
	"net/netip"
	"slices"
	"strings"
)

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
	return checkGeoIPNames(g, h.Maps, h.Geos, h.SplitClients, h.GeoIP2)
}

// geoIPVariables are the module's variables (package geoipdat's
// VariableNames; config imports only the standard library).
var geoIPVariables = []string{
	"geoip_country_code", "geoip_country_code3", "geoip_country_name",
	"geoip_area_code", "geoip_city_continent_code", "geoip_city_country_code",
	"geoip_city_country_code3", "geoip_city_country_name", "geoip_dma_code",
	"geoip_latitude", "geoip_longitude", "geoip_region", "geoip_region_name",
	"geoip_city", "geoip_postal_code", "geoip_org",
}

// checkGeoIPNames refuses a map, geo, split_clients or geoip2 variable
// that takes one of the module's names while the block has a database,
// as nginx does once the module defines them ("the duplicate ...
// variable"). Without a database the names are free (see GeoIP.Used).
func checkGeoIPNames(g *GeoIP, maps []*Map, geos []*Geo, splits []*SplitClients, geoip2 []*GeoIP2) error {
	if !g.Used() {
		return nil
	}
	taken := func(name string, pos Pos) error {
		name = strings.ToLower(name)
		if slices.Contains(geoIPVariables, name) {
			return hintf(pos, "geoip_country, geoip_city and geoip_org define it: name this variable otherwise", `the duplicate "%s" variable`, name)
		}
		return nil
	}
	var err error
	for _, m := range maps {
		err = cmp.Or(err, taken(m.Variable, m.Pos))
	}
	for _, ge := range geos {
		err = cmp.Or(err, taken(ge.Variable, ge.Pos))
	}
	for _, sc := range splits {
		err = cmp.Or(err, taken(sc.Variable, sc.Pos))
	}
	for _, g2 := range geoip2 {
		for _, v := range g2.Vars {
			err = cmp.Or(err, taken(v.Name, v.Pos))
		}
	}
	return err
}
