// Package errlog writes fulcrum's error log in nginx's format:
//
//	2026/11/25 01:24:22 [warn] 1234#0: message
//
// (local time, process id, "#0" for the worker id; fulcrum has one process). A Logger
// writes to several targets, each a file or standard error with its own lowest level,
// as nginx's error_log directives do. Every line is one write system call straight to
// the file, so a crash loses nothing that was logged. Reopen reopens the files after
// logrotate has renamed them (SIGUSR1). A syslog: target gets each line as one
// datagram (package syslog) at the severity of its level, without its newline.
// A memory: target (nginx's debugging ring buffer) keeps nothing.
package errlog

import (
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"fulcrum/internal/config"
	"fulcrum/internal/syslog"
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
	// Syslog is a syslog: target's server and parameters (Path is then the
	// target as written); the zero value means Path is a file.
	Syslog config.Syslog
}

// memoryPrefix starts a memory:SIZE target, which writes nothing.
const memoryPrefix = "memory:"

// Options configure a Logger. The zero value logs nothing.
type Options struct {
	// Targets are the places lines go to. Targets with the same path share one
	// file, at the lowest of their levels; syslog: targets are never merged
	// (a line goes once to each, as nginx sends it).
	Targets []Target
	// PID is the process id printed on each line; 0 means os.Getpid().
	PID int
	// Now returns the time stamped on each line, printed in its own location;
	// nil means time.Now (local time). Tests inject a fixed clock.
	Now func() time.Time
	// Stderr is written to by StderrPath targets; nil means os.Stderr. It must be
	// safe for concurrent Write calls, as os.Stderr is.
	Stderr io.Writer
	// OnSyslogError receives the failures of syslog targets (`connect()
	// failed (2: No such file or directory)`) with the level nginx logs them
	// at; the daemon logs them to the main error log with LogQuiet, as nginx
	// logs them to its cycle's log. nil logs them to this Logger with
	// LogQuiet.
	OnSyslogError func(level Level, msg string)
	// Hostname is the hostname in syslog headers; "" means the machine's.
	Hostname string
}

// Logger is an error log. It is safe for concurrent use. Its methods do nothing
// after Close.
type Logger struct {
	pid    int
	now    func() time.Time
	onSys  func(level Level, msg string)
	min    Level // the lowest level of any sink; lines below it are dropped at once
	sinks  []*sink
	closed atomic.Bool
	// holdMu guards holds and closeHeld: Hold's count of the users that
	// may outlive the owner's Close, and whether a Close came while held.
	holdMu    sync.Mutex
	holds     int
	closeHeld bool
}

// sink is one open target.
type sink struct {
	path  string // file path; empty for a writer sink
	level Level
	w     io.Writer    // the writer of a writer sink (standard error)
	peer  *syslog.Peer // the peer of a syslog sink
	// file is the open file of a file sink. Reopen swaps it and closes the old one;
	// a writer that loaded the old one retries on os.ErrClosed, so no line is lost.
	file atomic.Pointer[os.File]
}

// New opens every target (files are created if missing and appended to) and
// returns the Logger. If a file cannot be opened, the files already opened are
// closed and the error is nginx's `open() "PATH" failed (2: No such file or
// directory)`.
func New(opts Options) (*Logger, error) {
	l := &Logger{pid: opts.PID, now: opts.Now, onSys: opts.OnSyslogError, min: Emerg + 1}
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
		if err := l.add(t, stderr, opts.Hostname); err != nil {
			l.Close()
			return nil, err
		}
	}
	return l, nil
}

