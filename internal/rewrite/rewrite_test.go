package rewrite

import (
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fulcrum/internal/config"
	"fulcrum/internal/vars"
)

// load loads an http block and returns it with a compiler that knows its set
// variables and named captures, as the daemon prepares one.
func load(t *testing.T, http string) (*config.Config, *vars.Compiler) {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(path, []byte("http { "+http+" }"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path, config.LoadOptions{Prefix: dir})
	if err != nil {
		t.Fatal(err)
	}
	comp := &vars.Compiler{}
	var walk func([]config.Step)
	walk = func(steps []config.Step) {
		for _, s := range steps {
			switch s.Kind {
			case config.StepSet:
				if _, err := comp.DefineSettable(s.Set.Name); err != nil {
					t.Fatal(err)
				}
			case config.StepRewrite:
				comp.Declare(s.Rewrite.Regex.SubexpNames()...)
			case config.StepIf:
				if s.If.Cond.Regex != nil {
					comp.Declare(s.If.Cond.Regex.SubexpNames()...)
				}
				walk(s.If.Steps)
			}
		}
	}
	walk(cfg.HTTP.Servers[0].Settings.Rewrites)
	for _, l := range cfg.HTTP.Servers[0].Locations {
		walk(l.Settings.Rewrites)
	}
	return cfg, comp
}

// request fills a State for target as the engine would.
func request(target string) *vars.State {
	st := &vars.State{}
	st.RequestURI = target
	path, args, _ := strings.Cut(target, "?")
	st.Path, _ = url.PathUnescape(path) // the engine's normalised, decoded path
	st.Args = args
	st.Method, st.Scheme, st.Host = "GET", "http", "example.org"
	return st
}

// logLines collects what a script logs.
type logLines []string

func (l *logLines) Log(level config.LogLevel, msg string) {
	*l = append(*l, level.String()+": "+msg)
}

func TestRun(t *testing.T) {
	tests := []struct {
		name, script, target string
		// what the script decided
		outcome  Outcome
		code     int
		url      string
		research bool
		// the request afterwards
		path, args string
		whole      bool
		probe      string // the value of probeTemplate
	}{
		{name: "no match leaves the request", script: "rewrite ^/x /y;", target: "/a?k=1",
			path: "/a", args: "k=1", probe: "[][]"},
		{name: "no flag goes on and searches again", script: "rewrite ^/a/(.*)$ /b/$1; set $v $uri;", target: "/a/x?k=1",
			research: true, path: "/b/x", args: "k=1", probe: "[x][/b/x]"},
		{name: "last stops the script", script: "rewrite ^/a/(.*)$ /b/$1 last; set $v never;", target: "/a/x",
			research: true, path: "/b/x", probe: "[x][]"},
		{name: "break stays", script: "rewrite ^/a/(.*)$ /b/$1 break; return 500;", target: "/a/x",
			path: "/b/x", whole: true, probe: "[x][]"},
		{name: "rewrites chain", script: "rewrite ^/a(.*) /b$1; rewrite ^/b(.*) /c$1; rewrite ^/c(.*) /d$1 last;", target: "/a/z",
			research: true, path: "/d/z", probe: "[/z][]"},
		{name: "new args come first", script: "rewrite ^/q(.*)$ /b$1?x=1 last;", target: "/q/z?y=2",
			research: true, path: "/b/z", args: "x=1&y=2", probe: "[/z][]"},
		{name: "trailing ? drops args", script: "rewrite ^/q(.*)$ /b$1?x=1? last;", target: "/q/z?y=2",
			research: true, path: "/b/z", args: "x=1", probe: "[/z][]"},
		{name: "lone ? drops args", script: "rewrite ^ /b? last;", target: "/q?y=2",
			research: true, path: "/b", args: "", probe: "[][]"},
		{name: "captures in args escaped when the path was", script: "rewrite ^/q/(.*)$ /b?x=$1 last;", target: "/q/a%20b+c",
			research: true, path: "/b", args: "x=a%20b%2Bc", probe: "[a b+c][]"},
		{name: "captures in args escape nginx 1.22's unsafe bytes", script: "rewrite ^/q/(.*)$ /b?x=$1 last;", target: "/q/%22%3C%3E%5C%5E%60%7B%7C%7D'=",
			research: true, path: "/b", args: "x=%22%3C%3E%5C%5E%60%7B%7C%7D'=", probe: "[\"<>\\^`{|}'=][]"},
		{name: "redirect keeps a quote escaped", script: "rewrite ^/r/(.*)$ /d/$1 redirect;", target: "/r/a%22b%3Cc",
			outcome: Redirect, code: 302, url: "/d/a%22b<c", path: "/r/a\"b<c", probe: "[a\"b<c][]"},
		{name: "captures in args raw otherwise", script: "rewrite ^/q/(.*)$ /b?x=$1 last;", target: "/q/a&b",
			research: true, path: "/b", args: "x=a&b", probe: "[a&b][]"},
		{name: "captures in the path raw", script: "rewrite ^/q/(.*)$ /b/$1 last;", target: "/q/a%20b",
			research: true, path: "/b/a b", probe: "[a b][]"},
		{name: "redirect", script: "rewrite ^/r(.*) /t$1 redirect;", target: "/r/x?y=1",
			outcome: Redirect, code: 302, url: "/t/x?y=1", path: "/r/x", args: "y=1", probe: "[/x][]"},
		{name: "permanent with args of its own", script: "rewrite ^ /new?x=1 permanent;", target: "/r?y=2",
			outcome: Redirect, code: 301, url: "/new?x=1&y=2", path: "/r", args: "y=2", probe: "[][]"},
		{name: "redirect without args", script: "rewrite ^ /new?x=1? redirect;", target: "/r?y=2",
			outcome: Redirect, code: 302, url: "/new?x=1", path: "/r", args: "y=2", probe: "[][]"},
		{name: "http URL redirects", script: "rewrite ^/r(.*) http://h$1;", target: "/r/p?y=2",
			outcome: Redirect, code: 302, url: "http://h/p?y=2", path: "/r/p", args: "y=2", probe: "[/p][]"},
		{name: "redirect escapes and unescapes captures", script: "rewrite ^/r/(.*)$ http://h/$1 redirect;", target: "/r/a%20b%2Fc%25d",
			outcome: Redirect, code: 302, url: "http://h/a%20b/c%25d", path: "/r/a b/c%d", probe: "[a b/c%d][]"},
		{name: "return after a rewrite", script: "rewrite ^/a(.*) /b$1; return 200 x;", target: "/a/z",
			outcome: Answer, code: 200, path: "/b/z", probe: "[/z][]"},
		{name: "zero length URI fails", script: "rewrite ^/e(.*)$ $1;", target: "/e",
			outcome: Fail, path: "", probe: "[][]"}, // nginx's $uri is empty then
		{name: "a failed match empties the captures", script: "rewrite ^/(a) /a; rewrite ^/zzz /y;", target: "/a",
			research: true, path: "/a", probe: "[][]"},
		{name: "break after a rewrite", script: "rewrite ^ /b; break; rewrite ^ /c;", target: "/a",
			path: "/b", whole: true, probe: "[][]"},
		{name: "break alone", script: "break; rewrite ^ /c;", target: "/a",
			path: "/a", probe: "[][]"},
		{name: "set and reuse", script: `set $v "a"; set $v "${v}b";`, target: "/",
			path: "/", probe: "[][ab]"},
		{name: "set $args", script: `set $args "n=1";`, target: "/p?z=2",
			path: "/p", args: "n=1", probe: "[][]"},
		{name: "if variable true", script: "if ($arg_a) { set $v yes; }", target: "/?a=1",
			path: "/", args: "a=1", probe: "[][yes]"},
		{name: "if variable 0 is false", script: "if ($arg_a) { set $v yes; }", target: "/?a=0",
			path: "/", args: "a=0", probe: "[][]"},
		{name: "if variable empty is false", script: "if ($arg_a) { set $v yes; }", target: "/?a=",
			path: "/", args: "a=", probe: "[][]"},
		{name: "if equal", script: "if ($arg_a = x) { set $v eq; }", target: "/?a=x",
			path: "/", args: "a=x", probe: "[][eq]"},
		{name: "if equal empty", script: `if ($arg_a = "") { set $v empty; }`, target: "/",
			path: "/", probe: "[][empty]"},
		{name: "if not equal", script: "if ($arg_a != x) { set $v ne; }", target: "/?a=y",
			path: "/", args: "a=y", probe: "[][ne]"},
		{name: "if regex captures", script: `if ($arg_a ~ ^(\d+)x$) { set $v in; } set $w $1;`, target: "/?a=12x",
			path: "/", args: "a=12x", probe: "[12][in]"},
		{name: "if caseless regex", script: `if ($arg_a ~* ^ABC$) { set $v ci; }`, target: "/?a=abc",
			path: "/", args: "a=abc", probe: "[][ci]"},
		{name: "if case-sensitive regex", script: `if ($arg_a ~ ^ABC$) { set $v cs; }`, target: "/?a=abc",
			path: "/", args: "a=abc", probe: "[][]"},
		{name: "if negated regex", script: `if ($arg_a !~ ^ABC$) { set $v nm; }`, target: "/?a=abc",
			path: "/", args: "a=abc", probe: "[][nm]"},
		{name: "if return", script: "if ($arg_a) { return 403; } return 200;", target: "/?a=1",
			outcome: Answer, code: 403, path: "/", args: "a=1", probe: "[][]"},
		{name: "if false skips to after the block", script: "if ($arg_a) { return 403; } return 200;", target: "/",
			outcome: Answer, code: 200, path: "/", probe: "[][]"},
		{name: "break inside if stops everything", script: "if ($arg_a) { break; } return 200;", target: "/?a=1",
			path: "/", args: "a=1", probe: "[][]"},
		{name: "rewrite last inside if", script: "if ($arg_a) { rewrite ^ /in last; } return 200;", target: "/?a=1",
			research: true, path: "/in", args: "a=1", probe: "[][]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, comp := load(t, "server { location /never { set $v x; set $w x; } location / { "+tt.script+" } }")
			loc := cfg.HTTP.Servers[0].Locations[1]
			sc, err := Compile(loc.Settings.Rewrites, loc.Settings, comp)
			if err != nil {
				t.Fatal(err)
			}
			probe, err := comp.Compile("[$1][$v]")
			if err != nil {
				t.Fatal(err)
			}
			st := request(tt.target)
			res := sc.Run(st, nil)
			if res.Outcome != tt.outcome || res.Research != tt.research {
				t.Errorf("outcome %v research %v, want %v %v", res.Outcome, res.Research, tt.outcome, tt.research)
			}
			if tt.outcome == Answer && res.Return.Code != tt.code {
				t.Errorf("return %d, want %d", res.Return.Code, tt.code)
			}
			if tt.outcome == Redirect && (res.Code != tt.code || res.URL != tt.url) {
				t.Errorf("redirect %d %q, want %d %q", res.Code, res.URL, tt.code, tt.url)
			}
			if st.Path != tt.path || st.Args != tt.args || st.WholeURI != tt.whole {
				t.Errorf("path %q args %q whole %v, want %q %q %v", st.Path, st.Args, st.WholeURI, tt.path, tt.args, tt.whole)
			}
			if got := probe.String(st); got != tt.probe {
				t.Errorf("probe %q, want %q", got, tt.probe)
			}
		})
	}
}

