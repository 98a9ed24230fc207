package dav

import (
	"errors"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path"
	"strings"
	"syscall"
)

// copyMove is ngx_http_dav_copy_move_handler, with its checks in nginx's
// order: 415 with a body; 400 without a Destination, with one on another
// host or one that does not parse or climbs with ".."; 409 when one URI is
// a collection ("/" at the end) and the other is not; 400 for a
// Destination outside an alias location's prefix, for a bad Depth (COPY: 0
// or infinity, MOVE: infinity) or a bad Overwrite (T or F); 403 onto
// itself or into itself; 409 for a file onto a directory; 412 onto an
// existing one with "Overwrite: F"; 404 when the source is missing. A
// collection answers 201, a file 204, whether the destination existed or
// not, as nginx does.
func copyMove(req *Request, m Mapper, opt Options) Result {
	c, r := checkCopyMove(req)
	if r.Status != 0 {
		return r
	}
	root, rel, name, err := withRoot(m, req.URI)
	if err != nil {
		return mapFailure(err)
	}
	defer root.Close()
	base, drel, err := m.Map(c.dest)
	if err != nil {
		return mapFailure(err)
	}
	if base != root.Name() {
		return fail(http.StatusForbidden, `"Destination" URI "%s" is outside the document root`, c.header)
	}
	c.root, c.rel, c.drel, c.name, c.dname = root, rel, drel, name, joinName(base, drel, false)
	if r := c.validatePaths(req); r.Status != 0 {
		return r
	}
	return c.run(req, opt)
}

// copyState is one COPY or MOVE.
type copyState struct {
	header    string // the Destination as sent
	dest      string // its path, decoded
	slash     bool   // the URIs are collections
	overwrite bool
	root      *os.Root
	rel, drel string // source and destination below the root
	name      string // the source for the log
	dname     string // the destination for the log
}

// checkCopyMove makes the checks that need no file system.
func checkCopyMove(req *Request) (*copyState, Result) {
	if req.HasBody {
		return nil, fail(http.StatusUnsupportedMediaType, "COPY and MOVE with body are unsupported")
	}
	vals, ok := req.Header["Destination"]
	if !ok || len(vals) == 0 {
		return nil, fail(http.StatusBadRequest, `client sent no "Destination" header`)
	}
	c := &copyState{header: vals[0], overwrite: true}
	dest, r := destinationPath(c.header, req.Host, req.TLS)
	if r.Status != 0 {
		return nil, r
	}
	c.dest, c.slash = dest, strings.HasSuffix(req.URI, "/")
	if c.slash != strings.HasSuffix(dest, "/") {
		return nil, fail(http.StatusConflict, `both URI "%s" and "Destination" URI "%s" should be either collections or non-collections`, req.URI, c.header)
	}
	if req.AliasPrefix != "" && !strings.HasPrefix(dest, req.AliasPrefix) {
		return nil, fail(http.StatusBadRequest, `"Destination" URI "%s" must be within location prefix when using "alias"`, c.header)
	}
	if d := depth(req.Header, infinity); d != infinity {
		if req.Method == "MOVE" {
			return nil, fail(http.StatusBadRequest, `"Depth" header must be infinity`)
		}
		if d != 0 {
			return nil, fail(http.StatusBadRequest, `"Depth" header must be 0 or infinity`)
		}
	}
	if vals, ok := req.Header["Overwrite"]; ok && len(vals) > 0 {
		switch vals[0] {
		case "T", "t":
		case "F", "f":
			c.overwrite = false
		default:
			return nil, fail(http.StatusBadRequest, `client sent invalid "Overwrite" header: "%s"`, vals[0])
		}
	}
	return c, Result{}
}

