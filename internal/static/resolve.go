package static

import (
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"fulcrum/internal/config"
)

// Resolve decides what nginx would do with req in this location: the try_files
// phase (when try_files is set), then the content phase (index for a URI ending in
// "/", else the static file). It stats files and resolves symbolic links but
// writes nothing; see the package documentation for where it departs from nginx.
func (rv *Resolver) Resolve(req Request) Result {
	if err := checkURI(req.URI); err != nil {
		return statusResult(http.StatusBadRequest, err, req.URI)
	}
	c, err := rv.start(req)
	if err != nil {
		return statusResult(statusOf(err), err, req.URI)
	}
	if rv.fallback != nil {
		return c.tryFiles()
	}
	return c.content(req.URI, false)
}

// checkURI rejects a $uri that a normalising caller would never pass.
func checkURI(uri string) error {
	if strings.IndexByte(uri, 0) >= 0 {
		return fmt.Errorf("static: NUL byte in URI %q", uri)
	}
	if hasDotDot(uri) {
		return fmt.Errorf("static: \"..\" segment in URI %q", uri)
	}
	return nil
}

// hasDotDot reports whether a slash-separated path has a ".." segment.
func hasDotDot(p string) bool {
	for p != "" {
		seg, rest, _ := strings.Cut(p, "/")
		if seg == ".." {
			return true
		}
		p = rest
	}
	return false
}

// resolution is the per-request state of Resolve.
type resolution struct {
	rv  *Resolver
	req Request
	// root is the expanded root or alias; base is the lexical document root that
	// every path must stay inside.
	root, base string
	// realBase is base with symbolic links resolved, computed on first use.
	realBase string
	// links is disable_symlinks for this request.
	links symlinkCheck
}

// start expands the document root and checks it.
func (rv *Resolver) start(req Request) (*resolution, error) {
	c := &resolution{rv: rv, req: req, root: rv.docRoot.text, base: rv.fixedBase}
	if p := rv.symlinks.policy; p != config.SymlinksOff {
		c.links = symlinkCheck{policy: p, from: rv.symlinks.from.eval(req.Expand)}
	}
	if !rv.docRoot.vars {
		return c, nil
	}
	c.root = rv.docRoot.eval(req.Expand)
	if err := checkPath(c.root); err != nil {
		return nil, fmt.Errorf("static: document root %q: %w", c.root, err)
	}
	if !filepath.IsAbs(c.root) {
		if rv.confPrefix == "" {
			return nil, fmt.Errorf("static: document root %q is not an absolute path", c.root)
		}
		c.root = rv.confPrefix + c.root // ngx_get_full_name: no cleaning, "" is the prefix
	}
	if rv.mode != modeAliasRegex {
		c.base = filepath.Clean(c.root)
	}
	return c, nil
}

// uriPath maps a URI to its file path (ngx_http_map_uri_to_path). addURI is
// nginx's add_uri_to_alias: set after try_files chose a file in a regex location
// with alias, whose path is then the alias followed by the URI.
func (c *resolution) uriPath(uri string, addURI bool) (string, error) {
	switch c.rv.mode {
	case modeAlias:
		if len(uri) < c.rv.prefixLen {
			return "", fmt.Errorf("static: alias cannot map URI %q shorter than its location", uri)
		}
		return c.root + uri[c.rv.prefixLen:], nil
	case modeAliasRegex:
		if addURI {
			return c.root + uri, nil
		}
		return c.root, nil
	default:
		return c.root + uri, nil
	}
}

// tryFiles is the try_files phase (ngx_http_try_files_handler): the first entry
// that exists as a file (or as a directory, for an entry written with a trailing
// slash) becomes $uri for the content phase; when none does, the fallback decides.
func (c *resolution) tryFiles() Result {
	for _, e := range c.rv.try {
		name, path := c.entryPath(e.template)
		f, err := c.lookup(path)
		if err != nil || f.fi.IsDir() != e.dir {
			continue // nginx skips every error here, logging those other than ENOENT
		}
		uri, addURI := c.matchedURI(name, e.dir)
		if c.req.TryOnly {
			return Result{Kind: KindFile, URI: uri}
		}
		if e.dir {
			return c.content(uri, addURI)
		}
		if !contentMethod(c.req.Method) {
			return statusResult(http.StatusMethodNotAllowed, nil, uri)
		}
		return c.found(uri, f)
	}
	return c.fallback()
}

