//go:build unix && !freebsd

package daemon

import "syscall"

// newRlimit is a resource limit of v, soft and hard (rlim_t is unsigned
// here; FreeBSD's is not: rlimit_freebsd.go).
func newRlimit(v uint64) syscall.Rlimit { return syscall.Rlimit{Cur: v, Max: v} }
