// Package errlog writes fulcrum's error log in nginx's format:
//
//	2026/11/25 01:24:22 [warn] 1234#0: message
//
// (local time, process id, "#0" for the worker id; fulcrum has one process). A Logger
// writes to several targets, each a file or standard error with its own lowest level,
// as nginx's error_log directives do. Every line is one write system call straight to
// the file, so a crash loses nothing that was logged. Reopen reopens the files after
// logrotate has renamed them (SIGUSR1).
package errlog

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync/atomic"
	"time"
)

// StderrPath is the target path that means standard error, as in
// `error_log stderr;` and `-e stderr`.
const StderrPath = "stderr"

// Target is one place the log is written to.
type Target struct {
	// Path is a file path or StderrPath. A relative path is relative to the current
	// directory; config.Load gives absolute ones.
	Path string
	// Level is the lowest level written to this target.
	Level Level
}

// Options configure a Logger. The zero value logs nothing.
type Options struct {
	// Targets are the places lines go to. Targets with the same path share one
	// file, at the lowest of their levels.
	Targets []Target
	// PID is the process id printed on each line; 0 means os.Getpid().
	PID int
	// Now returns the time stamped on each line, printed in its own location;
	// nil means time.Now (local time). Tests inject a fixed clock.
	Now func() time.Time
	// Stderr is written to by StderrPath targets; nil means os.Stderr. It must be
	// safe for concurrent Write calls, as os.Stderr is.
	Stderr io.Writer
}

// Logger is an error log. It is safe for concurrent use. Its methods do nothing
// after Close.
type Logger struct {
	pid    int
	now    func() time.Time
	min    Level // the lowest level of any sink; lines below it are dropped at once
	sinks  []*sink
	closed atomic.Bool
}

// sink is one open target.
type sink struct {
	path  string // file path; empty for a writer sink
	level Level
	w     io.Writer // the writer of a writer sink (standard error)
	// file is the open file of a file sink. Reopen swaps it and closes the old one;
	// a writer that loaded the old one retries on os.ErrClosed, so no line is lost.
	file atomic.Pointer[os.File]
}

// New opens every target (files are created if missing and appended to) and
// returns the Logger. If a file cannot be opened, the files already opened are
// closed and the error is nginx's `open() "PATH" failed (2: No such file or
// directory)`.
func New(opts Options) (*Logger, error) {
	l := &Logger{pid: opts.PID, now: opts.Now, min: Emerg + 1}
	if l.pid == 0 {
		l.pid = os.Getpid()
	}
	if l.now == nil {
		l.now = time.Now
	}
	stderr := opts.Stderr
	if stderr == nil {
		stderr = os.Stderr
	}
	for _, t := range opts.Targets {
		if err := l.add(t, stderr); err != nil {
			l.Close()
			return nil, err
		}
	}
	return l, nil
}

// add opens one target, or lowers the level of an existing sink with its path.
func (l *Logger) add(t Target, stderr io.Writer) error {
	l.min = min(l.min, t.Level)
	for _, s := range l.sinks {
		if s.path == t.Path || (s.w != nil && t.Path == StderrPath) {
			s.level = min(s.level, t.Level)
			return nil
		}
	}
	if t.Path == StderrPath {
		l.sinks = append(l.sinks, &sink{level: t.Level, w: stderr})
		return nil
	}
	f, err := openLog(t.Path)
	if err != nil {
		return err
	}
	s := &sink{path: t.Path, level: t.Level}
	s.file.Store(f)
	l.sinks = append(l.sinks, s)
	return nil
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
	return fmt.Sprintf(`open() "%s" failed (%s)`, e.path, Errno(e.err))
}

func (e *openError) Unwrap() error { return e.err }

// Enabled reports whether a line at level would be written to any target. Callers
// use it to skip building expensive debug messages.
func (l *Logger) Enabled(level Level) bool {
	return level >= l.min && !l.closed.Load()
}

// Closed reports whether l was closed: a holder of an older logger (a
// kept-alive connection across a reload) takes the one in force instead.
func (l *Logger) Closed() bool { return l.closed.Load() }

