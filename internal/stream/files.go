package stream

import (
	"errors"
	"fmt"
	"os"
	"sync"

	"fulcrum/internal/config"
	"fulcrum/internal/errlog"
)

// files are the stream access logs and error logs, opened once per path
// and kept for the proxy's life: a session that started before a reload
// still writes its line to the file it was configured with, as nginx's
// old workers do. Reopen reopens them all (SIGUSR1).
type files struct {
	mu     sync.Mutex // guards byPath and errLogs
	byPath map[string]*file
	// errLogs are the stream servers' error logs by their targets.
	errLogs map[string]*errlog.Logger
}

// file is one access log file. Lines are written whole, one write each.
type file struct {
	path string
	mu   sync.Mutex // guards f
	f    *os.File
}

func newFiles() *files {
	return &files{byPath: map[string]*file{}, errLogs: map[string]*errlog.Logger{}}
}

// open returns the file of path, opening it on first use.
func (fs *files) open(path string) (*file, error) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if f := fs.byPath[path]; f != nil {
		return f, nil
	}
	of, err := openAppend(path)
	if err != nil {
		return nil, err
	}
	f := &file{path: path, f: of}
	fs.byPath[path] = f
	return f, nil
}

// openAppend opens path for appending as nginx opens logs; "stderr" is
// standard error.
func openAppend(path string) (*os.File, error) {
	if path == errlog.StderrPath {
		return os.Stderr, nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf(`open() "%s" failed (%s)`, path, errlog.Errno(err))
	}
	return f, nil
}

// errorLog returns the logger of a stream server's error_log targets.
func (fs *files) errorLog(logs []config.ErrorLog) (*errlog.Logger, error) {
	key := fmt.Sprint(logs)
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if l := fs.errLogs[key]; l != nil {
		return l, nil
	}
	l, err := errlog.New(errlog.Options{Targets: errlog.TargetsFrom(logs)})
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

// reopen reopens every file.
func (fs *files) reopen() error {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	var errs []error
	for _, f := range fs.byPath {
		if f.path == errlog.StderrPath {
			continue
		}
		nf, err := openAppend(f.path)
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
}
