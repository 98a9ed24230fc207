package daemon_test

import (
	"io"
	"testing"
)

// TestStatusVariableInReturn checks $status in return's text against what
// nginx 1.22 answered (nginx-diff): ngx_http_send_response sets the status
// before it evaluates the text, so it is the status going out, an error
// page's own (the error's or error_page's =code) before return's code.
func TestStatusVariableInReturn(t *testing.T) {
	dir := t.TempDir()
	addr := startDaemon(t, dir, `
    access_log off;
    server {
        listen 127.0.0.1:0;
        location /a { return 200 "s=$status"; }
        location /r { return 302 "/x?s=$status"; }
        location /e { error_page 404 /p; return 404; }
        location /eq { error_page 404 = /p; return 404; }
        location /ec { error_page 404 =202 /p; return 404; }
        location /p { return 200 "page s=$status"; }
        location /t { return 418 "tea s=$status"; }
    }`)
	tests := []struct {
		path, body, location string
		status               int
	}{
		{"/a", "s=200", "", 200},
		{"/r", "", "/x?s=302", 302},
		{"/e", "page s=404", "", 404},
		{"/eq", "page s=200", "", 200},
		{"/ec", "page s=202", "", 202},
		{"/t", "tea s=418", "", 418},
	}
	for _, tt := range tests {
		resp, err := noRedirects.Get("http://" + addr + tt.path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.status {
			t.Errorf("%s: status %d, want %d", tt.path, resp.StatusCode, tt.status)
		}
		if tt.location != "" {
			if loc := resp.Header.Get("Location"); loc != "http://"+addr+tt.location {
				t.Errorf("%s: Location %q, want http://%s%s", tt.path, loc, addr, tt.location)
			}
			continue
		}
		if string(body) != tt.body {
			t.Errorf("%s: body %q, want %q", tt.path, body, tt.body)
		}
	}
}
