package h1

import (
	"bufio"
	"strings"
	"testing"
)

// TestLineFault checks that LineFault names the byte nginx 1.22.1 names in
// its "client sent invalid header line" lines (recorded on raw sockets: the
// text up to the byte, then the byte), and that it finds a fault exactly
// when the reader refuses the head for a field line.
func TestLineFault(t *testing.T) {
	tests := []struct {
		name, head string
		want       string // text + the bad byte as \xHH; "" for none
		kind       Error
	}{
		{"bare CR", "GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n", `X: a\x0d`, ErrBareCR},
		{"space before colon", "GET / HTTP/1.1\r\nHost: a\r\nX : b\r\n\r\n", `X\x20`, ErrSpaceBeforeColon},
		{"empty name", "GET / HTTP/1.1\r\nHost: a\r\n: b\r\n\r\n", `\x3a`, ErrFieldName},
		{"leading whitespace", "GET / HTTP/1.1\r\n Host: a\r\n\r\n", `\x20`, ErrLeadingWhitespace},
		{"obs-fold", "GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n", `\x20`, ErrObsFold},
		{"bare LF", "GET / HTTP/1.1\r\nHost: a\nX: y\r\n\r\n", `Host: a\x0a`, ErrBareLF},
		{"control byte in value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\x01b\r\n\r\n", `X: a\x01`, ErrControlChar},
		{"control byte in name", "GET / HTTP/1.1\r\nHost: a\r\nX\x01: b\r\n\r\n", `X\x01`, ErrControlChar},
		{"no token name", "GET / HTTP/1.1\r\nHost: a\r\nX@a: b\r\n\r\n", `X\x40`, ErrFieldName},
		{"no colon", "GET / HTTP/1.1\r\nHost: a\r\nXab\r\n\r\n", `Xab\x0d`, ErrMissingColon},
		{"whole and valid", "GET / HTTP/1.1\r\nHost: a\r\nX: a\tb\r\n\r\n", "", 0},
		{"a fault after the end is not read", "GET / HTTP/1.1\r\nHost: a\r\n\r\nX : b\r\n", "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r Request
			defer r.Reset()
			err := ReadRequest(bufio.NewReader(strings.NewReader(tt.head)), &r, Limits{})
			if tt.kind != 0 && err != tt.kind {
				t.Fatalf("ReadRequest: %v, want %v", err, tt.kind)
			}
			if tt.kind == 0 && err != nil {
				t.Fatalf("ReadRequest: %v", err)
			}
			text, bad, ok := LineFault(r.Raw())
			got := ""
			if ok {
				got = string(text) + `\x` + strings.ToLower(hex2(bad))
			}
			if got != tt.want {
				t.Errorf("LineFault = %q, want %q", got, tt.want)
			}
		})
	}
}

func hex2(b byte) string {
	const digits = "0123456789ABCDEF"
	return string([]byte{digits[b>>4], digits[b&15]})
}
