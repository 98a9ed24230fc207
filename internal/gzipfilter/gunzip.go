package gzipfilter

import (
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"
	"strings"

	"fulcrum/internal/config"
)

// GunzipApplies reports whether nginx's gunzip filter
// (ngx_http_gunzip_filter_module) looks at a response with header h under
// g: "gunzip on" and a Content-Encoding of exactly "gzip" (without case).
// Then "Vary: Accept-Encoding" goes out under gzip_vary, and the body is
// decompressed unless ClientOK says the client takes gzip.
func GunzipApplies(g *config.Gzip, h http.Header) bool {
	if !g.Gunzip {
		return false
	}
	v := h["Content-Encoding"]
	return len(v) > 0 && strings.EqualFold(v[0], "gzip")
}

// PrepareGunzip turns h into the head of a decompressed response, as
// nginx's gunzip header filter does: no Content-Encoding, no
// Content-Length, no Accept-Ranges, and the ETag weakened.
func PrepareGunzip(h http.Header) {
	delete(h, "Content-Encoding")
	delete(h, "Content-Length")
	delete(h, "Accept-Ranges")
	WeakETag(h)
}

// Gunzip decompresses a gzip body written to it, piece by piece as it
// comes, into dst. Its zero value is idle; Reset starts a body, Close ends
// it. Go's decompressor pulls its input, so it runs as a coroutine
// (iter.Pull) that each Write resumes until it has used the bytes given:
// nothing runs beside the caller, and dst is written only inside Write and
// Close. Decompressed bytes may wait in the decompressor's window until
// more input or the end comes.
type Gunzip struct {
	dst  io.Writer
	in   []byte // the input not yet taken by the decompressor
	eof  bool   // Close: no more input
	next func() (struct{}, bool)
	stop func()
	err  error
	zr   *gzip.Reader
	out  []byte
}

// ErrGunzip marks the errors of a body that does not decompress (not
// gzip, cut short, a bad checksum), as opposed to dst's write errors.
var ErrGunzip = errors.New("gunzip")

// errStopped ends the decompressor's reads when the body is cut short.
var errStopped = errors.New("gunzip: body cut short")

// gunzipBuffer is the size of the decompressed pieces written to dst.
const gunzipBuffer = 16 << 10

// Reset starts decompressing a body into dst. A body still open is dropped
// first.
func (g *Gunzip) Reset(dst io.Writer) {
	g.Abort()
	g.dst, g.in, g.eof, g.err = dst, nil, false, nil
	g.next, g.stop = iter.Pull(g.run)
}

// Active reports whether a body is open (between Reset and Close or Abort).
func (g *Gunzip) Active() bool { return g.next != nil }

// Write decompresses p into dst. A body that is not valid gzip is an error
// (nginx logs it and ends the response).
func (g *Gunzip) Write(p []byte) (int, error) {
	if g.next == nil {
		return 0, errClosed
	}
	if g.err != nil {
		return 0, g.err
	}
	g.in = p
	g.next()
	g.in = nil
	if g.err != nil {
		return 0, g.err
	}
	return len(p), nil
}

// Close ends the body: the rest is decompressed into dst. It reports a
// body that ended before its gzip trailer, or was not gzip (ErrGunzip), or
// dst's write error.
func (g *Gunzip) Close() error {
	if g.next == nil {
		return nil
	}
	g.eof = true
	g.next()
	err := g.err
	g.Abort()
	return err
}

// Abort drops the body (the response is cut short).
func (g *Gunzip) Abort() {
	if g.stop != nil {
		g.stop()
	}
	g.next, g.stop, g.dst = nil, nil, nil
}

// run is the coroutine: it decompresses what Read hands it into dst until
// the end of the gzip data, an error, or Abort.
func (g *Gunzip) run(yield func(struct{}) bool) {
	src := &gunzipSource{g: g, yield: yield}
	if g.zr == nil {
		zr, err := gzip.NewReader(src)
		if err != nil {
			g.fail(err)
			return
		}
		g.zr = zr
	} else if err := g.zr.Reset(src); err != nil {
		g.fail(err)
		return
	}
	if g.out == nil {
		g.out = make([]byte, gunzipBuffer)
	}
	for {
		n, err := g.zr.Read(g.out)
		if n > 0 {
			if _, werr := g.dst.Write(g.out[:n]); werr != nil {
				g.err = werr
				return
			}
		}
		if err == io.EOF {
			return
		}
		if err != nil {
			g.fail(err)
			return
		}
	}
}

// fail keeps a decompression error (not the one Abort causes).
func (g *Gunzip) fail(err error) {
	if errors.Is(err, errStopped) {
		return
	}
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	g.err = fmt.Errorf("%w: %w", ErrGunzip, err)
}

// gunzipSource is the decompressor's input: the bytes of the current Write;
// when they are used up it yields to the writer for more.
type gunzipSource struct {
	g     *Gunzip
	yield func(struct{}) bool
}

// fill waits for input: false at the end of the body or on Abort.
func (s *gunzipSource) fill() error {
	for len(s.g.in) == 0 {
		if s.g.eof {
			return io.EOF
		}
		if !s.yield(struct{}{}) {
			return errStopped
		}
	}
	return nil
}

func (s *gunzipSource) Read(p []byte) (int, error) {
	if err := s.fill(); err != nil {
		return 0, err
	}
	n := copy(p, s.g.in)
	s.g.in = s.g.in[n:]
	return n, nil
}

// ReadByte makes the source a flate.Reader, so the decompressor reads it
// without a bufio.Reader of its own (which would read ahead of the gzip
// trailer and allocate per body).
func (s *gunzipSource) ReadByte() (byte, error) {
	if err := s.fill(); err != nil {
		return 0, err
	}
	c := s.g.in[0]
	s.g.in = s.g.in[1:]
	return c, nil
}
