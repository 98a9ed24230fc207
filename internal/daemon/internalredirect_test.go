package daemon_test

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestInternalRedirectDirective: NGINX Plus's internal_redirect "allows
// making an internal redirect. In contrast to rewriting URIs, the
// redirection is made after checking request and connection processing
// limits, and access limits": limit_req and deny answer before it; it
// takes a URI (with arguments) or a named location, with variables; an
// empty value makes no redirect and the location's own content answers.
func TestInternalRedirectDirective(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"empty", "own"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("file "+f), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	addr := startDaemon(t, dir, strings.ReplaceAll(`
    limit_req_zone $uri zone=one:1m rate=1r/m;
    server {
        listen 127.0.0.1:0;
        server_tokens off;
        root DIR;
        location /limited { limit_req zone=one; internal_redirect /target; }
        location /denied { deny all; internal_redirect /target; }
        location /named { internal_redirect @named; }
        location /vars { internal_redirect /target$arg_to?x=$arg_x; }
        location /empty { internal_redirect $arg_to; }
        location /missing { internal_redirect @$arg_to; }
        location /own { internal_redirect /target; }
        location /rewritten { rewrite ^ /own; }
        location /loop { internal_redirect /loop2; }
        location /loop2 { internal_redirect /loop; }
        location /target { internal; return 200 "target $uri $args $request_method"; }
        location @named { return 200 "named $uri $args"; }
    }`, "DIR", dir))
	checkAnswers(t, addr, []redirectCase{
		// limit_req lets the first request in, then refuses before the redirect.
		{"/limited", 200, "target /target  GET"},
		{"/limited", 503, "<html>\r\n<head><title>503 Service Temporarily Unavailable</title></head>\r\n<body>\r\n<center><h1>503 Service Temporarily Unavailable</h1></center>\r\n<hr><center>fulcrum</center>\r\n</body>\r\n</html>\r\n"},
		{"/denied", 403, "<html>\r\n<head><title>403 Forbidden</title></head>\r\n<body>\r\n<center><h1>403 Forbidden</h1></center>\r\n<hr><center>fulcrum</center>\r\n</body>\r\n</html>\r\n"},
		// A named location keeps the URI and its arguments.
		{"/named?a=1", 200, "named /named a=1"},
		{"/vars?to=/x&x=7", 200, "target /target/x x=7 GET"},
		// Empty after its variables: no redirect, the file is served.
		{"/empty", 200, "file empty"},
		{"/empty?to=/target", 200, "target /target  GET"},
		{"/missing?to=nowhere", 500, "<html>\r\n<head><title>500 Internal Server Error</title></head>\r\n<body>\r\n<center><h1>500 Internal Server Error</h1></center>\r\n<hr><center>fulcrum</center>\r\n</body>\r\n</html>\r\n"},
		// A rewrite to a location with internal_redirect: that location's
		// redirect runs too.
		{"/rewritten", 200, "target /target  GET"},
		{"/loop", 500, "<html>\r\n<head><title>500 Internal Server Error</title></head>\r\n<body>\r\n<center><h1>500 Internal Server Error</h1></center>\r\n<hr><center>fulcrum</center>\r\n</body>\r\n</html>\r\n"},
	})
	// The method stays (an internal redirect, not error_page's GET).
	resp, err := http.Post("http://"+addr+"/own", "text/plain", strings.NewReader("body"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if got := fmt.Sprintf("%d %s", resp.StatusCode, b); got != "200 target /target  POST" {
		t.Errorf("POST /own: %s, want 200 target /target  POST", got)
	}
	log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
	for _, want := range []string{`could not find named location "@nowhere"`, "rewrite or internal redirection cycle"} {
		if !strings.Contains(string(log), want) {
			t.Errorf("error log lacks %q:\n%s", want, log)
		}
	}
}

// TestInternalRedirectAfterAuth is the documentation's example: the
// redirect comes after the access phase (here auth_basic, for NGINX Plus's
// auth_jwt), so the limit_req of the named location counts only the
// requests that authenticated; unauthenticated ones get 401 and do not use
// up the rate.
func TestInternalRedirectAfterAuth(t *testing.T) {
	dir := t.TempDir()
	for name, text := range map[string]string{"htpasswd": "u:{PLAIN}p\n", "index.html": "served"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	addr := startDaemon(t, dir, strings.ReplaceAll(`
    limit_req_zone $remote_user zone=per_user:1m rate=1r/m;
    server {
        listen 127.0.0.1:0;
        location / {
            auth_basic "realm";
            auth_basic_user_file DIR/htpasswd;
            internal_redirect @rate_limited;
        }
        location @rate_limited {
            limit_req zone=per_user;
            root DIR; # a content handler: "return" would answer before limit_req
        }
    }`, "DIR", dir))
	do := func(user string) int {
		t.Helper()
		req, _ := http.NewRequest("GET", "http://"+addr+"/", nil)
		if user != "" {
			req.SetBasicAuth(user, "p")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	for i, tc := range []struct {
		user string
		want int
	}{{"", 401}, {"x", 401}, {"", 401}, {"u", 200}, {"u", 503}, {"", 401}} {
		if got := do(tc.user); got != tc.want {
			t.Errorf("request %d (user %q): %d, want %d", i+1, tc.user, got, tc.want)
		}
	}
}
