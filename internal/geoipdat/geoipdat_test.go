package geoipdat

import (
	"bufio"
	"bytes"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"fulcrum/internal/geo"
	"fulcrum/internal/testutil"
)

// fixture is a database of the fixtures (testutil.GeoIPDatCities and its siblings) and whether its
// names are asked for in UTF-8.
type fixture struct {
	db   *DB
	utf8 bool
}

func parseFixture(t *testing.T, typ int, nets []testutil.GeoIPDatNetwork, utf8 bool) *fixture {
	t.Helper()
	db, err := Parse(testutil.GeoIPDat(typ, nets))
	if err != nil {
		t.Fatal(err)
	}
	if int(db.Type()) != typ {
		t.Fatalf("type %d, want %d", db.Type(), typ)
	}
	return &fixture{db, utf8}
}

// nginxLine prints what the recordings' return directive prints: the 16
// variables, "|"-separated, empty when not found.
func nginxLine(country, city, org *fixture, addr netip.Addr) string {
	var b []byte
	sep := func() { b = append(b, '|') }
	if c, ok := lookupCountry(country, addr); ok {
		b = append(b, c.Code+"|"+c.Code3+"|"+c.Name...)
	} else {
		b = append(b, "||"...)
	}
	sep()
	r, rok := lookupCity(city, addr)
	field := func(s string) {
		if rok {
			b = append(b, s...)
		}
		sep()
	}
	field(strconv.Itoa(r.AreaCode))
	field(r.ContinentCode)
	field(r.CountryCode)
	field(r.CountryCode3)
	field(r.CountryName)
	field(strconv.Itoa(r.DMACode))
	if rok {
		b = AppendCoordinate(b, r.Latitude)
		sep()
		b = AppendCoordinate(b, r.Longitude)
		sep()
	} else {
		b = append(b, "||"...)
	}
	field(r.Region)
	name, _ := r.RegionName()
	field(name)
	field(r.City)
	field(r.PostalCode)
	if org != nil {
		n, _ := org.db.Name(addr, org.utf8)
		b = append(b, n...)
	}
	return string(b)
}

func lookupCountry(f *fixture, addr netip.Addr) (Country, bool) {
	if f == nil {
		return Country{}, false
	}
	return f.db.Country(addr, f.utf8)
}

func lookupCity(f *fixture, addr netip.Addr) (Record, bool) {
	if f == nil {
		return Record{}, false
	}
	return f.db.City(addr, f.utf8)
}

