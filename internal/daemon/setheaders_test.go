package daemon_test

import (
	"os"
	"path/filepath"
	"testing"

	"fulcrum/internal/config"
	"fulcrum/internal/daemon"
)

// TestSetHeaderVariablesChecked: proxy_set_header and grpc_set_header
// values are compiled at every server and location, as nginx 1.22.1's
// `nginx -t` compiles them when it merges each level, so an unknown
// variable fails the test where nothing proxies too; a level that proxies
// keeps its check and a known variable passes.
func TestSetHeaderVariablesChecked(t *testing.T) {
	tests := []struct{ name, conf, want string }{
		{"location that returns", "location / { return 200; proxy_set_header X $nosuch; }", `unknown "nosuch" variable in `},
		{"server without locations", "proxy_set_header X $nosuch;", `unknown "nosuch" variable in `},
		{"server level, location overrides", "proxy_set_header X $nosuch; location / { proxy_set_header Y 1; }", `unknown "nosuch" variable in `},
		{"grpc_set_header", "location / { grpc_set_header X $nosuch; }", `unknown "nosuch" variable in `},
		{"location that proxies", "location / { proxy_pass http://127.0.0.1:1; proxy_set_header X $nosuch; }", `unknown "nosuch" variable in `},
		{"known variable", "location / { return 200; proxy_set_header X $remote_addr; grpc_set_header Y $host; }", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkServerLine(t, tt.conf, tt.want) })
	}
}

// TestSetHeaderVariablesHTTPOnly: an http block without servers merges into
// nothing, so nginx -t (1.22.1) accepts an unknown variable there, and so
// does fulcrum -t.
func TestSetHeaderVariablesHTTPOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fulcrum.conf")
	if err := os.WriteFile(path, []byte("http {\n proxy_set_header X $nosuch;\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path, config.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := daemon.Check(cfg); err != nil {
		t.Errorf("Check: %v; nginx -t accepts it", err)
	}
}
