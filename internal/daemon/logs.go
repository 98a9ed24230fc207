package daemon

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

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

// update opens the error logs of cfg whose targets differ from the current
// ones: the main context's and those of http, server and location blocks.
// If one cannot be opened, nothing changes. Logs cfg no longer uses are
// closed a little later, after requests that hold them finish.
func (ls *logSet) update(cfg *config.Config) error {
	targets := errlog.TargetsFrom(cfg.Main.ErrorLogs)
	ls.mu.Lock()
	defer ls.mu.Unlock()
	var main *errlog.Logger
	if ls.cur.Load() == nil || !slices.Equal(targets, ls.targets) {
		l, err := errlog.New(errlog.Options{Targets: targets})
		if err != nil {
			return err
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
		return err
	}
	var unused []*errlog.Logger
	for key, l := range ls.levels {
		if levels[key] == nil {
			unused = append(unused, l)
		}
	}
	if main != nil {
		if old := ls.cur.Swap(main); old != nil {
			unused = append(unused, old)
		}
		ls.targets = targets
	}
	ls.levels = levels
	if len(unused) > 0 {
		time.AfterFunc(time.Minute, func() {
			for _, l := range unused {
				l.Close()
			}
		})
	}
	return nil
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
			if l, err = errlog.New(errlog.Options{Targets: targets}); err != nil {
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