// TestAgainstNginx compares the lookups with nginx 1.22.1's answers
// through libGeoIP 1.6.12 for the same files (testdata/nginx-*.txt, whose
// headers say how they were recorded): every edition nginx takes, IPv4 and
// IPv6, rev0 and rev1, Latin-1 and UTF-8 names, IPv4 addresses in IPv6
// databases, IPv6 ones in IPv4 databases (looked up as 255.255.255.255)
// and 0.0.0.0 (never looked up).
func TestAgainstNginx(t *testing.T) {
	tests := []struct {
		file               string
		country, city, org func(t *testing.T) *fixture
	}{
		{"nginx-v4.txt",
			func(t *testing.T) *fixture {
				return parseFixture(t, testutil.GeoIPCountry, testutil.GeoIPDatCountries(), false)
			},
			func(t *testing.T) *fixture {
				return parseFixture(t, testutil.GeoIPCityRev1, testutil.GeoIPDatCities(), false)
			},
			func(t *testing.T) *fixture { return parseFixture(t, testutil.GeoIPOrg, testutil.GeoIPDatOrgs(), false) }},
		{"nginx-v6-utf8.txt",
			func(t *testing.T) *fixture {
				return parseFixture(t, testutil.GeoIPCountryV6, testutil.GeoIPDatCountries(), true)
			},
			func(t *testing.T) *fixture {
				return parseFixture(t, testutil.GeoIPCityRev1V6, testutil.GeoIPDatCities(), true)
			},
			func(t *testing.T) *fixture {
				return parseFixture(t, testutil.GeoIPOrgV6, testutil.GeoIPDatOrgs(), true)
			}},
		{"nginx-rev0-asn.txt",
			func(t *testing.T) *fixture {
				return parseFixture(t, testutil.GeoIPCountry, testutil.GeoIPDatCountries(), true)
			},
			func(t *testing.T) *fixture {
				return parseFixture(t, testutil.GeoIPCityRev0, testutil.GeoIPDatCities(), false)
			},
			func(t *testing.T) *fixture {
				return parseFixture(t, testutil.GeoIPASNum, testutil.GeoIPDatOrgs(), false)
			}},
		{"nginx-rev0v6-asnv6.txt", nil,
			func(t *testing.T) *fixture {
				return parseFixture(t, testutil.GeoIPCityRev0V6, testutil.GeoIPDatCities(), false)
			},
			func(t *testing.T) *fixture {
				return parseFixture(t, testutil.GeoIPASNumV6, testutil.GeoIPDatOrgs(), false)
			}},
		{"nginx-isp-utf8.txt", nil, nil,
			func(t *testing.T) *fixture { return parseFixture(t, testutil.GeoIPISP, testutil.GeoIPDatOrgs(), true) }},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			var country, city, org *fixture
			if tt.country != nil {
				country = tt.country(t)
			}
			if tt.city != nil {
				city = tt.city(t)
			}
			if tt.org != nil {
				org = tt.org(t)
			}
			data, err := os.ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			sc := bufio.NewScanner(bytes.NewReader(data))
			for sc.Scan() {
				line := sc.Text()
				if strings.HasPrefix(line, "#") {
					continue
				}
				a, want, _ := strings.Cut(line, " => ")
				// nginx takes the address from X-Forwarded-For only when
				// ngx_parse_addr reads it (not "255.255.255.255"); the
				// client, 127.0.0.1, is looked up otherwise.
				addr, ok := geo.ParseAddr(a)
				if !ok {
					addr = netip.MustParseAddr("127.0.0.1")
				}
				if got := nginxLine(country, city, org, addr); got != want {
					t.Errorf("%s:\n got %q\nwant %q", a, got, want)
				}
				n++
			}
			if n < 10 {
				t.Fatalf("%d lines", n)
			}
		})
	}
}

// TestParseStructure checks the type and segment found at the end of the
// file, as libGeoIP's _setup_segments.
func TestParseStructure(t *testing.T) {
	tests := []struct {
		name    string
		data    []byte
		typ     Type
		segment uint32
		recLen  int
		err     error
	}{
		{"no structure info", []byte{1, 2, 3, 4, 5, 6}, CountryEdition, countryBegin, 3, nil},
		{"country", []byte{0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 1}, CountryEdition, countryBegin, 3, nil},
		{"old numbering", []byte{0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 105 + 11, 0x10, 0, 0}, DomainEdition, 16, 4, nil},
		{"country v6", []byte{0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 12}, CountryEditionV6, countryBegin, 3, nil},
		{"city rev1", []byte{0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 2, 0x34, 0x12, 0}, CityEditionRev1, 0x1234, 3, nil},
		{"org", []byte{0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 5, 1, 0, 0}, OrgEdition, 1, 4, nil},
		{"asnum", []byte{0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 9, 1, 0, 0}, ASNumEdition, 1, 3, nil},
		{"marker at the end", []byte{0, 0, 0xff, 0xff, 0xff}, CountryEdition, countryBegin, 3, nil},
		{"truncated segment", []byte{0, 0, 0xff, 0xff, 0xff, 2, 1}, 0, 0, 0, ErrTruncated},
		{"marker too far from the end", append([]byte{0xff, 0xff, 0xff, 2}, make([]byte, 20)...), CountryEdition, countryBegin, 3, nil},
		{"empty", nil, 0, 0, 0, ErrEmpty},
		{"tiny", []byte{0xff}, CountryEdition, countryBegin, 3, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, err := Parse(tt.data)
			if !errors.Is(err, tt.err) {
				t.Fatalf("error %v, want %v", err, tt.err)
			}
			if err != nil {
				return
			}
			if db.typ != tt.typ || db.segment != tt.segment || db.recordLen != tt.recLen {
				t.Errorf("type %d segment %d record %d, want %d %d %d", db.typ, db.segment, db.recordLen, tt.typ, tt.segment, tt.recLen)
			}
		})
	}
}

