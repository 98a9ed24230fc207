package daemon_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestProxyNoCacheUpstreamFields: nginx tests proxy_no_cache once the
// upstream's response head is read (ngx_http_upstream_send_response), so
// its strings may name the response's fields, as published configurations
// do ("proxy_no_cache $upstream_http_set_cookie;", a map of
// $upstream_http_content_type). Recorded with nginx 1.22.1, each target
// asked twice: MISS then MISS for a response whose named field is set, MISS
// then HIT for one without it. fulcrum tested the strings before the head's
// fields were variables, and stored every response (MISS then HIT).
func TestProxyNoCacheUpstreamFields(t *testing.T) {
	back := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if v := q.Get("sc"); v != "" {
			w.Header().Set("Set-Cookie", v)
		}
		if v := q.Get("ct"); v != "" {
			w.Header().Set("Content-Type", v)
		}
		if v := q.Get("nc"); v != "" {
			w.Header().Set("X-No-Cache", v)
		}
		fmt.Fprintln(w, "back", r.RequestURI)
	}))
	t.Cleanup(back.Close)
	dir := t.TempDir()
	conf := fmt.Sprintf(`pid %[1]s/fulcrum.pid;
error_log %[1]s/error.log notice;
http {
    proxy_cache_path %[1]s/cache keys_zone=u:1m;
    map $upstream_http_content_type $no_cache_type { default 0; ~^application/json 1; }
    server {
        listen 127.0.0.1:0;
        proxy_cache u;
        proxy_cache_valid 200 10m;
        add_header X-Cache-Status $upstream_cache_status;
        location / {
            proxy_no_cache $upstream_http_set_cookie $no_cache_type $upstream_http_x_no_cache;
            proxy_ignore_headers Set-Cookie;
            proxy_pass http://%[2]s;
        }
    }
}
`, dir, back.Listener.Addr())
	addr, _ := runConfig(t, dir, conf)
	tests := []struct {
		target string
		want   [2]string
	}{
		{"/cookie?sc=s%3D1", [2]string{"MISS", "MISS"}},
		{"/json?ct=application/json", [2]string{"MISS", "MISS"}},
		{"/field?nc=1", [2]string{"MISS", "MISS"}},
		{"/zero?nc=0", [2]string{"MISS", "HIT"}},
		{"/plain", [2]string{"MISS", "HIT"}},
	}
	for _, tt := range tests {
		for i, want := range tt.want {
			resp, err := http.Get("http://" + addr + tt.target)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if got := resp.Header.Get("X-Cache-Status"); got != want {
				t.Errorf("GET %s #%d: X-Cache-Status %q, want %q", tt.target, i+1, got, want)
			}
		}
	}
}
