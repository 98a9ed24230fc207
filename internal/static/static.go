// Package static serves files from disk the way nginx's core, index and static
// modules do (root, alias, index, try_files, default_type, types).
//
// It works in two steps so that the daemon keeps control of internal redirects,
// error pages and logging:
//
//  1. [Resolver.Resolve] decides, from a location's settings and the request's
//     normalised $uri, what nginx would do: serve a file, answer 301 to add a
//     trailing slash, redirect internally to a URI or a named location (the
//     try_files fallback, an absolute index), or answer a status (404, 403, 405,
//     a try_files "=code"). It reads the file system (stat, symlinks) but writes
//     nothing.
//  2. [ServeFile] sends a resolved file with nginx's headers (Content-Type from the
//     types map, ETag, Last-Modified, Accept-Ranges), without content sniffing,
//     and applies what nginx's not-modified and range filters do (304, 412,
//     206, multipart/byteranges, 416), ported from nginx rather than taken from
//     [net/http.ServeContent], whose heads and range rules differ.
//
// # Where fulcrum differs from nginx
//
// Safety first: a file is never served from outside its document root, which is
// the root directory, the alias directory, or for an alias in a regex location
// the directory part of the alias before its first variable.
//   - Symbolic links are followed only while they stay inside the document root
//     (resolved with [path/filepath.EvalSymlinks]). nginx's default
//     "disable_symlinks off" follows every link; fulcrum refuses a link that
//     leaves the root with 403, as nginx does for a link that disable_symlinks
//     refuses, and try_files skips such an entry. The final open goes through an
//     [os.Root] on the document root, so a link swapped in after resolution
//     cannot escape either.
//   - A path built by plain concatenation that leaves the document root is never
//     opened: fulcrum answers 404, as nginx does when no such file exists (try_files
//     skips it). With "location /img/ { alias /data/images; }" nginx maps
//     "/img/x" to "/data/imagesx" and serves it if it exists; fulcrum does not.
//     A path with a ".." segment (from a variable) is refused with 403, and a
//     $uri with one is a 400.
//   - An index file is returned as a file ([Result.Index] set, [Result.URI]
//     the URI nginx would redirect to, which becomes $uri as in nginx)
//     instead of as nginx's internal redirect; the daemon follows the
//     redirect when that URI belongs to another location (or the location
//     has try_files, which nginx runs again) and serves the file directly,
//     with this location's settings, otherwise. An index entry
//     that is a directory (or evaluates to "", the directory itself) is
//     nginx's internal redirect ([KindInternalRedirect]).
//   - In an alias location, nginx strips the location's prefix from a try_files
//     fallback URI that has variables and starts with the prefix, which turns it
//     into a relative URI that no location matches. fulcrum redirects to the
//     fallback as written.
//
// A multipart/byteranges boundary is 20 random digits where nginx counts (1,
// 2, 3, ... in 20 digits), so that a file cannot be written to contain it.
//
// With autoindex on, a directory without an index file is a KindDirectory
// that the caller lists with [ReadDir] and [Listing.AppendListing], byte for
// byte as nginx's autoindex module; a listed symbolic link that leads out
// of the document root shows as itself ("other"), where nginx shows what
// it points to.
//
// disable_symlinks on and if_not_owner open every path component by component
// with openat, as nginx does (see [config.SymlinkPolicy]): a refused link is
// 403 (ELOOP) at the end of a path and 404 (ENOTDIR) on the way, with the
// error logged as nginx's `openat() "..." failed`. The file served is the
// one checked. The document-root rule above still applies on top.
//
// The location's etag, if_modified_since and max_ranges apply as in nginx:
// "etag off" sends no ETag (If-None-Match and If-Match then match "*" only,
// an If-Range with an entity tag never matches), "if_modified_since off"
// and "before" change the If-Modified-Since test, and max_ranges limits
// the ranges of one request ("max_ranges 0": none, without Accept-Ranges).
//
// Not implemented: charset, open_file_cache, and index file names that
// change $uri for their own variable expansion.
package static

import (
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"fulcrum/internal/config"
)

// Location describes the location block whose root or alias is in effect; it
// matters only for alias.
type Location struct {
	// Path is that location's path as written ("/static/", "= /favicon.ico" as
	// "/favicon.ico"). With alias in a prefix or exact location, the first
	// len(Path) bytes of $uri are replaced by the alias, as nginx does. For an
	// alias inherited by a nested location, this is the outer location's path,
	// the one where alias was written.
	Path string
	// Regex reports a regex location (~ or ~*): there an alias is the whole file
	// path (usually with captures such as $1), not a replacement for a prefix.
	Regex bool
	// Prefix is the configuration's prefix (-p). A root or alias with
	// variables whose value is relative is taken from it per request, as
	// nginx's ngx_get_full_name does: prefix + "/" + value. Empty: such a
	// value is refused (500).
	Prefix string
}

