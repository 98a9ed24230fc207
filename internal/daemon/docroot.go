package daemon

import (
	"fmt"
	"slices"
	"strings"

	"fulcrum/internal/config"
	"fulcrum/internal/vars"
)

// docRoot is what $document_root and $request_filename need of one level:
// its root or alias, compiled, and how the alias replaces the URI.
type docRoot struct {
	dir   *vars.Template // root (without a trailing slash) or alias
	alias bool
	// regex is an alias in a regex location: the alias is the whole file
	// name; otherwise an alias replaces the first prefix bytes of $uri.
	regex  bool
	prefix int
	// confPrefix is the configuration's prefix with a trailing slash: a
	// value with variables that comes out relative is taken from it, as
	// nginx's ngx_get_full_name does ("" without a prefix).
	confPrefix string
}

// compileDocRoots compiles the document root of every server and location.
func (s *snapshot) compileDocRoots(comp *vars.Compiler) error {
	s.docRoots = map[*config.Settings]*docRoot{}
	add := func(set *config.Settings, loc *config.Location) error {
		d := &docRoot{}
		dir := set.Root // without its trailing slash (config trims root's, not alias's)
		if dir == "/" {
			dir = "" // nginx's root / is empty: $document_root "", file names the URI
		} else if s.cfg.Prefix != "" {
			d.confPrefix = strings.TrimSuffix(s.cfg.Prefix, "/") + "/"
		}
		if set.Alias != "" && loc != nil {
			// the location where alias was written: a nested location
			// inherits its prefix length, as nginx's clcf->alias
			regex, path := loc.Regex != nil, loc.Path
			if set.AliasPath != "" || set.AliasRegex {
				regex, path = set.AliasRegex, set.AliasPath
			}
			dir, d.alias, d.regex, d.prefix = set.Alias, true, regex, len(path)
		}
		t, err := comp.Compile(dir)
		if err != nil {
			return fmt.Errorf("root or alias %q: %w", dir, err)
		}
		d.dir = t
		s.docRoots[set] = d
		return nil
	}
	return walkLevels(s.cfg.HTTP.Servers, add)
}

// AppendDocumentRoot implements vars.Documents for the level serving the
// request.
func (sc *requestScratch) AppendDocumentRoot(dst []byte, st *vars.State) ([]byte, bool) {
	d := sc.docRoot()
	if d == nil {
		return dst, false
	}
	return d.AppendDocumentRoot(dst, st)
}

// AppendRequestFilename implements vars.Documents for the level serving the
// request.
func (sc *requestScratch) AppendRequestFilename(dst []byte, st *vars.State) ([]byte, bool) {
	d := sc.docRoot()
	if d == nil {
		return dst, false
	}
	return d.AppendRequestFilename(dst, st)
}

// AppendDocumentRoot implements vars.Documents for the level of d: its root
// or alias.
func (d *docRoot) AppendDocumentRoot(dst []byte, st *vars.State) ([]byte, bool) {
	return d.appendDir(dst, st), true
}

// appendDir appends the root or alias, taken from the prefix when its value
// is relative (only one with variables can be: the others were resolved at
// load).
func (d *docRoot) appendDir(dst []byte, st *vars.State) []byte {
	start := len(dst)
	dst = d.dir.Append(dst, st)
	if d.confPrefix != "" && (len(dst) == start || dst[start] != '/') {
		dst = slices.Insert(dst, start, []byte(d.confPrefix)...)
	}
	return dst
}

// AppendRequestFilename implements vars.Documents: ngx_http_map_uri_to_path.
// Under an alias, a URI that a "rewrite ... break" changed has no file name
// (nginx logs that alias cannot be used there).
func (d *docRoot) AppendRequestFilename(dst []byte, st *vars.State) ([]byte, bool) {
	if d.alias && st.WholeURI {
		return dst, false
	}
	dst = d.appendDir(dst, st)
	switch {
	case !d.alias:
		dst = append(dst, st.Path...)
	case !d.regex && len(st.Path) >= d.prefix:
		dst = append(dst, st.Path[d.prefix:]...)
	}
	return dst, true
}

// docRoot returns the document root of the level serving the request.
func (sc *requestScratch) docRoot() *docRoot {
	rec := &sc.rec
	if rec.snap == nil || rec.set == nil {
		return nil
	}
	return rec.snap.docRoots[rec.set]
}

var _ vars.FastCGIPaths = (*requestScratch)(nil)

// AppendFastCGIScriptName implements vars.FastCGIPaths: the first capture of
// the serving level's fastcgi_split_path_info (the whole $uri when there is
// none or it does not match), with fastcgi_index after a trailing slash, as
// nginx's ngx_http_fastcgi_script_name_variable; not found, its line
// logged at alert, when the match hits its bound.
func (sc *requestScratch) AppendFastCGIScriptName(dst []byte, st *vars.State) ([]byte, bool) {
	set := sc.rec.set
	if set == nil {
		return dst, false
	}
	script, _, err := fastcgiSplit(&set.FastCGI, st.Path)
	if err != nil { // over its match bound: nginx's variable fails
		st.LogVariableAlert("fastcgi_script_name", err.Error())
		return dst, false
	}
	dst = append(dst, script...)
	if strings.HasSuffix(script, "/") {
		dst = append(dst, set.FastCGI.Index...)
	}
	return dst, true
}

// AppendFastCGIPathInfo implements vars.FastCGIPaths: the second capture of
// fastcgi_split_path_info, empty when it does not match; not found, its
// line logged at alert, when the match hits its bound.
func (sc *requestScratch) AppendFastCGIPathInfo(dst []byte, st *vars.State) ([]byte, bool) {
	set := sc.rec.set
	if set == nil {
		return dst, false
	}
	_, info, err := fastcgiSplit(&set.FastCGI, st.Path)
	if err != nil {
		st.LogVariableAlert("fastcgi_path_info", err.Error())
		return dst, false
	}
	return append(dst, info...), true
}

// fastcgiSplit splits uri into the script name and the path info with f's
// regex (its first two captures); without a regex or a match the whole uri
// is the script name. A match over its bound is err (it wraps
// pcre.ErrMatchLimit): nginx's ngx_http_fastcgi_split logs it at alert and
// both variables fail (recorded: empty, one line for each).
func fastcgiSplit(f *config.FastCGI, uri string) (script, info string, err error) {
	if f.Split == nil {
		return uri, "", nil
	}
	m, err := f.Split.Submatch(uri)
	if err != nil {
		return "", "", err
	}
	if m == nil {
		return uri, "", nil
	}
	if len(m) >= 4 && m[2] >= 0 {
		script = uri[m[2]:m[3]]
	}
	if len(m) >= 6 && m[4] >= 0 {
		info = uri[m[4]:m[5]]
	}
	return script, info, nil
}
