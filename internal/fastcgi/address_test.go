package fastcgi

import (
	"strings"
	"testing"
)

// TestParseAddress: a pass value with variables parses as nginx 1.22.1's
// ngx_http_fastcgi_eval parses it; the errors are the messages nginx
// logged for the same values (fastcgi_pass $x, error_log info).
func TestParseAddress(t *testing.T) {
	tests := []struct {
		value string
		want  Address
		err   string
	}{
		{"127.0.0.1:9000", Address{Host: "127.0.0.1", Port: 9000}, ""},
		{"127.0.0.1:080", Address{Host: "127.0.0.1", Port: 80}, ""},
		{"php", Address{Host: "php"}, ""},
		{"php:9000", Address{Host: "php", Port: 9000}, ""},
		{"[::1]:9000", Address{Host: "[::1]", Port: 9000}, ""},
		{"[::1]", Address{Host: "[::1]"}, ""},
		{"unix:/run/php.sock", Address{Unix: true, Host: "/run/php.sock"}, ""},
		{"UNIX:/run/php.sock", Address{Unix: true, Host: "/run/php.sock"}, ""},
		{"", Address{}, `no host in upstream ""`},
		{":80", Address{}, `no host in upstream ":80"`},
		{"127.0.0.1:99999", Address{}, `invalid port in upstream "127.0.0.1:99999"`},
		{"127.0.0.1:0", Address{}, `invalid port in upstream "127.0.0.1:0"`},
		{"127.0.0.1:abc", Address{}, `invalid port in upstream "127.0.0.1:abc"`},
		{"127.0.0.1:+80", Address{}, `invalid port in upstream "127.0.0.1:+80"`},
		{"a:b:c", Address{}, `invalid port in upstream "a:b:c"`},
		{"::1", Address{}, `invalid port in upstream "::1"`},
		{"http://127.0.0.1:9000", Address{}, `invalid host in upstream "http://127.0.0.1:9000"`},
		{"127.0.0.1:9000/x", Address{}, `invalid host in upstream "127.0.0.1:9000/x"`},
		{"[::1", Address{}, `invalid host in upstream "[::1"`},
		{"[::1]x", Address{}, `invalid host in upstream "[::1]x"`},
		{"[zz]:1", Address{}, `invalid IPv6 address in upstream "[zz]:1"`},
		{"unix:", Address{}, `no path in the unix domain socket in upstream "unix:"`},
		{"unix:/" + strings.Repeat("x", 107), Address{}, `too long path in the unix domain socket in upstream "unix:/x`},
	}
	for _, tt := range tests {
		got, err := ParseAddress(tt.value)
		switch {
		case tt.err == "" && (err != nil || got != tt.want):
			t.Errorf("%q: %+v, %v; want %+v", tt.value, got, err, tt.want)
		case tt.err != "" && (err == nil || !strings.HasPrefix(err.Error(), tt.err)):
			t.Errorf("%q: error %v, want %q", tt.value, err, tt.err)
		case tt.err != "":
			if _, ok := err.(*AddressError); !ok {
				t.Errorf("%q: error %T, want *AddressError (a 500)", tt.value, err)
			}
		}
	}
}
