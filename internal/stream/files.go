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

// files are the stream access logs and error logs, opened once per path
// and kept for the proxy's life: a session that started before a reload
// still writes its line to the file it was configured with, as nginx's
// old workers do. Reopen reopens them all (SIGUSR1).
type files struct {
	mu     sync.Mutex // guards byPath, errLogs and peers
	byPath map[string]*file
	// errLogs are the stream servers' error logs by their targets.
	errLogs map[string]*errlog.Logger
	// peers are the syslog: access log targets, kept like the files.
	peers map[config.Syslog]*syslog.Peer
	// mainLog is the main error log, where the failures of syslog:
	// error_log targets go (nginx's cycle log).
	mainLog func() *errlog.Logger
}

// file is one access log file. Lines are written whole, one write each.
type file struct {
	path string
	perm os.FileMode // the mode a missing file is created with
	mu   sync.Mutex  // guards f
	f    *os.File
}

func newFiles(mainLog func() *errlog.Logger) *files {
	return &files{byPath: map[string]*file{}, errLogs: map[string]*errlog.Logger{}, peers: map[config.Syslog]*syslog.Peer{}, mainLog: mainLog}
}

// open returns the file of path, opening it on first use.
func (fs *files) open(path string) (*file, error) { return fs.openPerm(path, 0o644) }

// keyLogPerm is the mode of a key log file (ssl_key_log,
// proxy_ssl_key_log): its secrets decrypt every connection logged, so
// only the owner may read it (the daemon's http key logs have it too).
const keyLogPerm = 0o600

// openKeyLog returns the key log file of path, opening it on first use,
// created with keyLogPerm. crypto/tls writes one whole NSS key log line
// per Write.
func (fs *files) openKeyLog(path string) (*file, error) { return fs.openPerm(path, keyLogPerm) }

// openPerm returns the file of path, opening it on first use; a missing
// file is created with perm.
func (fs *files) openPerm(path string, perm os.FileMode) (*file, error) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if f := fs.byPath[path]; f != nil {
		return f, nil
	}
	of, err := openAppend(path, perm)
	if err != nil {
		return nil, err
	}
	f := &file{path: path, perm: perm, f: of}
	fs.byPath[path] = f
	return f, nil
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
func (fs *files) syslogPeer(c config.Syslog) (*syslog.Peer, error) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if p := fs.peers[c]; p != nil {
		return p, nil
	}
	p, err := syslog.New(c, "")
	if err != nil {
		return nil, err
	}
	fs.peers[c] = p
	return p, nil
}

// errorLog returns the logger of a stream server's error_log targets.
func (fs *files) errorLog(logs []config.ErrorLog) (*errlog.Logger, error) {
	key := fmt.Sprint(logs)
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if l := fs.errLogs[key]; l != nil {
		return l, nil
	}
	l, err := errlog.New(errlog.Options{Targets: errlog.TargetsFrom(logs), OnSyslogError: func(level errlog.Level, msg string) {
		fs.mainLog().LogQuiet(level, msg)
	}})
	if err != nil {
		return nil, err
	}
	fs.errLogs[key] = l
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
func (fs *files) reopen() error {
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

// closeAll closes every file.
func (fs *files) closeAll() {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for _, f := range fs.byPath {
		f.mu.Lock()
		if f.f != nil && f.path != errlog.StderrPath {
			f.f.Close()
		}
		f.f = nil
		f.mu.Unlock()
	}
	for _, l := range fs.errLogs {
		l.Close()
	}
	for _, p := range fs.peers {
		p.Close()
	}
}
