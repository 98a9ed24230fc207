package mmdb

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fulcrum/internal/testutil"
)

// testNets is the database the nginx recording used (nginx 1.22.1 with
// Debian's libnginx-mod-http-geoip2 3.4 and libmaxminddb 1.7.1, every
// variable with source=$arg_ip, answered with return 200).
func testNets() []testutil.MMDBNetwork {
	return []testutil.MMDBNetwork{
		{Prefix: netip.MustParsePrefix("10.0.0.0/8"), Value: testutil.MMDBMap{
			{Key: "country", Value: testutil.MMDBMap{{Key: "iso_code", Value: "DE"}, {Key: "geoname_id", Value: uint32(2921044)}, {Key: "names", Value: testutil.MMDBMap{{Key: "en", Value: "Germany"}, {Key: "de", Value: "Deutschland"}}}}},
			{Key: "location", Value: testutil.MMDBMap{{Key: "latitude", Value: 51.2993}, {Key: "longitude", Value: -9.490000049}, {Key: "accuracy_radius", Value: uint16(100)}, {Key: "f", Value: float32(1.5)}, {Key: "neg", Value: -0.000004}, {Key: "round", Value: 2.999999}}},
			{Key: "flags", Value: testutil.MMDBMap{{Key: "eu", Value: true}, {Key: "anon", Value: false}}},
			{Key: "nums", Value: testutil.MMDBMap{{Key: "i32", Value: int32(-42)}, {Key: "u64", Value: uint64(18446744073709551615)}, {Key: "u128", Value: testutil.MMDBUint128{0: 0xab, 15: 1}}, {Key: "bytes", Value: []byte("raw")}, {Key: "zero", Value: uint32(0)}, {Key: "empty", Value: ""}}},
			{Key: "subdivisions", Value: []any{testutil.MMDBMap{{Key: "iso_code", Value: "BE"}}, testutil.MMDBMap{{Key: "iso_code", Value: "BY"}}}},
		}},
		{Prefix: netip.MustParsePrefix("10.1.0.0/16"), Value: testutil.MMDBMap{{Key: "country", Value: testutil.MMDBMap{{Key: "iso_code", Value: "FR"}}}}},
		{Prefix: netip.MustParsePrefix("2001:db8::/32"), Value: testutil.MMDBMap{{Key: "country", Value: testutil.MMDBMap{{Key: "iso_code", Value: "JP"}}}}},
		{Prefix: netip.MustParsePrefix("127.0.0.0/8"), Value: testutil.MMDBMap{{Key: "country", Value: testutil.MMDBMap{{Key: "iso_code", Value: "LO"}}}}},
	}
}

// TestValues checks every value type and path rule against what nginx
// printed for the same database. u128 is the exception: the module prints
// 34 characters into a 20-byte buffer, and nginx answered garbage
// ("0xab000000000000000010.2.3.40000"); fulcrum prints what the module means.
func TestValues(t *testing.T) {
	tests := []struct {
		path  string // the elements separated by "|"
		want  string
		found bool
	}{
		{"country|iso_code", "DE", true},
		{"country|names|en", "Germany", true},
		{"country|geoname_id", "2921044", true},
		{"location|latitude", "51.29930", true},
		{"location|longitude", "-9.49000", true},
		{"location|accuracy_radius", "100", true},
		{"location|f", "1.50000", true},
		{"location|neg", "-0.00000", true},
		{"location|round", "3.00000", true},
		{"flags|eu", "1", true},
		{"flags|anon", "0", true},
		{"nums|i32", "-42", true},
		{"nums|u64", "18446744073709551615", true},
		{"nums|u128", "0xab000000000000000000000000000001", true},
		{"nums|bytes", "raw", true},
		{"nums|zero", "0", true},
		{"nums|empty", "", true}, // found: the default does not apply
		{"country", "", false},   // a map
		{"country|names", "", false},
		{"subdivisions|0|iso_code", "BE", true},
		{"subdivisions|1|iso_code", "BY", true},
		{"subdivisions|-1|iso_code", "BY", true},
		{"subdivisions|-2|iso_code", "BE", true},
		{"subdivisions|-3|iso_code", "", false},
		{"subdivisions|2|iso_code", "", false},
		{"subdivisions|+1|iso_code", "BY", true},
		{"subdivisions| 1|iso_code", "BY", true}, // strtol skips white space
		{"subdivisions|1x|iso_code", "", false},
		{"subdivisions||iso_code", "BE", true}, // "": strtol reads 0
		{"country|iso_code|more", "", false},
		{"", "", false},
		{"nothere", "", false},
	}
	for _, size := range []int{24, 28, 32} {
		db, err := Parse(testutil.MMDB(testutil.MMDBOptions{RecordSize: size, BuildEpoch: 1700000000}, testNets()))
		if err != nil {
			t.Fatal(err)
		}
		if db.BuildEpoch() != 1700000000 {
			t.Errorf("build epoch %d", db.BuildEpoch())
		}
		e, ok := db.Lookup(netip.MustParseAddr("10.2.3.4"))
		if !ok {
			t.Fatalf("record size %d: 10.2.3.4 not found", size)
		}
		for _, tt := range tests {
			var path []string // "|" separates the elements, so that "" and " 1" are elements
			if tt.path != "" {
				path = strings.Split(tt.path, "|")
			}
			got, found := db.Append([]byte("x"), e, path)
			if string(got) != "x"+tt.want || found != tt.found {
				t.Errorf("record size %d, %q: %q %v, want %q %v", size, path, got, found, "x"+tt.want, tt.found)
			}
		}
	}
}

