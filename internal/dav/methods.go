package dav

import (
	"crypto/rand"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path"
	"strings"
	"syscall"
)

// put is ngx_http_dav_put_handler: the body goes to a temporary file that is
// renamed over the target; 201 (with Location) for a new file, 204 for a
// replaced one, 409 for a URI ending in "/" or naming a directory, 501 for a
// Content-Range, 500 when the file cannot be written or its directory is
// missing (without create_full_put_path).
func put(req *Request, m Mapper, opt Options) Result {
	if strings.HasSuffix(req.URI, "/") {
		return fail(http.StatusConflict, "cannot PUT to a collection")
	}
	if req.Header.Get("Content-Range") != "" {
		return fail(http.StatusNotImplemented, "PUT with range is unsupported")
	}
	if req.NoBody {
		return fail(http.StatusInternalServerError, "PUT request body must be in a file")
	}
	root, rel, name, err := withRoot(m, req.URI)
	if err != nil {
		return mapFailure(err)
	}
	defer root.Close()
	if rel == "." {
		return fail(http.StatusConflict, "cannot PUT to a collection")
	}
	dir := path.Dir(rel)
	if opt.CreateFullPath {
		if err := mkdirs(root, dir, dirAccess(opt.Access)); err != nil {
			r := fsError(err, http.StatusInternalServerError, "mkdir", joinName(path.Dir(name), "", false))
			r.Status, r.Crit = http.StatusInternalServerError, true
			return r
		}
	}
	if req.Continue != nil {
		req.Continue()
	}
	tmp, res := writeTemp(root, dir, req.Body, opt.Access)
	if tmp == "" {
		return res
	}
	return putInPlace(root, req, tmp, rel, name)
}

// putInPlace renames the written temporary file tmp over rel.
func putInPlace(root *os.Root, req *Request, tmp, rel, name string) Result {
	status := http.StatusNoContent
	fi, err := root.Stat(rel)
	switch {
	case err != nil:
		status = http.StatusCreated
	case fi.IsDir():
		_ = root.Remove(tmp)
		return fail(http.StatusConflict, `"%s" could not be created (%s)`, name, errnoText(syscall.EISDIR))
	}
	setTime(root, tmp, req.Header)
	if err := root.Rename(tmp, rel); err != nil {
		_ = root.Remove(tmp)
		return Result{Status: http.StatusInternalServerError, Crit: true,
			Err: errorf(`rename() "%s" to "%s" failed (%s)`, joinName(root.Name(), tmp, false), name, errnoText(err))}
	}
	return Result{Status: status, Location: status == http.StatusCreated}
}

// BodyError wraps a failure to read the request body: the caller answers
// it as it answers any body that could not be read (413 past
// client_max_body_size, 408 on client_body_timeout, 400 for a client that
// went away).
type BodyError struct{ Err error }

func (e *BodyError) Error() string { return "reading the request body: " + e.Err.Error() }

// Unwrap returns the read error.
func (e *BodyError) Unwrap() error { return e.Err }

// writeTemp writes body to a new temporary file in dir with the permission
// bits access and returns its name; "" and the answer when that failed
// (Result.Err is a *BodyError when reading the body failed).
func writeTemp(root *os.Root, dir string, body io.Reader, access fs.FileMode) (string, Result) {
	tmp := path.Join(dir, ".fulcrum-put-"+rand.Text())
	f, err := root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		r := fsError(err, http.StatusInternalServerError, "open", joinName(root.Name(), tmp, false))
		r.Status, r.Crit = http.StatusInternalServerError, true
		return "", r
	}
	var werr error
	if body != nil {
		if _, err := io.Copy(f, onlyReader{body}); err != nil {
			werr = err
			var pe *fs.PathError
			if !errors.As(err, &pe) {
				werr = &BodyError{Err: err}
			}
		}
	}
	if werr == nil {
		werr = f.Chmod(access)
	}
	if err := f.Close(); werr == nil {
		werr = err
	}
	if werr != nil {
		_ = root.Remove(tmp)
		var be *BodyError
		if errors.As(werr, &be) {
			return "", Result{Status: http.StatusBadRequest, Err: be}
		}
		r := fsError(werr, http.StatusInternalServerError, "write", joinName(root.Name(), tmp, false))
		if r.Status != http.StatusInsufficientStorage {
			r.Status = http.StatusInternalServerError
		}
		return "", r
	}
	return tmp, Result{}
}

// onlyReader hides a body's WriterTo, so that io.Copy's errors from the
// file are *fs.PathError and the body's are not.
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

// mkdirs creates the missing directories of dir (slash-separated, relative),
// each with the permission bits mode, as nginx's ngx_create_full_path.
func mkdirs(root *os.Root, dir string, mode fs.FileMode) error {
	if dir == "." {
		return nil
	}
	p := ""
	for _, seg := range strings.Split(dir, "/") {
		p = path.Join(p, seg)
		err := root.Mkdir(p, mode)
		switch {
		case err == nil:
			if err := root.Chmod(p, mode); err != nil {
				return err
			}
		case !errors.Is(err, fs.ErrExist):
			return err
		}
	}
	return nil
}

