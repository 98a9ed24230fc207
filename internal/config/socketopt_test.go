package config

import (
	"strings"
	"testing"
)

// TestProxySocketKeepalive: proxy_socket_keepalive is off by default and
// inherited down to locations, in http and in stream.
func TestProxySocketKeepalive(t *testing.T) {
	cfg := mustLoad(t, `http {
    proxy_socket_keepalive on;
    server { listen 127.0.0.1:80; location / { } location /b { proxy_socket_keepalive off; } }
    server { listen 127.0.0.1:81; proxy_socket_keepalive off; location / { } }
}
stream {
    proxy_socket_keepalive on;
    server { listen 127.0.0.1:90; proxy_pass 127.0.0.1:1; }
    server { listen 127.0.0.1:91; proxy_pass 127.0.0.1:1; proxy_socket_keepalive off; }
}`)
	s := cfg.HTTP.Servers
	for _, c := range []struct {
		name      string
		got, want bool
	}{
		{"http inherited", s[0].Locations[0].Settings.ProxySocketKeepalive, true},
		{"location off", s[0].Locations[1].Settings.ProxySocketKeepalive, false},
		{"server off", s[1].Locations[0].Settings.ProxySocketKeepalive, false},
		{"stream inherited", cfg.Stream.Servers[0].SocketKeepalive, true},
		{"stream server off", cfg.Stream.Servers[1].SocketKeepalive, false},
		{"default", mustLoad(t, "http { server { location / { } } }").HTTP.Servers[0].Locations[0].Settings.ProxySocketKeepalive, false},
	} {
		if c.got != c.want {
			t.Errorf("%s: %v, want %v", c.name, c.got, c.want)
		}
	}
}

// TestKeepaliveDisableAndNoDelay checks keepalive_disable and tcp_nodelay
// as nginx 1.22.1's "nginx -t" took them: bits with msie6 by default,
// values without case, a repeated value warned about, an unknown one
// refused.
func TestKeepaliveDisableAndNoDelay(t *testing.T) {
	for _, tt := range []struct {
		value string
		want  KeepaliveDisable
	}{
		{"", 0},
		{"keepalive_disable msie6;", 0},
		{"keepalive_disable none;", KeepaliveKeepMSIE6},
		{"keepalive_disable safari;", KeepaliveKeepMSIE6 | KeepaliveCloseSafari},
		{"keepalive_disable none safari;", KeepaliveKeepMSIE6 | KeepaliveCloseSafari},
		{"keepalive_disable MSIE6 Safari;", KeepaliveCloseSafari},
		{"keepalive_disable none msie6;", 0},
	} {
		cfg := mustLoad(t, "http { "+tt.value+" server { location / { } } }")
		if got := cfg.HTTP.Servers[0].Locations[0].Settings.KeepaliveDisable; got != tt.want {
			t.Errorf("%q: %b, want %b", tt.value, got, tt.want)
		}
	}
	if _, err := loadText(t, "http { keepalive_disable foo; }"); err == nil || !strings.HasPrefix(err.Error(), `invalid value "foo" in nginx.conf:1`) {
		t.Errorf("keepalive_disable foo: %v", err)
	}
	cfg := mustLoad(t, "http { keepalive_disable msie6 msie6; }")
	if len(cfg.Warnings) == 0 || !strings.HasPrefix(cfg.Warnings[0].String(), `duplicate value "msie6" in `) {
		t.Errorf("warnings %v, want a duplicate value", cfg.Warnings)
	}
	cfg = mustLoad(t, "http { tcp_nodelay off; server { location / { } location /on { tcp_nodelay on; } } }\nstream { tcp_nodelay off; server { listen 127.0.0.1:1; proxy_pass 127.0.0.1:2; } }")
	if l := cfg.HTTP.Servers[0].Locations; !l[0].Settings.NoDelayOff || l[1].Settings.NoDelayOff || !cfg.Stream.Servers[0].NoDelayOff {
		t.Errorf("tcp_nodelay: %v %v %v, want true false true", l[0].Settings.NoDelayOff, l[1].Settings.NoDelayOff, cfg.Stream.Servers[0].NoDelayOff)
	}
}

// TestMSIEFlags: msie_padding is on and msie_refresh off by default, both
// inherited.
func TestMSIEFlags(t *testing.T) {
	cfg := mustLoad(t, "http { msie_refresh on; server { location / { } location /p { msie_padding off; msie_refresh off; } } }")
	l := cfg.HTTP.Servers[0].Locations
	if l[0].Settings.MSIEPaddingOff || !l[0].Settings.MSIERefresh || !l[1].Settings.MSIEPaddingOff || l[1].Settings.MSIERefresh {
		t.Errorf("got %v %v, %v %v", l[0].Settings.MSIEPaddingOff, l[0].Settings.MSIERefresh, l[1].Settings.MSIEPaddingOff, l[1].Settings.MSIERefresh)
	}
	def := mustLoad(t, "http { server { location / { } } }").HTTP.Servers[0].Locations[0].Settings
	if def.MSIEPaddingOff || def.MSIERefresh {
		t.Errorf("defaults %v %v, want padding on, refresh off", def.MSIEPaddingOff, def.MSIERefresh)
	}
}
