package daemon_test

import (
	"fmt"
	"strings"
	"testing"
)

// TestSlashRedirectEscapesLocationName: the 301 that adds the "/" of a
// proxying location carries the location's name escaped as nginx's
// escaped_name (NGX_ESCAPE_URI), then the arguments, as nginx-tests'
// http_absolute_redirect.t checks and nginx 1.22.1 passes (recorded):
// GET /auto%20sp?a=b to location "/auto sp/" redirects to /auto%20sp/?a=b,
// and the name '/auto "#%<>?\^`{|}/' to
// /auto%20%22%23%25%3C%3E%3F%5C%5E%60%7B%7C%7D/. fulcrum wrote the name
// raw, a Location with a space in it. nginx redirects the same way for
// fastcgi_pass, scgi_pass, uwsgi_pass and grpc_pass locations (recorded:
// GET /f to location /f/ with fastcgi_pass, 301 to /f/), where fulcrum
// answered 404.
func TestSlashRedirectEscapesLocationName(t *testing.T) {
	backend := echoBackend(t)
	addr := startDaemon(t, t.TempDir(), fmt.Sprintf(`
    access_log off;
    absolute_redirect off;
    server {
        listen 127.0.0.1:0;
        location /auto/ { proxy_pass http://%[1]s; }
        location "/auto sp/" { proxy_pass http://%[1]s; }
        location '/auto "#%%%%<>?\^`+"`"+`{|}/' { proxy_pass http://%[1]s; }
        location /f/ { fastcgi_pass %[1]s; }
        location /s/ { scgi_pass %[1]s; }
        location /u/ { uwsgi_pass %[1]s; }
        location /g/ { grpc_pass %[1]s; }
        location /m/ { set $memcached_key $uri; memcached_pass %[1]s; }
    }`, backend))
	tests := []struct{ target, location string }{
		{"/auto", "/auto/"},
		{"/auto?a=b", "/auto/?a=b"},
		{"/auto%20sp", "/auto%20sp/"},
		{"/auto%20sp?a=b", "/auto%20sp/?a=b"},
		{"/auto%20%22%23%25%3C%3E%3F%5C%5E%60%7B%7C%7D", "/auto%20%22%23%25%3C%3E%3F%5C%5E%60%7B%7C%7D/"},
		{"/f?x", "/f/?x"},
		{"/s", "/s/"},
		{"/u", "/u/"},
		{"/g", "/g/"},
		{"/m", "/m/"},
	}
	for _, tc := range tests {
		t.Run(tc.target, func(t *testing.T) {
			head := rawTalkHead(t, addr, "GET "+tc.target+" HTTP/1.1\r\nHost: a\r\n\r\n")
			if !strings.HasPrefix(head, "HTTP/1.1 301 ") || !strings.Contains(head, "\r\nLocation: "+tc.location+"\r\n") {
				t.Errorf("head %q, want 301 with Location: %s", head, tc.location)
			}
		})
	}
}

// TestSlashRedirectAfterInternalRedirect: an internal redirect to a URI
// that names a proxying location without its slash gets the same 301, as
// nginx's find config phase runs for it too (nginx-tests'
// http_error_page.t, "error 302 auto redirect - old location cleared";
// recorded with nginx 1.22.1: "error_page 302 /auto;" after "return 302
// first;" answers 301 with Location http://host/auto/ and no "first", and
// so does "error_page 404 /auto;" after "return 404;"). fulcrum proxied
// the request to the "/auto/" location instead (502 with no upstream).
func TestSlashRedirectAfterInternalRedirect(t *testing.T) {
	backend := echoBackend(t)
	addr := startDaemon(t, t.TempDir(), fmt.Sprintf(`
    access_log off;
    absolute_redirect off;
    server {
        listen 127.0.0.1:0;
        location /error302auto { error_page 302 /auto; return 302 "first"; }
        location /error404auto { error_page 404 /auto; return 404; }
        location /auto/ { proxy_pass http://%[1]s; }
    }`, backend))
	for _, target := range []string{"/error302auto", "/error404auto?a=b"} {
		t.Run(target, func(t *testing.T) {
			head := rawTalkHead(t, addr, "GET "+target+" HTTP/1.1\r\nHost: a\r\n\r\n")
			if !strings.HasPrefix(head, "HTTP/1.1 301 ") || !strings.Contains(head, "\r\nLocation: /auto/\r\n") || strings.Contains(head, "first") {
				t.Errorf("head %q, want 301 with Location: /auto/ alone", head)
			}
		})
	}
}
