package balancer

import (
	"net/netip"
	"strconv"
	"strings"
	"testing"

	"fulcrum/internal/upstream"
)

// Hand computations with nginx's formula, hash = (hash*113 + byte) % 6271
// from 89, used below:
//
//	10.1.2.x:    (89*113+10)%6271 = 3796; (3796*113+1)%6271 = 2521;
//	             (2521*113+2)%6271 = 2680
//	192.168.0.1: (89*113+192)%6271 = 3978; (3978*113+168)%6271 = 4441;
//	             (4441*113+0)%6271 = 153
//	unix client (pseudo address 0.0.0): 3786, 1390, 295
//
// Rehashing continues over the same bytes from the previous value:
// 10.1.2.x goes on 4363, 5432, 3268, 5396, 1669, 1787, 5983, 2135, 2627,
// 5667 (mod 3: 1 2 1 2 1 2 1 2 2 0).
func TestIPHashFormula(t *testing.T) {
	three := []upstream.Settings{srv("a:1"), srv("b:1"), srv("c:1")}
	weighted := []upstream.Settings{srv("a:1"), srv("b:1", weight(2)), srv("c:1")}
	tests := []struct {
		name    string
		servers []upstream.Settings
		addr    string // "" for a unix-socket client
		want    string
	}{
		{"10.1.2.3: 2680 % 3 = 1", three, "10.1.2.3", "b"},
		{"10.1.2.200: same /24, same server", three, "10.1.2.200", "b"},
		{"192.168.0.1: 153 % 3 = 0", three, "192.168.0.1", "a"},
		{"IPv4-mapped IPv6 hashes as IPv4", three, "::ffff:192.168.0.1", "a"},
		{"unix client: 295 % 3 = 1", three, "", "b"},
		// 2001:db8::1 over all 16 bytes gives 2600; 2600 % 3 = 2.
		{"IPv6 uses the whole address", three, "2001:db8::1", "c"},
		// total weight 4: 2680 % 4 = 0 -> a; 153 % 4 = 1 -> b (range 1..2).
		{"weighted ranges, 10.1.2.3", weighted, "10.1.2.3", "a"},
		{"weighted ranges, 192.168.0.1", weighted, "192.168.0.1", "b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := Input{}
			if tt.addr != "" {
				in.ClientAddr = netip.MustParseAddr(tt.addr)
			}
			if got := picks(t, newPool(t, tt.servers...), &IPHash{}, in, 3); got != strings.Repeat(tt.want+" ", 2)+tt.want {
				t.Fatalf("picks %q, want %s three times", got, tt.want)
			}
		})
	}
}

func TestIPHashSameSubnetSameServer(t *testing.T) {
	p := newPool(t, srv("a:1"), srv("b:1"), srv("c:1"), srv("d:1"), srv("e:1"))
	var a Attempt
	first := ""
	for i := range 256 {
		a.Reset(p, &IPHash{}, Input{ClientAddr: netip.MustParseAddr("10.1.2." + strconv.Itoa(i))})
		s, err := a.Next(t0)
		if err != nil {
			t.Fatal(err)
		}
		if first == "" {
			first = s.Name()
		}
		if s.Name() != first {
			t.Fatalf("10.1.2.%d went to %s, 10.1.2.0 to %s", i, s.Name(), first)
		}
		a.Release(t0, upstream.Success)
	}
}

func TestIPHashRehash(t *testing.T) {
	in := Input{ClientAddr: netip.MustParseAddr("10.1.2.3")}
	t.Run("unusable server: rehash", func(t *testing.T) {
		// 2680 -> b (down), 4363 -> b (down), 5432 -> c.
		p := newPool(t, srv("a:1"), srv("b:1", down), srv("c:1"))
		var a Attempt
		a.Reset(p, &IPHash{}, in)
		s, _ := a.Next(t0)
		if short(s) != "c" || a.ptries != 2 {
			t.Fatalf("got %s after %d rehashes, want c after 2", short(s), a.ptries)
		}
	})
	t.Run("retries continue the hash", func(t *testing.T) {
		// b (2680); then 4363 -> b tried, 5432 -> c; then seven tried
		// candidates and 5667 -> a.
		p := newPool(t, srv("a:1"), srv("b:1"), srv("c:1"))
		var a Attempt
		if got := walk(t, &a, p, &IPHash{}, in, upstream.Neutral); got != "b c a -" {
			t.Fatalf("tried %q, want %q", got, "b c a -")
		}
	})
	t.Run("round robin after 20 rehashes", func(t *testing.T) {
		// Eight servers, only h (index 7) usable. The first 21 hashes of
		// 10.0.16.1 mod 8 are 5 2 1 6 4 6 6 0 3 6 5 6 4 0 4 2 3 6 1 6 5:
		// never 7, so after the 21st candidate nginx uses round robin.
		servers := []upstream.Settings{srv("a:1", down), srv("b:1", down), srv("c:1", down),
			srv("d:1", down), srv("e:1", down), srv("f:1", down), srv("g:1", down), srv("h:1")}
		p := newPool(t, servers...)
		var a Attempt
		a.Reset(p, &IPHash{}, Input{ClientAddr: netip.MustParseAddr("10.0.16.1")})
		s, err := a.Next(t0)
		if err != nil || short(s) != "h" || a.ptries != 21 {
			t.Fatalf("got %v, %v after %d candidates; want h by round robin after 21", s, err, a.ptries)
		}
	})
}
