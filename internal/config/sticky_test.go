package config

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestStickyAndSlowStart(t *testing.T) {
	tests := []struct {
		name, block string
		sticky      *Sticky
		slow        time.Duration
		route       string
	}{
		{"none", "server 127.0.0.1;", nil, 0, ""},
		{"cookie bare", "server 127.0.0.1; sticky cookie srv_id;",
			&Sticky{Mode: StickyCookie, Lookup: []string{"$cookie_srv_id"}, Cookie: &StickyCookieSpec{Name: "srv_id"}}, 0, ""},
		{"cookie every parameter", "server 127.0.0.1; sticky cookie s expires=1h domain=.example.com httponly samesite=Lax secure path=/;",
			&Sticky{Mode: StickyCookie, Lookup: []string{"$cookie_s"}, Cookie: &StickyCookieSpec{Name: "s", Expires: time.Hour, ExpiresSet: true,
				Domain: ".example.com", SameSite: "Lax", Path: "/", HTTPOnly: true, Secure: true}}, 0, ""},
		{"cookie expires max, variables", "server 127.0.0.1; sticky cookie s expires=max domain=$host samesite=$ss;",
			&Sticky{Mode: StickyCookie, Lookup: []string{"$cookie_s"}, Cookie: &StickyCookieSpec{Name: "s", ExpiresSet: true, ExpiresMax: true,
				Domain: "$host", SameSite: "$ss"}}, 0, ""},
		{"route", "server 127.0.0.1 route=a; sticky route $route_cookie $route_uri;",
			&Sticky{Mode: StickyRoute, Lookup: []string{"$route_cookie", "$route_uri"}}, 0, "a"},
		{"learn", "server 127.0.0.1; sticky learn create=$upstream_cookie_sid lookup=$cookie_sid zone=sessions:1m;",
			&Sticky{Mode: StickyLearn, Create: []string{"$upstream_cookie_sid"}, Lookup: []string{"$cookie_sid"}, Zone: "sessions", ZoneSize: 1 << 20, Timeout: 10 * time.Minute}, 0, ""},
		{"learn every parameter", "server 127.0.0.1; sticky learn create=$upstream_cookie_a create=$upstream_http_x_session lookup=$cookie_a lookup=$arg_session zone=s:64k timeout=1h header sync;",
			&Sticky{Mode: StickyLearn, Create: []string{"$upstream_cookie_a", "$upstream_http_x_session"}, Lookup: []string{"$cookie_a", "$arg_session"},
				Zone: "s", ZoneSize: 64 << 10, Timeout: time.Hour, Header: true}, 0, ""},
		{"slow_start", "server 127.0.0.1 slow_start=30s; server 127.0.0.2;", nil, 30 * time.Second, ""},
		{"slow_start with least_conn", "least_conn; server 127.0.0.1 slow_start=1m; server 127.0.0.2;", nil, time.Minute, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := mustLoad(t, "http { upstream u { "+tt.block+" } }")
			u := cfg.HTTP.Upstreams[0]
			if u.Sticky != nil {
				u.Sticky.Pos = Pos{}
			}
			if !reflect.DeepEqual(u.Sticky, tt.sticky) {
				t.Errorf("sticky %+v %+v\nwant   %+v", u.Sticky, cookieOf(u.Sticky), tt.sticky)
			}
			if s := u.Servers[0]; s.SlowStart != tt.slow || s.Route != tt.route {
				t.Errorf("server slow_start=%v route=%q, want %v %q", s.SlowStart, s.Route, tt.slow, tt.route)
			}
		})
	}
}

func cookieOf(s *Sticky) any {
	if s == nil || s.Cookie == nil {
		return nil
	}
	return *s.Cookie
}

