package daemon_test

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"fulcrum/internal/daemon"
	"fulcrum/internal/testutil"
)

// TestProxyCacheInterceptedError checks what the cache keeps of an upstream
// error that proxy_intercept_errors answers with an error page, as nginx
// 1.22.1 does (recorded with a raw-socket backend counting its requests;
// nginx-tests proxy_cache_bypass.t "error cached", proxy_no_cache.t
// "intercepted error cached"): the status alone, for the time the fields
// give or proxy_cache_valid has for it, and later requests are a HIT
// answered with the location's error page without the upstream
// ($upstream_status empty). proxy_no_cache does not keep it out (nginx tests
// it later), a bypass neither stores it nor looks; Cache-Control no-cache,
// Set-Cookie or no valid time keep it out; once expired the key is a MISS.
// fulcrum stored nothing: every request went to the upstream (MISS).
func TestProxyCacheInterceptedError(t *testing.T) {
	b := &cacheBackend{count: map[string]int{}, release: make(chan struct{})}
	srv := httptest.NewServer(b)
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	clock := &settableClock{t: time.Now()}
	conf := fmt.Sprintf(`pid %[1]s/fulcrum.pid;
error_log %[1]s/error.log notice;
http {
    proxy_cache_path %[1]s/c keys_zone=z:1m;
    server {
        listen 127.0.0.1:0;
        add_header X-Cache $upstream_cache_status always;
        location / {
            proxy_pass http://%[2]s;
            proxy_cache z;
            proxy_cache_key $uri;
            proxy_cache_valid any 1y;
            proxy_cache_bypass $arg_bypass;
            proxy_no_cache $arg_nocache;
            proxy_intercept_errors on;
            error_page 404 = @fallback;
            error_page 500 /err500;
        }
        location /short/ {
            proxy_pass http://%[2]s;
            proxy_cache z;
            proxy_cache_valid 404 2s;
            proxy_intercept_errors on;
            error_page 404 /err404;
        }
        location /nv/ {
            proxy_pass http://%[2]s;
            proxy_cache z;
            proxy_cache_valid 200 1m;
            proxy_intercept_errors on;
            error_page 404 /err404;
        }
        location = /err500 { return 200 "err500 s=$upstream_cache_status\n"; }
        location = /err404 { return 200 "err404 s=$upstream_cache_status\n"; }
        location @fallback { return 403 "fallback s=$upstream_cache_status st=$upstream_status\n"; }
    }
}
`, dir, srv.Listener.Addr())
	path := filepath.Join(dir, "fulcrum.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	addr, _ := runConfigFileOpts(t, path, daemon.Options{Clock: clock.now})
	client := &http.Client{Timeout: 10 * time.Second}
	e404 := "s=404"
	steps := []cacheStep{
		{target: q("/e/a", e404, "nocache=1"), status: 403, xcache: "MISS", body: "fallback s=MISS st=404\n"},
		{target: q("/e/a", e404), status: 403, xcache: "HIT", body: "fallback s=HIT st=\n"},
		{target: q("/e/a", e404, "bypass=1"), status: 403, xcache: "BYPASS", body: "fallback s=BYPASS st=404\n"},
		{target: q("/e/a", e404), status: 403, xcache: "HIT", body: "fallback s=HIT st=\n"},
		{target: q("/e/b", "s=500"), status: 500, xcache: "MISS", body: "err500 s=MISS\n"},
		{target: q("/e/b", "s=500"), status: 500, xcache: "HIT", body: "err500 s=HIT\n"},
		{target: q("/e/nc", e404, "h=Cache-Control:no-cache"), status: 403, xcache: "MISS"},
		{target: q("/e/nc", e404, "h=Cache-Control:no-cache"), status: 403, xcache: "MISS"},
		{target: q("/e/ck", e404, "h=Set-Cookie:a=b"), status: 403, xcache: "MISS"},
		{target: q("/e/ck", e404, "h=Set-Cookie:a=b"), status: 403, xcache: "MISS"},
		{target: q("/e/ma", e404, "h=Cache-Control:max-age=2"), status: 403, xcache: "MISS"},
		{target: q("/e/ma", e404, "h=Cache-Control:max-age=2"), status: 403, xcache: "HIT"},
		{target: q("/short/x", e404), status: 404, xcache: "MISS", body: "err404 s=MISS\n"},
		{target: q("/short/x", e404), status: 404, xcache: "HIT", body: "err404 s=HIT\n"},
		{target: q("/nv/x", e404), status: 404, xcache: "MISS"},
		{target: q("/nv/x", e404), status: 404, xcache: "MISS"},
		{advance: 3 * time.Second, target: q("/e/ma", e404, "h=Cache-Control:max-age=2"), status: 403, xcache: "MISS"},
		{target: q("/short/x", e404), status: 404, xcache: "MISS"},
		{target: q("/short/x", e404), status: 404, xcache: "HIT"},
	}
	for i, s := range steps {
		clock.add(s.advance)
		xc, status, body := cacheGet(t, client, addr, s)
		if xc != s.xcache || status != s.status || s.body != "" && body != s.body {
			t.Errorf("step %d GET %s: %d X-Cache %q %q; want %d %q %q", i+1, s.target, status, xc, body, s.status, s.xcache, s.body)
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	want := map[string]int{"/e/a": 2, "/e/b": 1, "/e/nc": 2, "/e/ck": 2, "/e/ma": 2, "/short/x": 2, "/nv/x": 2}
	for p, n := range want {
		if b.count[p] != n {
			t.Errorf("the backend got %d requests for %s, want %d", b.count[p], p, n)
		}
	}
}

// TestCGICacheInterceptedError checks fastcgi_intercept_errors,
// scgi_intercept_errors and uwsgi_intercept_errors with their caches:
// nginx's ngx_http_upstream_intercept_errors, shared by every upstream
// module, keeps the status as for proxy_pass, and the next request is a
// HIT answered with the error page without the application.
func TestCGICacheInterceptedError(t *testing.T) {
	var mu sync.Mutex
	count := map[string]int{}
	backend := func(proto string) string {
		return testutil.RawBackend(t, func(c net.Conn) {
			if _, _, err := readParamsAndBody(bufio.NewReader(c), proto); err != nil {
				return
			}
			mu.Lock()
			count[proto]++
			mu.Unlock()
			answer := "Status: 404 Not Found\r\nContent-Type: text/plain\r\n\r\nmissing"
			if proto == "fastcgi" {
				c.Write(fcgiStdout([]byte(answer), 0, 0, 0))
				return
			}
			c.Write([]byte(answer))
		})
	}
	dir := t.TempDir()
	addr := startDaemon(t, dir, fmt.Sprintf(`
    fastcgi_cache_path %[4]s/f keys_zone=f:1m;
    scgi_cache_path %[4]s/s keys_zone=s:1m;
    uwsgi_cache_path %[4]s/u keys_zone=u:1m;
    server { listen 127.0.0.1:0;
        add_header X-Cache $upstream_cache_status always;
        error_page 404 = @fb;
        location /f/ { fastcgi_pass %[1]s; fastcgi_cache f; fastcgi_cache_key $uri; fastcgi_cache_valid any 1m; fastcgi_intercept_errors on; }
        location /s/ { scgi_pass %[2]s; scgi_cache s; scgi_cache_key $uri; scgi_cache_valid any 1m; scgi_intercept_errors on; }
        location /u/ { uwsgi_pass %[3]s; uwsgi_cache u; uwsgi_cache_key $uri; uwsgi_cache_valid any 1m; uwsgi_intercept_errors on; }
        location @fb { return 403 "fb s=$upstream_cache_status st=$upstream_status\n"; }
    }`, backend("fastcgi"), backend("scgi"), backend("uwsgi"), dir))
	client := &http.Client{Timeout: 10 * time.Second}
	for _, tt := range []struct{ proto, path string }{{"fastcgi", "/f/x"}, {"scgi", "/s/x"}, {"uwsgi", "/u/x"}} {
		for i, want := range []string{"MISS 403 fb s=MISS st=404\n", "HIT 403 fb s=HIT st=\n"} {
			xc, status, body := cacheGet(t, client, addr, cacheStep{target: tt.path})
			if got := fmt.Sprintf("%s %d %s", xc, status, body); got != want {
				t.Errorf("%s #%d: %q, want %q", tt.path, i+1, got, want)
			}
		}
		mu.Lock()
		if count[tt.proto] != 1 {
			t.Errorf("%s: the application got %d requests, want 1", tt.proto, count[tt.proto])
		}
		mu.Unlock()
	}
}

// TestCacheUpstreamFailureKept: the 502 of a failed exchange (the upstream
// refused) is kept in the cache for the time *_cache_valid has for 502, as
// nginx 1.22.1's ngx_http_upstream_finalize_request keeps it (recorded with
// a refused upstream: "proxy_cache_valid any 1m" answered 502 MISS, then
// 502 HIT; "proxy_cache_valid 200 1m" MISS twice; "proxy_cache_valid 502
// 1m" with "error_page 502 = @fb" went to @fb, MISS then HIT), for
// fastcgi_pass as for proxy_pass (nginx's upstream module, common to both).
// fulcrum kept nothing: every request tried the upstream again.
func TestCacheUpstreamFailureKept(t *testing.T) {
	dir := t.TempDir()
	dead := testutil.RefusedAddr(t)
	addr := startDaemon(t, dir, fmt.Sprintf(`
    proxy_cache_path %[1]s/p keys_zone=p:1m;
    fastcgi_cache_path %[1]s/f keys_zone=f:1m;
    server { listen 127.0.0.1:0;
        add_header X-Cache $upstream_cache_status always;
        location /a/ { proxy_pass http://%[2]s; proxy_cache p; proxy_cache_valid any 1m; }
        location /b/ { proxy_pass http://%[2]s; proxy_cache p; proxy_cache_valid 200 1m; }
        location /c/ { proxy_pass http://%[2]s; proxy_cache p; proxy_cache_valid 502 1m; error_page 502 = @fb; }
        location /f/ { fastcgi_pass %[2]s; fastcgi_cache f; fastcgi_cache_key $uri; fastcgi_cache_valid any 1m; }
        location @fb { return 403 "fb s=$upstream_cache_status\n"; }
    }`, dir, dead))
	client := &http.Client{Timeout: 10 * time.Second}
	tests := []struct {
		path string
		want [2]string
	}{
		{"/a/x", [2]string{"502 MISS", "502 HIT"}},
		{"/b/x", [2]string{"502 MISS", "502 MISS"}},
		{"/c/x", [2]string{"403 MISS fb s=MISS\n", "403 HIT fb s=HIT\n"}},
		{"/f/x", [2]string{"502 MISS", "502 HIT"}},
	}
	for _, tt := range tests {
		for i, want := range tt.want {
			xc, status, body := cacheGet(t, client, addr, cacheStep{target: tt.path})
			got := fmt.Sprintf("%d %s", status, xc)
			if strings.HasPrefix(body, "fb") {
				got += " " + body
			}
			if got != want {
				t.Errorf("%s #%d: %q, want %q", tt.path, i+1, got, want)
			}
		}
	}
	// The first request of each failed at the upstream, the second not.
	data, _ := os.ReadFile(filepath.Join(dir, "error.log"))
	if n := strings.Count(string(data), "connect() failed"); n != 5 {
		t.Errorf("%d connect() failed lines, want 5 (the HITs do not connect):\n%s", n, data)
	}
}
