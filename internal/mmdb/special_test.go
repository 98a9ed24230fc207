//go:build unix

package mmdb

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"fulcrum/internal/testutil"
)

// TestOpenRefusesSpecialFiles: a path that is not a regular file once links
// are followed (/dev/zero, a FIFO, a link to one, a directory), or a file
// over MaxFileSize, is refused at once, before anything is read; a database
// behind a link still opens.
func TestOpenRefusesSpecialFiles(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.mmdb")
	testutil.WriteMMDB(t, good, testutil.MMDBOptions{}, testNets())
	fifo := filepath.Join(dir, "fifo.mmdb")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	huge := filepath.Join(dir, "huge.mmdb")
	f, err := os.Create(huge)
	if err != nil {
		t.Fatal(err)
	}
	err = f.Truncate(MaxFileSize + 1) // sparse: no disk taken
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	link := func(name, to string) string {
		p := filepath.Join(dir, name)
		if err := os.Symlink(to, p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name, path string
		want       error  // nil: opens
		text       string // in the error
	}{
		{"dev zero", "/dev/zero", ErrNotRegular, "/dev/zero: not a regular file (a device)"},
		{"FIFO", fifo, ErrNotRegular, "not a regular file (a FIFO)"},
		{"link to a FIFO", link("l-fifo.mmdb", fifo), ErrNotRegular, "(a FIFO)"},
		{"link to dev zero", link("l-zero.mmdb", "/dev/zero"), ErrNotRegular, "(a device)"},
		{"directory", dir, ErrNotRegular, "(a directory)"},
		{"over MaxFileSize", huge, ErrTooLarge, "1073741825 bytes, over the 1024 MiB a database may take"},
		{"database", good, nil, ""},
		{"link to a database", link("l-good.mmdb", good), nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := os.Stat(tt.path); err != nil {
				t.Skip(err)
			}
			done := make(chan error, 1)
			go func() {
				_, err := Open(tt.path)
				done <- err
			}()
			select {
			case err := <-done:
				if tt.want == nil {
					if err != nil {
						t.Errorf("Open: %v", err)
					}
					return
				}
				if !errors.Is(err, tt.want) || !errors.Is(err, ErrOpen) || !strings.Contains(err.Error(), tt.text) {
					t.Errorf("Open: %v, want %v (%q)", err, tt.want, tt.text)
				}
				if FileHint(err) == "" {
					t.Errorf("no hint for %v", err)
				}
			case <-time.After(2 * time.Second):
				t.Fatal("Open did not return within 2s")
			}
		})
	}
}
