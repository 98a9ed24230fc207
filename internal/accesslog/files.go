package accesslog

import (
	"context"
	"errors"
	"io"
	"math"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"fulcrum/internal/syslog"
	"fulcrum/internal/vars"
)

// StdoutPath and StderrPath are the access_log paths that mean the process's
// standard output and standard error. They are buffered like files, and never
// closed or reopened.
const (
	StdoutPath = "stdout"
	StderrPath = "stderr"
)

// maxPooledLine bounds the line buffers kept for reuse, so one huge line does
// not pin its memory.
const maxPooledLine = 64 << 10

// FilesOptions configure [NewFiles]. The zero value is ready to use.
type FilesOptions struct {
	// Stdout and Stderr receive the StdoutPath and StderrPath logs; nil means
	// os.Stdout and os.Stderr. They must be safe for concurrent Write calls.
	Stdout, Stderr io.Writer
	// Now is the clock that ages buffered lines for flush=; nil means time.Now.
	Now func() time.Time
	// OnError receives write failures (`write() to "PATH" failed: ...`), at
	// most once a minute per file, as nginx logs them; nil drops them. It is
	// called from logging goroutines and must not log to an access log.
	OnError func(error)
	// OnRequestError receives the failures of an access_log whose path has
	// variables, which happen while a request is logged: what is nginx's
	// words before the system error err (`open() "PATH" failed`, `testing
	// "ROOT" existence failed`), crit says nginx logs it at crit (else at
	// error). nil drops them.
	OnRequestError func(st *vars.State, crit bool, what string, err error)
	// OnSyslogError receives the failed socket(), connect() and send()
	// calls of syslog: access logs, which nginx logs to its main error log
	// without the request (Logger.Log counts them for the request's line).
	// nil drops them.
	OnSyslogError func(err *syslog.OpError)
	// Hostname is the hostname in syslog headers; "" means the machine's.
	Hostname string
}

// Files owns the open access log files of the process. It outlives
// configuration reloads: every snapshot takes its files through a [Logs], and a
// file stays open, with its buffer, as long as any Logs holding it is not
// released. So a reload that keeps a path neither reopens it nor loses a line,
// a new path is opened when the new snapshot is built, and a path no longer
// used is flushed and closed when the last snapshot using it is released.
//
// Files is safe for concurrent use. The caller runs [Files.Run] for timed
// flushes, calls [Files.Reopen] on SIGUSR1 and [Files.Close] at exit.
type Files struct {
	stdout, stderr io.Writer
	now            func() time.Time
	onError        func(error)
	onRequestError func(st *vars.State, crit bool, what string, err error)
	onSyslogError  func(err *syslog.OpError)
	hostname       string

	// lines holds *[]byte line buffers for Logger.Log.
	lines sync.Pool
	// wake tells Run that a file was opened or its flush= changed, so that it
	// recomputes how long to sleep.
	wake chan struct{}

	// mu guards files, closed and every file's refs; never held across I/O.
	mu     sync.Mutex
	files  map[string]*file
	closed bool
}

// NewFiles returns an empty Files.
func NewFiles(opts FilesOptions) *Files {
	fs := &Files{
		stdout: opts.Stdout, stderr: opts.Stderr,
		now: opts.Now, onError: opts.OnError, onRequestError: opts.OnRequestError,
		onSyslogError: opts.OnSyslogError, hostname: opts.Hostname,
		files: make(map[string]*file),
		wake:  make(chan struct{}, 1),
	}
	if fs.stdout == nil {
		fs.stdout = os.Stdout
	}
	if fs.stderr == nil {
		fs.stderr = os.Stderr
	}
	if fs.now == nil {
		fs.now = time.Now
	}
	fs.lines.New = func() any {
		b := make([]byte, 0, 512)
		return &b
	}
	return fs
}

// errClosed is returned when a Files is used after Close.
var errClosed = errors.New("access log files closed")

// acquire returns the file for path with one more reference, opening it (or
// taking stdout/stderr) if no snapshot holds it, and applies p's buffering.
func (fs *Files) acquire(path string, p Params) (*file, error) {
	defer fs.poke()
	if f, err := fs.ref(path); f != nil || err != nil {
		if f != nil {
			f.configure(p)
		}
		return f, err
	}
	o, err := fs.openOutput(path)
	if err != nil {
		return nil, err
	}
	f := &file{path: path, files: fs, size: p.bufferSize(), flush: p.flushEvery()}
	f.out.Store(o)
	fs.mu.Lock()
	if fs.closed {
		fs.mu.Unlock()
		_ = f.close()
		return nil, errClosed
	}
	if other := fs.files[path]; other != nil {
		// Another snapshot opened the path meanwhile: use its file.
		other.refs++
		fs.mu.Unlock()
		_ = f.close()
		other.configure(p)
		return other, nil
	}
	f.refs = 1
	fs.files[path] = f
	fs.mu.Unlock()
	return f, nil
}