// entryPath expands a try_files entry and returns its name (the part that
// becomes $uri) and its file path.
func (c *resolution) entryPath(t template) (name, path string) {
	name = t.eval(c.req.Expand)
	// With alias, an entry with variables that starts with the location's prefix
	// loses it: "$uri" in "location /s/ { alias /x/; }" names /x/a for /s/a.
	if c.rv.mode == modeAlias && t.vars && len(c.req.URI) >= c.rv.prefixLen &&
		strings.HasPrefix(name, c.req.URI[:c.rv.prefixLen]) {
		name = name[c.rv.prefixLen:]
	}
	return name, c.root + name
}

// matchedURI is the $uri after try_files matched an entry, and whether the file
// path is the alias followed by that URI (regex alias).
func (c *resolution) matchedURI(name string, dir bool) (string, bool) {
	switch c.rv.mode {
	case modeAlias:
		return c.req.URI[:c.rv.prefixLen] + name, false
	case modeAliasRegex:
		if dir {
			return c.req.URI, false
		}
		return name, true
	default:
		return name, false
	}
}

// fallback applies the last try_files entry.
func (c *resolution) fallback() Result {
	fb := c.rv.fallback
	if fb.code != 0 {
		return statusResult(fb.code, nil, c.req.URI)
	}
	target := fb.eval(c.req.Expand)
	if strings.HasPrefix(target, "@") {
		return Result{Kind: KindNamedLocation, Name: target}
	}
	uri, args, _ := strings.Cut(target, "?")
	return Result{Kind: KindInternalRedirect, URI: uri, Args: args, ArgsFound: true}
}

// content is the content phase: the index module for a URI ending in "/",
// otherwise the static module. Both refuse methods other than GET, HEAD and POST.
func (c *resolution) content(uri string, addURI bool) Result {
	if !contentMethod(c.req.Method) {
		return statusResult(http.StatusMethodNotAllowed, nil, uri)
	}
	path, err := c.uriPath(uri, addURI)
	if err != nil {
		return statusResult(http.StatusInternalServerError, err, uri)
	}
	if strings.HasSuffix(uri, "/") {
		return c.index(uri, path)
	}
	f, err := c.lookup(path)
	if err != nil {
		vary := false
		if (c.req.GzipStatic || c.req.GzipVary) && isNotFound(err) {
			var res Result
			var ok bool
			if res, ok, vary = c.precompressedOnly(uri, path); ok {
				return res
			}
		}
		res := statusResult(statusOf(err), &CallError{Call: openCall(err), Path: path, Err: err}, uri)
		res.GzipVary = vary && c.req.GzipVary
		return res
	}
	return c.found(uri, f)
}

// precompressedOnly looks for path's "path.gz" for a file that does not
// exist: ok when the client gets it (Request.GzipStatic) and it is a
// regular file, which res serves; exists when it could be opened at all.
func (c *resolution) precompressedOnly(uri, path string) (res Result, ok, exists bool) {
	f, err := c.lookup(path + ".gz")
	if err != nil {
		return Result{}, false, false
	}
	if !c.req.GzipStatic || !f.fi.Mode().IsRegular() {
		return Result{}, false, true
	}
	res = c.found(uri, f)
	res.Encoding = "gzip"
	return res, res.Kind == KindFile, true
}

// CallError is a system call on a file that failed, kept apart so that the
// daemon can word it as nginx logs it (`open() "/srv/x" failed (2: No such
// file or directory)`).
type CallError struct {
	Call string // "open", "stat"
	Path string
	Err  error
}

func (e *CallError) Error() string { return e.Call + `() "` + e.Path + `" failed: ` + e.Err.Error() }

// Unwrap returns the system call's error.
func (e *CallError) Unwrap() error { return e.Err }

// NotFoundError is an index file that does not exist, or whose directory
// does not, as the index module logs it (`"/srv/d/index.html" is not found
// (2: No such file or directory)`).
type NotFoundError struct {
	Path string
	Err  error
}

