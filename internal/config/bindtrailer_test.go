package config

import (
	"strings"
	"testing"
)

// TestProxyBindAndAddTrailer checks what proxy_bind and add_trailer build,
// inheritance included, and the forms refused, in nginx 1.22's words.
func TestProxyBindAndAddTrailer(t *testing.T) {
	cfg := mustLoad(t, `http {
    proxy_bind 127.0.0.2;
    add_trailer X-H h;
    server {
        location /inherit { proxy_pass http://127.0.0.1:1; }
        location /off { proxy_bind off; add_trailer X-A "$request_time" always; proxy_pass http://127.0.0.1:1; }
        location /var { proxy_bind $arg_a; proxy_pass http://127.0.0.1:1; }
        location /port { proxy_bind [::1]:4000; proxy_pass http://127.0.0.1:1; }
    }
}`)
	locs := cfg.HTTP.Servers[0].Locations
	tests := []struct {
		name      string
		got, want any
	}{
		{"inherited bind", locs[0].Settings.ProxyBind.Addr, "127.0.0.2"},
		{"off", locs[1].Settings.ProxyBind.Addr, ""},
		{"variable", locs[2].Settings.ProxyBind.HasVariables, true},
		{"with a port", locs[3].Settings.ProxyBind.Addr, "[::1]:4000"},
		{"inherited trailer", len(locs[0].Settings.AddTrailers), 1},
		{"own trailer replaces", locs[1].Settings.AddTrailers[0].Name, "X-A"},
		{"always", locs[1].Settings.AddTrailers[0].Always, true},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, tt.got, tt.want)
		}
	}

	errs := []struct{ name, src, want string }{
		{"bad parameter", "proxy_bind 1.2.3.4 foo;", `invalid parameter "foo" in nginx.conf:1`},
		{"not an address", "proxy_bind zzz;", `invalid address "zzz" in nginx.conf:1`},
		{"port 0", "proxy_bind 127.0.0.2:0;", `invalid address "127.0.0.2:0" in nginx.conf:1`},
		{"off transparent", "proxy_bind off transparent;", `invalid address "off" in nginx.conf:1`},
		{"bad address before parameter", "proxy_bind zzz foo;", `invalid address "zzz" in nginx.conf:1`},
		{"three arguments", "proxy_bind 127.0.0.2 transparent x;", `invalid number of arguments in "proxy_bind" directive in nginx.conf:1`},
		{"twice", "proxy_bind off; proxy_bind off;", `"proxy_bind" directive is duplicate in nginx.conf:1`},
		{"trailer parameter", "add_trailer X y bogus;", `invalid parameter "bogus" in nginx.conf:1`},
		{"trailer one argument", "add_trailer X;", `invalid number of arguments in "add_trailer" directive in nginx.conf:1`},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadText(t, "http { server { location / { "+tt.src+" proxy_pass http://127.0.0.1:1; } } }")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

// TestBindTransparent: "transparent" after a *_bind address is taken, as
// nginx 1.22.1 takes it (recorded with nginx -t), for every module that
// binds, literal or with variables, in http and stream.
func TestBindTransparent(t *testing.T) {
	cfg, err := loadText(t, `events {}
http {
    server {
        location /p { proxy_bind 127.0.0.2 transparent; proxy_pass http://127.0.0.1:1; }
        location /v { proxy_bind $remote_addr transparent; proxy_pass http://127.0.0.1:1; }
        location /f { fastcgi_bind 127.0.0.2 transparent; fastcgi_pass 127.0.0.1:1; }
        location /g { grpc_bind 127.0.0.2 transparent; grpc_pass 127.0.0.1:1; }
        location /m { memcached_bind 127.0.0.2 transparent; memcached_pass 127.0.0.1:1; }
        location /n { proxy_bind 127.0.0.2; proxy_pass http://127.0.0.1:1; }
    }
}
stream {
    server { listen 127.0.0.1:1; proxy_bind 127.0.0.2 transparent; proxy_pass 127.0.0.1:2; }
}`)
	if err != nil {
		t.Fatal(err)
	}
	locs := cfg.HTTP.Servers[0].Locations
	tests := []struct {
		name string
		got  ProxyBind
		want bool
	}{
		{"proxy_bind", locs[0].Settings.ProxyBind, true},
		{"proxy_bind with variables", locs[1].Settings.ProxyBind, true},
		{"fastcgi_bind", locs[2].Settings.FastCGI.Bind, true},
		{"grpc_bind", locs[3].Settings.GRPC.Bind, true},
		{"memcached_bind", locs[4].Settings.Memcached.Bind, true},
		{"without", locs[5].Settings.ProxyBind, false},
	}
	for _, tt := range tests {
		if tt.got.Transparent != tt.want || tt.got.Addr == "" {
			t.Errorf("%s: %+v, want Transparent %v", tt.name, tt.got, tt.want)
		}
	}
	if s := cfg.Stream.Servers[0]; s.Bind != "127.0.0.2" || !s.BindTransparent {
		t.Errorf("stream proxy_bind: %q transparent %v", s.Bind, s.BindTransparent)
	}
}
