package testutil

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// listingEntry is one path of ListingTree: a file of Size bytes, or a
// directory, modified at MTime (Unix seconds).
type listingEntry struct {
	Path  string
	Size  int64
	MTime int64
	Dir   bool
}

// listingTree is the directory nginx 1.22.1's autoindex listings in
// internal/static/testdata/autoindex were made from: files of different
// sizes and dates, long names (50, 51 and 64 bytes, 55 two-byte
// characters), names that need escaping, UTF-8, subdirectories and hidden
// entries. Directories come before their contents; their dates are set
// last.
var listingTree = []listingEntry{
	{"Adir", 0, 1773281522, true},
	{"Adir/a<b&c", 0, 1773281522, true},
	{"dir two", 0, 1786951027, true},
	{"sub", 0, 946684799, true},
	{"sub/f", 1, 1768635427, false},
	{"zdir", 0, 1775871061, true},
	{".hiddendir", 0, 1789200000, true},
	{".hidden", 3, 1789200000, false},
	{"<x>", 3, 1770772261, false},
	{"B-upper", 3, 1776049983, false},
	{"a&b", 3, 1778732044, false},
	{"a-lower", 3, 1781500505, false},
	{"big.bin", 5000000, 981173106, false},
	{"empty.txt", 0, 1789719488, false},
	{"k1023.bin", 1023, 1768814349, false},
	{"k1024.bin", 1024, 1770682800, false},
	{"k1025.bin", 1025, 1773192061, false},
	{"k1536.bin", 1536, 1775960522, false},
	{"m1.bin", 1048576, 1778642583, false},
	{"m15.bin", 1572864, 1781411044, false},
	{"pct%20x", 3, 1784093105, false},
	{`q"uote's`, 3, 1786861566, false},
	{"with space.txt", 3, 1768724888, false},
	{strings.Repeat("x", 60) + ".txt", 3, 1771493349, false},
	{strings.Repeat("y", 50), 3, 1773102600, false},
	{strings.Repeat("z", 51), 3, 1778553122, false},
	{strings.Repeat("é", 55), 3, 1781321583, false},
	{"ünïcödé-名前.txt", 3, 1784003644, false},
}

// ListingTree fills dir with the tree nginx's autoindex listings in
// internal/static/testdata/autoindex were recorded from (sparse files, so
// the 5 MB one costs nothing).
func ListingTree(tb testing.TB, dir string) {
	tb.Helper()
	for _, e := range listingTree {
		p := filepath.Join(dir, e.Path)
		if e.Dir {
			if err := os.Mkdir(p, 0o755); err != nil {
				tb.Fatal(err)
			}
			continue
		}
		f, err := os.Create(p)
		if err == nil {
			err = f.Truncate(e.Size)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}
		if err != nil {
			tb.Fatal(err)
		}
	}
	for i := len(listingTree) - 1; i >= 0; i-- { // contents before their directory
		e := listingTree[i]
		t := time.Unix(e.MTime, 0)
		if err := os.Chtimes(filepath.Join(dir, e.Path), t, t); err != nil {
			tb.Fatal(err)
		}
	}
}
