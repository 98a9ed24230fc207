package config

import (
	"slices"
	"strings"
	"testing"
)

// TestStatusZone checks NGINX Plus's status_zone: servers may share a
// zone, each name is interned once per block, a location's zone is its own
// or its enclosing location's (never the server's), and a stream server
// has one of its own.
func TestStatusZone(t *testing.T) {
	cfg := mustLoad(t, `http {
    server { listen 8001; status_zone front;
        location / { }
        location /a { status_zone a; location /a/b { } location /a/c { status_zone c; } }
    }
    server { listen 8002; status_zone front; location /a { status_zone a; } }
    server { listen 8003; status_zone back; }
    server { listen 8004; }
}
stream {
    server { listen 9001; status_zone tcp; return x; }
    server { listen 9002; return y; }
}`)
	h := cfg.HTTP
	if want := []string{"front", "back"}; !slices.Equal(h.ServerZones, want) {
		t.Errorf("ServerZones = %q, want %q", h.ServerZones, want)
	}
	if want := []string{"a", "c"}; !slices.Equal(h.LocationZones, want) {
		t.Errorf("LocationZones = %q, want %q", h.LocationZones, want)
	}
	for i, want := range []struct {
		name string
		id   int
	}{{"front", 1}, {"front", 1}, {"back", 2}, {"", 0}} {
		if s := h.Servers[i]; s.StatusZone != want.name || s.StatusZoneID != want.id {
			t.Errorf("server %d: zone %q id %d, want %q %d", i, s.StatusZone, s.StatusZoneID, want.name, want.id)
		}
	}
	s0 := h.Servers[0]
	locs := []struct {
		what string
		set  *Settings
		name string
		id   int
	}{
		{"server level", s0.Settings, "", 0},
		{"location /", s0.Locations[0].Settings, "", 0},
		{"location /a", s0.Locations[1].Settings, "a", 1},
		{"nested /a/b inherits", s0.Locations[1].Locations[0].Settings, "a", 1},
		{"nested /a/c its own", s0.Locations[1].Locations[1].Settings, "c", 2},
		{"second server's /a shares", h.Servers[1].Locations[0].Settings, "a", 1},
	}
	for _, l := range locs {
		if l.set.LocationZone != l.name || l.set.LocationZoneID != l.id {
			t.Errorf("%s: zone %q id %d, want %q %d", l.what, l.set.LocationZone, l.set.LocationZoneID, l.name, l.id)
		}
	}
	if got := cfg.Stream.Servers[0].StatusZone; got != "tcp" {
		t.Errorf("stream server zone = %q, want tcp", got)
	}
	if got := cfg.Stream.Servers[1].StatusZone; got != "" {
		t.Errorf("stream server without status_zone: %q", got)
	}
}

// TestStatusZoneErrors checks where status_zone may not appear and its
// argument count.
func TestStatusZoneErrors(t *testing.T) {
	tests := []struct{ src, want string }{
		{"http { status_zone z; }", `"status_zone" directive is not allowed here`},
		{"http { server { status_zone a b; } }", `invalid number of arguments in "status_zone" directive`},
		{"http { server { status_zone a; status_zone b; } }", `"status_zone" directive is duplicate`},
		{"stream { status_zone z; }", `"status_zone" directive is not allowed here`},
	}
	for _, tt := range tests {
		_, err := loadText(t, tt.src)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want %q", tt.src, err, tt.want)
		}
	}
}