// add opens one target, or lowers the level of an existing sink with its path.
func (l *Logger) add(t Target, stderr io.Writer, hostname string) error {
	if strings.HasPrefix(t.Path, memoryPrefix) {
		return nil
	}
	l.min = min(l.min, t.Level)
	if t.Syslog.Addr != "" {
		// each syslog: line is a target of its own: nginx sends a line
		// once per error_log naming it (recorded with nginx 1.22.1)
		return l.addSyslog(t, hostname)
	}
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

// addSyslog adds the sink of a syslog: target.
func (l *Logger) addSyslog(t Target, hostname string) error {
	p, err := syslog.New(t.Syslog, hostname)
	if err != nil {
		return err
	}
	l.sinks = append(l.sinks, &sink{path: t.Path, level: t.Level, peer: p})
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

// Chooser is a request's ResponseWriter that names the error log the
// request's lines go to when that is not its location's: the daemon's
// subrequests write to their main request's, as nginx's subrequests write to
// the connection's log, which only a main request moves. ErrorLog returns
// that log, or own (the location's) when there is none.
type Chooser interface {
	ErrorLog(own *Logger) *Logger
}

// For returns the error log of a request that w answers: the one w names
// (Chooser), else own, the location's.
func For(w any, own *Logger) *Logger {
	if c, ok := w.(Chooser); ok {
		return c.ErrorLog(own)
	}
	return own
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
	l.write(level, l.appendLine(make([]byte, 0, 64+len(msg)), level, msg, nil), false)
}

// LogQuiet is Log for the failures of syslog targets themselves: a syslog
// target that fails to send this line does not report it again, so a
// failing target cannot log about itself without end (nginx's busy peer).
func (l *Logger) LogQuiet(level Level, msg string) {
	if !l.Enabled(level) {
		return
	}
	l.write(level, l.appendLine(make([]byte, 0, 64+len(msg)), level, msg, nil), true)
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
	l.write(level, l.appendLine(make([]byte, 0, 160+len(msg)), level, msg, req), false)
}

// maxLine is the longest line nginx writes to an error log, its newline
// included (NGX_MAX_ERROR_STR): a longer one is cut, and ends in a newline
// still (a "client sent too long URI" line quoting a 8k request line).
const maxLine = 2048

// errnoRoom is what nginx keeps free for the system error of a line that is
// too long (ngx_log_errno: "leave a space for an error code").
const errnoRoom = 50

// errnoPart matches a message that ends in a system error, such as `open()
// "/srv/x" failed (36: File name too long)`, optionally followed by the
// action nginx's handler writes after it (` while connecting to upstream`).
var errnoPart = regexp.MustCompile(`(?s)^(.*)( \(\d+: [^)]*\))((?: while .*)?)$`)

// appendCut appends msg to the line b that began at start. As nginx's
// ngx_log_errno does, a message whose text before its system error ends
// beyond maxLine-errnoRoom bytes of the line is cut there and marked "...",
// so that the error (and the request's context, as far as it fits) is
// still written: `open() "/srv/aaa...aaa... (36: File name too long),
// client: 127.0.0.1, ` (recorded with nginx 1.22.1 for a 2 KiB URI).
func appendCut(b []byte, start int, msg string) []byte {
	if len(b)-start+len(msg) <= maxLine-errnoRoom {
		return append(b, msg...)
	}
	m := errnoPart.FindStringSubmatch(msg)
	if m == nil || len(b)-start+len(m[1]) <= maxLine-errnoRoom {
		return append(b, msg...)
	}
	b = append(b, m[1]...)
	b = append(b[:start+maxLine-errnoRoom], "..."...)
	b = append(b, m[2]...)
	return append(b, m[3]...)
}

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
	if req != nil {
		b = appendCut(b, start, msg)
		b = req.AppendTo(b)
	} else {
		b = append(b, msg...)
	}
	if req != nil && len(b)-start > maxLine-1 {
		b = b[:start+maxLine-1]
	}
	return append(b, '\n')
}

// write sends one finished line to every sink that takes level; quiet
// drops the failures of syslog sinks instead of reporting them.
func (l *Logger) write(level Level, line []byte, quiet bool) {
	for _, s := range l.sinks {
		switch {
		case level < s.level:
		case s.peer != nil:
			l.sendSyslog(s.peer, level, line, quiet)
		default:
			s.write(line, &l.closed)
		}
	}
}

// datagrams holds *[]byte buffers for syslog messages.
var datagrams = sync.Pool{New: func() any { b := make([]byte, 0, 256); return &b }}

// sendSyslog sends line (without its newline, cut to syslog.MaxMessage as
// nginx cuts it) to p at the severity of level, and reports a failed
// socket, connect or send unless quiet. A full socket drops the line.
func (l *Logger) sendSyslog(p *syslog.Peer, level Level, line []byte, quiet bool) {
	line = line[:len(line)-1]
	if len(line) > syslog.MaxMessage {
		line = line[:syslog.MaxMessage]
	}
	bp := datagrams.Get().(*[]byte)
	b := p.AppendHeader((*bp)[:0], Severity(level), l.now())
	b = append(b, line...)
	err := p.Send(b)
	*bp = b[:0]
	datagrams.Put(bp)
	if err != nil && !quiet {
		l.reportSyslog(err)
	}
}

// reportSyslog reports a failed socket, connect or send of a syslog target
// at nginx's level to OnSyslogError, else to l quietly.
func (l *Logger) reportSyslog(err error) {
	var oe *syslog.OpError
	if !errors.As(err, &oe) {
		return
	}
	at := Alert
	if !oe.Alert() {
		at = Error
	}
	if l.onSys != nil {
		l.onSys(at, oe.Error())
		return
	}
	l.LogQuiet(at, oe.Error())
}

// Severity is the syslog severity of level: emerg is 0, debug 7.
func Severity(level Level) int { return int(Emerg - level) }

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
		if s.w != nil || s.peer != nil {
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

// Hold keeps l open for a user that may outlive its owner's Close (a
// session of a configuration a reload replaced, which logs to that
// configuration's error log until it ends, as nginx's old worker does):
// a Close while l is held takes effect at the last Release.
func (l *Logger) Hold() {
	l.holdMu.Lock()
	defer l.holdMu.Unlock()
	l.holds++
}

// Release lets go of a Hold, closing l if a Close came meanwhile and this
// was the last hold.
func (l *Logger) Release() {
	l.holdMu.Lock()
	l.holds--
	closeNow := l.holds == 0 && l.closeHeld
	l.holdMu.Unlock()
	if closeNow {
		l.closeTargets()
	}
}

// Close closes every file target, or, while l is held (Hold), once the
// last hold is released. Lines logged after that are dropped. Close may be
// called more than once.
func (l *Logger) Close() error {
	l.holdMu.Lock()
	if l.holds > 0 {
		l.closeHeld = true
		l.holdMu.Unlock()
		return nil
	}
	l.holdMu.Unlock()
	return l.closeTargets()
}

// closeTargets closes every file target and syslog peer, once.
func (l *Logger) closeTargets() error {
	if l.closed.Swap(true) {
		return nil
	}
	var errs []error
	for _, s := range l.sinks {
		if f := s.file.Load(); f != nil {
			errs = append(errs, f.Close())
		}
		if s.peer != nil {
			errs = append(errs, s.peer.Close())
		}
	}
	return errors.Join(errs...)
}
