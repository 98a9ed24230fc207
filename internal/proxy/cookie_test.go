package proxy

import (
	"strings"
	"testing"

	"fulcrum/internal/config"
	"fulcrum/internal/pcre"
	"fulcrum/internal/vars"
)

// cookieSettings are the rules of the tests below, as config builds them
// (proxy_cookie_domain's text rules without their leading dots, its regexes
// caseless). $v is a declared variable the tests set.
func cookieSettings() *config.Settings {
	return &config.Settings{
		ProxyCookieDomains: []config.CookieRewrite{
			{From: "Example.COM", To: "new.org"},                                        // .Example.COM .new.org
			{Regex: pcre.MustCompile(`(?i)^(\w+)\.regex\.net$`, false), To: "$1.rx.$v"}, // ~^(\w+)\.regex\.net$
			{From: "$v", To: "by-var"},
			{Regex: pcre.MustCompile(`(?i)^star`, false), To: "x.org"},
		},
		ProxyCookiePaths: []config.CookieRewrite{
			{From: "/one/", To: "/uno/"},
			{From: "/one/two/", To: "/never/"}, // the first rule that matches wins
			{Regex: pcre.MustCompile(`^/cap/(.*)$`, false), To: "/c/$1"},
			{Regex: pcre.MustCompile(`(?i)^/CI/`, false), To: "/ci"},
		},
		ProxyCookieFlags: []config.CookieFlags{
			{Cookie: "one", Flags: []string{"secure", "httponly", "samesite=strict"}},
			{Regex: pcre.MustCompile(`(?i)^r(e)g`, false), Flags: []string{"nosecure", "nohttponly", "nosamesite"}},
			{Cookie: "TWO", Flags: []string{"samesite=lax", "secure"}},
			{Cookie: "both", Flags: []string{"secure", "nosecure", "samesite=lax"}},
			{Cookie: "var", Flags: []string{"$v"}},
			{Cookie: "bogus", Flags: []string{"samesite", "off"}},
			{Cookie: "twosites", Flags: []string{"samesite=strict", "samesite=lax"}},
			{Cookie: "nosite", Flags: []string{"nosamesite", "SECURE"}},
		},
	}
}

