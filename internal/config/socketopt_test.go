package config

import "testing"

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
