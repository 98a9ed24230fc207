package config

import (
	"strings"
	"testing"
)

// TestStubStatus checks which levels answer with the status page: the
// directive's own level only (not inherited by nested locations), in any
// of nginx's accepted forms, and the last of stub_status and proxy_pass in
// a block.
func TestStubStatus(t *testing.T) {
	tests := []struct {
		name, block  string
		server, loc  bool // StubStatus at the server level and in the location
		proxied      bool // the location keeps its proxy_pass
		wantWarnings []string
	}{
		{"location", "location /s { stub_status; }", false, true, false, nil},
		{"old form", "location /s { stub_status on; }", false, true, false, nil},
		{"off turns it on", "location /s { stub_status off; }", false, true, false,
			[]string{`"stub_status off" turns the status page on, as in nginx, which ignores the argument in nginx.conf:1, remove the directive`}},
		{"twice", "location /s { stub_status; stub_status; }", false, true, false, nil},
		{"server level, not inherited", "stub_status; location /s { }", true, false, false, nil},
		{"nested location does not inherit", "location /s { stub_status; location /s/n { } }", false, true, false, nil},
		{"after proxy_pass", "location /s { proxy_pass http://127.0.0.1:1; stub_status; }", false, true, true,
			[]string{`"stub_status" and "proxy_pass" in one block: the last one, "stub_status", answers, as in nginx in nginx.conf:1`}},
		{"before proxy_pass", "location /s { stub_status; proxy_pass http://127.0.0.1:1; }", false, false, true,
			[]string{`"stub_status" and "proxy_pass" in one block: the last one, "proxy_pass", answers, as in nginx in nginx.conf:1`}},
		{"none", "location /s { }", false, false, false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := mustLoad(t, "http { server { "+tt.block+" } }")
			srv := cfg.HTTP.Servers[0]
			loc := srv.Locations[0]
			if got := srv.Settings.StubStatus; got != tt.server {
				t.Errorf("server StubStatus = %t, want %t", got, tt.server)
			}
			if got := loc.Settings.StubStatus; got != tt.loc {
				t.Errorf("location StubStatus = %t, want %t", got, tt.loc)
			}
			for _, n := range loc.Locations {
				if n.Settings.StubStatus {
					t.Errorf("nested location %s inherited stub_status", n.Path)
				}
			}
			if got := loc.Settings.ProxyPass != nil; got != tt.proxied {
				t.Errorf("proxy_pass kept = %t, want %t", got, tt.proxied)
			}
			checkWarnings(t, cfg, tt.wantWarnings)
		})
	}
}

// TestStubStatusErrors checks the places and forms nginx 1.22 refuses.
func TestStubStatusErrors(t *testing.T) {
	tests := []struct{ name, src, want string }{
		{"two arguments", "http { server { stub_status a b; } }", `invalid number of arguments in "stub_status" directive in nginx.conf:1`},
		{"http level", "http { stub_status; }", `"stub_status" directive is not allowed here in nginx.conf:1`},
		{"if block", "http { server { location / { if ($arg_a) { stub_status; } } } }", `"stub_status" directive is not allowed here in nginx.conf:1`},
		{"limit_except", "http { server { location / { limit_except GET { stub_status; } } } }", `"stub_status" directive is not allowed here in nginx.conf:1`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadText(t, tt.src)
			if err == nil {
				t.Fatalf("loaded; want the error %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want it to contain %q", err, tt.want)
			}
		})
	}
}
