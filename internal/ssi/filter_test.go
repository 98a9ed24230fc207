package ssi

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

// nginxCase is one body served by nginx 1.22.1 with "ssi on" from a
// location /c/ (and /silent/, the same files with ssi_silent_errors on),
// as the request GET /c/NAME.html?x=1: what nginx sent and logged.
type nginxCase struct {
	Name   string   `json:"name"`
	In     string   `json:"in"`
	Out    string   `json:"out"`
	Silent string   `json:"silent"`
	Log    []string `json:"log"`
}

// notFound is nginx's 404 page, as a failed include inserts it.
const notFound = "<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n<center><h1>404 Not Found</h1></center>\r\n<hr><center>nginx/1.22.1</center>\r\n</body>\r\n</html>\r\n"

// testEnv is the request of the recorded cases: $uri, $arg_x, and the
// locations the cases include.
type testEnv struct {
	uri     string
	logs    []string
	alerts  []string
	incs    []string
	aborted bool
}

func (e *testEnv) Variable(dst []byte, name string) ([]byte, bool) {
	switch name {
	case "uri":
		return append(dst, e.uri...), true
	case "arg_x":
		return append(dst, '1'), true
	}
	return dst, false
}

func (e *testEnv) URI() string { return e.uri }

func (e *testEnv) Include(uri, args string, w io.Writer, stub []byte) (bool, error) {
	e.incs = append(e.incs, uri+"?"+args)
	switch uri {
	case "/inc/a.html", "/p/a.html":
		_, err := io.WriteString(w, "INC")
		return false, err
	case "/empty", "/inc/empty.html":
		if stub != nil {
			_, err := w.Write(stub)
			return false, err
		}
		return false, nil
	}
	if stub != nil {
		_, err := w.Write(stub)
		return true, err
	}
	_, err := io.WriteString(w, notFound)
	return true, err
}

// Start runs the include at once, as Include.
func (e *testEnv) Start(uri, args string, stub []byte, part *Part) error {
	_, err := e.Include(uri, args, part, stub)
	part.Finish(nil)
	return err
}

func (e *testEnv) Yield() {}

func (e *testEnv) Done() <-chan struct{} { return nil }

func (e *testEnv) Log(msg string) { e.logs = append(e.logs, msg) }

func (e *testEnv) LogAlert(msg string) { e.alerts = append(e.alerts, msg) }

func (e *testEnv) Abort() { e.aborted = true }

func (e *testEnv) Now() time.Time { return time.Date(2026, 12, 5, 22, 0, 0, 0, time.UTC) }

// run filters in through a Filter, written in pieces of size n (0: at once).
func run(t *testing.T, in string, n int, env Env, opts Options) string {
	t.Helper()
	var out bytes.Buffer
	var f Filter
	f.Reset(&out, env, nil, opts)
	b := []byte(in)
	for len(b) > 0 {
		k := len(b)
		if n > 0 {
			k = min(n, k)
		}
		if _, err := f.Write(b[:k]); err != nil {
			t.Fatal(err)
		}
		b = b[k:]
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

// TestNginxCases replays the bodies recorded from nginx: the same output,
// whole or fed a byte at a time, and the same error log lines.
func TestNginxCases(t *testing.T) {
	data, err := os.ReadFile("testdata/nginx.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []nginxCase
	if err := json.Unmarshal(data, &cases); err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			for _, n := range []int{0, 1, 7} {
				env := &testEnv{uri: "/c/" + c.Name + ".html"}
				if got := run(t, c.In, n, env, Options{}); got != c.Out {
					t.Errorf("chunks of %d: got %q, nginx sent %q", n, got, c.Out)
				}
				logs := env.logs
				if !slices.Equal(logs, c.Log) {
					t.Errorf("chunks of %d: logged %q, nginx %q", n, logs, c.Log)
				}
				env = &testEnv{uri: "/silent/" + c.Name + ".html"}
				if got := run(t, c.In, n, env, Options{SilentErrors: true}); got != c.Silent {
					t.Errorf("silent, chunks of %d: got %q, nginx sent %q", n, got, c.Silent)
				}
			}
		})
	}
}

