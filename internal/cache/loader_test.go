//go:build unix

package cache

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// lines collects a zone's log lines by level.
type lines struct{ debug, crit, alert []string }

func (l *lines) options(o Options) Options {
	o.Debug = func(m string) { l.debug = append(l.debug, m) }
	o.Crit = func(m string) { l.crit = append(l.crit, m) }
	o.Alert = func(m string) { l.alert = append(l.alert, m) }
	return o
}

// writeSize writes a file of n bytes at path, making its directories.
func writeSize(t *testing.T, path string, n int) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, make([]byte, n), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestLoaderForeignFiles: the loader decides about each file of the
// directory as nginx 1.22.1's did with the same files under
// "proxy_cache_path DIR levels=1:2 keys_zone=z:1m" (error_log debug, the
// files put there before the start, looked at after its cache loader ran):
// files whose paths do not end in 32 hex digits, files smaller than an
// entry's header ("is too small", at crit), FIFOs and sockets are removed;
// files named by a key are kept and indexed wherever they lie and whatever
// they hold; nginx's temporary files and the directories ending in /temp are
// left alone; a link that leads nowhere stays, with a crit stat() line. The
// one difference: a link to a directory outside stays and is not entered
// (nginx walked into it and removed a file there).
func TestLoaderForeignFiles(t *testing.T) {
	dir, outside := t.TempDir(), t.TempDir()
	z, c := newTestZone(t, Options{Dir: dir, Levels: []int{1, 2}})
	store(t, z, "stored", "a complete entry", time.Hour)
	stored := z.path(Sum("stored"))
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(outside, "target")
	outsideDir := filepath.Join(outside, "dir")
	writeSize(t, target, 10)
	writeSize(t, filepath.Join(outsideDir, "junk"), 2)
	writeSize(t, filepath.Join(outsideDir, "dddddddddddddddddddddddddddddddd"), 1000)

	p := func(rel string) string { return filepath.Join(dir, filepath.FromSlash(rel)) }
	file := func(n int) func(string) error {
		return func(path string) error { writeSize(t, path, n); return nil }
	}
	link := func(to string) func(string) error {
		return func(path string) error { return os.Symlink(to, path) }
	}
	fifo := func(path string) error { return syscall.Mkfifo(path, 0o600) }
	socket := func(path string) error {
		l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
		if err != nil {
			return err
		}
		l.SetUnlinkOnClose(false)
		return l.Close()
	}
	tests := []struct {
		name, path string
		make       func(string) error
		kept       bool
		crit       string // the crit line it logs, "" for none
	}{
		{"misplaced (levels)", "c/29/fedcba98765432100123456789abcdef", file(1000), true, ""},
		{"no levels", "11111111111111111111111111111111", file(1000), true, ""},
		{"upper-case hex", "c/29/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAc29", file(1000), true, ""},
		{"key at the end of a longer name", "c/29/foo55555555555555555555555555555c29", file(1000), true, ""},
		{"not an entry inside", "c/29/66666666666666666666666666666c29", file(preambleSize), true, ""},
		{"nginx's temporary file", "c/29/77777777777777777777777777777c29.0000000001", file(10), true, ""},
		{"dot and 10 characters", "c/29/x.1234567890", file(10), true, ""},
		{"temp directory", "temp/99999999999999999999999999999999", file(1), true, ""},
		{"temp subdirectory", "sub/temp/junk", file(1), true, ""},
		{"running process's temporary file", tempName(Sum("y"), os.Getpid(), 1), file(1000), true, ""},
		{"hidden file", "c/29/.hidden", file(1000), false, ""},
		{"not a key", "c/29/notacachefile.txt", file(1000), false, ""},
		{"character after the key", "c/29/88888888888888888888888888888c29x", file(1000), false, ""},
		{"directory ending in temp but not temp", "sub/tempx/junk", file(1000), false, ""},
		{"crashed process's temporary file", tempName(Sum("x"), gone.Process.Pid, 1), file(1000), false, ""},
		{"too small", "c/29/22222222222222222222222222222c29", file(preambleSize - 1), false, "too small"},
		{"empty", "c/29/44444444444444444444444444444c29", file(0), false, "too small"},
		{"FIFO", "c/29/fifo", fifo, false, ""},
		{"FIFO named by a key", "c/29/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbc29", fifo, false, ""},
		{"socket", "c/29/sock", socket, false, ""},
		{"link to a small file", "c/29/link", link(target), false, "too small"},
		{"link to a small file named by a key", "c/29/ccccccccccccccccccccccccccccccc29", link(target), false, "too small"},
		{"link that leads nowhere", "c/29/dangling", link(filepath.Join(outside, "none")), true, "stat"},
		{"link to a directory outside", "linkdir", link(outsideDir), true, ""},
	}
	for _, tt := range tests {
		if err := os.MkdirAll(filepath.Dir(p(tt.path)), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := tt.make(p(tt.path)); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
	}

	var l lines
	z2, err := NewZone(l.options(Options{Name: "z", Dir: dir, Levels: []int{1, 2}, KeysSize: 1 << 20, Inactive: time.Hour, Now: c.now}))
	if err != nil {
		t.Fatal(err)
	}
	if err := z2.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := p(tt.path)
			_, err := os.Lstat(path)
			if kept := err == nil; kept != tt.kept {
				t.Errorf("%s kept = %v, want %v", tt.path, kept, tt.kept)
			}
			deleted := slices.Contains(l.debug, `http file cache delete: "`+path+`"`)
			if deleted == tt.kept {
				t.Errorf("debug line for the removal: %v, want %v (%q)", deleted, !tt.kept, l.debug)
			}
			var want string
			switch tt.crit {
			case "too small":
				want = `cache file "` + path + `" is too small`
			case "stat":
				want = `stat() "` + path + `" failed (2: No such file or directory)`
			}
			if want != "" && !slices.Contains(l.crit, want) {
				t.Errorf("crit lines %q, want %q", l.crit, want)
			}
		})
	}
	if len(l.crit) != 5 {
		t.Errorf("crit lines %q, want 5", l.crit)
	}
	for _, f := range []string{stored, target, filepath.Join(outsideDir, "junk"), filepath.Join(outsideDir, "dddddddddddddddddddddddddddddddd")} {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("%s: %v, want it kept", f, err)
		}
	}
	// Indexed: the stored entry and the five files named by a key (the
	// upper-case one is the key of the lower-case name).
	if _, keys := z2.Size(); keys != 6 {
		t.Errorf("keys = %d, want 6", keys)
	}
	if lk := z2.Get(Sum("stored")); !lk.Fresh {
		t.Errorf("stored entry after the loader: %+v, want fresh", lk)
	}
}

