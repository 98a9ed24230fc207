package geoipdat

import (
	"net/netip"
	"sort"
	"strconv"
)

// country is one row of libGeoIP's country tables.
type country struct {
	code, code3, continent, name, utf8Name string
}

// regionName is one answer of libGeoIP's GeoIP_region_name_by_code: key is
// the country code and the two-character region code.
type regionName struct {
	key, name string
}

// Country is the country of a country edition's answer: its codes and
// name; the zero value is no country.
type Country struct {
	// Code, Code3 and Name are libGeoIP's GeoIP_country_code,
	// GeoIP_country_code3 and GeoIP_country_name (or, with UTF-8 names,
	// GeoIP_utf8_country_name) of the id.
	Code, Code3, Name string
}

// Country looks addr up in a country edition (IPv4 or IPv6, see key), as
// GeoIP_country_code_by_ipnum and its siblings: ok is false for no answer
// (id 0, an address outside the file's networks, or 0.0.0.0, which
// libGeoIP never looks up), or a database of another edition. utf8 picks
// the UTF-8 names (nginx's "utf8" parameter).
func (db *DB) Country(addr netip.Addr, utf8 bool) (Country, bool) {
	switch db.typ {
	case CountryEdition, LargeCountryEdition, ProxyEdition, NetSpeedEdition, CountryEditionV6, LargeCountryEditionV6:
	default:
		return Country{}, false
	}
	var buf [16]byte
	key := db.key(addr, &buf)
	if !db.IPv6() && key[0]|key[1]|key[2]|key[3] == 0 {
		return Country{}, false
	}
	x, ok := db.seek(key)
	if !ok {
		return Country{}, false
	}
	id := int64(x) - int64(db.segment)
	if id <= 0 || id >= int64(len(countries)) {
		return Country{}, false
	}
	c := &countries[id]
	name := c.name
	if utf8 {
		name = c.utf8Name
	}
	return Country{Code: c.code, Code3: c.code3, Name: name}, true
}

// Record is a city edition's answer, libGeoIP's GeoIPRecord. An empty
// string is a field the record leaves out (NULL in libGeoIP, for which
// nginx's variable is not found).
type Record struct {
	ContinentCode, CountryCode, CountryCode3, CountryName string
	Region, City, PostalCode                              string
	// Latitude and Longitude are single precision, as GeoIPRecord's.
	Latitude, Longitude float32
	// DMACode and AreaCode come from rev1 editions for the United States,
	// else 0.
	DMACode, AreaCode int
}

// RegionName is libGeoIP's GeoIP_region_name_by_code for the record's
// country and region; ok is false when libGeoIP knows no name.
func (r *Record) RegionName() (string, bool) {
	return RegionName(r.CountryCode, r.Region)
}

// RegionName is libGeoIP's GeoIP_region_name_by_code: the name of a
// region of a country. Only the region code's first two characters count,
// and both must be digits or capital letters.
func RegionName(countryCode, region string) (string, bool) {
	if len(region) < 2 || !regionChar(region[0]) || !regionChar(region[1]) {
		return "", false
	}
	key := countryCode + region[:2]
	i := sort.Search(len(regionNames), func(i int) bool { return regionNames[i].key >= key })
	if i < len(regionNames) && regionNames[i].key == key {
		return regionNames[i].name, true
	}
	return "", false
}

func regionChar(c byte) bool { return '0' <= c && c <= '9' || 'A' <= c && c <= 'Z' }

// City looks addr up in a city edition, as GeoIP_record_by_ipnum (or
// _v6) and its _extract_record: ok is false for no record or a database
// of another edition. utf8 converts the city name from Latin-1 and picks
// the UTF-8 country name.
func (db *DB) City(addr netip.Addr, utf8 bool) (Record, bool) {
	switch db.typ {
	case CityEditionRev0, CityEditionRev1, CityEditionRev0V6, CityEditionRev1V6:
	default:
		return Record{}, false
	}
	var buf [16]byte
	x, ok := db.seek(db.key(addr, &buf))
	if !ok || x == db.segment {
		return Record{}, false
	}
	at := uint64(x) + uint64(2*db.recordLen-1)*uint64(db.segment)
	if at >= uint64(len(db.data)) {
		return Record{}, false
	}
	return db.extract(db.data[at:], utf8)
}

