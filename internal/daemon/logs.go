package daemon

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"fulcrum/internal/accesslog"
	"fulcrum/internal/config"
	"fulcrum/internal/errlog"
)

// logSet owns the error log (and the access log files): it keeps them open across
// reloads that do not change them, and reopens them on SIGUSR1.
type logSet struct {
	cur     atomic.Pointer[errlog.Logger]
	mu      sync.Mutex // guards targets
	targets []errlog.Target
	access  *accesslog.Files
}

// discard is the logger of a logSet without targets (fulcrum -t).
var discard, _ = errlog.New(errlog.Options{})

// openLogs opens the configuration's error log. If it cannot be opened, the
// error is reported to startup.
func openLogs(cfg *config.Config, startup *errlog.Logger) (*logSet, error) {
	ls := &logSet{}
	ls.access = newAccessFiles(ls.error)
	if err := ls.update(cfg); err != nil {
		startup.Logf(errlog.Emerg, "%v", err)
		return nil, err
	}
	return ls, nil
}

// error returns the current error log; never nil.
func (ls *logSet) error() *errlog.Logger {
	if l := ls.cur.Load(); l != nil {
		return l
	}
	return discard
}

// update opens the error log of cfg when its targets differ from the current ones.
// The old log is closed a little later, after requests that hold it finish.
func (ls *logSet) update(cfg *config.Config) error {
	targets := errlog.TargetsFrom(cfg.Main.ErrorLogs)
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if ls.cur.Load() != nil && slices.Equal(targets, ls.targets) {
		return nil
	}
	l, err := errlog.New(errlog.Options{Targets: targets})
	if err != nil {
		return err
	}
	old := ls.cur.Swap(l)
	ls.targets = targets
	if old != nil {
		time.AfterFunc(time.Minute, func() { old.Close() })
	}
	return nil
}

// reopen reopens every log file (SIGUSR1).
func (ls *logSet) reopen() error {
	if err := ls.access.Reopen(); err != nil {
		return err
	}
	return ls.error().Reopen()
}

// close flushes and closes every log.
func (ls *logSet) close() {
	if ls.access != nil {
		_ = ls.access.Close()
	}
	if l := ls.cur.Load(); l != nil {
		l.Close()
	}
}