// TestLoaderIndexesForeignEntry: a file in a key's place that is not a
// complete entry is indexed (nginx's loader reads no file) as expired; the
// first request for it finds it unreadable and removes it, a miss.
func TestLoaderIndexesForeignEntry(t *testing.T) {
	dir := t.TempDir()
	z, _ := newTestZone(t, Options{Dir: dir, Levels: []int{1, 2}})
	path := z.path(Sum("k"))
	writeSize(t, path, 1000)
	if err := z.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	if size, keys := z.Size(); keys != 1 || size == 0 {
		t.Fatalf("after the loader: %d bytes, %d keys, want the file indexed", size, keys)
	}
	if lk := z.Get(Sum("k")); !lk.Exists || lk.Fresh {
		t.Errorf("lookup %+v, want an expired entry", lk)
	}
	if _, err := z.Open(Sum("k")); err == nil {
		t.Error("Open of a foreign file succeeded")
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("foreign file after a request: %v, want it removed", err)
	}
	if size, _ := z.Size(); size != 0 {
		t.Errorf("size %d after the removal", size)
	}
}

// TestLoaderKeysZoneFull: when the keys_zone holds no more keys, the loader
// removes the file instead of forgetting others (nginx 1.22.1 with
// keys_zone=s:16k and 100 files kept 55 and logged "could not allocate node
// in cache keys zone "s"" once, at alert).
func TestLoaderKeysZoneFull(t *testing.T) {
	dir := t.TempDir()
	for _, d := range "abcde" {
		writeSize(t, filepath.Join(dir, strings.Repeat(string(d), 32)), 1000)
	}
	var l lines
	z, _ := newTestZone(t, l.options(Options{Name: "s", Dir: dir, KeysSize: 3 * NodeSize}))
	if err := z.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	left, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, keys := z.Size(); keys != 3 || len(left) != 3 {
		t.Errorf("%d keys, %d files left, want 3 and 3", keys, len(left))
	}
	if want := []string{`could not allocate node in cache keys zone "s"`}; !slices.Equal(l.alert, want) {
		t.Errorf("alerts %q, want %q", l.alert, want)
	}
	if len(l.debug) != 2 {
		t.Errorf("debug lines %q, want two removals", l.debug)
	}
}

// TestLoaderLinkedDirectory: a zone's directory that is a symbolic link (a
// cache on another disk) is read through it, as nginx's loader (opendir)
// reads it.
func TestLoaderLinkedDirectory(t *testing.T) {
	target := t.TempDir()
	dir := filepath.Join(t.TempDir(), "cache")
	if err := os.Symlink(target, dir); err != nil {
		t.Fatal(err)
	}
	z, c := newTestZone(t, Options{Dir: dir, Levels: []int{1, 2}})
	store(t, z, "stored", "a complete entry", time.Hour)
	z2, err := NewZone(Options{Dir: dir, Levels: []int{1, 2}, KeysSize: 1 << 20, Inactive: time.Hour, Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	if err := z2.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, keys := z2.Size(); keys != 1 {
		t.Errorf("keys = %d after the loader, want the stored entry", keys)
	}
}