func (e *NotFoundError) Error() string {
	return strconv.Quote(e.Path) + " is not found: " + e.Err.Error()
}

// Unwrap returns the file system's error.
func (e *NotFoundError) Unwrap() error { return e.Err }

// ForbiddenError is an index file the process may not open, as the index
// module logs it whatever log_not_found says (`"/srv/d/index.html" is
// forbidden (13: Permission denied)`).
type ForbiddenError struct {
	Path string
	Err  error
}

func (e *ForbiddenError) Error() string {
	return strconv.Quote(e.Path) + " is forbidden: " + e.Err.Error()
}

// Unwrap returns the file system's error.
func (e *ForbiddenError) Unwrap() error { return e.Err }

// Missing reports whether err, the Err of a KindStatus Result, says that a
// file or index file does not exist (ENOENT, ENOTDIR, ENAMETOOLONG on the
// static module's open, the index module's "is not found"): the error-log
// lines that "log_not_found off" leaves out, as nginx's static, index and
// flv modules do. Other failures are logged whatever log_not_found says.
func Missing(err error) bool {
	var nf *NotFoundError
	if errors.As(err, &nf) {
		return true
	}
	var ce *CallError
	return errors.As(err, &ce) && (ce.Call == "open" || ce.Call == "openat") && isNotFound(ce.Err)
}

// index tries the index files in order (ngx_http_index_handler). An existing
// file is served as nginx would serve it after its internal redirect to
// uri+name (the caller redirects when another location would answer it); an
// existing directory is that internal redirect.
func (c *resolution) index(uri, dir string) Result {
	if c.rv.randomIndex && randomIndexMethod(c.req.Method) {
		if res, ok := c.randomIndex(uri, dir); ok {
			return res
		}
	}
	dirTested := false
	for _, t := range c.rv.index {
		name := t.eval(c.req.Expand)
		if strings.HasPrefix(name, "/") {
			return Result{Kind: KindInternalRedirect, URI: name, Args: c.req.Args}
		}
		path := dir + name
		f, err := c.lookup(path)
		if err == nil && f.fi.IsDir() {
			// nginx opens index entries with test_dir and redirects to
			// uri+name whatever they are: a directory (or an entry that
			// evaluates to "") is an internal redirect that the new
			// location answers (its 301, or a cycle's 500), not a 301
			// from here.
			return Result{Kind: KindInternalRedirect, URI: uri + name, Args: c.req.Args}
		}
		if err == nil {
			res := c.found(uri+name, f)
			res.Index = res.Kind == KindFile
			return res
		}
		if res, stop := c.indexError(uri, path, err); stop {
			return res
		}
		if !dirTested {
			if res, stop := c.testDir(uri, dir, path); stop {
				return res
			}
			dirTested = true
		}
		if !isNotExist(err) {
			return statusResult(http.StatusInternalServerError, &CallError{Call: "stat", Path: path, Err: err}, uri)
		}
	}
	if c.rv.listing && (c.req.Method == http.MethodGet || c.req.Method == http.MethodHead) {
		return c.listing(uri, dir)
	}
	return statusResult(http.StatusForbidden, fmt.Errorf("directory index of %q is forbidden", dir), uri)
}

// randomIndex is the random_index module's turn, before the index module's
// (ngx_http_random_index_handler): an internal redirect, with the
// request's arguments, to uri followed by a regular file of the directory
// (or a link to one) chosen at random, dot files left out. A directory
// without such a file lets the index module go on (ok false); one that
// cannot be opened or read is nginx's 404, 403 or 500, logged.
func (c *resolution) randomIndex(uri, dir string) (Result, bool) {
	res := c.listing(uri, dir)
	if res.Kind != KindDirectory {
		return res, true
	}
	entries, err := ReadDir(res)
	if err != nil {
		return statusResult(ListingStatus(err), err, uri), true
	}
	files := make([]string, 0, len(entries))
	for _, e := range entries {
		if e.File {
			files = append(files, e.Name)
		}
	}
	if len(files) == 0 {
		return Result{}, false
	}
	return Result{Kind: KindInternalRedirect, URI: uri + files[rand.IntN(len(files))], Args: c.req.Args}, true
}

