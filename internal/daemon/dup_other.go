//go:build unix && !linux

package daemon

// dupCloexec duplicates fd with close-on-exec set: dupCloexecPortable, as
// package syscall offers no fcntl here but the raw system call, which macOS
// does not promise to keep.
func dupCloexec(fd uintptr) (int, error) { return dupCloexecPortable(fd) }
