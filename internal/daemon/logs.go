package daemon

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"fulcrum/internal/accesslog"
	"fulcrum/internal/config"
	"fulcrum/internal/errlog"
)

// logSet owns the error logs (and the access log files): it keeps them open
// across reloads that do not change them, and reopens them on SIGUSR1.
type logSet struct {
	cur     atomic.Pointer[errlog.Logger]
	mu      sync.Mutex // guards targets and levels
	targets []errlog.Target
	// levels are the loggers of the error_log lines of http, server and
	// location blocks whose targets differ from the main context's, by
	// levelKey of their targets (see level).
	levels map[string]*errlog.Logger
	access *accesslog.Files
}

// discard is the logger of a logSet without targets (fulcrum -t).
var discard, _ = errlog.New(errlog.Options{})

// openLogs opens the configuration's error log. If it cannot be opened, the
// error is reported to startup.
func openLogs(cfg *config.Config, startup *errlog.Logger) (*logSet, error) {
	ls := &logSet{}
	ls.access = newAccessFiles(ls.error)
	ch, err := ls.update(cfg)
	if err != nil {
		startup.Logf(errlog.Emerg, "%v", err)
		return nil, err
	}
	ch.closeRetired() // none: nothing was in force
	return ls, nil
}

// syslogFailed logs the failure of a syslog: error log target to the main
// error log, as nginx logs it to its cycle's log; LogQuiet keeps a failing
// target of the main log from reporting itself again.
func (ls *logSet) syslogFailed(level errlog.Level, msg string) {
	ls.error().LogQuiet(level, msg)
}

// error returns the current error log; never nil.
func (ls *logSet) error() *errlog.Logger {
	if l := ls.cur.Load(); l != nil {
		return l
	}
	return discard
}

// update opens the error logs of cfg whose targets differ from the current
// ones: the main context's and those of http, server and location blocks,
// and puts them in force. If one cannot be opened, nothing changes. The
// change says what happens to the logs cfg no longer uses: closeRetired
// closes them, once the configuration is in force and the old one's last
// request finished; undo puts them back, for a reload that fails after
// update, whose running snapshot still writes to them.
func (ls *logSet) update(cfg *config.Config) (*logChange, error) {
	targets := errlog.TargetsFrom(cfg.Main.ErrorLogs)
	ls.mu.Lock()
	defer ls.mu.Unlock()
	var main *errlog.Logger
	if ls.cur.Load() == nil || !slices.Equal(targets, ls.targets) {
		l, err := errlog.New(errlog.Options{Targets: targets, OnSyslogError: ls.syslogFailed})
		if err != nil {
			return nil, err
		}
		main = l
	}
	levels, opened, err := ls.openLevels(cfg, levelKey(targets))
	if err != nil {
		for _, l := range opened {
			l.Close()
		}
		if main != nil {
			main.Close()
		}
		return nil, err
	}
	ch := &logChange{ls: ls, prevCur: ls.cur.Load(), prevTargets: ls.targets, prevLevels: ls.levels, opened: opened}
	for key, l := range ls.levels {
		if levels[key] == nil {
			ch.retired = append(ch.retired, l)
		}
	}
	if main != nil {
		ch.opened = append(ch.opened, main)
		if old := ls.cur.Swap(main); old != nil {
			ch.retired = append(ch.retired, old)
		}
		ls.targets = targets
	}
	ls.levels = levels
	return ch, nil
}

// logChange is what logSet.update changed: the logs it opened and those it
// took out of use, closed by closeRetired or put back by undo.
type logChange struct {
	ls          *logSet
	prevCur     *errlog.Logger
	prevTargets []errlog.Target
	prevLevels  map[string]*errlog.Logger
	opened      []*errlog.Logger
	retired     []*errlog.Logger
}

// closeRetired closes the logs the change took out of use. A reload runs
// it when the configuration it replaced is released, after that one's
// last request (the snapshot's closers), as nginx's old worker closes its
// cycle's logs when it exits: not before (a request that outlives the
// reload still logs to its file), and not long after (each reload that
// changes a target would keep a descriptor open for as long).
func (ch *logChange) closeRetired() {
	for _, l := range ch.retired {
		l.Close()
	}
	ch.retired = nil
}

// undo puts the logs before the change back in force and closes those it
// opened.
func (ch *logChange) undo() {
	ls := ch.ls
	ls.mu.Lock()
	if ch.prevCur != nil {
		ls.cur.Store(ch.prevCur)
	}
	ls.targets, ls.levels = ch.prevTargets, ch.prevLevels
	ls.mu.Unlock()
	for _, l := range ch.opened {
		l.Close()
	}
}

// openLevels returns the loggers of every error_log target set of cfg's
// http, server and location levels other than the main context's (mainKey),
// keeping the open ones, and those it opened.
func (ls *logSet) openLevels(cfg *config.Config, mainKey string) (levels map[string]*errlog.Logger, opened []*errlog.Logger, err error) {
	if cfg.HTTP == nil {
		return nil, nil, nil
	}
	err = walkSettings(cfg.HTTP.Servers, func(set *config.Settings) error {
		targets := errlog.TargetsFrom(set.ErrorLogs)
		key := levelKey(targets)
		if key == mainKey || levels[key] != nil {
			return nil
		}
		l := ls.levels[key]
		if l == nil {
			var err error
			if l, err = errlog.New(errlog.Options{Targets: targets, OnSyslogError: ls.syslogFailed}); err != nil {
				return err
			}
			opened = append(opened, l)
		}
		if levels == nil {
			levels = map[string]*errlog.Logger{}
		}
		levels[key] = l
		return nil
	})
	return levels, opened, err
}

// levelKey identifies a set of error log targets.
func levelKey(targets []errlog.Target) string { return fmt.Sprint(targets) }

// level returns the logger of a level's effective error_log lines (a
// Settings' ErrorLogs): the main context's when they are its, else the one
// update opened for them. It never returns nil.
func (ls *logSet) level(logs []config.ErrorLog) *errlog.Logger {
	targets := errlog.TargetsFrom(logs)
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if l := ls.levels[levelKey(targets)]; l != nil && !slices.Equal(targets, ls.targets) {
		return l
	}
	return ls.error()
}

// reopen reopens every log file (SIGUSR1).
func (ls *logSet) reopen() error {
	if err := ls.access.Reopen(); err != nil {
		return err
	}
	ls.mu.Lock()
	levels := make([]*errlog.Logger, 0, len(ls.levels))
	for _, l := range ls.levels {
		levels = append(levels, l)
	}
	ls.mu.Unlock()
	errs := []error{ls.error().Reopen()}
	for _, l := range levels {
		errs = append(errs, l.Reopen())
	}
	return errors.Join(errs...)
}

// close flushes and closes every log.
func (ls *logSet) close() {
	if ls.access != nil {
		_ = ls.access.Close()
	}
	if l := ls.cur.Load(); l != nil {
		l.Close()
	}
	ls.mu.Lock()
	defer ls.mu.Unlock()
	for _, l := range ls.levels {
		l.Close()
	}
}