func TestStickyAndSlowStartErrors(t *testing.T) {
	tests := []struct{ name, block, want string }{
		{"learn without create", "server 127.0.0.1;\nsticky learn lookup=$cookie_s zone=z:1m;",
			`"sticky" directive requires at least one "create" parameter in nginx.conf:2, sticky learn create=`},
		{"learn without lookup", "server 127.0.0.1; sticky learn create=$upstream_cookie_s zone=z:1m;",
			`"sticky" directive requires at least one "lookup" parameter in nginx.conf:1`},
		{"learn without zone", "server 127.0.0.1; sticky learn create=$upstream_cookie_s lookup=$cookie_s;",
			`"sticky" directive requires the "zone" parameter in nginx.conf:1`},
		{"learn bad zone", "server 127.0.0.1; sticky learn create=$upstream_cookie_s lookup=$cookie_s zone=z;",
			`invalid zone "z" in nginx.conf:1, zone=name:size`},
		{"learn small zone", "server 127.0.0.1; sticky learn create=$upstream_cookie_s lookup=$cookie_s zone=z:4k;",
			`zone "z" is too small in nginx.conf:1`},
		{"learn bad timeout", "server 127.0.0.1; sticky learn create=$upstream_cookie_s lookup=$cookie_s zone=z:1m timeout=soon;",
			`invalid timeout "soon" in nginx.conf:1`},
		{"learn not a variable", "server 127.0.0.1; sticky learn create=sid lookup=$cookie_s zone=z:1m;",
			`invalid variable name "sid" in nginx.conf:1`},
		{"learn unknown parameter", "server 127.0.0.1; sticky learn create=$upstream_cookie_s lookup=$cookie_s zone=z:1m expires=1h;",
			`unknown parameter "expires=1h" in nginx.conf:1`},
		{"learn duplicate zone", "server 127.0.0.1; sticky learn create=$upstream_cookie_s lookup=$cookie_s zone=z:1m zone=y:1m;",
			`"sticky" directive parameter "zone" is duplicate in nginx.conf:1`},
		{"learn zone of a limit", "server 127.0.0.1; sticky learn create=$upstream_cookie_s lookup=$cookie_s zone=z:1m; } limit_req_zone $uri zone=z:1m rate=1r/s; upstream v { server 127.0.0.2;",
			`the shared memory zone "z" is already declared for a different use in nginx.conf:1`},
		{"learn zone of an upstream", "server 127.0.0.1; zone z 64k; sticky learn create=$upstream_cookie_s lookup=$cookie_s zone=z:1m;",
			`the shared memory zone "z" is already declared for a different use in nginx.conf:1`},
		{"learn shared zone, other size", "server 127.0.0.1; sticky learn create=$upstream_cookie_s lookup=$cookie_s zone=z:1m; }\nupstream v { server 127.0.0.2; sticky learn create=$upstream_cookie_s lookup=$cookie_s zone=z:2m;",
			`the size 2097152 of shared memory zone "z" conflicts with already declared size 1048576 in nginx.conf:2`},
		{"unknown method", "server 127.0.0.1; sticky bogus x;", `unknown parameter "bogus" in nginx.conf:1`},
		{"too few arguments", "server 127.0.0.1; sticky cookie;", `invalid number of arguments in "sticky" directive in nginx.conf:1`},
		{"duplicate", "server 127.0.0.1; sticky cookie a; sticky cookie b;", `"sticky" directive is duplicate in nginx.conf:1`},
		{"empty name", `server 127.0.0.1; sticky cookie "";`, `"sticky" directive empty cookie name in nginx.conf:1`},
		{"unknown cookie parameter", "server 127.0.0.1; sticky cookie a max-age=1;", `unknown parameter "max-age=1" in nginx.conf:1`},
		{"duplicate expires", "server 127.0.0.1; sticky cookie a expires=1h expires=2h;", `"sticky" directive parameter "expires" is duplicate in nginx.conf:1`},
		{"duplicate httponly", "server 127.0.0.1; sticky cookie a httponly httponly;", `"sticky" directive parameter "httponly" is duplicate in nginx.conf:1`},
		{"bad expires", "server 127.0.0.1; sticky cookie a expires=soon;", `"sticky" directive invalid "expires" parameter value in nginx.conf:1`},
		{"empty domain", "server 127.0.0.1; sticky cookie a domain=;", `"sticky" directive no value for "domain" in nginx.conf:1`},
		{"empty path", "server 127.0.0.1; sticky cookie a path=;", `"sticky" directive no value for "path" in nginx.conf:1`},
		{"bad samesite", "server 127.0.0.1; sticky cookie a samesite=loose;", `"sticky" directive invalid "samesite" parameter value in nginx.conf:1`},
		{"route not a variable", "server 127.0.0.1; sticky route route_cookie;", `invalid variable name "route_cookie" in nginx.conf:1`},
		{"outside upstream", "server 127.0.0.1; } server { sticky cookie a;", `"sticky" directive is not allowed here in nginx.conf:1`},
		{"bad slow_start", "server 127.0.0.1 slow_start=soon;", `invalid parameter "slow_start=soon" in nginx.conf:1, slow_start is a time`},
		{"slow_start typo", "server 127.0.0.1 slow_strat=30s;", `invalid parameter "slow_strat=30s" in nginx.conf:1, did you mean "slow_start=30s"?`},
		{"empty route", "server 127.0.0.1 route=;", `invalid parameter "route=" in nginx.conf:1, route is 1 to 32 characters`},
		{"long route", "server 127.0.0.1 route=" + strings.Repeat("r", 33) + ";", `invalid parameter "route=rrrr`},
		{"slow_start with hash", "hash $uri;\nserver 127.0.0.1;\nserver 127.0.0.2 slow_start=30s;",
			`balancing method does not support parameter "slow_start=30s" in nginx.conf:3, hash cannot ramp`},
		{"slow_start with ip_hash", "server 127.0.0.2 slow_start=30s; ip_hash;", `balancing method does not support parameter "slow_start=30s" in nginx.conf:1, ip_hash cannot ramp`},
		{"slow_start with random", "random two; server 127.0.0.2 slow_start=1s;", `balancing method does not support parameter "slow_start=1s" in nginx.conf:1, random cannot ramp`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadText(t, "http { upstream u { "+tt.block+" } }")
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("error %v\nwant prefix %s", err, tt.want)
			}
		})
	}
}
