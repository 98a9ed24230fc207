// Package geoipdat reads MaxMind's legacy GeoIP databases (the .dat files
// of libGeoIP, such as Debian's geoip-database GeoIP.dat and GeoIPv6.dat)
// into memory and answers the lookups nginx's ngx_http_geoip_module and
// ngx_stream_geoip_module make through libGeoIP 1.6: the country of an
// address, its city record, its organisation (or ISP, or AS number) name.
//
// The format, as libGeoIP's GeoIP.c reads it: a binary search tree whose
// nodes are two records (left and right branch) of RecordLength bytes
// each, little-endian, walked from node 0 one address bit at a time, most
// significant first, until a record is at least the database's segment
// value; the file ends with a structure info block (three 0xff bytes, the
// database type and, for the two-segment editions, the segment as three
// little-endian bytes), found in the last 20 bytes.
package geoipdat

import (
	"errors"
	"fmt"
	"net/netip"

	"fulcrum/internal/dbfile"
)

// Type is a database's edition, numbered as libGeoIP's GeoIPDBTypes.
type Type int

// The editions nginx's geoip modules take (and the region editions, whose
// segment the structure info implies).
const (
	CountryEdition        Type = 1
	CityEditionRev1       Type = 2
	RegionEditionRev1     Type = 3
	ISPEdition            Type = 4
	OrgEdition            Type = 5
	CityEditionRev0       Type = 6
	RegionEditionRev0     Type = 7
	ProxyEdition          Type = 8
	ASNumEdition          Type = 9
	NetSpeedEdition       Type = 10
	DomainEdition         Type = 11
	CountryEditionV6      Type = 12
	LargeCountryEdition   Type = 17
	LargeCountryEditionV6 Type = 18
	ASNumEditionV6        Type = 21
	ISPEditionV6          Type = 22
	OrgEditionV6          Type = 23
	DomainEditionV6       Type = 24
	CityEditionRev1V6     Type = 30
	CityEditionRev0V6     Type = 31
)

// libGeoIP's constants for the segment of the one-segment editions and the
// two record lengths.
const (
	countryBegin      = 16776960
	largeCountryBegin = 16515072
	stateBeginRev0    = 16700000
	stateBeginRev1    = 16000000
	standardRecord    = 3
	orgRecord         = 4
	structureInfoMax  = 20
)

// MaxFileSize is the largest database Open reads (256 MiB): far above the
// biggest legacy databases MaxMind published (GeoIPCity.dat took some
// 30 MiB), and a bound on the memory one takes, as Open reads it whole
// (libGeoIP's GEOIP_MEMORY_CACHE, which nginx uses).
const MaxFileSize = 256 << 20

// Errors Open and Parse return. ErrNotRegular and ErrTooLarge are paths
// Open refuses before reading them: not a regular file once symbolic links
// are followed (a device, a FIFO, a directory), or over MaxFileSize.
var (
	ErrNotRegular = errors.New("not a regular file")
	ErrTooLarge   = fmt.Errorf("over the %d MiB a database may take", MaxFileSize>>20)
	ErrEmpty      = errors.New("empty database file")
	ErrTruncated  = errors.New("structure info truncated: the file ends inside it")
)

// DB is a database in memory. It is immutable and safe for concurrent
// lookups.
type DB struct {
	data      []byte
	typ       Type
	segment   uint32 // libGeoIP's databaseSegments[0]
	recordLen int    // bytes per record: 3, or 4 for the org, ISP and domain editions
}

// Open reads the database at path, which must be a regular file of at most
// MaxFileSize bytes.
func Open(path string) (*DB, error) {
	data, err := dbfile.Read(path, MaxFileSize, ErrNotRegular, ErrTooLarge)
	if err != nil {
		return nil, err
	}
	db, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return db, nil
}

// FileHint says how to fix the path of an Open error that refused it
// (ErrNotRegular, ErrTooLarge), for a configuration error; "" for others.
func FileHint(err error) string {
	if errors.Is(err, ErrNotRegular) || errors.Is(err, ErrTooLarge) {
		return fmt.Sprintf("name a legacy GeoIP database file (.dat) of at most %d MiB", MaxFileSize>>20)
	}
	return ""
}