// remove is ngx_http_dav_delete_handler: 204 when the file, or the
// directory with everything in it, is gone; 415 with a body, 409 for a URI
// not deep enough (min_delete_depth) and for a directory without its "/",
// 400 for a Depth other than infinity on a directory (0 or infinity on a
// file), 404 when nothing is there.
func remove(req *Request, m Mapper, opt Options) Result {
	if req.HasBody {
		return fail(http.StatusUnsupportedMediaType, "DELETE with body is unsupported")
	}
	if opt.MinDeleteDepth > 0 {
		if d, ok := deepEnough(req.URI, opt.MinDeleteDepth); !ok {
			return fail(http.StatusConflict, "insufficient URI depth:%d to DELETE", d)
		}
	}
	root, rel, name, err := withRoot(m, req.URI)
	if err != nil {
		return mapFailure(err)
	}
	defer root.Close()
	slash := strings.HasSuffix(req.URI, "/")
	fi, err := lstat(root, rel, slash)
	if err != nil {
		notFound := http.StatusNotFound
		if errors.Is(err, syscall.ENOTDIR) {
			notFound = http.StatusConflict
		}
		return fsError(err, notFound, "lstat", name)
	}
	if rel == "." {
		return fail(http.StatusForbidden, `DELETE "%s" refused: it is the document root`, name)
	}
	if fi.IsDir() {
		if !slash {
			return fail(http.StatusConflict, `DELETE "%s" failed (%s)`, name, errnoText(syscall.EISDIR))
		}
		if depth(req.Header, infinity) != infinity {
			return fail(http.StatusBadRequest, `"Depth" header must be infinity`)
		}
	} else if d := depth(req.Header, 0); d != 0 && d != infinity {
		return fail(http.StatusBadRequest, `"Depth" header must be 0 or infinity`)
	}
	if r := deletePath(root, rel, fi.IsDir(), strings.TrimSuffix(name, "/")); r.Status != 0 {
		return r
	}
	return Result{Status: http.StatusNoContent}
}

// deepEnough is min_delete_depth's test: uri has at least min "/" with
// something after the min-th one. It returns the count when it fails.
func deepEnough(uri string, min int) (int, bool) {
	d := 0
	for i := 0; i < len(uri); {
		c := uri[i]
		i++
		if c == '/' {
			d++
			if d >= min && i < len(uri) {
				return d, true
			}
		}
	}
	return d, false
}

// lstat is lstat(2) of rel as nginx calls it on a path that ends in "/"
// when the URI does: a file then fails with ENOTDIR, and a link to a
// directory is followed.
func lstat(root *os.Root, rel string, slash bool) (fs.FileInfo, error) {
	fi, err := root.Lstat(rel)
	if err != nil || !slash {
		return fi, err
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		fi, err = root.Stat(rel)
		if err != nil {
			return nil, err
		}
	}
	if !fi.IsDir() {
		return nil, &fs.PathError{Op: "lstat", Path: rel, Err: syscall.ENOTDIR}
	}
	return fi, nil
}

// deletePath removes a file, or a directory with everything in it; a zero
// Result when it is gone.
func deletePath(root *os.Root, rel string, dir bool, name string) Result {
	if dir {
		if err := root.RemoveAll(rel); err != nil {
			return fsError(err, http.StatusNotFound, "rmdir", name)
		}
		return Result{}
	}
	if err := root.Remove(rel); err != nil {
		return fsError(err, http.StatusNotFound, "unlink", name)
	}
	return Result{}
}

// mkcol is ngx_http_dav_mkcol_handler: 201 (with Location) when the
// directory is made, 415 with a body, 409 for a URI without its "/" or a
// missing parent, 405 when the name exists.
func mkcol(req *Request, m Mapper, opt Options) Result {
	if req.HasBody {
		return fail(http.StatusUnsupportedMediaType, "MKCOL with body is unsupported")
	}
	if !strings.HasSuffix(req.URI, "/") {
		return fail(http.StatusConflict, "MKCOL can create a collection only")
	}
	root, rel, name, err := withRoot(m, req.URI)
	if err != nil {
		return mapFailure(err)
	}
	defer root.Close()
	name = strings.TrimSuffix(name, "/")
	mode := dirAccess(opt.Access)
	if err := root.Mkdir(rel, mode); err != nil {
		return fsError(err, http.StatusConflict, "mkdir", name)
	}
	if err := root.Chmod(rel, mode); err != nil {
		return fsError(err, http.StatusInternalServerError, "chmod", name)
	}
	return Result{Status: http.StatusCreated, Location: true}
}
