package daemon_test

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRecursiveErrorPages checks recursive_error_pages against what nginx
// 1.22 answered for the same server: with it off (the default) the first
// error_page is the last, and an error of the error page's own location
// gets the plain page; with it on the error page's error follows that
// location's error_page in turn, until nginx's ten internal redirects are
// used up (a 500, with no error_page for it). The location where an error
// happens decides: /c turns it off for its own error, so /d's error gets the
// plain page; /h turns it off too, but its own error_page is still followed
// (nginx marks the request and then looks for the page), so /g ends at /b.
func TestRecursiveErrorPages(t *testing.T) {
	locations := `
        error_page 404 /a;
        location / { return 404; }
        location /a { error_page 404 /b; return 404; }
        location /b { return 200 "b $uri\n"; }
        location /loop { error_page 404 /loop2; return 404; }
        location /loop2 { error_page 404 /loop; error_page 500 /b; return 404; }
        location /c { recursive_error_pages off; error_page 404 /d; return 404; }
        location /d { error_page 404 /b; return 404; }
        location /e { error_page 404 = /f; return 404; }
        location /f { error_page 503 =200 /b; return 503; }
        location /g { recursive_error_pages on; error_page 404 /h; return 404; }
        location /h { recursive_error_pages off; error_page 404 /b; return 404; }
`
	type answer struct {
		status int
		body   string // the body, or for a plain error page the text it contains
	}
	tests := []struct {
		mode string
		want map[string]answer
	}{
		{"on", map[string]answer{
			"/x":    {404, "b /b\n"},
			"/loop": {500, "500 Internal Server Error"},
			"/c":    {404, "404 Not Found"},
			"/e":    {200, "b /b\n"},
			"/g":    {404, "b /b\n"},
		}},
		{"off", map[string]answer{
			"/x":    {404, "404 Not Found"},
			"/loop": {404, "404 Not Found"},
			"/c":    {404, "404 Not Found"},
			"/e":    {503, "503 Service Temporarily Unavailable"},
			"/g":    {404, "b /b\n"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			dir := t.TempDir()
			addr, _ := runConfig(t, dir, fmt.Sprintf(`pid %s/fulcrum.pid;
error_log %s/error.log info;
http {
    access_log off;
    server {
        listen 127.0.0.1:0;
        recursive_error_pages %s;
%s
    }
}
`, dir, dir, tt.mode, locations))
			for path, want := range tt.want {
				resp, err := noRedirects.Get("http://" + addr + path)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != want.status {
					t.Errorf("%s: status %d, want %d (body %q)", path, resp.StatusCode, want.status, body)
				}
				if want.body != string(body) && (strings.HasSuffix(want.body, "\n") || !strings.Contains(string(body), want.body)) {
					t.Errorf("%s: body %q, want %q", path, body, want.body)
				}
			}
			logged, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			cycle := strings.Contains(string(logged), "rewrite or internal redirection cycle while internally redirecting to")
			if cycle != (tt.mode == "on") {
				t.Errorf("redirection cycle logged: %v, want %v:\n%s", cycle, tt.mode == "on", logged)
			}
		})
	}
}
