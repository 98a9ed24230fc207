package daemon

import (
	"math"
	"syscall"
)

// newRlimit is a resource limit of v, soft and hard. FreeBSD's rlim_t is
// signed; a value past its range is its RLIM_INFINITY (the largest int64).
func newRlimit(v uint64) syscall.Rlimit {
	l := int64(min(v, math.MaxInt64))
	return syscall.Rlimit{Cur: l, Max: l}
}
