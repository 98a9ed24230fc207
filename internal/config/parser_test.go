package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParseTokens(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want string // Print of the parsed tree
	}{
		{"simple", "worker_processes 2;", "worker_processes 2;\n"},
		{"block", "http { server { listen 80; } }", "http {\n    server {\n        listen 80;\n    }\n}\n"},
		{"comments", "# top\nuser www; # trailing\n", "user www;\n"},
		{"hash inside word", "return 200 a#b;", "return 200 \"a#b\";\n"},
		{"double quotes", `return 200 "a b;{}";`, "return 200 \"a b;{}\";\n"},
		{"single quotes", `add_header X 'it''s';`, ""},
		{"escapes", `return 200 "q\"\\\t\n";`, "return 200 \"q\\\"\\\\\\t\\n\";\n"},
		{"regex escapes kept", `location ~ \.php$ {}`, "location ~ \"\\\\.php$\" {\n}\n"},
		{"braced variable", `return 200 ${host}x;`, "return 200 \"${host}x\";\n"},
		{"empty string", `proxy_set_header Accept-Encoding "";`, "proxy_set_header Accept-Encoding \"\";\n"},
		{"closing brace inside word", "a b}c;", "a \"b}c\";\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tree, err := ParseBytes("/t.conf", []byte(tt.src), ParseOptions{})
			if tt.want == "" {
				if err == nil {
					t.Fatalf("want an error, got %q", Print(tree.Directives))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := Print(tree.Directives); got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"missing semicolon at eof", "user www", `unexpected end of file, expecting ";" or "}" in /t.conf:1`},
		{"missing closing brace", "http {\n server {\n}\n", `unexpected end of file, expecting "}" in /t.conf:4`},
		{"stray closing brace", "user www;\n}\n", `unexpected "}" in /t.conf:2`},
		{"missing semicolon before brace", "http {\n user www\n}\n", `unexpected "}" in /t.conf:3`},
		{"lone semicolon", "\n;", `unexpected ";" in /t.conf:2`},
		{"text after quote", `return 200 "a"b;`, `unexpected "b" in /t.conf:1`},
		{"unterminated quote", "return 200 \"abc;\n", `unexpected end of file, expecting ";" or "}" in /t.conf:2, close the " quote opened on line 1`},
		// An unquoted "{" in a regular expression opens a block early:
		// nginx 1.22.1 stops at that "{", where its handler runs
		// (recorded), not at the unbalanced brace at the end.
		{"location regex cut by a brace", "http {\n server {\n  location ~ ^/(\\d{4})/(.+)$ { return 301 /$2; }\n }\n}\n",
			`pcre2_compile() failed: missing closing parenthesis in "^/(\d" in /t.conf:3, close it; quote a regular expression`},
		{"location class cut by a brace", "http {\n server {\n  location ~ ^/x[a{]$ { }\n }\n}\n",
			`pcre2_compile() failed: missing terminating ] for character class in "^/x[a" in /t.conf:3`},
		{"if regex cut by a brace", "http {\n server {\n  location /x {\n   if ($uri ~ ^/x/(\\d{4})$) { return 404; }\n  }\n }\n}\n",
			`invalid condition "^/x/(\d" in /t.conf:4`},
		{"map key cut by a brace", "http {\n map $uri $new {\n  default \"\";\n  ~^/(\\d{4})/(.*)$ /y/$2;\n }\n server { }\n}\n",
			`unexpected "{" in /t.conf:4, quote a value that holds`},
		{"geo value with a brace", "http {\n geo $g {\n  10.0.0.0/8 {1};\n }\n}\n", `unexpected "{" in /t.conf:3`},
		{"location repeat cut by a brace", "http {\n server {\n  location ~ ^/a{2}$ { }\n }\n}\n",
			`unknown directive "2}$" in /t.conf:3, an unquoted "{" in a regular expression before it opened a block`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseBytes("/t.conf", []byte(tt.src), ParseOptions{})
			if err == nil {
				t.Fatal("want an error")
			}
			if got := err.Error(); !strings.HasPrefix(got, tt.want) {
				t.Errorf("got %q, want prefix %q", got, tt.want)
			}
		})
	}
}

func TestInclude(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("main.conf", "http {\n include conf.d/*.conf;\n include none/*.conf;\n include mime.types;\n}\n")
	write("conf.d/b.conf", "server { listen 2; }\n")
	write("conf.d/a.conf", "server { listen 1; }\n")
	write("mime.types", "types { text/html html; }\n")

	tree, err := ParseFile(filepath.Join(dir, "main.conf"), ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := "http {\n    server {\n        listen 1;\n    }\n    server {\n        listen 2;\n    }\n    types {\n        text/html html;\n    }\n}\n"
	if got := Print(tree.Directives); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	var files []string
	for _, f := range tree.Files {
		files = append(files, filepath.Base(f.Path))
	}
	if wantFiles := []string{"main.conf", "a.conf", "b.conf", "mime.types"}; !reflect.DeepEqual(files, wantFiles) {
		t.Errorf("files %v, want %v", files, wantFiles)
	}
	if got := tree.Directives[0].Block[1].Pos; got.Line != 1 || filepath.Base(got.File) != "b.conf" {
		t.Errorf("included directive position %v, want b.conf:1", got)
	}

	write("missing.conf", "include nope.conf;\n")
	_, err = ParseFile(filepath.Join(dir, "missing.conf"), ParseOptions{})
	if err == nil || !strings.Contains(err.Error(), `open() "`+filepath.Join(dir, "nope.conf")+`" failed (2: No such file or directory) in `) {
		t.Errorf("missing include: got %v", err)
	}

	write("loop.conf", "include loop.conf;\n")
	_, err = ParseFile(filepath.Join(dir, "loop.conf"), ParseOptions{})
	if err == nil || !strings.Contains(err.Error(), "include cycle") {
		t.Errorf("include cycle: got %v", err)
	}
}
