package sock

import (
	"syscall"
	"unsafe"
)

// Write writes p to the non-blocking socket fd with one raw send(2)
// (sendto without an address, MSG_NOSIGNAL: a closed peer gives EPIPE, not a
// signal). It returns how much went (EAGAIN: none, the socket buffer is
// full). send, not write: the socket call skips the file layer's position
// lock, access checks and notification hooks that write(2) runs for every
// file (bench/README.md, profile step 13).
func Write(fd int, p []byte) (int, syscall.Errno) {
	if len(p) == 0 {
		return 0, 0
	}
	if raceEnabled {
		return writeSyscall(fd, p)
	}
	r, _, e := syscall.RawSyscall6(syscall.SYS_SENDTO, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)), syscall.MSG_NOSIGNAL, 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(r), 0
}

// Read reads from the non-blocking socket fd into p with one raw recv(2)
// (recvfrom without an address; EAGAIN: nothing there yet; 0 bytes and no
// error: the peer closed).
func Read(fd int, p []byte) (int, syscall.Errno) {
	if len(p) == 0 {
		return 0, 0
	}
	if raceEnabled {
		return readSyscall(fd, p)
	}
	r, _, e := syscall.RawSyscall6(syscall.SYS_RECVFROM, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)), 0, 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(r), 0
}

// Peek looks at what the non-blocking socket fd has received, without
// taking it, with one raw recv(2) (MSG_PEEK|MSG_DONTWAIT): n > 0 says
// bytes are there, 0 bytes and no error that the peer closed, EAGAIN that
// neither. Raw, as Read: the proxy peeks at every kept upstream connection
// it reuses, so the call stays outside the runtime's system call
// bookkeeping.
func Peek(fd int, p []byte) (int, syscall.Errno) {
	if len(p) == 0 {
		return 0, 0
	}
	if raceEnabled {
		return peekSyscall(fd, p)
	}
	r, _, e := syscall.RawSyscall6(syscall.SYS_RECVFROM, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)), syscall.MSG_PEEK|syscall.MSG_DONTWAIT, 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(r), 0
}