// Log writes msg at level to every target whose level allows it. A trailing
// newline in msg is dropped; the line gets exactly one.
func (l *Logger) Log(level Level, msg string) {
	if !l.Enabled(level) {
		return
	}
	l.write(level, l.appendLine(make([]byte, 0, 64+len(msg)), level, msg, nil))
}

// Logf formats its arguments as fmt.Sprintf does and logs the result at level.
func (l *Logger) Logf(level Level, format string, args ...any) {
	if !l.Enabled(level) {
		return
	}
	l.Log(level, fmt.Sprintf(format, args...))
}

// LogRequest logs msg at level followed by what is known of the request it
// concerns, as nginx does: `msg, client: ADDR, server: NAME, request: "GET /
// HTTP/1.1", upstream: "http://127.0.0.1:5001/", host: "example.com"`.
func (l *Logger) LogRequest(level Level, req *Request, msg string) {
	if !l.Enabled(level) {
		return
	}
	l.write(level, l.appendLine(make([]byte, 0, 160+len(msg)), level, msg, req))
}

// maxLine is the longest line nginx writes to an error log, its newline
// included (NGX_MAX_ERROR_STR): a longer one is cut, and ends in a newline
// still (a "client sent too long URI" line quoting a 8k request line).
const maxLine = 2048

// appendLine appends the whole line, newline included, to b. A line about
// a request (req set) is cut to maxLine as nginx cuts it; fulcrum's own
// lines without one (a panic's stack) are kept whole.
func (l *Logger) appendLine(b []byte, level Level, msg string, req *Request) []byte {
	start := len(b)
	b = l.now().AppendFormat(b, "2006/01/02 15:04:05")
	b = append(b, " ["...)
	b = append(b, level.String()...)
	b = append(b, "] "...)
	b = strconv.AppendInt(b, int64(l.pid), 10)
	b = append(b, "#0: "...)
	if req != nil && req.Conn != 0 { // nginx's "*N ": the connection's number
		b = append(b, '*')
		b = strconv.AppendUint(b, req.Conn, 10)
		b = append(b, ' ')
	}
	for len(msg) > 0 && msg[len(msg)-1] == '\n' {
		msg = msg[:len(msg)-1]
	}
	b = append(b, msg...)
	if req != nil {
		b = req.AppendTo(b)
	}
	if req != nil && len(b)-start > maxLine-1 {
		b = b[:start+maxLine-1]
	}
	return append(b, '\n')
}

// write sends one finished line to every sink that takes level.
func (l *Logger) write(level Level, line []byte) {
	for _, s := range l.sinks {
		if level >= s.level {
			s.write(line, &l.closed)
		}
	}
}

// write writes line with one Write call. Write errors are dropped: an error log
// has nowhere to report its own failure.
func (s *sink) write(line []byte, closed *atomic.Bool) {
	if s.w != nil {
		_, _ = s.w.Write(line)
		return
	}
	// A Reopen may close the file this goroutine loaded. The new file is stored
	// before the old one is closed, so loading again finds an open file, unless
	// the Logger itself was closed.
	for {
		_, err := s.file.Load().Write(line)
		if !errors.Is(err, os.ErrClosed) || closed.Load() {
			return
		}
	}
}

// Reopen opens every file target again by its path and swaps it in, then closes
// the old file, so that after logrotate renames a log the next lines go to a new
// file with the old name. A target that cannot be reopened keeps its old file;
// the errors of all such targets are returned together.
func (l *Logger) Reopen() error {
	if l.closed.Load() {
		return errors.New("reopen error log: closed")
	}
	var errs []error
	for _, s := range l.sinks {
		if s.w != nil {
			continue
		}
		f, err := openLog(s.path)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		s.file.Swap(f).Close()
	}
	return errors.Join(errs...)
}

// Close closes every file target. Lines logged after Close are dropped. Close may
// be called more than once.
func (l *Logger) Close() error {
	if l.closed.Swap(true) {
		return nil
	}
	var errs []error
	for _, s := range l.sinks {
		if f := s.file.Load(); f != nil {
			errs = append(errs, f.Close())
		}
	}
	return errors.Join(errs...)
}
