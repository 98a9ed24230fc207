package daemon

import (
	"fmt"
	"os"
	"path/filepath"

	"fulcrum/internal/config"
)

// ensureLogDir creates <prefix>/logs when a log or pid file of cfg is in it. That
// is where fulcrum's defaults put them, and a fresh prefix has no such directory
// (nginx's installer creates it; fulcrum has none). Paths elsewhere are the
// user's: a missing directory there is an error when the file is opened.
func ensureLogDir(cfg *config.Config) error {
	if cfg.Prefix == "" {
		return nil
	}
	dir := filepath.Join(cfg.Prefix, "logs")
	if !usesDir(cfg, dir) {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create the log directory: %w", err)
	}
	return nil
}

// usesDir reports whether a pid, error log or access log path of cfg is in dir.
func usesDir(cfg *config.Config, dir string) bool {
	in := func(p string) bool { return p != "" && filepath.Dir(p) == dir }
	if in(cfg.Main.PIDFile) {
		return true
	}
	for _, l := range cfg.Main.ErrorLogs {
		if in(l.Path) {
			return true
		}
	}
	if cfg.HTTP == nil {
		return false
	}
	found := false
	check := func(set *config.Settings) {
		for _, a := range set.AccessLogs {
			found = found || in(a.Path)
		}
		for _, e := range set.ErrorLogs {
			found = found || in(e.Path)
		}
	}
	for _, srv := range cfg.HTTP.Servers {
		check(srv.Settings)
		_ = walkLocations(srv.Locations, func(l *config.Location) error { check(l.Settings); return nil })
	}
	return found
}
