package daemon

import (
	"testing"

	"fulcrum/internal/config"
	"fulcrum/internal/fastcgi"
)

// TestCGIPass: the content handler directive written last wins, as in nginx.
func TestCGIPass(t *testing.T) {
	at := func(line int) config.Pos { return config.Pos{File: "n.conf", Line: line} }
	fc := func(line int) *config.FastCGIPass { return &config.FastCGIPass{Pos: at(line)} }
	tests := []struct {
		name         string
		proxy        int // line of proxy_pass, 0 for none
		fcgi, scgi   int
		want         int // line of the winning pass, 0 for proxy_pass or none
		wantProtocol fastcgi.Protocol
	}{
		{"none", 0, 0, 0, 0, 0},
		{"fastcgi alone", 0, 3, 0, 3, fastcgi.FastCGI},
		{"scgi alone", 0, 0, 4, 4, fastcgi.SCGI},
		{"proxy after fastcgi", 5, 3, 0, 0, 0},
		{"fastcgi after proxy", 2, 3, 0, 3, fastcgi.FastCGI},
		{"scgi after fastcgi", 0, 3, 4, 4, fastcgi.SCGI},
		{"fastcgi after scgi", 0, 5, 4, 5, fastcgi.FastCGI},
		{"uwsgi last", 0, 3, 4, 6, fastcgi.UWSGI},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			set := &config.Settings{}
			if tc.proxy > 0 {
				set.ProxyPass = &config.ProxyPass{Pos: at(tc.proxy)}
			}
			if tc.fcgi > 0 {
				set.FastCGI.Pass = fc(tc.fcgi)
			}
			if tc.scgi > 0 {
				set.SCGI.Pass = fc(tc.scgi)
			}
			if tc.want == 6 {
				set.UWSGI.Pass = fc(6)
			}
			pass, proto := cgiPass(set)
			line := 0
			if pass != nil {
				line = pass.Pos.Line
			}
			if line != tc.want || proto != tc.wantProtocol {
				t.Errorf("got line %d protocol %d, want %d %d", line, proto, tc.want, tc.wantProtocol)
			}
		})
	}
}
