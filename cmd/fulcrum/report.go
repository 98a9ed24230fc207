package main

import (
	"fmt"
	"io"

	"fulcrum/internal/errlog"
)

// reporter tells the operator what happened before the configuration's own error
// logs are running. As nginx does, a message at warn or above goes to standard
// error as "fulcrum: [level] message"; every message at notice or above also goes
// to the -e error log, when one was given, in the error log's format.
type reporter struct {
	stderr io.Writer
	path   string         // the -e path; empty without -e or with -e stderr
	log    *errlog.Logger // the -e log while open; nil when closed or without one
}

// newReporter opens the -e error log at path (absolute, "stderr" or empty), so that
// the file exists at once, even for -t, as with nginx.
func newReporter(stderr io.Writer, path string) (*reporter, error) {
	r := &reporter{stderr: stderr}
	if path == "" || path == errlog.StderrPath {
		return r, nil
	}
	r.path = path
	if err := r.open(); err != nil {
		return nil, err
	}
	return r, nil
}

// open opens the -e log; nginx's early log takes notice and above.
func (r *reporter) open() error {
	l, err := errlog.New(errlog.Options{Targets: []errlog.Target{{Path: r.path, Level: errlog.Notice}}})
	if err != nil {
		return err
	}
	r.log = l
	return nil
}

// report tells msg at level.
func (r *reporter) report(level errlog.Level, msg string) {
	if level >= errlog.Warn {
		fmt.Fprintf(r.stderr, "fulcrum: [%s] %s\n", level, msg)
	}
	if r.log != nil {
		r.log.Log(level, msg)
	}
}

// say prints a plain "fulcrum: message" line to standard error only, like the
// "syntax is ok" lines of -t.
func (r *reporter) say(format string, args ...any) {
	fmt.Fprintf(r.stderr, "fulcrum: "+format+"\n", args...)
}

// close closes the -e log. It is safe to call more than once.
func (r *reporter) close() {
	if r.log != nil {
		r.log.Close()
		r.log = nil
	}
}

// reopen opens the -e log again after close, so that a long-running process does
// not hold it open (and a rotated file stays deletable). A failure to reopen
// leaves only standard error.
func (r *reporter) reopen() {
	if r.path != "" && r.log == nil {
		_ = r.open()
	}
}
