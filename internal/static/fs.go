package static

import (
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"fulcrum/internal/config"
)

// ErrOutsideRoot means a path would leave its document root: it has a ".."
// segment or a NUL byte, or a symbolic link on the way leads outside. Resolve
// answers 403 for it (try_files skips the entry).
var ErrOutsideRoot = errors.New("path leaves the document root")

// errBesideRoot means a path built by concatenation is a sibling of the
// document root: "location /p/ { alias /d/x; }" maps "/p/f" to "/d/xf". nginx
// opens that file; fulcrum never does and answers as nginx does when no such
// file exists (it wraps ENOENT, which is fs.ErrNotExist): 404, and the index
// module walks past it to its directory test; the error line says `(2: No such
// file or directory)`, as nginx's does when the file is missing.
var errBesideRoot = fmt.Errorf("path is beside the document root: %w", syscall.ENOENT)

// ErrMethodNotAllowed is ServeFile's answer to a method other than GET and HEAD.
var ErrMethodNotAllowed = errors.New("method not allowed")

// ErrNotFile is ServeFile's answer to a Result whose Kind is not KindFile.
var ErrNotFile = errors.New("result is not a file")

// ErrPreconditionFailed is ServeFile's answer when If-Match or
// If-Unmodified-Since fails: 412, with an error page as in nginx.
var ErrPreconditionFailed = errors.New("precondition failed")

// ErrRangeNotSatisfiable is ServeFile's answer to a Range that is malformed or
// names no byte of the file: 416, with an error page and the Content-Range
// ServeFile left in the header, as in nginx.
var ErrRangeNotSatisfiable = errors.New("requested range not satisfiable")

// foundFile is an existing path inside the document root.
type foundFile struct {
	real string // the path with symbolic links resolved
	base string // the document root with symbolic links resolved
	fi   fs.FileInfo
	// opened is the path as looked up, which disable_symlinks opens again.
	opened string
}

// lookup stats path and checks that it stays inside the document root, both as
// written and with its symbolic links resolved. Errors are the file system's own
// (ENOENT, ENOTDIR, EACCES, ELOOP, ...) or wrap ErrOutsideRoot.
//
// The usual case costs one lstat per path component below the document root:
// without a symbolic link on the way, the path is inside by its text. Only a path
// with a link below the root pays for resolving the links (EvalSymlinks). The
// root itself and its parents are the operator's and may be links.
func (c *resolution) lookup(path string) (foundFile, error) {
	// The root or alias itself is the operator's (or was checked when its
	// variables were expanded, start): only what the URI, an index name or
	// a try_files entry added may not hold a ".." segment. nginx serves a
	// configured "alias /srv/./cached/../;" (recorded with nginx 1.22.1,
	// disable_symlinks on too; nginx-tests' http_disable_symlinks.t,
	// "complex root").
	rest := path
	if c.root != "" && strings.HasPrefix(path, c.root) {
		cut := len(c.root)
		if c.root[cut-1] != '/' && cut < len(path) && path[cut] != '/' {
			// an alias without its slash: the URI continues the
			// root's last component ("alias /srv/a;" and /al..x)
			cut = strings.LastIndexByte(c.root, '/') + 1
		}
		rest = path[cut:]
	}
	if err := checkPath(rest); err != nil {
		return foundFile{}, err
	}
	if c.links.policy != config.SymlinksOff {
		// nginx opens the path as written, component by component.
		if _, err := c.links.stat(path); err != nil {
			return foundFile{}, err
		}
	}
	clean := filepath.Clean(path)
	if !within(clean, c.base) {
		return foundFile{}, &fs.PathError{Op: "open", Path: path, Err: errBesideRoot}
	}
	fi, linked, err := walk(c.base, clean)
	if err != nil {
		return foundFile{}, err
	}
	if linked {
		return c.lookupLinked(path)
	}
	if strings.HasSuffix(path, "/") && !fi.IsDir() {
		return foundFile{}, &fs.PathError{Op: "stat", Path: path, Err: syscall.ENOTDIR}
	}
	return foundFile{real: clean, base: c.base, fi: fi, opened: path}, nil
}

