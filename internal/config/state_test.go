package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestUpstreamState: an upstream with "state" takes its servers from the
// file (none when it does not exist) and must not have server lines.
func TestUpstreamState(t *testing.T) {
	tests := []struct {
		name  string
		state *string // nil: no file
		block string  // upstream block body; STATE is the file's path
		want  []string
		err   string
	}{
		{"servers from the file", ptr("server 127.0.0.1:81 weight=2;\nserver unix:/tmp/s backup;\n"),
			"zone u 64k; state STATE;", []string{"tcp 127.0.0.1:81 w2", "unix /tmp/s w1 backup"}, ""},
		{"no file", nil, "zone u 64k; state STATE;", nil, ""},
		{"empty file", ptr("# nothing yet\n"), "zone u 64k; state STATE;", nil, ""},
		{"server lines too", ptr(""), "zone u 64k; state STATE; server 127.0.0.1:81;", nil,
			`"server" directive is not allowed here when "state" is specified in nginx.conf:1`},
		{"server line before state", ptr(""), "server 127.0.0.1:81; state STATE;", nil,
			`"server" directive is not allowed here when "state" is specified in nginx.conf:1`},
		{"bad parameter in the file", ptr("server 127.0.0.1:81 weight=0;\n"), "state STATE;", nil,
			`invalid parameter "weight=0" in u.state:1`},
		{"other directive in the file", ptr("server 127.0.0.1:81;\nkeepalive 2;\n"), "state STATE;", nil,
			`unknown directive "keepalive" in state file in u.state:2`},
		{"unterminated file", ptr("server 127.0.0.1:81"), "state STATE;", nil, `unexpected end of file`},
		{"slow_start with hash in the file", ptr("server 127.0.0.1:81 slow_start=5s;\n"), "hash $uri; state STATE;", nil,
			`balancing method does not support parameter "slow_start=5s" in u.state:1`},
		{"state twice", ptr(""), "state STATE; state STATE;", nil, `"state" directive is duplicate`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, state, ok := loadStateCase(t, tt.state, "http { upstream u { "+tt.block+" } }", tt.err)
			if !ok {
				return
			}
			u := cfg.HTTP.Upstreams[0]
			var got []string
			for _, s := range u.Servers {
				line := s.Network + " " + s.Addr + " w" + itoa(s.Weight)
				if s.Backup {
					line += " backup"
				}
				got = append(got, line)
			}
			if u.State != state || strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Fatalf("state %q servers %q, want %q", u.State, got, tt.want)
			}
		})
	}
}

func ptr(s string) *string { return &s }

// loadStateCase writes a state file with the text state (none when nil)
// and loads src with STATE replaced by the file's path. With wantErr, the
// load must fail with it (the path written as "u.state"), and ok is false:
// the case is done. path is the state file's.
func loadStateCase(t *testing.T, state *string, src, wantErr string) (cfg *Config, path string, ok bool) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "u.state")
	if state != nil {
		if err := os.WriteFile(path, []byte(*state), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := loadText(t, strings.ReplaceAll(src, "STATE", path))
	if wantErr != "" {
		if err == nil {
			t.Fatalf("want error %q", wantErr)
		}
		if got := strings.ReplaceAll(err.Error(), path, "u.state"); !strings.Contains(got, wantErr) {
			t.Fatalf("got  %q\nwant %q", got, wantErr)
		}
		return nil, path, false
	}
	if err != nil {
		t.Fatal(err)
	}
	return cfg, path, true
}
