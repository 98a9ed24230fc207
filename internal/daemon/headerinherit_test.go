package daemon_test

import (
	"strings"
	"testing"
)

// TestAddHeaderInherit runs add_header_inherit and add_trailer_inherit
// (nginx 1.29.3) over real sockets: merge adds the outer level's fields to
// the location's own, off drops them, on keeps nginx 1.22's rule.
func TestAddHeaderInherit(t *testing.T) {
	addr, _ := runDaemon(t, func(string) string {
		return `
    access_log off;
    add_header X-Outer o;
    add_trailer X-Outer-T ot;
    server {
        listen 127.0.0.1:0;
        location /merge { add_header_inherit merge; add_trailer_inherit merge; add_header X-Own a; add_trailer X-Own-T at; return 200 "m\n"; }
        location /off { add_header_inherit off; add_trailer_inherit off; return 200 "f\n"; }
        location /on { add_header X-Own a; return 200 "n\n"; }
    }`
	})
	cases := []struct {
		path      string
		want, not []string
	}{
		{"/merge", []string{"X-Own: a\r\n", "X-Outer: o\r\n", "X-Own-T: at\r\nX-Outer-T: ot\r\n"}, nil},
		{"/off", nil, []string{"X-Outer", "X-Outer-T"}},
		{"/on", []string{"X-Own: a\r\n", "X-Outer-T: ot\r\n"}, []string{"X-Outer: o"}},
	}
	for _, tc := range cases {
		t.Run(tc.path, func(t *testing.T) {
			got := rawExchange(t, addr, "GET "+tc.path+" HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("no %q in\n%q", w, got)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(got, n) {
					t.Errorf("%q in\n%q", n, got)
				}
			}
		})
	}
}
