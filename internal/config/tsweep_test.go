package config

import (
	"strings"
	"testing"
)

// TestNginxTestSweep holds what scripts/config-nginx-sweep.py found where
// `fulcrum -t` and `nginx -t` (nginx 1.22.1) disagreed: each configuration with
// the error nginx -t gave (want), or "" when nginx accepts it; warn, when set,
// is a warning nginx gives and fulcrum must give too.
func TestNginxTestSweep(t *testing.T) {
	const loc = "http {\nserver {\nlocation / {\n%s\n}\n}\n}\n"
	inLoc := func(s string) string { return strings.Replace(loc, "%s", s, 1) }
	tests := []struct {
		name, src, want, warn string
	}{
		// ngx_http_proxy_pass: no URI inside "if" (the if block is a location of its own).
		{"proxy_pass URI inside if", inLoc("if ($arg_a) {\nproxy_pass http://127.0.0.1:1/x;\n}"),
			`"proxy_pass" cannot have URI part in location given by regular expression, or inside named location, or inside "if" statement, or inside "limit_except" block in nginx.conf:5`, ""},
		{"proxy_pass without URI inside if", inLoc("if ($arg_a) {\nproxy_pass http://127.0.0.1:1;\n}"), "", ""},
		// ngx_http_log_set_log reads every access_log line, "off" or not.
		{"access_log off, then an unknown format", "http {\naccess_log off;\naccess_log /tmp/a.log nosuch;\n}\n",
			`unknown log format "nosuch" in nginx.conf:3`, ""},
		{"unknown format, then access_log off", "http {\naccess_log /tmp/a.log nosuch;\naccess_log off;\n}\n",
			`unknown log format "nosuch" in nginx.conf:2`, ""},
		// ngx_event_use.
		{"use an unknown method", "events {\nuse nosuch;\n}\n", `invalid event type "nosuch" in nginx.conf:2`, ""},
		{"use epoll", "events {\nuse epoll;\n}\n", "", ""},
		// ngx_conf_set_bitmask_slot, whether or not a server speaks TLS.
		{"ssl_protocols unknown", "http {\nssl_protocols TLSv1.2 TLSv9;\n}\n", `invalid value "TLSv9" in nginx.conf:2`, ""},
		{"proxy_ssl_protocols unknown", "http {\nproxy_ssl_protocols TLSv9;\n}\n", `invalid value "TLSv9" in nginx.conf:2`, ""},
		{"grpc_ssl_protocols unknown", "http {\ngrpc_ssl_protocols TLSv9;\n}\n", `invalid value "TLSv9" in nginx.conf:2`, ""},
		// ngx_http_v2_obsolete: a warning whatever the value, any number of times.
		{"obsolete http2 value not read", "http {\nhttp2_idle_timeout 5q;\n}\n", "",
			`the "http2_idle_timeout" directive is obsolete, use the "keepalive_timeout" directive instead`},
		{"obsolete http2 twice", "http {\nhttp2_max_requests 10;\nhttp2_max_requests x;\n}\n", "",
			`the "http2_max_requests" directive is obsolete, use the "keepalive_requests" directive instead`},
		// The slot functions refuse a duplicate before they read the value.
		{"flag duplicate before its value", "http {\nsendfile on;\nsendfile yes;\n}\n", `"sendfile" directive is duplicate in nginx.conf:3`, ""},
		{"time duplicate before its value", "http {\nproxy_read_timeout 5s;\nproxy_read_timeout 5q;\n}\n", `"proxy_read_timeout" directive is duplicate in nginx.conf:3`, ""},
		// ngx_http_core_open_file_cache and ngx_http_log_open_file_cache
		// (ngx_stream_log_open_file_cache says the same).
		{"open_file_cache bare number", "http {\nopen_file_cache 1;\n}\n", `invalid "open_file_cache" parameter "1" in nginx.conf:2`, ""},
		{"open_file_cache max=0", "http {\nopen_file_cache max=0;\n}\n", `invalid "open_file_cache" parameter "max=0" in nginx.conf:2`, ""},
		{"open_file_cache bad inactive", "http {\nopen_file_cache max=10 inactive=5q;\n}\n", `invalid "open_file_cache" parameter "inactive=5q" in nginx.conf:2`, ""},
		{"open_file_cache without max", "http {\nopen_file_cache inactive=5s;\n}\n", `"open_file_cache" must have the "max" parameter in nginx.conf:2`, ""},
		{"open_file_cache off with inactive", "http {\nopen_file_cache off inactive=1s;\n}\n", "", ""},
		{"open_file_cache OFF", "http {\nopen_file_cache OFF;\n}\n", `invalid "open_file_cache" parameter "OFF" in nginx.conf:2`, ""},
		{"open_log_file_cache max=0", "http {\nopen_log_file_cache max=0;\n}\n", `"open_log_file_cache" must have "max" parameter in nginx.conf:2`, ""},
		{"open_log_file_cache bad min_uses", "http {\nopen_log_file_cache max=10 min_uses=x;\n}\n", `invalid "open_log_file_cache" parameter "min_uses=x" in nginx.conf:2`, ""},
		{"open_log_file_cache off and more", "http {\nopen_log_file_cache off x;\n}\n", `invalid "open_log_file_cache" parameter "x" in nginx.conf:2`, ""},
		{"open_log_file_cache all", "http {\nopen_log_file_cache max=10 inactive=1s min_uses=0 valid=1m;\n}\n", "", ""},
		{"stream open_log_file_cache bad valid", "stream {\nopen_log_file_cache max=10 valid=5q;\n}\n", `invalid "open_log_file_cache" parameter "valid=5q" in nginx.conf:2`, ""},
		// Stream: ngx_stream_proxy_bind checks the address where it stands; a
		// stream upstream's zone needs a size, as an http one's.
		{"stream proxy_bind not an address", "stream {\nproxy_bind 1;\n}\n", `invalid address "1" in nginx.conf:2`, ""},
		{"stream proxy_bind bad parameter", "stream {\nproxy_bind 127.0.0.1 x;\n}\n", `invalid parameter "x" in nginx.conf:2`, ""},
		{"stream zone without a size", "stream {\nupstream a {\nzone z;\nserver 127.0.0.1:1;\n}\n}\n", `zero size shared memory zone "z" in nginx.conf:3`, ""},
		{"stream zone sized by another upstream", "stream {\nupstream a {\nzone z;\nserver 127.0.0.1:1;\n}\nupstream b {\nzone z 64k;\nserver 127.0.0.1:2;\n}\n}\n", "", ""},
		// ngx_http_add_addresses: socket options for one address in one listen only.
		{"listen options twice", "http {\nserver {\nlisten 127.0.0.1:8080 backlog=10;\n}\nserver {\nlisten 127.0.0.1:8080 reuseport;\n}\n}\n",
			`duplicate listen options for 127.0.0.1:8080 in nginx.conf:6`, ""},
		{"listen options once", "http {\nserver {\nlisten 127.0.0.1:8080 backlog=10;\n}\nserver {\nlisten 127.0.0.1:8080 default_server;\n}\n}\n", "", ""},
		{"listen options before a duplicate default", "http {\nserver {\nlisten 8080 default_server bind;\n}\nserver {\nlisten 8080 default_server rcvbuf=8k;\n}\n}\n",
			`duplicate listen options for 0.0.0.0:8080 in nginx.conf:6`, ""},
		// nginx names the line of the directive's ";" or "{" (the line it
		// is reading when the handler runs), not the line of its name.
		{"line of the semicolon", "http {\nsendfile\non\noff;\n}\n", `invalid number of arguments in "sendfile" directive in nginx.conf:4`, ""},
		{"line of the brace", "http {\nserver {\nlocation /a\n{\n}\nlocation /a\n{\n}\n}\n}\n", `duplicate location "/a" in nginx.conf:7`, ""},
		// ngx_conf_read_token's 4096-byte buffer holds one token at most.
		{"bare word of 4095 bytes", "http {\nserver {\nlocation / {\nreturn 200\n" + strings.Repeat("x", 4095) + ";\n}\n}\n}\n", "", ""},
		{"bare word of 4096 bytes", "http {\nserver {\nlocation / {\nreturn 200\n" + strings.Repeat("x", 4096) + ";\n}\n}\n}\n",
			`too long parameter "xxxxxxxxxx..." started in nginx.conf:5`, ""},
		{"quoted 4094 bytes", "http {\nserver {\nlocation / {\nreturn 200 \"" + strings.Repeat("x", 4094) + "\";\n}\n}\n}\n", "", ""},
		{"quoted 4095 bytes", "http {\nserver {\nlocation / {\nreturn 200 \"" + strings.Repeat("x", 4095) + "\";\n}\n}\n}\n",
			`too long parameter "xxxxxxxxxx..." started in nginx.conf:4`, ""},
		{"quoted 4096 bytes", "http {\nserver {\nlocation / {\nreturn 200 '" + strings.Repeat("x", 4096) + "';\n}\n}\n}\n",
			`too long parameter, probably missing terminating "'" character in nginx.conf:4`, ""},
		// ngx_http_proxy_merge_loc_conf checks the buffers when it merges
		// into a server or a location: an http block alone is not checked.
		{"busy buffers too big, no server", "http {\nproxy_buffers 2 4k;\nproxy_busy_buffers_size 16k;\n}\n", "", ""},
		{"fastcgi buffer too big, no server", "http {\nfastcgi_buffer_size 16k;\n}\n", "", ""},
		{"one buffer, no server", "http {\nproxy_buffers 1 4k;\n}\n", "", ""},
		{"no buffers, no server", "http {\nproxy_buffers 0 4k;\n}\n", `"proxy_buffers" directive invalid value in nginx.conf:2`, ""},
		{"busy buffers too big, empty server", "http {\nproxy_buffers 2 4k;\nproxy_busy_buffers_size 16k;\nserver {\n}\n}\n",
			`"proxy_busy_buffers_size" must be less than the size of all "proxy_buffers" minus one buffer`, ""},
		{"busy buffers too big, mended in the server", "http {\nproxy_buffers 2 4k;\nproxy_busy_buffers_size 16k;\nserver {\nproxy_busy_buffers_size 4k;\n}\n}\n", "", ""},
		// ngx_conf_handler refuses a block after a directive that takes
		// none at its "{", before it reads the block.
		{"brace inside an argument", inLoc("return 200 a{b;"), `directive "return" is not terminated by ";" in nginx.conf:4`, ""},
		{"brace on its own line, block unclosed", inLoc("return 200 a\n{\nb;"), `directive "return" is not terminated by ";" in nginx.conf:5`, ""},
		{"brace on its own line, one brace too many", "http {\nserver {\nlocation / {\nreturn 200 a\n{\nb;\n}\n}\n}\n}\n}\n", `directive "return" is not terminated by ";" in nginx.conf:5`, ""},
		{"brace, then an include that is missing", inLoc("return 200 a{include /nonexistent/x.conf;"), `directive "return" is not terminated by ";" in nginx.conf:4`, ""},
		{"brace, block closed", inLoc("return 200 a {\n}"), `directive "return" is not terminated by ";" in nginx.conf:4`, ""},
		{"brace after a block directive, unclosed", inLoc("location /a {\nreturn 200;"), `unexpected end of file, expecting "}" in nginx.conf:9`, ""},
		// ngx_conf_handler counts the arguments before any handler runs.
		{"unsupported directive, bad count", "http {\nssl_conf_command Options;\n}\n", `invalid number of arguments in "ssl_conf_command" directive in nginx.conf:2`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := loadText(t, tt.src)
			if tt.want != "" {
				if err == nil {
					t.Fatalf("loaded; nginx -t says %q", tt.want)
				}
				if !strings.HasPrefix(err.Error(), tt.want) {
					t.Fatalf("error %q\nnginx -t says %q", err, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatalf("error %q; nginx -t accepts it", err)
			}
			if tt.warn == "" {
				return
			}
			for _, w := range cfg.Warnings {
				if strings.HasPrefix(w.Msg, tt.warn) {
					return
				}
			}
			t.Fatalf("warnings %q, want %q", cfg.Warnings, tt.warn)
		})
	}
}
