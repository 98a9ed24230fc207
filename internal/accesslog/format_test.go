package accesslog

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"fulcrum/internal/config"
	"fulcrum/internal/vars"
)

// TestCombinedLine checks the predefined combined format byte for byte against
// the lines nginx writes for the same requests.
func TestCombinedLine(t *testing.T) {
	plus1 := time.FixedZone("CET", 3600)
	tests := []struct {
		name string
		now  time.Time
		edit func(st *vars.State)
		want string
	}{
		{
			name: "curl",
			now:  testTime,
			edit: func(*vars.State) {},
			want: `127.0.0.1 - - [25/Nov/2026:01:24:22 +0000] "GET / HTTP/1.1" 200 5 "-" "curl/8.0"`,
		},
		{
			name: "user, referer, query, local zone",
			now:  testTime.In(plus1),
			edit: func(st *vars.State) {
				st.RequestURI = "/x?y=1"
				st.Header = vars.HeaderMap{
					"User-Agent":    {"curl/8.0"},
					"Referer":       {"http://example.com/"},
					"Authorization": {"Basic YWxpY2U6cHc="}, // alice:pw
				}
				st.Status, st.BodyBytesSent = 404, 0
			},
			want: `127.0.0.1 - alice [25/Nov/2026:02:24:22 +0100] "GET /x?y=1 HTTP/1.1" 404 0 "http://example.com/" "curl/8.0"`,
		},
		{
			name: "no request line",
			now:  testTime,
			edit: func(st *vars.State) {
				st.Method, st.RequestURI, st.Path, st.Proto = "", "", "", ""
				st.Header = nil
				st.Status, st.BodyBytesSent = 400, 0
			},
			want: `127.0.0.1 - - [25/Nov/2026:01:24:22 +0000] "-" 400 0 "-" "-"`,
		},
		{
			name: "quote in user agent, ipv6 client",
			now:  testTime,
			edit: func(st *vars.State) {
				st.Remote = netip.MustParseAddrPort("[::1]:50312")
				st.Header = vars.HeaderMap{"User-Agent": {`Mozilla "x"`}}
			},
			want: `::1 - - [25/Nov/2026:01:24:22 +0000] "GET / HTTP/1.1" 200 5 "-" "Mozilla \x22x\x22"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := tempPath(t, "access.log")
			files := NewFiles(FilesOptions{})
			logs := NewLogs(files, fixedCompiler(tt.now))
			lg := mustLogger(t, logs, logTo(path, nil, Params{}))
			st := curlState()
			tt.edit(st)
			lg.Log(st)
			if err := files.Close(); err != nil {
				t.Fatal(err)
			}
			if got := readFile(t, path); got != tt.want+"\n" {
				t.Errorf("line\n got %q\nwant %q", got, tt.want+"\n")
			}
		})
	}
}

// TestEscape checks escape=default, json and none: variable values are
// escaped, literal text is not, and a variable that is not found prints "-"
// only with default.
func TestEscape(t *testing.T) {
	const jsonish = `{"ua":"$http_user_agent","ref":"$http_referer","s":$status} é\`
	tests := []struct {
		escape, tmpl, want string
	}{
		{"default", jsonish, `{"ua":"a\x22b\x5Cc\x01\xC3\xA9\x0A\x7F~","ref":"-","s":200} é\`},
		{"", jsonish, `{"ua":"a\x22b\x5Cc\x01\xC3\xA9\x0A\x7F~","ref":"-","s":200} é\`},
		{"json", jsonish, "{\"ua\":\"a\\\"b\\\\c\\u0001\xc3\xa9\\n\x7f~\",\"ref\":\"\",\"s\":200} é\\"},
		{"none", jsonish, "{\"ua\":\"a\"b\\c\x01\xc3\xa9\n\x7f~\",\"ref\":\"\",\"s\":200} é\\"},
		{"default", `$request_method "$request_uri"`, `GET "/a%20b\x22"`},
	}
	for _, tt := range tests {
		t.Run(tt.escape+" "+tt.tmpl, func(t *testing.T) {
			f, err := NewFormat(fixedCompiler(testTime), format("f", tt.escape, tt.tmpl))
			if err != nil {
				t.Fatal(err)
			}
			st := curlState()
			st.RequestURI = `/a%20b"`
			st.Header = vars.HeaderMap{"User-Agent": {"a\"b\\c\x01\xc3\xa9\n\x7f~"}}
			if got := string(f.AppendLine(nil, st)); got != tt.want+"\n" {
				t.Errorf("line\n got %q\nwant %q", got, tt.want+"\n")
			}
		})
	}
}

// TestFormatErrors checks that a bad log_format fails at load with nginx's
// message and the format's position.
func TestFormatErrors(t *testing.T) {
	pos := config.Pos{File: "/etc/fulcrum/fulcrum.conf", Line: 12}
	tests := []struct {
		lf   config.LogFormat
		want string
	}{
		{config.LogFormat{Name: "a", Template: "$nosuchvar", Pos: pos},
			`unknown "nosuchvar" variable in /etc/fulcrum/fulcrum.conf:12`},
		{config.LogFormat{Name: "b", Escape: "xml", Template: "$status", Pos: pos},
			`unknown log format escaping "xml" in /etc/fulcrum/fulcrum.conf:12`},
		{config.LogFormat{Name: "c", Template: "${status"}, `the closing bracket in "status" variable is missing`},
	}
	for _, tt := range tests {
		t.Run(tt.lf.Name, func(t *testing.T) {
			_, err := NewFormat(&vars.Compiler{}, &tt.lf)
			if err == nil || err.Error() != tt.want {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

// TestFormatAccessors checks Name and Escape.
func TestFormatAccessors(t *testing.T) {
	f, err := NewFormat(&vars.Compiler{}, format("main", "json", "$status"))
	if err != nil {
		t.Fatal(err)
	}
	if f.Name() != "main" || f.Escape() != vars.EscapeJSON {
		t.Errorf("Name, Escape = %q, %v", f.Name(), f.Escape())
	}
	if !strings.Contains(Combined, "$http_user_agent") {
		t.Errorf("Combined = %q", Combined)
	}
}

// TestCompileFormats checks that every log_format is compiled, used or not,
// and that a Logger reuses the compiled format.
func TestCompileFormats(t *testing.T) {
	good := format("main", "json", "$status")
	formats := map[string]*config.LogFormat{
		"combined": format("combined", "", Combined),
		"main":     good,
		"unused":   {Name: "unused", Template: "$nosuch", Pos: config.Pos{File: "/f.conf", Line: 3}},
		"zbad":     format("zbad", "yaml", "$status"),
	}
	logs := NewLogs(NewFiles(FilesOptions{}), &vars.Compiler{})
	err := logs.CompileFormats(formats)
	want := `unknown "nosuch" variable in /f.conf:3` + "\n" + `unknown log format escaping "yaml"`
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %q", err, want)
	}
	compiled := logs.formats[good]
	if compiled == nil {
		t.Fatal("main was not compiled")
	}
	if f, err := logs.format(good); err != nil || f != compiled {
		t.Errorf("format compiled twice")
	}
	if err := logs.CompileFormats(map[string]*config.LogFormat{"main": good}); err != nil {
		t.Errorf("good formats: %v", err)
	}
}
