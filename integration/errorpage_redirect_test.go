package integration

import (
	"strings"
	"testing"
)

// TestErrorPageLocationRedirects: an error page's location that redirects
// (return 301-308, rewrite ... redirect/permanent) answers with the
// redirect's code and Location, as nginx 1.22.1 does (recorded, each row),
// even under error_page's "=code"; its other answers keep error_page's
// status. fulcrum sent error_page's status (404, 200) with the redirect's
// page and no Location: "error_page 403 @login; location @login { return
// 302 /login; }" did not redirect.
func TestErrorPageLocationRedirects(t *testing.T) {
	in := startFulcrum(t, `
events {}
http {
    access_log off;
    server {
        listen 127.0.0.1:0;
        root %DIR%;
        location /t1/ { error_page 404 @t1; }
        location @t1 { return 302 /x; }
        location /t2/ { error_page 404 @t2; }
        location @t2 { rewrite ^ /y redirect; }
        location /t3/ { error_page 404 @t3; }
        location @t3 { return 403 "text403\n"; }
        location /t4/ { error_page 404 @t4; }
        location @t4 { return 418; }
        location /t6/ { error_page 404 @t6; }
        location @t6 { return 200; }
        location /t9/ { error_page 404 @t9; }
        location @t9 { return 308 /z; }
        location /t11/ { error_page 404 @t11; }
        location @t11 { return 301 "https://example.com/"; }
        location /t12/ { error_page 404 /t12r; }
        location = /t12r { rewrite ^ https://example.com/p permanent; }
        location /t15/ { error_page 404 =200 @t15; }
        location @t15 { return 302 /q; }
        location /d/ { error_page 403 @login; deny all; }
        location @login { return 302 https://login.example.com/?rd=$request_uri; }
    }
}`, 1)
	tests := []struct {
		path     string
		status   int
		location string
	}{
		{"/t1/x", 302, "/x"},
		{"/t2/x", 302, "/y"},
		{"/t3/x", 404, ""},
		{"/t4/x", 418, ""},
		{"/t6/x", 404, ""},
		{"/t9/x", 308, "/z"},
		{"/t11/x", 301, "https://example.com/"},
		{"/t12/x", 301, "https://example.com/p"},
		{"/t15/x", 302, "/q"},
		{"/d/x", 302, "https://login.example.com/?rd=/d/x"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			status, head, _ := rawGet(t, in.listening()[0], tt.path, "")
			loc := ""
			for _, l := range head {
				if v, ok := strings.CutPrefix(l, "Location: "); ok {
					loc = v
				}
			}
			if status != tt.status || !strings.HasSuffix(loc, tt.location) || (tt.location == "") != (loc == "") {
				t.Errorf("got %d Location %q, want %d %q", status, loc, tt.status, tt.location)
			}
		})
	}
}
