package daemon_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/fcgi"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// cacheVarConf names the cache zone per request: proxy_cache and
// fastcgi_cache with a map of $arg_z, and the nginx blog's split_clients
// over two zones ("Splitting the Cache Across Multiple Hard Drives").
// %[1]s is the directory, %[2]s the HTTP backend, %[3]s the FastCGI one.
// The keys leave the argument out, so that only the zone tells entries
// apart. (The text goes through two Sprintfs: "%%%%" is one "%".)
const cacheVarConf = `
    proxy_cache_path %[1]s/one keys_zone=one:1m;
    proxy_cache_path %[1]s/two keys_zone=two:1m;
    fastcgi_cache_path %[1]s/fcg keys_zone=fcg:1m;
    fastcgi_cache_path %[1]s/fcg2 keys_zone=fcg2:1m;
    map $arg_z $zone { default $arg_z; }
    split_clients $request_uri $my_cache { 50%%%% "one"; * "two"; }
    log_format c '$request_uri $status "$upstream_cache_status"';
    access_log %[1]s/access.log c;
    server {
        listen 127.0.0.1:0;
        add_header X-Cache $upstream_cache_status always;
        location / { proxy_cache $zone; proxy_cache_key $uri; proxy_cache_valid 10m; proxy_pass http://%[2]s; }
        location /sp/ { proxy_cache $my_cache; proxy_cache_key $uri; proxy_cache_valid 10m; proxy_pass http://%[2]s; }
        location /cgi/ { fastcgi_cache $zone; fastcgi_cache_key $uri; fastcgi_cache_valid 10m;
            fastcgi_param REQUEST_METHOD $request_method; fastcgi_param REQUEST_URI $request_uri;
            fastcgi_param SERVER_PROTOCOL $server_protocol; fastcgi_pass %[3]s; }
    }
`

// TestCacheZoneVariable: proxy_cache and fastcgi_cache with variables
// choose the zone per request. The answers, the access log's
// $upstream_cache_status and the error log lines are nginx 1.22.1's with
// the same configuration (python and Go FastCGI backends counting their
// requests): each zone keeps its own entry of a key; an empty value or
// "off" does not cache (no X-Cache); a value that names no zone of the
// module (another module's zone, other case, a space) is a 500 that closes
// the connection, logged `cache "NAME" not found`, but for a method the
// cache does not take (POST), which goes to the server; split_clients
// sends /sp/1 to "two" and /sp/3 to "one", whose directories hold them.
func TestCacheZoneVariable(t *testing.T) {
	t.Parallel()
	b := &cacheBackend{count: map[string]int{}, release: make(chan struct{})}
	srv := newHTTPTestServer(t, b)
	app := fcgiCounting(t)
	dir := t.TempDir()
	addr := startDaemon(t, dir, fmt.Sprintf(cacheVarConf, dir, srv, app))
	steps := []struct {
		method, target string
		status         int
		xcache, body   string
		closes         bool
	}{
		{"GET", "/a?z=one", 200, "MISS", "/a n=1", false},
		{"GET", "/a?z=one", 200, "HIT", "/a n=1", false},
		{"GET", "/a?z=two", 200, "MISS", "/a n=2", false},
		{"GET", "/a?z=two", 200, "HIT", "/a n=2", false},
		{"GET", "/a?z=one", 200, "HIT", "/a n=1", false},
		{"GET", "/a?z=", 200, "", "/a n=3", false},
		{"GET", "/a?z=off", 200, "", "/a n=4", false},
		{"GET", "/a?z=nope", 500, "", "", true},
		{"POST", "/a?z=nope", 200, "", "/a n=5 m=POST", false},
		{"HEAD", "/a?z=nope", 500, "", "", true},
		{"GET", "/a?z=fcg", 500, "", "", true},
		{"GET", "/a?z=ONE", 500, "", "", true},
		{"GET", "/a?z=%20one", 500, "", "", true},
		{"GET", "/sp/1", 200, "MISS", "/sp/1 n=1", false},
		{"GET", "/sp/1", 200, "HIT", "/sp/1 n=1", false},
		{"GET", "/sp/3", 200, "MISS", "/sp/3 n=1", false},
		{"GET", "/sp/3", 200, "HIT", "/sp/3 n=1", false},
		{"GET", "/cgi/x?z=fcg", 200, "MISS", "/cgi/x n=1", false},
		{"GET", "/cgi/x?z=fcg", 200, "HIT", "/cgi/x n=1", false},
		{"GET", "/cgi/x?z=fcg2", 200, "MISS", "/cgi/x n=2", false},
		{"GET", "/cgi/x?z=fcg2", 200, "HIT", "/cgi/x n=2", false},
		{"GET", "/cgi/x?z=", 200, "", "/cgi/x n=3", false},
		{"GET", "/cgi/x?z=one", 500, "", "", true},
		{"POST", "/cgi/x?z=one", 200, "", "/cgi/x n=4", false},
	}
	for i, s := range steps {
		var body io.Reader
		if s.method == "POST" {
			body = strings.NewReader("x")
		}
		req, err := http.NewRequest(s.method, "http://"+addr+s.target, body)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%d %s %s: %v", i, s.method, s.target, err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != s.status || resp.Header.Get("X-Cache") != s.xcache || !strings.HasPrefix(string(got), s.body) || resp.Close != s.closes {
			t.Errorf("%d %s %s: %d X-Cache %q close %v %q, want %d %q close %v %q", i, s.method, s.target,
				resp.StatusCode, resp.Header.Get("X-Cache"), resp.Close, got, s.status, s.xcache, s.closes, s.body)
		}
	}
	for _, name := range []string{"nope", "fcg", "ONE", "%20one"} {
		waitLogged(t, filepath.Join(dir, "error.log"), `[error]`, `cache "`+name+`" not found, client: 127.0.0.1, server: , request: "GET /a?z=`+name+` HTTP/1.1", host: "`)
	}
	waitLogged(t, filepath.Join(dir, "error.log"), `cache "nope" not found`, `request: "HEAD /a?z=nope HTTP/1.1"`)
	waitLogged(t, filepath.Join(dir, "error.log"), `cache "one" not found`, `request: "GET /cgi/x?z=one HTTP/1.1"`)
	waitLogged(t, filepath.Join(dir, "access.log"), `/a?z= 200 "-"`)
	waitLogged(t, filepath.Join(dir, "access.log"), `/a?z=nope 500 "-"`)
	// Each zone's directory holds its own entries (nginx 1.22.1's: one
	// and two each hold /a, one /sp/3, two /sp/1, fcg and fcg2 /cgi/x).
	for _, e := range []struct{ zone, key string }{
		{"one", "/a"}, {"two", "/a"}, {"one", "/sp/3"}, {"two", "/sp/1"}, {"fcg", "/cgi/x"}, {"fcg2", "/cgi/x"},
	} {
		if _, err := os.Stat(filepath.Join(dir, e.zone, md5Hex(e.key))); err != nil {
			t.Errorf("zone %s has no entry for %s: %v", e.zone, e.key, err)
		}
	}
	for _, e := range []struct{ zone, key string }{{"two", "/sp/3"}, {"one", "/sp/1"}} {
		if _, err := os.Stat(filepath.Join(dir, e.zone, md5Hex(e.key))); err == nil {
			t.Errorf("zone %s holds %s, which split_clients sends to the other", e.zone, e.key)
		}
	}
}

