// Package mmdb reads MaxMind DB files (GeoLite2/GeoIP2 and other .mmdb
// databases, https://maxmind.github.io/MaxMind-DB/) the way the geoip2
// module's library, libmaxminddb 1.7.1, reads them: a lookup walks the
// search tree for an address and a path of map keys and array indexes
// selects one value of the record found, printed as ngx_http_geoip2_module
// 3.4 prints it.
//
// A DB is immutable once opened and safe for concurrent lookups: the file is
// read once into memory and lookups do not allocate.
package mmdb

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"

	"fulcrum/internal/dbfile"
)

// The errors of Open and Parse, worded as libmaxminddb's MMDB_strerror words
// them (nginx's message is `MMDB_open("FILE") failed - ` and one of these).
var (
	ErrOpen            = errors.New("Error opening the specified MaxMind DB file")
	ErrInvalidMetadata = errors.New("The MaxMind DB file contains invalid metadata")
	ErrUnknownFormat   = errors.New("The MaxMind DB file is in a format this library can't handle (unknown record size or binary format version)")
	ErrCorruptTree     = errors.New("The MaxMind DB file's search tree is corrupt")
	ErrInvalidData     = errors.New("The MaxMind DB file contains invalid data")
)

// metadataMarker starts the metadata section, near the end of the file.
var metadataMarker = []byte("\xab\xcd\xefMaxMind.com")

// metadataMaxSize is how far from the end the marker is looked for.
const metadataMaxSize = 128 * 1024

// dataSeparator is the 16 zero bytes between the search tree and the data.
const dataSeparator = 16

// DB is an opened database.
type DB struct {
	buf        []byte // the whole file
	nodeCount  uint32
	recordSize int // 24, 28 or 32 bits
	nodeBytes  int
	ipVersion  int    // 4 or 6
	dataStart  int    // offset of the data section in buf
	dataEnd    int    // offset of the metadata marker
	ipv4Start  uint32 // the node an IPv4 lookup starts from (IPv6 trees)
	ipv4Depth  int    // the bits walked to reach ipv4Start
	buildEpoch uint64
}

// MaxFileSize is the largest database Open reads (1 GiB): above the biggest
// real ones (MaxMind's GeoIP2 and GeoLite2 databases take from a few MiB to
// a few hundred), and a bound on the memory a database takes, as Open reads
// the whole file.
const MaxFileSize = 1 << 30

// ErrNotRegular and ErrTooLarge are paths Open refuses before reading them
// (wrapped in ErrOpen): a path that is not a regular file once symbolic
// links are followed (a device such as /dev/zero, a FIFO, a directory), and
// a file over MaxFileSize.
var (
	ErrNotRegular = errors.New("not a regular file")
	ErrTooLarge   = fmt.Errorf("over the %d MiB a database may take", MaxFileSize>>20)
)

// Open reads the database at path, which must be a regular file of at most
// MaxFileSize bytes.
func Open(path string) (*DB, error) {
	buf, err := dbfile.Read(path, MaxFileSize, ErrNotRegular, ErrTooLarge)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrOpen, err)
	}
	return Parse(buf)
}

// FileHint says how to fix the path of an Open error that refused it
// (ErrNotRegular, ErrTooLarge), for a configuration error; "" for others.
func FileHint(err error) string {
	if errors.Is(err, ErrNotRegular) || errors.Is(err, ErrTooLarge) {
		return fmt.Sprintf("name a MaxMind DB file (.mmdb) of at most %d MiB", MaxFileSize>>20)
	}
	return ""
}

// Parse reads a database from buf, which it keeps and which the caller must
// not change.
func Parse(buf []byte) (*DB, error) {
	from := max(0, len(buf)-metadataMaxSize)
	i := bytes.LastIndex(buf[from:], metadataMarker)
	if i < 0 {
		return nil, ErrInvalidMetadata
	}
	markerAt := from + i
	db := &DB{buf: buf, dataEnd: markerAt}
	if err := db.readMetadata(markerAt + len(metadataMarker)); err != nil {
		return nil, err
	}
	treeSize := int(db.nodeCount) * db.nodeBytes
	db.dataStart = treeSize + dataSeparator
	if db.dataStart > markerAt {
		return nil, ErrCorruptTree
	}
	db.findIPv4Start()
	return db, nil
}

