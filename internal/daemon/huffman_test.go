package daemon

import (
	"math/rand/v2"
	"strings"
	"testing"

	"golang.org/x/net/http2/hpack"
)

// TestHuffmanLength checks huffmanLength against the hpack package's
// encoder on fixed strings, every single byte, and random strings.
func TestHuffmanLength(t *testing.T) {
	tests := []struct {
		in   string
		want uint64
	}{
		{"", 0},
		{"www.example.com", 12}, // RFC 7541 C.4.1
		{"no-cache", 6},         // RFC 7541 C.4.2
		{"custom-key", 8},       // RFC 7541 C.4.3
		{"custom-value", 9},     // RFC 7541 C.4.3
		{strings.Repeat("a", 1000), 625},
		{"\x00", 2},
		{"\xff", 4},
	}
	for _, tt := range tests {
		if got := huffmanLength(tt.in); got != tt.want {
			t.Errorf("huffmanLength(%q) = %d, want %d", tt.in, got, tt.want)
		}
	}
	for b := range 256 {
		s := strings.Repeat(string([]byte{byte(b)}), 3)
		if got, want := huffmanLength(s), hpack.HuffmanEncodeLength(s); got != want {
			t.Errorf("huffmanLength(3 x %#x) = %d, hpack says %d", b, got, want)
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 1000 {
		p := make([]byte, r.IntN(64))
		for i := range p {
			p[i] = byte(r.IntN(256))
		}
		if got, want := huffmanLength(string(p)), hpack.HuffmanEncodeLength(string(p)); got != want {
			t.Fatalf("huffmanLength(%q) = %d, hpack says %d", p, got, want)
		}
	}
}
