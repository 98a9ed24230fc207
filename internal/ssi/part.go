package ssi

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
)

// PartMemory is how many bytes of an include's output a Part keeps in
// memory before it writes the rest to a temporary file, as nginx's
// postpone filter holds a subrequest's output that cannot go out yet in
// the upstream's buffers (proxy_buffers) and then in its temporary file.
const PartMemory = 64 << 10

// ErrCanceled is what a Part's Write returns once the including response
// gave up on it (its client went away, its output failed).
var ErrCanceled = errors.New("ssi: include canceled")

// Part is the output of an include that runs beside the response that
// includes it (Env.Start). The include's goroutine writes to it (Write),
// says when it waits on something outside such as an upstream (Yield),
// and ends it (Finish); the including response's goroutine takes the
// bytes in order (drain) once every part before it went out, as nginx's
// postpone filter sends a subrequest's output once those before it were
// sent. Up to PartMemory bytes stay in memory, the rest goes to a
// temporary file in the directory given to NewPart.
type Part struct {
	dir     string     // where the temporary file is made ("": os.TempDir)
	scratch []byte     // drain's file buffer (including goroutine only)
	writing sync.Mutex // held by the writer while it writes the file

	mu sync.Mutex // guards the fields below; never held across file I/O
	// changed is closed, and replaced, whenever bytes come or the part
	// yields or ends: the including goroutine waits on it.
	changed  chan struct{}
	mem      []byte   // bytes not drained yet, before the file's
	file     *os.File // nil until mem would pass PartMemory
	wOff     int64    // how much the writer wrote to the file
	rOff     int64    // how much of the file was drained
	yielded  bool
	done     bool
	released bool // the including goroutine stopped waiting (WaitStarted)
	canceled bool
	err      error      // the temporary file's failure
	stop     func()     // ends the include's work at once (Cancel)
	finish   func(bool) // run by the including goroutine after drain
}

// NewPart returns an empty Part whose temporary file, when it needs one,
// goes in dir ("": os.TempDir()).
func NewPart(dir string) *Part {
	return &Part{dir: dir, changed: make(chan struct{})}
}

// notify wakes the including goroutine. Call it with p.mu held.
func (p *Part) notify() {
	close(p.changed)
	p.changed = make(chan struct{})
}

// Write implements io.Writer for the include's goroutine: b is kept in
// order, in memory or in the temporary file. After Cancel it fails with
// ErrCanceled, and after a file failure with that failure.
func (p *Part) Write(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	p.mu.Lock()
	if p.canceled || p.err != nil {
		err := p.err
		p.mu.Unlock()
		if err == nil {
			err = ErrCanceled
		}
		return 0, err
	}
	if p.file == nil && len(p.mem)+len(b) <= PartMemory {
		p.mem = append(p.mem, b...)
		p.notify()
		p.mu.Unlock()
		return len(b), nil
	}
	p.mu.Unlock()
	return p.writeFile(b)
}

// writeFile appends b to the temporary file, made on first use.
func (p *Part) writeFile(b []byte) (int, error) {
	p.writing.Lock()
	defer p.writing.Unlock()
	p.mu.Lock()
	f, off := p.file, p.wOff
	p.mu.Unlock()
	if f == nil {
		var err error
		if f, err = os.CreateTemp(p.dir, "ssi-"); err != nil {
			return 0, p.fail(fmt.Errorf("ssi include temporary file: %w", err))
		}
		_ = os.Remove(f.Name()) // unlinked at once, as nginx's buffered temp files
	}
	n, err := f.WriteAt(b, off)
	p.mu.Lock()
	p.file = f
	p.wOff += int64(n)
	p.notify()
	p.mu.Unlock()
	if err != nil {
		return n, p.fail(fmt.Errorf("ssi include temporary file: %w", err))
	}
	return n, nil
}

// fail records the temporary file's failure err and returns it.
func (p *Part) fail(err error) error {
	p.mu.Lock()
	if p.err == nil {
		p.err = err
	}
	p.notify()
	p.mu.Unlock()
	return err
}

// Yield says that the include now waits on something outside the server
// (an upstream): the including response may go on parsing meanwhile.
func (p *Part) Yield() {
	p.mu.Lock()
	if !p.yielded {
		p.yielded = true
		p.notify()
	}
	p.mu.Unlock()
}

