package daemon_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"fulcrum/internal/daemon"
)

// cacheBackend answers "PATH n=N m=METHOD ims=... inm=... range=..." where N
// counts the requests for the path; the query sets the status (s=), fields
// (h=Name:Value, repeated), a 304 to a conditional request (nm=1) and a
// delay (wait=1, until release is closed).
type cacheBackend struct {
	mu      sync.Mutex
	count   map[string]int
	release chan struct{}
	arrived chan struct{} // gets a value when a wait=1 request arrives, if buffered
	down    atomic.Bool   // close every connection without an answer
}

func (b *cacheBackend) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if b.down.Load() {
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			conn.Close()
		}
		return
	}
	q := r.URL.Query()
	if q.Get("wait") != "" {
		select {
		case b.arrived <- struct{}{}:
		default:
		}
		<-b.release
	}
	b.mu.Lock()
	b.count[r.URL.Path]++
	n := b.count[r.URL.Path]
	b.mu.Unlock()
	ims, inm := r.Header.Get("If-Modified-Since"), r.Header.Get("If-None-Match")
	status := 200
	if s := q.Get("s"); s != "" {
		status, _ = strconv.Atoi(s)
	}
	only := "h200" // fields for any answer but a 304, as h304 for a 304
	if q.Get("nm") != "" && (ims != "" || inm != "") {
		status, only = http.StatusNotModified, "h304"
	}
	// The head is written by hand: net/http would sort the fields, and
	// their order matters (X-Accel-Expires before or after Cache-Control).
	head := fmt.Sprintf("HTTP/1.1 %d %s\r\n", status, http.StatusText(status))
	for _, h := range append(q["h"], q[only]...) {
		head += strings.Replace(h, ":", ": ", 1) + "\r\n"
	}
	body := fmt.Sprintf("%s n=%d m=%s ims=%s inm=%s range=%s", r.URL.Path, n, r.Method, ims, inm, r.Header.Get("Range"))
	if status == http.StatusNotModified || r.Method == http.MethodHead {
		body = ""
	} else {
		head += "Content-Length: " + strconv.Itoa(len(body)) + "\r\n"
	}
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(err)
	}
	defer conn.Close()
	brw.WriteString(head + "Connection: close\r\n\r\n" + body)
	brw.Flush()
}

// cacheConf caches in several ways; %[1]s is the cache directory, %[2]s the
// backend. The answers were checked against nginx 1.22.1 with the same
// locations (a python backend answering as cacheBackend does).
const cacheConf = `
    proxy_cache_path %[1]s levels=1:2 keys_zone=z:1m;
    server {
        listen 127.0.0.1:0;
        add_header X-Cache $upstream_cache_status always;
        proxy_cache z;
        location / { proxy_pass http://%[2]s; proxy_cache_valid 10m; }
        location /v/ { proxy_pass http://%[2]s; }
        location /k/ { proxy_pass http://%[2]s; proxy_cache_valid 10m; proxy_cache_key $uri; }
        location /s/ { proxy_pass http://%[2]s; proxy_cache_key $uri; proxy_cache_valid 1s;
            proxy_cache_use_stale error timeout http_500 updating; }
        location /r/ { proxy_pass http://%[2]s; proxy_cache_key $uri; proxy_cache_valid 1s; proxy_cache_revalidate on; }
        location /r3/ { proxy_pass http://%[2]s; proxy_cache_key $uri; proxy_cache_valid 200 1s; proxy_cache_valid 304 1h; proxy_cache_revalidate on; }
        location /bg/ { proxy_pass http://%[2]s; proxy_cache_key $uri; proxy_cache_valid 1s;
            proxy_cache_use_stale updating; proxy_cache_background_update on; }
        location /mu/ { proxy_pass http://%[2]s; proxy_cache_valid 10m; proxy_cache_min_uses 2; }
        location /by/ { proxy_pass http://%[2]s; proxy_cache_valid 10m; proxy_cache_key $uri;
            proxy_cache_bypass $arg_nocache; proxy_no_cache $arg_nostore; }
        location /post/ { proxy_pass http://%[2]s; proxy_cache_valid 10m; proxy_cache_methods POST; proxy_cache_key $uri; }
        location /ig/ { proxy_pass http://%[2]s; proxy_cache_valid 10m; proxy_ignore_headers Set-Cookie Cache-Control; }
        location /off/ { proxy_pass http://%[2]s; proxy_cache off; }
        location /nb/ { proxy_pass http://%[2]s; proxy_cache_valid 10m; proxy_buffering off; }
        location /bgn/ { proxy_pass http://%[2]s; proxy_cache_key $uri; proxy_cache_background_update on; }
        location /mro/ { proxy_pass http://%[2]s; proxy_cache_key $uri; proxy_cache_valid 1s;
            proxy_cache_max_range_offset 50; proxy_cache_revalidate on; proxy_cache_use_stale error; }
        location /mro0/ { proxy_pass http://%[2]s; proxy_cache_key $uri; proxy_cache_valid 10m; proxy_cache_max_range_offset 0; }
    }
`

