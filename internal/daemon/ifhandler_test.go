package daemon_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
)

// uriBackend answers with name and the request line's target.
func uriBackend(t *testing.T, name string) string {
	t.Helper()
	b := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s %s", name, r.RequestURI)
	}))
	t.Cleanup(b.Close)
	return b.Listener.Addr().String()
}

// TestIfHandlerWithLaterIfConfig: an if block in a location that writes
// proxy_pass (or fastcgi_pass, ...) sets nginx's r->content_handler; a later
// if block whose condition holds too becomes the request's configuration
// but, writing no handler, leaves the handler as it is
// (ngx_http_update_location_config). So the first block's handler runs with
// the later block's configuration: without a target of its own or
// inherited from the location, it logs "no upstream configuration" at
// alert and answers 500, which closes the connection and goes through
// error_page. Recorded with nginx 1.22.1 for every row; fulcrum served the
// later block's configuration with its own (static) handler: 404.
func TestIfHandlerWithLaterIfConfig(t *testing.T) {
	dir := t.TempDir()
	b1, b2 := uriBackend(t, "b1"), uriBackend(t, "b2")
	addr := startDaemonLevel(t, dir, "info", fmt.Sprintf(`
    access_log off;
    server {
        listen 127.0.0.1:0;
        location /a { if ($arg_x) { proxy_pass http://%[1]s; } if ($arg_y) { } }
        location /b { if ($arg_x) { proxy_pass http://%[1]s; } if ($arg_y) { set $z 1; } }
        location /c { if ($arg_x) { return 201 first; } if ($arg_y) { } }
        location /d { proxy_pass http://%[1]s; if ($arg_y) { } }
        location /e { proxy_pass http://%[1]s; if ($arg_x) { proxy_pass http://%[2]s; } if ($arg_y) { } }
        location /f { if ($arg_x) { proxy_pass http://%[1]s; } if ($arg_y) { add_header X-A 1; } }
        location /g { if ($arg_x) { proxy_pass http://%[1]s; } if ($arg_y) { return 202 second; } }
        location /h { if ($arg_x) { } if ($arg_y) { proxy_pass http://%[1]s; } }
        location /i { if ($arg_x) { fastcgi_pass 127.0.0.1:1; } if ($arg_y) { } }
        location /j { error_page 500 /err; if ($arg_x) { proxy_pass http://%[1]s; } if ($arg_y) { } }
        location = /err { return 200 "err page"; }
        location /k { if ($arg_x) { proxy_pass http://%[1]s; } if ($arg_y) { } deny all; }
        location /l { if ($arg_x) { proxy_pass http://%[1]s; } if ($arg_y) { } if ($arg_z) { proxy_pass http://%[2]s; } }
    }`, b1, b2))
	tests := []struct {
		target string
		status int
		body   string // a prefix of the body
		alert  bool   // "no upstream configuration" logged
	}{
		{"/a?x=1&y=1", 500, "<html>\r\n<head><title>500 Internal Server Error", true},
		{"/a?x=1", 200, "b1 /a?x=1", false},
		{"/a?y=1", 404, "<html>", false},
		{"/b?x=1&y=1", 500, "<html>", true},
		{"/c?x=1&y=1", 201, "first", false},
		{"/d?y=1", 200, "b1 /d?y=1", false},
		{"/e?x=1&y=1", 200, "b1 /e?x=1&y=1", false}, // the later block inherits the location's
		{"/e?x=1", 200, "b2 /e?x=1", false},
		{"/f?x=1&y=1", 500, "<html>", true},
		{"/g?x=1&y=1", 202, "second", false},
		{"/h?x=1&y=1", 200, "b1 /h?x=1&y=1", false},
		{"/h?x=1", 404, "<html>", false},
		{"/i?x=1&y=1", 500, "<html>", true},
		{"/j?x=1&y=1", 500, "err page", true},
		{"/k?x=1&y=1", 403, "<html>", false}, // the access phase comes first
		{"/l?x=1&y=1&z=1", 200, "b2 /l?x=1&y=1&z=1", false},
		{"/l?x=1&y=1", 500, "<html>", true},
	}
	for _, tc := range tests {
		t.Run(tc.target, func(t *testing.T) {
			resp, body := getNoRedirect(t, "http://"+addr+tc.target)
			if resp.StatusCode != tc.status || !strings.HasPrefix(body, tc.body) {
				t.Errorf("got %d %q, want %d %q...", resp.StatusCode, body, tc.status, tc.body)
			}
			if tc.status == 500 && !resp.Close {
				t.Errorf("500 kept the connection open, nginx closes it")
			}
			if tc.alert {
				waitLogged(t, filepath.Join(dir, "error.log"), "[alert]", "no upstream configuration, client: 127.0.0.1", `request: "GET `+tc.target+` HTTP/1.1"`)
			}
		})
	}
}
