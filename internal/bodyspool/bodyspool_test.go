package bodyspool

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"testing/iotest"
)

func TestName(t *testing.T) {
	tests := []struct {
		levels []int
		n      uint64
		want   string
	}{
		// Recorded from nginx 1.22.1 with "client_body_temp_path DIR 1 2".
		{[]int{1, 2}, 1, "d/1/00/0000000001"},
		{[]int{1, 2}, 10, "d/0/01/0000000010"},
		{[]int{1, 2}, 22, "d/2/02/0000000022"},
		{nil, 7, "d/0000000007"},
		{[]int{2}, 1234, "d/34/0000001234"},
		{[]int{3, 3, 3}, 1234567890, "d/890/567/234/1234567890"},
	}
	for _, tt := range tests {
		if got := Name("d", tt.levels, tt.n); got != tt.want {
			t.Errorf("Name(%v, %d) = %q, want %q", tt.levels, tt.n, got, tt.want)
		}
	}
}

// TestMemoryOrFile checks where a body goes with nginx's x86-64 default
// buffer (8k), as nginx 1.22.1 put bodies sent after the head: with a
// Content-Length, below the buffer and a quarter in memory; chunked, below
// the buffer; over HTTP/2 (ExactBuffer), up to the buffer.
func TestMemoryOrFile(t *testing.T) {
	tests := []struct {
		name   string
		size   int
		length int64 // -1: chunked
		inFile int8
		file   bool
		h2     bool // an ExactBuffer body (HTTP/2)
	}{
		{"length 10239", 10239, 10239, InFileOff, false, false},
		{"length 10240", 10240, 10240, InFileOff, true, false},
		{"length 5", 5, 5, InFileOff, false, false},
		{"chunked 8100", 8100, -1, InFileOff, false, false},
		{"chunked 8192", 8192, -1, InFileOff, true, false},
		{"chunked 3 MB", 3_000_000, -1, InFileOff, true, false},
		{"in file only", 5, 5, InFileOn, true, false},
		{"in file only clean", 5, -1, InFileClean, true, false},
		// nginx 1.22.1 over h2c with a 512-byte buffer: 512 bytes stayed
		// in memory, 513 went to a file (nginx-tests h2_auth_request.t).
		{"h2 length 8192", 8192, 8192, InFileOff, false, true},
		{"h2 length 8193", 8193, 8193, InFileOff, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			o := &Options{Dir: dir, Levels: []int{1, 2}, BufferSize: 8192, InFile: tt.inFile, Seq: &Sequence{}}
			body := bytes.Repeat([]byte("0123456789"), tt.size/10+1)[:tt.size]
			var b Body
			// One byte per read at most 1,000 times, then whole reads: the
			// limits must not depend on how the client's bytes arrive.
			var r io.Reader = iotest.HalfReader(bytes.NewReader(body))
			if tt.h2 {
				r = exactReader{r}
			}
			if err := b.Read(r, tt.length, o); err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			if b.InFile() != tt.file || b.Size() != int64(tt.size) {
				t.Fatalf("in file %v, size %d; want %v, %d", b.InFile(), b.Size(), tt.file, tt.size)
			}
			if tt.file == (b.Memory() != nil) {
				t.Errorf("Memory() = %d bytes for a body in a file: %v", len(b.Memory()), tt.file)
			}
			for range 2 { // read again for a retry
				got, err := io.ReadAll(b.Reader())
				if err != nil || !bytes.Equal(got, body) {
					t.Fatalf("Reader() gave %d bytes (%v), want the %d-byte body", len(got), err, len(body))
				}
			}
		})
	}
}

// exactReader is an ExactBuffer body, as an HTTP/2 stream's.
type exactReader struct{ io.Reader }

func (exactReader) ExactBuffer() bool { return true }

