//go:build unix && !linux

package sock

import "syscall"

// Write writes p to the non-blocking socket fd: writeSyscall, as Linux's
// raw send(2) is not used here. It returns how much went (EAGAIN: none, the
// socket buffer is full).
func Write(fd int, p []byte) (int, syscall.Errno) { return writeSyscall(fd, p) }

// Read reads from the non-blocking socket fd into p: readSyscall (EAGAIN:
// nothing there yet; 0 bytes and no error: the peer closed).
func Read(fd int, p []byte) (int, syscall.Errno) { return readSyscall(fd, p) }

// Peek looks at what the non-blocking socket fd has received without
// taking it: peekSyscall (n > 0: bytes; 0 and no error: the peer closed;
// EAGAIN: neither).
func Peek(fd int, p []byte) (int, syscall.Errno) { return peekSyscall(fd, p) }
