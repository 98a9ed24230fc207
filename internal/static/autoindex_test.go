package static

import (
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"fulcrum/internal/config"
	"fulcrum/internal/testutil"
)

// listingDir builds the nginx-recorded tree under a fresh root as /list/ and
// returns the root.
func listingDir(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	if err := os.Mkdir(filepath.Join(root, "list"), 0o755); err != nil {
		t.Fatal(err)
	}
	testutil.ListingTree(t, filepath.Join(root, "list"))
	return root
}

// TestListingGolden lists the tree in every format and compares the pages
// byte for byte with what nginx 1.22.1 sent for the same tree
// (testdata/autoindex, recorded with curl).
func TestListingGolden(t *testing.T) {
	root := listingDir(t)
	tests := []struct {
		golden   string
		uri      string
		listing  Listing
		callback string
	}{
		{"html", "/list/", Listing{Format: ListHTML, ExactSize: true}, ""},
		{"html_approx", "/ex/", Listing{Format: ListHTML}, ""},
		{"xml", "/xml/", Listing{Format: ListXML, ExactSize: true}, ""},
		{"json", "/json/", Listing{Format: ListJSON}, ""},
		{"jsonp", "/jsonp/", Listing{Format: ListJSONP}, "foo.bar_1"},
		{"html_empty_escaped_uri", "/list/Adir/a<b&c/", Listing{Format: ListHTML, ExactSize: true}, ""},
		{"json_empty", "/json/Adir/a<b&c/", Listing{Format: ListJSON}, ""},
		{"xml_empty", "/xml/Adir/a<b&c/", Listing{Format: ListXML}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			want, err := os.ReadFile(filepath.Join("testdata", "autoindex", tt.golden+".golden"))
			if err != nil {
				t.Fatal(err)
			}
			dir := "/list/"
			if strings.HasSuffix(tt.uri, "a<b&c/") {
				dir = "/list/Adir/a<b&c/"
			}
			rv, err := New(&config.Settings{Root: root, Autoindex: true}, nil, Location{Path: "/"})
			if err != nil {
				t.Fatal(err)
			}
			res := rv.Resolve(Request{Method: http.MethodGet, URI: dir})
			if res.Kind != KindDirectory {
				t.Fatalf("Resolve: %v %d %v, want a directory", res.Kind, res.Status, res.Err)
			}
			entries, err := ReadDir(res)
			if err != nil {
				t.Fatal(err)
			}
			got := tt.listing.AppendListing(nil, tt.uri, tt.callback, entries, time.Now())
			if string(got) != string(want) {
				t.Errorf("listing differs from nginx's\n got: %q\nwant: %q", got, want)
			}
		})
	}
}

// TestListingSizes checks autoindex_exact_size off's rounding at its
// boundaries (nginx rounds half up: 1536 bytes are 2K only past 9999
// bytes, 1.5M is 2M).
func TestListingSizes(t *testing.T) {
	tests := []struct {
		size int64
		want string
	}{
		{0, "      0"}, {9999, "   9999"}, {10000, "    10K"}, {10751, "    10K"}, {10752, "    11K"},
		{1048575, "  1024K"}, {1048576, "     1M"}, {1572863, "     1M"}, {1572864, "     2M"},
		{1 << 30, "     1G"}, {3<<30 + 1<<29, "     4G"}, {5 << 40, "  5120G"},
	}
	for _, tt := range tests {
		got := string(Listing{}.appendSize(nil, &DirEntry{Size: tt.size}))
		if got != tt.want {
			t.Errorf("size %d: %q, want %q", tt.size, got, tt.want)
		}
	}
	if got := string((Listing{ExactSize: true}).appendSize(nil, &DirEntry{Size: 5 << 40})); got != "      5497558138880" {
		t.Errorf("exact: %q", got)
	}
}

// TestListingUTF8 checks that with charset utf-8 names are measured in
// characters (nginx 1.22.1 with "charset utf-8" cut the 55 "é" after 47
// of them and padded the UTF-8 name by its 15 characters), and in bytes
// without it (cut inside a character, as nginx does).
func TestListingUTF8(t *testing.T) {
	long := strings.Repeat("é", 55)
	uni := "ünïcödé-名前.txt"
	tests := []struct {
		utf8 bool
		name string
		want string
	}{
		{true, long, `">` + strings.Repeat("é", 47) + "..&gt;</a> "},
		{false, long, `">` + strings.Repeat("é", 23) + "\xc3..&gt;</a> "},
		{true, uni, `">` + uni + "</a>" + strings.Repeat(" ", 35) + " "},
		{false, uni, `">` + uni + "</a>" + strings.Repeat(" ", 28) + " "},
		{true, "a<b", `">a&lt;b/</a>` + strings.Repeat(" ", 46) + " "},
	}
	for _, tt := range tests {
		e := DirEntry{Name: tt.name, Dir: tt.name == "a<b", File: tt.name != "a<b", ModTime: time.Unix(0, 0)}
		got := string(Listing{UTF8: tt.utf8}.appendHTMLEntry(nil, &e, 0))
		if !strings.Contains(got, tt.want) {
			t.Errorf("utf8 %v, %q: %q, want it to contain %q", tt.utf8, tt.name, got, tt.want)
		}
	}
}

