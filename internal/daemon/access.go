package daemon

import (
	"context"

	"fulcrum/internal/accesslog"
	"fulcrum/internal/config"
	"fulcrum/internal/errlog"
	"fulcrum/internal/syslog"
	"fulcrum/internal/vars"
)

// accessLogs are a snapshot's compiled access_log directives: one Logger per
// server and location settings.
type accessLogs struct {
	logs    *accesslog.Logs
	loggers map[*config.Settings]*accesslog.Logger
	// errorLog is the error log of a level's error_log lines (logSet.level),
	// where a failed syslog: send is reported.
	errorLog func([]config.ErrorLog) *errlog.Logger
	// on says some settings log (a Logger with targets): without it, as
	// with "access_log off" everywhere, log looks nothing up.
	on bool
}

// newAccessFiles returns the process's access log files; errors writing them go
// to the error log.
func newAccessFiles(errLog func() *errlog.Logger) *accesslog.Files {
	return accesslog.NewFiles(accesslog.FilesOptions{OnError: func(err error) {
		errLog().Logf(errlog.Alert, "%v", err)
	}, OnRequestError: func(st *vars.State, crit bool, what string, err error) {
		level := errlog.Error
		if crit {
			level = errlog.Crit
		}
		req := &errlog.Request{Conn: st.Conn, Client: st.RemoteAddr(), Server: st.ServerName,
			Request: st.RequestLine, Upstream: st.LastUpstream.String(), Host: st.Host}
		req.Referrer, req.ReferrerSent = st.Referer()
		errLog().LogRequest(level, req, what+" ("+errlog.Errno(err)+") while logging request")
	}, OnSyslogError: func(err *syslog.OpError) {
		// nginx 1.22.1 (recorded): the failed call at alert (a refused
		// send at error) in the main error log, without the request
		level := errlog.Alert
		if !err.Alert() {
			level = errlog.Error
		}
		errLog().LogQuiet(level, err.Error())
	}})
}

// accessFor compiles the access logs of cfg, opening files the running snapshot
// does not have yet. On a failed build the caller releases them.
func (ls *logSet) accessFor(cfg *config.Config, comp *vars.Compiler) (*accessLogs, error) {
	a := &accessLogs{logs: accesslog.NewLogs(ls.access, comp), loggers: map[*config.Settings]*accesslog.Logger{}, errorLog: ls.level}
	if cfg.HTTP == nil {
		return a, nil
	}
	if err := a.logs.CompileFormats(cfg.HTTP.LogFormats); err != nil {
		a.release()
		return nil, err
	}
	add := func(set *config.Settings) error {
		if set == nil {
			return nil
		}
		if _, ok := a.loggers[set]; ok {
			return nil
		}
		lg, err := a.logs.Logger(accesslog.Targets(set.AccessLogs))
		if err != nil {
			return err
		}
		a.loggers[set] = lg
		a.on = a.on || lg.Enabled()
		return nil
	}
	if err := walkSettings(cfg.HTTP.Servers, add); err != nil {
		a.release()
		return nil, err
	}
	// nginx opens the http level's access_log files too, used or not
	if _, err := a.logs.Logger(accesslog.Targets(cfg.HTTP.AccessLogs)); err != nil {
		a.release()
		return nil, err
	}
	return a, nil
}

// log writes the access log lines of a request served with set.
func (a *accessLogs) log(set *config.Settings, st *vars.State) {
	if a == nil || !a.on {
		return
	}
	st.Logging = true
	failed := a.loggers[set].Log(st)
	st.Logging = false
	for range failed {
		// nginx 1.22.1 (recorded): at warn, to the request's error log
		req := &errlog.Request{Conn: st.Conn, Client: st.RemoteAddr(), Server: st.ServerName,
			Request: st.RequestLine, Upstream: st.LastUpstream.String(), Host: st.Host}
		req.Referrer, req.ReferrerSent = st.Referer()
		a.errorLog(set.ErrorLogs).LogRequest(errlog.Warn, req, "send() to syslog failed while logging request")
	}
}

// release lets go of the snapshot's files; files no newer snapshot uses close.
func (a *accessLogs) release() {
	if a != nil && a.logs != nil {
		_ = a.logs.Release()
	}
}

// runFlusher flushes buffered access log lines on time until ctx ends.
func runFlusher(ctx context.Context, files *accesslog.Files) {
	files.Run(ctx)
}
