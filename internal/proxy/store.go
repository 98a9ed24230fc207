package proxy

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"fulcrum/internal/errlog"
	"fulcrum/internal/h1"
	"fulcrum/internal/vars"
)

// storeRule is a location's proxy_store: where a 200 response goes and with
// which permissions. nil on the Handler when the location does not store, so
// a request pays one field check for it.
type storeRule struct {
	path   *vars.Template // the file name (proxy_store on: $request_filename)
	access fs.FileMode    // proxy_store_access
}

// compileStore compiles proxy_store; nil when it is off.
func compileStore(c *vars.Compiler, path string, access fs.FileMode) (*storeRule, error) {
	if path == "" {
		return nil, nil
	}
	t, err := c.Compile(path)
	if err != nil {
		return nil, fmt.Errorf("proxy_store: %w", err)
	}
	if access == 0 {
		access = 0o600
	}
	return &storeRule{path: t, access: access}, nil
}

// storing is one request's file being stored: the temporary file the body
// is written to beside its final name, and that name.
type storing struct {
	tmp    *os.File
	path   string
	n      int64 // bytes written
	failed bool  // a write to tmp failed: the file is dropped
}

// Write writes to the temporary file; a failure is remembered, never
// returned, so that the client's response goes on.
func (s *storing) Write(p []byte) (int, error) {
	if s.failed {
		return len(p), nil
	}
	n, err := s.tmp.Write(p)
	s.n += int64(n)
	if err != nil {
		s.failed = true
	}
	return len(p), nil
}

// startStore begins storing req's response when nginx would: a 200 from the
// upstream, for any method but HEAD (whose response has no body to store),
// with proxy_buffering on (nginx stores only through its buffered pipe).
// The temporary file is created in the final file's directory, made with
// the directory permissions of proxy_store_access when missing, so that the
// rename at the end is atomic.
func (h *Handler) startStore(req *request) {
	resp := &req.resp
	if resp.head.Status != http.StatusOK || req.in.Method == http.MethodHead || !h.set.ProxyBuffering || resp.upgraded {
		return
	}
	path := string(h.store.path.Append(nil, req.st))
	if path == "" {
		return
	}
	// A name with a trailing slash keeps it: the rename fails with ENOTDIR,
	// as nginx's does.
	dir := filepath.Dir(strings.TrimRight(path, "/"))
	if err := mkdirAll(dir, dirAccess(h.store.access)); err != nil {
		h.log.LogRequest(errlog.Crit, req.logRequest(""), fmt.Sprintf("mkdir() %q failed (%s) while reading upstream", dir, errlog.Errno(err)))
		return
	}
	tmp, err := os.CreateTemp(dir, ".fulcrum-store-*")
	if err != nil {
		h.log.LogRequest(errlog.Crit, req.logRequest(""), fmt.Sprintf("cannot create temporary file in %q (%s) while reading upstream", dir, errlog.Errno(err)))
		return
	}
	req.store = &storing{tmp: tmp, path: path}
}

// endStore renames the temporary file to its final name when the whole body
// came (ok; for a Content-Length body, exactly that many bytes), with the
// upstream's Last-Modified as its time, as ngx_http_upstream_store does; else
// it removes it.
func (h *Handler) endStore(req *request, ok bool) {
	s := req.store
	req.store = nil
	head := &req.resp.head
	if ok && head.Framing == h1.LengthBody && s.n != head.ContentLength {
		ok = false
	}
	err := s.tmp.Close()
	if !ok || s.failed || err != nil {
		os.Remove(s.tmp.Name())
		return
	}
	if err := os.Chmod(s.tmp.Name(), h.store.access); err != nil {
		h.storeFailed(req, s, "chmod", err)
		return
	}
	if v := head.Headers.Get("Last-Modified"); v != nil {
		if t, err := http.ParseTime(string(v)); err == nil {
			_ = os.Chtimes(s.tmp.Name(), time.Time{}, t)
		}
	}
	if err := os.Rename(s.tmp.Name(), s.path); err != nil {
		h.storeFailed(req, s, "rename", err)
	}
}

// storeFailed logs a failed call at the end of a store as nginx does
// (`rename() "tmp" to "path" failed (13: Permission denied)`) and removes
// the temporary file.
func (h *Handler) storeFailed(req *request, s *storing, call string, err error) {
	os.Remove(s.tmp.Name())
	msg := call + "() " + strconv.Quote(s.tmp.Name()) + " to " + strconv.Quote(s.path) + " failed (" + errlog.Errno(unwrapPathErr(err)) + ") while reading upstream"
	h.log.LogRequest(errlog.Crit, req.logRequest(""), msg)
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

// storeTee writes the body to the client and to the stored file.
type storeTee struct {
	w io.Writer
	s *storing
}

func (t storeTee) Write(p []byte) (int, error) {
	_, _ = t.s.Write(p)
	return t.w.Write(p)
}
