package testutil

import (
	"math"
	"net/netip"
	"os"
	"sort"
	"testing"
)

// Legacy GeoIP database editions (libGeoIP's GeoIPDBTypes) GeoIPDat
// writes.
const (
	GeoIPCountry      = 1
	GeoIPCityRev1     = 2
	GeoIPISP          = 4
	GeoIPOrg          = 5
	GeoIPCityRev0     = 6
	GeoIPASNum        = 9
	GeoIPCountryV6    = 12
	GeoIPASNumV6      = 21
	GeoIPOrgV6        = 23
	GeoIPCityRev1V6   = 30
	GeoIPCityRev0V6   = 31
	geoIPCountryBegin = 16776960
)

// GeoIPDatNetwork is a network of a legacy GeoIP database and its answer:
// CountryID for the country editions, City for the city editions, Name
// for the organisation, ISP and AS number editions. An IPv4 network in an
// IPv6 edition is written at ::ffff:a.b.c.d, where nginx looks IPv4
// clients up.
type GeoIPDatNetwork struct {
	Prefix    netip.Prefix
	CountryID byte
	City      *GeoIPDatCity
	Name      string
}

// GeoIPDatCity is a city record. Strings are written as given (Latin-1 in
// MaxMind's files); DMACode and AreaCode are written by rev1 editions for
// CountryID 225 (US) only, as libGeoIP reads them.
type GeoIPDatCity struct {
	CountryID                byte
	Region, City, PostalCode string
	Latitude, Longitude      float64
	DMACode, AreaCode        int
}

// WriteGeoIPDat writes a legacy GeoIP database of edition typ with nets at
// path, for tests (see GeoIPDat).
func WriteGeoIPDat(t testing.TB, path string, typ int, nets []GeoIPDatNetwork) {
	t.Helper()
	if err := os.WriteFile(path, GeoIPDat(typ, nets), 0o644); err != nil {
		t.Fatal(err)
	}
}

// GeoIPDat returns a legacy GeoIP database (libGeoIP's .dat format) of
// edition typ holding nets: the search tree (a longer network inside a
// shorter one overrides it there), the records of the city and name
// editions after it, and the structure info at the end. Networks of
// length 0 are not supported.
func GeoIPDat(typ int, nets []GeoIPDatNetwork) []byte {
	v6 := typ == GeoIPCountryV6 || typ == GeoIPASNumV6 || typ == GeoIPOrgV6 || typ == GeoIPCityRev1V6 || typ == GeoIPCityRev0V6
	country := typ == GeoIPCountry || typ == GeoIPCountryV6
	recLen := 3
	if typ == GeoIPOrg || typ == GeoIPISP || typ == GeoIPOrgV6 {
		recLen = 4
	}
	// The records area starts with one byte, so that no record is at the
	// segment itself (libGeoIP's "not found").
	records := []byte{0}
	leaves := make([]uint32, len(nets)) // a leaf: the offset in records, or the country id
	for i, n := range nets {
		switch {
		case country:
			leaves[i] = uint32(n.CountryID)
		case n.City != nil:
			leaves[i] = uint32(len(records))
			records = appendGeoIPCity(records, typ, n.City)
		default:
			leaves[i] = uint32(len(records))
			records = append(append(records, n.Name...), 0)
		}
	}
	tree := buildGeoIPTree(nets, v6)
	segment := uint32(len(tree))
	if country {
		segment = geoIPCountryBegin
	}
	var out []byte
	for _, node := range tree {
		for _, s := range node {
			v := uint32(s.child)
			if s.leaf {
				v = segment + leaves[s.net]
			} else if s.child == 0 {
				v = segment // nothing here
			}
			for j := range recLen {
				out = append(out, byte(v>>(8*j)))
			}
		}
	}
	if !country {
		out = append(out, records...)
	}
	out = append(out, 0xff, 0xff, 0xff, byte(typ))
	if !country {
		out = append(out, byte(segment), byte(segment>>8), byte(segment>>16))
	}
	return out
}

// geoIPSlot is one branch of a tree node: a child node (child > 0, the
// root never being a child), a network's leaf, or nothing.
type geoIPSlot struct {
	child int
	leaf  bool
	net   int
}

