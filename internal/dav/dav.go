// Package dav carries out the WebDAV methods of nginx's ngx_http_dav_module
// (PUT, DELETE, MKCOL, COPY, MOVE) on a document root, with nginx 1.22's
// status codes, checks and order of checks.
//
// Every file system call goes through an [os.Root] opened on the document
// root, so no path, symbolic link or Destination can reach outside it. The
// caller (the daemon's static file handler) maps URIs to paths below the root
// ([Mapper]), reads nothing itself, and sends the [Result].
//
// # Where fulcrum differs from nginx
//
//   - PUT writes the body to a temporary file in the target's directory
//     (".fulcrum-put-" and random digits) and renames it into place, where
//     nginx writes it under client_body_temp_path first; the rename is atomic
//     either way, and a client never sees a half-written file.
//   - COPY or MOVE onto itself, or of a collection into itself, is refused
//     with 403, as later nginx versions do; nginx 1.22 answers 500 to the
//     first and copies a collection into itself until the path is too long.
//   - DELETE of the document root itself, and COPY or MOVE from or onto it,
//     are refused with 403 (nginx 1.22 deletes the root directory).
//   - A symbolic link that leads out of the document root is not followed:
//     the call fails as if the file were missing or forbidden.
package dav

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"strings"
	"syscall"

	"fulcrum/internal/errlog"
)

// Options are a location's dav settings.
type Options struct {
	// Access (dav_access) are the permission bits of the files PUT creates;
	// directories get x added wherever r is (nginx's ngx_dir_access).
	Access fs.FileMode
	// CreateFullPath (create_full_put_path) creates PUT's missing
	// directories.
	CreateFullPath bool
	// MinDeleteDepth (min_delete_depth) is the number of "/" segments a
	// DELETE's URI needs.
	MinDeleteDepth int
}

// Mapper maps a URI to its place below the document root; the daemon
// implements it with static.Resolver.Target.
type Mapper interface {
	// Map returns the document root and the clean relative path of uri
	// ("." for the root). An error means the URI cannot be mapped: it
	// leaves the root, or lies outside an alias location's prefix.
	Map(uri string) (base, rel string, err error)
}

// Request is what a WebDAV method needs of the HTTP request.
type Request struct {
	// Method is PUT, DELETE, MKCOL, COPY or MOVE.
	Method string
	// URI is the normalised $uri.
	URI string
	// Header holds Depth, Destination, Overwrite, Content-Range and Date.
	Header http.Header
	// Host is the request's host name without the port, lower-case, as
	// nginx's $host; "" when the request had none.
	Host string
	// TLS reports an https request (a Destination must then be https).
	TLS bool
	// Body is the request body (PUT); nil or http.NoBody without one.
	Body io.Reader
	// Continue, when not nil, is called right before PUT reads the body
	// (it answers "Expect: 100-continue"); a PUT refused before that gets
	// its answer without a 100, as in nginx.
	Continue func()
	// HasBody reports a body declared with a positive Content-Length or
	// chunked framing; DELETE, MKCOL, COPY and MOVE refuse one with 415.
	HasBody bool
	// NoBody reports a request with neither Content-Length nor chunked
	// framing: nginx answers such a PUT with 500.
	NoBody bool
	// AliasPrefix is the location's prefix when its alias maps URIs (a
	// COPY or MOVE Destination must start with it); "" otherwise.
	AliasPrefix string
}

// Result is what to answer.
type Result struct {
	// Status is the answer: 201 and 204 go out without a body (201 with
	// Content-Length: 0), the others as error pages.
	Status int
	// Location, for a 201 of PUT or MKCOL, is the request's URI escaped as
	// nginx escapes it, for the caller to make absolute.
	Location bool
	// Err, when not nil, is logged (at error, or crit with Crit), in
	// nginx's words.
	Err error
	// Crit reports an error nginx logs at crit rather than error.
	Crit bool
}

// Handle carries out req on the document root m maps it to.
func Handle(req *Request, m Mapper, opt Options) Result {
	switch req.Method {
	case http.MethodPut:
		return put(req, m, opt)
	case http.MethodDelete:
		return remove(req, m, opt)
	case "MKCOL":
		return mkcol(req, m, opt)
	case "COPY", "MOVE":
		return copyMove(req, m, opt)
	}
	return Result{Status: http.StatusMethodNotAllowed}
}