// walk lstats every component of p below base, in order, and returns the last
// one's information, or linked when one of them is a symbolic link. p is clean
// and inside base.
func walk(base, p string) (fi fs.FileInfo, linked bool, err error) {
	if p == base {
		fi, err = os.Stat(base)
		return fi, false, err
	}
	i := len(base) + 1
	if base == "/" {
		i = 1
	}
	for {
		j := strings.IndexByte(p[i:], '/')
		end := len(p)
		if j >= 0 {
			end = i + j
		}
		if fi, err = os.Lstat(p[:end]); err != nil {
			return nil, false, err
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			return nil, true, nil
		}
		if j < 0 {
			return fi, false, nil
		}
		i = end + 1
	}
}

// lookupLinked is lookup for a path with a symbolic link below the root: the
// kernel's stat decides existence, then the resolved path must be inside the
// resolved root.
func (c *resolution) lookupLinked(path string) (foundFile, error) {
	// Stat first: it gives the kernel's answer for missing targets, loops and a
	// trailing slash after a file, which EvalSymlinks would hide.
	fi, err := os.Stat(path)
	if err != nil {
		return foundFile{}, err
	}
	base, err := c.resolvedBase()
	if err != nil {
		return foundFile{}, err
	}
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return foundFile{}, err
	}
	if !within(real, base) {
		return foundFile{}, fmt.Errorf("%w: %q resolves to %q", ErrOutsideRoot, path, real)
	}
	return foundFile{real: real, base: base, fi: fi, opened: path}, nil
}

// resolvedBase is the document root with its symbolic links resolved (the root
// itself may be a link), computed once per request.
func (c *resolution) resolvedBase() (string, error) {
	if c.realBase == "" {
		real, err := filepath.EvalSymlinks(c.base)
		if err != nil {
			return "", err
		}
		c.realBase = real
	}
	return c.realBase, nil
}

// checkPath refuses a path with a NUL byte or a ".." segment, whatever the rest.
func checkPath(p string) error {
	if strings.IndexByte(p, 0) >= 0 {
		return fmt.Errorf("%w: NUL byte in %q", ErrOutsideRoot, p)
	}
	if hasDotDot(p) {
		return fmt.Errorf("%w: \"..\" segment in %q", ErrOutsideRoot, p)
	}
	return nil
}

// within reports whether the clean absolute path p is base or below it.
func within(p, base string) bool {
	if base == "/" {
		return strings.HasPrefix(p, "/")
	}
	return p == base || strings.HasPrefix(p, base) && p[len(base)] == '/'
}

// isNotExist is ENOENT, the one error the index module walks past.
func isNotExist(err error) bool {
	return errors.Is(err, fs.ErrNotExist)
}

// isNotFound is the set nginx's static module answers with 404.
func isNotFound(err error) bool {
	return isNotExist(err) || errors.Is(err, syscall.ENOTDIR) || errors.Is(err, syscall.ENAMETOOLONG)
}

// isForbidden is the set nginx answers with 403 (ELOOP and EMLINK come from
// refused symbolic links), plus fulcrum's own refusals.
func isForbidden(err error) bool {
	return errors.Is(err, ErrOutsideRoot) || errors.Is(err, syscall.EACCES) ||
		errors.Is(err, syscall.ELOOP) || errors.Is(err, syscall.EMLINK)
}

// statusOf maps a file system error to the status nginx's static module sends.
func statusOf(err error) int {
	switch {
	case isForbidden(err):
		return http.StatusForbidden
	case isNotFound(err):
		return http.StatusNotFound
	}
	return http.StatusInternalServerError
}

// ErrorStatus is the status to answer when ServeFile returned err without
// writing a status: 404 for a file that vanished, 403 for a refused one
// (permissions, ErrOutsideRoot), 405 for ErrMethodNotAllowed, 412 for
// ErrPreconditionFailed, 416 for ErrRangeNotSatisfiable, 500 otherwise.
func ErrorStatus(err error) int {
	switch {
	case errors.Is(err, ErrMethodNotAllowed):
		return http.StatusMethodNotAllowed
	case errors.Is(err, ErrPreconditionFailed):
		return http.StatusPreconditionFailed
	case errors.Is(err, ErrRangeNotSatisfiable):
		return http.StatusRequestedRangeNotSatisfiable
	}
	return statusOf(err)
}