// TestLookup checks which network an address finds: the most specific,
// IPv4 at ::a.b.c.d of an IPv6 tree, IPv4-mapped addresses as IPv6 (not
// found, as nginx answered for source=::ffff:10.2.3.4), and an IPv6
// address in an IPv4 database not found.
func TestLookup(t *testing.T) {
	db, err := Parse(testutil.MMDB(testutil.MMDBOptions{}, testNets()))
	if err != nil {
		t.Fatal(err)
	}
	db4, err := Parse(testutil.MMDB(testutil.MMDBOptions{IPVersion: 4, RecordSize: 28}, testNets()[:2]))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		db   *DB
		addr string
		want string // country iso_code; "" not found
	}{
		{db, "10.2.3.4", "DE"},
		{db, "10.1.2.3", "FR"},
		{db, "10.255.255.255", "DE"},
		{db, "11.0.0.0", ""},
		{db, "192.0.2.1", ""},
		{db, "127.0.0.1", "LO"},
		{db, "::10.2.3.4", "DE"},
		{db, "::ffff:10.2.3.4", ""},
		{db, "2001:db8::1", "JP"},
		{db, "2001:db9::1", ""},
		{db4, "10.1.2.3", "FR"},
		{db4, "10.2.3.4", "DE"},
		{db4, "9.0.0.1", ""},
		{db4, "2001:db8::1", ""},
	}
	for _, tt := range tests {
		e, ok := tt.db.Lookup(netip.MustParseAddr(tt.addr))
		got := ""
		if ok {
			v, _ := tt.db.Append(nil, e, []string{"country", "iso_code"})
			got = string(v)
		}
		if got != tt.want {
			t.Errorf("%s: %q, want %q", tt.addr, got, tt.want)
		}
	}
	if _, ok := db.Lookup(netip.Addr{}); ok {
		t.Error("the zero address found a record")
	}
}

// TestOpenErrors checks the errors, worded as libmaxminddb's (nginx:
// MMDB_open("...") failed - Error opening the specified MaxMind DB file,
// and ... contains invalid metadata for 100 random bytes).
func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := Open(filepath.Join(dir, "none.mmdb")); !errors.Is(err, ErrOpen) {
		t.Errorf("missing file: %v", err)
	}
	good := testutil.MMDB(testutil.MMDBOptions{}, testNets())
	marker := strings.LastIndex(string(good), "MaxMind.com")
	tests := []struct {
		name string
		buf  []byte
		want error
	}{
		{"garbage", []byte("not a database at all, and long enough to look for a marker"), ErrInvalidMetadata},
		{"empty", nil, ErrInvalidMetadata},
		{"metadata cut", good[:marker+len("MaxMind.com")+3], ErrInvalidMetadata},
		{"tree cut", good[len(good)-(len(good)-marker+3)-20:], ErrCorruptTree},
	}
	for _, tt := range tests {
		if _, err := Parse(tt.buf); !errors.Is(err, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
		}
	}
	path := filepath.Join(dir, "ok.mmdb")
	if err := os.WriteFile(path, good, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(path); err != nil {
		t.Errorf("good file: %v", err)
	}
}

// TestCorruptData checks that truncated data sections never panic: every
// prefix of a database either fails to parse or answers lookups.
func TestCorruptData(t *testing.T) {
	good := testutil.MMDB(testutil.MMDBOptions{}, testNets())
	marker := strings.LastIndex(string(good), "\xab\xcd\xefMaxMind.com")
	meta := good[marker:]
	for cut := 0; cut < marker; cut++ {
		buf := append(append([]byte{}, good[:cut]...), meta...)
		db, err := Parse(buf)
		if err != nil {
			continue
		}
		for _, a := range []string{"10.2.3.4", "10.1.2.3", "2001:db8::1"} {
			if e, ok := db.Lookup(netip.MustParseAddr(a)); ok {
				db.Append(nil, e, []string{"subdivisions", "1", "iso_code"})
				db.Append(nil, e, []string{"nums", "u128"})
			}
		}
	}
}

// TestAppendAllocs: a lookup and a value allocate nothing.
func TestAppendAllocs(t *testing.T) {
	db, err := Parse(testutil.MMDB(testutil.MMDBOptions{}, testNets()))
	if err != nil {
		t.Fatal(err)
	}
	a := netip.MustParseAddr("10.2.3.4")
	path := []string{"location", "latitude"}
	buf := make([]byte, 0, 64)
	n := testing.AllocsPerRun(100, func() {
		e, _ := db.Lookup(a)
		buf, _ = db.Append(buf[:0], e, path)
	})
	if n != 0 {
		t.Errorf("%v allocations", n)
	}
}
