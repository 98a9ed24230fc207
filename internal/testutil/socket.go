package testutil

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// SocketNoDelay reads TCP_NODELAY of this process's TCP socket from local
// port to peer port (Linux): its inode from /proc/net/tcp, then the
// descriptor in /proc/self/fd that holds it. The test fails when the
// process has no such socket.
func SocketNoDelay(t testing.TB, local, peer int) bool {
	t.Helper()
	b, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		t.Fatal(err)
	}
	inode := ""
	for _, l := range strings.Split(string(b), "\n")[1:] {
		f := strings.Fields(l)
		if len(f) > 9 && strings.HasSuffix(f[1], fmt.Sprintf(":%04X", local)) && strings.HasSuffix(f[2], fmt.Sprintf(":%04X", peer)) {
			inode = f[9]
		}
	}
	fds, _ := filepath.Glob("/proc/self/fd/*")
	for _, p := range fds {
		if target, _ := os.Readlink(p); target == "socket:["+inode+"]" {
			fd, _ := strconv.Atoi(filepath.Base(p))
			v, err := syscall.GetsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_NODELAY)
			if err != nil {
				t.Fatal(err)
			}
			return v != 0
		}
	}
	t.Fatalf("no socket %d->%d (inode %q) in this process", local, peer, inode)
	return false
}
