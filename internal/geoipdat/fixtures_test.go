package geoipdat

import (
	"net/netip"

	"fulcrum/internal/testutil"
)

// testCities are the networks of the city fixtures: a US record with DMA
// and area codes, a Latin-1 city name, a record with no region, city or
// postal code, and negative coordinates.
func testCities() []testutil.GeoIPDatNetwork {
	return []testutil.GeoIPDatNetwork{
		{Prefix: netip.MustParsePrefix("10.0.0.0/8"), City: &testutil.GeoIPDatCity{CountryID: 225, Region: "CA", City: "Mountain View", PostalCode: "94043", Latitude: 37.4192, Longitude: -122.0574, DMACode: 807, AreaCode: 650}},
		{Prefix: netip.MustParsePrefix("10.1.0.0/16"), City: &testutil.GeoIPDatCity{CountryID: 50, Region: "01", City: "Z\xfcrich", Latitude: 47.3667, Longitude: 8.55}},
		{Prefix: netip.MustParsePrefix("192.0.2.0/24"), City: &testutil.GeoIPDatCity{CountryID: 10, Latitude: -12.34565, Longitude: -0.00004}},
		{Prefix: netip.MustParsePrefix("2001:db8::/32"), City: &testutil.GeoIPDatCity{CountryID: 225, Region: "NY", City: "New York", PostalCode: "10001", Latitude: 40.7, Longitude: -74, DMACode: 501, AreaCode: 212}},
	}
}

// testOrgs are the networks of the organisation fixtures.
func testOrgs() []testutil.GeoIPDatNetwork {
	return []testutil.GeoIPDatNetwork{
		{Prefix: netip.MustParsePrefix("10.0.0.0/8"), Name: "Example Org"},
		{Prefix: netip.MustParsePrefix("10.2.0.0/16"), Name: "Soci\xe9t\xe9 G\xe9n\xe9rale"},
		{Prefix: netip.MustParsePrefix("203.0.113.0/24"), Name: ""},
		{Prefix: netip.MustParsePrefix("2001:db8::/32"), Name: "AS64500 Example IPv6"},
	}
}

// testCountries are the networks of the country fixtures.
func testCountries() []testutil.GeoIPDatNetwork {
	return []testutil.GeoIPDatNetwork{
		{Prefix: netip.MustParsePrefix("10.0.0.0/8"), CountryID: 225},
		{Prefix: netip.MustParsePrefix("10.3.0.0/16"), CountryID: 10},
		{Prefix: netip.MustParsePrefix("10.4.0.0/16"), CountryID: 0},
		{Prefix: netip.MustParsePrefix("255.255.255.255/32"), CountryID: 2},
		{Prefix: netip.MustParsePrefix("2001:db8::/32"), CountryID: 81},
		{Prefix: netip.MustParsePrefix("::/127"), CountryID: 1},
	}
}
