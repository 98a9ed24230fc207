package config

import (
	"strings"
	"testing"
)

// TestNTLM: ntlm marks its upstream; a location that proxies to it with
// proxy_http_version 1.0 gets a warning, since every request would close
// the connection that ntlm binds; fulcrum's default 1.1 gets none.
func TestNTLM(t *testing.T) {
	tests := []struct {
		name, loc string
		warn      string
	}{
		{"default version", "proxy_pass http://app;", ""},
		{"1.1", "proxy_pass http://app; proxy_http_version 1.1;", ""},
		{"1.0", "proxy_pass http://app;\nproxy_http_version 1.0;",
			`"ntlm" in upstream "app" needs keep-alive connections, but "proxy_http_version 1.0" closes each one after its request`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := mustLoad(t, "http {\nupstream app { server 127.0.0.1:8080; ntlm; }\nserver { location / { "+tc.loc+" } }\n}")
			if !cfg.HTTP.Upstreams[0].NTLM {
				t.Error("the upstream's NTLM is not set")
			}
			var got []string
			for _, w := range cfg.Warnings {
				got = append(got, w.Msg)
			}
			switch {
			case tc.warn == "" && len(got) != 0:
				t.Errorf("warnings %q, want none", got)
			case tc.warn != "" && (len(got) != 1 || got[0] != tc.warn || cfg.Warnings[0].Pos.Line != 3 || !strings.Contains(cfg.Warnings[0].Hint, "proxy_http_version 1.1")):
				t.Errorf("warnings %+v, want %q at line 3 with a hint", cfg.Warnings, tc.warn)
			}
		})
	}
	cfg := mustLoad(t, "http { upstream app { server 127.0.0.1:8080; } server { location / { proxy_pass http://app; } } }")
	if cfg.HTTP.Upstreams[0].NTLM {
		t.Error("NTLM set without ntlm")
	}
}

// TestInternalRedirectSetting: internal_redirect is kept as written, with
// its variables, and inherited from the server by its locations.
func TestInternalRedirectSetting(t *testing.T) {
	cfg := mustLoad(t, "http { server { internal_redirect /s; location / { internal_redirect @x$uri; } location /in { } location @x { } } }")
	locs := cfg.HTTP.Servers[0].Locations
	if got := locs[0].Settings.InternalRedirect; got != "@x$uri" {
		t.Errorf("InternalRedirect %q, want @x$uri", got)
	}
	if got := locs[1].Settings.InternalRedirect; got != "/s" {
		t.Errorf("inherited InternalRedirect %q, want /s", got)
	}
}
