package daemon

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"fulcrum/internal/config"
	"fulcrum/internal/errlog"
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

// ensureTempDirs creates the directories client_body_temp_path and the
// *_cache_path directives name, as
// nginx creates its temporary paths at start, on reload and on `nginx -t`
// (mode 0700, one level: nginx 1.22.1 fails with `mkdir() "/x/a/cb" failed
// (2: No such file or directory)` when the parent is missing). The default
// path (<prefix>/client_body_temp) is made too when a level uses it, as
// nginx makes its default (the compiled-in path, /var/lib/nginx/body for
// Debian's build) whether a body ever needs it or not; not for a
// configuration without a prefix (one built in memory, whose relative
// default would land in the working directory).
func ensureTempDirs(cfg *config.Config) error {
	if cfg.HTTP == nil {
		return nil
	}
	seen := map[string]bool{}
	check := func(set *config.Settings) error {
		tp := set.ClientBodyTempPath
		if seen[tp.Path] || (tp.Pos.File == "" && cfg.Prefix == "") {
			return nil
		}
		seen[tp.Path] = true
		if tp.Pos.File == "" {
			return makeDefaultTempDir(tp.Path, cfg.Prefix)
		}
		return makeTempDir(tp)
	}
	for _, srv := range cfg.HTTP.Servers {
		if err := check(srv.Settings); err != nil {
			return err
		}
		if err := walkLocations(srv.Locations, func(l *config.Location) error { return check(l.Settings) }); err != nil {
			return err
		}
	}
	for _, cp := range cfg.HTTP.CachePaths {
		if err := makeCacheDir(cp); err != nil {
			return err
		}
	}
	return nil
}

// makeCacheDir creates the directory of a proxy_cache_path (or
// fastcgi_, scgi_, uwsgi_cache_path) unless it exists, one level, as nginx's
// ngx_create_paths does at start, on reload and on `nginx -t`: nginx 1.22.1
// refuses a path whose parent is missing with `mkdir() "/var/cache/nginx/x"
// failed (2: No such file or directory)` (recorded). Anything already there
// passes, as nginx only looks at mkdir's EEXIST (the cache zone refuses a
// file when it starts). An error names the directive's file and line.
func makeCacheDir(cp *config.CachePath) error {
	err := os.Mkdir(cp.Dir, 0o700)
	if err == nil || errors.Is(err, fs.ErrExist) {
		return nil
	}
	return &config.Error{Pos: cp.Pos, Msg: fmt.Sprintf("mkdir() %q failed (%s)", cp.Dir, errlog.Errno(err)),
		Hint: "create its parent directory or point " + cp.Module + "_cache_path at a writable one"}
}

// makeDefaultTempDir creates the default client_body_temp_path, dir,
// under prefix unless it exists; no directive names it, so an error names
// the prefix.
func makeDefaultTempDir(dir, prefix string) error {
	err := os.Mkdir(dir, 0o700)
	if errors.Is(err, fs.ErrExist) {
		var fi fs.FileInfo
		if fi, err = os.Stat(dir); err == nil && !fi.IsDir() {
			return fmt.Errorf("%q is not a directory: the default client_body_temp_path under the prefix %s; remove it or set client_body_temp_path in the http block", dir, prefix)
		}
	}
	if err != nil {
		return fmt.Errorf("mkdir() %q failed (%s): the default client_body_temp_path under the prefix %s; make the prefix writable (-p) or set client_body_temp_path in the http block", dir, errlog.Errno(err), prefix)
	}
	return nil
}

// makeTempDir creates tp's directory unless it exists; an error names the
// directive's file and line.
func makeTempDir(tp config.TempPath) error {
	err := os.Mkdir(tp.Path, 0o700)
	if err == nil || errors.Is(err, fs.ErrExist) {
		if fi, serr := os.Stat(tp.Path); serr == nil && !fi.IsDir() {
			return &config.Error{Pos: tp.Pos, Msg: fmt.Sprintf("%q is not a directory", tp.Path), Hint: "point client_body_temp_path at a directory"}
		}
		return nil
	}
	return &config.Error{Pos: tp.Pos, Msg: fmt.Sprintf("mkdir() %q failed (%s)", tp.Path, errlog.Errno(err)), Hint: "create its parent directory or point client_body_temp_path at a writable one"}
}
