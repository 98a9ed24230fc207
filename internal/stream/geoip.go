package stream

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"fulcrum/internal/config"
	"fulcrum/internal/geoipdat"
)

// openGeoIP opens the stream block's legacy GeoIP databases
// (ngx_stream_geoip_module's geoip_country, geoip_city, geoip_org); nil
// when none is configured.
func openGeoIP(cfg *config.Stream) (*geoipdat.Databases, error) {
	g := cfg.GeoIP
	if !g.Used() {
		return nil, nil
	}
	return geoipdat.OpenDatabases(geoIPSource(g.Country), geoIPSource(g.City), geoIPSource(g.Org))
}

// geoIPSource is a directive as geoipdat opens it; nil for nil.
func geoIPSource(f *config.GeoIPFile) *geoipdat.Source {
	if f == nil {
		return nil
	}
	return &geoipdat.Source{File: f.File, UTF8: f.UTF8, Where: f.Pos.String()}
}

// defineGeoIP defines the module's variables over dbs (nil: none), as
// loading ngx_stream_geoip_module does: the client's address (after the
// PROXY protocol's, as realip) is looked up, a unix socket's as nginx's
// ngx_stream_geoip_addr does an address of another family.
func (bv *blockVars) defineGeoIP(cfg *config.Stream, dbs *geoipdat.Databases) error {
	if dbs == nil {
		return nil
	}
	if err := refuseGeoIPSets(cfg); err != nil {
		return err
	}
	for _, name := range geoipdat.VariableNames {
		lookup := dbs.Variable(name)
		eval := func(dst []byte, s *session) ([]byte, bool) {
			var addr netip.Addr
			if s.remote.IsValid() {
				addr = s.remote.Addr()
			}
			return lookup(dst, addr)
		}
		if err := bv.define(name, false, eval, cfg.Pos); err != nil {
			return err
		}
	}
	return nil
}

// refuseGeoIPSets refuses a set of one of the module's variables, as
// nginx 1.22.1 does once the module defines them ("the duplicate
// "geoip_city" variable").
func refuseGeoIPSets(cfg *config.Stream) error {
	for _, srv := range cfg.Servers {
		for _, st := range srv.Sets {
			if slices.Contains(geoipdat.VariableNames, strings.ToLower(st.Name)) {
				return at(&varError{msg: fmt.Sprintf(`the duplicate "%s" variable`, strings.ToLower(st.Name)),
					hint: "geoip_country, geoip_city and geoip_org define it: set another variable"}, st.Pos)
			}
		}
	}
	return nil
}
