package static

import (
	"io"
	"os"
	"path/filepath"
	"testing"
)

func TestFLVStart(t *testing.T) {
	tests := []struct {
		args string
		want int64
	}{
		{"", 0}, {"start=20", 20}, {"START=20", 20}, {"x=1&start=7", 7}, {"start=1&start=2", 1},
		{"start=", 0}, {"start", 0}, {"start=abc", 0}, {"start=-5", 0}, {"start=+5", 0}, {"start=5x", 0},
		{"start=020", 20}, {"start=9223372036854775807", 9223372036854775807}, {"start=9223372036854775808", 0},
		{"xstart=5", 0},
	}
	for _, tc := range tests {
		if got := FLVStart(tc.args); got != tc.want {
			t.Errorf("FLVStart(%q) = %d, want %d", tc.args, got, tc.want)
		}
	}
}

// TestFLVBody reads the header-and-file body at every offset and length.
func TestFLVBody(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.flv")
	file := flvHeader + "0123456789"
	if err := os.WriteFile(path, []byte(file), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := flvBody{f: f, start: 16}
	want := flvHeader + file[16:]
	for off := range len(want) {
		for n := 1; off+n <= len(want); n++ {
			got, err := io.ReadAll(io.NewSectionReader(b, int64(off), int64(n)))
			if err != nil || string(got) != want[off:off+n] {
				t.Fatalf("bytes %d+%d = %q (%v), want %q", off, n, got, err, want[off:off+n])
			}
		}
	}
}
