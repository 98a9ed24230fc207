package config

import (
	"math"
	"strings"
	"testing"
)

// TestParseExpires: the values nginx 1.22's ngx_http_parse_expires accepts,
// at load time and per request, and the ones it refuses (checked with
// nginx -t and with "expires $arg_e" against nginx 1.22.1).
func TestParseExpires(t *testing.T) {
	tests := []struct {
		value    string
		modified bool
		mode     ExpiresMode
		secs     int64
		err      string
	}{
		{value: "1h", mode: ExpiresAccess, secs: 3600},
		{value: "30d", mode: ExpiresAccess, secs: 30 * 86400},
		{value: "1y", mode: ExpiresAccess, secs: 365 * 86400},
		{value: "1M", mode: ExpiresAccess, secs: 30 * 86400},
		{value: "1h 30m", mode: ExpiresAccess, secs: 5400},
		{value: "90", mode: ExpiresAccess, secs: 90},
		{value: "0", mode: ExpiresAccess, secs: 0},
		{value: "-1", mode: ExpiresAccess, secs: -1},
		{value: "+5m", mode: ExpiresAccess, secs: 300},
		{value: "-1h", modified: true, mode: ExpiresModified, secs: -3600},
		{value: "epoch", mode: ExpiresEpoch},
		{value: "max", mode: ExpiresMax},
		{value: "off", mode: ExpiresOff},
		{value: "@15h30m", mode: ExpiresDaily, secs: 15*3600 + 30*60},
		{value: "@0", mode: ExpiresDaily, secs: 0},
		{value: "@24h", mode: ExpiresDaily, secs: 86400}, // nginx refuses only more than 24h
		{value: "9223372036854775807", mode: ExpiresAccess, secs: math.MaxInt64},
		{value: "@24h1s", err: "daily time value must be less than 24 hours"},
		{value: "@25h", err: "daily time value must be less than 24 hours"},
		{value: "@1h", modified: true, err: `daily time cannot be used with "modified" parameter`},
		{value: "epoch", modified: true, err: "invalid value"},
		{value: "max", modified: true, err: "invalid value"},
		{value: "off", modified: true, err: "invalid value"},
		{value: "Max", err: "invalid value"}, // compared exactly
		{value: "OFF", err: "invalid value"},
		{value: "", err: "invalid value"},
		{value: "-", err: "invalid value"},
		{value: "@", err: "invalid value"},
		{value: "--1h", err: "invalid value"},
		{value: "@-1h", err: "invalid value"},
		{value: "10ms", err: "invalid value"},
		{value: "bogus", err: "invalid value"},
		{value: "1h1d", err: "invalid value"},
		{value: "9223372036854775808", err: "invalid value"},
		{value: "%2B5m", err: "invalid value"},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			mode, secs, err := ParseExpires(tt.value, tt.modified)
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("ParseExpires(%q, %v) = %v, %d, %v; want error %q", tt.value, tt.modified, mode, secs, err, tt.err)
				}
				return
			}
			if err != nil || mode != tt.mode || secs != tt.secs {
				t.Errorf("ParseExpires(%q, %v) = %v, %d, %v; want %v, %d", tt.value, tt.modified, mode, secs, err, tt.mode, tt.secs)
			}
		})
	}
}

