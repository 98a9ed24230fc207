package daemon

import (
	"net/netip"
	"path/filepath"
	"testing"

	"fulcrum/internal/config"
	"fulcrum/internal/testutil"
	"fulcrum/internal/vars"
)

// TestGeoIPAddr checks which address the legacy GeoIP variables look up,
// as nginx 1.22.1 with ngx_http_geoip_module answered: an IPv6 client in
// an IPv4 database is 255.255.255.255 (the fixture's "EU"), a unix socket
// client 255.255.255.255 in an IPv4 database and :: in an IPv6 one (the
// fixture's "AP"), X-Forwarded-For ignored for both; an IPv4 client is
// looked up as ::ffff:a.b.c.d in an IPv6 database.
func TestGeoIPAddr(t *testing.T) {
	dir := t.TempDir()
	v4, v6 := filepath.Join(dir, "c4.dat"), filepath.Join(dir, "c6.dat")
	testutil.WriteGeoIPDat(t, v4, testutil.GeoIPCountry, testutil.GeoIPDatCountries())
	testutil.WriteGeoIPDat(t, v6, testutil.GeoIPCountryV6, testutil.GeoIPDatCountries())
	build := func(file string) *vars.Compiler {
		comp := &vars.Compiler{}
		h := &config.HTTP{GeoIP: &config.GeoIP{Country: &config.GeoIPFile{File: file}, Proxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}}
		if err := defineGeoIP(comp, h); err != nil {
			t.Fatal(err)
		}
		return comp
	}
	c4, c6 := build(v4), build(v6)
	tests := []struct {
		name   string
		comp   *vars.Compiler
		remote string
		unix   bool
		xff    string
		want   string
	}{
		{"ipv4 client", c4, "10.3.0.1:1", false, "", "CW"},
		{"mapped client", c4, "[::ffff:10.3.0.1]:1", false, "", "CW"},
		{"ipv6 client, ipv4 database", c4, "[2001:db8::1]:1", false, "", "EU"},
		{"unix client, ipv4 database", c4, "", true, "10.3.0.1", "EU"},
		{"trusted proxy", c4, "10.9.9.9:1", false, "10.3.0.1", "CW"},
		{"ipv4 client, ipv6 database", c6, "10.3.0.1:1", false, "", "CW"},
		{"ipv6 client", c6, "[2001:db8::1]:1", false, "", "GH"},
		{"unix client, ipv6 database", c6, "", true, "10.3.0.1", "AP"},
		{"not found", c4, "192.0.2.1:1", false, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmpl, err := tt.comp.Compile("$geoip_country_code")
			if err != nil {
				t.Fatal(err)
			}
			st := &vars.State{Request: vars.Request{RemoteUnix: tt.unix}}
			if tt.remote != "" {
				st.Remote = netip.MustParseAddrPort(tt.remote)
			}
			if tt.xff != "" {
				st.Header = vars.HeaderList{{Name: "X-Forwarded-For", Value: tt.xff}}
			}
			if got := string(tmpl.Append(nil, st)); got != tt.want {
				t.Errorf("%q, want %q", got, tt.want)
			}
		})
	}
}

// TestGeoIPVariablesOnlyWithADatabase: without geoip_country, geoip_city
// or geoip_org the module's names stay free (a map or a geoip2 block
// often defines $geoip_country_code); with one, all 16 are defined, those
// of the databases not configured not found.
func TestGeoIPVariablesOnlyWithADatabase(t *testing.T) {
	comp := &vars.Compiler{}
	if err := defineGeoIP(comp, &config.HTTP{GeoIP: &config.GeoIP{}}); err != nil {
		t.Fatal(err)
	}
	if _, err := comp.Compile("$geoip_city"); err == nil {
		t.Error("$geoip_city defined without a database")
	}
	org := filepath.Join(t.TempDir(), "o.dat")
	testutil.WriteGeoIPDat(t, org, testutil.GeoIPOrg, testutil.GeoIPDatOrgs())
	comp = &vars.Compiler{}
	if err := defineGeoIP(comp, &config.HTTP{GeoIP: &config.GeoIP{Org: &config.GeoIPFile{File: org}}}); err != nil {
		t.Fatal(err)
	}
	tmpl, err := comp.Compile("[$geoip_city][$geoip_country_code][$geoip_org]")
	if err != nil {
		t.Fatal(err)
	}
	st := &vars.State{Request: vars.Request{Remote: netip.MustParseAddrPort("10.0.0.1:1")}}
	if got := string(tmpl.Append(nil, st)); got != "[][][Example Org]" {
		t.Errorf("%q", got)
	}
}

// TestGeoIPSetRefused: set may not change the module's variables, as
// nginx 1.22.1 answers ("the duplicate "geoip_city" variable").
func TestGeoIPSetRefused(t *testing.T) {
	org := filepath.Join(t.TempDir(), "o.dat")
	testutil.WriteGeoIPDat(t, org, testutil.GeoIPOrg, testutil.GeoIPDatOrgs())
	comp := &vars.Compiler{}
	if err := defineGeoIP(comp, &config.HTTP{GeoIP: &config.GeoIP{Org: &config.GeoIPFile{File: org}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := comp.DefineSettable("geoip_city"); err == nil || err.Error() != `the duplicate "geoip_city" variable` {
		t.Errorf("set $geoip_city: %v", err)
	}
}
