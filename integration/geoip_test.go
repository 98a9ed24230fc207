package integration

import (
	"bufio"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fulcrum/internal/testutil"
)

// geoIPVarsLine is the return text of the tests: the module's 16
// variables, "|"-separated.
const geoIPVarsLine = "$geoip_country_code|$geoip_country_code3|$geoip_country_name|$geoip_area_code|$geoip_city_continent_code|$geoip_city_country_code|$geoip_city_country_code3|$geoip_city_country_name|$geoip_dma_code|$geoip_latitude|$geoip_longitude|$geoip_region|$geoip_region_name|$geoip_city|$geoip_postal_code|$geoip_org"

// writeGeoIPDBs writes a country, a city (rev1) and an organisation
// database of testutil's fixture networks into dir.
func writeGeoIPDBs(t *testing.T, dir string) (country, city, org string) {
	country, city, org = filepath.Join(dir, "country.dat"), filepath.Join(dir, "city.dat"), filepath.Join(dir, "org.dat")
	testutil.WriteGeoIPDat(t, country, testutil.GeoIPCountry, testutil.GeoIPDatCountries())
	testutil.WriteGeoIPDat(t, city, testutil.GeoIPCityRev1, testutil.GeoIPDatCities())
	testutil.WriteGeoIPDat(t, org, testutil.GeoIPOrg, testutil.GeoIPDatOrgs())
	return country, city, org
}

// TestGeoIPHTTP runs the binary with the legacy GeoIP databases in http
// and looks addresses up through geoip_proxy, X-Forwarded-For and
// geoip_proxy_recursive. The answers are nginx 1.22.1's with Debian's
// libnginx-mod-http-geoip (libGeoIP 1.6.12) for the same files and
// configuration (load_module added), byte for byte: the city and country
// names in UTF-8 with "utf8", the organisation's in Latin-1 without.
func TestGeoIPHTTP(t *testing.T) {
	t.Parallel() // its own process, backends and temp dir; no upper time bound
	country, city, org := writeGeoIPDBs(t, t.TempDir())
	conf := fmt.Sprintf(`events {}
http {
    access_log off;
    geoip_country %s;
    geoip_city %s utf8;
    geoip_org %s;
    geoip_proxy 127.0.0.0/8;
    geoip_proxy 10.4.0.0/16;
    geoip_proxy_recursive on;
    server {
        listen 127.0.0.1:0;
        location / { return 200 "%s\n"; }
    }
}`, country, city, org, geoIPVarsLine)
	in := startFulcrum(t, conf, 1)
	client := newClient()
	tests := []struct{ xff, want string }{
		{"", "|||||||||||||||"},
		{"10.0.0.1", "US|USA|United States|650|NA|US|USA|United States|807|37.4192|-122.0574|CA|California|Mountain View|94043|Example Org"},
		{"10.1.2.3", "US|USA|United States|0|NA|CR|CRI|Costa Rica|0|47.3667|8.5500|01|Alajuela|Z\xc3\xbcrich||Example Org"},
		{"10.2.0.1", "US|USA|United States|650|NA|US|USA|United States|807|37.4192|-122.0574|CA|California|Mountain View|94043|Soci\xe9t\xe9 G\xe9n\xe9rale"},
		{"192.0.2.1", "|||0|NA|CW|CUW|Cura\xc3\xa7ao|0|-12.3456|0.0000|||||"},
		// An IPv6 address in IPv4 databases is looked up as
		// 255.255.255.255; "255.255.255.255" itself does not parse.
		{"2001:db8::1", "EU|EU|Europe|||||||||||||"},
		{"255.255.255.255", "|||||||||||||||"},
		{"::ffff:10.3.0.1", "CW|CUW|Curacao|650|NA|US|USA|United States|807|37.4192|-122.0574|CA|California|Mountain View|94043|Example Org"},
		// Recursive: 10.4.0.9 is a trusted proxy, 10.3.0.1 the client.
		{"10.3.0.1, 10.4.0.9", "CW|CUW|Curacao|650|NA|US|USA|United States|807|37.4192|-122.0574|CA|California|Mountain View|94043|Example Org"},
		{"10.4.0.8 10.4.0.9", "|||650|NA|US|USA|United States|807|37.4192|-122.0574|CA|California|Mountain View|94043|Example Org"},
		{"10.3.0.1, bogus", "|||||||||||||||"},
	}
	for _, tt := range tests {
		var hs []string
		if tt.xff != "" {
			hs = []string{"X-Forwarded-For", tt.xff}
		}
		code, body := get(t, client, in.url(0)+"/", hs...)
		if code != 200 || strings.TrimSuffix(body, "\n") != tt.want {
			t.Errorf("X-Forwarded-For %q: %d %q, want %q", tt.xff, code, body, tt.want)
		}
	}
}

