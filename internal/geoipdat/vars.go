package geoipdat

import (
	"net/netip"
	"strconv"
)

// Databases are the opened databases of an http or stream block's
// geoip_country, geoip_city and geoip_org (nil: not configured) and their
// "utf8" flags.
type Databases struct {
	Country, City, Org             *DB
	CountryUTF8, CityUTF8, OrgUTF8 bool
}

// Lookup appends the value of one of the module's variables for addr (see
// DB.key for the addresses nginx looks up); ok is false when nginx's
// variable is not found.
type Lookup func(dst []byte, addr netip.Addr) ([]byte, bool)

// VariableNames are the variables of ngx_http_geoip_module and
// ngx_stream_geoip_module, without "$".
var VariableNames = []string{
	"geoip_country_code", "geoip_country_code3", "geoip_country_name",
	"geoip_area_code", "geoip_city_continent_code", "geoip_city_country_code",
	"geoip_city_country_code3", "geoip_city_country_name", "geoip_dma_code",
	"geoip_latitude", "geoip_longitude", "geoip_region", "geoip_region_name",
	"geoip_city", "geoip_postal_code", "geoip_org",
}

// Variable returns the lookup of the variable name (one of
// VariableNames), as ngx_http_geoip_country_variable, _org_variable,
// _city_variable, _region_name_variable, _city_float_variable and
// _city_int_variable: a variable whose database is not configured is
// never found; a city string field libGeoIP leaves NULL (empty in the
// file) is not found; the DMA and area codes print 0 when absent. nil for
// an unknown name.
func (d *Databases) Variable(name string) Lookup {
	switch name {
	case "geoip_country_code", "geoip_country_code3", "geoip_country_name":
		return d.countryVar(name)
	case "geoip_org":
		return func(dst []byte, addr netip.Addr) ([]byte, bool) {
			if d.Org == nil {
				return dst, false
			}
			s, ok := d.Org.Name(addr, d.OrgUTF8)
			return append(dst, s...), ok
		}
	}
	field := cityField(name)
	if field == nil {
		return nil
	}
	return func(dst []byte, addr netip.Addr) ([]byte, bool) {
		if d.City == nil {
			return dst, false
		}
		r, ok := d.City.City(addr, d.CityUTF8)
		if !ok {
			return dst, false
		}
		return field(dst, &r)
	}
}

func (d *Databases) countryVar(name string) Lookup {
	return func(dst []byte, addr netip.Addr) ([]byte, bool) {
		if d.Country == nil {
			return dst, false
		}
		c, ok := d.Country.Country(addr, d.CountryUTF8)
		if !ok {
			return dst, false
		}
		switch name {
		case "geoip_country_code":
			return append(dst, c.Code...), true
		case "geoip_country_code3":
			return append(dst, c.Code3...), true
		}
		return append(dst, c.Name...), true
	}
}

// cityField is the value of a city variable in a record.
func cityField(name string) func(dst []byte, r *Record) ([]byte, bool) {
	str := func(get func(r *Record) string) func(dst []byte, r *Record) ([]byte, bool) {
		return func(dst []byte, r *Record) ([]byte, bool) {
			s := get(r)
			return append(dst, s...), s != ""
		}
	}
	switch name {
	case "geoip_area_code":
		return func(dst []byte, r *Record) ([]byte, bool) { return strconv.AppendInt(dst, int64(r.AreaCode), 10), true }
	case "geoip_dma_code":
		return func(dst []byte, r *Record) ([]byte, bool) { return strconv.AppendInt(dst, int64(r.DMACode), 10), true }
	case "geoip_latitude":
		return func(dst []byte, r *Record) ([]byte, bool) { return AppendCoordinate(dst, r.Latitude), true }
	case "geoip_longitude":
		return func(dst []byte, r *Record) ([]byte, bool) { return AppendCoordinate(dst, r.Longitude), true }
	case "geoip_region_name":
		return func(dst []byte, r *Record) ([]byte, bool) {
			s, ok := r.RegionName()
			return append(dst, s...), ok
		}
	case "geoip_city_continent_code":
		return str(func(r *Record) string { return r.ContinentCode })
	case "geoip_city_country_code":
		return str(func(r *Record) string { return r.CountryCode })
	case "geoip_city_country_code3":
		return str(func(r *Record) string { return r.CountryCode3 })
	case "geoip_city_country_name":
		return str(func(r *Record) string { return r.CountryName })
	case "geoip_region":
		return str(func(r *Record) string { return r.Region })
	case "geoip_city":
		return str(func(r *Record) string { return r.City })
	case "geoip_postal_code":
		return str(func(r *Record) string { return r.PostalCode })
	}
	return nil
}