// poke wakes Run without blocking.
func (fs *Files) poke() {
	select {
	case fs.wake <- struct{}{}:
	default:
	}
}

// ref takes one more reference to an open file, or returns nil if path is not
// open.
func (fs *Files) ref(path string) (*file, error) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.closed {
		return nil, errClosed
	}
	f := fs.files[path]
	if f != nil {
		f.refs++
	}
	return f, nil
}

// openOutput opens path for appending, or returns stdout or stderr.
func (fs *Files) openOutput(path string) (*output, error) {
	switch path {
	case StdoutPath:
		return &output{w: fs.stdout}, nil
	case StderrPath:
		return &output{w: fs.stderr}, nil
	}
	f, err := openLog(path)
	if err != nil {
		return nil, err
	}
	return &output{w: f, f: f}, nil
}

// release drops one reference to f; the last one flushes and closes it.
func (fs *Files) release(f *file) error {
	fs.mu.Lock()
	f.refs--
	last := f.refs == 0 && fs.files[f.path] == f
	if last {
		delete(fs.files, f.path)
	}
	fs.mu.Unlock()
	if last {
		return f.close()
	}
	return nil
}

// list returns the open files, sorted by path.
func (fs *Files) list() []*file {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	l := make([]*file, 0, len(fs.files))
	for _, f := range fs.files {
		l = append(l, f)
	}
	sortByPath(l)
	return l
}

func sortByPath(l []*file) {
	slices.SortFunc(l, func(a, b *file) int { return strings.Compare(a.path, b.path) })
}

// Paths returns the paths of the open logs, sorted, for status pages and tests.
func (fs *Files) Paths() []string {
	l := fs.list()
	paths := make([]string, len(l))
	for i, f := range l {
		paths[i] = f.path
	}
	return paths
}

// Run flushes buffered lines when they reach their flush= age until ctx ends,
// then flushes everything once more and returns. It wakes only as often as the
// shortest flush interval of the open files requires (once a second with the
// defaults), and at once when a snapshot opens a file. One Run per Files.
func (fs *Files) Run(ctx context.Context) {
	t := time.NewTimer(fs.FlushDue())
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			fs.Flush()
			return
		case <-t.C:
			t.Reset(fs.FlushDue())
		case <-fs.wake:
			t.Stop()
			t.Reset(fs.FlushDue())
		}
	}
}

// FlushDue writes out every buffer whose oldest line has waited its file's
// flush interval, and returns how long until the next one can be due
// (DefaultFlush when no file is open). It is Run's synchronous step; tests
// call it with an injected clock.
func (fs *Files) FlushDue() time.Duration {
	now := fs.now()
	l := fs.list()
	if len(l) == 0 {
		return DefaultFlush
	}
	next := time.Duration(math.MaxInt64)
	for _, f := range l {
		next = min(next, f.flushIfDue(now, false))
	}
	return max(next, time.Millisecond)
}

// Flush writes out every buffer now.
func (fs *Files) Flush() {
	for _, f := range fs.list() {
		f.flushIfDue(time.Time{}, true)
	}
}

// Reopen writes out every buffer, then reopens every file path, for SIGUSR1
// after logrotate has renamed the logs: the lines buffered before go to the old
// (renamed) file, the lines after to a new file with the configured name. A path
// that cannot be opened keeps its old file; the errors of all such paths are
// returned together.
func (fs *Files) Reopen() error {
	var errs []error
	for _, f := range fs.list() {
		errs = append(errs, f.reopen())
	}
	return errors.Join(errs...)
}

// Close writes out every buffer and closes every file, whatever snapshots still
// hold them; later lines are dropped and later Logs fail to build. Call it once
// the listeners are closed and requests have finished. It is idempotent.
func (fs *Files) Close() error {
	fs.mu.Lock()
	fs.closed = true
	all := make([]*file, 0, len(fs.files))
	for _, f := range fs.files {
		all = append(all, f)
	}
	clear(fs.files)
	fs.mu.Unlock()
	sortByPath(all)
	var errs []error
	for _, f := range all {
		errs = append(errs, f.close())
	}
	return errors.Join(errs...)
}