// settableClock is a daemon clock tests move forward.
type settableClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *settableClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *settableClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// cacheStep is one request and what it should get: the X-Cache field and
// the start of the body (the backend's count tells a cached answer).
type cacheStep struct {
	method, target string
	header         map[string]string
	advance        time.Duration // the clock moves first
	status         int           // 0 means 200
	xcache         string
	body           string
	// down makes the backend fail this request (closed without an answer).
	down bool
	// poll repeats the request until it gets xcache (another request's
	// work, such as a background update, may still be running).
	poll bool
}

func startCacheDaemon(t *testing.T) (addr string, b *cacheBackend, clock *settableClock, cacheDir string) {
	t.Helper()
	b = &cacheBackend{count: map[string]int{}, release: make(chan struct{})}
	srv := httptest.NewServer(b)
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	cacheDir = filepath.Join(dir, "cache")
	clock = &settableClock{t: time.Now()}
	path := filepath.Join(dir, "fulcrum.conf")
	conf := fmt.Sprintf("pid %[1]s/fulcrum.pid;\nerror_log %[1]s/error.log notice;\nhttp {\n", dir) +
		fmt.Sprintf(cacheConf, cacheDir, srv.Listener.Addr()) + "\n}\n"
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	addr, _ = runConfigFileOpts(t, path, daemon.Options{Clock: clock.now})
	return addr, b, clock, cacheDir
}

func q(path string, fields ...string) string {
	v := url.Values{}
	for _, f := range fields {
		k, val, _ := strings.Cut(f, "=")
		v.Add(k, val)
	}
	return path + "?" + v.Encode()
}