// destinationPath takes the path out of a Destination: one that starts with
// "/", or an absolute URL on the request's own host (any port, as nginx
// compares only the name) and scheme. Like nginx's
// ngx_http_parse_unsafe_uri, it drops the query, decodes escapes once and
// refuses a ".." segment or a NUL byte; then it drops "." segments and
// merges slashes, keeping a final "/".
func destinationPath(dest, host string, tls bool) (string, Result) {
	p := dest
	if !strings.HasPrefix(dest, "/") {
		if host == "" {
			return "", fail(http.StatusBadRequest, `client sent no "Host" header`)
		}
		scheme := "http://"
		if tls {
			scheme = "https://"
		}
		rest, ok := strings.CutPrefix(dest, scheme)
		if !ok {
			return "", invalidDestination(dest)
		}
		if !strings.HasPrefix(rest, host) {
			return "", fail(http.StatusBadRequest, `"Destination" URI "%s" is handled by different repository than the source URI`, dest)
		}
		i := strings.IndexByte(rest[len(host):], '/')
		if i < 0 {
			return "", invalidDestination(dest)
		}
		p = rest[len(host)+i:]
	}
	if i := strings.IndexByte(p, '?'); i >= 0 {
		p = p[:i]
	}
	dec, ok := unescape(p)
	if !ok || strings.IndexByte(dec, 0) >= 0 || hasDotDot(dec) {
		return "", invalidDestination(dest)
	}
	return cleanPath(dec), Result{}
}

func invalidDestination(dest string) Result {
	return fail(http.StatusBadRequest, `client sent invalid "Destination" header: "%s"`, dest)
}

// unescape decodes %XX escapes once; false for a malformed one.
func unescape(s string) (string, bool) {
	if strings.IndexByte(s, '%') < 0 {
		return s, true
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b = append(b, s[i])
			continue
		}
		if i+2 >= len(s) {
			return "", false
		}
		hi, ok1 := unhex(s[i+1])
		lo, ok2 := unhex(s[i+2])
		if !ok1 || !ok2 {
			return "", false
		}
		b = append(b, hi<<4|lo)
		i += 2
	}
	return string(b), true
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// hasDotDot reports a ".." segment.
func hasDotDot(p string) bool {
	for _, seg := range strings.Split(p, "/") {
		if seg == ".." {
			return true
		}
	}
	return false
}

// cleanPath drops "." segments and merges slashes, keeping a final "/".
func cleanPath(p string) string {
	c := path.Clean(p)
	if strings.HasSuffix(p, "/") && c != "/" || strings.HasSuffix(p, "/.") {
		c += "/"
	}
	return c
}

// validatePaths refuses, with 403, a destination that is the source, the
// document root, or (for collections) inside the source or around it, as
// later nginx versions' ngx_http_dav_validate_paths do.
func (c *copyState) validatePaths(req *Request) Result {
	switch {
	case c.rel == "." || c.drel == ".":
		return fail(http.StatusForbidden, `%s of the document root refused`, req.Method)
	case c.rel == c.drel:
		return fail(http.StatusForbidden, `both URI "%s" and "Destination" URI "%s" point to the same location`, req.URI, c.header)
	case c.slash && (strings.HasPrefix(c.drel, c.rel+"/") || strings.HasPrefix(c.rel, c.drel+"/")):
		return fail(http.StatusForbidden, `"%s" could not be %sed to collection "%s"`, req.URI, req.Method, c.header)
	}
	return Result{}
}

// run carries out the COPY or MOVE once the paths are valid.
func (c *copyState) run(req *Request, opt Options) Result {
	dfi, err := c.root.Lstat(c.drel)
	ddir := false
	switch {
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return fsError(err, http.StatusNotFound, "lstat", c.dname)
	case err != nil:
		c.overwrite = false // nothing to overwrite
	case dfi.IsDir() && !c.slash:
		return fail(http.StatusConflict, `"%s" could not be %sed to collection "%s"`, req.URI, req.Method, c.header)
	case !c.overwrite:
		return fail(http.StatusPreconditionFailed, `"%s" could not be created (%s)`, c.dname, errnoText(syscall.EEXIST))
	default:
		ddir = dfi.IsDir()
	}
	sfi, err := lstat(c.root, c.rel, c.slash)
	if err != nil {
		return fsError(err, http.StatusNotFound, "lstat", c.name)
	}
	if !sfi.IsDir() {
		return c.file(req, opt, sfi)
	}
	if !c.slash {
		return fail(http.StatusBadRequest, `"%s" is collection`, req.URI)
	}
	if c.overwrite {
		if r := deletePath(c.root, c.drel, ddir, c.dname); r.Status != 0 {
			return r
		}
	}
	return c.dir(req, sfi)
}

