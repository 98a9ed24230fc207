package daemon

import (
	"testing"

	"fulcrum/internal/config"
)

// TestProxyHost: $proxy_host drops the scheme's default port, as nginx's
// does (80 for http://, 443 for https://); $proxy_port is always there.
func TestProxyHost(t *testing.T) {
	tests := []struct {
		scheme, host string
		want         [2]string
	}{
		{"http", "backend", [2]string{"backend", "80"}},
		{"http", "backend:80", [2]string{"backend", "80"}},
		{"http", "backend:8080", [2]string{"backend:8080", "8080"}},
		{"http", "backend:443", [2]string{"backend:443", "443"}},
		{"https", "backend", [2]string{"backend", "443"}},
		{"https", "backend:443", [2]string{"backend", "443"}},
		{"https", "backend:80", [2]string{"backend:80", "80"}},
		{"https", "127.0.0.1:8443", [2]string{"127.0.0.1:8443", "8443"}},
		{"http", "unix:/tmp/s.sock", [2]string{"localhost", ""}},
	}
	for _, tc := range tests {
		t.Run(tc.scheme+"://"+tc.host, func(t *testing.T) {
			if got := proxyHost(&config.ProxyPass{Scheme: tc.scheme, Host: tc.host}); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}
