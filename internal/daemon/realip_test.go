package daemon

import (
	"net/netip"
	"testing"

	"fulcrum/internal/config"
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
		{"no header", rule(false, "10.0.0.0/8"), "10.0.0.1", nil, "10.0.0.1"},
		{"ipv6", rule(false, "::1"), "::1", []string{"2001:db8::1"}, "2001:db8::1"},
		// A client on a unix socket has no address ("" here).
		{"unix: trusts unix-socket clients", rule(false, "unix:"), "", []string{"1.2.3.4"}, "1.2.3.4"},
		{"unix: alone trusts no TCP peer", rule(false, "unix:"), "10.0.0.1", []string{"1.2.3.4"}, "10.0.0.1"},
		{"without unix:, a unix-socket client is not trusted", rule(false, "10.0.0.0/8"), "", []string{"1.2.3.4"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var peer netip.Addr
			if tt.peer != "" {
				peer = netip.MustParseAddr(tt.peer)
			}
			got, found := tt.rule.clientAddr(peer, tt.values)
			gotS := got.String()
			if !got.IsValid() {
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
