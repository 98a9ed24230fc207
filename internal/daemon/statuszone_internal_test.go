package daemon

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"fulcrum/internal/config"
)

// TestReloadDropsRemovedStatusZones: 40 reloads, each renaming every
// status zone (http server, location, stream server) and keeping one
// server zone, leave the registry with the zones of the last
// configuration only; a zone the reloads kept keeps its counts, and a name
// dropped and named again starts at zero, as NGINX Plus's zones do. A
// refused reload leaves the zones of the configuration in force. Before,
// the registry kept every name for the process's life: 3 more per reload.
func TestReloadDropsRemovedStatusZones(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "fulcrum.conf")
	write := func(suffix, extra string) {
		t.Helper()
		conf := fmt.Sprintf(`pid %[1]s/fulcrum.pid;
error_log %[1]s/error.log notice;
http {
    access_log off;
    server { listen 127.0.0.1:0; status_zone kept; location / { return 200; } }
    server { listen 127.0.0.1:0; status_zone s%[2]s; location /l { status_zone l%[2]s; return 200; } %[3]s }
}
stream { server { listen 127.0.0.1:0; status_zone st%[2]s; return x; } }
`, dir, suffix, extra)
		if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("0", "")
	opts := Options{ConfPath: path, Load: config.LoadOptions{ErrorLog: filepath.Join(dir, "error.log")}}
	cfg, err := config.Load(path, opts.Load)
	if err != nil {
		t.Fatal(err)
	}
	d, err := start(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer d.stop(false)
	d.admin.zones.Server("kept").Count(200, true, 1, 1)
	d.admin.zones.Server("s0").Count(200, true, 1, 1)
	for i := 1; i <= 40; i++ {
		write(fmt.Sprint(i), "")
		d.Reload()
		if n := d.admin.zones.Len(); n != 4 {
			t.Fatalf("after reload %d: %d zones in the registry, want the 4 of the configuration", i, n)
		}
	}
	// A refused reload (an unknown directive) keeps the zones in force.
	write("x", "bogus;")
	d.Reload()
	if n := d.admin.zones.Len(); n != 4 {
		t.Fatalf("after a refused reload: %d zones, want 4", n)
	}
	write("0", "")
	d.Reload()
	z := d.admin.StatusZones()
	if len(z.Servers) != 2 || z.Servers[0].Name != "kept" || z.Servers[1].Name != "s0" {
		t.Fatalf("server zones %+v, want kept and s0", z.Servers)
	}
	if c := z.Servers[0].Zone.Read(); c.Requests != 1 {
		t.Errorf("kept: %+v, want its request counted before the reloads", c)
	}
	if c := z.Servers[1].Zone.Read(); c.Requests != 0 {
		t.Errorf("s0 named again: %+v, want a new zone at zero", c)
	}
}
