package accesslog

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// errorInterval is how often one file may report write errors: nginx logs a
// failed access log write at most once a minute per file.
const errorInterval = time.Minute

// output is where a file's bytes go: an open file, or standard output or error.
type output struct {
	w io.Writer
	f *os.File // the file to close on Reopen and Close; nil for stdout and stderr
}

// file is one open access log path, shared by every access_log that names it in
// every live snapshot. Lines are appended to a buffer under mu and the buffer is
// written out, in order, under ioMu.
type file struct {
	path  string
	files *Files

	// refs counts the Logs holding this file; guarded by Files.mu.
	refs int

	// mu guards buf, spare, size, flush, first and closed. It is never held
	// during a write system call; a goroutine that has to write the buffer out
	// takes ioMu before releasing mu, so buffers reach the file in the order
	// they were filled. When the previous buffer is still being written, that
	// hand-off waits: a full buffer applies back-pressure instead of growing.
	mu     sync.Mutex
	buf    []byte        // lines not yet written; cap is size once allocated
	spare  []byte        // a written-out buffer kept for reuse, or nil
	size   int           // buffer size; 0 means unbuffered
	flush  time.Duration // the longest a line may stay in buf
	first  time.Time     // when buf last went from empty to non-empty
	closed bool

	// ioMu is held while a buffer is written to out and while Reopen swaps out;
	// it orders buffer writes. Unbuffered lines are written without it: each is
	// a single Write call, which os.File serialises, so lines stay whole.
	ioMu sync.Mutex
	out  atomic.Pointer[output]

	lastErr atomic.Int64 // unix time of the last reported error
}

// write appends one whole line (newline included) to the file: to the buffer
// when it fits, else the buffer is written out first; a line larger than the
// whole buffer is written directly after it. Lines written after close are
// dropped.
func (f *file) write(line []byte) {
	f.mu.Lock()
	switch {
	case f.closed:
		f.mu.Unlock()
	case f.size == 0:
		f.mu.Unlock()
		f.writeOut(line)
	case len(f.buf)+len(line) <= f.size:
		f.appendLocked(line)
		f.mu.Unlock()
	default:
		f.spill(line)
	}
}

// appendLocked adds line to the buffer, which has room for it. f.mu is held.
func (f *file) appendLocked(line []byte) {
	if len(f.buf) == 0 {
		f.first = f.files.now()
		if f.buf == nil {
			f.buf = make([]byte, 0, f.size)
		}
	}
	f.buf = append(f.buf, line...)
}

// spill writes the full buffer out and keeps line in a fresh buffer, or writes
// it right after when it is larger than a buffer. f.mu is held on entry and
// released.
func (f *file) spill(line []byte) {
	out := f.takeLocked()
	direct := len(line) > f.size
	if !direct {
		f.appendLocked(line)
	}
	f.ioMu.Lock()
	f.mu.Unlock()
	f.writeOut(out)
	if direct {
		f.writeOut(line)
	}
	f.ioMu.Unlock()
	f.recycle(out)
}

// takeLocked returns the buffered bytes and leaves an empty buffer in their
// place. f.mu is held.
func (f *file) takeLocked() []byte {
	out := f.buf
	f.buf, f.spare = f.spare, nil
	return out
}

// recycle keeps a written-out buffer as the spare, so steady logging does not
// allocate.
func (f *file) recycle(b []byte) {
	if b == nil {
		return
	}
	f.mu.Lock()
	if f.spare == nil && cap(b) == f.size && !f.closed {
		f.spare = b[:0]
	}
	f.mu.Unlock()
}

// flushIfDue writes the buffer out when its oldest line has waited the flush
// interval at now (or at once when force is set) and returns how long until it
// may next be due.
func (f *file) flushIfDue(now time.Time, force bool) time.Duration {
	f.mu.Lock()
	wait := f.flush
	if !force && len(f.buf) > 0 {
		if age := now.Sub(f.first); age < wait {
			f.mu.Unlock()
			return wait - age // not f.flush: a reload may change it once mu is free
		}
	}
	if f.closed || len(f.buf) == 0 {
		f.mu.Unlock()
		return wait
	}
	out := f.takeLocked()
	f.ioMu.Lock()
	f.mu.Unlock()
	f.writeOut(out)
	f.ioMu.Unlock()
	f.recycle(out)
	return wait
}

// configure applies the buffering of p. A buffer of another size is written out
// first, so no line is lost or reordered when a reload changes buffer=.
func (f *file) configure(p Params) {
	size, flush := p.bufferSize(), p.flushEvery()
	f.mu.Lock()
	f.flush = flush
	if size == f.size {
		f.mu.Unlock()
		return
	}
	out := f.takeLocked()
	f.buf, f.spare, f.size = nil, nil, size
	f.ioMu.Lock()
	f.mu.Unlock()
	f.writeOut(out)
	f.ioMu.Unlock()
}

// reopen writes the buffer out to the current file, then opens the path again
// and swaps the new file in (logrotate has renamed the old one). Standard output
// and error are only flushed. If the path cannot be opened the old file stays.
func (f *file) reopen() error {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return nil
	}
	out := f.takeLocked()
	f.ioMu.Lock()
	f.mu.Unlock()
	defer f.recycle(out)
	defer f.ioMu.Unlock()
	f.writeOut(out)
	if old := f.out.Load(); old == nil || old.f == nil {
		return nil
	}
	nf, err := openLog(f.path)
	if err != nil {
		return err
	}
	return f.out.Swap(&output{w: nf, f: nf}).f.Close()
}

// close writes the buffer out and closes the file (never stdout or stderr).
// Later lines are dropped. It is idempotent.
func (f *file) close() error {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return nil
	}
	f.closed = true
	out := f.takeLocked()
	f.buf, f.spare = nil, nil
	f.ioMu.Lock()
	f.mu.Unlock()
	defer f.ioMu.Unlock()
	f.writeOut(out)
	if o := f.out.Swap(nil); o != nil && o.f != nil {
		return o.f.Close()
	}
	return nil
}

// writeOut writes b with one Write call. A Reopen may close the file this
// goroutine loaded; the new one is stored before the old is closed, so one
// retry finds it (bounded, in case of close). Errors go to Files' error
// function, at most once a minute.
func (f *file) writeOut(b []byte) {
	if len(b) == 0 {
		return
	}
	for range 3 {
		o := f.out.Load()
		if o == nil {
			return
		}
		_, err := o.w.Write(b)
		if err == nil || !errors.Is(err, os.ErrClosed) {
			f.report(err)
			return
		}
	}
}

// report passes a write error to Files' error function, at most once per
// errorInterval.
func (f *file) report(err error) {
	if err == nil || f.files.onError == nil {
		return
	}
	now := f.files.now().Unix()
	last := f.lastErr.Load()
	if now-last < int64(errorInterval/time.Second) || !f.lastErr.CompareAndSwap(last, now) {
		return
	}
	f.files.onError(fmt.Errorf(`write() to "%s" failed: %w`, f.path, err))
}

// openLog opens path for appending, creating it with mode 0644 if needed.
func openLog(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, &openError{path: path, err: err}
	}
	return f, nil
}

// openError is a failed open of a log file, worded as nginx words it.
type openError struct {
	path string
	err  error
}

func (e *openError) Error() string {
	err := e.err
	var pe *os.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return fmt.Sprintf(`open() "%s" failed (%v)`, e.path, err)
}

func (e *openError) Unwrap() error { return e.err }