// TestListingJSONEscape checks names with control bytes in a json listing
// as nginx 1.22.1 wrote them (ngx_escape_json): short forms for \t \n \r
// \b \f, \u00XX in upper case for the others.
func TestListingJSONEscape(t *testing.T) {
	tests := []struct{ name, want string }{
		{"tab\tx", `"tab\tx"`},
		{"a\nb\rc", `"a\nb\rc"`},
		{"\b\f", `"\b\f"`},
		{"\x01\x1f", `"\u0001\u001F"`},
		{`q"b\s`, `"q\"b\\s"`},
		{"é\x7f", "\"é\x7f\""},
	}
	for _, tt := range tests {
		e := DirEntry{Name: tt.name, File: true, ModTime: time.Unix(0, 0)}
		got := string(Listing{Format: ListJSON}.AppendListing(nil, "/", "", []DirEntry{e}, time.Now()))
		if !strings.Contains(got, `"name":`+tt.want+`,`) {
			t.Errorf("%q listed as %s, want name %s", tt.name, got, tt.want)
		}
	}
}

// TestJSONPCallback checks the callback argument as nginx 1.22.1 took it:
// any case of the name, the value as sent, letters, digits, "_" and "."
// only, at most 128 bytes; an empty one makes plain json.
func TestJSONPCallback(t *testing.T) {
	tests := []struct {
		args, want string
		bad        bool
	}{
		{"", "", false},
		{"callback=foo", "foo", false},
		{"x=1&CALLBACK=Up", "Up", false},
		{"callback=", "", false},
		{"callbackx=1", "", false},
		{"callback=a.b_1", "a.b_1", false},
		{"callback=a-b", "", true},
		{"callback=%41", "", true},
		{"callback=" + strings.Repeat("a", 128), strings.Repeat("a", 128), false},
		{"callback=" + strings.Repeat("a", 129), "", true},
	}
	for _, tt := range tests {
		got, err := JSONPCallback(tt.args)
		if got != tt.want || (err != nil) != tt.bad || (err != nil && !errors.Is(err, ErrBadCallback)) {
			t.Errorf("JSONPCallback(%q) = %q, %v; want %q, bad %v", tt.args, got, err, tt.want, tt.bad)
		}
	}
}

// TestListingResolve checks when Resolve lists: a directory without an
// index file for GET and HEAD with autoindex on; an index file still wins;
// POST and autoindex off get nginx's 403; a missing directory is 404.
func TestListingResolve(t *testing.T) {
	root := listingDir(t)
	if err := os.WriteFile(filepath.Join(root, "list", "sub", "index.html"), []byte("i"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		method, uri string
		autoindex   bool
		kind        Kind
		status      int
	}{
		{http.MethodGet, "/list/", true, KindDirectory, 200},
		{http.MethodHead, "/list/", true, KindDirectory, 200},
		{http.MethodPost, "/list/", true, KindStatus, 403},
		{http.MethodGet, "/list/", false, KindStatus, 403},
		{http.MethodGet, "/list/sub/", true, KindFile, 200},
		{http.MethodGet, "/nodir/", true, KindStatus, 404},
		{http.MethodGet, "/list/k1023.bin/", true, KindStatus, 404},
		{http.MethodDelete, "/list/", true, KindStatus, 405},
	}
	for _, tt := range tests {
		rv, err := New(&config.Settings{Root: root, Autoindex: tt.autoindex}, nil, Location{Path: "/"})
		if err != nil {
			t.Fatal(err)
		}
		res := rv.Resolve(Request{Method: tt.method, URI: tt.uri})
		if res.Kind != tt.kind || res.Status != tt.status {
			t.Errorf("%s %s autoindex %v: %v %d (%v), want %v %d", tt.method, tt.uri, tt.autoindex, res.Kind, res.Status, res.Err, tt.kind, tt.status)
		}
	}
}

// TestReadDirLinks: a link to a file inside the root is listed as that
// file; a dangling link and a link leading out of the root as themselves
// ("other"); an entry that vanished is left out.
func TestReadDirLinks(t *testing.T) {
	root := t.TempDir()
	outside := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile(filepath.Join(root, "f"), []byte("12345"), 0o644))
	must(os.WriteFile(filepath.Join(outside, "secret"), []byte("0123456789"), 0o644))
	must(os.Symlink("f", filepath.Join(root, "in")))
	must(os.Symlink("nowhere", filepath.Join(root, "dangling")))
	must(os.Symlink(filepath.Join(outside, "secret"), filepath.Join(root, "out")))
	entries, err := ReadDir(Result{Kind: KindDirectory, Path: root, Base: root})
	must(err)
	got := map[string]string{}
	for _, e := range entries {
		got[e.Name] = entryType(&e)
	}
	want := map[string]string{"f": "file", "in": "file", "dangling": "other", "out": "other"}
	for name, typ := range want {
		if got[name] != typ {
			t.Errorf("%s: %q, want %q (all: %v)", name, got[name], typ, got)
		}
	}
	for _, e := range entries {
		if e.Name == "out" && e.Size == 10 {
			t.Errorf("the link leading out shows its target's size")
		}
	}
	_, err = ReadDir(Result{Kind: KindDirectory, Path: filepath.Join(root, "missing"), Base: root})
	if !errors.Is(err, syscall.ENOENT) || ListingStatus(err) != http.StatusNotFound {
		t.Errorf("missing directory: %v (status %d), want ENOENT, 404", err, ListingStatus(err))
	}
	_, err = ReadDir(Result{Kind: KindDirectory, Path: filepath.Join(root, "f"), Base: root})
	if ListingStatus(err) != http.StatusNotFound {
		t.Errorf("a file: %v (status %d), want 404", err, ListingStatus(err))
	}
}