// TestExpiresErrors: nginx -t's messages for expires, with file and line.
func TestExpiresErrors(t *testing.T) {
	tests := []struct{ name, src, want string }{
		{"no value", "http { expires; }", `invalid number of arguments in "expires" directive in nginx.conf:1`},
		{"three", "http { expires modified 1h 2h; }", `invalid number of arguments in "expires" directive in nginx.conf:1`},
		{"two without modified", "http { expires 1h 2h; }", `"expires" directive invalid value in nginx.conf:1`},
		{"modified in capitals", "http { expires MODIFIED 1h; }", `"expires" directive invalid value in nginx.conf:1`},
		{"bad time", "http {\n server {\n  expires 10ms;\n }\n}", `"expires" directive invalid value in nginx.conf:3`},
		{"modified epoch", "http { expires modified epoch; }", `"expires" directive invalid value in nginx.conf:1`},
		{"empty", `http { expires ""; }`, `"expires" directive invalid value in nginx.conf:1`},
		{"daily too late", "http { server { location / { expires @25h; } } }", `"expires" directive daily time value must be less than 24 hours in nginx.conf:1`},
		{"daily modified", "http { expires modified @1h; }", `"expires" directive daily time cannot be used with "modified" parameter in nginx.conf:1`},
		{"duplicate", "http {\n expires 1h;\n expires 2h;\n}", `"expires" directive is duplicate in nginx.conf:3`},
		// nginx checks the duplicate before the value.
		{"duplicate first", "http {\n expires 1h;\n expires bogus;\n}", `"expires" directive is duplicate in nginx.conf:3`},
		{"in if in server", "http { server { if ($arg_x) { expires 1h; } } }", `"expires" directive is not allowed here in nginx.conf:1`},
		{"in upstream", "http { upstream u { server 10.0.0.1; expires 1h; } }", `"expires" directive is not allowed here in nginx.conf:1`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadText(t, tt.src)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want %q", err, tt.want)
			}
		})
	}
}

// TestExpiresInheritance: the nearest level's expires, as nginx merges it
// (off by default, "expires off" stops an inherited one), in if blocks too,
// and a value with variables kept for the request.
func TestExpiresInheritance(t *testing.T) {
	cfg, err := loadText(t, `http {
    expires 30d;
    server {
        location /a { }
        location /b { expires off; }
        location /c { expires modified -1h; location /c/d { } }
        location /e { if ($arg_x) { expires @15h30m; } }
        location /f { expires modified $arg_e; }
        location /g { expires max; }
    }
    server {
        expires epoch;
        location /h { }
    }
    server { }
}`)
	if err != nil {
		t.Fatal(err)
	}
	s0, s1 := cfg.HTTP.Servers[0], cfg.HTTP.Servers[1]
	locs := s0.Locations
	ifLoc := locs[3].Settings.Rewrites[0].If.Location
	tests := []struct {
		name string
		got  *Settings
		want Expires
	}{
		{"server inherits http", s0.Settings, Expires{Mode: ExpiresAccess, Time: 30 * 86400}},
		{"location inherits", locs[0].Settings, Expires{Mode: ExpiresAccess, Time: 30 * 86400}},
		{"off", locs[1].Settings, Expires{Mode: ExpiresOff}},
		{"modified", locs[2].Settings, Expires{Mode: ExpiresModified, Time: -3600}},
		{"nested inherits", locs[2].Locations[0].Settings, Expires{Mode: ExpiresModified, Time: -3600}},
		{"if", ifLoc.Settings, Expires{Mode: ExpiresDaily, Time: 15*3600 + 30*60}},
		{"location around the if", locs[3].Settings, Expires{Mode: ExpiresAccess, Time: 30 * 86400}},
		{"variable", locs[4].Settings, Expires{Mode: ExpiresModified, Value: "$arg_e"}},
		{"max", locs[5].Settings, Expires{Mode: ExpiresMax}},
		{"epoch", s1.Locations[0].Settings, Expires{Mode: ExpiresEpoch}},
		{"empty server inherits", cfg.HTTP.Servers[2].Settings, Expires{Mode: ExpiresAccess, Time: 30 * 86400}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.got.Expires
			got.Pos = Pos{}
			if got != tt.want {
				t.Errorf("Expires = %+v, want %+v", got, tt.want)
			}
		})
	}
	if def := mustLoad(t, "http { server { location / { } } }").HTTP.Servers[0].Locations[0].Settings.Expires; def.Mode != ExpiresOff {
		t.Errorf("default Expires = %+v, want off", def)
	}
}