// buildGeoIPTree makes the search tree of nets, shorter networks first.
func buildGeoIPTree(nets []GeoIPDatNetwork, v6 bool) [][2]geoIPSlot {
	order := make([]int, len(nets))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return nets[order[a]].Prefix.Bits() < nets[order[b]].Prefix.Bits() })
	tree := [][2]geoIPSlot{{}}
	for _, i := range order {
		p := nets[i].Prefix.Masked()
		addr, bits := p.Addr(), p.Bits()
		if v6 && addr.Is4() {
			addr, bits = netip.AddrFrom16(addr.As16()), bits+96
		}
		key := addr.AsSlice()
		node := 0
		for d := range bits {
			bit := key[d>>3] >> (7 - d&7) & 1
			if d == bits-1 {
				tree[node][bit] = geoIPSlot{leaf: true, net: i}
				break
			}
			s := tree[node][bit]
			if s.child == 0 {
				tree = append(tree, [2]geoIPSlot{s, s}) // a leaf above is pushed down
				tree[node][bit] = geoIPSlot{child: len(tree) - 1}
			}
			node = tree[node][bit].child
		}
	}
	return tree
}

// appendGeoIPCity appends a city record as libGeoIP's _extract_record
// reads it.
func appendGeoIPCity(b []byte, typ int, c *GeoIPDatCity) []byte {
	b = append(b, c.CountryID)
	for _, s := range []string{c.Region, c.City, c.PostalCode} {
		b = append(append(b, s...), 0)
	}
	for _, f := range []float64{c.Latitude, c.Longitude} {
		v := uint32(math.Round((f + 180) * 10000))
		b = append(b, byte(v), byte(v>>8), byte(v>>16))
	}
	if (typ == GeoIPCityRev1 || typ == GeoIPCityRev1V6) && c.CountryID == 225 {
		v := uint32(c.DMACode*1000 + c.AreaCode)
		b = append(b, byte(v), byte(v>>8), byte(v>>16))
	}
	return b
}

// GeoIPDatCities are networks for city editions, shared by the tests of
// geoipdat, daemon and integration (whose nginx recordings use them): a US record with DMA
// and area codes, a Latin-1 city name, a record with no region, city or
// postal code, and negative coordinates.
func GeoIPDatCities() []GeoIPDatNetwork {
	return []GeoIPDatNetwork{
		{Prefix: netip.MustParsePrefix("10.0.0.0/8"), City: &GeoIPDatCity{CountryID: 225, Region: "CA", City: "Mountain View", PostalCode: "94043", Latitude: 37.4192, Longitude: -122.0574, DMACode: 807, AreaCode: 650}},
		{Prefix: netip.MustParsePrefix("10.1.0.0/16"), City: &GeoIPDatCity{CountryID: 50, Region: "01", City: "Z\xfcrich", Latitude: 47.3667, Longitude: 8.55}},
		{Prefix: netip.MustParsePrefix("192.0.2.0/24"), City: &GeoIPDatCity{CountryID: 10, Latitude: -12.34565, Longitude: -0.00004}},
		{Prefix: netip.MustParsePrefix("2001:db8::/32"), City: &GeoIPDatCity{CountryID: 225, Region: "NY", City: "New York", PostalCode: "10001", Latitude: 40.7, Longitude: -74, DMACode: 501, AreaCode: 212}},
	}
}

// GeoIPDatOrgs are networks for the organisation, ISP and AS number
// editions: a Latin-1 name, an empty one, an IPv6 network.
func GeoIPDatOrgs() []GeoIPDatNetwork {
	return []GeoIPDatNetwork{
		{Prefix: netip.MustParsePrefix("10.0.0.0/8"), Name: "Example Org"},
		{Prefix: netip.MustParsePrefix("10.2.0.0/16"), Name: "Soci\xe9t\xe9 G\xe9n\xe9rale"},
		{Prefix: netip.MustParsePrefix("203.0.113.0/24"), Name: ""},
		{Prefix: netip.MustParsePrefix("2001:db8::/32"), Name: "AS64500 Example IPv6"},
	}
}

// GeoIPDatCountries are networks for the country editions: a longer
// network inside a shorter one, id 0 (no country), 255.255.255.255 (what
// nginx looks up for an IPv6 client in an IPv4 database), IPv6.
func GeoIPDatCountries() []GeoIPDatNetwork {
	return []GeoIPDatNetwork{
		{Prefix: netip.MustParsePrefix("10.0.0.0/8"), CountryID: 225},
		{Prefix: netip.MustParsePrefix("10.3.0.0/16"), CountryID: 10},
		{Prefix: netip.MustParsePrefix("10.4.0.0/16"), CountryID: 0},
		{Prefix: netip.MustParsePrefix("255.255.255.255/32"), CountryID: 2},
		{Prefix: netip.MustParsePrefix("2001:db8::/32"), CountryID: 81},
		{Prefix: netip.MustParsePrefix("::/127"), CountryID: 1},
	}
}
