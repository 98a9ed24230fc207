package router

import (
	"errors"
	"testing"
)

// Cases marked "nginx" were sent to nginx 1.22.1 as a Host header; the expected
// value is the $host it reported, or "" where it answered 400. Cases marked
// "strict" are accepted by nginx but refused by fulcrum (RFC 3986, see
// http-hardening.md).
func TestNormalizeHost(t *testing.T) {
	tests := []struct {
		name, in, want string // want "" means an error
	}{
		{"nginx lower-cased", "Example.COM", "example.com"},
		{"nginx trailing dot", "example.com.", "example.com"},
		{"nginx port", "example.com:8080", "example.com"},
		{"nginx dot and port", "example.com.:8080", "example.com"},
		{"nginx short dot and port", "x.:80", "x"},
		{"nginx empty port", "example.com:", "example.com"},
		{"nginx leading dot", ".example.com", ".example.com"},
		{"nginx underscore", "a_b", "a_b"},
		{"nginx dash", "-a", "-a"},
		{"nginx percent", "a%41", "a%41"},
		{"nginx upper with dot", "ABC.example.com.", "abc.example.com"},
		{"nginx ipv6", "[::1]", "[::1]"},
		{"nginx ipv6 port", "[::1]:80", "[::1]"},
		{"ipv6 upper", "[2001:DB8::1]:443", "[2001:db8::1]"},
		{"ipv4", "127.0.0.1:8080", "127.0.0.1"},
		{"already normal", "www.example.org", "www.example.org"},

		{"nginx double dot at end", "example.com..", ""},
		{"nginx double dot", "example..com", ""},
		{"nginx double leading dot", "..example.com", ""},
		{"nginx only dot", ".", ""},
		{"nginx a..", "a..", ""},
		{"nginx only port", ":8080", ""},
		{"nginx empty", "", ""},
		{"nginx space", "a b", ""},
		{"nginx slash", "a/b", ""},
		{"nginx NUL", "a\x00b", ""},
		{"nginx control", "a\x01b", ""},
		{"nginx DEL", "a\x7fb", ""},
		{"nginx tab", "a\tb", ""},
		{"nginx dots in port", "a:1..2", ""},
		{"nginx dots after literal", "[::1]:a..b", ""},

		{"strict port letters", "example.com:abc", ""},
		{"strict two colons", "a:b:c", ""},
		{"strict backslash", `a\b`, ""},
		{"strict quote", `a"b`, ""},
		{"strict angle", "a<b", ""},
		{"strict brace", "a{b", ""},
		{"strict question", "a?b", ""},
		{"strict hash", "a#b", ""},
		{"strict at", "a@b", ""},
		{"strict high byte", "a\x80b", ""},
		{"strict unclosed literal", "[::1", ""},
		{"strict bad literal", "[zz]", ""},
		{"strict ipv4 in brackets", "[127.0.0.1]", ""},
		{"strict zone", "[fe80::1%25eth0]", ""},
		{"strict garbage after literal", "[::1]x", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NormalizeHost(tt.in)
			if tt.want == "" {
				if err == nil {
					t.Fatalf("NormalizeHost(%q) = %q, want an error", tt.in, got)
				}
				if !errors.Is(err, ErrInvalidHost) {
					t.Fatalf("error %v does not wrap ErrInvalidHost", err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("NormalizeHost(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestNormalizeHostNoAlloc(t *testing.T) {
	for _, h := range []string{"example.com", "example.com:8080", "example.com.", "[::1]:80"} {
		allocs := testing.AllocsPerRun(100, func() {
			if _, err := NormalizeHost(h); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("NormalizeHost(%q) allocated %v times, want 0", h, allocs)
		}
	}
}