// randomIndexMethod reports whether random_index answers m: GET, HEAD
// and POST, as nginx's handler.
func randomIndexMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodPost
}

// listing is the autoindex module's turn after the index module found no
// index file: the directory to list, or nginx's answer when it cannot be
// opened (404 for a missing one or a file, 403 for EACCES).
func (c *resolution) listing(uri, dir string) Result {
	f, err := c.lookup(dir)
	if err == nil && !f.fi.IsDir() {
		err = syscall.ENOTDIR
	}
	if err != nil {
		ce := &CallError{Call: "opendir", Path: strings.TrimSuffix(dir, "/"), Err: sysErr(err)}
		return statusResult(ListingStatus(err), ce, uri)
	}
	return Result{Kind: KindDirectory, Status: http.StatusOK, URI: uri, Path: f.real, Base: f.base, ModTime: f.fi.ModTime()}
}

// indexError answers the index errors that stop the search at once; uri is
// the directory's $uri.
func (c *resolution) indexError(uri, path string, err error) (Result, bool) {
	switch {
	case isForbidden(err):
		return statusResult(http.StatusForbidden, &ForbiddenError{Path: path, Err: err}, uri), true
	case isNotFound(err) && !isNotExist(err):
		return statusResult(http.StatusNotFound, &NotFoundError{Path: path, Err: err}, uri), true
	}
	return Result{}, false
}

// testDir checks, after the first missing index file, that the directory itself
// exists (ngx_http_index_test_dir): a missing directory is 404, not 403. uri is
// the directory's $uri, index the index file's path (nginx names it in the
// error log, not the directory).
func (c *resolution) testDir(uri, dir, index string) (Result, bool) {
	f, err := c.lookup(dir)
	switch {
	case err == nil && f.fi.IsDir():
		return Result{}, false
	case err == nil:
		return statusResult(http.StatusInternalServerError, fmt.Errorf("%q is not a directory", dir), uri), true
	case errors.Is(err, syscall.EACCES):
		return Result{}, false // searching the directory was allowed, so go on
	case isNotExist(err):
		return statusResult(http.StatusNotFound, &NotFoundError{Path: index, Err: err}, uri), true
	}
	return statusResult(statusOf(err), &CallError{Call: "stat", Path: dir, Err: err}, uri), true
}

// found answers for an existing path, as ngx_http_static_handler does after its
// open succeeded: a directory is redirected to the URI with a slash, anything but
// a regular file is 404, POST is 405.
func (c *resolution) found(uri string, f foundFile) Result {
	if f.fi.IsDir() {
		return c.slashRedirect(uri)
	}
	if !f.fi.Mode().IsRegular() {
		return statusResult(http.StatusNotFound, fmt.Errorf("%q is not a regular file", f.real), uri)
	}
	if c.req.Method == http.MethodPost {
		return statusResult(http.StatusMethodNotAllowed, nil, uri)
	}
	return Result{
		Kind:        KindFile,
		Status:      http.StatusOK,
		URI:         uri,
		Path:        f.real,
		Base:        f.base,
		Size:        f.fi.Size(),
		ModTime:     f.fi.ModTime(),
		ContentType: c.rv.contentType(uri),
		links:       c.links,
		opened:      f.opened,
		filters:     c.rv.filters,
	}
}

// slashRedirect is the 301 for a directory requested without its slash; uri is
// the directory's $uri, without the slash.
func (c *resolution) slashRedirect(uri string) Result {
	loc := escapeURI(uri + "/")
	if c.req.Args != "" {
		loc += "?" + c.req.Args
	}
	return Result{Kind: KindRedirect, Status: http.StatusMovedPermanently, URI: uri, Location: loc}
}

// contentMethod reports the methods that nginx's index and static modules
// accept; the static module still answers 405 to a POST once it found a file.
func contentMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodPost
}

// statusResult answers code; uri is $uri at that point.
func statusResult(code int, err error, uri string) Result {
	return Result{Kind: KindStatus, Status: code, URI: uri, Err: err}
}

// openCall names the call that failed as nginx logs it: "openat" for a path
// opened component by component under disable_symlinks, else "open".
func openCall(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) && pe.Op == "openat" {
		return "openat"
	}
	return "open"
}