// newHTTPTestServer serves h on 127.0.0.1 and returns its address.
func newHTTPTestServer(t *testing.T, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go s.Serve(ln)
	t.Cleanup(func() { s.Close() })
	return ln.Addr().String()
}

// fcgiCounting serves a FastCGI application answering "PATH n=N", N
// counting the requests for the path.
func fcgiCounting(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var mu sync.Mutex
	count := map[string]int{}
	go fcgi.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		count[r.URL.Path]++
		n := count[r.URL.Path]
		mu.Unlock()
		fmt.Fprintf(w, "%s n=%d", r.URL.Path, n)
	}))
	return ln.Addr().String()
}

// TestCacheZoneVariableCheck: `fulcrum -t` (daemon.Check) takes a *_cache
// value with variables whatever it will name, even without any
// *_cache_path (nginx 1.22.1's nginx -t too: the names are checked per
// request), and refuses an unknown variable at the directive's line, as
// nginx does (`unknown "nosuch" variable`).
func TestCacheZoneVariableCheck(t *testing.T) {
	tests := []struct{ http, loc, want string }{
		{"", "proxy_pass http://127.0.0.1:9; proxy_cache $arg_z;", ""},
		{"proxy_cache_path %s/c keys_zone=one:1m;", "proxy_pass http://127.0.0.1:9; proxy_cache $arg_z;", ""},
		{"proxy_cache_path %s/c keys_zone=one:1m;", "proxy_pass http://127.0.0.1:9;\n proxy_cache $nosuch;", `unknown "nosuch" variable in `},
		{"fastcgi_cache_path %s/c keys_zone=one:1m;", "fastcgi_pass 127.0.0.1:9;\n fastcgi_cache $nosuch;", `unknown "nosuch" variable in `},
		{"uwsgi_cache_path %s/c keys_zone=one:1m;", "uwsgi_pass 127.0.0.1:9;\n uwsgi_cache pre_$arg_z;", ""},
	}
	for _, tt := range tests {
		t.Run(tt.loc, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "fulcrum.conf")
			h := tt.http
			if h != "" {
				h = fmt.Sprintf(h, dir)
			}
			text := "http {\n" + h + "\nserver { listen 127.0.0.1:0;\nlocation / {\n" + tt.loc + "\n}}}\n"
			err := checkText(t, path, text)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Check: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want+path+":6")):
				t.Errorf("Check: %v, want %q at %s:6 (the *_cache line)", err, tt.want, path)
			}
		})
	}
}
