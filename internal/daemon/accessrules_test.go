package daemon

import (
	"net/netip"
	"strings"
	"testing"

	"fulcrum/internal/config"
)

// accessRules turns "allow 10.0.0.0/8; deny all" into rules, as config builds
// them (an address is its /32 or /128).
func accessRules(t testing.TB, src string) []config.AccessRule {
	t.Helper()
	var rules []config.AccessRule
	for _, part := range strings.Split(src, ";") {
		verb, arg, _ := strings.Cut(strings.TrimSpace(part), " ")
		r := config.AccessRule{Deny: verb == "deny"}
		switch {
		case arg == "all":
			r.All = true
		case arg == "unix:":
			r.Unix = true
		case strings.Contains(arg, "/"):
			r.Prefix = netip.MustParsePrefix(arg)
		default:
			a := netip.MustParseAddr(arg)
			r.Prefix = netip.PrefixFrom(a, a.BitLen())
		}
		rules = append(rules, r)
	}
	return rules
}

// TestDenied checks the matching of allow and deny rules. The cases marked
// nginx were run through nginx 1.22 (clients on 127.0.0.1, 127.0.0.2, ::1, a
// unix socket, and addresses given in X-Real-IP by a trusted peer).
func TestDenied(t *testing.T) {
	const unix = "" // a client on a unix socket
	tests := []struct {
		name, rules, client string
		want                bool
	}{
		{"first match wins: denied", "deny 127.0.0.2; allow 127.0.0.0/8; deny all", "127.0.0.2", true},                        // nginx
		{"first match wins: allowed", "deny 127.0.0.2; allow 127.0.0.0/8; deny all", "127.0.0.1", false},                      // nginx
		{"last rule catches the rest", "deny 127.0.0.2; allow 127.0.0.0/8; deny all", "10.0.0.1", true},                       //
		{"no match lets in", "deny 10.0.0.0/8", "127.0.0.1", false},                                                           //
		{"allow list without deny all lets everyone in", "allow 10.0.0.1", "127.0.0.1", false},                                //
		{"deny all", "deny all", "127.0.0.1", true},                                                                           // nginx
		{"deny all: ipv6", "deny all", "::1", true},                                                                           //
		{"deny all: unix", "deny all", unix, true},                                                                            //
		{"allow all first", "allow all; deny 127.0.0.1", "127.0.0.1", false},                                                  //
		{"masked network", "deny 127.0.0.0/24", "127.0.0.1", true},                                                            // nginx (written 127.0.0.1/24)
		{"unix: denies unix clients", "deny unix:", unix, true},                                                               // nginx
		{"unix: does not match tcp clients", "deny unix:", "127.0.0.1", false},                                                // nginx
		{"ipv4 rule, unix client", "deny 0.0.0.0/0", unix, false},                                                             //
		{"ipv6 address", "deny ::1", "::1", true},                                                                             // nginx
		{"ipv6 network does not match ipv4", "deny ::/0", "127.0.0.1", false},                                                 // nginx
		{"ipv6 network matches ipv6", "deny ::/0", "::1", true},                                                               // nginx
		{"ipv4 network does not match ipv6", "deny 0.0.0.0/0", "::1", false},                                                  //
		{"mapped client, ipv4 rule", "deny 10.0.0.1", "::ffff:10.0.0.1", true},                                                // nginx
		{"mapped client, only ipv6 rules", "deny ::ffff:10.0.0.0/104", "::ffff:10.0.0.1", true},                               // nginx
		{"mapped client, ipv4 rules hide ipv6", "deny ::ffff:10.0.0.0/104; allow 127.0.0.1", "::ffff:10.0.0.1", false},        // nginx
		{"mapped client, all counts as ipv4", "deny ::ffff:10.0.0.0/104; allow 127.0.0.1; deny all", "::ffff:10.0.0.1", true}, // nginx
		{"ipv4 client, mapped rule", "deny ::ffff:10.0.0.0/104", "10.0.0.1", false},                                           //
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var client netip.Addr
			if tt.client != unix {
				client = netip.MustParseAddr(tt.client)
			}
			if got := denied(accessRules(t, tt.rules), client); got != tt.want {
				t.Errorf("denied(%q, %q) = %t, want %t", tt.rules, tt.client, got, tt.want)
			}
		})
	}
	if denied(nil, netip.MustParseAddr("127.0.0.1")) {
		t.Error("no rules must let every client in")
	}
}

func TestDeniedAllocations(t *testing.T) {
	rules := accessRules(t, "deny ::ffff:10.0.0.0/104; allow 2001:db8::/32; allow 10.0.0.0/8; deny all")
	clients := []netip.Addr{netip.MustParseAddr("10.1.2.3"), netip.MustParseAddr("::ffff:10.0.0.1"), {}}
	if n := testing.AllocsPerRun(100, func() {
		for _, c := range clients {
			denied(rules, c)
		}
	}); n != 0 {
		t.Errorf("%v allocations per check, want 0", n)
	}
}

func BenchmarkDenied(b *testing.B) {
	rules := accessRules(b, "allow 192.168.0.0/16; allow 172.16.0.0/12; allow 10.0.0.0/8; deny all")
	client := netip.MustParseAddr("203.0.113.7")
	b.ReportAllocs()
	for b.Loop() {
		denied(rules, client)
	}
}
