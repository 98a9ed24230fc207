package daemon_test

import (
	"fmt"
	"net/http"
	"path/filepath"
	"testing"
)

// TestRedirectCycleLine: the internal redirect that uses up the request's
// URI changes is logged as nginx 1.22.1 logs it (recorded): with the
// request's context, naming the redirect's target, a named location's in
// ngx_http_named_location's words. The answer is 500 in every case.
func TestRedirectCycleLine(t *testing.T) {
	dir := t.TempDir()
	addr := startDaemon(t, dir, fmt.Sprintf(`
    access_log off;
    server {
        listen 127.0.0.1:0;
        server_name c.test;
        root %s;
        recursive_error_pages on;
        location /n/ { try_files /nope @n; }
        location @n { try_files /nope @n; }
        location /c1/ { error_page 404 /c2/x; return 404; }
        location /c2/ { error_page 404 /c1/y; return 404; }
        location /e1/ { error_page 404 @e; return 404; }
        location @e { error_page 404 @e; return 404; }
    }`, dir))
	for _, tc := range []struct{ path, line string }{
		{"/n/a", `rewrite or internal redirection cycle while redirect to named location "@n"`},
		{"/c1/a", `rewrite or internal redirection cycle while internally redirecting to "/c2/x"`},
		{"/e1/a", `rewrite or internal redirection cycle while redirect to named location "@e"`},
	} {
		t.Run(tc.path, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodGet, "http://"+addr+tc.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Host = "c.test"
			resp, err := noRedirects.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusInternalServerError {
				t.Errorf("status %d, want 500", resp.StatusCode)
			}
			waitLogged(t, filepath.Join(dir, "error.log"), "[error]", tc.line+`, client: 127.0.0.1, server: c.test, request: "GET `+tc.path+` HTTP/1.1", host: "c.test"`)
		})
	}
}
