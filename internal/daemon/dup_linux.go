package daemon

import (
	"os"
	"syscall"
)

// dupCloexec duplicates fd with close-on-exec set in the same call
// (fcntl F_DUPFD_CLOEXEC), so no fork can inherit it in between.
func dupCloexec(fd uintptr) (int, error) {
	r, _, errno := syscall.Syscall(syscall.SYS_FCNTL, fd, syscall.F_DUPFD_CLOEXEC, 0)
	if errno != 0 {
		return -1, os.NewSyscallError("fcntl", errno)
	}
	return int(r), nil
}
