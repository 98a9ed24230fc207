package integration

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"fulcrum/internal/testutil"
)

// mcItem is a value a test memcached server keeps.
type mcItem struct {
	flags int
	value []byte
}

// memcachedServer speaks memcached's text protocol on a loopback port for
// "get KEY" commands, from items (a miss is "END"); it keeps a connection
// open for more commands.
func memcachedServer(t *testing.T, items map[string]mcItem) string {
	t.Helper()
	var mu sync.Mutex // guards items
	return testutil.RawBackend(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			key, ok := strings.CutPrefix(strings.TrimSuffix(line, "\r\n"), "get ")
			if !ok {
				io.WriteString(c, "ERROR\r\n")
				continue
			}
			mu.Lock()
			it, found := items[key]
			mu.Unlock()
			var out bytes.Buffer
			if found {
				fmt.Fprintf(&out, "VALUE %s %d %d\r\n%s\r\n", key, it.flags, len(it.value), it.value)
			}
			out.WriteString("END\r\n")
			if _, err := c.Write(out.Bytes()); err != nil {
				return
			}
		}
	})
}

// TestMemcached runs fulcrum with memcached_pass against a memcached server
// written in Go: nginx's typical setup with an error_page fallback to a
// proxied backend for misses and failures, memcached_gzip_flag, and an
// upstream block whose first server refuses connections.
func TestMemcached(t *testing.T) {
	t.Parallel() // its own process, backends and temp dir; no upper time bound
	var zipped bytes.Buffer
	zw := gzip.NewWriter(&zipped)
	zw.Write([]byte("unzipped text"))
	zw.Close()
	live := memcachedServer(t, map[string]mcItem{
		"/page.html?":    {0, []byte("<p>cached</p>")},
		"/data?id=7":     {0, []byte("seven")},
		"/gz/text":       {3, zipped.Bytes()},
		"/failover/x":    {0, []byte("from the live server")},
		"/with%20space?": {0, []byte("escaped key")},
	})
	bad := testutil.RawBackend(t, func(c net.Conn) {
		bufio.NewReader(c).ReadString('\n')
		io.WriteString(c, "SERVER_ERROR object too large for cache\r\n")
	})
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := dead.Addr().String()
	dead.Close()
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "backend %s", r.URL.RequestURI())
	}))
	t.Cleanup(app.Close)
	conf := fmt.Sprintf(`
events {}
http {
    types { text/html html; }
    default_type application/octet-stream;
    upstream mc { server %[1]s max_fails=1 fail_timeout=60s; server %[2]s; }
    server {
        listen 127.0.0.1:0;
        location / {
            set $memcached_key "$uri?$args";
            memcached_pass %[2]s;
            error_page 404 502 504 = @fallback;
        }
        location /gz/ { set $memcached_key $uri; memcached_gzip_flag 2; memcached_pass %[2]s; }
        location /failover/ { set $memcached_key $uri; memcached_pass mc; }
        location /bad/ { set $memcached_key $uri; memcached_pass %[3]s; error_page 502 = @fallback; }
        location /plain/ { set $memcached_key $uri; memcached_pass %[2]s; }
        location @fallback { proxy_pass http://%[4]s; }
    }
}`, deadAddr, live, bad, strings.TrimPrefix(app.URL, "http://"))
	in := startFulcrum(t, conf, 1)
	base := in.url(0)
	client := &http.Client{
		Transport:     &http.Transport{DisableCompression: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	tests := []struct {
		name, target string
		rng          string // the Range field, if any
		status       int
		body         string
		header       map[string]string
	}{
		{"hit", "/page.html", "", 200, "<p>cached</p>", map[string]string{"Content-Type": "text/html", "Content-Length": "13", "Accept-Ranges": "bytes"}},
		{"hit with args", "/data?id=7", "", 200, "seven", map[string]string{"Content-Type": "application/octet-stream"}},
		{"escaped key", "/with%20space", "", 200, "escaped key", nil},
		{"miss goes to the fallback", "/missing?x=1", "", 200, "backend /missing?x=1", nil},
		{"gzip flag", "/gz/text", "", 200, zipped.String(), map[string]string{"Content-Encoding": "gzip"}},
		{"first server refuses", "/failover/x", "", 200, "from the live server", nil},
		{"invalid reply goes to the fallback", "/bad/x", "", 200, "backend /bad/x", nil},
		{"miss without error_page", "/plain/none", "", 404, "", nil},
		{"auto_redirect", "/gz", "", 301, "", map[string]string{"Location": base + "/gz/"}},
		{"POST", "/page.html", "", 405, "", nil},
		// The range filter as nginx 1.22.1 applied it to a proxied response
		// under proxy_force_ranges (the same single_range as memcached's).
		{"range", "/page.html", "bytes=3-8", 206, "cached", map[string]string{"Content-Range": "bytes 3-8/13", "Content-Length": "6"}},
		{"two ranges", "/page.html", "bytes=0-1,3-4", 200, "<p>cached</p>", map[string]string{"Accept-Ranges": "bytes"}},
		{"range past the end", "/page.html", "bytes=20-30", 416, "", map[string]string{"Content-Range": "bytes */13"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			method := http.MethodGet
			if tc.name == "POST" {
				method = http.MethodPost
			}
			req, err := http.NewRequest(method, base+tc.target, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tc.rng != "" {
				req.Header.Set("Range", tc.rng)
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.status || tc.body != "" && string(body) != tc.body {
				t.Fatalf("got %d %q, want %d %q", resp.StatusCode, body, tc.status, tc.body)
			}
			for k, v := range tc.header {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("%s: %q, want %q", k, got, v)
				}
			}
		})
	}
	for _, line := range []string{
		`key: "/missing?x=1" was not found by memcached while reading response header from upstream, client: 127.0.0.1, server: , request: "GET /missing?x=1 HTTP/1.1", upstream: "memcached://` + live + `"`,
		`connect() failed (111: Connection refused) while connecting to upstream, client: 127.0.0.1, server: , request: "GET /failover/x HTTP/1.1", upstream: "memcached://` + deadAddr + `"`,
		`memcached sent invalid response: "SERVER_ERROR object too large for cache" while reading response header from upstream`,
	} {
		waitFor(t, "log line "+line, func() bool { return in.logged(line) })
	}

	// fulcrum -t knows the directives: no warning, no error.
	r := runFulcrum(t, "-t", "-c", in.conf)
	if r.code != 0 || strings.Contains(r.stderr, "warn") {
		t.Errorf("-t: exit %d\n%s", r.code, r.stderr)
	}
}

// TestMemcachedKeyUnknown: a memcached_pass with no "set $memcached_key"
// anywhere fails the test as nginx's does (unknown "memcached_key"
// variable).
func TestMemcachedKeyUnknown(t *testing.T) {
	t.Parallel() // fulcrum -t runs in their own temp dirs
	dir := t.TempDir()
	conf := filepath.Join(dir, "fulcrum.conf")
	src := "events {} http { server { listen 127.0.0.1:0; location / { memcached_pass 127.0.0.1:11211; } } }"
	if err := os.WriteFile(conf, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	r := runFulcrum(t, "-t", "-p", dir, "-c", conf)
	if r.code == 0 || !strings.Contains(r.stderr, `unknown "memcached_key" variable`) {
		t.Errorf("-t: exit %d\n%s", r.code, r.stderr)
	}
}

// TestMemcachedKeepaliveSharedByLocations: the idle connections an upstream
// block's keepalive keeps are the block's, shared by every location whose
// memcached_pass names it, as nginx's keepalive cache is. Recorded with
// nginx 1.22.1 (nginx-tests memcached_keepalive.t, "only one connection
// used"): with upstream memd { server MC; keepalive 1; } in locations / and
// /next, the requests /, /notfound, /next, /, /, / open one connection to
// memcached in all; fulcrum kept a pool per location and opened a second
// one for /next.
func TestMemcachedKeepaliveSharedByLocations(t *testing.T) {
	var mu sync.Mutex // guards conns
	conns := 0
	items := map[string]mcItem{"/": {0, []byte("SEE-THIS")}}
	mc := testutil.RawBackend(t, func(c net.Conn) {
		mu.Lock()
		conns++
		mu.Unlock()
		br := bufio.NewReader(c)
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			key, _ := strings.CutPrefix(strings.TrimSuffix(line, "\r\n"), "get ")
			var out bytes.Buffer
			if it, ok := items[key]; ok {
				fmt.Fprintf(&out, "VALUE %s %d %d\r\n%s\r\n", key, it.flags, len(it.value), it.value)
			}
			out.WriteString("END\r\n")
			if _, err := c.Write(out.Bytes()); err != nil {
				return
			}
		}
	})
	in := startFulcrum(t, fmt.Sprintf(`
events {}
http {
    upstream memd { server %s; keepalive 1; }
    server {
        listen 127.0.0.1:0;
        location / { set $memcached_key $uri; memcached_pass memd; }
        location /next { set $memcached_key $uri; memcached_next_upstream not_found; memcached_pass memd; }
    }
}`, mc), 1)
	front := "http://" + in.listening()[0]
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	for _, tt := range []struct {
		path   string
		status int
	}{{"/", 200}, {"/notfound", 404}, {"/next", 404}, {"/", 200}, {"/", 200}, {"/", 200}} {
		resp, err := client.Get(front + tt.path)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.status {
			t.Fatalf("%s: status %d, want %d", tt.path, resp.StatusCode, tt.status)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if conns != 1 {
		t.Errorf("%d connections to memcached, want 1 (one keepalive cache for the upstream block)", conns)
	}
}
