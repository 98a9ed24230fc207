package static

import (
	"errors"
	"io/fs"
	"testing"

	"fulcrum/internal/config"
)

// TestTarget checks how WebDAV URIs map below a document root: root and
// alias as ngx_http_map_uri_to_path, never outside the root.
func TestTarget(t *testing.T) {
	tests := []struct {
		name      string
		set       config.Settings
		loc       Location
		uri       string
		base, rel string
		err       error // matched with errors.Is; nil: none
	}{
		{name: "root file", set: config.Settings{Root: "/srv"}, uri: "/a/b.txt", base: "/srv", rel: "a/b.txt"},
		{name: "root dir", set: config.Settings{Root: "/srv"}, uri: "/a/", base: "/srv", rel: "a"},
		{name: "root itself", set: config.Settings{Root: "/srv/"}, uri: "/", base: "/srv", rel: "."},
		{name: "dot dot", set: config.Settings{Root: "/srv"}, uri: "/a/../../etc/passwd", err: ErrOutsideRoot},
		{name: "NUL", set: config.Settings{Root: "/srv"}, uri: "/a\x00b", err: ErrOutsideRoot},
		{name: "alias", set: config.Settings{Alias: "/data/x/"}, loc: Location{Path: "/al/"}, uri: "/al/p.txt", base: "/data/x", rel: "p.txt"},
		{name: "alias prefix itself", set: config.Settings{Alias: "/data/x/"}, loc: Location{Path: "/al/"}, uri: "/al/", base: "/data/x", rel: "."},
		{name: "alias short", set: config.Settings{Alias: "/data/x/"}, loc: Location{Path: "/al/"}, uri: "/a", err: ErrAliasPrefix},
		{name: "alias beside", set: config.Settings{Alias: "/data/x"}, loc: Location{Path: "/al/"}, uri: "/al/f", err: fs.ErrNotExist},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rv, err := New(&tt.set, nil, tt.loc)
			if err != nil {
				t.Fatal(err)
			}
			got, err := rv.Target(tt.uri, nil)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("error %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil || got.Base != tt.base || got.Rel != tt.rel {
				t.Errorf("got %+v %v, want %s %s", got, err, tt.base, tt.rel)
			}
		})
	}
}
