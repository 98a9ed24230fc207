package static

import (
	"io/fs"
	"os"
	"syscall"

	"fulcrum/internal/config"
)

// nonblock keeps the open of a FIFO from blocking.
const nonblock = syscall.O_NONBLOCK

// symlinkRule is a location's disable_symlinks, compiled once.
type symlinkRule struct {
	policy config.SymlinkPolicy
	from   template // the "from=" part; empty checks every component
}

// symlinkCheck is the rule as it applies to one request: the policy and the
// evaluated "from=" part. The zero value (SymlinksOff) checks nothing.
type symlinkCheck struct {
	policy config.SymlinkPolicy
	from   string
}

// fromLen is how many leading bytes of path are not checked, as
// ngx_http_set_disable_symlinks computes it: the from= part when path starts
// with it at a component boundary, else 0 (check from "/"). ok is false when
// from is the whole path: then nginx does not check at all.
func (sc symlinkCheck) fromLen(path string) (n int, ok bool) {
	from := sc.from
	if from == "" || len(from) > len(path) || path[:len(from)] != from {
		return 0, true
	}
	if len(from) == len(path) {
		return 0, false
	}
	if path[len(from)] == '/' {
		return len(from), true
	}
	if from[len(from)-1] == '/' {
		return len(from) - 1, true
	}
	return 0, true
}

// checks reports whether the rule checks path at all (it does not when the
// from= part is the whole path).
func (sc symlinkCheck) checks(path string) bool {
	_, ok := sc.fromLen(path)
	return ok
}

// open opens path for reading under the rule, as nginx's ngx_open_file_wrapper
// does: component by component with openat, refusing a symbolic link with
// ELOOP (the last component) or ENOTDIR (a directory on the way) under
// "on", and with ELOOP a link whose owner is not its target's under
// "if_not_owner". The file returned is the one checked, so a link swapped
// in afterwards changes nothing. Errors are *fs.PathError with Op "openat",
// as nginx logs them.
func (sc symlinkCheck) open(path string) (*os.File, error) {
	n, ok := sc.fromLen(path)
	if !ok {
		return os.OpenFile(path, os.O_RDONLY|nonblock, 0)
	}
	f, err := openNoFollow(path, n, sc.policy == config.SymlinksIfNotOwner)
	if err != nil {
		return nil, &fs.PathError{Op: "openat", Path: path, Err: err}
	}
	return f, nil
}

// stat is open followed by fstat, for Resolve's lookups.
func (sc symlinkCheck) stat(path string) (fs.FileInfo, error) {
	f, err := sc.open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.Stat()
}

// StatForTest stats path as the file tests of if (-f, -d, -e, -x) do:
// following symbolic links, unless the level's disable_symlinks refuses
// one on the way (ELOOP, the test fails), as nginx's open_file_cache test
// applies it (recorded with nginx 1.22.1: under "disable_symlinks on",
// "if (-f $request_filename)" is false for a link to a file, and under
// if_not_owner for a link to a file of another owner). expand evaluates
// the from= part's variables.
func (rv *Resolver) StatForTest(path string, expand func(string) string) (fs.FileInfo, error) {
	if rv.symlinks.policy == config.SymlinksOff {
		return os.Stat(path)
	}
	return symlinkCheck{policy: rv.symlinks.policy, from: rv.symlinks.from.eval(expand)}.stat(path)
}
