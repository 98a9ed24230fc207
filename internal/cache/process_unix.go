//go:build unix

package cache

import (
	"errors"
	"syscall"
)

// processRuns reports whether a process with ID pid exists (signal 0 is
// delivered to nobody; EPERM means it exists under another user).
func processRuns(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
