package accesslog

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"fulcrum/internal/config"
	"fulcrum/internal/syslog"
	"fulcrum/internal/vars"
)

// Logs is the access logging of one configuration snapshot: it compiles each
// log_format once, holds a reference to every file the snapshot logs to, and
// builds the [Logger] of each location. Release it when the snapshot is gone
// (drained after a reload, or its build failed); files that no other snapshot
// holds are then flushed and closed.
type Logs struct {
	files *Files
	comp  *vars.Compiler

	// mu guards formats, held, peers and released.
	mu       sync.Mutex
	formats  map[*config.LogFormat]*Format
	held     map[string]heldFile
	released bool
	// peers are the snapshot's syslog: targets, one per distinct target;
	// Release closes them (nginx's old workers close theirs on exit).
	peers map[config.Syslog]*syslog.Peer
}

// heldFile is a file the snapshot holds, with the parameters it was first
// named with.
type heldFile struct {
	file   *file
	params Params
}

// NewLogs starts the access logging of a snapshot whose variables compile with
// c (its Now is the clock of $time_local). c must not change while the Logs is
// in use.
func NewLogs(files *Files, c *vars.Compiler) *Logs {
	return &Logs{
		files: files, comp: c,
		formats: make(map[*config.LogFormat]*Format),
		held:    make(map[string]heldFile),
		peers:   make(map[config.Syslog]*syslog.Peer),
	}
}

// Logger builds the logger of one location from its access_log directives,
// typically Targets(loc.Settings.AccessLogs). A target with Off (access_log
// off) means the location logs nothing; a nil Format means "combined". The
// files are opened here, so open errors surface while building the snapshot.
// Two targets naming one path share its file and must agree on buffer= and
// flush=, as in nginx.
func (ls *Logs) Logger(targets []Target) (*Logger, error) {
	l := &Logger{pool: &ls.files.lines, files: ls.files}
	for _, t := range targets {
		if t.Log.Off {
			return &Logger{}, nil
		}
	}
	for _, t := range targets {
		lt, err := ls.target(t)
		if err != nil {
			return nil, err
		}
		l.targets = append(l.targets, lt)
	}
	return l, nil
}

// target compiles one access_log: its format, condition and file. Errors of
// the format carry the log_format's position, the others the access_log's.
func (ls *Logs) target(t Target) (target, error) {
	if err := t.Params.validate(); err != nil {
		return target{}, posError(err, t.Log.Pos)
	}
	format, err := ls.format(t.Log.Format)
	if err != nil {
		return target{}, err
	}
	var cond *vars.Template
	if t.Params.If != "" {
		if cond, err = ls.comp.Compile(t.Params.If); err != nil {
			return target{}, posError(err, t.Log.Pos)
		}
	}
	if t.Log.Syslog.Addr != "" {
		p, err := ls.peer(t.Log.Syslog)
		if err != nil {
			return target{}, posError(err, t.Log.Pos)
		}
		return target{peer: p, format: format, cond: cond}, nil
	}
	if strings.IndexByte(t.Log.Path, '$') >= 0 {
		dyn, err := ls.dynamic(t.Log.Path, t.Params)
		if err != nil {
			return target{}, posError(err, t.Log.Pos)
		}
		return target{format: format, cond: cond, dyn: dyn}, nil
	}
	f, err := ls.file(t.Log.Path, t.Params)
	if err != nil {
		return target{}, posError(err, t.Log.Pos)
	}
	return target{file: f, format: format, cond: cond}, nil
}

// CompileFormats compiles every log_format of the configuration (the http
// block's LogFormats), so that an error in a format no access_log uses still
// fails the load, as in nginx. The errors of all bad formats are returned
// together, in name order. Logger reuses the compiled formats.
func (ls *Logs) CompileFormats(formats map[string]*config.LogFormat) error {
	names := slices.Sorted(maps.Keys(formats))
	var errs []error
	for _, name := range names {
		if _, err := ls.format(formats[name]); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// format returns lf compiled (nil is "combined"), compiling each log_format
// once per snapshot.
func (ls *Logs) format(lf *config.LogFormat) (*Format, error) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if f := ls.formats[lf]; f != nil {
		return f, nil
	}
	src := lf
	if src == nil {
		src = &config.LogFormat{Name: CombinedName, Template: Combined}
	}
	f, err := NewFormat(ls.comp, src)
	if err != nil {
		return nil, err
	}
	ls.formats[lf] = f
	return f, nil
}

// file returns the snapshot's file for path, taking a reference from Files the
// first time the snapshot names it.
func (ls *Logs) file(path string, p Params) (*file, error) {
	if path == "" {
		return nil, errors.New("access_log has no path")
	}
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if ls.released {
		return nil, errors.New("access logs of a released snapshot")
	}
	if h, ok := ls.held[path]; ok {
		if !h.params.sameFile(p) {
			return nil, fmt.Errorf(`access_log "%s" already defined with conflicting parameters`, path)
		}
		return h.file, nil
	}
	f, err := ls.files.acquire(path, p)
	if err != nil {
		return nil, err
	}
	ls.held[path] = heldFile{file: f, params: p}
	return f, nil
}

// peer returns the snapshot's peer of a syslog: target, made on first use
// (its socket opens with the first line).
func (ls *Logs) peer(c config.Syslog) (*syslog.Peer, error) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if ls.released {
		return nil, errors.New("access logs of a released snapshot")
	}
	if p := ls.peers[c]; p != nil {
		return p, nil
	}
	p, err := syslog.New(c, ls.files.hostname)
	if err != nil {
		return nil, err
	}
	ls.peers[c] = p
	return p, nil
}