// fail is a Result with an error to log.
func fail(status int, format string, args ...any) Result {
	return Result{Status: status, Err: errorf(format, args...)}
}

// dirAccess is nginx's ngx_dir_access: x wherever r is.
func dirAccess(a fs.FileMode) fs.FileMode {
	return a | (a&0o444)>>2
}

// fsError is ngx_http_dav_error: the status for a failed file system call
// (notFound for ENOENT, ENOTDIR, ENAMETOOLONG; 403 for EACCES and EPERM,
// and for a path a symbolic link would lead out of the root; 405 for
// EEXIST; 507 for ENOSPC; 500 otherwise), with nginx's log line.
func fsError(err error, notFound int, call, path string) Result {
	r := Result{Err: errorf(`%s() "%s" failed (%s)`, call, path, errnoText(err))}
	switch {
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ENOTDIR), errors.Is(err, syscall.ENAMETOOLONG):
		r.Status = notFound
	case errors.Is(err, fs.ErrPermission), errors.Is(err, syscall.EPERM), isEscape(err):
		r.Status = http.StatusForbidden
	case errors.Is(err, fs.ErrExist):
		r.Status = http.StatusMethodNotAllowed
	case errors.Is(err, syscall.ENOSPC):
		r.Status, r.Crit = http.StatusInsufficientStorage, true
	default:
		r.Status, r.Crit = http.StatusInternalServerError, true
	}
	return r
}

// isEscape reports os.Root's refusal of a path that leaves it.
func isEscape(err error) bool {
	return err != nil && strings.Contains(err.Error(), "path escapes from parent")
}

// errnoText words err as nginx's "(2: No such file or directory)" does.
func errnoText(err error) string {
	if isEscape(err) {
		return "path leaves the document root"
	}
	return errlog.Errno(err)
}

// errorf is a log message (never wrapped: it is the whole line).
func errorf(format string, args ...any) error {
	return fmt.Errorf(format, args...)
}

// depth is ngx_http_dav_depth: 0, 1, infinity (-1), the default when the
// field is missing, and invalid (-2) for anything else.
func depth(h http.Header, dflt int) int {
	v, ok := h["Depth"]
	if !ok || len(v) == 0 {
		return dflt
	}
	switch v[0] {
	case "0":
		return 0
	case "1":
		return 1
	case "infinity":
		return infinity
	}
	return invalidDepth
}

const (
	infinity     = -1
	invalidDepth = -2
)

// withRoot opens the document root of uri and returns the root, the
// relative path, and the file's name for the error log.
func withRoot(m Mapper, uri string) (*os.Root, string, string, error) {
	base, rel, err := m.Map(uri)
	if err != nil {
		return nil, "", "", err
	}
	root, err := os.OpenRoot(base)
	if err != nil {
		return nil, "", "", err
	}
	return root, rel, joinName(base, rel, strings.HasSuffix(uri, "/")), nil
}

// joinName is the file name nginx logs: base and rel, with uri's slash.
func joinName(base, rel string, slash bool) string {
	name := base
	if rel != "." {
		name = strings.TrimSuffix(base, "/") + "/" + rel
	}
	if slash && !strings.HasSuffix(name, "/") {
		name += "/"
	}
	return name
}

// mapFailure answers a URI the mapper refused: 404 for a path beside the
// document root (nginx would find no file there), 403 for one that leaves
// it, 500 when the root cannot be opened.
func mapFailure(err error) Result {
	var pe *fs.PathError
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return Result{Status: http.StatusNotFound, Err: err}
	case errors.As(err, &pe):
		return fsError(err, http.StatusInternalServerError, "open", pe.Path)
	}
	return Result{Status: http.StatusForbidden, Err: err}
}

// setTime sets a file's modification time from the request's Date, as
// nginx's PUT does; a Date that does not parse is ignored.
func setTime(root *os.Root, rel string, h http.Header) {
	v := h.Get("Date")
	if v == "" {
		return
	}
	if t, err := http.ParseTime(v); err == nil {
		_ = root.Chtimes(rel, t, t)
	}
}
