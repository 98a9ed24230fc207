package proxyproto

import (
	"bytes"
	"encoding/binary"
	"net"
	"strings"
	"testing"
)

// v2 builds a v2 header: version and command, family and transport, then
// body (addresses and TLVs); length -1 means len(body).
func v2(verCmd, famTr byte, body []byte, length int) []byte {
	if length < 0 {
		length = len(body)
	}
	b := append([]byte("\r\n\r\n\x00\r\nQUIT\n"), verCmd, famTr, 0, 0)
	binary.BigEndian.PutUint16(b[14:], uint16(length))
	return append(b, body...)
}

var (
	inet  = []byte{192, 0, 2, 1, 198, 51, 100, 2, 0x13, 0x88, 0x01, 0xbb} // 192.0.2.1:5000 -> 198.51.100.2:443
	inet6 = append(append(append([]byte{}, net.ParseIP("2001:db8::1")...), net.ParseIP("2001:db8::2")...), 0x13, 0x89, 0x20, 0xfb)
)

// TestParse holds the headers nginx 1.22.1 was sent on a "listen ...
// proxy_protocol" address, with what it answered ($proxy_protocol_addr,
// _port, _server_addr, _server_port, or the connection closed with its
// error line), recorded with a raw socket (report of the branch h-pp).
func TestParse(t *testing.T) {
	four := &Header{SrcAddr: "192.0.2.1", DstAddr: "198.51.100.2", SrcPort: 5000, DstPort: 443}
	six := &Header{SrcAddr: "2001:db8::1", DstAddr: "2001:db8::2", SrcPort: 5001, DstPort: 8443}
	tests := []struct {
		name string
		in   string
		n    int // header length; -1: the whole input
		want *Header
		err  string // "" valid; else the log line
	}{
		{"v1 tcp4", "PROXY TCP4 192.0.2.1 198.51.100.2 5000 443\r\nGET /", 44, four, ""},
		{"v1 tcp6", "PROXY TCP6 2001:db8::1 2001:db8::2 5001 8443\r\n", -1, six, ""},
		{"v1 unknown", "PROXY UNKNOWN\r\nGET", 15, nil, ""},
		{"v1 unknown with addresses", "PROXY UNKNOWN 1.2.3.4 5.6.7.8 1 2\r\n", -1, nil, ""},
		{"v1 unknown, 200 bytes", "PROXY UNKNOWN " + strings.Repeat("x", 200) + "\r\n", -1, nil, ""},
		{"v1 tcp4 with IPv6 addresses", "PROXY TCP4 2001:db8::1 1.2.3.4 5000 443\r\n", -1, &Header{"2001:db8::1", "1.2.3.4", 5000, 443, ""}, ""},
		{"v1 address of hex letters", "PROXY TCP4 abc.def 1.2.3.4 5000 443\r\n", -1, &Header{"abc.def", "1.2.3.4", 5000, 443, ""}, ""},
		{"v1 empty address", "PROXY TCP4  5.6.7.8 1 2\r\n", -1, &Header{"", "5.6.7.8", 1, 2, ""}, ""},
		{"v1 port 0", "PROXY TCP4 1.2.3.4 5.6.7.8 0 0\r\n", -1, &Header{"1.2.3.4", "5.6.7.8", 0, 0, ""}, ""},
		{"v1 leading zeros", "PROXY TCP4 1.2.3.4 5.6.7.8 00080 0443\r\n", -1, &Header{"1.2.3.4", "5.6.7.8", 80, 443, ""}, ""},
		{"v1 port 65536", "PROXY TCP4 1.2.3.4 5.6.7.8 65536 443\r\nGET", 0, nil, "broken header: \"PROXY TCP4 1.2.3.4 5.6.7.8 65536 443\r\nGET\""},
		{"v1 empty port", "PROXY TCP4 1.2.3.4 5.6.7.8  443\r\n", 0, nil, "broken header: \"PROXY TCP4 1.2.3.4 5.6.7.8  443\r\n\""},
		{"v1 LF only", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n", 0, nil, "broken header: \"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n\""},
		{"v1 space before CRLF", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n", 0, nil, "broken header: \"PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n\""},
		{"v1 lower case", "proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n", 0, nil, "broken header: \"proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n\""},
		{"v1 UDP4", "PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n", 0, nil, "broken header: \"PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n\""},
		{"v1 address with g", "PROXY TCP4 1.2.3.g 5.6.7.8 1 2\r\n", 0, nil, "broken header: \"PROXY TCP4 1.2.3.g 5.6.7.8 1 2\r\n\""},
		{"v1 cut short", "PROXY TCP4", 0, nil, `broken header: "PROXY TCP4"`},
		{"v1 unknown without CRLF", "PROXY UNKNOWN xx", 0, nil, `broken header: "PROXY UNKNOWN xx"`},
		{"no header", "GET / HTTP/1.0\r\n\r\n", 0, nil, "broken header: \"GET / HTTP/1.0\r\n\r\n\""},
		{"PROXY alone", "PROXY\r\n", 0, nil, "broken header: \"PROXY\r\n\""},
		{"v2 inet", string(v2(0x21, 0x11, inet, -1)) + "GET", 28, four, ""},
		{"v2 inet6", string(v2(0x21, 0x21, inet6, -1)), -1, six, ""},
		{"v2 TLVs kept", string(v2(0x21, 0x11, append(append([]byte{}, inet...), 4, 0, 3, 'a', 'b', 'c'), -1)), -1,
			&Header{SrcAddr: "192.0.2.1", DstAddr: "198.51.100.2", SrcPort: 5000, DstPort: 443, TLVs: "\x04\x00\x03abc"}, ""},
		{"v2 broken TLVs kept unchecked", string(v2(0x21, 0x11, append(append([]byte{}, inet...), 4, 0, 9), -1)), -1,
			&Header{SrcAddr: "192.0.2.1", DstAddr: "198.51.100.2", SrcPort: 5000, DstPort: 443, TLVs: "\x04\x00\x09"}, ""},
		{"v2 local", string(v2(0x20, 0x11, inet, -1)), -1, nil, ""},
		{"v2 command 2", string(v2(0x22, 0x11, inet, -1)), -1, nil, ""},
		{"v2 unspec", string(v2(0x21, 0x00, nil, -1)), -1, nil, ""},
		{"v2 unix", string(v2(0x21, 0x31, make([]byte, 216), -1)), -1, nil, ""},
		{"v2 dgram", string(v2(0x21, 0x12, inet, -1)), -1, nil, ""},
		{"v2 transport 0", string(v2(0x21, 0x10, inet, -1)), -1, nil, ""},
		{"v2 family 15", string(v2(0x21, 0xf1, nil, -1)), -1, nil, ""},
		{"v2 version 1", string(v2(0x11, 0x11, inet, -1)), 0, nil, "unknown PROXY protocol version: 1"},
		{"v2 version 3", string(v2(0x31, 0x11, inet, -1)), 0, nil, "unknown PROXY protocol version: 3"},
		{"v2 length past the read", string(v2(0x21, 0x11, inet, 200)), 0, nil, "header is too large"},
		{"v2 inet block short", string(v2(0x21, 0x11, inet[:4], -1)), 0, nil, "invalid PROXY protocol header"},
		{"v2 signature alone", "\r\n\r\n\x00\r\nQUIT\n", 0, nil, "broken header: \"\r\n\r\n\x00\r\nQUIT\n\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, h, err := Parse([]byte(tt.in))
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				if _, ok := IsInvalid(err); !ok {
					t.Errorf("err %T is not an *Error", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("err = %v", err)
			}
			want := tt.n
			if want < 0 {
				want = len(tt.in)
			}
			if n != want {
				t.Errorf("n = %d, want %d", n, want)
			}
			if (h == nil) != (tt.want == nil) || h != nil && *h != *tt.want {
				t.Errorf("header = %+v, want %+v", h, tt.want)
			}
		})
	}
}