func TestFileTests(t *testing.T) {
	dir := t.TempDir()
	file, exe := filepath.Join(dir, "f"), filepath.Join(dir, "x")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(exe, nil, 0o755); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing")
	tests := []struct {
		cond string
		want bool
	}{
		{"-f " + file, true}, {"-f " + dir, false}, {"-f " + missing, false},
		{"!-f " + file, false}, {"!-f " + dir, true}, {"!-f " + missing, true},
		{"-d " + dir, true}, {"-d " + file, false}, {"!-d " + file, true}, {"!-d " + missing, true},
		{"-e " + file, true}, {"-e " + dir, true}, {"-e " + missing, false}, {"!-e " + missing, true},
		{"-x " + exe, true}, {"-x " + file, false}, {"!-x " + file, true}, {"!-x " + missing, true},
		{"-f " + file + "/below", false}, {"!-e " + file + "/below", true},
		{"-f " + dir + "$uri", true},
	}
	for _, tt := range tests {
		t.Run(tt.cond, func(t *testing.T) {
			cfg, comp := load(t, "server { location / { if ("+tt.cond+") { return 204; } } }")
			loc := cfg.HTTP.Servers[0].Locations[0]
			sc, err := Compile(loc.Settings.Rewrites, loc.Settings, comp)
			if err != nil {
				t.Fatal(err)
			}
			var log logLines
			res := sc.Run(request("/f"), &log)
			if got := res.Outcome == Answer; got != tt.want {
				t.Errorf("condition held %v, want %v", got, tt.want)
			}
			if len(log) != 0 {
				t.Errorf("logged %q", log)
			}
		})
	}
}

