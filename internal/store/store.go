// Package store saves upstream responses to files, as nginx's
// ngx_http_upstream_store does for proxy_store, fastcgi_store, scgi_store
// and uwsgi_store: the body goes to a temporary file beside its final name,
// which is renamed into place only when the whole body came. The proxy and
// the FastCGI client (which serves SCGI and uwsgi too) share it.
package store

import (
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"fulcrum/internal/errlog"
	"fulcrum/internal/vars"
)

// DefaultAccess is *_store_access's default, "user:rw".
const DefaultAccess fs.FileMode = 0o600

// Rule is a location's *_store: where a 200 response goes and with which
// permissions. A handler keeps a nil *Rule when its location does not
// store, so that a request pays one field check for it.
type Rule struct {
	path   *vars.Template // the file name (*_store on: $request_filename)
	access fs.FileMode    // *_store_access
}

// Compile compiles the file name template of directive (proxy_store,
// fastcgi_store, ...) with c; nil when path is "" (off). An access of 0
// means DefaultAccess.
func Compile(c *vars.Compiler, directive, path string, access fs.FileMode) (*Rule, error) {
	if path == "" {
		return nil, nil
	}
	t, err := c.Compile(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", directive, err)
	}
	if access == 0 {
		access = DefaultAccess
	}
	return &Rule{path: t, access: access}, nil
}

// File is one response being stored: the temporary file the body is
// written to beside its final name, and that name. It is used by one
// request at a time.
type File struct {
	tmp    *os.File
	path   string
	access fs.FileMode
	n      int64 // bytes written
	failed bool  // a write to tmp failed: the file is dropped
}

// Open begins storing a response under the name the rule's template gives
// for st. The caller has checked what nginx checks first: a 200 response,
// buffered, to a request other than HEAD. The temporary file is created in
// the final file's directory, made with the directory permissions of the
// access when missing, so that the rename at the end is atomic. Open
// returns nil, nil when the name is empty, and an error worded as nginx's
// log line (without its "while ..." context) when it cannot begin.
func (r *Rule) Open(st *vars.State) (*File, error) {
	path := string(r.path.Append(nil, st))
	if path == "" {
		return nil, nil
	}
	// A name with a trailing slash keeps it: the rename fails with ENOTDIR,
	// as nginx's does.
	dir := filepath.Dir(strings.TrimRight(path, "/"))
	if err := mkdirAll(dir, dirAccess(r.access)); err != nil {
		return nil, fmt.Errorf("mkdir() %q failed (%s)", dir, errlog.Errno(unwrapPathErr(err)))
	}
	tmp, err := os.CreateTemp(dir, TempPrefix+"*")
	if err != nil {
		return nil, fmt.Errorf("cannot create temporary file in %q (%s)", dir, errlog.Errno(unwrapPathErr(err)))
	}
	return &File{tmp: tmp, path: path, access: r.access}, nil
}

// TempPrefix begins the name of a temporary file being stored.
const TempPrefix = ".fulcrum-store-"

// Write writes to the temporary file; a failure is remembered, never
// returned, so that the client's response goes on.
func (f *File) Write(p []byte) (int, error) {
	if f.failed {
		return len(p), nil
	}
	n, err := f.tmp.Write(p)
	f.n += int64(n)
	if err != nil {
		f.failed = true
	}
	return len(p), nil
}

// Written is the number of body bytes written so far.
func (f *File) Written() int64 { return f.n }

// Close ends the store. When ok (the whole body came; want, when not -1, is
// the Content-Length the body must match), the temporary file gets the
// access bits and the time of lastModified (the response's Last-Modified,
// nil for none), as ngx_http_upstream_store does, and is renamed to its
// final name; else it is removed. The error, worded as nginx's log line
// (without its "while ..." context), is that of a chmod or rename that
// failed.
func (f *File) Close(ok bool, want int64, lastModified []byte) error {
	if ok && want != -1 && f.n != want {
		ok = false
	}
	err := f.tmp.Close()
	if !ok || f.failed || err != nil {
		os.Remove(f.tmp.Name())
		return nil
	}
	if err := os.Chmod(f.tmp.Name(), f.access); err != nil {
		return f.failure("chmod", err)
	}
	if lastModified != nil {
		if t, err := http.ParseTime(string(lastModified)); err == nil {
			_ = os.Chtimes(f.tmp.Name(), time.Time{}, t)
		}
	}
	if err := os.Rename(f.tmp.Name(), f.path); err != nil {
		return f.failure("rename", err)
	}
	return nil
}

// failure removes the temporary file and words a failed call at the end of
// a store as nginx does (`rename() "tmp" to "path" failed (13: Permission
// denied)`).
func (f *File) failure(call string, err error) error {
	os.Remove(f.tmp.Name())
	return errors.New(call + "() " + strconv.Quote(f.tmp.Name()) + " to " + strconv.Quote(f.path) + " failed (" + errlog.Errno(unwrapPathErr(err)) + ")")
}

// unwrapPathErr returns the system call's error inside a *fs.PathError or
// *os.LinkError.
func unwrapPathErr(err error) error {
	var pe *fs.PathError
	var le *os.LinkError
	switch {
	case errors.As(err, &le):
		return le.Err
	case errors.As(err, &pe):
		return pe.Err
	}
	return err
}

// mkdirAll makes dir and its missing parents with mode, whatever the umask
// (nginx's ngx_create_full_path, whose directories keep their mode).
func mkdirAll(dir string, mode fs.FileMode) error {
	if fi, err := os.Stat(dir); err == nil && fi.IsDir() {
		return nil
	}
	if parent := filepath.Dir(dir); parent != dir {
		if err := mkdirAll(parent, mode); err != nil {
			return err
		}
	}
	if err := os.Mkdir(dir, mode); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil // made meanwhile by another request
		}
		return err
	}
	return os.Chmod(dir, mode)
}

// dirAccess is ngx_dir_access: a directory gets x wherever the file has r.
func dirAccess(a fs.FileMode) fs.FileMode {
	return a | (a&0o444)>>2
}
