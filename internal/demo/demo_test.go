package demo_test

import (
	"os"
	"strings"
	"testing"

	"fulcrum/internal/config"
	"fulcrum/internal/demo"
)

// TestConfigLoads checks that the embedded configuration, rendered for
// some ports, loads without a warning and has what the banner shows off:
// a zone, a health check, the writable API, the metrics and the dashboard.
func TestConfigLoads(t *testing.T) {
	o := demo.Options{Port: 28080, Backend1: 25001, Backend2: 25002}
	dir := t.TempDir()
	path, err := demo.WriteConfig(o, dir)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path, config.LoadOptions{Prefix: dir})
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Warnings) != 0 {
		t.Errorf("warnings: %v", cfg.Warnings)
	}
	if u := cfg.HTTP.Upstreams[0]; u.Name != "backend" || u.Zone != "backend" {
		t.Errorf("upstream %s, zone %q", u.Name, u.Zone)
	}
	found := map[string]bool{}
	for _, loc := range cfg.HTTP.Servers[0].Locations {
		st := loc.Settings
		switch {
		case len(st.HealthChecks) > 0:
			found["health_check"] = true
		case st.API && st.APIWrite && len(st.Access) > 0:
			found["api"] = true
		case st.Metrics:
			found["metrics"] = true
		case st.Dashboard == "/api":
			found["dashboard"] = true
		}
	}
	if len(found) != 4 {
		t.Errorf("the configuration has %v, want health_check, api write=on with access rules, metrics, dashboard", found)
	}
	text, _ := os.ReadFile(path)
	banner := demo.Banner(o, string(text))
	for _, want := range []string{"http://127.0.0.1:28080/dashboard", "http://127.0.0.1:28080/metrics",
		`curl -X PATCH -d '{"drain":true}' http://127.0.0.1:28080/api/9/http/upstreams/backend/servers/0`,
		"listen 127.0.0.1:28080;", "server 127.0.0.1:25002 max_fails=1"} {
		if !strings.Contains(banner, want) {
			t.Errorf("the banner lacks %q", want)
		}
	}
}
