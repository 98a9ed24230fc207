package mmdb

import (
	"net/netip"
	"strings"
	"testing"

	"fulcrum/internal/testutil"
)

// FuzzLookup: no file, however crafted (loops in the search tree or the
// data's pointers, sizes past the end, truncated sections, deep nesting),
// panics Parse, Lookup or Append, or has them loop or allocate beyond the
// value they print.
func FuzzLookup(f *testing.F) {
	for _, opts := range []testutil.MMDBOptions{{}, {RecordSize: 28}, {RecordSize: 32}, {IPVersion: 4}} {
		nets := testNets()
		if opts.IPVersion == 4 {
			nets = nets[:2]
		}
		f.Add(testutil.MMDB(opts, nets), []byte{10, 2, 3, 4}, "subdivisions|-1|iso_code")
		f.Add(testutil.MMDB(opts, nets), []byte{0x20, 1, 0xd, 0xb8, 15: 1}, "country|iso_code")
	}
	f.Add([]byte("\xab\xcd\xefMaxMind.com\xe0"), []byte{1, 2, 3, 4}, "")
	f.Fuzz(func(t *testing.T, data, addr []byte, path string) {
		db, err := Parse(data)
		if err != nil {
			return
		}
		a, ok := netip.AddrFromSlice(addr)
		if !ok {
			return
		}
		e, found := db.Lookup(a)
		if !found {
			return
		}
		var elems []string
		if path != "" {
			elems = strings.Split(path, "|")
		}
		out, _ := db.Append(nil, e, elems)
		if len(out) > len(data)+64 {
			t.Fatalf("a value of %d bytes from a file of %d", len(out), len(data))
		}
	})
}
