package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDisableSymlinks checks the values and the errors of disable_symlinks,
// worded as nginx 1.22 words them at -t.
func TestDisableSymlinks(t *testing.T) {
	tests := []struct {
		line   string
		policy SymlinkPolicy
		from   string
		err    string
	}{
		{"", SymlinksOff, "", ""},
		{"disable_symlinks off;", SymlinksOff, "", ""},
		{"disable_symlinks on;", SymlinksOn, "", ""},
		{"disable_symlinks if_not_owner;", SymlinksIfNotOwner, "", ""},
		{"disable_symlinks on from=$document_root;", SymlinksOn, "$document_root", ""},
		{"disable_symlinks from=/srv if_not_owner;", SymlinksIfNotOwner, "/srv", ""},
		{"disable_symlinks on from=;", SymlinksOn, "", ""},
		{"disable_symlinks yes;", 0, "", `invalid parameter "yes" in nginx.conf:3`},
		{"disable_symlinks from=/x;", 0, "", `"disable_symlinks" must have "off", "on" or "if_not_owner" parameter in nginx.conf:3`},
		{"disable_symlinks off from=/x;", 0, "", `"from=" cannot be used with "off" parameter in nginx.conf:3`},
		{"disable_symlinks on off;", 0, "", `duplicate parameters "on off" in nginx.conf:3`},
		{"disable_symlinks on from=/x on;", 0, "", `invalid number of arguments in "disable_symlinks" directive in nginx.conf:3`},
		{"disable_symlinks on; disable_symlinks off;", 0, "", `"disable_symlinks" directive is duplicate in nginx.conf:3`},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			cfg, err := loadText(t, "http {\n  server {\n    "+tt.line+"\n    location / { root /srv; }\n  }\n}\n")
			if tt.err != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tt.err) {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			st := cfg.HTTP.Servers[0].Locations[0].Settings
			if st.DisableSymlinks != tt.policy || st.DisableSymlinksFrom != tt.from {
				t.Errorf("got %v from=%q, want %v from=%q", st.DisableSymlinks, st.DisableSymlinksFrom, tt.policy, tt.from)
			}
		})
	}
}

// TestDisableSymlinksPlatforms: the check needs openat (internal/static),
// there on Linux and FreeBSD; elsewhere "on" and "if_not_owner" are refused
// at load, naming the system, and "off" is accepted.
func TestDisableSymlinksPlatforms(t *testing.T) {
	tests := []struct {
		goos, line, err string
	}{
		{"linux", "disable_symlinks on;", ""},
		{"freebsd", "disable_symlinks if_not_owner from=/srv;", ""},
		{"darwin", "disable_symlinks off;", ""},
		{"darwin", "disable_symlinks on;", `"disable_symlinks on" is not supported on this platform (darwin) in nginx.conf:3, remove it or write "disable_symlinks off;"`},
		{"openbsd", "disable_symlinks if_not_owner;", `"disable_symlinks if_not_owner" is not supported on this platform (openbsd) in nginx.conf:3`},
	}
	for _, tt := range tests {
		t.Run(tt.goos+" "+tt.line, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "nginx.conf")
			src := "http {\n  server {\n    " + tt.line + "\n    location / { root /srv; }\n  }\n}\n"
			if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := Load(path, LoadOptions{Prefix: testPrefix, Resolver: testResolver(t), goos: tt.goos})
			if e, ok := AsError(err); ok {
				e.Pos.File = filepath.Base(e.Pos.File)
			}
			switch {
			case tt.err == "" && err != nil:
				t.Fatalf("on %s: %v", tt.goos, err)
			case tt.err != "" && (err == nil || !strings.HasPrefix(err.Error(), tt.err)):
				t.Fatalf("on %s: error %v, want %q", tt.goos, err, tt.err)
			}
		})
	}
}