// TestFileLifetime checks the file as nginx keeps it: unlinked at once
// (off), kept after the request (on), removed at its end (clean); mode
// 0600 in level directories of mode 0700.
func TestFileLifetime(t *testing.T) {
	tests := []struct {
		name          string
		inFile        int8
		during, after bool
	}{
		{"off", InFileOff, false, false},
		{"on", InFileOn, true, true},
		{"clean", InFileClean, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			o := &Options{Dir: dir, Levels: []int{1, 2}, BufferSize: 16, InFile: tt.inFile, Seq: &Sequence{}}
			var b Body
			if err := b.Read(bytes.NewReader(make([]byte, 100)), 100, o); err != nil {
				t.Fatal(err)
			}
			want := filepath.Join(dir, "1", "00", "0000000001")
			if b.FileName() != want {
				t.Fatalf("FileName() = %q, want %q", b.FileName(), want)
			}
			fi, err := os.Stat(filepath.Join(dir, "1", "00"))
			if err != nil || fi.Mode().Perm() != 0o700 {
				t.Fatalf("level directory: %v, %v; want mode 0700", fi, err)
			}
			assertFile(t, want, tt.during, "during the request")
			if tt.during {
				if fi, _ := os.Stat(want); fi.Mode().Perm() != 0o600 {
					t.Errorf("file mode %v, want 0600", fi.Mode().Perm())
				}
			}
			if err := b.Close(); err != nil {
				t.Fatal(err)
			}
			assertFile(t, want, tt.after, "after the request")
		})
	}
}

func assertFile(t *testing.T, name string, want bool, when string) {
	t.Helper()
	_, err := os.Stat(name)
	if got := err == nil; got != want {
		t.Errorf("%s: file exists %v, want %v (%v)", when, got, want, err)
	}
}

// TestFailedRead checks that a body whose client fails is not left on
// disk, and that a directory that cannot be made is ErrTempFile.
func TestFailedRead(t *testing.T) {
	dir := t.TempDir()
	o := &Options{Dir: dir, BufferSize: 16, InFile: InFileClean, Seq: &Sequence{}}
	var b Body
	gone := errors.New("client went away")
	r := io.MultiReader(bytes.NewReader(make([]byte, 100)), iotest.ErrReader(gone))
	if err := b.Read(r, 200, o); !errors.Is(err, gone) {
		t.Fatalf("Read: %v, want %v", err, gone)
	}
	b.Close()
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("left behind: %v", left)
	}
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	o = &Options{Dir: filepath.Join(file, "sub"), BufferSize: 16}
	if err := b.Read(bytes.NewReader(make([]byte, 100)), 100, o); !errors.Is(err, ErrTempFile) {
		t.Errorf("Read under a file: %v, want ErrTempFile", err)
	}
}

// TestSequenceSkipsNamesInUse checks that a kept file's name is not taken
// again (nginx's O_EXCL and next number).
func TestSequenceSkipsNamesInUse(t *testing.T) {
	dir := t.TempDir()
	o := &Options{Dir: dir, BufferSize: 1, InFile: InFileOn}
	var a, b Body
	if err := a.Read(bytes.NewReader([]byte("a")), 1, o); err != nil {
		t.Fatal(err)
	}
	a.Close()
	if err := b.Read(bytes.NewReader([]byte("b")), 1, o); err != nil { // a fresh sequence again (Seq nil)
		t.Fatal(err)
	}
	b.Close()
	if a.FileName() == b.FileName() {
		t.Errorf("both bodies went to %s", a.FileName())
	}
}

// TestShared checks that a Body read from another's Reader shares it: no
// second temporary file, the whole body for each reader, and closing the
// sharer leaves the owner's file readable (a mirror subrequest's proxy
// ends before the main request's).
func TestShared(t *testing.T) {
	for _, size := range []int{5, 3_000_000} {
		dir := t.TempDir()
		o := &Options{Dir: dir, Levels: []int{1}, BufferSize: 8192, Seq: &Sequence{}}
		body := bytes.Repeat([]byte("abcdefghij"), size/10+1)[:size]
		var owner Body
		if err := owner.Read(bytes.NewReader(body), int64(size), o); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 2; i++ {
			var b Body
			if err := b.Read(owner.NewReader(), int64(size), o); err != nil {
				t.Fatal(err)
			}
			if !b.Shared() || b.InFile() != owner.InFile() || b.Size() != int64(size) {
				t.Fatalf("size %d: shared %v, in file %v (owner %v), size %d", size, b.Shared(), b.InFile(), owner.InFile(), b.Size())
			}
			got, err := io.ReadAll(b.Reader())
			if err != nil || !bytes.Equal(got, body) {
				t.Fatalf("size %d: read %d bytes, %v", size, len(got), err)
			}
			if err := b.Close(); err != nil {
				t.Fatal(err)
			}
		}
		got, err := io.ReadAll(owner.NewReader())
		if err != nil || !bytes.Equal(got, body) {
			t.Fatalf("size %d: owner read %d bytes after the sharers closed, %v", size, len(got), err)
		}
		if err := owner.Close(); err != nil {
			t.Fatal(err)
		}
		if n := countFiles(t, dir); n > 1 {
			t.Fatalf("size %d: %d files created", size, n)
		}
	}
}

