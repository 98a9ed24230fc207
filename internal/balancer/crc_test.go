package balancer

import (
	"hash/crc32"
	"testing"
)

func TestCRCStringMatchesStdlib(t *testing.T) {
	tests := []struct{ prefix, s string }{
		{"", ""},
		{"", "/index.html"},
		{"1", "user42"},
		{"backend.example.com\x00", "8080"},
		{"", "\xff\x00binary\x80"},
	}
	for _, tt := range tests {
		want := crc32.ChecksumIEEE([]byte(tt.prefix + tt.s))
		got := crcString(crcString(0, tt.prefix), tt.s)
		if got != want {
			t.Errorf("crc(%q+%q) = %08x, want %08x", tt.prefix, tt.s, got, want)
		}
	}
}
