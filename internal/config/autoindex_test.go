package config

import (
	"strings"
	"testing"
)

// TestAutoindexSettings checks autoindex's settings: nginx's defaults,
// inheritance from http and server into locations, and a location's own
// values winning.
func TestAutoindexSettings(t *testing.T) {
	tests := []struct {
		name, src        string
		on, exact, local bool
		format           string
	}{
		{"defaults", "server { location / { } }", false, true, false, "html"},
		{"location", "server { location / { autoindex on; autoindex_exact_size off; autoindex_localtime on; autoindex_format jsonp; } }", true, false, true, "jsonp"},
		{"inherited", "autoindex on; autoindex_format xml; server { autoindex_exact_size off; location / { } }", true, false, false, "xml"},
		{"overridden", "autoindex on; server { location / { autoindex off; } }", false, true, false, "html"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := mustLoad(t, "http { "+tt.src+" }").HTTP.Servers[0].Locations[0].Settings
			if st.Autoindex != tt.on || st.AutoindexExactSize != tt.exact || st.AutoindexLocaltime != tt.local || st.AutoindexFormat != tt.format {
				t.Errorf("got on %t exact %t local %t format %q; want %t %t %t %q",
					st.Autoindex, st.AutoindexExactSize, st.AutoindexLocaltime, st.AutoindexFormat, tt.on, tt.exact, tt.local, tt.format)
			}
			if len(mustLoad(t, "http { "+tt.src+" }").Warnings) != 0 {
				t.Errorf("unexpected warnings")
			}
		})
	}
}

// TestEmptyGIF checks empty_gif's level (its own location only) and that
// the last of empty_gif, stub_status and proxy_pass in a block answers.
func TestEmptyGIF(t *testing.T) {
	tests := []struct {
		name, block string
		gif, nested bool
		warn        string
	}{
		{"location", "location /g { empty_gif; location /g/n { } }", true, false, ""},
		{"after proxy_pass", "location /g { proxy_pass http://127.0.0.1:1; empty_gif; }", true, false,
			`"proxy_pass" and "empty_gif" in one block: the last one, "empty_gif", answers, as in nginx`},
		{"before proxy_pass", "location /g { empty_gif; proxy_pass http://127.0.0.1:1; }", false, false, ""},
		{"before stub_status", "location /g { empty_gif; stub_status; }", false, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := mustLoad(t, "http { server { "+tt.block+" } }")
			loc := cfg.HTTP.Servers[0].Locations[0]
			if loc.Settings.EmptyGIF != tt.gif {
				t.Errorf("EmptyGIF %t, want %t", loc.Settings.EmptyGIF, tt.gif)
			}
			for _, n := range loc.Locations {
				if n.Settings.EmptyGIF {
					t.Errorf("nested location inherited empty_gif")
				}
			}
			found := tt.warn == ""
			for _, w := range cfg.Warnings {
				found = found || strings.Contains(w.String(), tt.warn)
			}
			if !found {
				t.Errorf("warnings %v lack %q", cfg.Warnings, tt.warn)
			}
		})
	}
}

// TestAutoindexErrors checks the errors nginx 1.22.1 gives for these
// directives (nginx -t), in fulcrum's words that start with nginx's.
func TestAutoindexErrors(t *testing.T) {
	tests := []struct{ src, want string }{
		{"server { location / { autoindex_format yaml; } }", `invalid value "yaml" in`},
		{"server { location / { autoindex maybe; } }", `invalid value "maybe" in "autoindex" directive, it must be "on" or "off" in`},
		{"server { location / { empty_gif x; } }", `invalid number of arguments in "empty_gif" directive in`},
		{"server { empty_gif; }", `"empty_gif" directive is not allowed here in`},
	}
	for _, tt := range tests {
		_, err := loadText(t, "http { "+tt.src+" }")
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want %q", tt.src, err, tt.want)
		}
	}
}
