package daemon

import (
	"net"
	"os"
	"syscall"
	"testing"
	"time"
)

// TestDupCloexec: both ways of duplicating a listening socket for a new
// binary (Linux's fcntl F_DUPFD_CLOEXEC and the dup plus FD_CLOEXEC that
// macOS and FreeBSD use) give a new descriptor, closed on exec, that
// accepts on the same socket.
func TestDupCloexec(t *testing.T) {
	for _, tt := range []struct {
		name string
		dup  func(uintptr) (int, error)
	}{
		{"dupCloexec", dupCloexec},
		{"portable", dupCloexecPortable},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			rc, err := ln.(*net.TCPListener).SyscallConn()
			if err != nil {
				t.Fatal(err)
			}
			var fd uintptr
			nfd, dupErr := -1, error(nil)
			if err := rc.Control(func(f uintptr) { fd = f; nfd, dupErr = tt.dup(f) }); err != nil || dupErr != nil {
				t.Fatalf("dup: %v, %v", err, dupErr)
			}
			if uintptr(nfd) == fd || nfd < 0 {
				t.Fatalf("dup gave %d for %d", nfd, fd)
			}
			flags, _, errno := syscall.Syscall(syscall.SYS_FCNTL, uintptr(nfd), syscall.F_GETFD, 0)
			if errno != 0 || flags&syscall.FD_CLOEXEC == 0 {
				t.Errorf("descriptor flags %#x (%v): not close-on-exec", flags, errno)
			}
			f := os.NewFile(uintptr(nfd), "dup")
			dl, err := net.FileListener(f)
			f.Close()
			if err != nil {
				t.Fatal(err)
			}
			defer dl.Close()
			ln.Close() // only the duplicate accepts now
			c, err := net.DialTimeout("tcp", dl.Addr().String(), 5*time.Second)
			if err != nil {
				t.Fatalf("dial through the duplicate: %v", err)
			}
			defer c.Close()
			_ = dl.(*net.TCPListener).SetDeadline(time.Now().Add(5 * time.Second))
			s, err := dl.Accept()
			if err != nil {
				t.Fatalf("accept on the duplicate: %v", err)
			}
			s.Close()
		})
	}
}
