package mail

import "testing"

// TestEscapes pins the two escapes over one helper: auth_http's login and
// password headers (nginx's NGX_ESCAPE_MAIL_AUTH: control bytes, space,
// "%" and DEL as %XX) and XCLIENT's xtext (RFC 1891: "+", "=" and bytes
// outside "!".."~" as +XX).
func TestEscapes(t *testing.T) {
	tests := []struct {
		name, in, want string
		f              func(string) string
	}{
		{"auth plain", "joe", "joe", escapeAuth},
		{"auth space percent", "a b%c", "a%20b%25c", escapeAuth},
		{"auth control and DEL", "\t\x7f+=", "%09%7F+=", escapeAuth},
		{"auth high byte kept", "é", "é", escapeAuth},
		{"xtext plain", "[127.0.0.1]", "[127.0.0.1]", xtext},
		{"xtext plus equals space", "a+b=c d", "a+2Bb+3Dc+20d", xtext},
		{"xtext high byte", "\xe9", "+E9", xtext},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.f(tt.in); got != tt.want {
				t.Errorf("%q -> %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
