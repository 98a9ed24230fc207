package dbfile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

var (
	errNotRegular = errors.New("not a regular file")
	errTooLarge   = errors.New("over the limit")
)

// TestRead: a regular file within the limit is read whole; a FIFO (which
// must not block the open), a directory, a device and a file over the
// limit are refused with the caller's errors and the file's kind or size.
func TestRead(t *testing.T) {
	dir := t.TempDir()
	small := filepath.Join(dir, "small.db")
	if err := os.WriteFile(small, []byte("12345"), 0o600); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path string
		max        int64
		want       error
		text       string
	}{
		{"regular", small, 5, nil, ""},
		{"over the limit", small, 4, errTooLarge, small + ": 5 bytes, over the limit"},
		{"FIFO", fifo, 5, errNotRegular, fifo + ": not a regular file (a FIFO)"},
		{"directory", dir, 5, errNotRegular, "(a directory)"},
		{"device", "/dev/zero", 5, errNotRegular, "(a device)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := Read(tt.path, tt.max, errNotRegular, errTooLarge)
			if tt.want == nil {
				if err != nil || string(b) != "12345" {
					t.Fatalf("Read = %q, %v; want the file", b, err)
				}
				return
			}
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.text) {
				t.Fatalf("Read error %v; want %v with %q", err, tt.want, tt.text)
			}
		})
	}
}
