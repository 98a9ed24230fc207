package static

import "testing"

func TestExtension(t *testing.T) {
	for uri, want := range map[string]string{
		"/a.txt":          "txt",
		"/a.b.c":          "c",
		"/.hidden":        "",
		"/dir/.a.txt":     "txt",
		"/x.":             "",
		"/a.d/b":          "",
		"/":               "",
		"/a":              "",
		"/d/":             "",
		"/.x":             "",
		"/ab.X":           "X",
		"/dir/index.html": "html",
	} {
		if got := extension(uri); got != want {
			t.Errorf("extension(%q) = %q, want %q", uri, got, want)
		}
	}
}

// TestEscapeURI holds nginx 1.22.1's Location headers for directories with
// these names (requested percent-encoded where needed).
func TestEscapeURI(t *testing.T) {
	for in, want := range map[string]string{
		"/dir/":      "/dir/",
		"/a b/":      "/a%20b/",
		`/q"d/`:      "/q%22d/",
		"/pc%d/":     "/pc%25d/",
		"/h#d/":      "/h%23d/",
		"/qm?d/":     "/qm%3Fd/",
		"/uni-é/":    "/uni-%C3%A9/",
		"/ctl\x01d/": "/ctl%01d/",
		"/c>d/":      "/c%3Ed/",
		"/c<d/":      "/c%3Cd/",
		`/c\d/`:      "/c%5Cd/",
		"/c^d/":      "/c%5Ed/",
		"/c`d/":      "/c%60d/",
		"/c{d/":      "/c%7Bd/",
		"/c|d/":      "/c%7Cd/",
		"/c}d/":      "/c%7Dd/",
		"/c\x7fd/":   "/c%7Fd/",
		// Left alone by nginx.
		"/pl+d/": "/pl+d/", "/ap'd/": "/ap'd/", "/c!d/": "/c!d/", "/c$d/": "/c$d/",
		"/c&d/": "/c&d/", "/c(d/": "/c(d/", "/c*d/": "/c*d/", "/c,d/": "/c,d/",
		"/c;d/": "/c;d/", "/c=d/": "/c=d/", "/c@d/": "/c@d/", "/c[d/": "/c[d/",
		"/c]d/": "/c]d/", "/c~d/": "/c~d/", "/c:d/": "/c:d/",
	} {
		if got := escapeURI(in); got != want {
			t.Errorf("escapeURI(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestWithin(t *testing.T) {
	tests := []struct {
		p, base string
		want    bool
	}{
		{"/srv/www", "/srv/www", true},
		{"/srv/www/a", "/srv/www", true},
		{"/srv/wwwx", "/srv/www", false},
		{"/srv", "/srv/www", false},
		{"/anything", "/", true},
	}
	for _, tc := range tests {
		if got := within(tc.p, tc.base); got != tc.want {
			t.Errorf("within(%q, %q) = %v, want %v", tc.p, tc.base, got, tc.want)
		}
	}
}
