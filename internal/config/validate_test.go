package config

import (
	"strings"
	"testing"
)

// validateText parses and validates src as /t.conf.
func validateText(t *testing.T, src string) ([]Warning, error) {
	t.Helper()
	tree, err := ParseBytes("/t.conf", []byte(src), ParseOptions{})
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return validate(tree.Directives)
}

// checkValidated validates src and checks the outcome: with wantErr, an
// error starting with want[0]; otherwise no error and the warnings, one
// prefix each of want, in order.
func checkValidated(t *testing.T, src string, want []string, wantErr bool) {
	t.Helper()
	ws, err := validateText(t, src)
	if wantErr {
		if err == nil {
			t.Fatalf("no error, want %q", want[0])
		}
		if !strings.HasPrefix(err.Error(), want[0]) {
			t.Fatalf("error %q\nwant %q...", err, want[0])
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	if len(ws) != len(want) {
		t.Fatalf("warnings %q\nwant %q", ws, want)
	}
	for i, w := range ws {
		if !strings.HasPrefix(w.String(), want[i]) {
			t.Errorf("warning %q\nwant %q...", w, want[i])
		}
	}
}

func TestValidateErrors(t *testing.T) {
	tests := []struct {
		name, src string
		want      string // the whole error text
	}{
		{"unknown with suggestion", "http {\n proxy_pas x;\n}",
			`unknown directive "proxy_pas" in /t.conf:2, did you mean "proxy_pass"?`},
		{"unknown without suggestion", "frobnicate on;", `unknown directive "frobnicate" in /t.conf:1`},
		{"not allowed here", "http { server { upstream y { server 127.0.0.1; } } }",
			`"upstream" directive is not allowed here in /t.conf:1, it is allowed in: http`},
		{"main directive in http", "http {\n worker_processes 2;\n}",
			`"worker_processes" directive is not allowed here in /t.conf:2, it is allowed in: main`},
		{"proxy_pass at server level", "http { server { proxy_pass http://a; } }",
			`"proxy_pass" directive is not allowed here in /t.conf:1, it is allowed in: location`},
		{"no opening brace", "http;", `directive "http" has no opening "{" in /t.conf:1`},
		{"not terminated", "user x {}", `directive "user" is not terminated by ";" in /t.conf:1`},
		{"too few", "http { server { listen; } }",
			`invalid number of arguments in "listen" directive in /t.conf:1, syntax: listen address[:port] | port | unix:path [default_server] [ipv6only=on|off] ...;`},
		{"too many", "pid a b;", `invalid number of arguments in "pid" directive in /t.conf:1, syntax: pid file;`},
		{"no args allowed", "events x {}", `invalid number of arguments in "events" directive in /t.conf:1, syntax: events { ... }`},
		{"take23", "http { add_header X; }", `invalid number of arguments in "add_header" directive in /t.conf:1, syntax: add_header name value [always];`},
		{"more than seven", "http { server { location a b c d e f g h {} } }", `invalid number of arguments in "location" directive in /t.conf:1`},
		{"bad flag", "http { sendfile yes; }", `invalid value "yes" in "sendfile" directive, it must be "on" or "off" in /t.conf:1`},
		{"flag arity", "http { sendfile on off; }", `invalid number of arguments in "sendfile" directive in /t.conf:1`},
		{"duplicate", "http { server { location / { proxy_pass http://a; proxy_pass http://b; } } }",
			`"proxy_pass" directive is duplicate in /t.conf:1`},
		{"duplicate block", "http {} http {}", `"http" directive is duplicate in /t.conf:1`},
		{"duplicate ignored", "http { sendfile on; sendfile off; }", `"sendfile" directive is duplicate in /t.conf:1`},
		{"bad time", "http { proxy_read_timeout abc; }",
			`"proxy_read_timeout" directive invalid value in /t.conf:1, use a time such as 500ms, 30s, 5m, 1h or 1m30s`},
		{"month in msec time", "http { proxy_read_timeout 1M; }", `"proxy_read_timeout" directive invalid value in /t.conf:1`},
		{"bad size", "http { client_max_body_size 10q; }",
			`"client_max_body_size" directive invalid value in /t.conf:1, use a size such as 512, 8k, 1m or 1g`},
		{"g in a size slot", "http { client_header_buffer_size 1g; }", `"client_header_buffer_size" directive invalid value in /t.conf:1`},
		{"bad number", "events { worker_connections many; }",
			`"worker_connections" directive invalid number in /t.conf:1, use a whole number such as 100`},
		{"bad enum", "http { proxy_http_version 2.0; }", `invalid value "2.0" in /t.conf:1, use one of: 1.0, 1.1`},
		{"bad enum in list", "http { proxy_next_upstream error bogus; }", `invalid value "bogus" in /t.conf:1`},
		{"allow without address", "http {\n server {\n  allow;\n }\n}",
			`invalid number of arguments in "allow" directive in /t.conf:3, syntax: allow address | CIDR | unix: | all;`},
		{"deny with two addresses", "http { deny 10.0.0.1 10.0.0.2; }", `invalid number of arguments in "deny" directive in /t.conf:1`},
		{"deny host name", "http { deny localhost; }",
			`invalid parameter "localhost" in /t.conf:1, use all, unix:, an address such as 10.0.0.1 or a CIDR such as 10.0.0.0/8`},
		{"allow long prefix", "http { server { location / { allow 10.0.0.0/33; } } }", `invalid parameter "10.0.0.0/33" in /t.conf:1`},
		{"allow block", "http { allow all {} }", `directive "allow" is not terminated by ";" in /t.conf:1`},
		{"deny in upstream", "http { upstream u { deny all; } }", `"deny" directive is not allowed here in /t.conf:1, it is allowed in: http, server, location`},
		{"if in if", "http { server { if ($x) { if ($y) { return 404; } } } }", `"if" directive is not allowed here in /t.conf:1`},
		{"proxy_set_header in if", "http { server { location / { if ($x) { proxy_set_header A b; } } } }", `"proxy_set_header" directive is not allowed here in /t.conf:1`},
		{"proxy_pass in server if", "http { server { if ($x) { proxy_pass http://a; } } }", `"proxy_pass" directive is not allowed here in /t.conf:1`},
		{"rewrite arity", "http { server { rewrite ^; } }", `invalid number of arguments in "rewrite" directive in /t.conf:1`},
		{"if without block", "http { server { if ($x); } }", `directive "if" has no opening "{" in /t.conf:1`},
		{"mirror off and a URI", "http { server { location / { mirror /a; mirror off; } } }", `"mirror" directive is duplicate in /t.conf:1`},
		{"mirror URI after off", "http { server { mirror off; mirror /a; location / { } } }", `"mirror" directive is duplicate in /t.conf:1`},
		// nginx 1.22.1's nginx -t for each (ngx_http_v2_push).
		{"http2_push off twice", "http { server { http2_push off; http2_push off; } }", `"http2_push" directive is duplicate in /t.conf:1`},
		{"http2_push off after a URI", "http { server { http2_push /a; http2_push off; } }",
			`"http2_push" directive "off" parameter cannot be used with URI in /t.conf:1, write either "http2_push off;" or the URIs (any number); fulcrum pushes none`},
		{"http2_push URI after off", "http { server { location / { http2_push off; http2_push /a; } } }",
			`"http2_push" directive URI cannot be used with "off" parameter in /t.conf:1, write either "http2_push off;" or the URIs (any number); fulcrum pushes none`},
		{"http2_push_preload twice", "http { http2_push_preload on; http2_push_preload on; }", `"http2_push_preload" directive is duplicate in /t.conf:1`},
		{"mirror arity", "http { mirror; }", `invalid number of arguments in "mirror" directive in /t.conf:1`},
		{"mirror_request_body value", "http { mirror_request_body maybe; }", `invalid value "maybe" in "mirror_request_body" directive, it must be "on" or "off" in /t.conf:1`},
		{"auth_request twice", "http { server { location / { auth_request /a; auth_request off; } } }", `"auth_request" directive is duplicate in /t.conf:1`},
		{"auth_request arity", "http { auth_request /a /b; }", `invalid number of arguments in "auth_request" directive in /t.conf:1`},
		{"auth_request in if", "http { server { location / { if ($x) { auth_request /a; } } } }", `"auth_request" directive is not allowed here in /t.conf:1`},
		{"auth_request_set without $", "http { server { auth_request_set user $upstream_http_x; } }", `invalid variable name "user" in /t.conf:1`},
		{"auth_request_set arity", "http { auth_request_set $user; }", `invalid number of arguments in "auth_request_set" directive in /t.conf:1`},
		{"valid_referers in http", "http { valid_referers none; }", `"valid_referers" directive is not allowed here in /t.conf:1, it is allowed in: server, location`},
		{"proxy_pass in limit_except", "http { server { location / { limit_except GET { proxy_pass http://a; } } } }",
			`fulcrum does not support "proxy_pass" inside "limit_except" yet in /t.conf:1, inside limit_except fulcrum applies allow, deny, auth_basic and auth_basic_user_file; write the directive in the enclosing location`},
		{"access_log in limit_except", "http { server { location / { limit_except GET { access_log off; } } } }",
			`fulcrum does not support "access_log" inside "limit_except" yet in /t.conf:1`},
		{"root in limit_except", "http { server { location / { limit_except GET { root /srv; } } } }",
			`"root" directive is not allowed here in /t.conf:1`},
		{"satisfy in limit_except", "http { server { location / { limit_except GET { satisfy any; } } } }",
			`"satisfy" directive is not allowed here in /t.conf:1`},
		{"limit_except in server", "http { server { limit_except GET { deny all; } } }",
			`"limit_except" directive is not allowed here in /t.conf:1, it is allowed in: location`},
		{"limit_except twice", "http { server { location / { limit_except GET { } limit_except POST { } } } }",
			`"limit_except" directive is duplicate in /t.conf:1`},
		{"limit_except without methods", "http { server { location / { limit_except { } } } }",
			`invalid number of arguments in "limit_except" directive in /t.conf:1`},
		{"limit_except without block", "http { server { location / { limit_except GET; } } }",
			`directive "limit_except" has no opening "{" in /t.conf:1`},
		{"satisfy value", "http { satisfy some; }", `invalid value "some" in /t.conf:1, use one of: all, any`},
		{"auth_basic arity", "http { auth_basic a b; }", `invalid number of arguments in "auth_basic" directive in /t.conf:1, syntax: auth_basic string | off;`},
		{"auth_basic_user_file twice", "http { auth_basic_user_file a; auth_basic_user_file b; }",
			`"auth_basic_user_file" directive is duplicate in /t.conf:1`},
		{"unsupported mail ssl_conf_command", "mail { ssl_conf_command Options KTLS; }", `fulcrum does not support the "ssl_conf_command" directive yet in /t.conf:1`},
		{"context before support", "allow all;", `"allow" directive is not allowed here in /t.conf:1`},
		{"block inside types", "http { types { text/html html {} } }", `unexpected "{" in /t.conf:1`},
		{"map line arity", "http { map $a $b { x y z; } }", `invalid number of the map parameters in /t.conf:1`},
		{"map line without value", "http { map $a $b { x; } }", `invalid number of the map parameters in /t.conf:1`},
		{"error in nested location", "http { server { location / { location /a { lisen 80; } } } }",
			`unknown directive "lisen" in /t.conf:1, did you mean "listen"?`},
		{"upstream server outside upstream", "http { server { location / { server 127.0.0.1; } } }",
			`"server" directive is not allowed here in /t.conf:1, it is allowed in: http, upstream`},
		{"upstream keepalive_timeout arity", "http { upstream a { server 127.0.0.1; keepalive_timeout 1 2; } }",
			`invalid number of arguments in "keepalive_timeout" directive in /t.conf:1`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := validateText(t, tt.src)
			if err == nil {
				t.Fatalf("want error %q", tt.want)
			}
			if _, ok := AsError(err); !ok {
				t.Fatalf("error %v is not an *Error", err)
			}
			if got := err.Error(); got != tt.want && !strings.HasPrefix(got, tt.want+", ") {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestValidateWarnings(t *testing.T) {
	tests := []struct {
		name, src string
		want      []string
	}{
		{"valid and quiet", "worker_processes auto; events { worker_connections 10; } http { server { listen 80; location / { return 200; } } }", nil},
		{"ignored", "http {\n sendfile on;\n tcp_nopush on;\n}", []string{
			`"sendfile" is ignored in /t.conf:2, Go uses sendfile for static files by itself`,
			`"tcp_nopush" is ignored in /t.conf:3, ` + noteTCP,
		}},
		{"daemon has its own reason", "daemon off;", []string{
			`"daemon" is ignored in /t.conf:1, fulcrum always runs in the foreground; let systemd or your shell put it in the background`,
		}},
		{"planned", "http { proxy_store on; ssi on; server { ssl_early_data on; } }", []string{
			`fulcrum does not implement "ssl_early_data" yet in /t.conf:1, ` + noteEarlyData,
		}},
		{"once per occurrence", "http { server { ssl_early_data on; } server { ssl_early_data on; } }", []string{
			`fulcrum does not implement "ssl_early_data" yet in /t.conf:1, ` + noteEarlyData,
			`fulcrum does not implement "ssl_early_data" yet in /t.conf:1, ` + noteEarlyData,
		}},
		{"ignored block is not descended", "http { charset_map a b { bogus; } }", []string{
			`"charset_map" is ignored in /t.conf:1, responses are not recoded`,
		}},
		{"flags in any case", "http { proxy_buffering OFF; }", nil},
		{"multi allowed", "http { proxy_set_header A a; proxy_set_header B b; }", nil},
		// nginx 1.22.1 loads any number of http2_push URIs in a block (nginx -t).
		{"http2_push URIs repeat", "http { server { http2_push /a; http2_push /a; http2_push /b; } }", []string{
			`"http2_push" is ignored in /t.conf:1, ` + noteHTTP2Push,
			`"http2_push" is ignored in /t.conf:1, ` + noteHTTP2Push,
			`"http2_push" is ignored in /t.conf:1, ` + noteHTTP2Push,
		}},
		{"same name in upstream and http", "http { keepalive_timeout 10; upstream u { server 127.0.0.1; keepalive_timeout 5s; } }", nil},
		{"types lines are free", "http { types { text/html html htm; application/x-foo; } }", nil},
		{"map special lines", "http { map $a $b { hostnames; volatile; default 0; '' 1; } }", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ws, err := validateText(t, tt.src)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, w := range ws {
				got = append(got, w.String())
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestArityRules(t *testing.T) {
	tests := []struct {
		rule arity
		ok   []int
		bad  []int
	}{
		{argsNone, []int{0}, []int{1, 2}},
		{args1, []int{1}, []int{0, 2}},
		{args12, []int{1, 2}, []int{0, 3}},
		{args23, []int{2, 3}, []int{1, 4}},
		{args1234, []int{1, 4}, []int{0, 5}},
		{argsNone | args12, []int{0, 1, 2}, []int{3}},
		{argsFlag, []int{1}, []int{0, 2}},
		{args1More, []int{1, 2, 9}, []int{0}},
		{args2More, []int{2, 20}, []int{0, 1}},
		{argsAny, []int{0, 1, 30}, nil},
		{args7, []int{7}, []int{8}},
	}
	for _, tt := range tests {
		for _, n := range tt.ok {
			if !tt.rule.ok(n) {
				t.Errorf("arity %b refuses %d arguments", tt.rule, n)
			}
		}
		for _, n := range tt.bad {
			if tt.rule.ok(n) {
				t.Errorf("arity %b accepts %d arguments", tt.rule, n)
			}
		}
	}
}

// TestTableConsistent checks the directive table itself: one spec per name and
// context, a syntax line for every directive, a note for every one that is not
// implemented, a child context for every block, kinds only where arguments are.
func TestTableConsistent(t *testing.T) {
	for name, specs := range directiveIndex {
		var seen ctxSet
		for _, s := range specs {
			if s.ctx&seen != 0 {
				t.Errorf("%s: two specs share a context", name)
			}
			seen |= s.ctx
			if s.syntax == "" || !strings.HasPrefix(s.syntax, name) {
				t.Errorf("%s: syntax %q does not start with the name", name, s.syntax)
			}
			if s.status != implemented && s.note == "" {
				t.Errorf("%s: %s without a note", name, s.status)
			}
			if s.args&argsBlock != 0 && s.status == implemented && s.child == 0 {
				t.Errorf("%s: a block without a child context", name)
			}
			if s.module == "" {
				t.Errorf("%s: no module", name)
			}
			if (len(s.kinds) > 0 && containsKind(s.kinds, kindEnum)) != (len(s.enum) > 0) {
				t.Errorf("%s: enum kind and enum values disagree", name)
			}
		}
	}
}

func containsKind(ks []kind, k kind) bool {
	for _, x := range ks {
		if x == k {
			return true
		}
	}
	return false
}

// TestBriefStatuses pins the statuses that matter for safety: access rules and
// routing changes must be errors, never warnings.
func TestBriefStatuses(t *testing.T) {
	want := map[string]status{
		"allow": implemented, "deny": implemented, "auth_basic": implemented, "auth_basic_user_file": implemented,
		"rewrite": implemented, "if": implemented, "set": implemented, "internal": implemented,
		"limit_except": implemented, "satisfy": implemented, "auth_request": implemented, "auth_request_set": implemented, "fastcgi_pass": implemented,
		"gzip": implemented, "ssl_certificate": implemented, "ssl_verify_client": implemented, "limit_req": implemented, "limit_conn": implemented, "http2": implemented,
		"user": ignored, "sendfile": ignored, "tcp_nopush": ignored, "tcp_nodelay": implemented, "daemon": ignored,
		"master_process": ignored, "load_module": ignored, "types_hash_max_size": ignored, "multi_accept": ignored,
		"worker_rlimit_nofile": implemented, "pcre_jit": ignored, "ssl_prefer_server_ciphers": ignored,
		"open_file_cache": ignored, "reset_timedout_connection": implemented, "lingering_close": implemented, "msie_padding": implemented,
		"proxy_pass": implemented, "map": implemented, "server_tokens": implemented, "include": implemented,
	}
	for name, st := range want {
		specs := directiveIndex[name]
		if len(specs) == 0 {
			t.Errorf("%s: not in the table", name)
			continue
		}
		if specs[0].status != st {
			t.Errorf("%s: status %s, want %s", name, specs[0].status, st)
		}
	}
}
