package dav

import (
	"io/fs"
	"net/http"
	"testing"
)

// TestDestinationPath checks how a Destination becomes a path, with the
// answers nginx 1.22.1 gave for each (400 for the refused ones).
func TestDestinationPath(t *testing.T) {
	tests := []struct {
		dest, host string
		tls        bool
		want       string
		status     int
	}{
		{dest: "/c.txt", want: "/c.txt"},
		{dest: "http://localhost:8080/c.txt", host: "localhost", want: "/c.txt"},
		{dest: "http://localhost/d/", host: "localhost", want: "/d/"},
		{dest: "https://localhost/c.txt", host: "localhost", tls: true, want: "/c.txt"},
		{dest: "https://localhost/c.txt", host: "localhost", status: 400},
		{dest: "http://other/c.txt", host: "localhost", status: 400},
		{dest: "http://localhost", host: "localhost", status: 400},
		{dest: "http://localhost/c.txt", status: 400},
		{dest: "c.txt", host: "localhost", status: 400},
		{dest: "/q.txt?x=1", want: "/q.txt"},
		{dest: "/a%2Fb.txt", want: "/a/b.txt"},
		{dest: "/sp%20ace", want: "/sp ace"},
		{dest: "/%2e%2e/x", status: 400},
		{dest: "/../x", status: 400},
		{dest: "/a/../x", status: 400},
		{dest: "/a/..", status: 400},
		{dest: "/a%00b", status: 400},
		{dest: "/a%zz", status: 400},
		{dest: "/a//b/./c/", want: "/a/b/c/"},
		{dest: "/a/.", want: "/a/"},
	}
	for _, tt := range tests {
		t.Run(tt.dest, func(t *testing.T) {
			got, r := destinationPath(tt.dest, tt.host, tt.tls)
			if r.Status != tt.status || got != tt.want {
				t.Errorf("got %q %d, want %q %d", got, r.Status, tt.want, tt.status)
			}
		})
	}
}

// TestDepth checks ngx_http_dav_depth's values.
func TestDepth(t *testing.T) {
	tests := []struct {
		field []string
		dflt  int
		want  int
	}{
		{nil, infinity, infinity},
		{nil, 0, 0},
		{[]string{"0"}, infinity, 0},
		{[]string{"1"}, infinity, 1},
		{[]string{"infinity"}, 0, infinity},
		{[]string{"Infinity"}, 0, invalidDepth},
		{[]string{"2"}, 0, invalidDepth},
		{[]string{""}, 0, invalidDepth},
	}
	for _, tt := range tests {
		h := http.Header{}
		if tt.field != nil {
			h["Depth"] = tt.field
		}
		if got := depth(h, tt.dflt); got != tt.want {
			t.Errorf("Depth %q default %d: %d, want %d", tt.field, tt.dflt, got, tt.want)
		}
	}
}

// TestDeepEnough checks min_delete_depth's count (nginx answered 409 to
// /min/f and /min/a/ with min_delete_depth 3, 204 to /min/a/b/f).
func TestDeepEnough(t *testing.T) {
	tests := []struct {
		uri  string
		min  int
		want bool
	}{
		{"/min/f", 3, false},
		{"/min/a/", 3, false},
		{"/min/a/b", 3, true},
		{"/min/a/b/f", 3, true},
		{"/f", 1, true},
		{"/", 1, false},
		{"/a/", 2, false},
		{"/a/b", 2, true},
	}
	for _, tt := range tests {
		if _, got := deepEnough(tt.uri, tt.min); got != tt.want {
			t.Errorf("%s depth %d: %t, want %t", tt.uri, tt.min, got, tt.want)
		}
	}
}

// TestDirAccess checks ngx_dir_access: x wherever r is.
func TestDirAccess(t *testing.T) {
	for in, want := range map[uint32]uint32{0o600: 0o700, 0o664: 0o775, 0o644: 0o755, 0o400: 0o500, 0o640: 0o750} {
		if got := dirAccess(fileMode(in)); uint32(got) != want {
			t.Errorf("dirAccess(%o) = %o, want %o", in, got, want)
		}
	}
}

func fileMode(m uint32) fs.FileMode { return fs.FileMode(m) }