func TestProxyCache(t *testing.T) {
	t.Parallel() // its own daemon and backends; no upper time bound
	addr, backend, clock, _ := startCacheDaemon(t)
	tests := []struct {
		name  string
		steps []cacheStep
	}{
		{"MISS then HIT", []cacheStep{
			{target: "/a", xcache: "MISS", body: "/a n=1"},
			{target: "/a", xcache: "HIT", body: "/a n=1"},
			{method: "HEAD", target: "/a", xcache: "HIT"},
		}},
		{"HEAD is fetched as GET and stored", []cacheStep{
			{method: "HEAD", target: "/hd", xcache: "MISS"},
			{target: "/hd", xcache: "HIT", body: "/hd n=1 m=GET"},
		}},
		{"no-cache, private, max-age=0, Set-Cookie, Vary: * and a past Expires are not stored", []cacheStep{
			{target: q("/nc1", "h=Cache-Control:no-cache"), xcache: "MISS", body: "/nc1 n=1"},
			{target: q("/nc1", "h=Cache-Control:no-cache"), xcache: "MISS", body: "/nc1 n=2"},
			{target: q("/nc2", "h=Cache-Control:private"), xcache: "MISS", body: "/nc2 n=1"},
			{target: q("/nc2", "h=Cache-Control:private"), xcache: "MISS", body: "/nc2 n=2"},
			{target: q("/nc3", "h=Cache-Control:s-maxage=0, max-age=100"), xcache: "MISS"},
			{target: q("/nc3", "h=Cache-Control:s-maxage=0, max-age=100"), xcache: "MISS", body: "/nc3 n=2"},
			{target: q("/nc4", "h=Set-Cookie:a=1"), xcache: "MISS"},
			{target: q("/nc4", "h=Set-Cookie:a=1"), xcache: "MISS", body: "/nc4 n=2"},
			{target: q("/nc5", "h=Vary:*"), xcache: "MISS"},
			{target: q("/nc5", "h=Vary:*"), xcache: "MISS", body: "/nc5 n=2"},
			{target: q("/nc6", "h=Expires:Thu, 01 Jan 1970 00:00:00 GMT"), xcache: "MISS"},
			{target: q("/nc6", "h=Expires:Thu, 01 Jan 1970 00:00:00 GMT"), xcache: "MISS", body: "/nc6 n=2"},
		}},
		{"X-Accel-Expires before Cache-Control wins; after it, no-cache wins (nginx 1.22)", []cacheStep{
			{target: q("/xa1", "h=X-Accel-Expires:100", "h=Cache-Control:no-cache"), xcache: "MISS"},
			{target: q("/xa1", "h=X-Accel-Expires:100", "h=Cache-Control:no-cache"), xcache: "HIT", body: "/xa1 n=1"},
			{target: q("/xa2", "h=Cache-Control:no-cache", "h=X-Accel-Expires:100"), xcache: "MISS"},
			{target: q("/xa2", "h=Cache-Control:no-cache", "h=X-Accel-Expires:100"), xcache: "MISS", body: "/xa2 n=2"},
			{target: q("/xa3", "h=X-Accel-Expires:0", "h=Cache-Control:max-age=100"), xcache: "MISS"},
			{target: q("/xa3", "h=X-Accel-Expires:0", "h=Cache-Control:max-age=100"), xcache: "MISS", body: "/xa3 n=2"},
		}},
		{"proxy_cache_valid 10m is 200 301 302 only", []cacheStep{
			{target: q("/404", "s=404"), status: 404, xcache: "MISS"},
			{target: q("/404", "s=404"), status: 404, xcache: "MISS", body: "/404 n=2"},
		}},
		{"without proxy_cache_valid, only the fields' time, any status", []cacheStep{
			{target: "/v/plain", xcache: "MISS"},
			{target: "/v/plain", xcache: "MISS", body: "/v/plain n=2"},
			{target: q("/v/500", "s=500", "h=Cache-Control:max-age=100"), status: 500, xcache: "MISS"},
			{target: q("/v/500", "s=500", "h=Cache-Control:max-age=100"), status: 500, xcache: "HIT", body: "/v/500 n=1"},
			{target: q("/v/exp", "h=Expires:Thu, 01 Jan 2037 00:00:00 GMT"), xcache: "MISS"},
			{target: q("/v/exp", "h=Expires:Thu, 01 Jan 2037 00:00:00 GMT"), xcache: "HIT", body: "/v/exp n=1"},
			{target: q("/v/ma", "h=Cache-Control:max-age=60"), xcache: "MISS"},
			{advance: 61 * time.Second, target: q("/v/ma", "h=Cache-Control:max-age=60"), xcache: "EXPIRED", body: "/v/ma n=2"},
		}},
		{"Vary: a variant per value", []cacheStep{
			{target: q("/vy", "h=Vary:Accept-Encoding"), header: map[string]string{"Accept-Encoding": "gzip"}, xcache: "MISS", body: "/vy n=1"},
			{target: q("/vy", "h=Vary:Accept-Encoding"), header: map[string]string{"Accept-Encoding": "br"}, xcache: "MISS", body: "/vy n=2"},
			{target: q("/vy", "h=Vary:Accept-Encoding"), header: map[string]string{"Accept-Encoding": "gzip"}, xcache: "HIT", body: "/vy n=1"},
			{target: q("/vy", "h=Vary:Accept-Encoding"), header: map[string]string{"Accept-Encoding": "br"}, xcache: "HIT", body: "/vy n=2"},
		}},
		{"the client's conditional and range fields stay here; 304 from the cache", []cacheStep{
			{target: q("/cond", `h=ETag:"e1"`), header: map[string]string{"If-None-Match": `"e1"`, "Range": "bytes=0-1"}, status: 304, xcache: "MISS"},
			{target: q("/cond", `h=ETag:"e1"`), xcache: "HIT", body: "/cond n=1 m=GET ims= inm= range="},
			{target: q("/cond", `h=ETag:"e1"`), header: map[string]string{"If-None-Match": `"e1"`}, status: 304, xcache: "HIT"},
			{target: q("/cond", `h=ETag:"e1"`), header: map[string]string{"If-Match": `"other"`}, status: 412, xcache: "HIT", body: "<html>"},
		}},
		{"proxy_cache_key", []cacheStep{
			{target: "/k/x?a=1", xcache: "MISS", body: "/k/x n=1"},
			{target: "/k/x?a=2", xcache: "HIT", body: "/k/x n=1"},
		}},
		{"use_stale http_500 and error, then EXPIRED", []cacheStep{
			{target: "/s/1", xcache: "MISS", body: "/s/1 n=1"},
			{advance: 2 * time.Second, target: "/s/1?s=500", xcache: "STALE", body: "/s/1 n=1"},
			{target: "/s/1", xcache: "EXPIRED", body: "/s/1 n=3"},
			{target: "/s/1", xcache: "HIT", body: "/s/1 n=3"},
			{advance: 2 * time.Second, target: "/s/1", down: true, xcache: "STALE", body: "/s/1 n=3"},
			{target: "/s/1", xcache: "EXPIRED", body: "/s/1 n=4"},
		}},
		{"without use_stale, a failed upstream is a 502", []cacheStep{
			{target: "/r/gone", xcache: "MISS", body: "/r/gone n=1"},
			{advance: 2 * time.Second, target: "/r/gone", down: true, status: 502, xcache: "EXPIRED", body: "<html>"},
		}},
		// inactive is the cache manager's: TestCacheManager.
		{"revalidate: 304 makes the entry fresh again for proxy_cache_valid", []cacheStep{
			{target: q("/r/1", `h=ETag:"e1"`, "nm=1"), xcache: "MISS", body: "/r/1 n=1"},
			{advance: 2 * time.Second, target: q("/r/1", `h=ETag:"e1"`, "nm=1"), xcache: "REVALIDATED", body: "/r/1 n=1"},
			{target: q("/r/1", `h=ETag:"e1"`, "nm=1"), xcache: "HIT", body: "/r/1 n=1"},
		}},
		{"revalidate: a 304 rule does not apply, the stored status's does (nginx 1.22)", []cacheStep{
			{target: q("/r3/1", `h=ETag:"e1"`, "nm=1"), xcache: "MISS", body: "/r3/1 n=1"},
			{advance: 2 * time.Second, target: q("/r3/1", `h=ETag:"e1"`, "nm=1"), xcache: "REVALIDATED", body: "/r3/1 n=1"},
			{advance: 2 * time.Second, target: q("/r3/1", `h=ETag:"e1"`, "nm=1"), xcache: "REVALIDATED", body: "/r3/1 n=1"},
		}},
		// Recorded from nginx 1.22.1 (cacherule.TestRevalidate): after
		// the 304, the entry's expiry and stale times are the 304's when
		// it gives an expiry, else the stored fields' over the 304's
		// stale times; a failed exchange after the new expiry is then
		// answered with the entry within a stale-if-error time.
		{"revalidate: the 304's max-age and stale-if-error", revalidatedSteps("/r/sa",
			"h200=Cache-Control:max-age=1", "h304=Cache-Control:max-age=1, stale-if-error=100", "STALE")},
		{"revalidate: the 304's max-age drops the stored stale-if-error", revalidatedSteps("/r/sb",
			"h200=Cache-Control:max-age=1, stale-if-error=100", "h304=Cache-Control:max-age=1", "EXPIRED")},
		{"revalidate: the 304's stale-if-error alone, the stored max-age", revalidatedSteps("/r/sd",
			"h200=Cache-Control:max-age=1", "h304=Cache-Control:stale-if-error=100", "STALE")},
		{"revalidate: a stored stale-if-error=0 replaces the 304's stale-while-revalidate", revalidatedSteps("/r/sg",
			"h200=Cache-Control:max-age=1, stale-if-error=0", "h304=Cache-Control:stale-while-revalidate=100", "EXPIRED")},
		{"revalidate: the 304's max-age", revalidatedSteps("/r/se",
			"h200=Cache-Control:max-age=1", "h304=Cache-Control:max-age=100", "HIT")},
		// Recorded from nginx 1.22.1 (what its backend got).
		{"revalidate sends nginx's validators: a 200's only, the date rewritten, no ETag over 128 bytes", []cacheStep{
			{target: q("/r/v404", "s=404", `h=ETag:"e1"`, "h=Cache-Control:max-age=1", "nm=1"), status: 404, xcache: "MISS", body: "/r/v404 n=1"},
			{advance: 2 * time.Second, target: q("/r/v404", "s=404", `h=ETag:"e1"`, "h=Cache-Control:max-age=1", "nm=1"), status: 404, xcache: "EXPIRED", body: "/r/v404 n=2 m=GET ims= inm= range="},
			{target: q("/r/v850", "h=Last-Modified:Thursday, 01-Jan-15 00:00:00 GMT"), xcache: "MISS", body: "/r/v850 n=1"},
			{advance: 2 * time.Second, target: q("/r/v850", "h=Last-Modified:Thursday, 01-Jan-15 00:00:00 GMT"), xcache: "EXPIRED", body: "/r/v850 n=2 m=GET ims=Thu, 01 Jan 2015 00:00:00 GMT inm= range="},
			{target: q("/r/vbad", "h=Last-Modified:yesterday"), xcache: "MISS", body: "/r/vbad n=1"},
			{advance: 2 * time.Second, target: q("/r/vbad", "h=Last-Modified:yesterday"), xcache: "EXPIRED", body: "/r/vbad n=2 m=GET ims= inm= range="},
			{target: q("/r/vlong", `h=ETag:"`+strings.Repeat("e", 127)+`"`), xcache: "MISS", body: "/r/vlong n=1"},
			{advance: 2 * time.Second, target: q("/r/vlong", `h=ETag:"`+strings.Repeat("e", 127)+`"`), xcache: "EXPIRED", body: "/r/vlong n=2 m=GET ims= inm= range="},
		}},
		{"background update: STALE, then the refreshed entry", []cacheStep{
			{target: "/bg/1", xcache: "MISS", body: "/bg/1 n=1"},
			{advance: 2 * time.Second, target: "/bg/1", xcache: "STALE", body: "/bg/1 n=1"},
			{target: "/bg/1", xcache: "HIT", body: "/bg/1 n=2", poll: true},
		}},
		{"min_uses 2", []cacheStep{
			{target: "/mu/1", xcache: "MISS", body: "/mu/1 n=1"},
			{target: "/mu/1", xcache: "MISS", body: "/mu/1 n=2"},
			{target: "/mu/1", xcache: "HIT", body: "/mu/1 n=2"},
		}},
		{"bypass stores, no_cache does not", []cacheStep{
			{target: "/by/1", xcache: "MISS", body: "/by/1 n=1"},
			{target: "/by/1?nocache=1", xcache: "BYPASS", body: "/by/1 n=2"},
			{target: "/by/1", xcache: "HIT", body: "/by/1 n=2"},
			{target: "/by/2?nostore=1", xcache: "MISS", body: "/by/2 n=1"},
			{target: "/by/2", xcache: "MISS", body: "/by/2 n=2"},
		}},
		{"methods: POST only when listed, not at all elsewhere", []cacheStep{
			{method: "POST", target: "/post/1", xcache: "MISS", body: "/post/1 n=1"},
			{method: "POST", target: "/post/1", xcache: "HIT", body: "/post/1 n=1"},
			{method: "POST", target: "/p", xcache: "", body: "/p n=1"},
			{method: "POST", target: "/p", xcache: "", body: "/p n=2"},
		}},
		{"proxy_ignore_headers Set-Cookie Cache-Control", []cacheStep{
			{target: q("/ig/1", "h=Set-Cookie:a=1", "h=Cache-Control:no-store"), xcache: "MISS"},
			{target: q("/ig/1", "h=Set-Cookie:a=1", "h=Cache-Control:no-store"), xcache: "HIT", body: "/ig/1 n=1"},
		}},
		// What goes upstream was checked against nginx 1.22.1. The backend
		// sends no Accept-Ranges: the cache's answers are whole (200), as
		// nginx's (TestCacheRanges has the ranges the cache cuts).
		{"proxy_cache_max_range_offset: a range from the offset on goes upstream, not stored", []cacheStep{
			{target: "/mro/a", header: map[string]string{"Range": "bytes=10-19"}, xcache: "MISS", body: "/mro/a n=1 m=GET ims= inm= range="},
			{target: "/mro/a", xcache: "HIT", body: "/mro/a n=1"},
			{target: "/mro/b", header: map[string]string{"Range": "bytes=50-69"}, xcache: "MISS", body: "/mro/b n=1 m=GET ims= inm= range=bytes=50-69"},
			{target: "/mro/b", header: map[string]string{"Range": "bytes= 60-69, 1-2"}, xcache: "MISS", body: "/mro/b n=2 m=GET ims= inm= range=bytes= 60-69, 1-2"},
			{target: "/mro/b", xcache: "MISS", body: "/mro/b n=3 m=GET ims= inm= range="},
			{target: "/mro/b", header: map[string]string{"Range": "bytes=60-69"}, xcache: "HIT", body: "/mro/b n=3"},
			{target: "/mro/s", header: map[string]string{"Range": "bytes=-5"}, xcache: "MISS", body: "/mro/s n=1 m=GET ims= inm= range=bytes=-5"},
			{target: "/mro/x", header: map[string]string{"Range": "bytes=x-"}, xcache: "MISS", body: "/mro/x n=1 m=GET ims= inm= range="},
			{target: "/mro/x", header: map[string]string{"Range": "bytes=60-"}, xcache: "HIT", body: "/mro/x n=1"},
			{target: "/mro/c", header: map[string]string{"Range": "bytes=60-", "If-None-Match": `"zz"`}, xcache: "MISS", body: `/mro/c n=1 m=GET ims= inm="zz" range=bytes=60-`},
			{target: "/mro0/i", header: map[string]string{"Range": "items=1-2"}, xcache: "MISS", body: "/mro0/i n=1 m=GET ims= inm= range=items=1-2"},
			{target: "/mro0/i", xcache: "MISS", body: "/mro0/i n=2 m=GET ims= inm= range="},
			{target: "/mro0/i", header: map[string]string{"Range": "bytes=0-1"}, xcache: "HIT", body: "/mro0/i n=2"},
		}},
		{"proxy_cache_max_range_offset: an expired entry is not revalidated for such a range, and still answers when stale", []cacheStep{
			{target: q("/mro/e", `h=ETag:"e1"`), xcache: "MISS", body: "/mro/e n=1"},
			{advance: 2 * time.Second, target: q("/mro/e", `h=ETag:"e1"`), header: map[string]string{"Range": "bytes=60-"}, xcache: "EXPIRED", body: "/mro/e n=2 m=GET ims= inm= range=bytes=60-"},
			{target: q("/mro/e", `h=ETag:"e1"`), header: map[string]string{"Range": "bytes=60-"}, down: true, xcache: "STALE", body: "/mro/e n=1"},
			{target: q("/mro/e", `h=ETag:"e1"`), xcache: "EXPIRED", body: `/mro/e n=3 m=GET ims= inm="e1" range=`},
		}},
		// Recorded from nginx 1.22.1 with the same locations.
		{"an unbuffered response is not stored; X-Accel-Buffering turns buffering off and on", []cacheStep{
			{target: q("/xb", "h=X-Accel-Buffering:no"), xcache: "MISS", body: "/xb n=1"},
			{target: q("/xb", "h=X-Accel-Buffering:no"), xcache: "MISS", body: "/xb n=2"},
			{target: "/nb/1", xcache: "MISS", body: "/nb/1 n=1"},
			{target: "/nb/1", xcache: "MISS", body: "/nb/1 n=2"},
			{target: q("/nb/2", "h=X-Accel-Buffering:yes"), xcache: "MISS", body: "/nb/2 n=1"},
			{target: q("/nb/2", "h=X-Accel-Buffering:yes"), xcache: "HIT", body: "/nb/2 n=1"},
		}},
		// Recorded from nginx 1.22.1: its not-modified filter runs on
		// every response u->cacheable allows once the fields are read;
		// proxy_no_cache, proxy_cache_valid and buffering come later.
		{"a cacheable response that is not stored still gets a 304", []cacheStep{
			{target: q("/by/nc", `h=ETag:"e1"`, "nostore=1"), header: map[string]string{"If-None-Match": `"e1"`}, status: 304, xcache: "MISS"},
			{target: q("/by/nc", `h=ETag:"e1"`, "nostore=1"), xcache: "MISS", body: "/by/nc n=2"},
			{target: q("/v/nv", `h=ETag:"e1"`), header: map[string]string{"If-None-Match": `"e1"`}, status: 304, xcache: "MISS"},
			{target: q("/v/nv", `h=ETag:"e1"`), xcache: "MISS", body: "/v/nv n=2"},
			{target: q("/xc", "h=X-Accel-Buffering:no", `h=ETag:"e1"`), header: map[string]string{"If-None-Match": `"e1"`}, status: 304, xcache: "MISS"},
			{target: q("/xc", "h=X-Accel-Buffering:no", `h=ETag:"e1"`), xcache: "MISS", body: "/xc n=2"},
			{target: q("/nb/c", `h=ETag:"e1"`), header: map[string]string{"If-None-Match": `"e1"`}, status: 304, xcache: "MISS"},
			{target: q("/cc", `h=ETag:"e1"`, "h=Cache-Control:no-store"), header: map[string]string{"If-None-Match": `"e1"`}, xcache: "MISS", body: "/cc n=1"},
		}},
		{"the last Vary field keys the variants; * among names and X-Accel-Expires @0 do not stop storing", []cacheStep{
			{target: q("/vy2", "h=Vary:Accept", "h=Vary:X-A"), header: map[string]string{"Accept": "a", "X-A": "1"}, xcache: "MISS", body: "/vy2 n=1"},
			{target: q("/vy2", "h=Vary:Accept", "h=Vary:X-A"), header: map[string]string{"Accept": "a", "X-A": "2"}, xcache: "MISS", body: "/vy2 n=2"},
			{target: q("/vy2", "h=Vary:Accept", "h=Vary:X-A"), header: map[string]string{"Accept": "b", "X-A": "2"}, xcache: "HIT", body: "/vy2 n=2"},
			{target: q("/vys", "h=Vary:Accept, *"), xcache: "MISS", body: "/vys n=1"},
			{target: q("/vys", "h=Vary:Accept, *"), xcache: "HIT", body: "/vys n=1"},
			{target: q("/at0", "h=X-Accel-Expires:@0"), xcache: "MISS", body: "/at0 n=1"},
			{target: q("/at0", "h=X-Accel-Expires:@0"), xcache: "HIT", body: "/at0 n=1"},
		}},
		// Recorded from nginx 1.22.1: stale-if-error covers a failed
		// exchange, not a 500; stale-while-revalidate stands for
		// proxy_cache_use_stale updating; a malformed one is not stored.
		{"Cache-Control stale-if-error and stale-while-revalidate", []cacheStep{
			{target: q("/k/se", "h=Cache-Control:max-age=1, stale-if-error=30"), xcache: "MISS", body: "/k/se n=1"},
			{advance: 3 * time.Second, target: q("/k/se", "h=Cache-Control:max-age=1, stale-if-error=30"), down: true, xcache: "STALE", body: "/k/se n=1"},
			{target: q("/k/se", "s=500"), status: 500, xcache: "EXPIRED", body: "/k/se n=2"},
			{advance: 30 * time.Second, target: "/k/se", down: true, status: 502, xcache: "EXPIRED", body: "<html>"},
			{target: q("/k/sx", "h=Cache-Control:max-age=100, stale-if-error=3x"), xcache: "MISS", body: "/k/sx n=1"},
			{target: q("/k/sx", "h=Cache-Control:max-age=100, stale-if-error=3x"), xcache: "MISS", body: "/k/sx n=2"},
			{target: q("/bgn/1", "h=Cache-Control:max-age=1, stale-while-revalidate=30"), xcache: "MISS", body: "/bgn/1 n=1"},
			{advance: 3 * time.Second, target: q("/bgn/1", "h=Cache-Control:max-age=1, stale-while-revalidate=30"), xcache: "STALE", body: "/bgn/1 n=1"},
			{target: q("/bgn/1", "h=Cache-Control:max-age=1, stale-while-revalidate=30"), xcache: "HIT", body: "/bgn/1 n=2", poll: true},
		}},
		// Recorded from nginx 1.22.1: its date parser reads no further
		// than the time.
		{"Expires and Last-Modified are read as nginx reads dates", []cacheStep{
			{target: q("/v/exz", "h=Expires:Thu, 01 Jan 2037 00:00:00 +0100"), xcache: "MISS", body: "/v/exz n=1"},
			{target: q("/v/exz", "h=Expires:Thu, 01 Jan 2037 00:00:00 +0100"), xcache: "HIT", body: "/v/exz n=1"},
			{target: q("/r/lmz", "h=Last-Modified:Thu, 01 Jan 2015 00:00:00 +0100"), xcache: "MISS", body: "/r/lmz n=1"},
			{advance: 2 * time.Second, target: q("/r/lmz", "h=Last-Modified:Thu, 01 Jan 2015 00:00:00 +0100"), xcache: "EXPIRED", body: "/r/lmz n=2 m=GET ims=Thu, 01 Jan 2015 00:00:00 GMT inm= range="},
		}},
		{"proxy_cache off", []cacheStep{
			{target: "/off/1", xcache: "", body: "/off/1 n=1"},
			{target: "/off/1", xcache: "", body: "/off/1 n=2"},
		}},
	}
	client := &http.Client{Timeout: 10 * time.Second}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for i, s := range tc.steps {
				clock.add(s.advance)
				backend.down.Store(s.down)
				xc, status, body := cacheGet(t, client, addr, s)
				for deadline := time.Now().Add(5 * time.Second); s.poll && xc != s.xcache && time.Now().Before(deadline); {
					time.Sleep(10 * time.Millisecond)
					xc, status, body = cacheGet(t, client, addr, s)
				}
				want := s.status
				if want == 0 {
					want = 200
				}
				if status != want || xc != s.xcache || !strings.HasPrefix(body, s.body) {
					t.Fatalf("step %d %s %s: %d X-Cache=%q %q, want %d %q %q...", i, s.method, s.target, status, xc, body, want, s.xcache, s.body)
				}
			}
		})
	}
}