// Parse reads a database from data, which it keeps and which the caller
// must not change. It finds the type and segment as libGeoIP's
// _setup_segments: the last structure info marker within 20 bytes of the
// end, else a country edition.
func Parse(data []byte) (*DB, error) {
	if len(data) == 0 {
		return nil, ErrEmpty
	}
	db := &DB{data: data, typ: CountryEdition, recordLen: standardRecord}
	for i := range structureInfoMax {
		pos := len(data) - 3 - i
		if pos < 0 {
			break
		}
		if data[pos] != 0xff || data[pos+1] != 0xff || data[pos+2] != 0xff {
			continue
		}
		if err := db.structureInfo(data[pos+3:]); err != nil {
			return nil, err
		}
		break
	}
	switch db.typ {
	case CountryEdition, ProxyEdition, NetSpeedEdition, CountryEditionV6:
		db.segment = countryBegin
	case LargeCountryEdition, LargeCountryEditionV6:
		db.segment = largeCountryBegin
	}
	return db, nil
}

// structureInfo reads what follows the marker: the type (libGeoIP reads it
// into a signed char and takes 105 off from 106 up, for databases of April
// 2003 and before) and, for the two-segment editions, the segment.
func (db *DB) structureInfo(info []byte) error {
	if len(info) == 0 {
		return nil // libGeoIP's read fails and the type stays country
	}
	t := Type(int8(info[0]))
	if t >= 106 {
		t -= 105
	}
	db.typ = t
	switch t {
	case RegionEditionRev0:
		db.segment = stateBeginRev0
		return nil
	case RegionEditionRev1:
		db.segment = stateBeginRev1
		return nil
	}
	if !twoSegments(t) {
		return nil
	}
	if len(info) < 4 {
		return ErrTruncated
	}
	db.segment = uint32(info[1]) | uint32(info[2])<<8 | uint32(info[3])<<16
	switch t {
	case OrgEdition, OrgEditionV6, DomainEdition, DomainEditionV6, ISPEdition, ISPEditionV6, 16: // 16: city confidence dist
		db.recordLen = orgRecord
	}
	return nil
}

// twoSegments reports the editions whose structure info gives the segment.
func twoSegments(t Type) bool {
	switch t {
	case CityEditionRev0, CityEditionRev1, OrgEdition, OrgEditionV6, DomainEdition, DomainEditionV6,
		ISPEdition, ISPEditionV6, ASNumEdition, ASNumEditionV6, CityEditionRev0V6, CityEditionRev1V6,
		26, 27, 28, 29, // registrar, user type (and their IPv6 editions)
		32, 33, // net speed rev1 (and IPv6)
		13, 14, 38, // location A, accuracy radius (and IPv6)
		15, 16: // city confidence (and dist)
		return true
	}
	return false
}

// Type is the database's edition.
func (db *DB) Type() Type { return db.typ }

// IPv6 reports whether the edition is an IPv6 one, whose tree is walked
// with 128 bits.
func (db *DB) IPv6() bool {
	switch db.typ {
	case CountryEditionV6, LargeCountryEditionV6, ASNumEditionV6, ISPEditionV6, OrgEditionV6,
		DomainEditionV6, CityEditionRev1V6, CityEditionRev0V6:
		return true
	}
	return false
}

// key is the address as the tree is walked for this database, as nginx's
// ngx_http_geoip_addr and ngx_http_geoip_addr_v6 make it: an IPv4 database
// takes an IPv4 address (IPv4-mapped ones unmapped) and looks up
// 255.255.255.255 (INADDR_NONE) for any other (IPv6, or the invalid
// address of a unix socket); an IPv6 database takes an IPv6 address, IPv4
// ones mapped (::ffff:a.b.c.d), and :: for the invalid address.
func (db *DB) key(addr netip.Addr, buf *[16]byte) []byte {
	if db.IPv6() {
		if addr.IsValid() {
			*buf = addr.As16()
		}
		return buf[:]
	}
	addr = addr.Unmap()
	if !addr.Is4() {
		return append(buf[:0], 0xff, 0xff, 0xff, 0xff)
	}
	a := addr.As4()
	return append(buf[:0], a[:]...)
}

// seek walks the tree for key, as libGeoIP's _GeoIP_seek_record_gl (and its
// _v6 twin): the first record at least the segment. ok is false when a
// node lies past the end of the file or the bits run out (libGeoIP's
// "Error Traversing Database", where it returns 0).
func (db *DB) seek(key []byte) (uint32, bool) {
	rl := db.recordLen
	offset := uint64(0)
	for i := range len(key) * 8 {
		at := uint64(rl) * 2 * offset
		if at+uint64(rl)*2 > uint64(len(db.data)) {
			return 0, false
		}
		rec := db.data[at : at+uint64(rl)*2]
		if key[i>>3]&(0x80>>(i&7)) != 0 {
			rec = rec[rl:]
		}
		var x uint32
		for j := rl - 1; j >= 0; j-- {
			x = x<<8 | uint32(rec[j])
		}
		if x >= db.segment {
			return x, true
		}
		offset = uint64(x)
	}
	return 0, false
}