// Request is what Resolve needs to know about one request.
type Request struct {
	// Method is the request method; only GET and HEAD are served (POST on an
	// existing file is 405 as in nginx, POST elsewhere follows the same paths).
	Method string
	// URI is $uri: the percent-decoded, normalised path ("/a b/", never with a
	// "." or ".." segment). A URI with a ".." segment or a NUL byte is a 400.
	URI string
	// Args is $args, appended to the Location of the directory redirect and kept
	// by the internal redirect of an absolute index.
	Args string
	// Expand evaluates a template with variables ("$uri", "$uri/index.html",
	// "/srv/$1") for this request. It is called only for the templates that
	// Resolver.Templates lists. Nil means templates are used as written.
	Expand func(template string) string
	// TryOnly runs the try_files phase alone, for a location whose content
	// comes from elsewhere (proxy_pass): an entry that exists, file or
	// directory, is a KindFile with only URI set ($uri, a directory entry's
	// without the slash that marks it, as nginx sets it); the method is not
	// looked at.
	TryOnly bool
	// GzipStatic says the client gets precompressed files (gzip_static):
	// when the file asked for does not exist, its "FILE.gz" is served in
	// its place (a KindFile with Encoding "gzip"), as nginx's gzip_static
	// handler runs before the static one and needs only the .gz file. The
	// caller looks for FILE.gz beside an existing file itself
	// (Precompressed).
	GzipStatic bool
	// GzipVary is gzip_static under gzip_vary: when the file asked for
	// does not exist, its "FILE.gz" is looked for even for a client that
	// does not get it, and if it can be opened (a directory too) the
	// Result says so (Result.GzipVary), as nginx's gzip_static handler
	// marks the response for "Vary: Accept-Encoding" before it declines.
	GzipVary bool
}

// Kind says what a Result asks the caller to do.
type Kind int

// The kinds of Result.
const (
	// KindStatus: answer Status with the usual error page (error_page applies).
	KindStatus Kind = iota
	// KindFile: send the file with ServeFile.
	KindFile
	// KindRedirect: answer 301 with the Location header set to Location (made
	// absolute by the caller when absolute_redirect is on).
	KindRedirect
	// KindInternalRedirect: restart location matching with $uri = URI and
	// $args = Args (nginx's internal redirect; the caller bounds the number of
	// redirects and answers 500 after too many, as nginx does after 10).
	KindInternalRedirect
	// KindNamedLocation: continue in the named location Name ("@fallback") with
	// $uri and $args unchanged.
	KindNamedLocation
	// KindDirectory: list the directory Path (inside Base) with ReadDir, as
	// nginx's autoindex module does for a directory without an index file.
	KindDirectory
)

var kindNames = [...]string{"status", "file", "redirect", "internal redirect", "named location", "directory"}

// String names the kind for logs and test failures.
func (k Kind) String() string {
	if k < 0 || int(k) >= len(kindNames) {
		return "kind(" + strconv.Itoa(int(k)) + ")"
	}
	return kindNames[k]
}