// TestNtop checks IPv6 printing against nginx's ngx_inet6_ntop.
func TestNtop(t *testing.T) {
	tests := []struct{ in, want string }{
		{"2001:db8::1", "2001:db8::1"},
		{"::", "::"},
		{"::1", "::1"},
		{"::ffff:1.2.3.4", "::ffff:1.2.3.4"},
		{"::1.2.3.4", "::1.2.3.4"},
		{"::2", "::2"}, // seven zero groups, then 0x0002: p[14] is 0
		{"::203", "::0.0.2.3"},
		{"::0.1.0.0", "::0.1.0.0"},
		{"::0.0.0.1", "::1"},
		{"2001:db8:0:1::", "2001:db8:0:1::"},
		{"2001:0:0:1:0:0:0:1", "2001:0:0:1::1"},
		{"2001:0:0:1:0:0:1:1", "2001::1:0:0:1:1"},
		{"fe80::abcd:0:0:1", "fe80::abcd:0:0:1"},
	}
	for _, tt := range tests {
		if got := ntop(net.ParseIP(tt.in).To16()); got != tt.want {
			t.Errorf("ntop(%s) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// FuzzParse checks that Parse never panics, never claims more bytes than it
// was given, and gives a header only with the bytes it claims.
func FuzzParse(f *testing.F) {
	f.Add([]byte("PROXY TCP4 192.0.2.1 198.51.100.2 5000 443\r\nGET / HTTP/1.0\r\n\r\n"))
	f.Add([]byte("PROXY UNKNOWN\r\n"))
	f.Add(v2(0x21, 0x21, inet6, -1))
	f.Add(v2(0x21, 0x11, inet, 200))
	f.Fuzz(func(t *testing.T, b []byte) {
		n, h, err := Parse(b)
		if err != nil {
			if n != 0 || h != nil {
				t.Fatalf("error %v with n=%d h=%v", err, n, h)
			}
			return
		}
		if n <= 0 || n > len(b) {
			t.Fatalf("n = %d of %d bytes", n, len(b))
		}
		n2, h2, err2 := Parse(b[:n])
		if err2 != nil || n2 != n || (h == nil) != (h2 == nil) || h != nil && *h != *h2 {
			t.Fatalf("the header alone parses differently: %d %v %v", n2, h2, err2)
		}
		if !bytes.HasPrefix(b, b[:n]) {
			t.Fatal("unreachable")
		}
	})
}
