package config

import (
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
