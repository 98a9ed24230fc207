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
// error_page (memcached_pass's handler reads its key first and logs
// "unknown variable index" and "the "$memcached_key" variable is not set"
// instead). Recorded with nginx 1.22.1 for every row; fulcrum served the
// later block's configuration with its own (static) handler: 404.
func TestIfHandlerWithLaterIfConfig(t *testing.T) {
	const noUpstream = "no upstream configuration"
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
        location /m { set $memcached_key $uri; if ($arg_x) { memcached_pass 127.0.0.1:1; } if ($arg_y) { } }
        location /v { set $b %[1]s; if ($arg_x) { proxy_pass http://$b; } if ($arg_y) { } }
        location /p { proxy_pass http://%[1]s; if ($arg_x) { fastcgi_pass 127.0.0.1:1; } if ($arg_y) { } }
        location /r { if ($arg_x) { proxy_pass http://%[1]s; } if ($arg_y) { rewrite ^ /err last; } }
    }`, b1, b2))
	tests := []struct {
		target string
		status int
		body   string // a prefix of the body
		alert  string // the alert logged, if any
	}{
		{"/a?x=1&y=1", 500, "<html>\r\n<head><title>500 Internal Server Error", noUpstream},
		{"/a?x=1", 200, "b1 /a?x=1", ""},
		{"/a?y=1", 404, "<html>", ""},
		{"/b?x=1&y=1", 500, "<html>", noUpstream},
		{"/c?x=1&y=1", 201, "first", ""},
		{"/d?y=1", 200, "b1 /d?y=1", ""},
		{"/e?x=1&y=1", 200, "b1 /e?x=1&y=1", ""}, // the later block inherits the location's
		{"/e?x=1", 200, "b2 /e?x=1", ""},
		{"/f?x=1&y=1", 500, "<html>", noUpstream},
		{"/g?x=1&y=1", 202, "second", ""},
		{"/h?x=1&y=1", 200, "b1 /h?x=1&y=1", ""},
		{"/h?x=1", 404, "<html>", ""},
		{"/i?x=1&y=1", 500, "<html>", noUpstream},
		{"/j?x=1&y=1", 500, "err page", noUpstream},
		{"/k?x=1&y=1", 403, "<html>", ""}, // the access phase comes first
		{"/l?x=1&y=1&z=1", 200, "b2 /l?x=1&y=1&z=1", ""},
		{"/l?x=1&y=1", 500, "<html>", noUpstream},
		// memcached's handler reads its key first, with the index the
		// later block never set
		{"/m?x=1&y=1", 500, "<html>", "unknown variable index: 18446744073709551615"},
		{"/v?x=1&y=1", 500, "<html>", noUpstream}, // a pass with variables alike
		{"/v?x=1", 200, "b1 /v?x=1", ""},
		{"/p?x=1&y=1", 500, "<html>", noUpstream}, // the location's proxy_pass is not fastcgi_pass
		{"/p?y=1", 200, "b1 /p?y=1", ""},
		{"/r?x=1&y=1", 200, "err page", ""}, // a rewrite searches the location again
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
			if tc.alert != "" {
				waitLogged(t, filepath.Join(dir, "error.log"), "[alert]", tc.alert+", client: 127.0.0.1", `request: "GET `+tc.target+` HTTP/1.1"`)
			}
		})
	}
	waitLogged(t, filepath.Join(dir, "error.log"), "[error]", `the "$memcached_key" variable is not set, client: 127.0.0.1`, `request: "GET /m?x=1&y=1 HTTP/1.1"`)
}
