package stream

import (
	"errors"
	"fmt"
	"os"
	"sync"

	"fulcrum/internal/config"
	"fulcrum/internal/errlog"
	"fulcrum/internal/syslog"
)

// fileSet are the stream access logs, key logs, error logs and syslog
// peers, opened once per path (or target) and shared by the tables that
// name it: a session that started before a reload still writes its line
// to the file it was configured with, as nginx's old workers do. Each
// table holds what it named through its own view (files); an entry that
// no table holds any more is closed when the last table that held it is
// released, after its last session (release). Reopen reopens them all
// (SIGUSR1).
type fileSet struct {
	mu     sync.Mutex // guards byPath, errLogs, peers and uses
	byPath map[string]*file
	// errLogs are the stream servers' error logs by their targets.
	errLogs map[string]*errlog.Logger
	// peers are the syslog: access log targets, kept like the files.
	peers map[config.Syslog]*syslog.Peer
	// uses counts, for each *file, *errlog.Logger and *syslog.Peer above,
	// how many times the tables not yet released took it.
	uses map[any]int
	// mainLog is the main error log, where the failures of syslog:
	// error_log targets go (nginx's cycle log).
	mainLog func() *errlog.Logger
}

// files is one table's view of the fileSet: what it opens through it is
// counted as held by the table until release. A nil *files is a
// configuration check's: it opens a key log file only to report an error.
type files struct {
	set  *fileSet
	held []any
}

func newFileSet(mainLog func() *errlog.Logger) *fileSet {
	return &fileSet{byPath: map[string]*file{}, errLogs: map[string]*errlog.Logger{}, peers: map[config.Syslog]*syslog.Peer{}, uses: map[any]int{}, mainLog: mainLog}
}

// view returns a new table's view of fs.
func (fs *fileSet) view() *files { return &files{set: fs} }

// hold counts x as held by v's table; the caller holds v.set.mu.
func (v *files) hold(x any) {
	v.set.uses[x]++
	v.held = append(v.held, x)
}

// release gives back what v's table held and closes each file, error log
// and syslog peer that no table holds any more. It runs once, after the
// table's last session ended (or when the table never went into force).
func (v *files) release() {
	fs := v.set
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for _, x := range v.held {
		if fs.uses[x]--; fs.uses[x] > 0 {
			continue
		}
		delete(fs.uses, x)
		fs.drop(x)
	}
	v.held = nil
}

// drop takes x out of fs and closes it; the caller holds fs.mu.
func (fs *fileSet) drop(x any) {
	switch x := x.(type) {
	case *file:
		delete(fs.byPath, x.path)
		x.close()
	case *errlog.Logger:
		for k, l := range fs.errLogs {
			if l == x {
				delete(fs.errLogs, k)
			}
		}
		x.Close()
	case *syslog.Peer:
		for k, p := range fs.peers {
			if p == x {
				delete(fs.peers, k)
			}
		}
		x.Close()
	}
}

// file is one access log file. Lines are written whole, one write each.
type file struct {
	path string
	perm os.FileMode // the mode a missing file is created with
	mu   sync.Mutex  // guards f
	f    *os.File
}

// open returns the file of path, opening it on first use.
func (v *files) open(path string) (*file, error) { return v.openPerm(path, 0o644) }

// keyLogPerm is the mode of a key log file (ssl_key_log,
// proxy_ssl_key_log): its secrets decrypt every connection logged, so
// only the owner may read it (the daemon's http key logs have it too).
const keyLogPerm = 0o600

// openKeyLog returns the key log file of path, opening it on first use,
// created with keyLogPerm. crypto/tls writes one whole NSS key log line
// per Write.
func (v *files) openKeyLog(path string) (*file, error) { return v.openPerm(path, keyLogPerm) }

// openPerm returns the file of path, opening it on first use; a missing
// file is created with perm.
func (v *files) openPerm(path string, perm os.FileMode) (*file, error) {
	if v == nil {
		return checkOpen(path, perm)
	}
	fs := v.set
	fs.mu.Lock()
	defer fs.mu.Unlock()
	f := fs.byPath[path]
	if f == nil {
		of, err := openAppend(path, perm)
		if err != nil {
			return nil, err
		}
		f = &file{path: path, perm: perm, f: of}
		fs.byPath[path] = f
	}
	v.hold(f)
	return f, nil
}

// checkOpen opens and closes path, as a configuration check (no view)
// opens a file to report the error a start would meet, and returns a file
// that writes nothing.
func checkOpen(path string, perm os.FileMode) (*file, error) {
	f, err := openAppend(path, perm)
	if err != nil {
		return nil, err
	}
	if f != os.Stderr {
		f.Close()
	}
	return &file{path: path, perm: perm}, nil
}

// openAppend opens path for appending as nginx opens logs; "stderr" is
// standard error.
func openAppend(path string, perm os.FileMode) (*os.File, error) {
	if path == errlog.StderrPath {
		return os.Stderr, nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, perm)
	if err != nil {
		return nil, fmt.Errorf(`open() "%s" failed (%s)`, path, errlog.Errno(err))
	}
	return f, nil
}

// syslogPeer returns the peer of a syslog: access log target, made on
// first use (its socket opens with the first line).
func (v *files) syslogPeer(c config.Syslog) (*syslog.Peer, error) {
	fs := v.set
	fs.mu.Lock()
	defer fs.mu.Unlock()
	p := fs.peers[c]
	if p == nil {
		var err error
		if p, err = syslog.New(c, ""); err != nil {
			return nil, err
		}
		fs.peers[c] = p
	}
	v.hold(p)
	return p, nil
}

// errorLog returns the logger of a stream server's error_log targets.
func (v *files) errorLog(logs []config.ErrorLog) (*errlog.Logger, error) {
	key := fmt.Sprint(logs)
	fs := v.set
	fs.mu.Lock()
	defer fs.mu.Unlock()
	l := fs.errLogs[key]
	if l == nil {
		var err error
		l, err = errlog.New(errlog.Options{Targets: errlog.TargetsFrom(logs), OnSyslogError: func(level errlog.Level, msg string) {
			fs.mainLog().LogQuiet(level, msg)
		}})
		if err != nil {
			return nil, err
		}
		fs.errLogs[key] = l
	}
	v.hold(l)
	return l, nil
}

// write appends line to f.
func (f *file) write(line []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.f != nil {
		_, _ = f.f.Write(line)
	}
}

// Write appends p to f whole, for crypto/tls's KeyLogWriter; after the
// file was closed it writes nothing and reports no error (a handshake must
// not fail for its key log).
func (f *file) Write(p []byte) (int, error) {
	f.write(p)
	return len(p), nil
}

// reopen reopens every file.
func (fs *fileSet) reopen() error {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	var errs []error
	for _, f := range fs.byPath {
		if f.path == errlog.StderrPath {
			continue
		}
		nf, err := openAppend(f.path, f.perm)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		f.mu.Lock()
		old := f.f
		f.f = nf
		f.mu.Unlock()
		old.Close()
	}
	for _, l := range fs.errLogs {
		errs = append(errs, l.Reopen())
	}
	return errors.Join(errs...)
}

// close closes f (standard error stays open); later lines are dropped.
func (f *file) close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.f != nil && f.path != errlog.StderrPath {
		f.f.Close()
	}
	f.f = nil
}

// closeAll closes every file.
func (fs *fileSet) closeAll() {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for _, f := range fs.byPath {
		f.close()
	}
	for _, l := range fs.errLogs {
		l.Close()
	}
	for _, p := range fs.peers {
		p.Close()
	}
}