// TestOpenRefuses checks that Open reads only regular files of a bounded
// size, with a hint for the configuration error.
func TestOpenRefuses(t *testing.T) {
	dir := t.TempDir()
	if _, err := Open(dir); !errors.Is(err, ErrNotRegular) || FileHint(err) == "" {
		t.Errorf("directory: %v (hint %q)", err, FileHint(err))
	}
	if _, err := Open("/dev/zero"); !errors.Is(err, ErrNotRegular) {
		t.Errorf("/dev/zero: %v", err)
	}
	big := filepath.Join(dir, "big.dat")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(MaxFileSize + 1); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if _, err := Open(big); !errors.Is(err, ErrTooLarge) {
		t.Errorf("big file: %v", err)
	}
	if _, err := Open(filepath.Join(dir, "none.dat")); err == nil || FileHint(err) != "" {
		t.Errorf("missing file: %v", err)
	}
	ok := filepath.Join(dir, "ok.dat")
	testutil.WriteGeoIPDat(t, ok, testutil.GeoIPCountry, testutil.GeoIPDatCountries())
	db, err := Open(ok)
	if err != nil {
		t.Fatal(err)
	}
	if c, found := db.Country(netip.MustParseAddr("10.9.9.9"), false); !found || c.Code != "US" {
		t.Errorf("lookup %+v %v", c, found)
	}
}

// TestAppendCoordinate checks ngx_sprintf's "%.4f" of a float.
func TestAppendCoordinate(t *testing.T) {
	tests := []struct {
		f    float32
		want string
	}{
		{0, "0.0000"}, {37.4192, "37.4192"}, {-122.0574, "-122.0574"}, {8.55, "8.5500"},
		{-0.00004, "-0.0000"}, {0.99999, "1.0000"}, {-179.99999, "-180.0000"}, {180, "180.0000"},
		{float32(float64(1676544)/10000 - 180), "-12.3456"},
	}
	for _, tt := range tests {
		if got := string(AppendCoordinate(nil, tt.f)); got != tt.want {
			t.Errorf("%v: %q, want %q", tt.f, got, tt.want)
		}
	}
}

// TestRegionName checks GeoIP_region_name_by_code's rules: two digits or
// capitals, only the first two count.
func TestRegionName(t *testing.T) {
	tests := []struct {
		cc, region, want string
		ok               bool
	}{
		{"US", "CA", "California", true}, {"CA", "ABC", "Alberta", true}, {"CR", "01", "Alajuela", true},
		{"US", "ca", "", false}, {"US", "C", "", false}, {"US", "", "", false}, {"--", "01", "", false}, {"US", "ZZ", "", false},
	}
	for _, tt := range tests {
		got, ok := RegionName(tt.cc, tt.region)
		if got != tt.want || ok != tt.ok {
			t.Errorf("%s %q: %q %v, want %q %v", tt.cc, tt.region, got, ok, tt.want, tt.ok)
		}
	}
}

// TestWrongEdition: a lookup of another edition's kind finds nothing, as
// libGeoIP's "Invalid database type" answers.
func TestWrongEdition(t *testing.T) {
	country := parseFixture(t, testutil.GeoIPCountry, testutil.GeoIPDatCountries(), false).db
	city := parseFixture(t, testutil.GeoIPCityRev1, testutil.GeoIPDatCities(), false).db
	a := netip.MustParseAddr("10.0.0.1")
	if _, ok := country.City(a, false); ok {
		t.Error("City in a country edition")
	}
	if _, ok := country.Name(a, false); ok {
		t.Error("Name in a country edition")
	}
	if _, ok := city.Country(a, false); ok {
		t.Error("Country in a city edition")
	}
}
