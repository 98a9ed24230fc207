package geo

import (
	"math/rand/v2"
	"net/netip"
	"testing"
)

// The expectations below were checked against nginx 1.22.1 through
// "geo $arg_ip $g { ... }" (see /work/shared/tools/nginx-diff).

func TestParseAddr(t *testing.T) {
	tests := []struct {
		in   string
		want string // "" when it does not parse
	}{
		{"10.1.2.3", "10.1.2.3"},
		{"010.1.2.3", "10.1.2.3"}, // leading zeros are decimal
		{"0001.2.3.004", "1.2.3.4"},
		{"10..2.3", "10.0.2.3"}, // an empty octet is 0
		{"1.2.3.", "1.2.3.0"},
		{".1.2.3", "0.1.2.3"},
		{"0.0.0.0", "0.0.0.0"},
		{"255.255.255.254", "255.255.255.254"},
		{"255.255.255.255", ""}, // INADDR_NONE
		{"1.2.3.4.5", ""},
		{"256.1.1.1", ""},
		{"1.2.3.4:80", ""},
		{"", ""},
		{"abc", ""},
		{"2001:db8::1", "2001:db8::1"},
		{"2001:DB8:1::5", "2001:db8:1::5"},
		{"::ffff:10.1.2.3", "::ffff:10.1.2.3"},
		{"::1.2.3.4", "::102:304"},
		{"::1", "::1"},
		{"::", "::"},
		{"1::", "1::"},
		{"1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"},
		{":1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"}, // nginx skips one leading colon
		{"1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:102:304"},
		{"1:2:3:4:5:6:7:8:9", ""},
		{"1:2:3:4:5:6:7:1.2.3.4", ""},
		{"1::2::3", ""},
		{"::12345", ""},
		{"[::1]", ""},
		{"fe80::1%eth0", ""},
		{"::ffff:255.255.255.255", ""},
		{"1:2:3:4:5:6:7", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			a, ok := ParseAddr(tt.in)
			got := ""
			if ok {
				got = a.String()
			}
			if got != tt.want {
				t.Errorf("ParseAddr(%q) = %q, %v; want %q", tt.in, got, ok, tt.want)
			}
			if b, okb := ParseAddr([]byte(tt.in)); b != a || okb != ok {
				t.Errorf("ParseAddr([]byte(%q)) = %v, %v; the string gave %v, %v", tt.in, b, okb, a, ok)
			}
		})
	}
}

func nets(pairs ...string) []Net {
	var out []Net
	for i := 0; i < len(pairs); i += 2 {
		out = append(out, Net{Prefix: netip.MustParsePrefix(pairs[i]), Value: pairs[i+1]})
	}
	return out
}

