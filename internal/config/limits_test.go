package config

import (
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// TestLimitConnErrors checks nginx 1.22.1's messages (nginx -t) for bad
// limit_conn values.
func TestLimitConnErrors(t *testing.T) {
	tests := []struct{ name, src, want string }{
		{"zero", "http { limit_conn_zone $a zone=x:1m; server { limit_conn x 0; } }", `invalid number of connections "0" in nginx.conf:1`},
		{"too many", "http { limit_conn_zone $a zone=x:1m; server { limit_conn x 70000; } }", `connection limit must be less 65536 in nginx.conf:1`},
		{"no size", "http { limit_conn_zone $a zone=x; }", `invalid zone size "zone=x" in nginx.conf:1`},
		{"not zone=", "http { limit_conn_zone $a foo; }", `invalid parameter "foo" in nginx.conf:1`},
		{"too small", "http { limit_conn_zone $a zone=x:16k; }", `zone "zone=x:16k" is too small in nginx.conf:1`},
		{"no name", "http { limit_conn_zone $a zone=:1m; }", `"limit_conn_zone" must have "zone" parameter in nginx.conf:1`},
		{"log level", "http { limit_conn_log_level bogus; }", `invalid value "bogus" in nginx.conf:1, limit_conn_log_level takes info`},
		{"zone twice", "http { limit_conn_zone $a zone=x:1m; limit_conn_zone $b zone=x:1m; }", `limit_conn_zone "x" is already bound to key "$a" in nginx.conf:1`},
		{"status", "http { limit_conn_status 300; }", `value must be between 400 and 599 in nginx.conf:1`},
		{"unknown zone", "http { server { location / { limit_conn nope 1; } } }", `zero size shared memory zone "nope" in nginx.conf:1`},
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

// TestLimitConnInheritance checks nginx's merge: a level inherits the list of
// limit_conn only when it writes none; the other directives one by one.
func TestLimitConnInheritance(t *testing.T) {
	cfg, err := loadText(t, `http {
    limit_conn_zone $binary_remote_addr zone=addr:10m;
    limit_conn_zone $server_name zone=srv:1m;
    limit_conn addr 10;
    limit_conn_status 429;
    server {
        location /inherit { limit_conn_dry_run on; }
        location /replace { limit_conn srv 1; limit_conn_log_level warn; }
    }
}`)
	if err != nil {
		t.Fatal(err)
	}
	locs := cfg.HTTP.Servers[0].Locations
	in, re := locs[0].Settings, locs[1].Settings
	if got := limitZones(in.LimitConn); !reflect.DeepEqual(got, []string{"addr 10"}) || in.LimitConnStatus != 429 || !in.LimitConnDryRun || in.LimitConnLogLevel != LevelError {
		t.Errorf("/inherit: %v %d %t %v", got, in.LimitConnStatus, in.LimitConnDryRun, in.LimitConnLogLevel)
	}
	if got := limitZones(re.LimitConn); !reflect.DeepEqual(got, []string{"srv 1"}) || re.LimitConnStatus != 429 || re.LimitConnDryRun || re.LimitConnLogLevel != LevelWarn {
		t.Errorf("/replace: %v %d %t %v", got, re.LimitConnStatus, re.LimitConnDryRun, re.LimitConnLogLevel)
	}
	if z := cfg.HTTP.LimitConnZones; len(z) != 2 || z[0].Name != "addr" || z[0].Key != "$binary_remote_addr" || z[1].Key != "$server_name" {
		t.Errorf("zones: %+v", z)
	}
}

func limitZones(list []LimitConn) []string {
	var out []string
	for _, lc := range list {
		out = append(out, lc.Zone+" "+strconv.Itoa(lc.Number))
	}
	return out
}
