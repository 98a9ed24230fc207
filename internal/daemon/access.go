package daemon

import (
	"fulcrum/internal/config"
	"fulcrum/internal/vars"
)

// accessFiles will own the access log files across reloads (package accesslog).
type accessFiles struct{}

func newAccessFiles() *accessFiles   { return &accessFiles{} }
func (a *accessFiles) reopen() error { return nil }
func (a *accessFiles) close()        {}
func (a *accessFiles) flush()        {}

// accessLogs are a snapshot's compiled access_log directives.
type accessLogs struct{}

func (ls *logSet) accessFor(cfg *config.Config, comp *vars.Compiler) (*accessLogs, error) {
	return &accessLogs{}, nil
}

// log writes the access log lines of a request served with set.
func (a *accessLogs) log(set *config.Settings, st *vars.State) {}
