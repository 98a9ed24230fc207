package config

import (
	"strings"
	"testing"
)

// TestLimitRateErrors: nginx -t's messages for limit_rate, limit_rate_after
// and proxy_limit_rate, with file and line (each checked with nginx 1.22.1:
// sizes take k and m but not g, up to 2^63-1 bytes; limit_rate and
// limit_rate_after take variables, proxy_limit_rate does not).
func TestLimitRateErrors(t *testing.T) {
	tests := []struct{ name, src, want string }{
		{"not a size", "http { limit_rate abc; }", `"limit_rate" directive invalid value in nginx.conf:1`},
		{"negative", "http {\n limit_rate -1;\n}", `"limit_rate" directive invalid value in nginx.conf:2`},
		{"gigabytes", "http { limit_rate 1g; }", `"limit_rate" directive invalid value in nginx.conf:1`},
		{"fraction", "http { limit_rate 1.5k; }", `"limit_rate" directive invalid value in nginx.conf:1`},
		{"empty", `http { limit_rate ""; }`, `"limit_rate" directive invalid value in nginx.conf:1`},
		{"hex", "http { limit_rate 0x10; }", `"limit_rate" directive invalid value in nginx.conf:1`},
		{"too big", "http { limit_rate 9223372036854775808; }", `"limit_rate" directive invalid value in nginx.conf:1`},
		{"too big in k", "http { limit_rate 9007199254740992k; }", `"limit_rate" directive invalid value in nginx.conf:1`},
		{"too big in m", "http { limit_rate 8796093022208m; }", `"limit_rate" directive invalid value in nginx.conf:1`},
		{"two values", "http { limit_rate 1k 2k; }", `invalid number of arguments in "limit_rate" directive in nginx.conf:1`},
		{"duplicate", "http {\n limit_rate 1k;\n limit_rate 2k;\n}", `"limit_rate" directive is duplicate in nginx.conf:3`},
		{"in if in server", "http { server { if ($arg_x) { limit_rate 1k; } } }", `"limit_rate" directive is not allowed here in nginx.conf:1`},
		{"after not a size", "http { limit_rate_after abc; }", `"limit_rate_after" directive invalid value in nginx.conf:1`},
		{"after gigabytes", "http { limit_rate_after 1g; }", `"limit_rate_after" directive invalid value in nginx.conf:1`},
		{"after negative", "http { limit_rate_after -1; }", `"limit_rate_after" directive invalid value in nginx.conf:1`},
		{"proxy not a size", "http { proxy_limit_rate abc; }", `"proxy_limit_rate" directive invalid value in nginx.conf:1`},
		{"proxy gigabytes", "http { proxy_limit_rate 1g; }", `"proxy_limit_rate" directive invalid value in nginx.conf:1`},
		{"proxy variable", "http { proxy_limit_rate $arg_r; }", `"proxy_limit_rate" directive invalid value in nginx.conf:1`},
		{"proxy too big", "http { proxy_limit_rate 8796093022208m; }", `"proxy_limit_rate" directive invalid value in nginx.conf:1`},
		{"proxy in if", "http { server { location / { if ($arg_x) { proxy_limit_rate 1k; } } } }", `"proxy_limit_rate" directive is not allowed here in nginx.conf:1`},
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

// TestLimitRateSettings: the values nginx accepts, inherited from the
// nearest level (in if blocks too), and values with variables kept for the
// request.
func TestLimitRateSettings(t *testing.T) {
	cfg, err := loadText(t, `http {
    limit_rate 10k;
    limit_rate_after 1m;
    proxy_limit_rate 2k;
    proxy_ignore_headers X-Accel-Limit-Rate;
    server {
        location /a { }
        location /b { limit_rate 0; proxy_limit_rate 0; proxy_ignore_headers Expires; }
        location /c { if ($arg_x) { limit_rate 5K; limit_rate_after 512; } }
        location /d { limit_rate $arg_r; limit_rate_after ${arg_a}k; }
        location /e { limit_rate 9223372036854775807; limit_rate_after 8796093022207m; proxy_limit_rate 9007199254740991k; }
    }
}`)
	if err != nil {
		t.Fatal(err)
	}
	locs := cfg.HTTP.Servers[0].Locations
	ifLoc := locs[2].Settings.Rewrites[0].If.Location
	type got struct {
		rate, after SizeValue
		proxy       int64
		ignore      bool
	}
	tests := []struct {
		name string
		set  *Settings
		want got
	}{
		{"server inherits http", cfg.HTTP.Servers[0].Settings, got{SizeValue{N: 10 << 10}, SizeValue{N: 1 << 20}, 2 << 10, true}},
		{"location inherits", locs[0].Settings, got{SizeValue{N: 10 << 10}, SizeValue{N: 1 << 20}, 2 << 10, true}},
		{"zero", locs[1].Settings, got{SizeValue{}, SizeValue{N: 1 << 20}, 0, false}},
		{"if", ifLoc.Settings, got{SizeValue{N: 5 << 10}, SizeValue{N: 512}, 2 << 10, true}},
		{"location around the if", locs[2].Settings, got{SizeValue{N: 10 << 10}, SizeValue{N: 1 << 20}, 2 << 10, true}},
		{"variables", locs[3].Settings, got{SizeValue{Value: "$arg_r"}, SizeValue{Value: "${arg_a}k"}, 2 << 10, true}},
		{"largest", locs[4].Settings, got{SizeValue{N: 1<<63 - 1}, SizeValue{N: 8796093022207 << 20}, 9007199254740991 << 10, true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := got{tt.set.LimitRate, tt.set.LimitRateAfter, tt.set.ProxyLimitRate, tt.set.IgnoreAccelLimitRate}
			g.rate.Pos, g.after.Pos = Pos{}, Pos{}
			if g != tt.want {
				t.Errorf("got %+v, want %+v", g, tt.want)
			}
		})
	}
	def := mustLoad(t, "http { server { location / { } } }").HTTP.Servers[0].Locations[0].Settings
	if def.LimitRate.Active() || def.LimitRateAfter.Active() || def.ProxyLimitRate != 0 || def.IgnoreAccelLimitRate {
		t.Errorf("defaults: %+v %+v %d %v, want no limit", def.LimitRate, def.LimitRateAfter, def.ProxyLimitRate, def.IgnoreAccelLimitRate)
	}
}
