package config

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

// hcConf is an http block with upstream u (with a zone) and a location
// proxying to it, with loc's extra lines and the http level's extra lines.
func hcConf(httpExtra, loc string) string {
	return "http {\nupstream u { zone u 64k; server 127.0.0.1:81; server 127.0.0.1:82; }\n" + httpExtra +
		"\nserver { location / { proxy_pass http://u;\n" + loc + "\n} }\n}"
}

func TestHealthCheck(t *testing.T) {
	def := HealthCheck{HealthSchedule: HealthSchedule{Interval: 5 * time.Second, Fails: 1, Passes: 1}, URI: "/"}
	tests := []struct {
		name, loc string
		want      HealthCheck
	}{
		{"defaults", "health_check;", def},
		{"every parameter", "health_check interval=500ms jitter=1s fails=3 passes=2 uri=/health?x=1 port=8080 mandatory persistent;",
			HealthCheck{HealthSchedule: HealthSchedule{Interval: 500 * time.Millisecond, Jitter: time.Second, Fails: 3, Passes: 2, Port: 8080, Mandatory: true, Persistent: true}, URI: "/health?x=1"}},
		{"mandatory alone", "health_check mandatory;", HealthCheck{HealthSchedule: HealthSchedule{Interval: 5 * time.Second, Fails: 1, Passes: 1, Mandatory: true}, URI: "/"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := mustLoad(t, hcConf("", tt.loc))
			hcs := cfg.HTTP.Servers[0].Locations[0].Settings.HealthChecks
			if len(hcs) != 1 {
				t.Fatalf("%d health checks", len(hcs))
			}
			got := *hcs[0]
			if got.Upstream != cfg.HTTP.Upstreams[0] {
				t.Errorf("upstream %v", got.Upstream)
			}
			got.Upstream, got.Pos = nil, Pos{}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// grpcHCConf is an http block with upstream g (with a zone) and a
// location passing to it with grpc_pass, with loc's extra lines (line 4).
func grpcHCConf(loc string) string {
	return "http {\nupstream g { zone g 64k; server 127.0.0.1:50051; }\nserver { location / { grpc_pass grpc://g;\n" + loc + "\n} }\n}"
}

// TestGRPCHealthCheck: NGINX Plus's "health_check type=grpc
// [grpc_service=name] [grpc_status=code]" in a grpc_pass location checks
// grpc_pass's upstream.
func TestGRPCHealthCheck(t *testing.T) {
	def := HealthCheck{HealthSchedule: HealthSchedule{Interval: 5 * time.Second, Fails: 1, Passes: 1}, URI: "/", GRPC: true}
	tests := []struct {
		name, loc string
		want      HealthCheck
	}{
		{"type=grpc", "health_check type=grpc;", def},
		{"every parameter", "health_check interval=1s jitter=2s fails=3 passes=2 port=50052 mandatory persistent type=grpc grpc_service=app.Greeter grpc_status=12;",
			HealthCheck{HealthSchedule: HealthSchedule{Interval: time.Second, Jitter: 2 * time.Second, Fails: 3, Passes: 2, Port: 50052, Mandatory: true, Persistent: true}, URI: "/", GRPC: true, GRPCService: "app.Greeter", GRPCStatus: 12}},
		{"grpc_status then grpc_service", "health_check mandatory type=grpc grpc_status=12 grpc_service=x;",
			HealthCheck{HealthSchedule: HealthSchedule{Interval: 5 * time.Second, Fails: 1, Passes: 1, Mandatory: true}, URI: "/", GRPC: true, GRPCService: "x", GRPCStatus: 12}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := mustLoad(t, grpcHCConf(tt.loc))
			hcs := cfg.HTTP.Servers[0].Locations[0].Settings.HealthChecks
			if len(hcs) != 1 {
				t.Fatalf("%d health checks", len(hcs))
			}
			got := *hcs[0]
			if got.Upstream != cfg.HTTP.Upstreams[0] {
				t.Errorf("upstream %v", got.Upstream)
			}
			got.Upstream, got.Pos = nil, Pos{}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestHealthCheckNotInherited(t *testing.T) {
	cfg := mustLoad(t, hcConf("", "health_check; health_check uri=/b; location /x { proxy_pass http://u; }"))
	loc := cfg.HTTP.Servers[0].Locations[0]
	if n := len(loc.Settings.HealthChecks); n != 2 {
		t.Errorf("%d checks in the location, want 2", n)
	}
	if n := len(loc.Locations[0].Settings.HealthChecks); n != 0 {
		t.Errorf("the nested location inherited %d checks", n)
	}
}

func TestMatchBlock(t *testing.T) {
	cfg := mustLoad(t, hcConf(`match m {
    status 200 204;
    status ! 500;
    status 200-399;
    status ! 400-599;
    header X-A;
    header ! X-B;
    header Content-Type = text/html;
    header Content-Type != text/plain;
    header Server ~ "^ngi";
    header Server !~ apache;
    body ~ "Welcome to nginx!";
    body !~ error;
}
match empty { }`, "health_check match=m; health_check match=empty;"))
	m := cfg.HTTP.Matches[0]
	if len(cfg.HTTP.Matches) != 2 || m.Name != "m" || len(m.Tests) != 12 {
		t.Fatalf("matches %+v", cfg.HTTP.Matches)
	}
	type summary struct {
		Kind   MatchKind
		Not    bool
		Ranges [][2]int
		Header string
		Op     HeaderOp
		Value  string
		Regex  string
	}
	want := []summary{
		{MatchStatus, false, [][2]int{{200, 200}, {204, 204}}, "", 0, "", ""},
		{MatchStatus, true, [][2]int{{500, 500}}, "", 0, "", ""},
		{MatchStatus, false, [][2]int{{200, 399}}, "", 0, "", ""},
		{MatchStatus, true, [][2]int{{400, 599}}, "", 0, "", ""},
		{MatchHeader, false, nil, "X-A", HeaderPresent, "", ""},
		{MatchHeader, true, nil, "X-B", HeaderPresent, "", ""},
		{MatchHeader, false, nil, "Content-Type", HeaderEqual, "text/html", ""},
		{MatchHeader, true, nil, "Content-Type", HeaderEqual, "text/plain", ""},
		{MatchHeader, false, nil, "Server", HeaderRegex, "", "^ngi"},
		{MatchHeader, true, nil, "Server", HeaderRegex, "", "apache"},
		{MatchBody, false, nil, "", 0, "", "Welcome to nginx!"},
		{MatchBody, true, nil, "", 0, "", "error"},
	}
	for i, mt := range m.Tests {
		got := summary{mt.Kind, mt.Not, mt.Ranges, mt.Header, mt.Op, mt.Value, ""}
		if mt.Regex != nil {
			got.Regex = mt.Regex.String()
		}
		if !reflect.DeepEqual(got, want[i]) {
			t.Errorf("test %d: %+v, want %+v", i, got, want[i])
		}
	}
	hcs := cfg.HTTP.Servers[0].Locations[0].Settings.HealthChecks
	if hcs[0].Match != m || hcs[1].Match != cfg.HTTP.Matches[1] {
		t.Errorf("match= does not point at the blocks")
	}
}

func TestHealthCheckErrors(t *testing.T) {
	tests := []struct{ name, conf, want string }{
		{"no zone", "http {\nupstream u { server 127.0.0.1:81; }\nserver { location / { proxy_pass http://u;\nhealth_check; } } }",
			`upstream "u" must reside in shared memory for "health_check" in nginx.conf:4, add "zone u 64k;"`},
		{"no proxy_pass", "http { server { location / {\nhealth_check; } } }", `"health_check" requires "proxy_pass" in the same location in nginx.conf:2`},
		{"implicit upstream", "http { server { location / { proxy_pass http://127.0.0.1:81;\nhealth_check; } } }",
			`"health_check" requires an upstream group in "proxy_pass" in nginx.conf:2`},
		{"variables", "http { server { location / { proxy_pass http://$host;\nhealth_check; } } }",
			`"health_check" requires an upstream group in "proxy_pass" in nginx.conf:2`},
		{"in server", "http { server {\nhealth_check; } }", `"health_check" directive is not allowed here in nginx.conf:2`},
		{"unknown match", hcConf("", "health_check match=nope;"), `match "nope" not found in nginx.conf:5`},
		{"typo", hcConf("", "health_check intervl=1s;"), `invalid parameter "intervl=1s" in nginx.conf:5, did you mean "interval=1s"?`},
		{"bad interval", hcConf("", "health_check interval=0;"), `invalid parameter "interval=0" in nginx.conf:5`},
		{"bad fails", hcConf("", "health_check fails=0;"), `invalid parameter "fails=0" in nginx.conf:5`},
		{"bad passes", hcConf("", "health_check passes=x;"), `invalid parameter "passes=x" in nginx.conf:5`},
		{"bad port", hcConf("", "health_check port=70000;"), `invalid parameter "port=70000" in nginx.conf:5, port is a number from 1 to 65535`},
		{"empty uri", hcConf("", "health_check uri=;"), `invalid parameter "uri=" in nginx.conf:5`},
		{"persistent alone", hcConf("", "health_check persistent;"), `"persistent" requires "mandatory" in nginx.conf:5`},
		{"keepalive_time", hcConf("", "health_check keepalive_time=60s;"), `fulcrum does not support the "keepalive_time" parameter of "health_check" yet in nginx.conf:5`},
		{"grpc with proxy_pass", hcConf("", "health_check type=grpc;"), `"health_check type=grpc" requires "grpc_pass" in the same location in nginx.conf:5, type=grpc checks gRPC servers`},
		{"grpc without a pass", "http { server { location / {\nhealth_check type=grpc; } } }", `"health_check type=grpc" requires "grpc_pass" in the same location in nginx.conf:2`},
		{"grpc_pass without type=grpc", grpcHCConf("health_check;"), `"health_check" in a location with "grpc_pass" requires "type=grpc" in nginx.conf:4, check gRPC servers with the gRPC health checking protocol`},
		{"grpc implicit upstream", "http { server { location / { grpc_pass grpc://127.0.0.1:50051;\nhealth_check type=grpc; } } }",
			`"health_check" requires an upstream group in "grpc_pass" in nginx.conf:2`},
		{"grpc variables", "http { server { location / { grpc_pass grpc://$host:50051;\nhealth_check type=grpc; } } }",
			`"health_check" requires an upstream group in "grpc_pass" in nginx.conf:2`},
		{"grpc no zone", "http {\nupstream g { server 127.0.0.1:50051; }\nserver { location / { grpc_pass grpc://g;\nhealth_check type=grpc; } } }",
			`upstream "g" must reside in shared memory for "health_check" in nginx.conf:4, add "zone g 64k;"`},
		{"type=grpc not last", grpcHCConf("health_check type=grpc fails=2;"), `"fails=2" must come before "type=grpc" in nginx.conf:4, as in NGINX Plus, type=grpc comes after all other parameters`},
		{"grpc_service before type=grpc", grpcHCConf("health_check grpc_service=a.B type=grpc;"), `"grpc_service" must follow "type=grpc" in nginx.conf:4, write "type=grpc" before it`},
		{"grpc_status without type=grpc", grpcHCConf("health_check grpc_status=12;"), `"grpc_status" must follow "type=grpc" in nginx.conf:4`},
		{"grpc with uri", grpcHCConf("health_check uri=/x type=grpc;"), `"type=grpc" cannot be used with "uri=" in nginx.conf:4`},
		{"grpc with match", hcConf("match m { }", "health_check match=m type=grpc;"), `"type=grpc" cannot be used with "match=" in nginx.conf:5`},
		{"unknown type", grpcHCConf("health_check type=http;"), `invalid parameter "type=http" in nginx.conf:4, the only type is "type=grpc"`},
		{"grpc_status 0", grpcHCConf("health_check type=grpc grpc_status=0;"), `invalid parameter "grpc_status=0" in nginx.conf:4, grpc_status is a non-zero gRPC status code from 1 to 16`},
		{"grpc_status 17", grpcHCConf("health_check type=grpc grpc_status=17;"), `invalid parameter "grpc_status=17" in nginx.conf:4`},
		{"grpc_status name", grpcHCConf("health_check type=grpc grpc_status=UNIMPLEMENTED;"), `invalid parameter "grpc_status=UNIMPLEMENTED" in nginx.conf:4`},
		{"empty grpc_service", grpcHCConf("health_check type=grpc grpc_service=;"), `invalid parameter "grpc_service=" in nginx.conf:4, grpc_service is a gRPC service name`},
		{"grpc_service typo", grpcHCConf("health_check type=grpc grpc_servce=a;"), `invalid parameter "grpc_servce=a" in nginx.conf:4, did you mean "grpc_service=a"?`},
		{"duplicate match", hcConf("match a { }\nmatch a { }", ""), `duplicate match "a" in nginx.conf:4`},
		{"match in server", "http { server {\nmatch a { } } }", `"match" directive is not allowed here in nginx.conf:2`},
		{"match without block", hcConf("match a;", ""), `directive "match" has no opening "{" in nginx.conf:3`},
		{"bad status", hcConf("match a { status 2xx; }", ""), `invalid status "2xx" in nginx.conf:3`},
		{"status out of range", hcConf("match a { status 600; }", ""), `invalid status "600" in nginx.conf:3`},
		{"backwards range", hcConf("match a { status 399-200; }", ""), `invalid status "399-200" in nginx.conf:3`},
		{"status without codes", hcConf("match a { status !; }", ""), `invalid number of arguments in "status" directive in nginx.conf:3`},
		{"bad header operator", hcConf("match a { header X == y; }", ""), `invalid operator "==" in "header" directive in nginx.conf:3`},
		{"header arguments", hcConf("match a { header X = ; }", ""), `invalid number of arguments in "header" directive in nginx.conf:3`},
		{"bad body operator", hcConf("match a { body = x; }", ""), `invalid operator "=" in "body" directive in nginx.conf:3`},
		{"bad body regex", hcConf("match a { body ~ \"(\"; }", ""), `pcre2_compile() failed: missing closing parenthesis in "("`},
		{"unknown test", hcConf("match a { code 200; }", ""), `unknown directive "code" in nginx.conf:3`},
		{"bad zone size", "http { upstream u { zone u abc; server 127.0.0.1; } }", `invalid zone size "abc" in nginx.conf:1`},
		{"small zone", "http { upstream u { zone u 1k; server 127.0.0.1; } }", `zone "u" is too small in nginx.conf:1`},
		// nginx 1.22's answers for zones upstreams share (nginx -t).
		{"zone without a size anywhere", "http { upstream u { zone z; server 127.0.0.1; } }", `zero size shared memory zone "z" in nginx.conf:1`},
		{"zone sizes differ", "http {\nupstream u { zone z 32k; server 127.0.0.1; }\nupstream v { zone z 64k; server 127.0.0.1; } }",
			`the size 65536 of shared memory zone "z" conflicts with already declared size 32768 in nginx.conf:3`},
		{"zone is a limit_req_zone's", "http { limit_req_zone $binary_remote_addr zone=z:1m rate=1r/s;\nupstream u { zone z 64k; server 127.0.0.1; } }",
			`the shared memory zone "z" is already declared for a different use in nginx.conf:2`},
		{"zone is a later limit_conn_zone's", "http { upstream u { zone z 64k; server 127.0.0.1; }\nlimit_conn_zone $binary_remote_addr zone=z:1m; }",
			`the shared memory zone "z" is already declared for a different use in nginx.conf:2`},
		{"require", hcConf("match a { require $ok; }", ""), `fulcrum does not support "require" in "match" yet in nginx.conf:3`},
		{"block in match", hcConf("match a { status 200 { } }", ""), `unexpected "{" in nginx.conf:3`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadText(t, tt.conf)
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("error %v\nwant prefix %s", err, tt.want)
			}
		})
	}
}

// TestSharedZone: upstreams may share a zone whose size one of them gives,
// or all give alike (nginx 1.22 accepts both).
func TestSharedZone(t *testing.T) {
	for _, conf := range []string{
		"http { upstream u { zone z; server 127.0.0.1; } upstream v { zone z 64k; server 127.0.0.2; } }",
		"http { upstream u { zone z 64k; server 127.0.0.1; } upstream v { zone z; server 127.0.0.2; } upstream w { zone z 64k; server 127.0.0.3; } }",
	} {
		cfg, err := loadText(t, conf)
		if err != nil {
			t.Fatalf("%s: %v", conf, err)
		}
		for _, u := range cfg.HTTP.Upstreams {
			if u.Zone != "z" {
				t.Errorf("%s: upstream %s zone %q, want z", conf, u.Name, u.Zone)
			}
		}
	}
}
