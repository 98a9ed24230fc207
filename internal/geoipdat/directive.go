package geoipdat

import "fmt"

// Kind is what an nginx directive looks up in its database.
type Kind int

// The directives of ngx_http_geoip_module and ngx_stream_geoip_module.
const (
	KindCountry Kind = iota // geoip_country
	KindCity                // geoip_city
	KindOrg                 // geoip_org
)

// Takes reports whether the directive of kind k takes the edition t, as
// ngx_http_geoip_country, _city and _org check databaseType.
func (k Kind) Takes(t Type) bool {
	switch k {
	case KindCountry:
		return t == CountryEdition || t == CountryEditionV6
	case KindCity:
		return t == CityEditionRev0 || t == CityEditionRev1 || t == CityEditionRev0V6 || t == CityEditionRev1V6
	case KindOrg:
		switch t {
		case ISPEdition, OrgEdition, DomainEdition, ASNumEdition, ISPEditionV6, OrgEditionV6, DomainEditionV6, ASNumEditionV6:
			return true
		}
	}
	return false
}

// OpenFor opens the database of a directive of kind k, with nginx's
// messages: `GeoIP_open("path") failed - reason` for a file that does not
// open or parse, `invalid GeoIP database "path" type:N` (geoip_city's
// "invalid GeoIP City database") for an edition the directive does not
// take.
func OpenFor(path string, k Kind) (*DB, error) {
	db, err := Open(path)
	if err != nil {
		return nil, fmt.Errorf("GeoIP_open(%q) failed - %w", path, err)
	}
	if !k.Takes(db.Type()) {
		what := "GeoIP"
		if k == KindCity {
			what = "GeoIP City"
		}
		return nil, fmt.Errorf("invalid %s database %q type:%d", what, path, db.Type())
	}
	return db, nil
}

// Source is the database a geoip_country, geoip_city or geoip_org
// directive names: the file, its "utf8" flag, and where the directive is
// ("nginx.conf:12"), for messages. A nil Source is a directive not given.
type Source struct {
	File  string
	UTF8  bool
	Where string
}

// OpenDatabases opens the databases of a block's three directives, each
// with OpenFor's checks and messages, followed by " in " and the
// directive's place (and how to fix a path Open refuses).
func OpenDatabases(country, city, org *Source) (*Databases, error) {
	d := &Databases{}
	for _, f := range []struct {
		src  *Source
		kind Kind
		db   **DB
		utf8 *bool
	}{
		{country, KindCountry, &d.Country, &d.CountryUTF8},
		{city, KindCity, &d.City, &d.CityUTF8},
		{org, KindOrg, &d.Org, &d.OrgUTF8},
	} {
		if f.src == nil {
			continue
		}
		db, err := OpenFor(f.src.File, f.kind)
		if err != nil {
			if hint := FileHint(err); hint != "" {
				return nil, fmt.Errorf("%w in %s, %s", err, f.src.Where, hint)
			}
			return nil, fmt.Errorf("%w in %s", err, f.src.Where)
		}
		*f.db, *f.utf8 = db, f.src.UTF8
	}
	return d, nil
}