// TestRegexDollar: a '$' in a regex starts a variable unless escaped, as
// nginx 1.22.1 answered.
func TestRegexDollar(t *testing.T) {
	in := `<!--# set var="who" value="admin" --><!--# if expr="$who = /^(ad)min$/" -->admin $1<!--# else -->guest<!--# endif -->|<!--# if expr="$who = /^(ad)min\$/" -->admin <!--# echo var="1" --><!--# else -->guest<!--# endif -->`
	want := DefaultErrmsg + "admin $1" + DefaultErrmsg + "guest" + DefaultErrmsg + "|admin ad"
	if got := run(t, in, 0, &testEnv{uri: "/"}, Options{}); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestRegexMatchLimit: an "if" whose regex match hits the backtracking
// engine's bound fails the command, its error logged at alert, as nginx
// 1.22.1 answered "[an error occurred while processing the
// directive]yes[...]no[...]" for this body (the else and endif then out of
// context) and logged "[alert] ... pcre2_match() failed: -47 on ...".
func TestRegexMatchLimit(t *testing.T) {
	long := strings.Repeat("a", 40) + "cb"
	in := `<!--# if expr="` + long + ` = /^(a|aa)+(?!x)b/" -->yes<!--# else -->no<!--# endif -->`
	want := DefaultErrmsg + "yes" + DefaultErrmsg + "no" + DefaultErrmsg
	env := &testEnv{uri: "/"}
	if got := run(t, in, 0, env, Options{}); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	alert := `regular expression match limit exceeded (20ms) on "` + long + `" using "^(a|aa)+(?!x)b"`
	if !slices.Equal(env.alerts, []string{alert}) {
		t.Errorf("alerts %q, want %q", env.alerts, alert)
	}
}

func TestValueLength(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{`<!--# set var="a" value="12345678" --><!--# echo var="a" -->`, "12345678"},
		{`<!--# set var="a" value="123456789" --><!--# echo var="a" -->`, DefaultErrmsg + "(none)"},
	}
	for _, tt := range tests {
		env := &testEnv{uri: "/"}
		if got := run(t, tt.in, 0, env, Options{ValueLength: 8}); got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestDates(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		// nginx 1.22.1 on a host whose local zone is UTC.
		{`<!--# echo var="date_gmt" -->|<!--# echo var="date_local" -->`, "Saturday, 05-Dec-2026 22:00:00 GMT|Saturday, 05-Dec-2026 22:00:00 UTC"},
		{`<!--# config timefmt="%a %e %j %p %I %y %z %c %D %T %u %w %C %k %F %R %r %%" --><!--# echo var="date_gmt" -->`,
			"Sat  5 339 PM 10 26 +0000 Sat Dec  5 22:00:00 2026 12/05/26 22:00:00 6 6 20 22 2026-12-05 22:00 10:00:00 PM %"},
		{`<!--# config timefmt="%s" --><!--# echo var="date_gmt" -->`, "1796508000"},
		{`<!--# config timefmt="%Y-%m-%d %H:%M %a %b %j %%" --><!--# echo var="date_gmt" -->`, "2026-12-05 22:00 Sat Dec 339 %"},
	}
	for _, tt := range tests {
		env := &testEnv{uri: "/"}
		if got := run(t, tt.in, 0, env, Options{}); got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestSetLimit: a body longer than subrequest_output_buffer_size ends the
// response (nginx sends nothing at all: it closes the connection).
func TestSetLimit(t *testing.T) {
	tests := []struct {
		limit   int
		want    string
		aborted bool
	}{
		{3, "[INC]", false},
		{2, "", true},
	}
	for _, tt := range tests {
		env := &testEnv{uri: "/"}
		var out bytes.Buffer
		var f Filter
		f.Reset(&out, env, nil, Options{SetLimit: tt.limit})
		_, err := f.Write([]byte(`<!--# include virtual="/inc/a.html" set="v" -->[<!--# echo var="v" -->]`))
		if got := out.String(); got != tt.want || env.aborted != tt.aborted || (err != nil) != tt.aborted {
			t.Errorf("limit %d: got %q, aborted %v, err %v", tt.limit, got, env.aborted, err)
		}
		if tt.aborted && !slices.Equal(env.logs, []string{"too big subrequest response: 3"}) {
			t.Errorf("logged %q", env.logs)
		}
	}
}

func TestSplitUnsafeURI(t *testing.T) {
	tests := []struct {
		in, path, args string
		ok             bool
	}{
		{"/a/b.html", "/a/b.html", "", true},
		{"/a?x=1&y", "/a", "x=1&y", true},
		{"/a/../b", "/a/../b", "", false},
		{"/a/..", "/a/..", "", false},
		{"../a", "../a", "", false},
		{"/a/..b", "/a/..b", "", true},
		{"/a?../b", "/a", "../b", true},
		{"?x", "?x", "", false},
		{"/a%2F..%2Fb", "/a/../b", "", false}, // nginx 1.22.1 logs the decoded URI
		{"/h/a%2Ehtml", "/h/a.html", "", true},
		// A decoded '?' is part of the path (recorded with nginx 1.22.1:
		// "/test1.html%3ftest=test" opens the file "test1.html?test=test";
		// nginx-tests' ssi.t, "escaped question in path", "escaped query
		// separator"), and the decoded URI is judged for NUL and "..".
		{"/unescape.html%3f", "/unescape.html?", "", true},
		{"/test1.html%3ftest=test", "/test1.html?test=test", "", true},
		{"/test1.html%3ftest=test?test=b", "/test1.html?test=test", "test=b", true},
		{"/%2e%2e/x", "/../x", "", false},
		{"/a%00b", "/a\x00b", "", false},
		{"/a%3f..%2fb", "/a?../b", "", true}, // ".." after the "?" is no segment
	}
	for _, tt := range tests {
		path, args, ok := splitUnsafeURI(tt.in)
		if path != tt.path || args != tt.args || ok != tt.ok {
			t.Errorf("%q: got %q %q %v", tt.in, path, args, ok)
		}
	}
}

func FuzzFilter(f *testing.F) {
	f.Add(`<!--# if expr="$a = /(x)/" -->a<!--# block name="b" -->c<!--# endblock --><!--# endif -->`)
	f.Fuzz(func(t *testing.T, in string) {
		env := &testEnv{uri: "/"}
		whole := run(t, in, 0, env, Options{})
		if bytes := run(t, in, 1, &testEnv{uri: "/"}, Options{}); bytes != whole && !strings.Contains(in, "date_") {
			t.Errorf("%q: whole %q, by bytes %q", in, whole, bytes)
		}
	})
}

// TestRegexPCRE2Refusal: an "if" whose regex PCRE2 refuses logs nginx's
// own line (recorded with nginx 1.22.1, where Go's regexp took the class):
// `pcre2_compile() failed: invalid range in character class in "[\w-.]"
// at "-.]"`, and the directive fails.
func TestRegexPCRE2Refusal(t *testing.T) {
	env := &testEnv{uri: "/t.html"}
	in := `A<!--# if expr="$uri = /[\w-.]/" -->B<!--# endif -->C`
	want := "A[an error occurred while processing the directive]B[an error occurred while processing the directive]C"
	if got := run(t, in, 0, env, Options{}); got != want {
		t.Errorf("got %q", got)
	}
	line := `pcre2_compile() failed: invalid range in character class in "[\w-.]" at "-.]"`
	if len(env.logs) == 0 || env.logs[0] != line {
		t.Errorf("logged %q, want %q first", env.logs, line)
	}
}
