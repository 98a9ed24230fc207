package daemon

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"fulcrum/internal/errlog"
)

// writePIDFile writes the process id to path (creating its directory), as nginx
// writes its pid file: the number and a newline.
func writePIDFile(path string) error {
	if path == "" {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("create pid file directory: %w", err)
	}
	data := []byte(strconv.Itoa(os.Getpid()) + "\n")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("write pid file: %w", err)
	}
	return nil
}

// removePIDFile removes the pid file if it still holds this process's id, so a
// newer instance's file is never removed by an old one.
func removePIDFile(path string) {
	if path == "" {
		return
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return
	}
	if pid, err := strconv.Atoi(string(trimNewline(data))); err == nil && pid == os.Getpid() {
		_ = os.Remove(path)
	}
}

func trimNewline(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

// movePIDFile follows a reload that changed the pid directive, as nginx's
// master does (ngx_init_cycle): the new file is written and the old one
// removed, so that fulcrum -s with the new configuration finds the process.
// A new file that cannot be written is logged, and the old one stays.
func (d *Daemon) movePIDFile(from, to string) {
	if from == to {
		return
	}
	if err := writePIDFile(to); err != nil {
		d.logs.error().Logf(errlog.Alert, "%v; the pid file stays %s", err, from)
		return
	}
	removePIDFile(from)
}
