package gzipfilter

import (
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"sync"
)

// compressors pools gzip.Writers by level (index 1 to 9): a compressor holds
// several hundred KiB of tables (see BenchmarkWriter), which a busy server
// must not allocate per response. A pool is the one piece of shared state:
// its writers are reset before each use.
var compressors [10]sync.Pool

// Writer compresses a response body into dst in the gzip format, with a
// compressor taken from a pool per level. Its zero value is idle; Reset
// starts a stream, Close ends it and gives the compressor back. A Writer is
// meant to live inside a longer-lived object (the daemon's per-request
// recorder), so that compressing allocates nothing once the pool is warm.
type Writer struct {
	zw    *gzip.Writer
	level int // zw's pool
	out   countingWriter
	in    int64
}

// errClosed is a Write without an open stream.
var errClosed = errors.New("gzip: write without an open stream")

// countingWriter counts the bytes the compressor writes into w.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// Reset starts a gzip stream into dst at level (1 to 9; out of range means
// 1). A stream still open is dropped first.
func (w *Writer) Reset(dst io.Writer, level int) {
	w.Abort()
	if level < 1 || level > 9 {
		level = 1
	}
	w.out = countingWriter{w: dst}
	w.in = 0
	zw, _ := compressors[level].Get().(*gzip.Writer)
	if zw == nil {
		zw, _ = gzip.NewWriterLevel(&w.out, level) // level is valid: no error
	} else {
		zw.Reset(&w.out)
	}
	zw.Header.OS = 3 // unix, as nginx writes it
	w.zw = zw
	w.level = level
}

// Active reports whether a stream is open (between Reset and Close or Abort).
func (w *Writer) Active() bool { return w.zw != nil }

// Write compresses p into the stream.
func (w *Writer) Write(p []byte) (int, error) {
	if w.zw == nil {
		return 0, errClosed
	}
	n, err := w.zw.Write(p)
	w.in += int64(n)
	if err != nil {
		return n, fmt.Errorf("gzip: %w", err)
	}
	return n, nil
}

// Flush writes what the compressor holds so far (a sync flush, as nginx does
// for a buffer marked flush: a streamed response).
func (w *Writer) Flush() error {
	if w.zw == nil {
		return nil
	}
	if err := w.zw.Flush(); err != nil {
		return fmt.Errorf("gzip flush: %w", err)
	}
	return nil
}

// Close ends the stream (the rest of the compressed data and the gzip
// trailer go to dst) and gives the compressor back to its pool. A Writer
// without a stream does nothing.
func (w *Writer) Close() error {
	if w.zw == nil {
		return nil
	}
	err := w.zw.Close()
	w.release()
	if err != nil {
		return fmt.Errorf("gzip close: %w", err)
	}
	return nil
}

// Abort drops the stream without ending it (the response is cut short) and
// gives the compressor back to its pool.
func (w *Writer) Abort() {
	if w.zw != nil {
		w.release()
	}
}

// release returns the compressor to its pool, not holding dst.
func (w *Writer) release() {
	w.zw.Reset(io.Discard)
	compressors[w.level].Put(w.zw)
	w.zw = nil
	w.out.w = nil
}

// In is how many bytes the stream took so far.
func (w *Writer) In() int64 { return w.in }

// Out is how many bytes the stream wrote into dst so far, the gzip header
// and trailer included (they stay counted after Close, until Reset).
func (w *Writer) Out() int64 { return w.out.n }
