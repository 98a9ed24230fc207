package daemon

import (
	"fmt"
	"io"
	"os"

	"fulcrum/internal/config"
)

// keyLogs are a snapshot's ssl_key_log files (and the upstream ones,
// proxy_ssl_key_log and its grpc_ and uwsgi_ kin) by path: each is opened for
// appending once, when the snapshot is built, shared by the servers that
// name it, and closed when the snapshot is released. crypto/tls writes one
// whole NSS key log line per Write, so lines from an old snapshot still
// draining and a new one do not mix within a line (O_APPEND).
type keyLogs map[string]*os.File

// keyLogPerm is the mode of a key log file fulcrum creates: its secrets
// decrypt every connection logged, so only the owner may read it.
const keyLogPerm = 0o600

// writer returns the key log of t's server, opening its file the first
// time; nil when the server has no ssl_key_log.
func (k keyLogs) writer(t *config.TLS) (io.Writer, error) {
	if t == nil || t.KeyLog == "" {
		return nil, nil
	}
	return k.open(t.KeyLog, "ssl_key_log", t.KeyLogPos)
}

// open returns the file at path, opening it the first time; what and pos
// name the directive for errors.
func (k keyLogs) open(path, what string, pos config.Pos) (*os.File, error) {
	if f := k[path]; f != nil {
		return f, nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, keyLogPerm)
	if err != nil {
		return nil, fmt.Errorf("cannot open %s file: %w in %s", what, err, pos)
	}
	k[path] = f
	return f, nil
}

// attach opens the files of the configuration's proxy_ssl_key_log,
// grpc_ssl_key_log and uwsgi_ssl_key_log directives (shared with an
// ssl_key_log of the same path) and attaches them, before any handshake
// with an upstream.
func (k keyLogs) attach(files []*config.KeyLogFile) error {
	for _, kf := range files {
		f, err := k.open(kf.Path, "upstream TLS key log", kf.Pos)
		if err != nil {
			return err
		}
		kf.Attach(f)
	}
	return nil
}

// close closes every file.
func (k keyLogs) close() {
	for _, f := range k {
		_ = f.Close()
	}
}
