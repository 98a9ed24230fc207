package daemon

import (
	"net/http"
	"net/netip"
	"testing"

	"fulcrum/internal/config"
	"fulcrum/internal/vars"
)

func TestRealIP(t *testing.T) {
	rule := func(recursive bool, from ...string) *realIPRule {
		r, err := compileRealIP(&config.Settings{SetRealIPFrom: from, RealIPHeader: "X-Forwarded-For", RealIPRecursive: recursive})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	tests := []struct {
		name   string
		rule   *realIPRule
		peer   string
		values []string
		want   string
	}{
		{"no rule: the peer", nil, "10.0.0.1", []string{"1.2.3.4"}, "10.0.0.1"},
		{"untrusted peer: header ignored", rule(false, "192.168.0.0/16"), "10.0.0.1", []string{"1.2.3.4"}, "10.0.0.1"},
		{"trusted peer: last address", rule(false, "10.0.0.0/8"), "10.0.0.1", []string{"1.2.3.4, 5.6.7.8"}, "5.6.7.8"},
		{"recursive skips trusted hops", rule(true, "10.0.0.0/8"), "10.0.0.1", []string{"1.2.3.4, 10.9.9.9"}, "1.2.3.4"},
		{"recursive, all trusted: leftmost", rule(true, "10.0.0.0/8"), "10.0.0.1", []string{"10.1.1.1, 10.2.2.2"}, "10.1.1.1"},
		{"several fields", rule(false, "10.0.0.1"), "10.0.0.1", []string{"1.1.1.1", "2.2.2.2"}, "2.2.2.2"},
		{"garbage ignored", rule(false, "10.0.0.0/8"), "10.0.0.1", []string{"not-an-ip"}, "10.0.0.1"},
		// nginx 1.22.1 (recorded): garbage ends the walk, the address found
		// before it stays; spaces separate entries as commas do.
		{"recursive: garbage keeps the trusted hop", rule(true, "10.0.0.0/8"), "10.0.0.1", []string{"garbage, 10.1.2.3"}, "10.1.2.3"},
		{"space separates entries", rule(false, "10.0.0.0/8"), "10.0.0.1", []string{"1.2.3.4 5.6.7.8"}, "5.6.7.8"},
		{"address with a port", rule(false, "10.0.0.0/8"), "10.0.0.1", []string{"5.6.7.8:8080"}, "5.6.7.8"},
		{"leading zeros", rule(false, "10.0.0.0/8"), "10.0.0.1", []string{"05.6.7.8"}, "5.6.7.8"},
		{"no header", rule(false, "10.0.0.0/8"), "10.0.0.1", nil, "10.0.0.1"},
		{"ipv6", rule(false, "::1"), "::1", []string{"2001:db8::1"}, "2001:db8::1"},
		// A client on a unix socket has no address ("" here).
		{"unix: trusts unix-socket clients", rule(false, "unix:"), "", []string{"1.2.3.4"}, "1.2.3.4"},
		{"unix: alone trusts no TCP peer", rule(false, "unix:"), "10.0.0.1", []string{"1.2.3.4"}, "10.0.0.1"},
		{"without unix:, a unix-socket client is not trusted", rule(false, "10.0.0.0/8"), "", []string{"1.2.3.4"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var peer netip.AddrPort
			if tt.peer != "" {
				peer = netip.AddrPortFrom(netip.MustParseAddr(tt.peer), 0)
			}
			got, found := tt.rule.clientAddr(peer, tt.values)
			gotS := got.Addr().String()
			if !got.Addr().IsValid() {
				gotS = ""
			}
			if gotS != tt.want {
				t.Errorf("got %q, want %q", gotS, tt.want)
			}
			if wantFound := tt.want != tt.peer; found != wantFound {
				t.Errorf("found %t, want %t", found, wantFound)
			}
		})
	}
	if _, err := compileRealIP(&config.Settings{SetRealIPFrom: []string{"nope"}}); err == nil {
		t.Error("a bad set_real_ip_from must be an error")
	}
}

// TestRealIPProxyProtocol: real_ip_header proxy_protocol takes the PROXY
// protocol header's source, port included, from a trusted peer only, as
// nginx 1.22.1 did (recorded); the word is case-sensitive in nginx.
func TestRealIPProxyProtocol(t *testing.T) {
	rule := func(header string) *realIPRule {
		r, err := compileRealIP(&config.Settings{SetRealIPFrom: []string{"127.0.0.1"}, RealIPHeader: header})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	pp := func(addr string, port uint16) *vars.ProxyProtocol { return &vars.ProxyProtocol{Addr: addr, Port: port} }
	tests := []struct {
		name   string
		rule   *realIPRule
		peer   string
		header *vars.ProxyProtocol
		want   string
		set    bool
	}{
		{"trusted", rule("proxy_protocol"), "127.0.0.1:4000", pp("192.0.2.1", 5000), "192.0.2.1:5000", true},
		{"IPv6", rule("proxy_protocol"), "127.0.0.1:4000", pp("2001:db8::1", 5001), "[2001:db8::1]:5001", true},
		{"port 0", rule("proxy_protocol"), "127.0.0.1:4000", pp("1.2.3.4", 0), "1.2.3.4:0", true},
		{"untrusted peer", rule("proxy_protocol"), "10.0.0.1:4000", pp("192.0.2.1", 5000), "10.0.0.1:4000", false},
		{"no addresses (UNKNOWN)", rule("proxy_protocol"), "127.0.0.1:4000", nil, "127.0.0.1:4000", false},
		{"not an address", rule("proxy_protocol"), "127.0.0.1:4000", pp("abc.def", 5000), "127.0.0.1:4000", false},
		{"another case names a header field", rule("Proxy_Protocol"), "127.0.0.1:4000", pp("192.0.2.1", 5000), "127.0.0.1:4000", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := &vars.State{}
			st.Remote = netip.MustParseAddrPort(tt.peer)
			st.ProxyProtocol = tt.header
			set := tt.rule.apply(&http.Request{Header: http.Header{}}, st)
			if set != tt.set || st.Remote.String() != tt.want {
				t.Errorf("got %s (set %v), want %s (set %v)", st.Remote, set, tt.want, tt.set)
			}
		})
	}
}