// TestCookieRewrite: each line is what nginx 1.22.1 answered for the same
// Set-Cookie field and rules (a backend sending the field through nginx
// and through fulcrum).
func TestCookieRewrite(t *testing.T) {
	c := &vars.Compiler{}
	c.Declare("v")
	cr, err := compileCookies(c, cookieSettings())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, v, in, want string
	}{
		// proxy_cookie_domain
		{"domain text rule", "", "a=1; Domain=example.com", "a=1; Domain=new.org"},
		{"domain without case, dot kept", "", "a=2; domain=.EXAMPLE.com; Path=/", "a=2; domain=.new.org; Path=/"},
		{"spaces dropped once rewritten", "", "a=3;Domain=  example.com  ;path=/x", "a=3; Domain=new.org; path=/x"},
		{"domain is whole, not a suffix", "", "a=4; Domain=sub.example.com", "a=4; Domain=sub.example.com"},
		{"domain regex with capture and variable", "h", "a=5; Domain=foo.regex.net", "a=5; Domain=foo.rx.h"},
		{"domain regex sees the dot", "", "a=6; Domain=.foo.regex.net", "a=6; Domain=.foo.regex.net"},
		{"domain regex is caseless", "", "a=7; Domain=STAR.com", "a=7; Domain=x.org"},
		{"every Domain attribute", "", "a=8; Domain=example.com; Domain=example.com", "a=8; Domain=new.org; Domain=new.org"},
		{"Domain without value", "", "a=9; Domain", "a=9; Domain"},
		{"no = in the first part", "", "noeq; Domain=example.com", "noeq; Domain=example.com"},
		{"empty parts kept", "", "a=10 ; Domain = example.com ;; Secure;", "a=10; Domain=new.org; ; Secure; "},
		{"empty cookie name", "", "=12; Domain=example.com", "=12; Domain=new.org"},
		{"attribute name without case", "", "a=13; DOMAIN=example.com", "a=13; DOMAIN=new.org"},
		{"only spaces are trimmed", "", "a=14; Domain=example.com\t; x=y", "a=14; Domain=example.com\t; x=y"},
		{"a value with =", "", "a=b=c; Domain=example.com", "a=b=c; Domain=new.org"},
		{"domain from a variable", "v.test", "a=1; Domain=V.TEST", "a=1; Domain=by-var"},
		{"unmatched left as sent", "", "a=11;  Path=/zzz ; Domain=other", "a=11;  Path=/zzz ; Domain=other"},
		// proxy_cookie_path
		{"path prefix, first rule wins", "", "a=1; Path=/one/two/", "a=1; Path=/uno/two/"},
		{"path with case", "", "a=2; path=/ONE/", "a=2; path=/ONE/"},
		{"path regex replaces the whole value", "", "a=3; Path=/cap/x/y", "a=3; Path=/c/x/y"},
		{"path caseless regex", "", "a=4; Path=/ci/z", "a=4; Path=/ci"},
		{"every Path attribute", "", "a=7; Path=/one/; Path=/cap/q", "a=7; Path=/uno/; Path=/c/q"},
		// proxy_cookie_flags
		{"flags appended in order", "", "one=1", "one=1; Secure; HttpOnly; SameSite=Strict"},
		{"name without case, present flags kept", "", "ONE=1; Secure; HttpOnly; SameSite=Strict", "ONE=1; Secure; HttpOnly; SameSite=Strict"},
		{"samesite rewritten in place", "", "one=1; secure; SameSite=lax", "one=1; secure; SameSite=Strict; HttpOnly"},
		{"no flags remove", "", "reg=1; Secure; HttpOnly; SameSite=Lax; Path=/", "reg=1; Path=/"},
		{"regex anchored at the name's start", "", "xregx=1; secure", "xregx=1; secure"},
		{"bare SameSite gets a value", "", "two=1; samesite", "two=1; SameSite=Lax; Secure"},
		{"set wins over remove", "", "both=1; SameSite=None", "both=1; SameSite=Lax; Secure"},
		{"a matched cookie is rebuilt", "", "two=2;  path=/ ;Secure", "two=2; path=/; Secure; SameSite=Lax"},
		{"flags from a variable", "HttpOnly", "var=1", "var=1; HttpOnly"},
		{"empty variable flag", "", "var=1;  Path=/a", "var=1;  Path=/a"},
		{"unknown flags change nothing", "", "bogus=1;  Path=/a", "bogus=1;  Path=/a"},
		{"strict over lax, one per attribute", "", "twosites=1; SameSite=None; samesite=none; SAMESITE", "twosites=1; SameSite=Strict; SameSite=Lax; SAMESITE"},
		{"nosamesite removes them all", "", "nosite=1; SameSite=Lax; samesite=none", "nosite=1; Secure"},
		{"other cookies untouched", "", "three=1; Secure", "three=1; Secure"},
		// all three
		{"domain, path and flags together", "", "one=1;Domain=.example.com;Path=/cap/z", "one=1; Domain=.new.org; Path=/c/z; Secure; HttpOnly; SameSite=Strict"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := &vars.State{}
			st.SetVar("v", tt.v)
			if got, _ := cr.rewrite(tt.in, st); got != tt.want {
				t.Errorf("rewrite(%q)\n got %q\nwant %q", tt.in, got, tt.want)
			}
		})
	}
}

