package config

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"
)

// TestGeoIPErrors checks the messages for bad legacy GeoIP directives, as
// nginx 1.22.1 with Debian's ngx_http_geoip_module.so and
// ngx_stream_geoip_module.so words them (nginx -t), with file and line.
func TestGeoIPErrors(t *testing.T) {
	tests := []struct{ name, src, want string }{
		{"parameter", "http { geoip_country /g.dat foo; }", `invalid parameter "foo" in nginx.conf:1`},
		{"parameter case", "stream { geoip_org /g.dat UTF8; }", `invalid parameter "UTF8" in nginx.conf:1`},
		{"three arguments", "http { geoip_city /g.dat utf8 x; }", `invalid number of arguments in "geoip_city" directive in nginx.conf:1`},
		{"duplicate", "http { geoip_city /a.dat;\ngeoip_city /b.dat; }", `"geoip_city" directive is duplicate in nginx.conf:2`},
		{"in server", "http { server { geoip_country /g.dat; } }", `"geoip_country" directive is not allowed here in nginx.conf:1`},
		{"proxy network", "http { geoip_proxy 10.0.0.0/33; }", `invalid network "10.0.0.0/33" in nginx.conf:1`},
		{"proxy in stream", "stream { geoip_proxy 10.0.0.0/8; }", `"geoip_proxy" directive is not allowed here in nginx.conf:1`},
		// With a database the module's names are taken (nginx 1.22.1: "the
		// duplicate ... variable"); without one they are free.
		{"map takes a name", "http { geoip_country /g.dat;\nmap $host $geoip_country_code { default XX; } }", `the duplicate "geoip_country_code" variable in nginx.conf:2`},
		{"geo takes a name", "http { geoip_org /g.dat; geo $Geoip_Region { default x; } }", `the duplicate "geoip_region" variable in nginx.conf:1`},
		{"stream geoip2 takes a name", "stream { geoip_city /g.dat; geoip2 /a.mmdb { $geoip_city city names en; } }", `the duplicate "geoip_city" variable in nginx.conf:1`},
		{"recursive value", "http { geoip_proxy_recursive yes; }", `invalid value "yes" in "geoip_proxy_recursive" directive, it must be "on" or "off" in nginx.conf:1`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadText(t, tt.src)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want %q", err, tt.want)
			}
		})
	}
}

// TestGeoIPValues checks what the directives build: files from the prefix,
// the utf8 flag, the proxies (host bits cleared) and the recursion flag.
func TestGeoIPValues(t *testing.T) {
	cfg, err := loadText(t, `http {
geoip_country /db/GeoIP.dat;
geoip_city db/city.dat utf8;
geoip_proxy 10.0.0.1/8;
geoip_proxy 2001:db8::/32;
geoip_proxy_recursive on;
}
stream { geoip_org /db/org.dat utf8; }`)
	if err != nil {
		t.Fatal(err)
	}
	g := cfg.HTTP.GeoIP
	if g.Country == nil || g.Country.File != "/db/GeoIP.dat" || g.Country.UTF8 {
		t.Errorf("country %+v", g.Country)
	}
	if g.City == nil || !strings.HasSuffix(g.City.File, "/db/city.dat") || !g.City.UTF8 || g.Org != nil {
		t.Errorf("city %+v, org %+v", g.City, g.Org)
	}
	want := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8::/32")}
	if !reflect.DeepEqual(g.Proxies, want) || !g.ProxyRecursive {
		t.Errorf("proxies %v recursive %v", g.Proxies, g.ProxyRecursive)
	}
	s := cfg.Stream.GeoIP
	if s.Org == nil || s.Org.File != "/db/org.dat" || !s.Org.UTF8 || s.Country != nil || !s.Used() {
		t.Errorf("stream %+v", s)
	}
	if !g.Used() {
		t.Error("http GeoIP not Used")
	}
	if _, err := loadText(t, "http { map $host $geoip_country_code { default XX; } }"); err != nil {
		t.Errorf("a map of $geoip_country_code without geoip_country: %v", err)
	}
}