// revalidatedSteps stores path's answer with the field h200 (in /r/:
// proxy_cache_revalidate on, no proxy_cache_use_stale), has a 304 with the
// field h304 revalidate it two seconds later, and asks for it again three
// seconds after that with the backend down: the entry answers (STALE)
// within a stale-if-error time, is still fresh (HIT), or the failure is a
// 502 (EXPIRED).
func revalidatedSteps(path, h200, h304, last string) []cacheStep {
	target := q(path, `h=ETag:"e"`, "nm=1", h200, h304)
	body, status := path+" n=1", 0
	if last == "EXPIRED" {
		body, status = "<html>", http.StatusBadGateway
	}
	return []cacheStep{
		{target: target, xcache: "MISS", body: path + " n=1"},
		{advance: 2 * time.Second, target: target, xcache: "REVALIDATED", body: path + " n=1"},
		{advance: 3 * time.Second, target: target, down: true, status: status, xcache: last, body: body},
	}
}

// cacheGet sends s and returns the X-Cache field, the status and the body.
func cacheGet(t *testing.T, client *http.Client, addr string, s cacheStep) (string, int, string) {
	t.Helper()
	method := s.method
	if method == "" {
		method = "GET"
	}
	var body io.Reader
	if method == "POST" {
		body = strings.NewReader("x")
	}
	req, err := http.NewRequest(method, "http://"+addr+s.target, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range s.header {
		req.Header.Set(k, v)
	}
	req.Header.Set("Accept-Encoding", req.Header.Get("Accept-Encoding")) // no transparent gzip
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.Header.Get("X-Cache"), resp.StatusCode, string(b)
}

// startLockedCache runs a daemon caching a cacheBackend's answers with
// proxy_cache_lock on (X-Cache: $upstream_cache_status); it returns the
// backend, the daemon's address and a client for it.
func startLockedCache(t *testing.T) (*cacheBackend, string, *http.Client) {
	t.Helper()
	b := &cacheBackend{count: map[string]int{}, release: make(chan struct{}), arrived: make(chan struct{}, 1)}
	srv := httptest.NewServer(b)
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	addr := startDaemonLevel(t, dir, "notice", fmt.Sprintf(`
    proxy_cache_path %[1]s/c keys_zone=z:1m;
    server {
        listen 127.0.0.1:0;
        location / { proxy_pass http://%[2]s; proxy_cache z; proxy_cache_valid 10m;
            proxy_cache_lock on; proxy_cache_key $uri; add_header X-Cache $upstream_cache_status; }
    }`, dir, srv.Listener.Addr()))
	client := &http.Client{Timeout: 10 * time.Second}
	return b, addr, client
}

// TestProxyCacheLock: with proxy_cache_lock, requests for an entry being
// filled wait for it and get it (HIT); one request reaches the upstream.
func TestProxyCacheLock(t *testing.T) {
	b, addr, client := startLockedCache(t)
	const n = 4
	type answer struct{ xc, body string }
	answers := make(chan answer, n)
	for range n {
		go func() {
			xc, _, body := cacheGet(t, client, addr, cacheStep{target: "/l?wait=1"})
			answers <- answer{xc, body}
		}()
	}
	// Once one request reached the backend, it may answer: the others
	// either wait behind the lock or come after the entry is stored, and
	// get it either way.
	select {
	case <-b.arrived:
	case <-time.After(5 * time.Second):
		t.Fatal("no request reached the backend")
	}
	close(b.release)
	hits := 0
	for range n {
		a := <-answers
		if a.body != "/l n=1 m=GET ims= inm= range=" {
			t.Errorf("body %q: the upstream was asked more than once", a.body)
		}
		if a.xc == "HIT" {
			hits++
		}
	}
	if hits != n-1 {
		t.Errorf("%d HITs, want %d", hits, n-1)
	}
}

// TestProxyCacheLockNotStored: a request that waited for proxy_cache_lock
// behind one whose response was not stored (Cache-Control no-store,
// private; X-Accel-Buffering no) goes upstream itself and stores its
// response (MISS n=2), which the next request gets (HIT n=2), as nginx
// 1.22.1 did (recorded; cacherule.TestAwaitLockNotStored).
func TestProxyCacheLockNotStored(t *testing.T) {
	b, addr, client := startLockedCache(t)
	holder := make(chan string, 1)
	go func() {
		xc, _, body := cacheGet(t, client, addr, cacheStep{target: q("/ln", "wait=1", "h=Cache-Control:no-store")})
		holder <- xc + " " + body
	}()
	select {
	case <-b.arrived:
	case <-time.After(5 * time.Second):
		t.Fatal("the first request did not reach the backend")
	}
	waiter := make(chan string, 1)
	go func() {
		xc, _, body := cacheGet(t, client, addr, cacheStep{target: "/ln"})
		waiter <- xc + " " + body
	}()
	time.Sleep(100 * time.Millisecond) // the waiter reaches the lock
	close(b.release)
	if got := <-holder; !strings.HasPrefix(got, "MISS /ln n=1") {
		t.Errorf("the first request: %q", got)
	}
	if got := <-waiter; !strings.HasPrefix(got, "MISS /ln n=2") {
		t.Errorf("the request that waited: %q, want MISS /ln n=2", got)
	}
	if xc, _, body := cacheGet(t, client, addr, cacheStep{target: "/ln"}); xc != "HIT" || !strings.HasPrefix(body, "/ln n=2") {
		t.Errorf("then: %s %q, want HIT of the waiter's response", xc, body)
	}
}

// TestProxyCacheLockTimeout: a request that waited proxy_cache_lock_timeout
// for another to fill the entry goes upstream itself, with the client's
// If-None-Match and Range (nginx 1.22.1's NGX_HTTP_CACHE_SCARCE, recorded),
// and its response is not stored; the first request's is.
func TestProxyCacheLockTimeout(t *testing.T) {
	b := &cacheBackend{count: map[string]int{}, release: make(chan struct{}), arrived: make(chan struct{}, 1)}
	srv := httptest.NewServer(b)
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	addr := startDaemonLevel(t, dir, "notice", fmt.Sprintf(`
    proxy_cache_path %[1]s/c keys_zone=z:1m;
    server {
        listen 127.0.0.1:0;
        location / { proxy_pass http://%[2]s; proxy_cache z; proxy_cache_valid 10m; proxy_cache_key $uri;
            proxy_cache_lock on; proxy_cache_lock_timeout 100ms; add_header X-Cache $upstream_cache_status; }
    }`, dir, srv.Listener.Addr()))
	client := &http.Client{Timeout: 10 * time.Second}
	first := make(chan string, 1)
	go func() {
		xc, _, body := cacheGet(t, client, addr, cacheStep{target: "/lt?wait=1"})
		first <- xc + " " + body
	}()
	select {
	case <-b.arrived:
	case <-time.After(5 * time.Second):
		t.Fatal("the first request did not reach the backend")
	}
	// The first request holds the lock until it is released: this one
	// waits 100ms, then is answered by the upstream.
	waited := cacheStep{target: "/lt", header: map[string]string{"If-None-Match": `"e1"`, "Range": "bytes=0-3"}}
	if xc, _, body := cacheGet(t, client, addr, waited); xc != "MISS" || body != `/lt n=1 m=GET ims= inm="e1" range=bytes=0-3` {
		t.Errorf("after the lock timeout: X-Cache %q %q, want MISS from the upstream", xc, body)
	}
	close(b.release)
	if got := <-first; !strings.HasPrefix(got, "MISS /lt n=2") {
		t.Fatalf("first request: %q", got)
	}
	if xc, _, body := cacheGet(t, client, addr, cacheStep{target: "/lt"}); xc != "HIT" || !strings.HasPrefix(body, "/lt n=2") {
		t.Fatalf("then: X-Cache %q %q, want the first request's response", xc, body)
	}
}

// TestProxyCacheStaleWhileRevalidate: within an expired entry's
// Cache-Control stale-while-revalidate, a request that comes while another
// updates the entry gets it at once (UPDATING), without
// proxy_cache_use_stale updating (recorded from nginx 1.22.1: EXPIRED n=2
// for the updating request, UPDATING n=1 for the other).
func TestProxyCacheStaleWhileRevalidate(t *testing.T) {
	b := &cacheBackend{count: map[string]int{}, release: make(chan struct{}), arrived: make(chan struct{}, 1)}
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
        location / { proxy_pass http://%[2]s; proxy_cache z; proxy_cache_key $uri; add_header X-Cache $upstream_cache_status; }
    }
}
`, dir, srv.Listener.Addr())
	path := filepath.Join(dir, "fulcrum.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	addr, _ := runConfigFileOpts(t, path, daemon.Options{Clock: clock.now})
	client := &http.Client{Timeout: 10 * time.Second}
	target := q("/u", "h=Cache-Control:max-age=1, stale-while-revalidate=30")
	if xc, _, body := cacheGet(t, client, addr, cacheStep{target: target}); xc != "MISS" || !strings.HasPrefix(body, "/u n=1") {
		t.Fatalf("first: X-Cache %q %q, want MISS /u n=1", xc, body)
	}
	clock.add(3 * time.Second)
	first := make(chan string, 1)
	go func() {
		xc, _, body := cacheGet(t, client, addr, cacheStep{target: target + "&wait=1"})
		first <- xc + " " + body
	}()
	select {
	case <-b.arrived:
	case <-time.After(5 * time.Second):
		t.Fatal("the updating request did not reach the backend")
	}
	xc, _, body := cacheGet(t, client, addr, cacheStep{target: target})
	close(b.release)
	if xc != "UPDATING" || !strings.HasPrefix(body, "/u n=1") {
		t.Errorf("while updating: X-Cache %q %q, want UPDATING /u n=1", xc, body)
	}
	if got := <-first; !strings.HasPrefix(got, "EXPIRED /u n=2") {
		t.Errorf("updating request: %q, want EXPIRED /u n=2", got)
	}
}
