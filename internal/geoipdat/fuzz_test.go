package geoipdat

import (
	"net/netip"
	"testing"

	"fulcrum/internal/testutil"
)

// FuzzOpen: no file, however crafted (records pointing past the end or
// back up the tree, a structure info cut short, strings without their
// NUL), panics Parse or a lookup, or has a walk go on for more than the
// address's bits.
func FuzzOpen(f *testing.F) {
	f.Add(testutil.GeoIPDat(testutil.GeoIPCountry, testutil.GeoIPDatCountries()), []byte{10, 3, 0, 1})
	f.Add(testutil.GeoIPDat(testutil.GeoIPCityRev1V6, testutil.GeoIPDatCities()), []byte{0x20, 1, 0xd, 0xb8, 15: 1})
	f.Add(testutil.GeoIPDat(testutil.GeoIPOrg, testutil.GeoIPDatOrgs()), []byte{10, 2, 0, 1})
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 2, 1, 0, 0}, []byte{1, 2, 3, 4})
	f.Fuzz(func(t *testing.T, data, addr []byte) {
		db, err := Parse(data)
		if err != nil {
			return
		}
		a, _ := netip.AddrFromSlice(addr)
		for _, utf8 := range []bool{false, true} {
			db.Country(a, utf8)
			if r, ok := db.City(a, utf8); ok {
				r.RegionName()
				AppendCoordinate(nil, r.Latitude)
			}
			db.Name(a, utf8)
		}
	})
}
