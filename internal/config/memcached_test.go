package config

import (
	"strings"
	"testing"
	"time"
)

func TestMemcachedErrors(t *testing.T) {
	tests := []struct{ name, src, want string }{
		{"no port", "location / { memcached_pass 127.0.0.1; }", `no port in upstream "127.0.0.1" in nginx.conf:1`},
		{"unknown name", "location / { memcached_pass mc; }", `no port in upstream "mc" in nginx.conf:1`},
		{"scheme", "location / { memcached_pass memcached://127.0.0.1:11211; }", `invalid host in upstream "memcached://127.0.0.1:11211" in nginx.conf:1`},
		{"duplicate", "location / { memcached_pass 127.0.0.1:11211; memcached_pass 127.0.0.1:11212; }", `"memcached_pass" directive is duplicate in nginx.conf:1`},
		{"in server", "memcached_pass 127.0.0.1:11211;", `"memcached_pass" directive is not allowed here in nginx.conf:1`},
		{"no argument", "location / { memcached_pass; }", `invalid number of arguments in "memcached_pass" directive in nginx.conf:1`},
		{"bad next", "memcached_next_upstream error http_500;", `invalid value "http_500" in nginx.conf:1`},
		{"off with others", "memcached_next_upstream error off;", `"memcached_next_upstream off" cannot be combined with other values in nginx.conf:1`},
		{"bad gzip flag", "memcached_gzip_flag x;", `"memcached_gzip_flag" directive invalid`},
		{"bad timeout", "memcached_read_timeout 5q;", `"memcached_read_timeout" directive invalid value in nginx.conf:1`},
		{"bad buffer", "memcached_buffer_size lots;", `"memcached_buffer_size" directive invalid value in nginx.conf:1`},
		{"bad bind", "memcached_bind example.com;", `invalid address "example.com" in nginx.conf:1`},
		{"transparent with a bad parameter", "memcached_bind 127.0.0.2 transparentx;", `invalid parameter "transparentx" in nginx.conf:1`},
		{"bad keepalive", "memcached_socket_keepalive yes;", `invalid value "yes" in "memcached_socket_keepalive" directive, it must be "on" or "off" in nginx.conf:1`},
		{"duplicate timeout", "memcached_read_timeout 1s; memcached_read_timeout 2s;", `"memcached_read_timeout" directive is duplicate in nginx.conf:1`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadText(t, "events {} http { server { "+tc.src+" } }")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want %q", err, tc.want)
			}
		})
	}
}

func TestMemcachedSettings(t *testing.T) {
	cfg := mustLoad(t, `events {} http {
		upstream mc { server 127.0.0.1:11211; server 127.0.0.1:11212; keepalive 4; }
		memcached_read_timeout 5s;
		memcached_gzip_flag 2;
		server {
			memcached_next_upstream error not_found invalid_response;
			location / { set $memcached_key $uri; memcached_pass mc; }
			location /one/ {
				memcached_next_upstream off;
				memcached_next_upstream_tries 3;
				memcached_next_upstream_timeout 10s;
				memcached_buffer_size 16k;
				memcached_bind 127.0.0.2;
				memcached_socket_keepalive on;
				memcached_connect_timeout 1s;
				memcached_send_timeout 2s;
				memcached_pass unix:/run/memcached.sock;
				location /one/nested/ { }
			}
			location /if/ { if ($arg_x) { memcached_pass 127.0.0.1:11213; } }
		}
	}`)
	locs := cfg.HTTP.Servers[0].Locations
	root, one := locs[0].Settings.Memcached, locs[1].Settings.Memcached
	if root.Pass == nil || root.Pass.Upstream.Name != "mc" || len(root.Pass.Upstream.Servers) != 2 {
		t.Fatalf("root pass %+v", root.Pass)
	}
	if root.ReadTimeout != 5*time.Second || root.GzipFlag != 2 || root.BufferSize != 4096 || root.ConnectTimeout != time.Minute {
		t.Errorf("root inherits %+v", root)
	}
	if want := NextError | NextHTTP404 | NextInvalidHeader; root.NextUpstream != want {
		t.Errorf("root next_upstream %v, want %v", root.NextUpstream, want)
	}
	if one.NextUpstream != NextOff {
		t.Errorf("off is %v", one.NextUpstream)
	}
	if one.Pass == nil || one.Pass.Upstream.Servers[0].Network != "unix" || one.NextUpstreamTries != 3 ||
		one.NextUpstreamTimeout != 10*time.Second || one.BufferSize != 16<<10 || one.Bind.Addr != "127.0.0.2" ||
		!one.SocketKeepalive || one.ConnectTimeout != time.Second || one.SendTimeout != 2*time.Second {
		t.Errorf("/one/ settings %+v", one)
	}
	nested := locs[1].Locations[0].Settings.Memcached
	if nested.Pass != nil || nested.BufferSize != 16<<10 {
		t.Errorf("nested location: pass %v (not inherited), buffer %d (inherited)", nested.Pass, nested.BufferSize)
	}
	if ifLoc := locs[2].Settings.Memcached; ifLoc.Pass != nil {
		t.Errorf("/if/ has the if block's pass outside it")
	}
}

func TestMemcachedNextUpstreamDuplicate(t *testing.T) {
	cfg := mustLoad(t, `events {} http { memcached_next_upstream error error; server { } }`)
	if len(cfg.Warnings) != 1 || cfg.Warnings[0].Msg != `duplicate value "error"` {
		t.Errorf("warnings %v, want one duplicate value", cfg.Warnings)
	}
}
