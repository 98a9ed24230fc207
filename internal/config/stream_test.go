package config

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestStreamErrors checks the stream block's errors; each message is what
// nginx 1.22.1 -t (with ngx_stream_module loaded) prints for the same block.
func TestStreamErrors(t *testing.T) {
	tests := []struct{ name, body, want string }{
		{"no listen", "server { proxy_pass 127.0.0.1:9; }", `no "listen" is defined for server in nginx.conf:1`},
		{"no proxy_pass", "server { listen 1234; }", `no handler for server in nginx.conf:1`},
		{"limit_conn without its zone", "server { listen 1234; limit_conn b 2; proxy_pass 127.0.0.1:2; }", `zero size shared memory zone "b" in nginx.conf:1`},
		{"limit_conn bad number", "limit_conn_zone $binary_remote_addr zone=b:1m; server { listen 1234; limit_conn b 0; proxy_pass 127.0.0.1:2; }", `invalid number of connections "0" in nginx.conf:1`},
		{"limit_conn_zone twice", "limit_conn_zone $binary_remote_addr zone=b:1m; limit_conn_zone $remote_addr zone=b:1m;", `limit_conn_zone "b" is already bound to key "$binary_remote_addr" in nginx.conf:1`},
		{"pass without port", "server { listen 1234; proxy_pass foo; }", `no port in upstream "foo" in nginx.conf:1`},
		{"server without port", "upstream u { server 127.0.0.1; } server { listen 1234; proxy_pass u; }", `no port in upstream "127.0.0.1" in nginx.conf:1`},
		{"route", "upstream u { server 127.0.0.1:1 route=a; } server { listen 1234; proxy_pass u; }", `invalid parameter "route=a" in nginx.conf:1`},
		{"weight 0", "upstream u { server 127.0.0.1:1 weight=0; } server { listen 1234; proxy_pass u; }", `invalid parameter "weight=0" in nginx.conf:1`},
		{"ip_hash", "upstream u { server 127.0.0.1:1; ip_hash; } server { listen 1234; proxy_pass u; }", `"ip_hash" directive is not allowed here in nginx.conf:1`},
		{"empty upstream", "upstream u { } server { listen 1234; proxy_pass u; }", `no servers are inside upstream in nginx.conf:1`},
		{"only backups", "upstream u { server 127.0.0.1:1 backup; } server { listen 1234; proxy_pass u; }", `no servers in upstream "u" in nginx.conf:1`},
		{"duplicate upstream", "upstream u { server 127.0.0.1:1; } upstream u { server 127.0.0.1:1; } server { listen 1234; proxy_pass u; }", `duplicate upstream "u" in nginx.conf:1`},
		{"access_log without format", "server { listen 1234; proxy_pass 127.0.0.1:9; access_log /tmp/x; }", `log format is not specified in nginx.conf:1`},
		{"no combined in stream", "server { listen 1234; proxy_pass 127.0.0.1:9; access_log /tmp/x combined; }", `unknown log format "combined" in nginx.conf:1`},
		{"duplicate listen", "server { listen 1234; listen 1234; proxy_pass 127.0.0.1:9; }", `duplicate "0.0.0.0:1234" address and port pair in nginx.conf:1`},
		{"listen in two servers", "server { listen 1234; proxy_pass 127.0.0.1:9; } server { listen 1234; proxy_pass 127.0.0.1:9; }", `duplicate "0.0.0.0:1234" address and port pair in nginx.conf:1`},
		{"proxy_protocol with udp", "server { listen 1234 udp proxy_protocol; proxy_pass 127.0.0.1:9; }", `"listen" directive "proxy_protocol" parameter is incompatible with "udp" in nginx.conf:1`},
		{"proxy_pass twice", "server { listen 1234; proxy_pass 127.0.0.1:9; proxy_pass 127.0.0.1:8; }", `"proxy_pass" directive is duplicate in nginx.conf:1`},
		{"next_upstream value", "server { listen 1234; proxy_pass 127.0.0.1:9; proxy_next_upstream maybe; }", `invalid value "maybe" in "proxy_next_upstream" directive, it must be "on" or "off" in nginx.conf:1`},
		{"proxy_protocol value", "server { listen 1234; proxy_pass 127.0.0.1:9; proxy_protocol maybe; }", `invalid value "maybe" in "proxy_protocol" directive, it must be "on" or "off" in nginx.conf:1`},
		{"listen parameter", "server { listen 1234 foo; proxy_pass 127.0.0.1:9; }", `the invalid "foo" parameter in nginx.conf:1`},
		{"location", "server { listen 1234; proxy_pass 127.0.0.1:9; location / {} }", `"location" directive is not allowed here in nginx.conf:1`},
		{"timeout value", "server { listen 1234; proxy_pass 127.0.0.1:9; proxy_timeout 1x; }", `"proxy_timeout" directive invalid value in nginx.conf:1`},
		// NGINX Plus's slow_start (not in nginx 1.22.1): its documented
		// restriction, with http's message.
		{"slow_start with hash", "upstream u { hash $remote_addr; server 127.0.0.1:1 slow_start=1s; } server { listen 1234; proxy_pass u; }", `balancing method does not support parameter "slow_start=1s" in nginx.conf:1`},
		{"slow_start with random", "upstream u { server 127.0.0.1:1 slow_start=30; random two; } server { listen 1234; proxy_pass u; }", `balancing method does not support parameter "slow_start=30" in nginx.conf:1`},
		{"bad slow_start", "upstream u { server 127.0.0.1:1 slow_start=soon; } server { listen 1234; proxy_pass u; }", `invalid parameter "slow_start=soon" in nginx.conf:1`},
		// fulcrum's own limits
		{"ssl without certificate", "server { listen 1234 ssl; proxy_pass 127.0.0.1:9; }", `no "ssl_certificate" is defined for the "listen ... ssl" directive in nginx.conf:1`},
		{"udp with ssl", "server { listen 1234 udp ssl; proxy_pass 127.0.0.1:9; }", `"listen" directive "ssl" parameter is incompatible with "udp" in nginx.conf:1`},
		{"responses number", "server { listen 1234 udp; proxy_pass 127.0.0.1:9; proxy_responses x; }", `"proxy_responses" directive invalid number in nginx.conf:1`},
		{"http directive in stream", "server { listen 1234; proxy_pass 127.0.0.1:9; proxy_read_timeout 1s; }", `"proxy_read_timeout" directive is not allowed here in nginx.conf:1`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadText(t, "stream { "+tt.body+" }")
			if err == nil {
				t.Fatalf("want error %q", tt.want)
			}
			if got := err.Error(); got != tt.want && !strings.HasPrefix(got, tt.want+", ") {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

// TestStreamBuild checks the typed stream configuration: defaults,
// inheritance from the stream level, upstream blocks and implicit
// upstreams, and names separate from the http level's.
func TestStreamBuild(t *testing.T) {
	cfg := mustLoad(t, `
http { upstream u { server 127.0.0.1:80; } server { listen 8080; location / { proxy_pass http://u; } } }
stream {
	log_format f '$remote_addr $status';
	proxy_connect_timeout 3s;
	proxy_timeout 20s;
	access_log /tmp/s.log f;
	upstream u { hash $remote_addr consistent; server 127.0.0.1:5432 weight=2 max_fails=3 fail_timeout=5s max_conns=7; server 127.0.0.1:5433 down; }
	server { listen 127.0.0.1:15432; proxy_pass u; proxy_next_upstream off; proxy_next_upstream_tries 2; proxy_next_upstream_timeout 1s; }
	server { listen 15433; listen unix:/tmp/s.sock; proxy_pass 127.0.0.1:6379; proxy_protocol on; proxy_timeout 1m;
		proxy_upload_rate 1k; proxy_download_rate 2k; proxy_bind 127.0.0.2; proxy_half_close on; access_log off; }
	server { listen 15434; proxy_pass 127.0.0.1:6379; }
}`)
	st := cfg.Stream
	if st == nil || len(st.Servers) != 3 {
		t.Fatalf("stream = %+v", st)
	}
	a, b, c := st.Servers[0], st.Servers[1], st.Servers[2]
	checks := []struct {
		name      string
		got, want any
	}{
		{"a listen", a.Listens[0].Addr, "127.0.0.1:15432"},
		{"a upstream", a.Upstream.Name, "u"},
		{"a method", a.Upstream.Method, MethodHash},
		{"a key", a.Upstream.HashKey, "$remote_addr"},
		{"a consistent", a.Upstream.HashConsistent, true},
		{"a weight", a.Upstream.Servers[0].Weight, 2},
		{"a max_fails", a.Upstream.Servers[0].MaxFails, 3},
		{"a fail_timeout", a.Upstream.Servers[0].FailTimeout, 5 * time.Second},
		{"a max_conns", a.Upstream.Servers[0].MaxConns, 7},
		{"a down", a.Upstream.Servers[1].Down, true},
		{"a connect timeout inherited", a.ConnectTimeout, 3 * time.Second},
		{"a timeout inherited", a.Timeout, 20 * time.Second},
		{"a next upstream", a.NextUpstream, false},
		{"a tries", a.NextUpstreamTries, 2},
		{"a next timeout", a.NextUpstreamTimeout, time.Second},
		{"a access log", len(a.AccessLogs), 1},
		{"a format", a.AccessLogs[0].Format.Template, "$remote_addr $status"},
		{"b listens", len(b.Listens), 2},
		{"b port only", b.Listens[0].Addr, "0.0.0.0:15433"},
		{"b unix", b.Listens[1].Network + " " + b.Listens[1].Addr, "unix /tmp/s.sock"},
		{"b implicit", b.Upstream.Implicit, true},
		{"b implicit addr", b.Upstream.Servers[0].Addr, "127.0.0.1:6379"},
		{"b shares the implicit upstream", c.Upstream == b.Upstream, true},
		{"b proxy_protocol", b.ProxyProtocol, true},
		{"b timeout own", b.Timeout, time.Minute},
		{"b rates", [2]int64{b.UploadRate.N, b.DownloadRate.N}, [2]int64{1024, 2048}},
		{"b bind", b.Bind, "127.0.0.2"},
		{"b half close", b.HalfClose, true},
		{"b access_log off", len(b.AccessLogs), 0},
		{"c defaults next", c.NextUpstream, true},
		{"c default half close", c.HalfClose, false},
		{"http upstream separate", cfg.HTTP.Upstreams[0].Servers[0].Addr, "127.0.0.1:80"},
	}
	for _, ck := range checks {
		if ck.got != ck.want {
			t.Errorf("%s = %v, want %v", ck.name, ck.got, ck.want)
		}
	}
}

// TestStreamDefaults checks ngx_stream_proxy_module's defaults.
func TestStreamDefaults(t *testing.T) {
	srv := mustLoad(t, "stream { server { listen 1234; proxy_pass 127.0.0.1:9; } }").Stream.Servers[0]
	if srv.ConnectTimeout != 60*time.Second || srv.Timeout != 10*time.Minute || !srv.NextUpstream ||
		srv.NextUpstreamTries != 0 || srv.NextUpstreamTimeout != 0 || srv.ProxyProtocol || len(srv.AccessLogs) != 0 {
		t.Errorf("defaults = %+v", srv)
	}
}

// TestProxyProtocolListen checks the proxy_protocol listen parameter (http
// and stream), proxy_protocol_timeout and stream's set_real_ip_from.
func TestProxyProtocolListen(t *testing.T) {
	cfg := mustLoad(t, `
http { server { listen 127.0.0.1:8080 proxy_protocol; } server { listen 127.0.0.1:8081; } }
stream {
	set_real_ip_from 10.0.0.0/8;
	server { listen 127.0.0.1:15432 proxy_protocol; proxy_pass 127.0.0.1:9; proxy_protocol_timeout 5s; }
	server { listen 127.0.0.1:15433; proxy_pass 127.0.0.1:9; set_real_ip_from 192.0.2.1; set_real_ip_from unix:; }
}`)
	h := cfg.HTTP.Servers
	st := cfg.Stream.Servers
	checks := []struct {
		name      string
		got, want any
	}{
		{"http listen", h[0].Listens[0].ProxyProtocol, true},
		{"http plain listen", h[1].Listens[0].ProxyProtocol, false},
		{"stream listen", st[0].Listens[0].ProxyProtocol, true},
		{"stream plain listen", st[1].Listens[0].ProxyProtocol, false},
		{"timeout", st[0].ProxyProtocolTimeout, 5 * time.Second},
		{"default timeout", st[1].ProxyProtocolTimeout, 30 * time.Second},
		{"inherited set_real_ip_from", st[0].SetRealIPFrom, []string{"10.0.0.0/8"}},
		{"own set_real_ip_from", st[1].SetRealIPFrom, []string{"192.0.2.1", "unix:"}},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}
