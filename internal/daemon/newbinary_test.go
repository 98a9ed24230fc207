package daemon

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"fulcrum/internal/errlog"
	"fulcrum/internal/inherit"
	"fulcrum/internal/testutil"
)

// TestExecutable: the binary a USR2 starts is argv[0] as a path when it has
// a '/', else found in PATH, else the running executable.
func TestExecutable(t *testing.T) {
	dir := t.TempDir()
	prog := filepath.Join(dir, "fulcrum-test-prog")
	if err := os.WriteFile(prog, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ arg0, want string }{
		{"/usr/sbin/fulcrum", "/usr/sbin/fulcrum"},
		{"./sbin/fulcrum", "./sbin/fulcrum"},
		{"fulcrum-test-prog", prog},
		{"no-such-program-anywhere", self},
	}
	for _, tt := range tests {
		t.Run(tt.arg0, func(t *testing.T) {
			got, err := executable(tt.arg0)
			if err != nil || got != tt.want {
				t.Errorf("executable(%q) = %q, %v; want %q", tt.arg0, got, err, tt.want)
			}
		})
	}
}

// TestDescribeExit words a process's end as nginx's "exited with code N"
// and "exited on signal N".
func TestDescribeExit(t *testing.T) {
	tests := []struct{ script, want string }{
		{"exit 0", "exited with code 0"},
		{"exit 3", "exited with code 3"},
		{"kill -TERM $$", fmt.Sprintf("exited on signal %d", int(syscall.SIGTERM))},
	}
	for _, tt := range tests {
		t.Run(tt.script, func(t *testing.T) {
			cmd := exec.Command("/bin/sh", "-c", tt.script)
			var exit *exec.ExitError
			if err := cmd.Run(); err != nil && !errors.As(err, &exit) {
				t.Fatal(err)
			}
			if got := describeExit(cmd.ProcessState); got != tt.want {
				t.Errorf("describeExit = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestInheritedSet: a handed-over socket is adopted by the key of its
// listen and still accepts; what nothing takes is closed and logged; a
// malformed variable is an error.
func TestInheritedSet(t *testing.T) {
	used, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer used.Close()
	unused, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer unused.Close()
	fu, fn := rawDup(t, used), rawDup(t, unused)
	value, err := inherit.Encode([]inherit.Socket{
		{Network: "tcp4", Addr: "127.0.0.1:0", FD: fu},
		{Network: "tcp4", Addr: "127.0.0.1:8080", FD: fn},
	})
	if err != nil {
		t.Fatal(err)
	}
	set, err := openInherited(value) // owns the descriptors now
	if err != nil {
		t.Fatal(err)
	}
	ln, err := set.listener("tcp4 127.0.0.1:0")
	if err != nil || ln == nil {
		t.Fatalf("listener = %v, %v", ln, err)
	}
	defer ln.Close()
	if ln.Addr().String() != used.Addr().String() {
		t.Errorf("adopted %s, want %s", ln.Addr(), used.Addr())
	}
	if again, err := set.listener("tcp4 127.0.0.1:0"); again != nil || err != nil {
		t.Errorf("a socket taken twice: %v, %v", again, err)
	}
	used.Close() // the adopted socket has its own descriptor
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatalf("dial the adopted socket: %v", err)
	}
	c.Close()
	if sc, err := ln.Accept(); err != nil {
		t.Errorf("accept on the adopted socket: %v", err)
	} else {
		sc.Close()
	}

	buf := &testutil.SyncBuffer{}
	log, err := errlog.New(errlog.Options{Targets: []errlog.Target{{Path: errlog.StderrPath, Level: errlog.Info}}, Stderr: buf})
	if err != nil {
		t.Fatal(err)
	}
	set.closeUnused(log)
	if want := "] " + fmt.Sprint(os.Getpid()) + "#0: closing inherited socket tcp4 127.0.0.1:8080 (not in the configuration)"; !strings.Contains(buf.String(), want) || !strings.Contains(buf.String(), "[notice]") {
		t.Errorf("log %q does not say %q", buf.String(), want)
	}
	if _, _, errno := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fn), syscall.F_GETFD, 0); errno != syscall.EBADF {
		t.Errorf("fcntl on the unused descriptor: %v, want EBADF (closed)", errno)
	}

	if _, err := openInherited("tcp4:127.0.0.1:80=x;"); !errors.Is(err, inherit.ErrMalformed) {
		t.Errorf("malformed value: %v, want ErrMalformed", err)
	}
	var none *inheritedSet
	if ln, err := none.listener("tcp4 127.0.0.1:80"); ln != nil || err != nil {
		t.Errorf("an empty set gave %v, %v", ln, err)
	}
}

// rawDup duplicates ln's descriptor as a bare number, as a new binary
// finds it: nothing in the test owns it but the set it is handed to.
func rawDup(t *testing.T, ln net.Listener) int {
	t.Helper()
	rc, err := ln.(syscall.Conn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	nfd := -1
	var errno syscall.Errno
	if err := rc.Control(func(fd uintptr) {
		r, _, e := syscall.Syscall(syscall.SYS_FCNTL, fd, syscall.F_DUPFD_CLOEXEC, 0)
		nfd, errno = int(r), e
	}); err != nil || errno != 0 {
		t.Fatalf("dup: %v %v", err, errno)
	}
	return nfd
}