// Result is the outcome of Resolve. Which fields are set depends on Kind.
type Result struct {
	Kind Kind
	// Status is the HTTP status to answer: 200 for KindFile, 301 for
	// KindRedirect, the code for KindStatus; 0 for internal redirects.
	Status int
	// URI is, for KindFile, KindRedirect and KindStatus, the $uri nginx has when
	// it answers: the request's, or the one a matching try_files entry or an
	// index file put in its place ("/dir/index.html" for "/dir/", "/index.html"
	// for "try_files /nope /index.html"). The caller sets $uri to it, as nginx's
	// try_files and internal redirect do, so that the access log, add_header and
	// error_page see it. For KindRedirect it is the directory's $uri, without the
	// slash that Location adds. For KindInternalRedirect it is the target URI
	// (not normalised, as nginx); empty for KindNamedLocation ($uri unchanged).
	URI string
	// Args is the new $args for KindInternalRedirect. It replaces the request's
	// args even when empty: "try_files $uri /index.php" drops the query string
	// in nginx too.
	Args string
	// ArgsFound reports that $args is found even when Args is empty: nginx
	// 1.22.1 logs "" for it after try_files's fallback to a URI, "-" when a
	// request without arguments goes through an index redirect.
	ArgsFound bool
	// Location is the 301's Location for KindRedirect: the URI with a slash
	// added, escaped as nginx escapes it, then "?" and the args if there are any.
	Location string
	// Name is the named location ("@fallback") for KindNamedLocation.
	Name string

	// Path is the file's absolute path inside Base (KindFile), or the
	// directory's (KindDirectory). When a symbolic
	// link below the document root led to the file, Path and Base have their
	// links resolved; otherwise they are as configured.
	Path string
	// Base is the document root the file was found in. ServeFile opens Path
	// through an os.Root on Base.
	Base string
	// Size and ModTime are the file's size and modification time when resolved.
	Size    int64
	ModTime time.Time
	// ContentType is chosen by the extension of URI through the types map, else
	// default_type, as nginx does; never sniffed.
	ContentType string
	// Index reports a KindFile that is an index file: nginx reaches it by an
	// internal redirect to URI, which may land in another location. The
	// caller decides whether to follow it or serve the file here.
	Index bool
	// Encoding is "gzip" for a precompressed file served in the place of
	// the one asked for (Precompressed): ServeFile sends it with that
	// Content-Encoding, whole (no ranges), without Accept-Ranges, as
	// nginx's gzip_static module does. Empty for any other file.
	Encoding string
	// GzipVary reports that the answer to a file that does not exist
	// goes out with "Vary: Accept-Encoding" (Request.GzipVary): its
	// FILE.gz exists.
	GzipVary bool
	// FLVStart is the flv module's start offset for a KindFile (FLVStart of
	// the request's args, set by the caller in a location with flv): when
	// it is above 0 and below the file's size, ServeFile sends the FLV
	// header and then the file from that byte, as one body. 0 sends the
	// file as it is.
	FLVStart int64
	// MP4 is the mp4 module's cut for a KindFile (set by the caller in a
	// location with mp4, when MP4Range finds a start or an end): ServeFile
	// sends the file cut to that range (mp4.Rewrite), or as it is when the
	// module declines, with one byte range at most. Nil sends the file as
	// it is.
	MP4 *MP4Cut

	// Err explains a KindStatus answer for the error log, in nginx's words
	// where nginx logs one (`open() "/srv/x" failed: ...`,
	// `directory index of "/srv/d/" is forbidden`). Nil when nginx logs nothing
	// (a try_files "=404", a 405).
	Err error

	// links is the location's disable_symlinks for this request; when it is
	// not off, ServeFile opens opened (the path as nginx opens it, before
	// links are resolved) under it instead of through an os.Root.
	links   symlinkCheck
	opened  string
	filters fileFilters
}

// mode is how a URI maps to a file path.
type mode int

const (
	modeRoot       mode = iota // root + $uri
	modeAlias                  // alias + $uri without the location's prefix
	modeAliasRegex             // the alias alone (a regex location)
)

// template is a configuration string that may contain variables.
type template struct {
	text string
	vars bool
}

func newTemplate(s string) template {
	return template{text: s, vars: strings.Contains(s, "$")}
}

// eval returns the template's value for a request.
func (t template) eval(expand func(string) string) string {
	if !t.vars || expand == nil {
		return t.text
	}
	return expand(t.text)
}

// tryEntry is a try_files entry other than the last.
type tryEntry struct {
	template
	// dir is set for an entry written with a trailing slash (the slash is not
	// part of text): it matches a directory only, the others a non-directory.
	dir bool
}

// fallback is the last try_files entry: a "=code", a "@name" or a URI.
type fallback struct {
	template
	code int
}

// Resolver resolves requests for one location's static settings. It is built
// once per configuration snapshot, immutable, and safe for concurrent use.
type Resolver struct {
	mode    mode
	docRoot template // root or alias
	// fixedBase is the document root when docRoot has no variables, and for
	// modeAliasRegex the directory part of the alias before its first variable.
	fixedBase string
	// prefixLen is len(Location.Path) for modeAlias.
	prefixLen int
	// confPrefix is Location.Prefix with a trailing slash ("" without one).
	confPrefix  string
	index       []template
	try         []tryEntry
	fallback    *fallback // nil without try_files
	types       map[string]string
	defaultType string
	listing     bool // autoindex on
	randomIndex bool // random_index on
	symlinks    symlinkRule
	filters     fileFilters
}

// fileFilters are the location's settings for the head of a file going out
// and its not-modified and range filters (etag, if_modified_since,
// max_ranges); every KindFile Result carries them to ServeFile. The zero
// value is nginx's defaults.
type fileFilters struct {
	noETag     bool // etag off
	ims        config.IMSMode
	noRanges   bool // max_ranges 0: no ranges, no Accept-Ranges
	rangeLimit int  // max_ranges above 0; 0: no limit
}

// newFileFilters reads the filters' settings.
func newFileFilters(s *config.Settings) fileFilters {
	return fileFilters{noETag: s.ETagOff, ims: s.IfModifiedSince, noRanges: s.RangesOff, rangeLimit: s.MaxRanges}
}