// countFiles counts the regular files and directories under dir.
func countFiles(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if path != dir {
			n++
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// wireReader is a chunked body's reader with its wire count: head bytes
// of framing before the data (the size line), tail after it (the data's
// CRLF, the last chunk), counted once the data is read to its end; a
// negative head makes the count unknown.
type wireReader struct {
	r          io.Reader
	head, tail int64
	n          int64
	eof        bool
}

func (w *wireReader) Read(p []byte) (int, error) {
	n, err := w.r.Read(p)
	w.n += int64(n)
	w.eof = w.eof || err == io.EOF
	return n, err
}

func (w *wireReader) WireBytes() int64 {
	switch {
	case w.head < 0:
		return -1
	case w.eof:
		return w.head + w.n + w.tail
	}
	return w.head + w.n
}

// TestChunkedWire checks that a chunked body whose reader counts its bytes
// on the wire goes to a file once they are more than the buffer, as nginx
// 1.22.1 decides (one chunk of 8,179 bytes is 8,192 on the wire, in
// memory; 8,180 goes to a file), and that without a count the data alone
// decides.
func TestChunkedWire(t *testing.T) {
	tests := []struct {
		name       string
		size       int
		head, tail int64
		file       bool
	}{
		{"8179 in one chunk", 8179, 6, 7, false},
		{"8180 in one chunk", 8180, 6, 7, true},
		{"8191 in one chunk", 8191, 6, 7, true},
		{"3 MB", 3_000_000, 7, 7, true},
		{"8191 without a count", 8191, -1, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := &Options{Dir: t.TempDir(), BufferSize: 8192, Seq: &Sequence{}}
			body := bytes.Repeat([]byte("x"), tt.size)
			var b Body
			r := &wireReader{r: iotest.HalfReader(bytes.NewReader(body)), head: tt.head, tail: tt.tail}
			if err := b.Read(r, -1, o); err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			if b.InFile() != tt.file || b.Size() != int64(tt.size) {
				t.Fatalf("in file %v, size %d; want %v, %d", b.InFile(), b.Size(), tt.file, tt.size)
			}
			if got, _ := io.ReadAll(b.Reader()); !bytes.Equal(got, body) {
				t.Errorf("Reader() gave %d bytes, want the %d-byte body", len(got), len(body))
			}
		})
	}
}

// TestMove checks that a moved body's file outlives its first owner's
// Close and goes with the new owner's.
func TestMove(t *testing.T) {
	o := &Options{Dir: t.TempDir(), BufferSize: 16, InFile: InFileClean, Seq: &Sequence{}}
	body := bytes.Repeat([]byte("y"), 100)
	var b Body
	if err := b.Read(bytes.NewReader(body), 100, o); err != nil {
		t.Fatal(err)
	}
	name := b.FileName()
	kept := b.Move()
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if got, err := io.ReadAll(kept.NewReader()); err != nil || !bytes.Equal(got, body) {
		t.Fatalf("after the first owner's Close the body reads %d bytes (%v)", len(got), err)
	}
	if _, err := os.Stat(name); err != nil {
		t.Fatalf("the file is gone before its new owner's Close: %v", err)
	}
	if err := kept.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(name); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("client_body_in_file_only clean: the file is left after the new owner's Close (%v)", err)
	}
}
