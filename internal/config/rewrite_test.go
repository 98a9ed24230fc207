package config

import (
	"strings"
	"testing"
)

// locationSteps loads "http { server { location / { BODY } } }" and returns
// the location's script.
func locationSteps(t *testing.T, body string) []Step {
	t.Helper()
	cfg := mustLoad(t, "http { server { location / { "+body+" } } }")
	return cfg.HTTP.Servers[0].Locations[0].Settings.Rewrites
}

func TestRewriteSteps(t *testing.T) {
	tests := []struct {
		name, body string
		want       Rewrite // Regex is not compared
	}{
		{"no flag", "rewrite ^/a/(.*)$ /b/$1;", Rewrite{Pattern: "^/a/(.*)$", Replacement: "/b/$1"}},
		{"last", "rewrite ^ /b last;", Rewrite{Pattern: "^", Replacement: "/b", Flag: FlagLast}},
		{"break", "rewrite ^ /b break;", Rewrite{Pattern: "^", Replacement: "/b", Flag: FlagBreak}},
		{"redirect", "rewrite ^ /b redirect;", Rewrite{Pattern: "^", Replacement: "/b", Flag: FlagRedirect, Redirect: 302}},
		{"permanent", "rewrite ^ /b permanent;", Rewrite{Pattern: "^", Replacement: "/b", Flag: FlagPermanent, Redirect: 301}},
		{"http:// redirects", "rewrite ^ http://x/y;", Rewrite{Pattern: "^", Replacement: "http://x/y", Flag: FlagRedirect, Redirect: 302}},
		{"https:// redirects", "rewrite ^ https://x/y;", Rewrite{Pattern: "^", Replacement: "https://x/y", Flag: FlagRedirect, Redirect: 302}},
		{"$scheme redirects", "rewrite ^ $scheme://x$uri;", Rewrite{Pattern: "^", Replacement: "$scheme://x$uri", Flag: FlagRedirect, Redirect: 302}},
		{"URL with permanent", "rewrite ^ http://x permanent;", Rewrite{Pattern: "^", Replacement: "http://x", Flag: FlagPermanent, Redirect: 301}},
		{"URL with last stays a redirect", "rewrite ^ http://x last;", Rewrite{Pattern: "^", Replacement: "http://x", Flag: FlagLast, Redirect: 302}},
		{"trailing ? drops args", "rewrite ^ /b?x=1? last;", Rewrite{Pattern: "^", Replacement: "/b?x=1", DropArgs: true, Flag: FlagLast}},
		{"a lone ?", "rewrite ^ /b?;", Rewrite{Pattern: "^", Replacement: "/b", DropArgs: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			steps := locationSteps(t, tt.body)
			if len(steps) != 1 || steps[0].Kind != StepRewrite {
				t.Fatalf("steps %+v", steps)
			}
			got := *steps[0].Rewrite
			if got.Regex == nil {
				t.Fatal("regex not compiled")
			}
			got.Regex = nil
			if got != tt.want {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestIfConditions(t *testing.T) {
	tests := []struct {
		name, cond string
		want       Condition // Regex is compared by its source
		caseless   bool
	}{
		{"variable", "($a)", Condition{Op: CondVar, Var: "a"}, false},
		{"spaced parentheses", "( $a )", Condition{Op: CondVar, Var: "a"}, false},
		{"equal", "($a = b)", Condition{Op: CondEqual, Var: "a", Value: "b"}, false},
		{"equal empty", `($a = "")`, Condition{Op: CondEqual, Var: "a", Value: ""}, false},
		{"equal quoted with space", `($a = "x y")`, Condition{Op: CondEqual, Var: "a", Value: "x y"}, false},
		{"not equal", "($a != $b)", Condition{Op: CondNotEqual, Var: "a", Value: "$b"}, false},
		{"match", `($uri ~ ^/(\d+)$)`, Condition{Op: CondMatch, Var: "uri", Pattern: `^/(\d+)$`}, false},
		{"match caseless", "($a ~* abc)", Condition{Op: CondMatch, Var: "a", Pattern: "abc"}, true},
		{"no match", "($a !~ abc)", Condition{Op: CondNotMatch, Var: "a", Pattern: "abc"}, false},
		{"no match caseless", "($a !~* abc)", Condition{Op: CondNotMatch, Var: "a", Pattern: "abc"}, true},
		{"quoted regex with parenthesis", `($a ~ "^(a|b)$")`, Condition{Op: CondMatch, Var: "a", Pattern: "^(a|b)$"}, false},
		{"file", "(-f /x$uri)", Condition{Op: CondFile, Value: "/x$uri", File: 'f'}, false},
		{"dir", "(-d /x)", Condition{Op: CondFile, Value: "/x", File: 'd'}, false},
		{"exists", "(-e /x)", Condition{Op: CondFile, Value: "/x", File: 'e'}, false},
		{"executable", "(-x /x)", Condition{Op: CondFile, Value: "/x", File: 'x'}, false},
		{"not file", "(!-f /x)", Condition{Op: CondNotFile, Value: "/x", File: 'f'}, false},
		{"not dir spaced", "( !-d /x )", Condition{Op: CondNotFile, Value: "/x", File: 'd'}, false},
		{"not exists", "(!-e /x)", Condition{Op: CondNotFile, Value: "/x", File: 'e'}, false},
		{"not executable", "(!-x /x)", Condition{Op: CondNotFile, Value: "/x", File: 'x'}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			steps := locationSteps(t, "set $a 1; set $b 2; if "+tt.cond+" { return 204; }")
			if len(steps) != 3 || steps[2].Kind != StepIf {
				t.Fatalf("steps %+v", steps)
			}
			got := steps[2].If.Cond
			if (got.Regex != nil) != (tt.want.Pattern != "") {
				t.Fatalf("regex %v for pattern %q", got.Regex, tt.want.Pattern)
			}
			if got.Regex != nil && got.Regex.MatchString(strings.ToUpper(tt.want.Pattern)) != tt.caseless {
				t.Errorf("regex %q, caseless %v", got.Regex, tt.caseless)
			}
			got.Regex = nil
			if got != tt.want {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestRewriteLoadErrors(t *testing.T) {
	tests := []struct{ name, body, want string }{
		{"bad regex", "rewrite ^/(a /b;", `pcre2_compile() failed: missing closing parenthesis in "^/(a" in nginx.conf:1`},
		// A lookahead compiles (package pcre); \K, which regexp2 lacks, does not.
		{"PCRE \\K", `rewrite ^/(?!a)x\Ky /b;`, `invalid regular expression "^/(?!a)x\Ky": PCRE escape \K is not supported in nginx.conf:1`},
		{"unknown flag", "rewrite ^ /b lst;", `invalid parameter "lst" in nginx.conf:1`},
		{"empty replacement", `rewrite ^ "";`, `empty replacement in nginx.conf:1`},
		{"set without $", "set x 1;", `invalid variable name "x" in nginx.conf:1`},
		{"set with $ only", "set $ 1;", `invalid variable name "$" in nginx.conf:1`},
		{"return code too big", "return 1000;", `invalid return code "1000" in nginx.conf:1`},
		{"return text without code", "return ok;", `invalid return code "ok" in nginx.conf:1`},
		{"if without parenthesis", "if $a { }", `invalid condition "$a" in nginx.conf:1`},
		{"if unclosed", "if ($a = b { }", `invalid condition "b" in nginx.conf:1`},
		{"if unopened", "if $a = b) { }", `invalid condition "$a" in nginx.conf:1`},
		{"if empty", "if () { }", `invalid condition ")" in nginx.conf:1`},
		{"if empty spaced", "if ( ) { }", `invalid condition ")" in nginx.conf:1`},
		{"if unknown operator", "if ($a == b) { }", `unexpected "==" in condition in nginx.conf:1`},
		{"if two values", "if ($a = b c) { }", `invalid condition "$a" in nginx.conf:1`},
		{"if missing value", "if ($a = ) { }", `invalid condition "$a" in nginx.conf:1`},
		{"if unknown file test", "if (-q /x) { }", `invalid condition "-q" in nginx.conf:1`},
		{"if file test without path", "if (-f) { }", `invalid condition "-f" in nginx.conf:1`},
		{"if bare word", "if (abc) { }", `invalid condition "abc" in nginx.conf:1`},
		{"if bad regex", `if ($a ~ "(x") { }`, `pcre2_compile() failed: missing closing parenthesis in "(x" in nginx.conf:1`},
		{"directive not allowed in if", "if ($a) { proxy_set_header A b; }", `"proxy_set_header" directive is not allowed here in nginx.conf:1, it is allowed in: http, server, location`},
		{"location in if", "if ($a) { location /x { } }", `"location" directive is not allowed here in nginx.conf:1`},
		{"if in if", "if ($a) { if ($a) { } }", `"if" directive is not allowed here in nginx.conf:1, it is allowed in: server, location`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadText(t, "http { server { location / { "+tt.body+" } } }")
			if err == nil {
				t.Fatalf("want error %q", tt.want)
			}
			if got := err.Error(); got != tt.want && !strings.HasPrefix(got, tt.want+", ") {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

// TestIfLocation: an if in a location is an implicit location that inherits
// the location's settings (proxy_pass included, as nginx's proxy module
// merges it) with the block's own directives on top; an if in a server has
// none.
func TestIfLocation(t *testing.T) {
	cfg := mustLoad(t, `http { server {
		if ($host = a) { return 404; }
		location /p/ {
			try_files $uri /fallback;
			add_header X-Loc 1;
			proxy_read_timeout 5s;
			if ($arg_a) { add_header X-If 1; set $x 1; }
			if ($arg_b) { proxy_pass http://127.0.0.1:9002; }
			proxy_pass http://127.0.0.1:9001;
		} } }`)
	srv := cfg.HTTP.Servers[0]
	if s := srv.Settings.Rewrites; len(s) != 1 || s[0].If.Location != nil {
		t.Fatalf("server if: %+v", s)
	}
	loc := srv.Locations[0]
	steps := loc.Settings.Rewrites
	if len(steps) != 2 {
		t.Fatalf("steps %+v", steps)
	}
	a, b := steps[0].If.Location, steps[1].If.Location
	checks := []struct {
		name      string
		got, want any
	}{
		{"implicit", a.Implicit, true},
		{"path of the location", a.Path, "/p/"},
		{"own add_header replaces", a.Settings.AddHeaders[0].Name, "X-If"},
		{"inherits timeouts", a.Settings.ProxyReadTimeout.String(), "5s"},
		{"inherits proxy_pass", a.Settings.ProxyPass.Host, "127.0.0.1:9001"},
		{"own proxy_pass", b.Settings.ProxyPass.Host, "127.0.0.1:9002"},
		{"inherits add_header", b.Settings.AddHeaders[0].Name, "X-Loc"},
		{"no script of its own", a.Settings.Rewrites == nil, true},
		{"try_files not inherited, as in nginx", a.Settings.TryFiles == nil, true},
		{"try_files on the location", len(loc.Settings.TryFiles), 2},
		{"steps inside", steps[0].If.Steps[0].Set.Name, "x"},
		{"not routed", len(loc.Locations), 0},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
}
