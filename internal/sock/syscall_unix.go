//go:build unix

package sock

import "syscall"

// writeSyscall writes p to fd with write(2) through package syscall: the
// portable Write, where Linux's raw send with MSG_NOSIGNAL is not used
// (sock_other.go). A closed peer still gives EPIPE, not a dead process:
// the kernel raises SIGPIPE, and Go's runtime ignores it for descriptors
// other than 1 and 2 unless the program asks for it with signal.Notify
// (os/signal, "SIGPIPE"), which fulcrum never does. Built on Linux too, so
// that its tests run there.
func writeSyscall(fd int, p []byte) (int, syscall.Errno) {
	if len(p) == 0 {
		return 0, 0
	}
	n, err := syscall.Write(fd, p)
	return errnoResult(n, err)
}

// readSyscall reads from fd into p with read(2) through package syscall:
// the portable Read (EAGAIN: nothing there yet; 0 bytes and no error: the
// peer closed).
func readSyscall(fd int, p []byte) (int, syscall.Errno) {
	if len(p) == 0 {
		return 0, 0
	}
	n, err := syscall.Read(fd, p)
	return errnoResult(n, err)
}

// errnoResult turns package syscall's (n, error) into Read's and Write's
// (n, Errno): no count with an error, and never a negative count.
func errnoResult(n int, err error) (int, syscall.Errno) {
	if err != nil {
		if e, ok := err.(syscall.Errno); ok {
			return 0, e
		}
		return 0, syscall.EIO
	}
	return max(n, 0), 0
}

// peekSyscall is Peek through package syscall: recvfrom(2) with
// MSG_PEEK|MSG_DONTWAIT (the portable Peek; Linux's race builds).
func peekSyscall(fd int, p []byte) (int, syscall.Errno) {
	if len(p) == 0 {
		return 0, 0
	}
	n, _, err := syscall.Recvfrom(fd, p, syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	return errnoResult(n, err)
}
