package deadline

import (
	"syscall"
	"unsafe"
)

// poll(2)'s event bits (syscall does not name them).
const (
	pollIn  = 0x1
	pollOut = 0x4
	pollErr = 0x8
	pollHup = 0x10
)

// pollFd is struct pollfd.
type pollFd struct {
	fd      int32
	events  int16
	revents int16
}

// pollNow reports whether fd has one of events, an error or a hang-up
// (after which a read or write returns at once), by a ppoll(2) with a zero
// timeout.
func pollNow(fd uintptr, events int16) bool {
	p := pollFd{fd: int32(fd), events: events}
	var zero syscall.Timespec
	n, _, e := syscall.Syscall6(syscall.SYS_PPOLL, uintptr(unsafe.Pointer(&p)), 1, uintptr(unsafe.Pointer(&zero)), 0, 0, 0)
	return e == 0 && n > 0 && p.revents&(events|pollErr|pollHup) != 0
}
