package config

import (
	"fmt"
	"strings"
	"testing"
)

// The messages are nginx 1.22.1's for the same lines (nginx -t), with
// fulcrum's hints after them.
func TestCookieErrors(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"domain off after a rule", "http {\nproxy_cookie_domain a b;\nproxy_cookie_domain off;\n}",
			`"proxy_cookie_domain" directive is duplicate in nginx.conf:3, "off" stands alone`},
		{"domain rule after off", "http {\nproxy_cookie_domain off;\nproxy_cookie_domain a b;\n}",
			`"proxy_cookie_domain" directive is duplicate in nginx.conf:3`},
		{"domain off twice", "http { server { proxy_cookie_domain off; proxy_cookie_domain off; } }",
			`"proxy_cookie_domain" directive is duplicate in nginx.conf:1`},
		{"domain one word", "http { proxy_cookie_domain foo; }", `invalid parameter "foo" in nginx.conf:1`},
		{"domain OFF", "http { proxy_cookie_domain OFF; }", `invalid parameter "OFF" in nginx.conf:1`},
		{"domain three words", "http { proxy_cookie_domain a b c; }", `invalid number of arguments in "proxy_cookie_domain" directive in nginx.conf:1`},
		{"domain ~* is a regex starting with *", "http { proxy_cookie_domain ~*x y; }", `pcre2_compile() failed: quantifier does not follow a repeatable item in "*x" at "*x" in nginx.conf:1`},
		{"path one word", "http { proxy_cookie_path foo; }", `invalid parameter "foo" in nginx.conf:1`},
		{"path bad regex", "http { proxy_cookie_path ~( x; }", `pcre2_compile() failed: missing closing parenthesis in "("`},
		{"path bad caseless regex", "http { proxy_cookie_path ~*( x; }", `pcre2_compile() failed: missing closing parenthesis in "("`},
		{"path off after a rule", "http { server { location / { proxy_cookie_path /a /b;\nproxy_cookie_path off; } } }",
			`"proxy_cookie_path" directive is duplicate in nginx.conf:2`},
		{"flags without flags", "http { proxy_cookie_flags one; }", `invalid parameter "one" in nginx.conf:1`},
		{"flags five words", "http { proxy_cookie_flags a secure httponly nosamesite b; }",
			`invalid number of arguments in "proxy_cookie_flags" directive in nginx.conf:1`},
		{"flags bad regex", "http { proxy_cookie_flags ~( secure; }", `pcre2_compile() failed: missing closing parenthesis in "("`},
		{"flags off after a rule", "http { proxy_cookie_flags a secure; proxy_cookie_flags off; }",
			`"proxy_cookie_flags" directive is duplicate in nginx.conf:1`},
		{"not in if", "http { server { location / { if ($x) { proxy_cookie_path a b; } } } }",
			`"proxy_cookie_path" directive is not allowed here in nginx.conf:1`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadText(t, tt.src)
			if err == nil {
				t.Fatal("loaded; want an error")
			}
			if got := err.Error(); !strings.HasPrefix(got, tt.want) {
				t.Errorf("got  %q\nwant %q...", got, tt.want)
			}
		})
	}
}

// cookieSummary writes a location's cookie rules in one line, for comparing.
func cookieSummary(st *Settings) string {
	var b strings.Builder
	for _, r := range st.ProxyCookieDomains {
		fmt.Fprintf(&b, "domain %s%s>%s; ", reMark(r.Regex != nil), r.From, r.To)
	}
	for _, r := range st.ProxyCookiePaths {
		fmt.Fprintf(&b, "path %s%s>%s; ", reMark(r.Regex != nil), r.From, r.To)
	}
	for _, r := range st.ProxyCookieFlags {
		fmt.Fprintf(&b, "flags %s%s %s; ", reMark(r.Regex != nil), r.Cookie, strings.Join(r.Flags, " "))
	}
	return strings.TrimSuffix(b.String(), " ")
}

func reMark(re bool) string {
	if re {
		return "~"
	}
	return ""
}

// Each directive is inherited on its own, as a whole, from the nearest level
// that has any (nginx's ngx_conf_merge_ptr_value), and "off" stops it.
func TestCookieInheritance(t *testing.T) {
	const http = "http {\nproxy_cookie_domain .a.test .b.test;\nproxy_cookie_flags s secure;\nserver {\nproxy_cookie_path /x/ /y/;\nproxy_cookie_path ~*^/Z(.*) /z$1;\n"
	tests := []struct {
		name, loc, want string
	}{
		{"inherits every level", "location / { }",
			"domain a.test>b.test; path /x/>/y/; path ~^/Z(.*)>/z$1; flags s secure;"},
		{"own rules replace the inherited ones", "location / { proxy_cookie_path /p /q; proxy_cookie_domain ~^(.+)\\.svc$ $1.test; }",
			"domain ~^(.+)\\.svc$>$1.test; path /p>/q; flags s secure;"},
		{"off cancels one directive", "location / { proxy_cookie_flags off; proxy_cookie_domain off; }",
			"path /x/>/y/; path ~^/Z(.*)>/z$1;"},
		{"nested location inherits its parent's", "location /n/ { proxy_cookie_flags ~^id httponly samesite=lax; location /n/m/ { } }",
			"domain a.test>b.test; path /x/>/y/; path ~^/Z(.*)>/z$1; flags ~^id httponly samesite=lax;"},
		{"several rules keep their order", "location / { proxy_cookie_flags a secure; proxy_cookie_flags $arg_c nosecure nohttponly nosamesite; }",
			"domain a.test>b.test; path /x/>/y/; path ~^/Z(.*)>/z$1; flags a secure; flags $arg_c nosecure nohttponly nosamesite;"},
		{"a dot is dropped only from text domain rules", "location / { proxy_cookie_domain .c.test c2.test; proxy_cookie_domain ~.d .e; }",
			"domain c.test>c2.test; domain ~.d>.e; path /x/>/y/; path ~^/Z(.*)>/z$1; flags s secure;"},
		{"a rule named off", "location / { proxy_cookie_path off /o; proxy_cookie_flags off secure; }",
			"domain a.test>b.test; path off>/o; flags off secure;"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := mustLoad(t, http+tt.loc+"\n} }")
			loc := cfg.HTTP.Servers[0].Locations[0]
			for len(loc.Locations) > 0 {
				loc = loc.Locations[0]
			}
			if got := cookieSummary(loc.Settings); got != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestCookieFlagsWarnings(t *testing.T) {
	tests := []struct {
		name, src string
		want      []string
	}{
		{"known flags in any case", "http { proxy_cookie_flags a Secure HTTPONLY SameSite=Lax; }", nil},
		{"variables are checked per request", "http { proxy_cookie_flags a $arg_f; }", nil},
		{"unknown flag", "http { proxy_cookie_flags a secure samesite; }",
			[]string{`unknown flag "samesite" in "proxy_cookie_flags" is ignored in nginx.conf:1, the flags are secure, nosecure,`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := mustLoad(t, tt.src)
			checkWarnings(t, cfg, tt.want)
		})
	}
}