// TestCookieCaptures: a regex that matches leaves its captures to the
// request, as nginx's ngx_http_regex_exec does (add_header "$1" after it
// shows them).
func TestCookieCaptures(t *testing.T) {
	c := &vars.Compiler{}
	cr, err := compileCookies(c, &config.Settings{ProxyCookieDomains: []config.CookieRewrite{
		{Regex: pcre.MustCompile(`(?i)^(\w+)\.svc$`, false), To: "$1.test"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	st := &vars.State{}
	if got, _ := cr.rewrite("a=1; Domain=api.svc", st); got != "a=1; Domain=api.test" {
		t.Fatalf("got %q", got)
	}
	one, _ := c.Compile("$1")
	if got := one.String(st); got != "api" {
		t.Errorf("$1 after the rewrite = %q, want api", got)
	}
}

func TestCompileCookies(t *testing.T) {
	c := &vars.Compiler{}
	if cr, err := compileCookies(c, &config.Settings{}); cr != nil || err != nil {
		t.Errorf("no rules: got %v, %v; want nil, nil", cr, err)
	}
	pos := config.Pos{File: "nginx.conf", Line: 7}
	tests := []struct {
		name string
		set  config.Settings
	}{
		{"domain replacement", config.Settings{ProxyCookieDomains: []config.CookieRewrite{{From: "a", To: "$nope", Pos: pos}}}},
		{"path pattern", config.Settings{ProxyCookiePaths: []config.CookieRewrite{{From: "$nope", To: "/", Pos: pos}}}},
		{"flag", config.Settings{ProxyCookieFlags: []config.CookieFlags{{Cookie: "a", Flags: []string{"$nope"}, Pos: pos}}}},
		{"cookie name", config.Settings{ProxyCookieFlags: []config.CookieFlags{{Cookie: "$nope", Flags: []string{"secure"}, Pos: pos}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := compileCookies(c, &tt.set)
			if err == nil || err.Error() != `unknown "nope" variable in nginx.conf:7` {
				t.Errorf("got %v, want the unknown variable and its line", err)
			}
		})
	}
}

func BenchmarkCookieRewrite(b *testing.B) {
	c := &vars.Compiler{}
	c.Declare("v")
	cr, err := compileCookies(c, cookieSettings())
	if err != nil {
		b.Fatal(err)
	}
	st := &vars.State{}
	b.ReportAllocs()
	for b.Loop() {
		cr.rewrite("sid=abc; Domain=example.com; Path=/one/x; HttpOnly", st)
		cr.rewrite("other=1; Path=/zzz", st)
	}
}

// TestRewriteMatchLimit: a proxy_redirect, proxy_cookie_domain or
// proxy_cookie_path regex whose match hits the
// backtracking engine's bound counts as no match, the next rule applies,
// and the error is logged at alert "while reading response header from
// upstream", as nginx 1.22.1 does (recorded: Location "/second" and
// "Domain=second" from the rules after the failed one, and "[alert] ...
// pcre2_match() failed: -47 on ... while reading response header from
// upstream").
func TestRewriteMatchLimit(t *testing.T) {
	long := strings.Repeat("a", 40) + "c"
	redos := pcre.MustCompile(`^(a|aa)+(?!x)$`, false)
	want := `regular expression match limit exceeded (20ms) on "` + long + `" using "^(a|aa)+(?!x)$" while reading response header from upstream`
	c := &vars.Compiler{}
	to, _ := c.Compile("/second")
	st := &vars.State{}
	rules := []redirectRule{{re: redos, to: to}, {from: "a", to: to}}
	if got, _ := rewriteRedirect(rules, "Location", long, st); got != "/second"+long[1:] {
		t.Errorf("Location %q, want the second rule's", got)
	}
	if len(st.VariableErrors) != 1 || st.VariableErrors[0].Message != want || !st.VariableErrors[0].Alert {
		t.Errorf("proxy_redirect: logged %+v, want one alert %q", st.VariableErrors, want)
	}
	cr, err := compileCookies(c, &config.Settings{
		ProxyCookieDomains: []config.CookieRewrite{{Regex: redos, To: "fixed"}, {Regex: pcre.MustCompile(`^a`, false), To: "second"}},
		ProxyCookiePaths:   []config.CookieRewrite{{Regex: redos, To: "/fixed"}, {Regex: pcre.MustCompile(`^a`, false), To: "/second"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	st = &vars.State{}
	if got, ok := cr.rewrite("n=1; Domain="+long+"; Path="+long, st); got != "n=1; Domain=second; Path=/second" || !ok {
		t.Errorf("cookie %q, %v, want the second rules' and ok", got, ok)
	}
	if len(st.VariableErrors) != 2 {
		t.Errorf("logged %+v, want two alerts", st.VariableErrors)
	}
	for _, e := range st.VariableErrors {
		if e.Message != want || !e.Alert {
			t.Errorf("logged %+v, want the alert %q", e, want)
		}
	}
}

// TestCookieFlagsMatchLimit: a proxy_cookie_flags regex over its match
// bound fails the rewrite (the response is to fail with 500, as nginx
// 1.22.1's ngx_http_proxy_rewrite_cookie_flags returns NGX_ERROR;
// recorded), after the alert "while reading response header from
// upstream", with the value as it came and no later rule tried; a name
// the regex settles goes on as before.
func TestCookieFlagsMatchLimit(t *testing.T) {
	long := strings.Repeat("a", 40) + "c"
	c := &vars.Compiler{}
	cr, err := compileCookies(c, &config.Settings{ProxyCookieFlags: []config.CookieFlags{
		{Regex: pcre.MustCompile(`^(a|aa)+(?!x)$`, false), Flags: []string{"secure"}},
		{Regex: pcre.MustCompile(`^a`, false), Flags: []string{"httponly"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	st := &vars.State{}
	in := long + "=v; Path=/"
	if got, ok := cr.rewrite(in, st); got != in || ok {
		t.Errorf("rewrite = %q, %v; want the value as it came and false", got, ok)
	}
	want := `regular expression match limit exceeded (20ms) on "` + long + `" using "^(a|aa)+(?!x)$" while reading response header from upstream`
	if len(st.VariableErrors) != 1 || st.VariableErrors[0].Message != want || !st.VariableErrors[0].Alert {
		t.Errorf("logged %+v, want one alert %q", st.VariableErrors, want)
	}
	if got, ok := cr.rewrite("ab=v", &vars.State{}); got != "ab=v; HttpOnly" || !ok {
		t.Errorf("a name the regex settles: %q, %v", got, ok)
	}
}
