package daemon_test

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"fulcrum/internal/config"
	"fulcrum/internal/daemon"
)

// TestDefaultBodyTempDirCheck checks that `fulcrum -t` (daemon.Check)
// makes the default client_body_temp_path, <prefix>/client_body_temp,
// with mode 0700, as `nginx -t` makes its default one (recorded with nginx
// 1.22.1: `nginx -p DIR -t` made the temporary paths, each drwx------,
// Debian's default body path being /var/lib/nginx/body), and not when
// the http block names another; one that cannot be made is an error
// naming the directory, the prefix and a fix.
func TestDefaultBodyTempDirCheck(t *testing.T) {
	tests := []struct {
		name   string
		http   string // in the http block
		prefix string // under the test's directory; "" is the directory
		setup  func(t *testing.T, dir string)
		made   bool   // a directory with mode 0700 is made
		want   string // in the error
	}{
		{name: "made", made: true},
		{name: "exists", setup: func(t *testing.T, dir string) { mkdir(t, filepath.Join(dir, "client_body_temp")) }},
		{name: "another path", http: "client_body_temp_path cb;"},
		{name: "a file in the way", setup: func(t *testing.T, dir string) { writeFile(t, filepath.Join(dir, "client_body_temp")) },
			want: `"DIR/client_body_temp" is not a directory: the default client_body_temp_path under the prefix DIR; remove it or set client_body_temp_path`},
		{name: "prefix not a directory", prefix: "f", setup: func(t *testing.T, dir string) { writeFile(t, filepath.Join(dir, "f")) },
			want: `mkdir() "DIR/f/client_body_temp" failed (20: Not a directory): the default client_body_temp_path under the prefix DIR/f; make the prefix writable (-p) or set client_body_temp_path`},
		{name: "dangling link", setup: func(t *testing.T, dir string) {
			symlink(t, filepath.Join(dir, "gone"), filepath.Join(dir, "client_body_temp"))
		},
			want: `mkdir() "DIR/client_body_temp" failed (2: No such file or directory): the default client_body_temp_path under the prefix DIR;`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if tt.setup != nil {
				tt.setup(t, dir)
			}
			path := filepath.Join(dir, "fulcrum.conf")
			text := "pid " + dir + "/fulcrum.pid;\nhttp {\n access_log off;\n " + tt.http + "\n server {\n  listen 127.0.0.1:0;\n }\n}\n"
			if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
			opts := config.LoadOptions{ErrorLog: filepath.Join(dir, "error.log")}
			if tt.prefix != "" {
				opts.Prefix = filepath.Join(dir, tt.prefix)
			}
			cfg, err := config.Load(path, opts)
			if err != nil {
				t.Fatal(err)
			}
			err = daemon.Check(cfg)
			want := strings.ReplaceAll(tt.want, "DIR", dir)
			switch {
			case want == "" && err != nil:
				t.Fatalf("Check: %v", err)
			case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
				t.Fatalf("Check: %v, want %q", err, want)
			}
			fi, err := os.Stat(filepath.Join(dir, "client_body_temp"))
			switch {
			case tt.made && (err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o700):
				t.Errorf("client_body_temp: %v; want a directory with mode 0700", statString(fi, err))
			case tt.name == "exists" && (err != nil || fi.Mode().Perm() != 0o755):
				t.Errorf("client_body_temp: %v; want the existing directory left as it was (0755)", statString(fi, err))
			case tt.http != "" && err == nil:
				t.Errorf("client_body_temp was made; the http block names another path")
			}
		})
	}
}

// TestDefaultBodyTempDirStart checks that the daemon makes the default
// client_body_temp_path at start, before any body needs it, and again on
// a reload when it went missing, as nginx makes its temporary paths at
// start and on reload.
func TestDefaultBodyTempDirStart(t *testing.T) {
	dir := t.TempDir()
	_, sigs := runConfig(t, dir, "pid "+dir+"/fulcrum.pid;\nhttp {\n access_log off;\n server {\n  listen 127.0.0.1:0;\n }\n}\n")
	cbt := filepath.Join(dir, "client_body_temp")
	if fi, err := os.Stat(cbt); err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o700 {
		t.Fatalf("after start, client_body_temp: %v, %v; want a directory with mode 0700", fi, err)
	}
	if err := os.Remove(cbt); err != nil {
		t.Fatal(err)
	}
	sigs <- syscall.SIGHUP
	for deadline := time.Now().Add(5 * time.Second); ; {
		if fi, err := os.Stat(cbt); err == nil && fi.IsDir() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("client_body_temp not made again on reload")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// mkdir makes dir.
func mkdir(t *testing.T, dir string) {
	t.Helper()
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
}

// symlink makes a symbolic link at name to target.
func symlink(t *testing.T, target, name string) {
	t.Helper()
	if err := os.Symlink(target, name); err != nil {
		t.Fatal(err)
	}
}

// statString describes what os.Stat said.
func statString(fi os.FileInfo, err error) string {
	if err != nil {
		return err.Error()
	}
	return fi.Mode().String()
}

// writeFile writes an empty file at path.
func writeFile(t *testing.T, path string) {
	t.Helper()
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
}
