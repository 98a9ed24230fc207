//go:build !linux

package bindaddr

import (
	"errors"
	"os"
	"syscall"
)

// Transparent is a net.Dialer Control function for "*_bind ADDRESS
// transparent"; only Linux has IP_TRANSPARENT, so elsewhere it fails every
// connection, as a setsockopt that the system refuses.
func Transparent(_, _ string, _ syscall.RawConn) error {
	return os.NewSyscallError("setsockopt(IP_TRANSPARENT)", errors.ErrUnsupported)
}
