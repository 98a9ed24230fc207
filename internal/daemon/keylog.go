package daemon

import (
	"fmt"
	"io"
	"os"

	"fulcrum/internal/config"
)

// keyLogs are a snapshot's ssl_key_log files by path: each is opened for
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
	if f := k[t.KeyLog]; f != nil {
		return f, nil
	}
	f, err := os.OpenFile(t.KeyLog, os.O_WRONLY|os.O_APPEND|os.O_CREATE, keyLogPerm)
	if err != nil {
		return nil, fmt.Errorf("cannot open ssl_key_log file: %w in %s", err, t.KeyLogPos)
	}
	k[t.KeyLog] = f
	return f, nil
}

// close closes every file.
func (k keyLogs) close() {
	for _, f := range k {
		_ = f.Close()
	}
}
