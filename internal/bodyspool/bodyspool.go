// Package bodyspool reads a request body whole before it goes upstream, as
// nginx 1.22.1 does: a short body in memory (client_body_buffer_size), a
// longer one in a temporary file under client_body_temp_path, named and
// placed the way nginx names and places them. The result can be read again
// for a retry, whatever its size.
package bodyspool

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"

	"fulcrum/internal/config"
)

// ErrTempFile marks a failure to create or write a temporary file (a
// missing or read-only client_body_temp_path, a full disk): nginx answers
// 500 and logs it at crit level, not the client's fault.
var ErrTempFile = errors.New("request body temporary file")

// tempError wraps err, a temporary file's failure, with ErrTempFile.
func tempError(what string, err error) error {
	return fmt.Errorf("%s: %w", what, errors.Join(ErrTempFile, err))
}

// Sequence numbers temporary files, as nginx's shared ngx_temp_number: one
// per process (the daemon owns it), so that files of every location and
// every reload get distinct names.
type Sequence struct{ n atomic.Uint64 }

// next returns the next file number (the first is 1).
func (s *Sequence) next() uint64 { return s.n.Add(1) }

// File modes (client_body_in_file_only).
const (
	// InFileOff (config.BodyInFileOff) keeps a body that fits the buffer in memory and writes a
	// longer one to a file unlinked as soon as it is created.
	InFileOff = config.BodyInFileOff
	// InFileOn writes every body to a file that is kept after the request.
	InFileOn = config.BodyInFileOn
	// InFileClean writes every body to a file removed when the request ends.
	InFileClean = config.BodyInFileClean
)

// Options say where and how a body is spooled.
type Options struct {
	// Dir is client_body_temp_path's directory; Levels its subdirectory
	// name lengths (see Name).
	Dir    string
	Levels []int
	// BufferSize is client_body_buffer_size; at least 1.
	BufferSize int64
	// InFile is client_body_in_file_only (InFileOff, InFileOn, InFileClean).
	InFile int8
	// Seq numbers the files; nil numbers each body's file from 1 (names in
	// use are skipped): give one Sequence to every user of a directory.
	Seq *Sequence
}

// Name returns the path of temporary file n in dir with levels, as
// nginx's ngx_create_hashed_filename builds it: a 10-digit name, and one
// subdirectory per level taken from the name's last digits, outermost
// first ("1 2": 0000000012 is dir/2/01/0000000012).
func Name(dir string, levels []int, n uint64) string {
	var num [20]byte
	name := fmt.Appendf(num[:0], "%010d", n)
	parts := make([]string, 0, len(levels)+2)
	parts = append(parts, dir)
	end := len(name)
	for _, l := range levels {
		if l > end {
			l = end
		}
		parts = append(parts, string(name[end-l:end]))
		end -= l
	}
	return filepath.Join(append(parts, string(name))...)
}

// Body is a request body read whole: in memory or in a file. Its zero
// value is an empty body. Close releases the file.
type Body struct {
	mem  []byte
	f    *os.File
	name string
	size int64
	// clean says Close removes the file (client_body_in_file_only clean).
	clean bool
	// done says the body was read to its end.
	done bool
	// shared says the body belongs to another Body (Read took it from a
	// Reader): Close leaves the file to its owner.
	shared bool
}

// A WireCounter is a request body reader that tells how many bytes of
// the connection the body took so far (WireBytes): for a chunked body, its
// data and its framing (size lines, CRLFs, the last chunk, trailers). A
// negative count means unknown.
type WireCounter interface {
	WireBytes() int64
}

// An ExactBuffer is a request body that nginx reads into a buffer of
// client_body_buffer_size exactly, whatever its announced length: an
// HTTP/2 stream's (ngx_http_v2_read_request_body), whose body goes to a
// file once it is longer than the buffer (recorded with nginx 1.22.1 over
// h2c, a 512-byte buffer: 512 bytes stayed in memory, 513 went to a file;
// nginx-tests h2_auth_request.t). ExactBuffer reports whether it is one.
type ExactBuffer interface {
	ExactBuffer() bool
}