// readMetadata decodes the metadata map that starts at off.
func (db *DB) readMetadata(off int) error {
	d := decoder{buf: db.buf, base: off, end: len(db.buf)}
	typ, size, pos, err := d.header(off)
	if err != nil || typ != typeMap {
		return ErrInvalidMetadata
	}
	var major, recordSize, ipVersion, nodeCount uint64
	var haveNodes bool
	for range size {
		key, next, err := d.str(pos)
		if err != nil {
			return ErrInvalidMetadata
		}
		var n uint64
		var isNum bool
		vt, vs, vpos, err := d.header(next)
		if err != nil {
			return ErrInvalidMetadata
		}
		if vt == typeUint16 || vt == typeUint32 || vt == typeUint64 {
			n, isNum = d.uint(vpos, vs), true
		}
		switch key {
		case "binary_format_major_version":
			major = n
		case "record_size":
			recordSize = n
		case "ip_version":
			ipVersion = n
		case "node_count":
			nodeCount, haveNodes = n, isNum
		case "build_epoch":
			db.buildEpoch = n
		}
		if pos, err = d.skip(next); err != nil {
			return ErrInvalidMetadata
		}
	}
	if !haveNodes || nodeCount > 1<<32-1 || (ipVersion != 4 && ipVersion != 6) {
		return ErrInvalidMetadata
	}
	if major != 2 || (recordSize != 24 && recordSize != 28 && recordSize != 32) {
		return ErrUnknownFormat
	}
	db.nodeCount, db.recordSize, db.ipVersion = uint32(nodeCount), int(recordSize), int(ipVersion)
	db.nodeBytes = db.recordSize * 2 / 8
	return nil
}

// BuildEpoch is the metadata's build_epoch: when the database was built, in
// seconds since the Unix epoch.
func (db *DB) BuildEpoch() uint64 { return db.buildEpoch }

// findIPv4Start follows 96 zero bits from the root, where an IPv6 tree keeps
// the IPv4 addresses (::a.b.c.d), as libmaxminddb's find_ipv4_start_node.
func (db *DB) findIPv4Start() {
	if db.ipVersion == 4 {
		return
	}
	node := uint32(0)
	depth := 0
	for ; depth < 96 && node < db.nodeCount; depth++ {
		node = db.record(node, 0)
	}
	db.ipv4Start, db.ipv4Depth = node, depth
}

// record reads the left (bit 0) or right (bit 1) record of node.
func (db *DB) record(node uint32, bit int) uint32 {
	b := db.buf[int(node)*db.nodeBytes:]
	switch db.recordSize {
	case 24:
		if bit == 1 {
			b = b[3:]
		}
		return uint32(b[0])<<16 | uint32(b[1])<<8 | uint32(b[2])
	case 28:
		if bit == 0 {
			return uint32(b[3]&0xf0)<<20 | uint32(b[0])<<16 | uint32(b[1])<<8 | uint32(b[2])
		}
		return uint32(b[3]&0x0f)<<24 | uint32(b[4])<<16 | uint32(b[5])<<8 | uint32(b[6])
	default:
		if bit == 1 {
			b = b[4:]
		}
		return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	}
}

// Entry is the record a lookup found: an offset in the data section.
type Entry struct{ off int }

// Lookup finds the record of a, as MMDB_lookup_sockaddr: an IPv4 address is
// looked up in an IPv6 tree as ::a.b.c.d, an IPv4-mapped address
// (::ffff:a.b.c.d) as itself, in the IPv6 tree. It reports false when no
// network holds a, when a is IPv6 and the tree IPv4, or when the tree is
// corrupt.
func (db *DB) Lookup(a netip.Addr) (Entry, bool) {
	if !a.IsValid() {
		return Entry{}, false
	}
	var bytes16 [16]byte
	var bits []byte
	node, depth := uint32(0), 0
	switch {
	case a.Is4():
		b4 := a.As4()
		copy(bytes16[12:], b4[:])
		bits = bytes16[12:]
		if db.ipVersion == 6 {
			node, depth = db.ipv4Start, 0
		}
	case db.ipVersion == 4:
		return Entry{}, false
	default:
		bytes16 = a.As16()
		bits = bytes16[:]
	}
	if a.Is4() && db.ipVersion == 6 && node >= db.nodeCount {
		return db.entry(node)
	}
	for i := depth; i < len(bits)*8 && node < db.nodeCount; i++ {
		bit := int(bits[i/8]>>(7-i%8)) & 1
		node = db.record(node, bit)
	}
	return db.entry(node)
}

// entry turns a record value into the data it points to.
func (db *DB) entry(node uint32) (Entry, bool) {
	if node <= db.nodeCount {
		return Entry{}, false // empty, or the walk ran out of bits inside the tree
	}
	off := db.dataStart + int(node-db.nodeCount) - dataSeparator
	if off < db.dataStart || off >= db.dataEnd {
		return Entry{}, false
	}
	return Entry{off: off}, true
}
