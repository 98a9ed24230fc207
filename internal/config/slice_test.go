package config

import (
	"strings"
	"testing"
)

// TestSlice checks slice's value at each level: inherited from http and
// server, replaced by a location's, off with 0, and nginx's errors.
func TestSlice(t *testing.T) {
	tests := []struct {
		name, http, loc string
		outer, inner    int64 // the location's and its nested location's
		err             string
	}{
		{"none", "", "", 0, 0, ""},
		{"inherited", "slice 1m;", "", 1 << 20, 1 << 20, ""},
		{"own", "slice 1m;", "slice 512k;", 512 << 10, 512 << 10, ""},
		{"off", "slice 1m;", "slice 0;", 0, 0, ""},
		{"bytes", "", "slice 1000;", 1000, 1000, ""},
		{"bad size", "", "slice 1g;", 0, 0, `"slice" directive invalid value in nginx.conf:3`},
		{"two arguments", "", "slice 1m 2m;", 0, 0, `invalid number of arguments in "slice" directive in nginx.conf:3`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The location's directives are on line 3 ("location /v/ {").
			src := "http {\n" + tt.http + " server {\nlocation /v/ { " + tt.loc + "\nlocation /v/n/ { }\n} } }\n"
			outer, inner := loadNested(t, src, tt.err)
			if outer == nil {
				return
			}
			if outer.Slice != tt.outer || inner.Slice != tt.inner {
				t.Errorf("Slice %d, nested %d; want %d, %d", outer.Slice, inner.Slice, tt.outer, tt.inner)
			}
		})
	}
	if _, err := loadText(t, "slice 1m;\nhttp { }\n"); err == nil || !strings.Contains(err.Error(), `"slice" directive is not allowed here in nginx.conf:1`) {
		t.Errorf("slice in the main context: %v", err)
	}
}
