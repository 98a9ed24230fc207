package static

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"fulcrum/internal/config"
)

// symlinkTree builds, in a temporary directory, the tree the expectations
// were checked with against nginx 1.22:
//
//	site/f, site/d/index.html, site/lf -> ../real/rf, site/lin -> f (owned
//	by uid 65534 when the test runs as root), site/ld -> ../real/rd,
//	site/ldin -> d, site/ldf -> d (a link to a directory inside), and
//	site2 -> site.
func symlinkTree(t *testing.T) (dir string, chowned bool) {
	t.Helper()
	dir = t.TempDir()
	for _, d := range []string{"site/d", "real/rd"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, body := range map[string]string{"site/f": "f", "site/d/index.html": "dx", "real/rf": "rf", "real/rd/x": "x"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for name, target := range map[string]string{"site/lf": "../real/rf", "site/lin": "f", "site/ld": "../real/rd", "site/ldin": "d", "site2": "site"} {
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	if os.Geteuid() == 0 {
		if err := os.Lchown(filepath.Join(dir, "site/lin"), 65534, -1); err != nil {
			t.Fatal(err)
		}
		chowned = true
	}
	return dir, chowned
}

// TestDisableSymlinks checks statuses and logged calls against what nginx
// 1.22 answered for the same tree and configuration.
func TestDisableSymlinks(t *testing.T) {
	dir, chowned := symlinkTree(t)
	site, site2 := filepath.Join(dir, "site"), filepath.Join(dir, "site2")
	tests := []struct {
		name   string
		root   string
		policy config.SymlinkPolicy
		from   string
		uri    string
		status int
		call   string // the failed call logged, "" for none
		errno  error
		owner  bool // needs the chowned link
	}{
		{"on: plain file", site, config.SymlinksOn, "", "/f", 200, "", nil, false},
		{"on: link at the end", site, config.SymlinksOn, "", "/lf", 403, "openat", syscall.ELOOP, false},
		{"on: link inside at the end", site, config.SymlinksOn, "", "/lin", 403, "openat", syscall.ELOOP, false},
		{"on: link on the way", site, config.SymlinksOn, "", "/ld/x", 404, "openat", syscall.ENOTDIR, false},
		{"on: index through a link", site, config.SymlinksOn, "", "/ldin/", 404, "", syscall.ENOTDIR, false},
		{"on: index", site, config.SymlinksOn, "", "/d/", 200, "", nil, false},
		{"on: missing", site, config.SymlinksOn, "", "/nope", 404, "openat", syscall.ENOENT, false},
		{"on: root is a link", site2, config.SymlinksOn, "", "/f", 404, "openat", syscall.ENOTDIR, false},
		{"on from root: root is a link", site2, config.SymlinksOn, site2, "/f", 200, "", nil, false},
		{"on from root: link below", site2, config.SymlinksOn, site2, "/lin", 403, "openat", syscall.ELOOP, false},
		{"on from root with slash", site2, config.SymlinksOn, site2 + "/", "/f", 200, "", nil, false},
		{"on from elsewhere: checks all", site2, config.SymlinksOn, "/elsewhere", "/f", 404, "openat", syscall.ENOTDIR, false},
		{"on from the file itself: no check", site, config.SymlinksOn, site + "/lin", "/lin", 200, "", nil, false},
		{"if_not_owner: same owner inside", site, config.SymlinksIfNotOwner, "", "/ldin/", 200, "", nil, false},
		{"if_not_owner: other owner", site, config.SymlinksIfNotOwner, "", "/lin", 403, "openat", syscall.ELOOP, true},
		{"if_not_owner: plain file", site, config.SymlinksIfNotOwner, "", "/f", 200, "", nil, false},
		{"off: link inside", site, config.SymlinksOff, "", "/lin", 200, "", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.owner && !chowned {
				t.Skip("needs root to chown a link")
			}
			rv, err := New(&config.Settings{Root: tt.root, DisableSymlinks: tt.policy, DisableSymlinksFrom: tt.from}, nil, Location{Path: "/"})
			if err != nil {
				t.Fatal(err)
			}
			res := rv.Resolve(Request{Method: http.MethodGet, URI: tt.uri})
			if got := res.Status; got != tt.status {
				t.Fatalf("status %d, want %d (%v)", got, tt.status, res.Err)
			}
			if tt.errno != nil && !errors.Is(res.Err, tt.errno) {
				t.Errorf("error %v, want %v", res.Err, tt.errno)
			}
			var ce *CallError
			if tt.call != "" && (!errors.As(res.Err, &ce) || ce.Call != tt.call) {
				t.Errorf("error %v, want a failed %s()", res.Err, tt.call)
			}
			if res.Kind == KindFile {
				rec := httptest.NewRecorder()
				if err := ServeFile(rec, httptest.NewRequest(http.MethodGet, tt.uri, nil), res); err != nil {
					t.Fatalf("ServeFile: %v", err)
				}
				if rec.Code != http.StatusOK {
					t.Errorf("served %d", rec.Code)
				}
			}
		})
	}
}

// TestDisableSymlinksTryFiles checks that try_files passes over a refused
// link, as nginx does, and that the fallback answers.
func TestDisableSymlinksTryFiles(t *testing.T) {
	dir, _ := symlinkTree(t)
	rv, err := New(&config.Settings{Root: filepath.Join(dir, "site"), TryFiles: []string{"$uri", "=418"}, DisableSymlinks: config.SymlinksOn}, nil, Location{Path: "/"})
	if err != nil {
		t.Fatal(err)
	}
	expand := func(s string) string { return strings.ReplaceAll(s, "$uri", "/lin") }
	if res := rv.Resolve(Request{Method: http.MethodGet, URI: "/lin", Expand: expand}); res.Status != 418 {
		t.Errorf("try_files over a link: %d, want 418", res.Status)
	}
}

// TestDisableSymlinksServesTheCheckedFile swaps a link in after Resolve: the
// file ServeFile opens is checked again, so the link is refused.
func TestDisableSymlinksServesTheCheckedFile(t *testing.T) {
	dir, _ := symlinkTree(t)
	site := filepath.Join(dir, "site")
	rv, err := New(&config.Settings{Root: site, DisableSymlinks: config.SymlinksOn}, nil, Location{Path: "/"})
	if err != nil {
		t.Fatal(err)
	}
	res := rv.Resolve(Request{Method: http.MethodGet, URI: "/f"})
	if res.Kind != KindFile {
		t.Fatalf("resolve: %v %v", res.Kind, res.Err)
	}
	if err := os.Remove(filepath.Join(site, "f")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../real/rf", filepath.Join(site, "f")); err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	err = ServeFile(rec, httptest.NewRequest(http.MethodGet, "/f", nil), res)
	if !errors.Is(err, syscall.ELOOP) || ErrorStatus(err) != http.StatusForbidden {
		body, _ := io.ReadAll(rec.Body)
		t.Fatalf("ServeFile after the swap: %v (%d %q), want ELOOP and 403", err, rec.Code, body)
	}
}
