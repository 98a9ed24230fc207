package config

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

// streamHCConf is a stream block with upstream u (with a zone) and a
// server proxying to it, with the server's extra lines and the stream
// level's extra lines.
func streamHCConf(streamExtra, srv string) string {
	return "stream {\nupstream u { zone u 64k; server 127.0.0.1:81; server 127.0.0.1:82; }\n" + streamExtra +
		"\nserver { listen 127.0.0.1:9000; proxy_pass u;\n" + srv + "\n}\n}"
}

func TestStreamHealthCheck(t *testing.T) {
	def := StreamHealthCheck{HealthSchedule: HealthSchedule{Interval: 5 * time.Second, Fails: 1, Passes: 1}, Timeout: 5 * time.Second}
	tests := []struct {
		name, extra, srv string
		want             StreamHealthCheck
	}{
		{"defaults", "", "health_check;", def},
		{"every parameter", "", "health_check interval=500ms jitter=1s fails=3 passes=2 port=8080 udp mandatory persistent;",
			StreamHealthCheck{HealthSchedule: HealthSchedule{Interval: 500 * time.Millisecond, Jitter: time.Second, Fails: 3, Passes: 2, Port: 8080, Mandatory: true, Persistent: true}, UDP: true, Timeout: 5 * time.Second}},
		{"server timeout", "health_check_timeout 2s;", "health_check_timeout 300ms; health_check;",
			StreamHealthCheck{HealthSchedule: HealthSchedule{Interval: 5 * time.Second, Fails: 1, Passes: 1}, Timeout: 300 * time.Millisecond}},
		{"stream timeout", "health_check_timeout 2s;", "health_check;",
			StreamHealthCheck{HealthSchedule: HealthSchedule{Interval: 5 * time.Second, Fails: 1, Passes: 1}, Timeout: 2 * time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := mustLoad(t, streamHCConf(tt.extra, tt.srv))
			hcs := cfg.Stream.Servers[0].HealthChecks
			if len(hcs) != 1 {
				t.Fatalf("%d health checks", len(hcs))
			}
			got := *hcs[0]
			if got.Upstream != cfg.Stream.Upstreams[0] {
				t.Errorf("upstream %v", got.Upstream)
			}
			got.Upstream, got.Pos = nil, Pos{}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestStreamMatch(t *testing.T) {
	tests := []struct {
		name, block   string
		send, expect  string
		regex         string
		expectPresent bool
	}{
		{"send and expect", `send "PING\r\n"; expect "+PONG";`, "PING\r\n", "+PONG", "", true},
		{"hex escapes", `send "\x00\x01a\x7f"; expect "\xffok";`, "\x00\x01a\x7f", "\xffok", "", true},
		{"regex", `send "GET / HTTP/1.0\r\n\r\n"; expect ~ "200 OK";`, "GET / HTTP/1.0\r\n\r\n", "", "200 OK", true},
		{"caseless regex", `expect ~* "ready";`, "", "", "(?i)ready", true}, // ASCII folding, as PCRE
		{"empty block", ``, "", "", "", false},
		{"other backslashes stay", `send "a\\b\q";`, `a\b\q`, "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := mustLoad(t, streamHCConf("match m { "+tt.block+" }", "health_check match=m;"))
			m := cfg.Stream.Servers[0].HealthChecks[0].Match
			if m == nil || m != cfg.Stream.Matches[0] || m.Name != "m" {
				t.Fatalf("match %+v", m)
			}
			if string(m.Send) != tt.send || string(m.Expect) != tt.expect || m.HasExpect() != tt.expectPresent {
				t.Errorf("send %q expect %q (present %v), want %q %q (%v)", m.Send, m.Expect, m.HasExpect(), tt.send, tt.expect, tt.expectPresent)
			}
			if got := ""; m.ExpectRegex != nil && m.ExpectRegex.Compiled() != tt.regex || m.ExpectRegex == nil && tt.regex != got {
				t.Errorf("regex %v, want %q", m.ExpectRegex, tt.regex)
			}
		})
	}
}

func TestStreamHealthCheckErrors(t *testing.T) {
	tests := []struct{ name, conf, want string }{
		{"no zone", "stream {\nupstream u { server 127.0.0.1:81; }\nserver { listen 9000; proxy_pass u;\nhealth_check; } }",
			`upstream "u" must reside in shared memory for "health_check" in nginx.conf:4, add "zone u 64k;"`},
		{"return", "stream { server { listen 9000; return x;\nhealth_check; } }", `"health_check" requires "proxy_pass" in the same server in nginx.conf:2`},
		{"implicit upstream", "stream { server { listen 9000; proxy_pass 127.0.0.1:81;\nhealth_check; } }",
			`"health_check" requires an upstream group in "proxy_pass" in nginx.conf:2`},
		{"variables", "stream { server { listen 9000; proxy_pass $x;\nhealth_check; } }",
			`"health_check" requires an upstream group in "proxy_pass" in nginx.conf:2`},
		{"in stream block", "stream {\nhealth_check; }", `"health_check" directive is not allowed here in nginx.conf:2`},
		{"unknown match", streamHCConf("", "health_check match=nope;"), `match "nope" not found in nginx.conf:5, define "match nope { ... }" in the stream block`},
		{"http match", "http { match h { status 200; } }\n" + streamHCConf("", "health_check match=h;"), `match "h" not found in nginx.conf:6`},
		{"typo", streamHCConf("", "health_check intervl=1s;"), `invalid parameter "intervl=1s" in nginx.conf:5, did you mean "interval=1s"?`},
		{"http-only uri", streamHCConf("", "health_check uri=/;"), `invalid parameter "uri=/" in nginx.conf:5`},
		{"bad interval", streamHCConf("", "health_check interval=0;"), `invalid parameter "interval=0" in nginx.conf:5`},
		{"bad fails", streamHCConf("", "health_check fails=0;"), `invalid parameter "fails=0" in nginx.conf:5`},
		{"bad port", streamHCConf("", "health_check port=70000;"), `invalid parameter "port=70000" in nginx.conf:5, port is a number from 1 to 65535`},
		{"persistent alone", streamHCConf("", "health_check persistent;"), `"persistent" requires "mandatory" in nginx.conf:5`},
		{"bad timeout", streamHCConf("", "health_check_timeout abc;"), `"health_check_timeout" directive invalid value in nginx.conf:5`},
		{"zero timeout", streamHCConf("", "health_check_timeout 0;"), `invalid value "0" in "health_check_timeout" directive in nginx.conf:5`},
		{"timeout in upstream", "stream { upstream u { zone u 64k; server 127.0.0.1:81;\nhealth_check_timeout 1s; } }", `"health_check_timeout" directive is not allowed here in nginx.conf:2`},
		{"duplicate match", streamHCConf("match a { }\nmatch a { }", ""), `duplicate match "a" in nginx.conf:4`},
		{"match in server", streamHCConf("", "match a { }"), `"match" directive is not allowed here in nginx.conf:5`},
		{"http test", streamHCConf("match a { status 200; }", ""), `unknown directive "status" in nginx.conf:3, a stream match block holds "send string;"`},
		{"two sends", streamHCConf("match a { send a; send b; }", ""), `"send" directive is duplicate in nginx.conf:3`},
		{"send arguments", streamHCConf("match a { send a b; }", ""), `invalid number of arguments in "send" directive in nginx.conf:3`},
		{"bad hex", streamHCConf(`match a { send "\xZZ"; }`, ""), `invalid "send" string "\xZZ": "\xZZ" is not a hex byte in nginx.conf:3`},
		{"short hex", streamHCConf(`match a { expect "ab\x1"; }`, ""), `invalid "expect" string "ab\x1": "\x" needs two hex digits in nginx.conf:3`},
		{"empty expect", streamHCConf(`match a { expect ""; }`, ""), `empty "expect" string in nginx.conf:3`},
		{"bad operator", streamHCConf(`match a { expect = x; }`, ""), `invalid operator "=" in "expect" directive in nginx.conf:3`},
		{"bad regex", streamHCConf(`match a { expect ~ "("; }`, ""), `pcre2_compile() failed: missing closing parenthesis in "("`},
		{"expect arguments", streamHCConf(`match a { expect ~ a b; }`, ""), `invalid number of arguments in "expect" directive in nginx.conf:3`},
		{"block in match", streamHCConf("match a { send x { } }", ""), `unexpected "{" in nginx.conf:3`},
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
