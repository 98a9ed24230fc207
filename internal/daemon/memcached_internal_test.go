package daemon

import (
	"testing"

	"fulcrum/internal/config"
)

// TestMemcachedPass: memcached_pass is the content handler only when no
// proxy_pass, fastcgi_pass, scgi_pass or uwsgi_pass comes after it.
func TestMemcachedPass(t *testing.T) {
	at := func(line int) config.Pos { return config.Pos{File: "n.conf", Line: line} }
	pass := func(line int) *config.FastCGIPass {
		if line == 0 {
			return nil
		}
		return &config.FastCGIPass{Pos: at(line)}
	}
	tests := []struct {
		name                            string
		memcached, proxy, fcgi, scgi, u int // lines, 0 for none
		wins                            bool
	}{
		{"none", 0, 0, 0, 0, 0, false},
		{"alone", 3, 0, 0, 0, 0, true},
		{"after proxy_pass", 3, 2, 0, 0, 0, true},
		{"before proxy_pass", 3, 4, 0, 0, 0, false},
		{"after fastcgi_pass", 5, 0, 4, 0, 0, true},
		{"before fastcgi_pass", 3, 0, 4, 0, 0, false},
		{"before scgi_pass", 3, 0, 0, 4, 0, false},
		{"before uwsgi_pass", 3, 0, 0, 0, 4, false},
		{"last of all", 9, 2, 3, 4, 5, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			set := &config.Settings{}
			set.Memcached.Pass = pass(tc.memcached)
			if tc.proxy > 0 {
				set.ProxyPass = &config.ProxyPass{Pos: at(tc.proxy)}
			}
			set.FastCGI.Pass, set.SCGI.Pass, set.UWSGI.Pass = pass(tc.fcgi), pass(tc.scgi), pass(tc.u)
			got := memcachedPass(set)
			if (got != nil) != tc.wins {
				t.Errorf("memcachedPass = %v, want winning %v", got, tc.wins)
			}
		})
	}
}
