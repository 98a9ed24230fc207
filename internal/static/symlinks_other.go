//go:build !linux && !freebsd

package static

import (
	"os"
	"syscall"
)

// openNoFollow would open path refusing symbolic links, as on Linux and
// FreeBSD; here (macOS: no openat in package syscall) disable_symlinks is
// not supported, and config refuses it (symlinkCheckOn). Reaching this
// anyway fails closed with EOPNOTSUPP.
func openNoFollow(path string, _ int, _ bool) (*os.File, error) {
	return nil, syscall.EOPNOTSUPP
}