// Read reads r to its end into b. length is the body's announced length
// (Content-Length), or -1 for a chunked one: nginx 1.22.1 (x86-64, 8k
// buffer, body sent after the head) keeps a body with a length below the
// buffer plus a quarter (10,239 bytes) in memory and writes one of 10,240
// to a file. A chunked body is read by nginx into the buffer as it came,
// framing and all, so it goes to a file when its bytes on the wire, through
// the last chunk and the trailer section, are more than the buffer (8,193
// bytes or more with 8k: one chunk of 8,180 bytes, or 8,126 in chunks of
// 1,000, or 7,720 in chunks of 100; 16,385 with 16k): when r is a
// WireCounter, Read decides so too; else once the data alone fills the
// buffer. An ExactBuffer body (HTTP/2) with a length stays in memory
// up to the buffer, not a quarter more. On an error, a file is closed and removed, and the part read in
// memory stays for $request_body; the caller still calls Close.
//
// When r is a Reader (a body read whole already, for mirror subrequests or
// a post action), b shares that body instead of reading it again, as
// nginx's handlers take the r->request_body another read: no second
// file, and Shared reports it.
func (b *Body) Read(r io.Reader, length int64, o *Options) error {
	if sr, ok := r.(*Reader); ok {
		*b = *sr.b
		b.shared, b.clean = true, false
		return nil
	}
	*b = Body{}
	buf := o.BufferSize
	if buf < 1 {
		buf = 1
	}
	limit := buf // a chunked body stays in memory below this
	over := func() bool { return false }
	if eb, ok := r.(ExactBuffer); ok && eb.ExactBuffer() && length >= 0 {
		limit = min(length+1, buf+1)
	} else if length >= 0 {
		limit = min(length+1, buf+buf/4)
	} else if wc, ok := r.(WireCounter); ok && wc.WireBytes() >= 0 {
		over = func() bool { return wc.WireBytes() > buf }
	}
	if o.InFile != InFileOff {
		limit = 0
	}
	if limit > 0 {
		if done, err := b.readMem(r, limit, over); done || err != nil {
			return err
		}
	}
	if err := b.create(o); err != nil {
		return err
	}
	if err := b.copyToFile(r, int(buf)); err != nil {
		b.drop()
		return err
	}
	b.done = true
	return nil
}

// readMem reads up to limit-1 bytes; done says the body ended there. It
// stops, not done, as soon as over reports the body too long for memory,
// at its end too.
func (b *Body) readMem(r io.Reader, limit int64, over func() bool) (done bool, err error) {
	b.mem = make([]byte, 0, limit)
	for int64(len(b.mem)) < limit {
		n, err := r.Read(b.mem[len(b.mem):cap(b.mem)])
		b.mem = b.mem[:len(b.mem)+n]
		if err == io.EOF {
			if int64(len(b.mem)) < limit && !over() {
				b.size, b.done = int64(len(b.mem)), true
				return true, nil
			}
			break
		}
		if err != nil {
			return false, err
		}
		if over() {
			break
		}
	}
	return false, nil
}

// create opens the next free temporary file with mode 0600 (O_EXCL, as
// nginx's ngx_open_tempfile), creating its level directories (0700) when
// missing, and unlinks it at once unless it is to stay visible
// (client_body_in_file_only on or clean).
func (b *Body) create(o *Options) error {
	seq := o.Seq
	if seq == nil {
		seq = &Sequence{} // numbers from 1; a name in use is skipped below
	}
	for tries := 0; ; tries++ {
		name := Name(o.Dir, o.Levels, seq.next())
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrNotExist) {
			if err := os.MkdirAll(filepath.Dir(name), 0o700); err != nil {
				return tempError("create the request body's temporary directory", err)
			}
			f, err = os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		}
		if errors.Is(err, fs.ErrExist) && tries < 1000 {
			continue
		}
		if err != nil {
			return tempError("create the request body's temporary file", err)
		}
		if o.InFile == InFileOff {
			_ = os.Remove(name) // the open descriptor keeps the data
		}
		b.f, b.name, b.clean = f, name, o.InFile == InFileClean
		return nil
	}
}

// copyToFile writes the part in memory and the rest of r to the file,
// through a buffer of size bytes.
func (b *Body) copyToFile(r io.Reader, size int) error {
	w := fileWriter{b.f}
	if len(b.mem) > 0 {
		if _, err := w.Write(b.mem); err != nil {
			return err
		}
	}
	b.size, b.mem = int64(len(b.mem)), nil
	n, err := io.CopyBuffer(w, struct{ io.Reader }{r}, make([]byte, max(size, 4096)))
	b.size += n
	return err
}