// Release drops the snapshot's references to its files and closes its
// syslog sockets. Files no other snapshot holds are flushed and closed; lines that the snapshot's Loggers log
// after Release to such files are dropped, so release a snapshot only when its
// requests have finished. Release is idempotent; it returns the close errors.
func (ls *Logs) Release() error {
	ls.mu.Lock()
	if ls.released {
		ls.mu.Unlock()
		return nil
	}
	ls.released = true
	held := ls.held
	ls.held = nil
	peers := ls.peers
	ls.peers = nil
	ls.mu.Unlock()
	var errs []error
	for _, p := range peers {
		errs = append(errs, p.Close())
	}
	for _, h := range held {
		errs = append(errs, ls.files.release(h.file))
	}
	return errors.Join(errs...)
}

// Logger writes the access log lines of one location. It is immutable and safe
// for concurrent use; the zero value and nil log nothing.
type Logger struct {
	targets []target
	pool    *sync.Pool // line buffers (*[]byte) shared through Files
	files   *Files     // the clock and error reporting of syslog targets
}

// target is one compiled access_log.
type target struct {
	file   *file
	format *Format
	cond   *vars.Template // if=; nil logs always
	// dyn is a path with variables; file is then nil and each line opens
	// the file it names.
	dyn *dynamicPath
	// peer is a syslog: target; file is then nil and each line is sent
	// at once as one datagram.
	peer *syslog.Peer
}

// Enabled reports whether Log writes anything, so a caller can skip work that
// only the access log needs.
func (l *Logger) Enabled() bool { return l != nil && len(l.targets) > 0 }

// Log writes the request described by st to every access_log of the location
// whose if= condition holds. Each line is formatted outside any lock into a
// pooled buffer and appended to its file's buffer whole; a format shared by
// several targets is formatted once. In steady state Log does not allocate.
// It returns the number of syslog: targets whose send failed (their socket
// full, or a failure Files' OnSyslogError got): nginx logs `send() to syslog
// failed` at warn for each, to the request's error log.
func (l *Logger) Log(st *vars.State) (syslogFailed int) {
	if !l.Enabled() {
		return 0
	}
	bp := l.pool.Get().(*[]byte)
	b := (*bp)[:0]
	var formatted *Format
	for i := range l.targets {
		t := &l.targets[i]
		if t.cond != nil && !holds(t.cond, st, &b) {
			continue
		}
		if t.format != formatted {
			b = t.format.AppendLine(b[:0], st)
			formatted = t.format
		}
		if t.dyn != nil {
			t.dyn.write(b, st)
			continue
		}
		if t.peer != nil {
			if !l.send(t.peer, b) {
				syslogFailed++
			}
			continue
		}
		t.file.write(b)
	}
	if cap(b) <= maxPooledLine {
		*bp = b
		l.pool.Put(bp)
	}
	return syslogFailed
}

// send sends line (its newline dropped) to p as one datagram, built in a
// pooled buffer, and reports whether it was sent; a failed socket, connect
// or send goes to Files' OnSyslogError.
func (l *Logger) send(p *syslog.Peer, line []byte) bool {
	bp := l.pool.Get().(*[]byte)
	d := p.AppendHeader((*bp)[:0], p.Severity(), l.files.now())
	d = append(d, line[:len(line)-1]...)
	err := p.Send(d)
	if cap(d) <= maxPooledLine {
		*bp = d
		l.pool.Put(bp)
	}
	if err != nil {
		l.report(err)
	}
	return err == nil
}

// report passes a failed socket, connect or send to OnSyslogError (out of
// send, whose errors.As target would escape on every line).
func (l *Logger) report(err error) {
	var oe *syslog.OpError
	if errors.As(err, &oe) && l.files.onSyslogError != nil {
		l.files.onSyslogError(oe)
	}
}

// holds evaluates an if= condition after the line in *b and reports whether it
// is neither "" nor "0". *b keeps its length (its capacity may grow).
func holds(cond *vars.Template, st *vars.State, b *[]byte) bool {
	n := len(*b)
	*b = cond.Append(*b, st)
	v := (*b)[n:]
	*b = (*b)[:n]
	return len(v) > 0 && !(len(v) == 1 && v[0] == '0')
}
