package daemon_test

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
)

// TestSetEscapesCaptures checks what "set $s $1;" stores, as nginx 1.22.1
// does it (recorded), and what an if compares with or tests as a file
// ("if ($arg_v = $1)", "if (-f DIR/$1)"): while no rewrite in the run has matched, a capture
// ($1, not a named one) is escaped as arguments are (NGX_ESCAPE_ARGS) when
// the request's path had an escape or a '+', so "set $p $1; proxy_pass
// http://b/$p;" sends "/p/x%20y" for /f/x%20y, not a raw space. A rewrite
// that matched ends it for the rest of the run; return and named captures
// are never escaped.
func TestSetEscapesCaptures(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"a b", "ab"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	backend := echoBackend(t)
	addr := startDaemon(t, dir, `
    access_log off;
    server {
        listen 127.0.0.1:0;
        location ~ ^/a/(.*)$ { set $s $1; return 200 "[$s]"; }
        location ~ ^/b/(.*)$ { if ($uri ~ ^/b/(.*)$) { set $s $1; } return 200 "[$s]"; }
        location ~ ^/c/(.*)$ { rewrite ^/c/(.*)$ /c/$1; set $s $1; return 200 "[$s]"; }
        location ~ ^/e/(.*)$ { set $s "pre-$1-post"; return 200 "[$s]"; }
        location ~ ^/n/(?<name>.*)$ { set $s $name; return 200 "[$s] [$1]"; }
        location ~ ^/f/(.*)$ { set $s $1; proxy_pass http://`+backend+`/p/$s; }
        location ~ ^/i/(.*)$ { set $s $1; rewrite ^/i/(.*)$ /r/$s last; }
        location ~ ^/j/(.*)$ { if ($arg_z ~ (.*)) { set $s $1; } return 200 "[$s]"; }
        location ~ ^/ic/(.*)$ { if ($arg_v = $1) { return 200 "eq"; } return 200 "ne"; }
        location ~ ^/if/(.*)$ { if (-f `+dir+`/$1) { return 200 "file"; } return 200 "nofile"; }
        location /r/ { return 200 "r [$uri]"; }
    }`)
	tests := []struct{ target, want string }{
		{"/a/x%20y", "[x%20y]"},
		{"/a/x+y", "[x%2By]"},
		{"/a/x&y%20", "[x%26y%20]"},
		{"/a/caf%C3%A9", "[caf%C3%A9]"},
		{"/a/q%3Fz", "[q%3Fz]"},
		{"/a/p%25", "[p%25]"},
		{"/a/x%2Fy", "[x/y]"},
		{"/a/%3C%3E%20", "[%3C%3E%20]"},
		{"/a/plain", "[plain]"}, // nothing escaped in the path: copied
		{"/b/x%20y", "[x%20y]"}, // an if's regex keeps it on
		{"/c/x%20y", "[x y]"},   // a rewrite that matched ends it
		{"/e/x%20y", "[pre-x%20y-post]"},
		{"/n/x%20y", "[x y] [x y]"}, // a named capture, and return's $1
		{"/f/x%20y", "backend /p/x%20y x-set="},
		{"/f/x+y", "backend /p/x%2By x-set="},
		{"/i/x%20y", "r [/r/x%20y]"},
		{"/j/u%20v?z=a%20b", "[a%2520b]"},
		{"/j/u?z=a%20b", "[a%20b]"},
		{"/ic/a%20b?v=a%20b", "eq"}, // the capture is "a%20b"
		{"/ic/ab?v=ab", "eq"},
		{"/if/a%20b", "nofile"}, // DIR/a%20b, not DIR/a b
		{"/if/ab", "file"},      // nothing escaped in the path
	}
	for _, tt := range tests {
		resp, body := getNoRedirect(t, "http://"+addr+tt.target)
		if resp.StatusCode != 200 || body != tt.want {
			t.Errorf("%s: %d %q, want 200 %q", tt.target, resp.StatusCode, body, tt.want)
		}
	}
}

// TestNamedCaptureOverridesMap checks that a named capture of a map's (or a
// volatile map's) name gives the variable its value once a regex matched, as
// nginx 1.22.1 answers (recorded; nginx-tests rewrite_named_captures.t):
// "rewrite ^(?<map>.*) /; return 200 $map;" is the URI, whether the map is
// defined before the server or after it; a location whose regex did not
// match keeps the map's value.
func TestNamedCaptureOverridesMap(t *testing.T) {
	addr := startDaemon(t, t.TempDir(), `
    access_log off;
    map $uri $map { default map; }
    map $uri $vol { volatile; default vol; }
    server {
        listen 127.0.0.1:0;
        location /map/rewrite { rewrite ^(?<map>.*) /; return 200 "value: $map"; }
        location /vol/rewrite { rewrite ^(?<vol>.*) /; return 200 "value: $vol"; }
        location /late/rewrite { rewrite ^(?<late>.*) /; return 200 "value: $late"; }
        location /late { return 200 "value: $late"; }
    }
    map $uri $late { default map; }`)
	tests := []struct{ target, want string }{
		{"/map/rewrite", "value: /map/rewrite"},
		{"/vol/rewrite", "value: /vol/rewrite"},
		{"/late/rewrite", "value: /late/rewrite"},
		{"/late", "value: map"},
	}
	for _, tt := range tests {
		resp, body := getNoRedirect(t, "http://"+addr+tt.target)
		if resp.StatusCode != 200 || body != tt.want {
			t.Errorf("%s: %d %q, want 200 %q", tt.target, resp.StatusCode, body, tt.want)
		}
	}
}

// TestSetPrefixedVariableElsewhere checks that "set $http_bar ...;" in one
// location leaves $http_bar the request's Bar field in the locations that
// do not set it, as nginx 1.22.1 answers (recorded; nginx-tests
// rewrite_set.t): set's variable is weak, and a prefixed name keeps its
// family's value until a set gives it one.
func TestSetPrefixedVariableElsewhere(t *testing.T) {
	addr := startDaemon(t, t.TempDir(), `
    access_log off;
    server {
        listen 127.0.0.1:0;
        location /t1.html { set $http_foo "set_foo"; ssi on; return 200 'X<!--#echo var="http_foo" -->X'; }
        location /t2.html { ssi on; return 200 'X<!--#echo var="http_bar" -->X'; }
        location /t5 { return 200 'X${http_bar}X${arg_a}X'; }
        location /t6 { set $x $http_bar; return 200 'X${x}X'; }
        location /other { set $http_bar "set_bar"; set $arg_a "set_a"; }
    }`)
	tests := []struct{ target, want string }{
		{"/t1.html", "Xset_fooX"},
		{"/t2.html", "Xhttp_barX"},
		{"/t5?a=1", "Xhttp_barX1X"},
		{"/t6", "Xhttp_barX"},
	}
	for _, tt := range tests {
		req, err := http.NewRequest("GET", "http://"+addr+tt.target, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Foo", "http_foo")
		req.Header.Set("Bar", "http_bar")
		resp, err := noRedirects.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(body) != tt.want {
			t.Errorf("%s: %d %q, want 200 %q", tt.target, resp.StatusCode, body, tt.want)
		}
	}
}
