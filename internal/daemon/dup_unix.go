//go:build unix

package daemon

import (
	"os"
	"syscall"
)

// dupCloexecPortable duplicates fd with dup(2), then sets close-on-exec,
// holding syscall.ForkLock for reading so that no fork and exec of package
// os/exec runs in between and leaks the descriptor (Go's own way on systems
// without an atomic flag). dupCloexec on macOS and FreeBSD; built on Linux
// too, so that its test runs there.
func dupCloexecPortable(fd uintptr) (int, error) {
	syscall.ForkLock.RLock()
	defer syscall.ForkLock.RUnlock()
	nfd, err := syscall.Dup(int(fd))
	if err != nil {
		return -1, os.NewSyscallError("dup", err)
	}
	syscall.CloseOnExec(nfd)
	return nfd, nil
}