// fileWriter marks the temporary file's write errors with ErrTempFile,
// apart from the client's read errors.
type fileWriter struct{ f *os.File }

func (w fileWriter) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	if err != nil {
		err = tempError("write the request body's temporary file", err)
	}
	return n, err
}

// drop closes and removes the file after a failed read.
func (b *Body) drop() {
	if b.f == nil {
		return
	}
	_ = b.f.Close()
	_ = os.Remove(b.name)
	b.f, b.name, b.clean = nil, "", false
}

// Size is the body's length in bytes.
func (b *Body) Size() int64 { return b.size }

// Memory returns the body when it is in memory and was read whole (the
// part read when Read failed), else nil.
func (b *Body) Memory() []byte {
	if b.f != nil {
		return nil
	}
	return b.mem
}

// InFile reports whether the body went to a temporary file.
func (b *Body) InFile() bool { return b.f != nil }

// FileName is the temporary file's name ($request_body_file), "" for a
// body in memory. The file may be unlinked already.
func (b *Body) FileName() string { return b.name }

// Reader returns a reader of the whole body from its start; each call
// gives a new one, for each attempt.
func (b *Body) Reader() *io.SectionReader {
	if b.f != nil {
		return io.NewSectionReader(b.f, 0, b.size)
	}
	return io.NewSectionReader(bytes.NewReader(b.mem), 0, int64(len(b.mem)))
}

// Shared reports that Read took a body another Body owns (from a Reader):
// its temporary file was created, and logged, by the owner.
func (b *Body) Shared() bool { return b.shared }

// Move returns a Body that owns b's file from now on, for a request that
// is handed on (an error_page, X-Accel-Redirect) while b's owner ends
// first: b stays a shared view of the same body (its Reader still reads
// it, its Close leaves the file to the new owner). A body in memory or
// shared already is copied as it is.
func (b *Body) Move() *Body {
	nb := new(Body)
	*nb = *b
	if b.f != nil && !b.shared {
		b.shared, b.clean = true, false
	}
	return nb
}

// Close closes the file, and removes it with client_body_in_file_only
// clean. It is safe to call more than once. A shared body's file is left
// to its owner.
func (b *Body) Close() error {
	if b.shared {
		b.f, b.shared = nil, false
		return nil
	}
	if b.f == nil {
		return nil
	}
	err := b.f.Close()
	if b.clean {
		if rerr := os.Remove(b.name); rerr != nil && err == nil {
			err = rerr
		}
	}
	b.f, b.clean = nil, false
	return err
}

// Reader is a body read whole as a request's Body: it reads the body from
// its start, and a Body's Read given one shares the body instead of
// reading it again. Close does not close the body: its owner does, once
// every request that reads it is done.
type Reader struct {
	r *io.SectionReader
	b *Body
}

// NewReader returns a Reader of the whole body; each call gives a new one,
// for each request that sends it.
func (b *Body) NewReader() *Reader { return &Reader{r: b.Reader(), b: b} }

// Read reads the body.
func (r *Reader) Read(p []byte) (int, error) { return r.r.Read(p) }

// Close does nothing: the body's owner closes it.
func (r *Reader) Close() error { return nil }

// Body returns the body r reads, for another request that sends it too
// (NewReader).
func (r *Reader) Body() *Body { return r.b }

// String describes the body for debugging.
func (b *Body) String() string {
	if b.f != nil {
		return "file " + b.name + " (" + strconv.FormatInt(b.size, 10) + " bytes)"
	}
	return "memory (" + strconv.Itoa(len(b.mem)) + " bytes)"
}

// FromSettings returns the spool options of a location's settings
// (client_body_buffer_size, client_body_temp_path,
// client_body_in_file_only), numbering files with seq.
func FromSettings(set *config.Settings, seq *Sequence) Options {
	return Options{
		Dir:        set.ClientBodyTempPath.Path,
		Levels:     set.ClientBodyTempPath.Levels,
		BufferSize: set.ClientBodyBufferSize,
		InFile:     set.ClientBodyInFileOnly,
		Seq:        seq,
	}
}

// LogLine is nginx's error log line for a body written to a file, and its
// level: "a client request body is buffered to a temporary file NAME", a
// warning, or a notice with client_body_in_file_only (as nginx 1.22.1
// logs them).
func (b *Body) LogLine(o *Options) (notice bool, msg string) {
	return o.InFile != InFileOff, "a client request body is buffered to a temporary file " + b.name
}