// SetStop gives the function that ends the include's work at once (its
// context's cancel), which Cancel calls.
func (p *Part) SetStop(stop func()) {
	p.mu.Lock()
	p.stop = stop
	p.mu.Unlock()
}

// Finish ends the part: nothing more will be written. then, when not nil,
// is run by the including goroutine once the part was drained (ok) or
// given up (not ok): the include's access log line, its state's release.
func (p *Part) Finish(then func(ok bool)) {
	p.mu.Lock()
	p.done, p.finish = true, then
	p.notify()
	p.mu.Unlock()
}

// Cancel gives the part up: the include's work is stopped and its writes
// fail from now on. The including goroutine still waits for it to finish.
func (p *Part) Cancel() {
	p.mu.Lock()
	p.canceled = true
	stop := p.stop
	p.mem = nil
	p.notify()
	p.mu.Unlock()
	if stop != nil {
		stop()
	}
}

// state returns whether p finished or yielded, and the channel closed at
// its next change.
func (p *Part) state() (done, yielded bool, changed <-chan struct{}) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.done, p.yielded, p.changed
}

// WaitStarted waits until the include finished or yielded, or until
// abort is closed. The including goroutine calls it once, right after it
// started the include, and touches nothing the include may hand off
// (Handoff) until it returns.
func (p *Part) WaitStarted(abort <-chan struct{}) {
	defer func() {
		p.mu.Lock()
		p.released = true
		p.mu.Unlock()
	}()
	for {
		done, yielded, changed := p.state()
		if done || yielded {
			return
		}
		select {
		case <-changed:
		case <-abort:
			return
		}
	}
}

// Handoff runs fn, for the include's goroutine, while the including
// goroutine still waits in WaitStarted, and not at all once it stopped
// waiting: fn may then change what the including request owns (the
// variables its subrequest set). Call it before Yield and Finish.
func (p *Part) Handoff(fn func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.released && !p.yielded && !p.done {
		fn()
	}
}

// drain writes what p holds to out, in order, and reports whether p is
// finished and wholly drained. Only the including goroutine calls it.
func (p *Part) drain(out io.Writer) (done bool, err error) {
	p.mu.Lock()
	mem := p.mem
	p.mem = nil
	f, rOff, wOff, finished, ferr := p.file, p.rOff, p.wOff, p.done, p.err
	p.mu.Unlock()
	if ferr != nil {
		return false, ferr
	}
	if len(mem) > 0 {
		if _, err := out.Write(mem); err != nil {
			return false, err
		}
	}
	if f != nil && rOff < wOff {
		if err := p.drainFile(out, f, rOff, wOff); err != nil {
			return false, err
		}
	}
	if !finished {
		return false, nil
	}
	// Finish came before the snapshot: was anything written after it?
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.mem) == 0 && p.rOff == p.wOff, nil
}

// drainFile writes the file's bytes from off to end to out.
func (p *Part) drainFile(out io.Writer, f *os.File, off, end int64) error {
	if p.scratch == nil {
		p.scratch = make([]byte, 32<<10)
	}
	for off < end {
		n := int(min(end-off, int64(len(p.scratch))))
		n, err := f.ReadAt(p.scratch[:n], off)
		if n == 0 && err != nil {
			return fmt.Errorf("ssi include temporary file: %w", err)
		}
		off += int64(n)
		p.mu.Lock()
		p.rOff = off
		p.mu.Unlock()
		if _, err := out.Write(p.scratch[:n]); err != nil {
			return err
		}
	}
	return nil
}

// release closes the temporary file and runs the finish function, once p
// is finished; ok says whether its output went out.
func (p *Part) release(ok bool) {
	p.mu.Lock()
	f, then := p.file, p.finish
	p.file, p.finish, p.mem = nil, nil, nil
	p.mu.Unlock()
	if f != nil {
		_ = f.Close()
	}
	if then != nil {
		then(ok)
	}
}

// ready reports whether p has bytes to drain or finished, and returns the
// channel closed at its next change.
func (p *Part) ready() (bool, <-chan struct{}) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.done || p.err != nil || len(p.mem) > 0 || p.rOff < p.wOff, p.changed
}

// waitDone waits until the include finished.
func (p *Part) waitDone() {
	for {
		done, _, changed := p.state()
		if done {
			return
		}
		<-changed
	}
}
