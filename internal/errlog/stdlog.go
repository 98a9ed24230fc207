package errlog

import "log"

// StdLogger returns a *log.Logger whose every output line is logged at level, for
// code that wants one, such as net/http's Server.ErrorLog. The returned logger adds
// no prefix or flags of its own: the error log stamps the time.
func (l *Logger) StdLogger(level Level) *log.Logger {
	return log.New(levelWriter{l: l, level: level}, "", 0)
}

// levelWriter logs each Write as one message at a fixed level.
type levelWriter struct {
	l     *Logger
	level Level
}

// Write logs p (one message from log.Logger, which ends in a newline) and
// reports it all written.
func (w levelWriter) Write(p []byte) (int, error) {
	w.l.Log(w.level, string(p))
	return len(p), nil
}