// extract decodes a city record: the country id, region, city and postal
// code (NUL-terminated), latitude and longitude (three little-endian bytes
// each, in 1/10000 degree from -180), and for rev1 and the United States
// the DMA and area codes (three bytes, dma*1000+area). A record the file
// ends inside is no record.
func (db *DB) extract(b []byte, utf8 bool) (Record, bool) {
	c := &countries[b[0]]
	r := Record{ContinentCode: c.continent, CountryCode: c.code, CountryCode3: c.code3, CountryName: c.name}
	if utf8 {
		r.CountryName = c.utf8Name
	}
	b = b[1:]
	var strs [3]string
	for i := range strs {
		n := indexNUL(b)
		if n < 0 {
			return Record{}, false
		}
		strs[i], b = string(b[:n]), b[n+1:]
	}
	r.Region, r.City, r.PostalCode = strs[0], strs[1], strs[2]
	if utf8 {
		r.City = latin1ToUTF8(r.City)
	}
	if len(b) < 6 {
		return Record{}, false
	}
	r.Latitude = float32(float64(le24(b))/10000 - 180)
	r.Longitude = float32(float64(le24(b[3:]))/10000 - 180)
	if (db.typ == CityEditionRev1 || db.typ == CityEditionRev1V6) && r.CountryCode == "US" {
		if len(b) < 9 {
			return Record{}, false
		}
		combo := int(le24(b[6:]))
		r.DMACode, r.AreaCode = combo/1000, combo%1000
	}
	return r, true
}

// Name looks addr up in an organisation, ISP, domain or AS number edition,
// as GeoIP_name_by_ipnum (or _v6): the NUL-terminated name the record
// points at. ok is false for no record or a database of another edition.
// utf8 converts the name from Latin-1.
func (db *DB) Name(addr netip.Addr, utf8 bool) (string, bool) {
	switch db.typ {
	case OrgEdition, ISPEdition, DomainEdition, ASNumEdition, OrgEditionV6, ISPEditionV6, DomainEditionV6, ASNumEditionV6:
	default:
		return "", false
	}
	var buf [16]byte
	x, ok := db.seek(db.key(addr, &buf))
	if !ok || x == db.segment {
		return "", false
	}
	at := uint64(x) + uint64(2*db.recordLen-1)*uint64(db.segment)
	if at >= uint64(len(db.data)) {
		return "", false
	}
	b := db.data[at:]
	if n := indexNUL(b); n >= 0 {
		b = b[:n]
	}
	if utf8 {
		return latin1ToUTF8(string(b)), true
	}
	return string(b), true
}

func indexNUL(b []byte) int {
	for i, c := range b {
		if c == 0 {
			return i
		}
	}
	return -1
}

func le24(b []byte) uint32 { return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 }

// latin1ToUTF8 is libGeoIP's _GeoIP_iso_8859_1__utf8: every byte is a
// Latin-1 character.
func latin1ToUTF8(s string) string {
	ascii := true
	for i := range len(s) {
		if s[i] >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		return s
	}
	out := make([]rune, len(s))
	for i := range len(s) {
		out[i] = rune(s[i])
	}
	return string(out)
}

// AppendCoordinate appends a latitude or longitude as nginx prints it,
// ngx_sprintf's "%.4f" of the float widened to a double: the integer part,
// and four decimals rounded half up (a fraction that rounds to 1 carries).
func AppendCoordinate(dst []byte, f float32) []byte {
	v := float64(f)
	if v < 0 {
		dst = append(dst, '-')
		v = -v
	}
	whole := uint64(int64(v))
	frac := uint64((v-float64(whole))*10000 + 0.5)
	if frac == 10000 {
		whole++
		frac = 0
	}
	dst = strconv.AppendUint(dst, whole, 10)
	dst = append(dst, '.')
	for d := uint64(1000); d > 0; d /= 10 {
		dst = append(dst, byte('0'+frac/d%10))
	}
	return dst
}
