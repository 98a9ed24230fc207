package config

import (
	"strings"
	"testing"
)

// TestFLV checks which locations the flv directive makes FLV: its own
// (not a nested one's), when no proxy_pass or kin comes after it.
func TestFLV(t *testing.T) {
	tests := []struct {
		name, loc string
		outer     bool // the outer location's FLV
		inner     bool // the nested location's
		err       string
	}{
		{"none", "", false, false, ""},
		{"flv", "flv;", true, false, ""},
		{"flv after proxy_pass", "proxy_pass http://127.0.0.1:9; flv;", true, false, ""},
		{"proxy_pass after flv", "flv; proxy_pass http://127.0.0.1:9;", false, false, ""},
		{"fastcgi_pass after flv", "flv; fastcgi_pass 127.0.0.1:9;", false, false, ""},
		{"argument", "flv on;", false, false, `invalid number of arguments in "flv" directive in nginx.conf:3`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := "http {\nserver {\nlocation /v/ { " + tt.loc + "\nlocation /v/n/ { }\n} } }\n"
			cfg, err := loadText(t, src)
			if tt.err != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tt.err) {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			outer := cfg.HTTP.Servers[0].Locations[0]
			if outer.Settings.FLV != tt.outer || outer.Locations[0].Settings.FLV != tt.inner {
				t.Errorf("FLV %v, nested %v; want %v, %v", outer.Settings.FLV, outer.Locations[0].Settings.FLV, tt.outer, tt.inner)
			}
		})
	}
}
