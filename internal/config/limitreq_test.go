package config

import (
	"reflect"
	"strings"
	"testing"
)

// TestLimitReqErrors checks nginx 1.22.1's messages (nginx -t) for bad
// limit_req values, and fulcrum's hints and its own refusals (sync, nodelay
// with delay).
func TestLimitReqErrors(t *testing.T) {
	const zone = "limit_req_zone $binary_remote_addr zone=one:1m rate=1r/s; "
	tests := []struct{ name, src, want string }{
		{"no rate", "http { limit_req_zone $a zone=x:1m; }", `invalid number of arguments in "limit_req_zone" directive in nginx.conf:1, syntax:`},
		{"sync is Plus only", "http { limit_req_zone $a zone=x:1m rate=1r/s sync; }", `invalid parameter "sync" in nginx.conf:1, sync (sharing the zone between instances) is NGINX Plus only; remove it`},
		{"zone too small", "http { limit_req_zone $a zone=x:1k rate=1r/s; }", `zone "zone=x:1k" is too small in nginx.conf:1`},
		{"no size", "http { limit_req_zone $a zone=x rate=1r/s; }", `invalid zone size "zone=x" in nginx.conf:1`},
		{"bad size", "http { limit_req_zone $a zone=x:1q rate=1r/s; }", `invalid zone size "zone=x:1q" in nginx.conf:1`},
		{"no zone name", "http { limit_req_zone $a zone=:1m rate=1r/s; }", `"limit_req_zone" must have "zone" parameter in nginx.conf:1`},
		{"no zone", "http { limit_req_zone $a rate=1r/s rate=2r/s; }", `"limit_req_zone" must have "zone" parameter in nginx.conf:1`},
		{"zero rate", "http { limit_req_zone $a zone=x:1m rate=0r/s; }", `invalid rate "rate=0r/s" in nginx.conf:1, write rate=Nr/s or rate=Nr/m`},
		{"rate per hour", "http { limit_req_zone $a zone=x:1m rate=1r/h; }", `invalid rate "rate=1r/h" in nginx.conf:1`},
		{"rate not a number", "http { limit_req_zone $a zone=x:1m rate=abc; }", `invalid rate "rate=abc" in nginx.conf:1`},
		{"unknown parameter", "http { limit_req_zone $a foo=1 rate=1r/s; }", `invalid parameter "foo=1" in nginx.conf:1`},
		{"zone twice", "http { limit_req_zone $a zone=x:1m rate=1r/s; limit_req_zone $b zone=x:1m rate=1r/s; }", `limit_req_zone "x" is already bound to key "$a" in nginx.conf:1`},
		{"zone twice, sizes differ", "http { limit_req_zone $a zone=x:1m rate=1r/s; limit_req_zone $b zone=x:2m rate=1r/s; }", `the size 2097152 of shared memory zone "x" conflicts with already declared size 1048576 in nginx.conf:1`},
		{"limit_conn_zone's name", "http { limit_conn_zone $a zone=x:1m; limit_req_zone $a zone=x:1m rate=1r/s; }", `the shared memory zone "x" is already declared for a different use in nginx.conf:1`},
		{"not in server", "http { server { limit_req_zone $a zone=x:1m rate=1r/s; } }", `"limit_req_zone" directive is not allowed here in nginx.conf:1`},
		{"burst 0", "http { " + zone + "limit_req zone=one burst=0; }", `invalid burst value "burst=0" in nginx.conf:1, burst is a number of requests`},
		{"burst not a number", "http { " + zone + "limit_req zone=one burst=a; }", `invalid burst value "burst=a" in nginx.conf:1`},
		{"delay 0", "http { " + zone + "limit_req zone=one delay=0; }", `invalid delay value "delay=0" in nginx.conf:1`},
		{"nodelay and delay", "http { " + zone + "limit_req zone=one nodelay delay=2; }", `"nodelay" and "delay" in one "limit_req" directive in nginx.conf:1, write either nodelay or delay=number`},
		{"bad parameter", "http { " + zone + "limit_req zone=one foo; }", `invalid parameter "foo" in nginx.conf:1`},
		{"no zone=", "http { " + zone + "limit_req burst=2; }", `"limit_req" must have "zone" parameter in nginx.conf:1`},
		{"same zone twice", "http { " + zone + "limit_req zone=one; limit_req zone=one burst=3; }", `"limit_req" directive is duplicate in nginx.conf:1`},
		{"unknown zone", "http { server { location / { limit_req zone=nope; } } }", `zero size shared memory zone "nope" in nginx.conf:1, define it at the http level: limit_req_zone key zone=nope:10m rate=10r/s;`},
		{"status", "http { limit_req_status 600; }", `value must be between 400 and 599 in nginx.conf:1`},
		{"log level", "http { limit_req_log_level crit; }", `invalid value "crit" in nginx.conf:1`},
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

// TestLimitReqZoneValues checks the rate, size and key of limit_req_zone, in
// nginx's units (thousandths of a request per second).
func TestLimitReqZoneValues(t *testing.T) {
	tests := []struct {
		arg  string
		rate int64
	}{
		{"rate=10r/s", 10000},
		{"rate=1r/m", 16}, // 1000/60, truncated as nginx does
		{"rate=30r/m", 500},
		{"rate=5", 5000}, // no unit: per second
	}
	for _, tt := range tests {
		t.Run(tt.arg, func(t *testing.T) {
			cfg, err := loadText(t, "http { limit_req_zone $binary_remote_addr zone=one:32k "+tt.arg+"; }")
			if err != nil {
				t.Fatal(err)
			}
			want := []*LimitReqZone{{Name: "one", Key: "$binary_remote_addr", Size: 32 << 10, Rate: tt.rate}}
			got := cfg.HTTP.LimitReqZones
			if len(got) == 1 {
				got[0].Pos = Pos{}
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("zones %+v, want %+v", got, want)
			}
		})
	}
}

// TestLimitReqInheritance checks nginx's merge: a level inherits the list of
// limit_req only when it writes none; burst, delay and nodelay in nginx's
// thousandths; the other directives one by one.
func TestLimitReqInheritance(t *testing.T) {
	cfg, err := loadText(t, `http {
    limit_req_zone $binary_remote_addr zone=one:10m rate=1r/s;
    limit_req_zone $server_name zone=srv:1m rate=10r/m;
    limit_req zone=one burst=5;
    limit_req_status 429;
    server {
        location /inherit { limit_req_dry_run on; }
        location /replace { limit_req zone=srv burst=3 nodelay; limit_req zone=one delay=2; limit_req_log_level warn; }
    }
}`)
	if err != nil {
		t.Fatal(err)
	}
	locs := cfg.HTTP.Servers[0].Locations
	in, re := locs[0].Settings, locs[1].Settings
	if got := reqLimits(in.LimitReq); !reflect.DeepEqual(got, []LimitReq{{Zone: "one", Burst: 5000}}) ||
		in.LimitReqStatus != 429 || !in.LimitReqDryRun || in.LimitReqLogLevel != LevelError {
		t.Errorf("/inherit: %+v %d %t %v", got, in.LimitReqStatus, in.LimitReqDryRun, in.LimitReqLogLevel)
	}
	want := []LimitReq{{Zone: "srv", Burst: 3000, NoDelay: true}, {Zone: "one", Delay: 2000}}
	if got := reqLimits(re.LimitReq); !reflect.DeepEqual(got, want) ||
		re.LimitReqStatus != 429 || re.LimitReqDryRun || re.LimitReqLogLevel != LevelWarn {
		t.Errorf("/replace: %+v %d %t %v", got, re.LimitReqStatus, re.LimitReqDryRun, re.LimitReqLogLevel)
	}
}

// reqLimits returns list without positions.
func reqLimits(list []LimitReq) []LimitReq {
	out := make([]LimitReq, len(list))
	for i, lr := range list {
		lr.Pos = Pos{}
		out[i] = lr
	}
	return out
}
