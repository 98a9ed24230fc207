package config

import (
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
			outer, inner := loadNested(t, src, tt.err)
			if outer == nil {
				return
			}
			if outer.FLV != tt.outer || inner.FLV != tt.inner {
				t.Errorf("FLV %v, nested %v; want %v, %v", outer.FLV, inner.FLV, tt.outer, tt.inner)
			}
		})
	}
}