// New compiles a location's static settings. types is the http block's types
// map (lower-case extension to MIME type); nil means nginx's built-in types
// (html, gif, jpg), which is what nginx uses without a types block. An empty
// s.DefaultType means text/plain and an empty s.Index means "index.html", nginx's
// defaults. Alias wins over Root when both are set (an inherited root with the
// location's own alias).
func New(s *config.Settings, types map[string]string, loc Location) (*Resolver, error) {
	if s == nil {
		return nil, errors.New("static: no settings")
	}
	rv := &Resolver{types: types, defaultType: s.DefaultType}
	if rv.defaultType == "" {
		rv.defaultType = "text/plain"
	}
	if loc.Prefix != "" {
		rv.confPrefix = strings.TrimSuffix(loc.Prefix, "/") + "/"
	}
	if err := rv.setDocRoot(s, loc); err != nil {
		return nil, err
	}
	rv.setIndex(s.Index)
	rv.listing = s.Autoindex
	rv.randomIndex = s.RandomIndex
	rv.symlinks = symlinkRule{policy: s.DisableSymlinks, from: newTemplate(s.DisableSymlinksFrom)}
	rv.filters = newFileFilters(s)
	if err := rv.setTryFiles(s.TryFiles); err != nil {
		return nil, err
	}
	return rv, nil
}

// setDocRoot chooses root or alias and the mapping mode. An alias maps
// with the location where it was written (s.AliasPath, s.AliasRegex), which
// is loc's parent for an alias a nested location inherits; loc stands in
// for settings that do not name it.
func (rv *Resolver) setDocRoot(s *config.Settings, loc Location) error {
	if s.AliasPath != "" || s.AliasRegex {
		loc.Path, loc.Regex = s.AliasPath, s.AliasRegex
	}
	switch {
	case s.Alias != "" && loc.Regex:
		rv.mode, rv.docRoot = modeAliasRegex, newTemplate(s.Alias)
		rv.fixedBase = fixedDir(s.Alias)
	case s.Alias != "":
		if loc.Path == "" {
			return fmt.Errorf("static: alias %q needs the location's path", s.Alias)
		}
		rv.mode, rv.docRoot, rv.prefixLen = modeAlias, newTemplate(s.Alias), len(loc.Path)
	case s.Root != "":
		rv.mode, rv.docRoot = modeRoot, newTemplate(s.Root)
	default:
		return errors.New("static: neither root nor alias is set")
	}
	if !rv.docRoot.vars {
		if !filepath.IsAbs(rv.docRoot.text) {
			return fmt.Errorf("static: document root %q is not an absolute path", rv.docRoot.text)
		}
		if rv.mode != modeAliasRegex {
			rv.fixedBase = filepath.Clean(rv.docRoot.text)
		}
	}
	return nil
}

// fixedDir is the directory part of s before its first variable:
// "/srv/img/$1" -> "/srv/img", "/srv/x.png" -> "/srv", "$dir" -> "/".
func fixedDir(s string) string {
	if i := strings.IndexByte(s, '$'); i >= 0 {
		s = s[:i]
	}
	return filepath.Clean("/" + s[:strings.LastIndexByte(s, '/')+1])
}

func (rv *Resolver) setIndex(names []string) {
	if len(names) == 0 {
		names = []string{"index.html"}
	}
	for _, n := range names {
		rv.index = append(rv.index, newTemplate(n))
	}
}

// setTryFiles splits try_files into the entries to test and the fallback, the
// way ngx_http_core_try_files does.
func (rv *Resolver) setTryFiles(entries []string) error {
	switch len(entries) {
	case 0:
		return nil
	case 1:
		return fmt.Errorf("static: try_files %q needs at least two entries", entries[0])
	}
	for _, e := range entries[:len(entries)-1] {
		t := tryEntry{template: newTemplate(e)}
		if strings.HasSuffix(e, "/") {
			t.dir = true
			t.template = newTemplate(e[:len(e)-1])
		}
		rv.try = append(rv.try, t)
	}
	last := entries[len(entries)-1]
	rv.fallback = &fallback{template: newTemplate(last)}
	if strings.HasPrefix(last, "=") {
		code, err := strconv.Atoi(last[1:])
		if err != nil || code < 1 || code > 999 {
			return fmt.Errorf("static: try_files: invalid code %q", last)
		}
		rv.fallback.code = code
	}
	return nil
}

// Templates lists every configured string with variables that Resolve may pass
// to Request.Expand, so the caller can compile them once per snapshot.
func (rv *Resolver) Templates() []string {
	var out []string
	add := func(t template) {
		if t.vars {
			out = append(out, t.text)
		}
	}
	add(rv.docRoot)
	for _, t := range rv.try {
		add(t.template)
	}
	if rv.fallback != nil && rv.fallback.code == 0 {
		add(rv.fallback.template)
	}
	for _, t := range rv.index {
		add(t)
	}
	if rv.symlinks.policy != config.SymlinksOff {
		add(rv.symlinks.from)
	}
	return out
}
