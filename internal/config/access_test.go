package config

import (
	"net/netip"
	"strings"
	"testing"
)

// TestParseCIDR checks the addresses allow and deny take against what nginx 1.22
// -t said of each (ngx_ptocidr): accepted, accepted with "low address bits of ...
// are meaningless", or `invalid parameter`.
func TestParseCIDR(t *testing.T) {
	tests := []struct {
		in     string
		want   string // the prefix; "" for an error
		masked bool
	}{
		{"10.0.0.1", "10.0.0.1/32", false},
		{"10.0.0.0/8", "10.0.0.0/8", false},
		{"10.0.0.1/8", "10.0.0.0/8", true},
		{"10.0.0.0/0", "0.0.0.0/0", true},
		{"0.0.0.0/0", "0.0.0.0/0", false},
		{"1.2.3.4/32", "1.2.3.4/32", false},
		{"010.0.0.1", "10.0.0.1/32", false}, // decimal, not octal
		{"10.0.0.1/08", "10.0.0.0/8", true}, // ngx_atoi
		{"1..2.3", "1.0.2.3/32", false},     // an empty octet is 0
		{"::1", "::1/128", false},
		{"2001:db8::/32", "2001:db8::/32", false},
		{"2001:db8::1/32", "2001:db8::/32", true},
		{"::ffff:1.2.3.4", "::ffff:1.2.3.4/128", false},
		{"::/0", "::/0", false},

		{"", "", false},
		{"foo", "", false},
		{"localhost", "", false},
		{"ALL", "", false},
		{"10/8", "", false},
		{"10.0.0.256", "", false},
		{"255.255.255.255", "", false}, // INADDR_NONE
		{"1.2.3.4.5", "", false},
		{"10.0.0.0/33", "", false},
		{"::/129", "", false},
		{"1.2.3.4/", "", false},
		{"1.2.3.4/+8", "", false},
		{"1.2.3.4/8/8", "", false},
		{"fe80::1%eth0", "", false},
		{"[::1]", "", false},
		{"unix:/tmp/x", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			p, masked, err := parseCIDR(tt.in)
			if tt.want == "" {
				if err == nil {
					t.Fatalf("parseCIDR(%q) = %v, want an error", tt.in, p)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseCIDR(%q): %v", tt.in, err)
			}
			if p.String() != tt.want || masked != tt.masked {
				t.Errorf("parseCIDR(%q) = %v, masked %t; want %s, masked %t", tt.in, p, masked, tt.want, tt.masked)
			}
		})
	}
}

// TestAccessInheritance checks that a level with any allow or deny replaces the
// rules it would inherit, and a level without inherits them, as nginx's
// ngx_http_access_merge_loc_conf does.
func TestAccessInheritance(t *testing.T) {
	cfg := mustLoad(t, `http {
        deny 192.0.2.1;
        server {
            location /inherit/ { location /inherit/nested/ { } }
            location /replace/ {
                allow 10.0.0.0/8;
                deny all;
                location /replace/nested/ { }
                location /replace/own/ { deny unix:; }
            }
        }
        server {
            listen 81;
            allow all;
            location / { }
        }
    }`)
	show := func(rules []AccessRule) string {
		var parts []string
		for _, r := range rules {
			verb := "allow"
			if r.Deny {
				verb = "deny"
			}
			switch {
			case r.All:
				parts = append(parts, verb+" all")
			case r.Unix:
				parts = append(parts, verb+" unix:")
			default:
				parts = append(parts, verb+" "+r.Prefix.String())
			}
		}
		return strings.Join(parts, "; ")
	}
	s0, s1 := cfg.HTTP.Servers[0], cfg.HTTP.Servers[1]
	tests := []struct {
		name string
		got  []AccessRule
		want string
	}{
		{"server inherits http", s0.Settings.Access, "deny 192.0.2.1/32"},
		{"location inherits", s0.Locations[0].Settings.Access, "deny 192.0.2.1/32"},
		{"nested inherits", s0.Locations[0].Locations[0].Settings.Access, "deny 192.0.2.1/32"},
		{"location replaces", s0.Locations[1].Settings.Access, "allow 10.0.0.0/8; deny all"},
		{"nested inherits the replacement", s0.Locations[1].Locations[0].Settings.Access, "allow 10.0.0.0/8; deny all"},
		{"nested replaces again", s0.Locations[1].Locations[1].Settings.Access, "deny unix:"},
		{"server replaces", s1.Settings.Access, "allow all"},
		{"its location inherits", s1.Locations[0].Settings.Access, "allow all"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := show(tt.got); got != tt.want {
				t.Errorf("rules %q, want %q", got, tt.want)
			}
		})
	}
	// One list per level that writes rules, shared by the levels that inherit it.
	if &s0.Locations[1].Settings.Access[0] != &s0.Locations[1].Locations[0].Settings.Access[0] {
		t.Error("an inherited list is a copy, not the level's own")
	}
}

func TestNoAccessRulesIsNil(t *testing.T) {
	cfg := mustLoad(t, "http { server { location / { } } }")
	if a := cfg.HTTP.Servers[0].Locations[0].Settings.Access; a != nil {
		t.Errorf("Access = %v, want nil", a)
	}
}

func TestAccessWarning(t *testing.T) {
	cfg := mustLoad(t, "http {\n  deny 10.0.0.1/8;\n  server { location /a { } location /b { } }\n}")
	if len(cfg.Warnings) != 1 {
		t.Fatalf("warnings %v, want one", cfg.Warnings)
	}
	w := cfg.Warnings[0]
	if w.Msg != "low address bits of 10.0.0.1/8 are meaningless" || w.Pos.Line != 2 {
		t.Errorf("warning %q at line %d", w.Msg, w.Pos.Line)
	}
	want := netip.MustParsePrefix("10.0.0.0/8")
	if p := cfg.HTTP.Servers[0].Settings.Access[0].Prefix; p != want {
		t.Errorf("prefix %v, want %v", p, want)
	}
}
