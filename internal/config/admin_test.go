package config

import (
	"strings"
	"testing"
)

// TestAPIAndMetrics checks which locations answer with the runtime API or
// the metrics, with which write mode, and the warnings: the last content
// handler of a block wins, nothing is inherited, and api write=on without
// allow or deny is pointed out.
func TestAPIAndMetrics(t *testing.T) {
	tests := []struct {
		name, block           string
		api, write, metrics   bool
		dashboard             string
		stub, proxied, nested bool // StubStatus and ProxyPass kept; the nested location's API
		wantWarnings          []string
	}{
		{name: "read only", block: "location /api { api; }", api: true},
		{name: "write=off", block: "location /api { api write=off; }", api: true},
		{name: "write=on with allow", block: "location /api { api write=on; allow 127.0.0.1; deny all; }", api: true, write: true},
		{name: "write=on inherits allow", block: "allow 127.0.0.1; location /api { api write=on; }", api: true, write: true},
		{name: "write=on open to all", block: "location /api { api write=on; }", api: true, write: true,
			wantWarnings: []string{`"api write=on" without allow or deny lets every client change upstream servers in nginx.conf:1`}},
		{name: "metrics", block: "location = /metrics { metrics; }", metrics: true},
		{name: "not inherited", block: "location /api { api; location /api/x { } }", api: true},
		{name: "proxy_pass after api", block: "location /api { api; proxy_pass http://127.0.0.1:1; }", proxied: true,
			wantWarnings: []string{`"api" and "proxy_pass" in one block: the last one, "proxy_pass", answers, as in nginx in nginx.conf:1`}},
		{name: "dashboard", block: "location /dashboard { dashboard; }", dashboard: "/api"},
		{name: "dashboard api=", block: "location /dashboard/ { dashboard api=/admin/api; }", dashboard: "/admin/api"},
		{name: "dashboard not inherited", block: "location /d { dashboard; location /d/x { } }", dashboard: "/api"},
		{name: "proxy_pass after dashboard", block: "location /d { dashboard; proxy_pass http://127.0.0.1:1; }", proxied: true,
			wantWarnings: []string{`"dashboard" and "proxy_pass" in one block: the last one, "proxy_pass", answers, as in nginx in nginx.conf:1`}},
		{name: "dashboard after api", block: "location /d { api; dashboard; }", dashboard: "/api",
			wantWarnings: []string{`"api" and "dashboard" in one block: the last one, "dashboard", answers, as in nginx in nginx.conf:1`}},
		{name: "metrics after stub_status", block: "location /api { stub_status; metrics; }", metrics: true, stub: true,
			wantWarnings: []string{`"stub_status" and "metrics" in one block: the last one, "metrics", answers, as in nginx in nginx.conf:1`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := mustLoad(t, "http { server { "+tt.block+" } }")
			st := cfg.HTTP.Servers[0].Locations[0].Settings
			if st.API != tt.api || st.APIWrite != tt.write || st.Metrics != tt.metrics {
				t.Errorf("API %t, APIWrite %t, Metrics %t; want %t, %t, %t", st.API, st.APIWrite, st.Metrics, tt.api, tt.write, tt.metrics)
			}
			if st.Dashboard != tt.dashboard {
				t.Errorf("Dashboard %q, want %q", st.Dashboard, tt.dashboard)
			}
			if st.StubStatus != tt.stub || (st.ProxyPass != nil) != tt.proxied {
				t.Errorf("StubStatus %t, proxy_pass %t; want %t, %t", st.StubStatus, st.ProxyPass != nil, tt.stub, tt.proxied)
			}
			for _, n := range cfg.HTTP.Servers[0].Locations[0].Locations {
				if n.Settings.API || n.Settings.Metrics || n.Settings.Dashboard != "" {
					t.Errorf("nested location %s inherited api, metrics or dashboard", n.Path)
				}
			}
			checkWarnings(t, cfg, tt.wantWarnings)
		})
	}
}

// TestAPIErrors checks the forms refused, in NGINX Plus's and nginx's
// words.
func TestAPIErrors(t *testing.T) {
	tests := []struct{ name, src, want string }{
		{"bad parameter", "http { server { location /a { api write; } } }", `invalid parameter "write" in nginx.conf:1`},
		{"bad write value", "http { server { location /a { api write=yes; } } }", `invalid parameter "write=yes" in nginx.conf:1`},
		{"two arguments", "http { server { location /a { api write=on write=off; } } }", `invalid number of arguments in "api" directive in nginx.conf:1`},
		{"twice", "http { server { location /a { api; api; } } }", `"api" directive is duplicate in nginx.conf:1`},
		{"server level", "http { server { api; } }", `"api" directive is not allowed here in nginx.conf:1`},
		{"metrics argument", "http { server { location /m { metrics on; } } }", `invalid number of arguments in "metrics" directive in nginx.conf:1`},
		{"metrics in http", "http { metrics; }", `"metrics" directive is not allowed here in nginx.conf:1`},
		{"dashboard parameter", "http { server { location /d { dashboard api; } } }", `invalid parameter "api" in nginx.conf:1`},
		{"dashboard other parameter", "http { server { location /d { dashboard write=on; } } }", `invalid parameter "write=on" in nginx.conf:1`},
		{"dashboard api elsewhere", "http { server { location /d { dashboard api=https://example.com/api; } } }", `invalid value "https://example.com/api" in "dashboard" directive in nginx.conf:1`},
		{"dashboard api protocol-relative", "http { server { location /d { dashboard api=//example.com/api; } } }", `invalid value "//example.com/api" in "dashboard" directive in nginx.conf:1`},
		{"dashboard api empty", "http { server { location /d { dashboard api=; } } }", `invalid value "" in "dashboard" directive in nginx.conf:1`},
		{"dashboard api quote", `http { server { location /d { dashboard "api=/a'b"; } } }`, `invalid value "/a'b" in "dashboard" directive in nginx.conf:1`},
		{"dashboard two arguments", "http { server { location /d { dashboard api=/a api=/b; } } }", `invalid number of arguments in "dashboard" directive in nginx.conf:1`},
		{"dashboard twice", "http { server { location /d { dashboard; dashboard; } } }", `"dashboard" directive is duplicate in nginx.conf:1`},
		{"dashboard in server", "http { server { dashboard; } }", `"dashboard" directive is not allowed here in nginx.conf:1`},
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

// TestUpstreamZone checks that the zone directive's name is kept.
func TestUpstreamZone(t *testing.T) {
	cfg := mustLoad(t, "http { upstream a { zone a_zone 64k; server 127.0.0.1:1; } upstream b { server 127.0.0.1:2; } server { location / { proxy_pass http://a; } } }")
	if got := cfg.HTTP.Upstreams[0].Zone; got != "a_zone" {
		t.Errorf("zone %q, want a_zone", got)
	}
	if got := cfg.HTTP.Upstreams[1].Zone; got != "" {
		t.Errorf("zone %q, want none", got)
	}
}