// file copies or moves a file: 204, or 500 when it fails (a missing
// directory on the destination's path is created for MOVE, with
// dav_access's rights, not for COPY).
func (c *copyState) file(req *Request, opt Options, sfi fs.FileInfo) Result {
	if req.Method == "MOVE" {
		err := mkdirs(c.root, path.Dir(c.drel), dirAccess(opt.Access))
		if err == nil {
			err = c.root.Rename(c.rel, c.drel)
		}
		if err != nil {
			return Result{Status: http.StatusInternalServerError, Crit: true,
				Err: errorf(`rename() "%s" to "%s" failed (%s)`, c.name, c.dname, errnoText(err))}
		}
		return Result{Status: http.StatusNoContent}
	}
	if err := copyFile(c.root, c.rel, c.drel, sfi); err != nil {
		r := fsError(err, http.StatusInternalServerError, "open", c.dname)
		r.Status, r.Crit = http.StatusInternalServerError, true
		return r
	}
	return Result{Status: http.StatusNoContent}
}

// dir copies or moves a directory: 201. MOVE renames it; COPY (and a MOVE
// that could not rename) copies the tree, skipping what is neither a file
// nor a directory (symbolic links), then MOVE deletes the source.
func (c *copyState) dir(req *Request, sfi fs.FileInfo) Result {
	if req.Method == "MOVE" {
		if err := c.root.Rename(c.rel, c.drel); err == nil {
			return Result{Status: http.StatusCreated}
		}
	}
	if err := c.root.Mkdir(c.drel, sfi.Mode().Perm()); err != nil {
		return fsError(err, http.StatusNotFound, "mkdir", c.dname)
	}
	_ = c.root.Chmod(c.drel, sfi.Mode().Perm())
	copyTree(c.root, c.rel, c.drel)
	_ = c.root.Chtimes(c.drel, sfi.ModTime(), sfi.ModTime())
	if req.Method == "MOVE" {
		if r := deletePath(c.root, c.rel, true, c.name); r.Status != 0 {
			return r
		}
	}
	return Result{Status: http.StatusCreated}
}

// copyTree copies what is inside the directory src into dst, as nginx's
// tree walk does: errors on the way are skipped (nginx logs them and goes
// on), files keep their rights and times, directories too.
func copyTree(root *os.Root, src, dst string) {
	d, err := root.Open(src)
	if err != nil {
		return
	}
	entries, _ := d.ReadDir(-1)
	d.Close()
	for _, e := range entries {
		s, t := path.Join(src, e.Name()), path.Join(dst, e.Name())
		fi, err := e.Info()
		if err != nil {
			continue
		}
		switch {
		case fi.IsDir():
			mode := dirAccess(fi.Mode().Perm()) // ngx_http_dav_copy_dir's
			if root.Mkdir(t, mode) == nil {
				_ = root.Chmod(t, mode)
				copyTree(root, s, t)
				_ = root.Chtimes(t, fi.ModTime(), fi.ModTime())
			}
		case fi.Mode().IsRegular():
			_ = copyFile(root, s, t, fi)
		}
	}
}

// copyFile copies the file src to dst (created or truncated) with src's
// rights and modification time, as ngx_copy_file.
func copyFile(root *os.Root, src, dst string, fi fs.FileInfo) error {
	in, err := root.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := root.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, fi.Mode().Perm())
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if err == nil {
		err = out.Chmod(fi.Mode().Perm())
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return root.Chtimes(dst, fi.ModTime(), fi.ModTime())
}