func TestCIDRLookup(t *testing.T) {
	tab := NewCIDR(nets(
		"0.0.0.0/0", "d", "::/0", "d6",
		"10.0.0.0/8", "ten", "10.1.0.0/16", "ten1", "10.1.2.3/32", "host", "10.1.2.0/24", "ten12",
		"255.255.255.255/32", "bcast", "0.0.0.0/1", "low",
		"2001:db8::/32", "doc", "2001:db8:1::/48", "doc1", "::ffff:0:0/96", "mapped",
	))
	tests := []struct{ addr, want string }{
		{"10.0.0.1", "ten"},
		{"10.1.0.1", "ten1"},
		{"10.1.2.2", "ten12"},
		{"10.1.2.3", "host"},
		{"10.1.2.4", "ten12"},
		{"10.1.3.0", "ten1"},
		{"10.2.0.0", "ten"},
		{"11.0.0.0", "low"},
		{"127.255.255.255", "low"},
		{"128.0.0.0", "d"},
		{"255.255.255.254", "d"},
		{"255.255.255.255", "bcast"},
		{"::ffff:10.1.2.3", "host"}, // IPv4-mapped: the IPv4 networks
		{"2001:db8::1", "doc"},
		{"2001:db8:1::1", "doc1"},
		{"2001:db8:2::1", "doc"},
		{"2001:db9::", "d6"},
		{"::", "d6"},
		{"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "d6"},
		{"", "bcast"}, // no address: 255.255.255.255
	}
	for _, tt := range tests {
		var a netip.Addr
		if tt.addr != "" {
			a = netip.MustParseAddr(tt.addr)
		}
		if got := tab.Lookup(a); got != tt.want {
			t.Errorf("Lookup(%s) = %q, want %q", tt.addr, got, tt.want)
		}
	}
}

// TestCIDRMatchesLongestPrefix checks the flattened table against a plain
// longest-prefix search over random networks and addresses near their edges.
func TestCIDRMatchesLongestPrefix(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for round := 0; round < 50; round++ {
		seen := map[netip.Prefix]bool{}
		var list []Net
		for i := 0; i < 40; i++ {
			var p netip.Prefix
			if r.IntN(2) == 0 {
				a := netip.AddrFrom4([4]byte{byte(r.IntN(4)), byte(r.IntN(256)), byte(r.IntN(256)), byte(r.IntN(256))})
				p = netip.PrefixFrom(a, r.IntN(33)).Masked()
			} else {
				var b [16]byte
				b[0], b[1], b[15] = 0x20, byte(r.IntN(2)), byte(r.IntN(256))
				p = netip.PrefixFrom(netip.AddrFrom16(b), r.IntN(129)).Masked()
			}
			if !seen[p] {
				seen[p] = true
				list = append(list, Net{p, p.String()})
			}
		}
		tab := NewCIDR(append([]Net(nil), list...))
		for _, n := range list {
			lo, hi := n.Prefix.Addr(), lastAddr(n.Prefix)
			for _, a := range []netip.Addr{lo, hi, lo.Prev(), hi.Next()} {
				if !a.IsValid() || a.Is4() != n.Prefix.Addr().Is4() {
					continue
				}
				if got, want := tab.Lookup(a), longest(list, a); got != want {
					t.Fatalf("round %d: Lookup(%s) = %q, want %q", round, a, got, want)
				}
			}
		}
	}
}

func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

func longest(list []Net, a netip.Addr) string {
	best, bits := "", -1
	for _, n := range list {
		if n.Prefix.Contains(a) && n.Prefix.Bits() > bits {
			best, bits = n.Value, n.Prefix.Bits()
		}
	}
	return best
}

func ip4(s string) uint32 {
	b := netip.MustParseAddr(s).As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

func TestRangesLookup(t *testing.T) {
	tab := NewRanges([]Range{
		{ip4("0.0.0.0"), ip4("0.0.0.10"), "zero"},
		{ip4("10.0.0.0"), ip4("10.0.0.4"), "a"},
		{ip4("10.0.0.5"), ip4("10.0.0.9"), "b"},
		{ip4("10.0.0.10"), ip4("10.0.255.255"), "a"},
		{ip4("255.255.255.0"), ip4("255.255.255.255"), "top"},
	}, "def")
	tests := []struct{ addr, want string }{
		{"0.0.0.0", "zero"}, {"0.0.0.10", "zero"}, {"0.0.0.11", "def"},
		{"9.255.255.255", "def"}, {"10.0.0.0", "a"}, {"10.0.0.4", "a"}, {"10.0.0.5", "b"},
		{"10.0.0.9", "b"}, {"10.0.0.10", "a"}, {"10.0.255.255", "a"}, {"10.1.0.0", "def"},
		{"255.255.254.255", "def"}, {"255.255.255.255", "top"},
		{"::ffff:10.0.0.6", "b"},
		{"2001:db8::1", "top"}, // IPv6 in ranges mode: 255.255.255.255
		{"", "top"},
	}
	for _, tt := range tests {
		var a netip.Addr
		if tt.addr != "" {
			a = netip.MustParseAddr(tt.addr)
		}
		if got := tab.Lookup(a); got != tt.want {
			t.Errorf("Lookup(%s) = %q, want %q", tt.addr, got, tt.want)
		}
	}
}

func TestForwarded(t *testing.T) {
	proxies := Proxies{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8::/32")}
	tests := []struct {
		name, peer string
		fields     []string
		recursive  bool
		want       string
	}{
		{"untrusted peer", "5.6.7.8", []string{"1.2.3.4"}, false, "5.6.7.8"},
		{"last element", "10.0.0.1", []string{"1.2.3.4, 10.0.0.2"}, false, "10.0.0.2"},
		{"recursive", "10.0.0.1", []string{"5.6.7.8,10.0.0.3, 10.0.0.2"}, true, "5.6.7.8"},
		{"recursive stops at a client", "10.0.0.1", []string{"10.0.0.9, 1.2.3.4, 10.0.0.2"}, true, "1.2.3.4"},
		{"recursive, all proxies: the leftmost", "10.0.0.1", []string{"10.0.0.9, 10.0.0.2"}, true, "10.0.0.9"},
		{"spaces separate", "10.0.0.1", []string{"1.2.3.4 10.0.0.2"}, true, "1.2.3.4"},
		{"trailing separators", "10.0.0.1", []string{"1.2.3.4, "}, false, "1.2.3.4"},
		{"port", "10.0.0.1", []string{"1.2.3.4:8080"}, false, "1.2.3.4"},
		{"IPv6 with port", "10.0.0.1", []string{"[2001:db8::1]:80"}, false, "2001:db8::1"},
		{"bad element: nothing taken", "10.0.0.1", []string{"1.2.3.4, junk"}, true, "10.0.0.1"},
		{"bad element after one taken", "10.0.0.1", []string{"junk, 10.0.0.2"}, true, "10.0.0.2"},
		{"mapped is not IPv4", "10.0.0.1", []string{"1.2.3.4, ::ffff:10.0.0.2"}, true, "::ffff:10.0.0.2"},
		{"IPv6 proxy", "2001:db8::9", []string{"1.2.3.4"}, false, "1.2.3.4"},
		{"only the last field", "10.0.0.1", []string{"1.2.3.4", "10.0.0.2"}, false, "10.0.0.2"},
		{"recursive through fields", "10.0.0.1", []string{"1.2.3.4", "10.0.0.2"}, true, "1.2.3.4"},
		{"recursive stops in the last field", "10.0.0.1", []string{"1.2.3.4", "5.6.7.8, 10.0.0.2"}, true, "5.6.7.8"},
		{"a bad last field ends it", "10.0.0.1", []string{"1.2.3.4", "junk"}, true, "10.0.0.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := proxies.Forwarded(netip.MustParseAddr(tt.peer), tt.recursive, len(tt.fields), func(i int) string { return tt.fields[i] })
			if got.String() != tt.want {
				t.Errorf("Forwarded = %s, want %s", got, tt.want)
			}
		})
	}
}

func benchTable(b *testing.B) *Table {
	b.Helper()
	r := rand.New(rand.NewPCG(3, 4))
	seen := map[netip.Prefix]bool{}
	list := []Net{{netip.MustParsePrefix("0.0.0.0/0"), "default"}, {netip.MustParsePrefix("::/0"), "default"}}
	for len(list) < 10000 {
		a := netip.AddrFrom4([4]byte{byte(r.IntN(256)), byte(r.IntN(256)), byte(r.IntN(256)), 0})
		p := netip.PrefixFrom(a, 8+r.IntN(17)).Masked()
		if !seen[p] {
			seen[p] = true
			list = append(list, Net{p, p.String()})
		}
	}
	return NewCIDR(list)
}

func BenchmarkLookupIPv4(b *testing.B) {
	tab := benchTable(b)
	a := netip.MustParseAddr("93.184.216.34")
	b.ReportAllocs()
	for b.Loop() {
		_ = tab.Lookup(a)
	}
}

func BenchmarkLookupIPv6(b *testing.B) {
	tab := NewCIDR(nets("::/0", "d", "2001:db8::/32", "doc", "2001:db8:1::/48", "doc1"))
	a := netip.MustParseAddr("2001:db8:1::7")
	b.ReportAllocs()
	for b.Loop() {
		_ = tab.Lookup(a)
	}
}

func BenchmarkParseAddr(b *testing.B) {
	s := []byte("2001:db8:1::7")
	b.ReportAllocs()
	for b.Loop() {
		_, _ = ParseAddr(s)
	}
}