// TestRewriteLog checks rewrite_log's lines, in nginx 1.22's words.
func TestRewriteLog(t *testing.T) {
	tests := []struct {
		script, target string
		want           []string
	}{
		{"rewrite ^/zz /x; rewrite ^/l/(.*)$ /m/$1?q=1 last;", "/l/a", []string{
			`notice: "^/zz" does not match "/l/a"`,
			`notice: "^/l/(.*)$" matches "/l/a"`,
			`notice: rewritten data: "/m/a", args: "q=1"`,
		}},
		{"rewrite ^/r(.*) /t$1 permanent;", "/r/x?y=1", []string{
			`notice: "^/r(.*)" matches "/r/x"`,
			`notice: rewritten redirect: "/t/x?y=1"`,
		}},
		{`if ($arg_q ~ ^(\d)$) { return 204; }`, "/?q=1", []string{`notice: "^(\d)$" matches "1"`}},
		{"rewrite ^/e(.*)$ $1;", "/e", []string{
			`notice: "^/e(.*)$" matches "/e"`,
			`notice: rewritten data: "", args: ""`,
			`error: the rewritten URI has a zero length`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.script, func(t *testing.T) {
			cfg, comp := load(t, "server { rewrite_log on; location / { "+tt.script+" } }")
			loc := cfg.HTTP.Servers[0].Locations[0]
			sc, err := Compile(loc.Settings.Rewrites, loc.Settings, comp)
			if err != nil {
				t.Fatal(err)
			}
			var log logLines
			sc.Run(request(tt.target), &log)
			if strings.Join(log, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("logged\n%s\nwant\n%s", strings.Join(log, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

// TestRewriteLogOff: without rewrite_log only errors are logged.
func TestRewriteLogOff(t *testing.T) {
	cfg, comp := load(t, "server { location / { rewrite ^/e(.*)$ $1; } }")
	loc := cfg.HTTP.Servers[0].Locations[0]
	sc, err := Compile(loc.Settings.Rewrites, loc.Settings, comp)
	if err != nil {
		t.Fatal(err)
	}
	var log logLines
	sc.Run(request("/e"), &log)
	if len(log) != 1 || log[0] != "error: the rewritten URI has a zero length" {
		t.Errorf("logged %q", log)
	}
}

func TestUnescapeRedirect(t *testing.T) {
	tests := []struct{ in, want string }{
		{"/a%20b", "/a%20b"},       // a space stays escaped
		{"/a%2Fb", "/a/b"},         // printable above '%' is decoded
		{"/a%25b", "/a%25b"},       // '%' itself stays
		{"/a%2fb%41", "/a/bA"},     // lower-case hex
		{"/a%zz", "/a%zz"},         // not an escape
		{"/a%4", "/a%4"},           // cut short
		{"/a?b=%41", "/a?b=%41"},   // nothing after '?'
		{"/%7E%7F%80", "/~%7F%80"}, // DEL and high bytes stay
		// an escaped '?' is decoded and ends the decoding (nginx 1.22.1)
		{"/a%20b%3Fc%25d%7e", "/a%20b?c%25d%7e"},
		{"/a%3fb%41", "/a?b%41"},
	}
	for _, tt := range tests {
		if got := string(unescapeRedirect([]byte(tt.in))); got != tt.want {
			t.Errorf("unescapeRedirect(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// BenchmarkRun measures a typical location script: a regex rewrite with a
// capture and arguments.
func BenchmarkRun(b *testing.B) {
	dir := b.TempDir()
	path := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(path, []byte("http { server { location / { rewrite ^/a/(.*)$ /b/$1?x=$1 last; } } }"), 0o644); err != nil {
		b.Fatal(err)
	}
	cfg, err := config.Load(path, config.LoadOptions{Prefix: dir})
	if err != nil {
		b.Fatal(err)
	}
	loc := cfg.HTTP.Servers[0].Locations[0]
	sc, err := Compile(loc.Settings.Rewrites, loc.Settings, &vars.Compiler{})
	if err != nil {
		b.Fatal(err)
	}
	st := &vars.State{}
	b.ReportAllocs()
	for b.Loop() {
		st.Reset()
		st.RequestURI, st.Path, st.Args = "/a/x?k=1", "/a/x", "k=1"
		sc.Run(st, nil)
	}
}
