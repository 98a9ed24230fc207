package static

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
)

// ErrAliasPrefix means a URI given to Target does not start with the alias
// location's prefix, so the alias cannot map it (nginx refuses a WebDAV
// Destination outside the prefix with 400).
var ErrAliasPrefix = errors.New("URI is not within the location prefix of the alias")

// Target is where a URI lands inside a document root, for handlers that
// write (WebDAV): Rel is the path below Base, slash-separated, clean and
// relative ("." for the root itself), ready for an [os.Root] opened on Base,
// which keeps symbolic links from leading out of it.
type Target struct {
	Base string
	Rel  string
}

// Target maps uri (a normalised $uri, or a WebDAV Destination decoded the
// same way) with the location's root or alias, as ngx_http_map_uri_to_path
// does, and checks that the result stays inside the document root. expand
// evaluates root or alias templates with variables (nil: as written). A
// trailing "/" of uri is dropped: Rel names the directory.
//
// Errors: a ".." segment or NUL byte (wrapping ErrOutsideRoot), a path
// beside the root (as nginx's "alias /d/x" maps "/p/f" to "/d/xf"; wraps
// fs.ErrNotExist), a uri shorter than an alias location's prefix
// (ErrAliasPrefix).
func (rv *Resolver) Target(uri string, expand func(string) string) (Target, error) {
	if err := checkURI(uri); err != nil {
		return Target{}, fmt.Errorf("%w: %w", ErrOutsideRoot, err)
	}
	c, err := rv.start(Request{URI: uri, Expand: expand})
	if err != nil {
		return Target{}, err
	}
	if rv.mode == modeAlias && len(uri) < rv.prefixLen {
		return Target{}, ErrAliasPrefix
	}
	p, err := c.uriPath(uri, false)
	if err != nil {
		return Target{}, err
	}
	if err := checkPath(p); err != nil {
		return Target{}, err
	}
	clean := filepath.Clean(p)
	if !within(clean, c.base) {
		return Target{}, fmt.Errorf("static: %q: %w", p, errBesideRoot)
	}
	rel, err := filepath.Rel(c.base, clean)
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return Target{}, fmt.Errorf("static: %q: %w", p, ErrOutsideRoot)
	}
	return Target{Base: c.base, Rel: rel}, nil
}

// AliasPrefix is the length of the alias location's prefix that an alias
// replaces, 0 for root and for an alias in a regex location.
func (rv *Resolver) AliasPrefix() int {
	if rv.mode == modeAlias {
		return rv.prefixLen
	}
	return 0
}

// HasTryFiles reports whether the location has try_files, whose phase
// runs before a content handler other than the files' (WebDAV too).
func (rv *Resolver) HasTryFiles() bool {
	return rv.fallback != nil
}
