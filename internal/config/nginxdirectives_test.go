package config

import (
	"bufio"
	"os"
	"slices"
	"strings"
	"testing"
)

// nginxDirective is one line of testdata/nginx-1.22-directives.txt.
type nginxDirective struct {
	name, module string
	line         int
}

// readNginxDirectives reads testdata/nginx-1.22-directives.txt.
func readNginxDirectives(t *testing.T) []nginxDirective {
	t.Helper()
	f, err := os.Open("testdata/nginx-1.22-directives.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []nginxDirective
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, module, ok := strings.Cut(line, "\t")
		if !ok || name == "" || module == "" {
			t.Fatalf("line %d: %q is not name<TAB>module", n, line)
		}
		out = append(out, nginxDirective{name, module, n})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// moduleContexts is where the directives of an nginx module may appear, as
// fulcrum's contexts: one of them must allow the directive.
func moduleContexts(module string) (ctxSet, bool) {
	switch {
	case module == "event_core" || module == "epoll":
		return ctxEvents, true
	case strings.HasPrefix(module, "http_"):
		return ctxHTTP | ctxSL | ctxUpstream | ctxIfs | ctxLimitExcept, true
	case strings.HasPrefix(module, "stream_"):
		return ctxStreamAll, true
	case strings.HasPrefix(module, "mail_"):
		return ctxMailSS, true
	}
	switch module {
	case "core", "conf", "errlog", "regex", "openssl", "thread_pool", "http", "events", "stream", "mail":
		return ctxMain, true
	}
	return 0, false
}

// TestNginxDirectivesKnown keeps fulcrum's table covering nginx 1.22: every
// directive of testdata/nginx-1.22-directives.txt is known and allowed in
// its module's contexts, with any status.
func TestNginxDirectivesKnown(t *testing.T) {
	dirs := readNginxDirectives(t)
	if len(dirs) < 650 {
		t.Fatalf("only %d directives read", len(dirs))
	}
	for _, d := range dirs {
		ctx, ok := moduleContexts(d.module)
		if !ok {
			t.Errorf("line %d: module %q has no contexts in this test", d.line, d.module)
			continue
		}
		if _, known, allowed := lookupSpec(d.name, ctx); !known {
			t.Errorf("line %d: %s (%s) is an unknown directive", d.line, d.name, d.module)
		} else if !allowed {
			t.Errorf("line %d: %s (%s) is not allowed in %s", d.line, d.name, d.module, ctx)
		}
	}
}

// TestNginxDirectivesChecked loads lines of the directives added for nginx
// 1.22's coverage: each is checked the nginx way (contexts, arguments,
// values, in nginx 1.22.1's words), then warned about or refused with its
// reason.
func TestNginxDirectivesChecked(t *testing.T) {
	tests := []struct {
		name, src string
		want      []string // the warnings, or the error alone
		err       bool
	}{
		{"cache", "http { fastcgi_cache_path /tmp/c keys_zone=a:1m; server { location / { fastcgi_cache a; fastcgi_cache_key $uri; fastcgi_cache_valid 200 1m; } } }", nil, false},
		{"cache off is what fulcrum does", "http { fastcgi_cache off; scgi_cache off; uwsgi_cache off; uwsgi_store off; }", nil, false},
		{"ignored tuning", "http { scgi_buffers 8 8k; uwsgi_busy_buffers_size 16k; fastcgi_max_temp_file_size 0; gzip_window 16k; }", []string{
			`"scgi_buffers" is ignored in /t.conf:1, ` + noteBuffers,
			`"uwsgi_busy_buffers_size" is ignored in /t.conf:1, ` + noteBuffers,
			`"fastcgi_max_temp_file_size" is ignored in /t.conf:1, ` + noteTemp,
			`"gzip_window" is ignored in /t.conf:1, ` + noteGzipZlib,
		}, false},
		{"bind and keepalive implemented", "http { fastcgi_bind 127.0.0.2; uwsgi_socket_keepalive on; grpc_bind 127.0.0.2; server { grpc_bind off; } }", nil, false},
		{"userid implemented", "http { userid on; userid_name uid; userid_p3p none; server { userid v1; location / { userid log; } } }", nil, false},
		{"browser implemented", "http { modern_browser opera 9.0; modern_browser unlisted; ancient_browser Lynx netscape4; modern_browser_value m; server { ancient_browser_value a; } }", nil, false},
		{"random_index off", "http { server { location / { random_index off; } } }", nil, false},
		{"stream tuning", "stream { variables_hash_max_size 2048; server { listen 1; proxy_pass 127.0.0.1:2; ssl_preread off; proxy_ssl off; } }", []string{
			`"variables_hash_max_size" is ignored in /t.conf:1, ` + noteHash,
		}, false},
		{"stream limit_conn", "stream { limit_conn_zone $binary_remote_addr zone=a:1m; server { listen 1; limit_conn a 2; limit_conn_dry_run on; limit_conn_log_level warn; proxy_pass 127.0.0.1:2; } }", nil, false},

		// Errors, as nginx 1.22.1 words them (nginx -t on the same lines).
		{"bind arguments", "http { fastcgi_bind a b c; }", []string{`invalid number of arguments in "fastcgi_bind" directive in /t.conf:1`}, true},
		{"random_index at http", "http { random_index on; }", []string{`"random_index" directive is not allowed here in /t.conf:1`}, true},
		{"random_index flag", "http { server { location / { random_index yes; } } }", []string{`invalid value "yes" in "random_index" directive, it must be "on" or "off" in /t.conf:1`}, true},
		{"userid value", "http { userid maybe; }", []string{`invalid value "maybe" in /t.conf:1`}, true},
		{"flv in server", "http { server { flv; } }", []string{`"flv" directive is not allowed here in /t.conf:1`}, true},
		{"flv arguments", "http { server { location / { flv on; } } }", []string{`invalid number of arguments in "flv" directive in /t.conf:1`}, true},
		{"slice size", "http { slice 1q; }", []string{`"slice" directive invalid value in /t.conf:1`}, true},
		{"cache lock timeout", "http { fastcgi_cache_lock_timeout 5x; }", []string{`"fastcgi_cache_lock_timeout" directive invalid value in /t.conf:1`}, true},
		{"cache min uses", "http { fastcgi_cache_min_uses many; }", []string{`"fastcgi_cache_min_uses" directive invalid number in /t.conf:1`}, true},
		{"stream return at stream level", "stream { return x; }", []string{`"return" directive is not allowed here in /t.conf:1`}, true},
		// The argument count first, as nginx's ngx_conf_handler (recorded with nginx -t).
		{"conf command arguments", "http { ssl_conf_command Options; }", []string{`invalid number of arguments in "ssl_conf_command" directive in /t.conf:1`}, true},
		{"debug_points value", "debug_points maybe;", []string{`invalid value "maybe" in /t.conf:1`}, true},
		{"modern_browser arguments", "http { modern_browser a b c; }", []string{`invalid number of arguments in "modern_browser" directive in /t.conf:1`}, true},
		{"gzip_window size", "http { gzip_window 3k; }", []string{`"gzip_window" directive must be 512, 1k, 2k, 4k, 8k, 16k, or 32k in /t.conf:1`}, true},
		{"gzip_hash size", "http { gzip_hash 100; }", []string{`"gzip_hash" directive must be 512, 1k, 2k, 4k, 8k, 16k, 32k, 64k, or 128k in /t.conf:1`}, true},
		{"userid_mark", "http { userid_mark xx; }", []string{`"userid_mark" directive value must be "off" or a single letter, digit or "=" in /t.conf:1`}, true},
		{"userid_expires", "http { userid_expires soon; }", []string{`"userid_expires" directive invalid value in /t.conf:1`}, true},
		{"userid_flags", "http { userid_flags secure bogus; }", []string{`invalid value "bogus" in /t.conf:1`}, true},
		{"store_access", "http { scgi_store_access bogus; }", []string{`invalid value "bogus" in /t.conf:1`}, true},
		{"use_stale without 502", "http { fastcgi_cache_use_stale http_502; }", []string{`invalid value "http_502" in /t.conf:1`}, true},
		{"cache methods", "http { uwsgi_cache_methods GET PUT; }", []string{`invalid value "PUT" in /t.conf:1`}, true},
		{"bind parameter", "http { fastcgi_bind 127.0.0.2 nottransparent; }", []string{`invalid parameter "nottransparent" in /t.conf:1`}, true},
		{"bind address", "http { grpc_bind foo; }", []string{`invalid address "foo" in /t.conf:1`}, true},
		{"bind off with a parameter", "http { scgi_bind off transparent; }", []string{`invalid address "off" in /t.conf:1`}, true},
		{"cache_valid time", "http { fastcgi_cache_valid 200 10q; }", []string{`invalid time value "10q" in /t.conf:1`}, true},
		{"cache_valid status", "http { fastcgi_cache_valid 999 1m; }", []string{`invalid status "999" in /t.conf:1`}, true},
		{"browser name", "http { modern_browser chrome 100; }", []string{`unknown browser name "chrome" in /t.conf:1`}, true},
		{"browser version", "http { modern_browser opera x; }", []string{`invalid browser version "x" in /t.conf:1`}, true},
		// nginx 1.22.1 fails on these without a message; fulcrum says why.
		{"modern_browser one word", "http { modern_browser foo; }", []string{`invalid value "foo" in "modern_browser" directive in /t.conf:1`}, true},
		{"modern_browser Unlisted", "http { modern_browser Unlisted; }", []string{`invalid value "Unlisted" in "modern_browser" directive in /t.conf:1`}, true},
		{"modern_browser unlisted with a version", "http { modern_browser unlisted 1; }", []string{`unknown browser name "unlisted" in /t.conf:1`}, true},
		{"uwsgi_ssl_protocols", "http { uwsgi_ssl_protocols TLSv9; }", []string{`invalid value "TLSv9" in /t.conf:1`}, true},
		{"stream proxy_ssl_protocols, proxy_ssl off", "stream { proxy_ssl_protocols TLSv1.4; }", []string{`invalid value "TLSv1.4" in "proxy_ssl_protocols" directive in /t.conf:1`}, true},

		// Unsupported: errors with the reason.
		{"stream allow bad address", "stream { server { listen 1; allow localhost; } }", []string{`invalid parameter "localhost" in /t.conf:1`}, true},
		{"stream proxy_ssl_conf_command", "stream { server { listen 1; proxy_ssl on; proxy_ssl_conf_command Options PrioritizeChaCha; } }", []string{`fulcrum does not support the "proxy_ssl_conf_command" directive yet in /t.conf:1, ` + noteConfCommand}, true},
		{"proxy_ssl_conf_command", "http { proxy_ssl_conf_command Options PrioritizeChaCha; }", []string{`fulcrum does not support the "proxy_ssl_conf_command" directive yet in /t.conf:1, ` + noteConfCommand}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkValidated(t, tt.src, tt.want, tt.err)
		})
	}
}

// TestCGICacheValuesTaken checks cache values nginx 1.22.1 takes (nginx -t),
// in a location that caches: each loads without a warning.
func TestCGICacheValuesTaken(t *testing.T) {
	for _, line := range []string{
		"fastcgi_cache_methods get head;", "fastcgi_cache_valid any 200 1m;", "fastcgi_cache_valid 5m;",
		"fastcgi_cache_revalidate on;", "fastcgi_cache_min_uses 2;",
	} {
		t.Run(line, func(t *testing.T) {
			ws, err := validateText(t, "http { fastcgi_cache_path /tmp/c keys_zone=a:1m; fastcgi_cache a; fastcgi_cache_key $uri; "+line+" }")
			if err != nil {
				t.Fatal(err)
			}
			if len(ws) != 0 {
				t.Errorf("warnings %q, want none", ws)
			}
		})
	}
}

// TestNginxDirectivesValuesTaken checks values nginx 1.22.1 takes (nginx -t)
// at the edges of the checks above: each loads, with its warning (none for
// the userid module's, scgi_store_access and uwsgi_ssl_protocols, which
// fulcrum implements).
func TestNginxDirectivesValuesTaken(t *testing.T) {
	for _, line := range []string{
		"gzip_window 16k;", "gzip_hash 512;", "userid_mark =;", "userid_mark off;", "userid_expires max;", "userid_expires 1y;",
		"modern_browser MSIE 6.0;", "modern_browser unlisted;", "modern_browser opera 9.1.2.3.4;", `modern_browser msie "";`, "modern_browser msie 1..2;",
		"uwsgi_ssl_protocols tlsv1.2 TLSv1.3;",
		"userid_flags secure samesite=lax;", "scgi_store_access user:rw group:r;",
	} {
		t.Run(line, func(t *testing.T) {
			ws, err := validateText(t, "http { "+line+" }")
			if err != nil {
				t.Fatal(err)
			}
			want := 1
			if strings.HasPrefix(line, "userid") || strings.HasPrefix(line, "modern_browser") || strings.HasPrefix(line, "scgi_store") || strings.HasPrefix(line, "uwsgi_ssl") {
				want = 0 // implemented
			}
			if len(ws) != want {
				t.Errorf("warnings %q, want %d", ws, want)
			}
		})
	}
}

// TestNginxDirectivesLoad loads whole configurations with the new
// directives: the builder must take every one the validator lets through.
func TestNginxDirectivesLoad(t *testing.T) {
	tests := []struct{ name, src string }{
		{"http", `events { epoll_events 512; }
debug_points abort;
http {
    fastcgi_cache_path /tmp/fc keys_zone=fc:1m;
    scgi_cache_path /tmp/sc keys_zone=sc:1m;
    uwsgi_cache_path /tmp/uc keys_zone=uc:1m;
    gzip_hash 64k; gzip_no_buffer on; postpone_gzipping 1k;
    userid on; userid_name uid; userid_expires 365d; userid_flags httponly;
    ancient_browser Lynx; modern_browser opera 9.0; modern_browser_value ok;
    read_ahead 64k; open_file_cache_events on;
    http2_pool_size 4k; http2_streams_index_size 32; http2_max_concurrent_pushes 0;
    server {
        listen 127.0.0.1:0;
        ssl_ocsp_cache off; ssl_reject_handshake off;
        location / {
            fastcgi_pass 127.0.0.1:9000;
            fastcgi_bind 127.0.0.2; fastcgi_socket_keepalive on; fastcgi_force_ranges on; # implemented
            fastcgi_limit_rate 10k; fastcgi_ignore_client_abort on; fastcgi_catch_stderr "Fatal";
            fastcgi_cache fc; fastcgi_cache_key $uri; fastcgi_cache_valid 200 1m; fastcgi_no_cache $arg_x;
            fastcgi_store off; fastcgi_send_lowat 0; post_action off;
        }
        location /s { scgi_pass 127.0.0.1:4000; scgi_bind off; scgi_cache sc; scgi_buffers 8 8k; scgi_request_buffering on; }
        location /u { uwsgi_pass 127.0.0.1:3031; uwsgi_cache uc; uwsgi_string x; uwsgi_ssl_verify on; }
        location /g { grpc_pass 127.0.0.1:5000; grpc_bind 127.0.0.2; grpc_ignore_headers X-Accel-Redirect; }
        location /p { proxy_pass http://127.0.0.1:8080; proxy_send_lowat 0; proxy_cache_max_range_offset 1m; slice 1m; }
        location /v { flv; } location /m { mp4; mp4_buffer_size 1m; mp4_start_key_frame on; }
        location /r { random_index on; }
    }
}`},
		{"stream", `stream {
    resolver 127.0.0.53; resolver_timeout 5s; proxy_protocol_timeout 10s;
    variables_hash_max_size 2048; map_hash_bucket_size 128; open_log_file_cache off;
    limit_conn_zone $binary_remote_addr zone=a:1m;
    server {
        listen 127.0.0.1:0;
        proxy_pass 127.0.0.1:2;
        limit_conn a 1; limit_conn_log_level warn;
        ssl_preread on; set_real_ip_from 10.0.0.0/8;
        proxy_downstream_buffer 16k;
        ssl_verify_depth 2; ssl_dhparam /dev/null; ssl_session_tickets off; ssl_alpn h2;
    }
}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := loadText(t, tt.src)
			if err != nil {
				t.Fatal(err)
			}
			if len(cfg.Warnings) == 0 {
				t.Error("no warnings for directives fulcrum does not act on")
			}
		})
	}
}

// TestCGIBindAndKeepalive reads fastcgi_bind, scgi_bind, uwsgi_bind and
// grpc_bind (as proxy_bind; grpc_bind without variables), the *_limit_rate sizes and
// the fastcgi_catch_stderr strings and the *_socket_keepalive flags: inherited, each module its
// own.
func TestCGIBindAndKeepalive(t *testing.T) {
	cfg := mustLoad(t, `events {} http {
		fastcgi_bind 127.0.0.2;
		grpc_bind 127.0.0.4;
		scgi_socket_keepalive on;
		scgi_limit_rate 8k;
		fastcgi_catch_stderr "Fatal error";
		fastcgi_catch_stderr Parse;
		server {
			location / { fastcgi_pass 127.0.0.1:9000; }
			location /off/ { fastcgi_bind off; fastcgi_socket_keepalive on; fastcgi_pass 127.0.0.1:9000; grpc_bind off; }
			location /var/ { uwsgi_bind $arg_src; uwsgi_pass 127.0.0.1:3031; scgi_bind [::1]:4000; scgi_pass 127.0.0.1:4000; }
		}
	}`)
	locs := cfg.HTTP.Servers[0].Locations
	tests := []struct {
		name      string
		got       FastCGI
		addr      string
		variables bool
		keepalive bool
	}{
		{"fastcgi inherited", locs[0].Settings.FastCGI, "127.0.0.2", false, false},
		{"scgi keepalive inherited", locs[0].Settings.SCGI, "", false, true},
		{"fastcgi off", locs[1].Settings.FastCGI, "", false, true},
		{"uwsgi with a variable", locs[2].Settings.UWSGI, "$arg_src", true, false},
		{"scgi with a port", locs[2].Settings.SCGI, "[::1]:4000", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got.Bind.Addr != tt.addr || tt.got.Bind.HasVariables != tt.variables || tt.got.SocketKeepalive != tt.keepalive {
				t.Errorf("bind %+v keepalive %v, want %q (variables %v) keepalive %v", tt.got.Bind, tt.got.SocketKeepalive, tt.addr, tt.variables, tt.keepalive)
			}
		})
	}
	if got := locs[0].Settings.SCGI.LimitRate; got != 8<<10 || locs[0].Settings.FastCGI.LimitRate != 0 {
		t.Errorf("scgi_limit_rate inherited as %d (fastcgi's %d)", got, locs[0].Settings.FastCGI.LimitRate)
	}
	if got := locs[0].Settings.FastCGI.CatchStderr; !slices.Equal(got, []string{"Fatal error", "Parse"}) {
		t.Errorf("fastcgi_catch_stderr inherited as %q", got)
	}
	if got := locs[0].Settings.GRPC.Bind.Addr; got != "127.0.0.4" {
		t.Errorf("grpc_bind inherited as %q", got)
	}
	if got := locs[1].Settings.GRPC.Bind.Addr; got != "" {
		t.Errorf("grpc_bind off is %q", got)
	}
	for _, tc := range []struct{ src, want string }{
		{"uwsgi_bind example.com;", `invalid address "example.com" in nginx.conf:1`},
		{"scgi_socket_keepalive yes;", `invalid value "yes" in "scgi_socket_keepalive" directive, it must be "on" or "off" in nginx.conf:1`},
		{"fastcgi_bind 127.0.0.2; fastcgi_bind 127.0.0.3;", `"fastcgi_bind" directive is duplicate in nginx.conf:1`},
		{"uwsgi_limit_rate fast;", `"uwsgi_limit_rate" directive invalid value in nginx.conf:1`},
		{"grpc_bind $remote_addr;", `fulcrum does not support variables in "grpc_bind" yet in nginx.conf:1`},
	} {
		t.Run(tc.src, func(t *testing.T) {
			_, err := loadText(t, "events {} http { server { "+tc.src+" } }")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want %q", err, tc.want)
			}
		})
	}
}
