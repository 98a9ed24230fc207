package config

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestUpstreamResolve(t *testing.T) {
	tests := []struct {
		name, src string
		servers   []string // the servers at load
		names     []ResolvedName
		resolver  *DNSResolver
	}{
		{"http resolver", "http { resolver 192.0.2.53 valid=10s; resolver_timeout 5s; upstream u { zone u 64k; server backend.test:8080 resolve weight=2; } }",
			[]string{"10.0.0.1:8080", "10.0.0.2:8080"},
			[]ResolvedName{{Host: "backend.test", Port: "8080"}},
			&DNSResolver{Addrs: []string{"192.0.2.53:53"}, Valid: 10 * time.Second, IPv4: true, IPv6: true, Timeout: 5 * time.Second}},
		{"upstream resolver wins, name not found yet", "http { resolver 192.0.2.53; upstream u { zone u 64k; resolver [2001:db8::53]:5353 192.0.2.1:53 ipv6=off; resolver_timeout 2s; server later.test resolve; } }",
			nil,
			[]ResolvedName{{Host: "later.test", Port: "80"}},
			&DNSResolver{Addrs: []string{"[2001:db8::53]:5353", "192.0.2.1:53"}, IPv4: true, Timeout: 2 * time.Second}},
		{"resolve and fixed servers", "http { resolver 192.0.2.53 status_zone=r ipv4=off; upstream u { zone u 64k; server 10.1.1.1; server v6.test resolve backup; } }",
			[]string{"10.1.1.1:80", "[2001:db8::1]:80"},
			[]ResolvedName{{Host: "v6.test", Port: "80"}},
			&DNSResolver{Addrs: []string{"192.0.2.53:53"}, IPv6: true, Timeout: 30 * time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := mustLoad(t, tt.src)
			u := cfg.HTTP.Upstreams[0]
			var servers []string
			for _, s := range u.Servers {
				servers = append(servers, s.Addr)
			}
			if !reflect.DeepEqual(servers, tt.servers) {
				t.Errorf("servers %v, want %v", servers, tt.servers)
			}
			var names []ResolvedName
			for _, n := range u.Resolves {
				if !n.Server.Resolve {
					t.Errorf("%s: the line's settings lost resolve", n.Host)
				}
				names = append(names, ResolvedName{Host: n.Host, Port: n.Port})
			}
			if !reflect.DeepEqual(names, tt.names) {
				t.Errorf("names %+v, want %+v", names, tt.names)
			}
			if u.Resolver != nil {
				u.Resolver.Pos, u.Resolver.Read = Pos{}, nil
			}
			if !reflect.DeepEqual(u.Resolver, tt.resolver) {
				t.Errorf("resolver %+v, want %+v", u.Resolver, tt.resolver)
			}
		})
	}
}

// TestResolverValidZero: valid=0 (or 0s) is taken, as nginx 1.22.1 takes
// it (recorded), and leaves the answers' TTLs in charge.
func TestResolverValidZero(t *testing.T) {
	for _, v := range []string{"0", "0s"} {
		cfg := mustLoad(t, "http { resolver 127.0.0.11 valid="+v+" ipv6=off; server { listen 127.0.0.1:8080; } }")
		r := cfg.HTTP.Servers[0].Settings.Resolver
		if r == nil || r.Valid != 0 || r.IPv6 {
			t.Errorf("valid=%s: resolver %+v", v, r)
		}
	}
}

func TestStreamUpstreamResolve(t *testing.T) {
	cfg := mustLoad(t, "stream { resolver 192.0.2.53 valid=5s; upstream u { zone u 64k; server later.test:5432 resolve max_fails=3; } server { listen 127.0.0.1:6432; proxy_pass u; } }")
	u := cfg.Stream.Upstreams[0]
	if len(u.Servers) != 0 || len(u.Resolves) != 1 || u.Resolves[0].Host != "later.test" || u.Resolves[0].Port != "5432" || u.Resolves[0].Server.MaxFails != 3 {
		t.Fatalf("servers %v, resolves %+v", u.Servers, u.Resolves)
	}
	if u.Resolver == nil || u.Resolver.Valid != 5*time.Second || u.Resolver.Addrs[0] != "192.0.2.53:53" {
		t.Fatalf("resolver %+v", u.Resolver)
	}
}

func TestUpstreamResolveErrors(t *testing.T) {
	tests := []struct{ name, src, want string }{
		{"no zone", "http { resolver 192.0.2.53; upstream u { server backend.test resolve; } }",
			`resolving names at run time requires upstream "u" in /`},
		{"no resolver", "http { upstream u { zone u 64k;\nserver backend.test resolve; } }",
			`no resolver defined to resolve backend.test in nginx.conf:2`},
		{"unix socket", "http { resolver 192.0.2.53; upstream u { zone u 64k; server unix:/run/app.sock resolve; } }",
			`invalid parameter "resolve" in nginx.conf:1, a unix socket has no name to resolve`},
		{"bad valid", "http { resolver 192.0.2.53 valid=soon; upstream u { zone u 64k; server backend.test resolve; } }",
			`invalid parameter: valid=soon in nginx.conf:1`},
		{"both families off", "http { resolver 192.0.2.53 ipv4=off ipv6=off; upstream u { zone u 64k; server backend.test resolve; } }",
			`"ipv4" and "ipv6" cannot both be "off" in nginx.conf:1`},
		{"bad ipv6 value", "http { resolver 192.0.2.53 ipv6=no; upstream u { zone u 64k; server backend.test resolve; } }",
			`invalid parameter: ipv6=no in nginx.conf:1`},
		// nginx 1.22.1's words (recorded): a resolver line with parameters
		// only, a DNS server's bad port.
		{"no name servers", "http { resolver valid=10s ipv6=off; }",
			`no name servers defined in nginx.conf:1`},
		{"bad resolver port", "http { resolver 127.0.0.11:99999; }",
			`invalid port in resolver "127.0.0.11:99999" in nginx.conf:1`},
		{"resolver name not found", "http { resolver dns.nowhere; upstream u { zone u 64k; server backend.test resolve; } }",
			`host not found in resolver "dns.nowhere" in nginx.conf:1`},
		{"bad resolver_timeout", "http { resolver 192.0.2.53; resolver_timeout never; upstream u { zone u 64k; server backend.test resolve; } }",
			`"resolver_timeout" directive invalid value in nginx.conf:1`},
		{"name not found without resolve", "http { upstream u { server nowhere.test; } }",
			`host not found in upstream "nowhere.test" in nginx.conf:1`},
		{"stream upstream without zone", "stream { resolver 192.0.2.53; upstream u { server backend.test:53 resolve; } }",
			`resolving names at run time requires upstream "u" in /`},
		{"stream upstream without resolver", "stream { upstream u { zone u 64k; server backend.test:53 resolve; } }",
			`no resolver defined to resolve backend.test in nginx.conf:1`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadText(t, tt.src)
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("error %v\nwant prefix %s", err, tt.want)
			}
		})
	}
}