// TestGeoIPStream runs a stream server that returns the variables of the
// client's address: 127.0.0.1 and 127.0.0.2 are in the databases, with
// different answers (as nginx 1.22.1 with ngx_stream_geoip_module gave
// them for the same files).
func TestGeoIPStream(t *testing.T) {
	t.Parallel() // its own process, backends and temp dir; no upper time bound
	dir := t.TempDir()
	country, city, org := filepath.Join(dir, "c.dat"), filepath.Join(dir, "city.dat"), filepath.Join(dir, "o.dat")
	one, two := netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("127.0.0.2/32")
	testutil.WriteGeoIPDat(t, country, testutil.GeoIPCountryV6, []testutil.GeoIPDatNetwork{{Prefix: one, CountryID: 225}, {Prefix: two, CountryID: 50}})
	testutil.WriteGeoIPDat(t, city, testutil.GeoIPCityRev0, []testutil.GeoIPDatNetwork{{Prefix: one, City: &testutil.GeoIPDatCity{CountryID: 225, Region: "NY", City: "New York", Latitude: 40.7, Longitude: -74}}})
	testutil.WriteGeoIPDat(t, org, testutil.GeoIPASNum, []testutil.GeoIPDatNetwork{{Prefix: two, Name: "AS64500 Loopback"}})
	conf := fmt.Sprintf(`events {}
stream {
    geoip_country %s;
    geoip_city %s;
    geoip_org %s;
    server { listen 127.0.0.1:0; return "%s\n"; }
}`, country, city, org, geoIPVarsLine)
	in := startFulcrum(t, conf, 1)
	addr := in.listening()[0]
	for _, tt := range []struct{ from, want string }{
		{"127.0.0.1", "US|USA|United States|0|NA|US|USA|United States|0|40.7000|-74.0000|NY|New York|New York||"},
		{"127.0.0.2", "CR|CRI|Costa Rica|||||||||||||AS64500 Loopback"},
		{"127.0.0.3", "|||||||||||||||"},
	} {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(tt.from)}, Timeout: 5 * time.Second}
		c, err := d.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		got, err := bufio.NewReader(c).ReadString('\n')
		c.Close()
		if err != nil || strings.TrimSuffix(got, "\n") != tt.want {
			t.Errorf("from %s: %q (%v), want %q", tt.from, got, err, tt.want)
		}
	}
}

// TestGeoIPBadFile checks fulcrum -t on a database that does not open, is
// of an edition the directive does not take, or is not a regular file:
// nginx's messages (as nginx -t printed them; fulcrum adds the reason),
// with file and line (a special file named by its kind, as geoip2 names
// it); and a stream set of one of the module's variables.
func TestGeoIPBadFile(t *testing.T) {
	t.Parallel() // fulcrum -t runs in their own temp dirs
	dir := t.TempDir()
	country, city, _ := writeGeoIPDBs(t, dir)
	empty := filepath.Join(dir, "empty.dat")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ block, line, want string }{
		{"http", "geoip_country " + city, fmt.Sprintf(`invalid GeoIP database %q type:2`, city)},
		{"http", "geoip_city " + country, fmt.Sprintf(`invalid GeoIP City database %q type:1`, country)},
		{"stream", "geoip_org " + country, fmt.Sprintf(`invalid GeoIP database %q type:1`, country)},
		{"http", "geoip_country " + empty, fmt.Sprintf(`GeoIP_open(%q) failed - %s: empty database file`, empty, empty)},
		{"stream", "geoip_city missing.dat", fmt.Sprintf(`GeoIP_open(%q) failed - open %[1]s: no such file or directory`, filepath.Join(dir, "missing.dat"))},
		{"http", "geoip_org /dev/null", `GeoIP_open("/dev/null") failed - /dev/null: not a regular file (a device)`},
		// The module's variables may not be set (nginx 1.22.1: the same message).
		{"stream", "server { listen 127.0.0.1:0; set $geoip_city x; return x; } geoip_country " + country, `the duplicate "geoip_city" variable`},
	}
	for _, tt := range tests {
		conf := filepath.Join(dir, tt.block+".conf")
		src := fmt.Sprintf("events {}\n%s {\n    %s;\n}\n", tt.block, tt.line)
		if err := os.WriteFile(conf, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		r := runFulcrum(t, "-t", "-p", dir, "-c", conf)
		want := fmt.Sprintf("%s in %s:3", tt.want, conf)
		if r.code == 0 || !strings.Contains(r.stderr, want) {
			t.Errorf("%s %s: exit %d\n%s\nwant %q", tt.block, tt.line, r.code, r.stderr, want)
		}
	}
}
