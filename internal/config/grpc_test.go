package config

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"fulcrum/internal/testutil"
)

// TestGRPCPassErrors: grpc_pass and the grpc_* directives are refused with
// nginx 1.22.1's messages (checked with nginx -t).
func TestGRPCPassErrors(t *testing.T) {
	tests := []struct {
		name, loc, want string
	}{
		{"other scheme", "grpc_pass http://127.0.0.1:5;", `invalid host in upstream "http://127.0.0.1:5" in nginx.conf:1`},
		{"URI part", "grpc_pass grpc://127.0.0.1:5/path;", `invalid host in upstream "127.0.0.1:5/path" in nginx.conf:1`},
		{"no port", "grpc_pass grpc://127.0.0.1;", `no port in upstream "127.0.0.1" in nginx.conf:1`},
		{"bad port", "grpc_pass grpc://127.0.0.1:99999;", `invalid port in upstream "127.0.0.1:99999" in nginx.conf:1`},
		{"upstream with a port", "grpc_pass grpc://up:5;", `upstream "up" may not have port 5 in nginx.conf:1`},
		{"duplicate", "grpc_pass 127.0.0.1:5; grpc_pass 127.0.0.1:6;", `"grpc_pass" directive is duplicate in nginx.conf:1`},
		{"variables", "grpc_pass grpc://$host:5;", `fulcrum does not support variables in "grpc_pass" yet in nginx.conf:1`},
		{"verify without trusted certificates", "grpc_pass grpcs://127.0.0.1:5; grpc_ssl_verify on;", `no grpc_ssl_trusted_certificate for grpc_ssl_verify in nginx.conf:1`},
		{"bad timeout", "grpc_pass 127.0.0.1:5; grpc_read_timeout abc;", `"grpc_read_timeout" directive invalid value in nginx.conf:1`},
		{"next upstream value", "grpc_pass 127.0.0.1:5; grpc_next_upstream bogus;", `invalid value "bogus" in nginx.conf:1, use one of: error, timeout`},
		{"off with others", "grpc_pass 127.0.0.1:5; grpc_next_upstream off error;", `"grpc_next_upstream off" cannot be combined with other values in nginx.conf:1`},
		{"client certificate", "grpc_pass grpcs://127.0.0.1:5; grpc_ssl_certificate /x.pem;", `fulcrum does not support the "grpc_ssl_certificate" directive yet in nginx.conf:1`},
		{"in server", "", `"grpc_pass" directive is not allowed here in nginx.conf:1`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := fmt.Sprintf("http { upstream up { server 127.0.0.1:1; } server { location / { %s } } }", tt.loc)
			if tt.loc == "" {
				src = "http { server { grpc_pass 127.0.0.1:5; } }"
			}
			_, err := loadText(t, src)
			if err == nil {
				t.Fatalf("want error %q", tt.want)
			}
			if got := err.Error(); !strings.HasPrefix(got, tt.want) {
				t.Errorf("got  %q\nwant %q...", got, tt.want)
			}
		})
	}
}

func TestGRPCSettings(t *testing.T) {
	dir := t.TempDir()
	caFile, _ := testutil.WriteCert(t, dir, "ca", testutil.ECDSA, "ca.test")
	tests := []struct {
		name, http, loc string
		check           func(t *testing.T, set *Settings)
	}{
		{"defaults", "", "grpc_pass 127.0.0.1:50051;", func(t *testing.T, set *Settings) {
			p, g := set.GRPCPass, set.GRPC
			if p.TLS || p.Host != "127.0.0.1:50051" || p.Upstream.Servers[0].Addr != "127.0.0.1:50051" {
				t.Errorf("grpc_pass: %+v", p)
			}
			if g.ConnectTimeout != time.Minute || g.ReadTimeout != time.Minute || g.NextUpstream != NextError|NextTimeout || g.InterceptErrors || g.SocketKeepalive {
				t.Errorf("settings: %+v", g)
			}
		}},
		{"grpcs and an upstream block", "", "grpc_pass grpcs://up;", func(t *testing.T, set *Settings) {
			if p := set.GRPCPass; !p.TLS || p.Host != "up" || p.Upstream.Name != "up" {
				t.Errorf("grpc_pass: %+v", p)
			}
		}},
		{"inherited and overridden", "grpc_set_header X-A a; grpc_read_timeout 5s; grpc_hide_header X-H; grpc_ssl_server_name on; grpc_ssl_name n.test;",
			"grpc_pass grpc://127.0.0.1:1; grpc_read_timeout 1h; grpc_next_upstream error http_503 non_idempotent; grpc_next_upstream_tries 2; grpc_next_upstream_timeout 3s; grpc_intercept_errors on; grpc_socket_keepalive on; grpc_pass_header Server;",
			func(t *testing.T, set *Settings) {
				g := set.GRPC
				if len(g.SetHeaders) != 1 || g.SetHeaders[0].Name != "X-A" || g.ReadTimeout != time.Hour || fmt.Sprint(g.HideHeaders) != "[X-H]" || fmt.Sprint(g.PassHeaders) != "[Server]" {
					t.Errorf("settings: %+v", g)
				}
				if g.NextUpstream != NextError|NextHTTP503|NextNonIdempotent || g.NextUpstreamTries != 2 || g.NextUpstreamTimeout != 3*time.Second || !g.InterceptErrors || !g.SocketKeepalive {
					t.Errorf("retries: %+v", g)
				}
				if !g.SSL.ServerName || g.SSL.Name != "n.test" {
					t.Errorf("ssl: %s", g.SSL)
				}
			}},
		{"verify", "grpc_ssl_trusted_certificate " + caFile + ";", "grpc_pass grpcs://127.0.0.1:1; grpc_ssl_verify on; grpc_ssl_verify_depth 3; grpc_ssl_protocols TLSv1.3;",
			func(t *testing.T, set *Settings) {
				if s := set.GRPC.SSL; !s.Verify || s.VerifyDepth != 3 || s.Roots == nil || s.MinVersion != s.MaxVersion {
					t.Errorf("ssl: %s", s)
				}
				if set.ProxySSL.Verify || set.ProxySSL.Roots != nil {
					t.Errorf("proxy_ssl changed: %s", set.ProxySSL)
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := mustLoad(t, fmt.Sprintf("http { upstream up { server 127.0.0.1:1; } %s server { location / { %s } } }", tc.http, tc.loc))
			tc.check(t, cfg.HTTP.Servers[0].Locations[0].Settings)
		})
	}
}
