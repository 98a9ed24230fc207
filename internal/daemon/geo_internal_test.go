package daemon

import (
	"net/netip"
	"testing"

	"fulcrum/internal/config"
	"fulcrum/internal/vars"
)

// TestMurmurHash2 checks ngx_murmur_hash2 through the buckets nginx 1.22.1 put
// keys in with split_clients "${arg_k}" $v { 0.5% one; 2.0% two; 12.34% three;
// 33% four; * ""; } (bounds 21474836, 107374181, 637360288, 2054723053).
func TestMurmurHash2(t *testing.T) {
	if h := murmurHash2(nil); h != 0 {
		t.Errorf("murmurHash2(\"\") = %#x, want 0", h)
	}
	bounds := []uint32{21474836, 107374181, 637360288, 2054723053, 0}
	tests := []struct {
		key  string
		part int // index into bounds; 4 is "*"
	}{
		{"15", 0}, {"10", 1}, {"198.51.100.7", 1}, {"8", 2}, {"ab", 2}, {"abc", 2},
		{"0", 3}, {"abcd", 3}, {"abcde", 3}, {"192.0.2.2", 3}, {"hello-world", 3},
		{"3", 4}, {"a", 4}, {"192.0.2.1", 4}, {"20", 4},
	}
	for _, tt := range tests {
		h := murmurHash2([]byte(tt.key))
		lo := uint32(0)
		if tt.part > 0 {
			lo = bounds[tt.part-1]
		}
		if h < lo || tt.part < 4 && h >= bounds[tt.part] {
			t.Errorf("murmurHash2(%q) = %d, not in part %d", tt.key, h, tt.part)
		}
	}
}

func TestPickSplit(t *testing.T) {
	parts := []config.SplitPart{{Bound: 100, Value: "a"}, {Bound: 200, Value: "b"}}
	rest := append(parts[:2:2], config.SplitPart{Value: "c"})
	tests := []struct {
		parts []config.SplitPart
		hash  uint32
		want  string
	}{
		{parts, 0, "a"}, {parts, 99, "a"}, {parts, 100, "b"}, {parts, 199, "b"},
		{parts, 200, ""}, // under 100% and no "*": empty
		{rest, 200, "c"}, {rest, 0xffffffff, "c"},
	}
	for _, tt := range tests {
		if got := pickSplit(tt.parts, tt.hash); got != tt.want {
			t.Errorf("pickSplit(%d) = %q, want %q", tt.hash, got, tt.want)
		}
	}
}

func BenchmarkSplitClientsGet(b *testing.B) {
	cfg := &config.SplitClients{Source: "${remote_addr}AAA", Variable: "v", Parts: []config.SplitPart{
		{Bound: 21474836, Value: "canary"}, {Bound: 2147483647, Value: "blue"}, {Value: "green"}}}
	sv := newSplitVar(cfg)
	if err := sv.compile(&vars.Compiler{}, cfg); err != nil {
		b.Fatal(err)
	}
	st := &vars.State{Request: vars.Request{Remote: netip.MustParseAddrPort("192.0.2.7:5555")}}
	dst := make([]byte, 0, 64)
	b.ReportAllocs()
	for b.Loop() {
		dst, _ = sv.get(dst[:0], st)
	}
}

func BenchmarkGeoGet(b *testing.B) {
	cfg := &config.Geo{Variable: "g", Source: "arg_ip", Proxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}, Nets: []config.GeoNet{
		{Prefix: netip.MustParsePrefix("0.0.0.0/0"), Value: "d"},
		{Prefix: netip.MustParsePrefix("::/0"), Value: "d"},
		{Prefix: netip.MustParsePrefix("192.0.2.0/24"), Value: "doc"},
		{Prefix: netip.MustParsePrefix("10.0.0.0/8"), Value: "ten"},
	}}
	gv := newGeoVar(cfg)
	if err := gv.compile(&vars.Compiler{}, cfg); err != nil {
		b.Fatal(err)
	}
	st := &vars.State{Request: vars.Request{Args: "ip=10.1.2.3",
		Header: vars.HeaderList{{Name: "X-Forwarded-For", Value: "192.0.2.9, 10.0.0.2"}}}}
	dst := make([]byte, 0, 64)
	b.ReportAllocs()
	for b.Loop() {
		dst, _ = gv.get(dst[:0], st)
	}
	if string(dst) != "ten" {
		b.Fatalf("value %q, want ten (the last X-Forwarded-For address)", dst)
	}
}
