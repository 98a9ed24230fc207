package config

import (
	"strings"
	"testing"
)

// TestStreamUpstreamStateAndSlowStart: a stream upstream takes NGINX
// Plus's slow_start= on its servers and its "state" file, as an http
// upstream does: the servers come from the file (none when it is missing),
// the block must not have server lines, and the file takes the stream
// server's parameters only.
func TestStreamUpstreamStateAndSlowStart(t *testing.T) {
	tests := []struct {
		name  string
		state *string // nil: no file
		block string  // upstream block body; STATE is the file's path
		want  []string
		err   string
	}{
		{"slow_start in a server line", nil, "server 127.0.0.1:81 slow_start=30s; server 127.0.0.1:82;",
			[]string{"tcp 127.0.0.1:81 w1 slow=30s", "tcp 127.0.0.1:82 w1 slow=0s"}, ""},
		{"slow_start with least_conn", nil, "least_conn; server 127.0.0.1:81 slow_start=1m; server 127.0.0.1:82;",
			[]string{"tcp 127.0.0.1:81 w1 slow=1m0s", "tcp 127.0.0.1:82 w1 slow=0s"}, ""},
		{"servers from the file", ptr("server 127.0.0.1:81 weight=2 slow_start=10s;\nserver unix:/tmp/s backup;\n"),
			"zone u 64k; state STATE;", []string{"tcp 127.0.0.1:81 w2 slow=10s", "unix /tmp/s w1 slow=0s backup"}, ""},
		{"no file", nil, "zone u 64k; state STATE;", nil, ""},
		{"empty file", ptr("# nothing yet\n"), "zone u 64k; state STATE;", nil, ""},
		{"server lines too", ptr(""), "zone u 64k; state STATE; server 127.0.0.1:81;", nil,
			`"server" directive is not allowed here when "state" is specified in nginx.conf:1`},
		{"server line before state", ptr(""), "server 127.0.0.1:81; state STATE;", nil,
			`"server" directive is not allowed here when "state" is specified in nginx.conf:1`},
		{"no port in the file", ptr("server 127.0.0.1;\n"), "state STATE;", nil, `no port in upstream "127.0.0.1" in u.state:1`},
		{"route in the file", ptr("server 127.0.0.1:81 route=a;\n"), "state STATE;", nil, `invalid parameter "route=a" in u.state:1`},
		{"slow_start with hash in the file", ptr("server 127.0.0.1:81 slow_start=5s;\n"), "hash $remote_addr; state STATE;", nil,
			`balancing method does not support parameter "slow_start=5s" in u.state:1`},
		{"other directive in the file", ptr("server 127.0.0.1:81;\nzone z 64k;\n"), "state STATE;", nil,
			`unknown directive "zone" in state file in u.state:2`},
		{"state twice", ptr(""), "state STATE; state STATE;", nil, `"state" directive is duplicate`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, state, ok := loadStateCase(t, tt.state, "stream { upstream u { "+tt.block+" } server { listen 1234; proxy_pass u; } }", tt.err)
			if !ok {
				return
			}
			u := cfg.Stream.Upstreams[0]
			var got []string
			for _, s := range u.Servers {
				line := s.Network + " " + s.Addr + " w" + itoa(s.Weight) + " slow=" + s.SlowStart.String()
				if s.Backup {
					line += " backup"
				}
				got = append(got, line)
			}
			wantState := ""
			if strings.Contains(tt.block, "STATE") {
				wantState = state
			}
			if u.State != wantState || strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Fatalf("state %q servers %q, want %q %q", u.State, got, wantState, tt.want)
			}
		})
	}
}