// TestReadDirAbsoluteLinksInside: a link by its absolute path to a
// directory or file inside the root, or one that climbs out and comes back
// in, is listed as what it leads to, as nginx 1.22.1 lists it (recorded:
// "test-dir-link/" with "-" for a link to the root's test-dir, the file's
// size 5 for a link to a 5-byte file; nginx-tests' autoindex.t, "symlink
// to directory"). os.Root refuses such links, and fulcrum listed them as
// themselves: "test-dir-link", the link's own size.
func TestReadDirAbsoluteLinksInside(t *testing.T) {
	root := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Mkdir(filepath.Join(root, "d"), 0o755))
	must(os.WriteFile(filepath.Join(root, "f"), []byte("12345"), 0o644))
	must(os.Symlink(filepath.Join(root, "d"), filepath.Join(root, "dir-link")))
	must(os.Symlink(filepath.Join(root, "f"), filepath.Join(root, "file-link")))
	must(os.Symlink(filepath.Join("..", filepath.Base(root), "f"), filepath.Join(root, "back-in")))
	entries, err := ReadDir(Result{Kind: KindDirectory, Path: root, Base: root})
	must(err)
	got := map[string]DirEntry{}
	for _, e := range entries {
		got[e.Name] = e
	}
	if e := got["dir-link"]; !e.Dir {
		t.Errorf("dir-link: %+v, want a directory", e)
	}
	for _, name := range []string{"file-link", "back-in"} {
		if e := got[name]; !e.File || e.Size != 5 {
			t.Errorf("%s: %+v, want a 5-byte file", name, e)
		}
	}
}

// TestListingLocalTime: autoindex_localtime shifts HTML dates by the zone's
// offset when the page is made; XML and JSON stay UTC.
func TestListingLocalTime(t *testing.T) {
	e := []DirEntry{{Name: "f", File: true, ModTime: time.Date(2026, 12, 31, 23, 30, 0, 0, time.UTC)}}
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.FixedZone("X", 2*3600))
	tests := []struct {
		l    Listing
		want string
	}{
		{Listing{LocalTime: true}, " 01-Jan-2027 01:30 "},
		{Listing{}, " 31-Dec-2026 23:30 "},
		{Listing{LocalTime: true, Format: ListXML}, `mtime="2026-12-31T23:30:00Z"`},
		{Listing{LocalTime: true, Format: ListJSON}, `"mtime":"Thu, 31 Dec 2026 23:30:00 GMT"`},
	}
	for _, tt := range tests {
		if got := string(tt.l.AppendListing(nil, "/", "", e, now)); !strings.Contains(got, tt.want) {
			t.Errorf("%+v: %q lacks %q", tt.l, got, tt.want)
		}
	}
}

// TestReadDirForbidden: a directory that cannot be read is 403, as nginx
// answers opendir's EACCES. (Root reads anything, so it is skipped there.)
func TestReadDirForbidden(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root can read a directory without permissions")
	}
	root := t.TempDir()
	d := filepath.Join(root, "closed")
	if err := os.Mkdir(d, 0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Chmod(d, 0o755) })
	_, err := ReadDir(Result{Kind: KindDirectory, Path: d, Base: root})
	if ListingStatus(err) != http.StatusForbidden {
		t.Errorf("%v: status %d, want 403", err, ListingStatus(err))
	}
}
