package fastcgi

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/fcgi"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"fulcrum/internal/balancer"
	"fulcrum/internal/cache"
	"fulcrum/internal/config"
	"fulcrum/internal/errlog"
	"fulcrum/internal/testutil"
	"fulcrum/internal/upstream"
	"fulcrum/internal/vars"
)

// countingApp is a FastCGI application on 127.0.0.1:0 that counts its
// requests and answers each as its answer function says (nil: 200 with the
// request URI and the count).
type countingApp struct {
	n      atomic.Int64
	answer func(w http.ResponseWriter, r *http.Request, n int64)
	ln     net.Listener
}

func startApp(t *testing.T, answer func(w http.ResponseWriter, r *http.Request, n int64)) (*countingApp, upstream.Settings) {
	t.Helper()
	app := &countingApp{answer: answer}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	app.ln = ln
	t.Cleanup(func() { ln.Close() })
	go fcgi.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := app.n.Add(1)
		if app.answer != nil {
			app.answer(w, r, n)
			return
		}
		fmt.Fprintf(w, "%s #%d", r.URL.RequestURI(), n)
	}))
	return app, upstream.Settings{Addr: ln.Addr().String(), Weight: 1, MaxFails: 0, FailTimeout: 10 * time.Second}
}

// cacheSettings are settings() caching in a zone, with key and valid.
func cacheSettings(mod func(c *config.CacheSettings)) config.FastCGI {
	set := settings()
	set.Cache = &config.CacheSettings{Zone: &config.CachePath{Name: "php"}, Key: "$request_uri", MinUses: 1,
		LockTimeout: 5 * time.Second, LockAge: 5 * time.Second,
		Valid: []config.CacheValid{{Codes: []int{200}, Time: 10 * time.Minute}, {Codes: []int{404}, Time: time.Minute}}}
	if mod != nil {
		mod(set.Cache)
	}
	return set
}

// newCachingHandler builds a handler of proto with set and a zone in a
// temporary directory, both on clock.
func newCachingHandler(t *testing.T, proto Protocol, set config.FastCGI, clock *fakeClock, servers ...upstream.Settings) *Handler {
	t.Helper()
	zone, err := cache.NewZone(cache.Options{Name: "php", Dir: t.TempDir(), KeysSize: 1 << 20, Inactive: time.Hour, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	return newCachingHandlerIn(t, proto, set, clock, zone, servers...)
}

func newCachingHandlerIn(t *testing.T, proto Protocol, set config.FastCGI, clock *fakeClock, zone *cache.Zone, servers ...upstream.Settings) *Handler {
	t.Helper()
	pool, err := upstream.NewPool("php", servers)
	if err != nil {
		t.Fatal(err)
	}
	log, err := errlog.New(errlog.Options{Targets: []errlog.Target{{Path: errlog.StderrPath, Level: errlog.Emerg}}, Stderr: &testutil.SyncBuffer{}})
	if err != nil {
		t.Fatal(err)
	}
	st := &config.Settings{}
	switch proto {
	case SCGI:
		st.SCGI = set
	case UWSGI:
		st.UWSGI = set
	default:
		st.FastCGI = set
	}
	h, err := New(Options{Protocol: proto, Location: &config.Location{Path: "/", Settings: st}, Pool: pool, Policy: &balancer.RoundRobin{},
		Compiler: &vars.Compiler{}, Log: log, CacheZone: zone, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// doCached serves one request and returns the response and the
// $upstream_cache_status.
func doCached(h *Handler, method, target string, hdr ...string) (*httptest.ResponseRecorder, string) {
	r := httptest.NewRequest(method, target, nil)
	st := &vars.State{}
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
		st.Fields = append(st.Fields, vars.Field{Name: hdr[i], Value: hdr[i+1]})
	}
	st.Method, st.Path, st.Args, st.RequestURI = method, r.URL.Path, r.URL.RawQuery, r.RequestURI
	st.Header = vars.HeaderMap(r.Header)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r, st)
	return w, st.CacheStatus
}

// step is one request of a cache test and what it must get.
type step struct {
	method, target string
	advance        time.Duration // the clock moves on before the request
	status         int
	body           string // a prefix of the body
	cacheStatus    string
	calls          int64 // the application's requests so far
}

func runSteps(t *testing.T, h *Handler, app *countingApp, clock *fakeClock, steps []step) {
	t.Helper()
	for i, s := range steps {
		clock.Sleep(context.Background(), s.advance)
		method := s.method
		if method == "" {
			method = http.MethodGet
		}
		w, cs := doCached(h, method, s.target)
		if w.Code != s.status || !strings.HasPrefix(w.Body.String(), s.body) || cs != s.cacheStatus || app.n.Load() != s.calls {
			t.Errorf("step %d %s %s: %d %q %s after %d calls, want %d %q %s after %d",
				i, method, s.target, w.Code, w.Body, cs, app.n.Load(), s.status, s.body, s.cacheStatus, s.calls)
		}
	}
}

// TestCache: what is stored, for how long, and what answers, per the
// directives and the application's fields (nginx 1.22's upstream cache).
func TestCache(t *testing.T) {
	byStatus := func(w http.ResponseWriter, r *http.Request, n int64) {
		q := r.URL.Query()
		for _, f := range []string{"Cache-Control", "Set-Cookie", "X-Accel-Expires", "Expires", "Vary"} {
			if v := q.Get(f); v != "" {
				w.Header().Set(f, v)
			}
		}
		code := http.StatusOK
		if q.Get("s") != "" {
			fmt.Sscan(q.Get("s"), &code)
		}
		w.WriteHeader(code)
		fmt.Fprintf(w, "%s #%d", r.URL.RequestURI(), n)
	}
	tests := []struct {
		name  string
		mod   func(c *config.CacheSettings)
		steps []step
	}{
		{"miss then hit, by key", nil, []step{
			{target: "/a", status: 200, body: "/a #1", cacheStatus: "MISS", calls: 1},
			{target: "/a", status: 200, body: "/a #1", cacheStatus: "HIT", calls: 1},
			{target: "/b", status: 200, body: "/b #2", cacheStatus: "MISS", calls: 2},
			{target: "/a", advance: 11 * time.Minute, status: 200, body: "/a #3", cacheStatus: "EXPIRED", calls: 3},
			{target: "/a", status: 200, body: "/a #3", cacheStatus: "HIT", calls: 3},
		}},
		{"valid per status", nil, []step{
			{target: "/x?s=404", status: 404, body: "/x?s=404 #1", cacheStatus: "MISS", calls: 1},
			{target: "/x?s=404", status: 404, body: "/x?s=404 #1", cacheStatus: "HIT", calls: 1},
			{target: "/y?s=500", status: 500, cacheStatus: "MISS", calls: 2},
			{target: "/y?s=500", status: 500, cacheStatus: "MISS", calls: 3},
			{target: "/x?s=404", advance: 2 * time.Minute, status: 404, body: "/x?s=404 #4", cacheStatus: "EXPIRED", calls: 4},
		}},
		{"the fields forbid or set the time", nil, []step{
			{target: "/n?Cache-Control=no-cache", status: 200, cacheStatus: "MISS", calls: 1},
			{target: "/n?Cache-Control=no-cache", status: 200, cacheStatus: "MISS", calls: 2},
			{target: "/c?Set-Cookie=a=1", status: 200, cacheStatus: "MISS", calls: 3},
			{target: "/c?Set-Cookie=a=1", status: 200, cacheStatus: "MISS", calls: 4},
			{target: "/v?Vary=*", status: 200, cacheStatus: "MISS", calls: 5},
			{target: "/v?Vary=*", status: 200, cacheStatus: "MISS", calls: 6},
			{target: "/e?s=500&X-Accel-Expires=60", status: 500, cacheStatus: "MISS", calls: 7},
			{target: "/e?s=500&X-Accel-Expires=60", status: 500, cacheStatus: "HIT", calls: 7},
			{target: "/e?s=500&X-Accel-Expires=60", advance: 61 * time.Second, status: 500, cacheStatus: "EXPIRED", calls: 8},
			{target: "/m?Cache-Control=max-age=30", status: 200, cacheStatus: "MISS", calls: 9},
			{target: "/m?Cache-Control=max-age=30", advance: 31 * time.Second, status: 200, cacheStatus: "EXPIRED", calls: 10},
		}},
		{"fastcgi_ignore_headers", func(c *config.CacheSettings) { c.IgnoreSetCookie, c.IgnoreCacheControl = true, true }, []step{
			{target: "/c?Set-Cookie=a=1&Cache-Control=private", status: 200, cacheStatus: "MISS", calls: 1},
			{target: "/c?Set-Cookie=a=1&Cache-Control=private", status: 200, cacheStatus: "HIT", calls: 1},
		}},
		{"bypass and no_cache", func(c *config.CacheSettings) {
			c.Key, c.Bypass, c.NoCache = "$uri", []string{"$arg_fresh"}, []string{"$arg_nostore"}
		}, []step{
			{target: "/p", status: 200, body: "/p #1", cacheStatus: "MISS", calls: 1},
			{target: "/p?fresh=0", status: 200, body: "/p #1", cacheStatus: "HIT", calls: 1},
			{target: "/p?fresh=1", status: 200, body: "/p?fresh=1 #2", cacheStatus: "BYPASS", calls: 2},
			{target: "/p", status: 200, body: "/p?fresh=1 #2", cacheStatus: "HIT", calls: 2}, // a bypass stores
			{target: "/q?nostore=1", status: 200, cacheStatus: "MISS", calls: 3},
			{target: "/q?nostore=1", status: 200, cacheStatus: "MISS", calls: 4},
		}},
		{"min_uses", func(c *config.CacheSettings) { c.MinUses = 2 }, []step{
			{target: "/u", status: 200, body: "/u #1", cacheStatus: "MISS", calls: 1},
			{target: "/u", status: 200, body: "/u #2", cacheStatus: "MISS", calls: 2},
			{target: "/u", status: 200, body: "/u #2", cacheStatus: "HIT", calls: 2},
		}},
		{"methods", nil, []step{
			{method: "POST", target: "/w", status: 200, cacheStatus: "", calls: 1},
			{method: "POST", target: "/w", status: 200, cacheStatus: "", calls: 2},
			{method: "HEAD", target: "/w", status: 200, cacheStatus: "MISS", calls: 3},
		}},
		{"methods POST", func(c *config.CacheSettings) { c.Methods = []string{"POST"} }, []step{
			{method: "POST", target: "/w", status: 200, cacheStatus: "MISS", calls: 1},
			{method: "POST", target: "/w", status: 200, cacheStatus: "HIT", calls: 1},
		}},
		{"no key: one entry for all, as nginx", func(c *config.CacheSettings) { c.Key = "" }, []step{
			{target: "/one", status: 200, body: "/one #1", cacheStatus: "MISS", calls: 1},
			{target: "/two", status: 200, body: "/one #1", cacheStatus: "HIT", calls: 1},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app, srv := startApp(t, byStatus)
			clock := &fakeClock{}
			h := newCachingHandler(t, FastCGI, cacheSettings(tt.mod), clock, srv)
			runSteps(t, h, app, clock, tt.steps)
		})
	}
}

// TestCacheStale: an expired entry answers when the application fails
// (fastcgi_cache_use_stale error, http_500), while another request updates
// it (updating), and in the background of an update
// (fastcgi_cache_background_update).
func TestCacheStale(t *testing.T) {
	var fail atomic.Bool
	answer := func(w http.ResponseWriter, r *http.Request, n int64) {
		if fail.Load() {
			w.WriteHeader(http.StatusInternalServerError)
			fmt.Fprint(w, "oops")
			return
		}
		fmt.Fprintf(w, "%s #%d", r.URL.RequestURI(), n)
	}
	tests := []struct {
		name       string
		useStale   config.NextUpstream
		down       bool // the application's listener is closed
		wantStatus int
		wantBody   string
		wantCache  string
	}{
		{"error", config.NextError, true, 200, "/s #1", "STALE"},
		{"error not listed", config.NextTimeout, true, 502, "", "EXPIRED"},
		{"http_500", config.NextHTTP500, false, 200, "/s #1", "STALE"},
		{"http_500 not listed", config.NextError, false, 500, "oops", "EXPIRED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fail.Store(false)
			app, srv := startApp(t, answer)
			clock := &fakeClock{}
			h := newCachingHandler(t, FastCGI, cacheSettings(func(c *config.CacheSettings) { c.UseStale = tt.useStale }), clock, srv)
			if w, cs := doCached(h, "GET", "/s"); cs != "MISS" || w.Body.String() != "/s #1" {
				t.Fatalf("first: %s %q", cs, w.Body)
			}
			clock.Sleep(context.Background(), 11*time.Minute)
			fail.Store(true)
			if tt.down {
				app.ln.Close()
			}
			w, cs := doCached(h, "GET", "/s")
			if w.Code != tt.wantStatus || !strings.HasPrefix(w.Body.String(), tt.wantBody) || cs != tt.wantCache {
				t.Errorf("got %d %q %s, want %d %q %s", w.Code, w.Body, cs, tt.wantStatus, tt.wantBody, tt.wantCache)
			}
		})
	}
}

// TestCacheUpdating: with use_stale updating, requests for an expired
// entry that another request is refreshing get the stale entry (UPDATING);
// with background_update, the request that refreshes gets it too (STALE)
// and the entry is fresh afterwards.
func TestCacheUpdating(t *testing.T) {
	release := make(chan struct{})
	var slow atomic.Bool
	app, srv := startApp(t, func(w http.ResponseWriter, r *http.Request, n int64) {
		if slow.Load() {
			<-release
		}
		fmt.Fprintf(w, "#%d", n)
	})
	clock := &fakeClock{}
	h := newCachingHandler(t, FastCGI, cacheSettings(func(c *config.CacheSettings) { c.StaleUpdating = true }), clock, srv)
	doCached(h, "GET", "/u")
	clock.Sleep(context.Background(), 11*time.Minute)
	slow.Store(true)
	done := make(chan string)
	go func() {
		w, cs := doCached(h, "GET", "/u")
		done <- cs + " " + w.Body.String()
	}()
	eventually(t, 5*time.Second, func() bool { return app.n.Load() == 2 })
	if w, cs := doCached(h, "GET", "/u"); cs != "UPDATING" || w.Body.String() != "#1" {
		t.Errorf("while updating: %s %q, want UPDATING #1", cs, w.Body)
	}
	close(release)
	if got := <-done; got != "EXPIRED #2" {
		t.Errorf("the updating request got %q, want EXPIRED #2", got)
	}
	if w, cs := doCached(h, "GET", "/u"); cs != "HIT" || w.Body.String() != "#2" {
		t.Errorf("after the update: %s %q, want HIT #2", cs, w.Body)
	}

	// Background update: the stale entry answers at once, the refresh
	// happens before the handler returns.
	slow.Store(false)
	h.cache.Base().Set.BackgroundUpdate = true
	clock.Sleep(context.Background(), 11*time.Minute)
	if w, cs := doCached(h, "GET", "/u"); cs != "STALE" || w.Body.String() != "#2" {
		t.Errorf("background update: %s %q, want STALE #2", cs, w.Body)
	}
	if w, cs := doCached(h, "GET", "/u"); cs != "HIT" || w.Body.String() != "#3" {
		t.Errorf("after the background update: %s %q, want HIT #3", cs, w.Body)
	}
}

// TestCacheLock: concurrent misses of one key make one request to the
// application with fastcgi_cache_lock; the others wait and get its entry.
func TestCacheLock(t *testing.T) {
	for _, lock := range []bool{true, false} {
		t.Run(fmt.Sprint("lock ", lock), func(t *testing.T) {
			release := make(chan struct{})
			app, srv := startApp(t, func(w http.ResponseWriter, r *http.Request, n int64) {
				<-release
				fmt.Fprintf(w, "#%d", n)
			})
			clock := &fakeClock{}
			h := newCachingHandler(t, FastCGI, cacheSettings(func(c *config.CacheSettings) { c.Lock = lock }), clock, srv)
			const clients = 5
			results := make(chan string, clients)
			for range clients {
				go func() {
					w, cs := doCached(h, "GET", "/l")
					results <- cs + " " + w.Body.String()
				}()
			}
			want := int64(1)
			if !lock {
				want = clients
			}
			eventually(t, 5*time.Second, func() bool { return app.n.Load() == want })
			close(release)
			hits := 0
			for range clients {
				if r := <-results; strings.HasPrefix(r, "HIT") {
					hits++
				}
			}
			if app.n.Load() != want || lock && hits != clients-1 {
				t.Errorf("%d requests to the application and %d hits, want %d and %d", app.n.Load(), hits, want, clients-1)
			}
		})
	}
}

// TestCacheRevalidate: an expired entry is revalidated with the stored
// Last-Modified and ETag (HTTP_IF_MODIFIED_SINCE, HTTP_IF_NONE_MATCH), a
// 304 makes it fresh again (REVALIDATED), and the client's own
// conditional fields never reach the application of a caching location.
func TestCacheRevalidate(t *testing.T) {
	var seen atomic.Value
	app, srv := startApp(t, func(w http.ResponseWriter, r *http.Request, n int64) {
		seen.Store(fmt.Sprintf("ims=%q inm=%q range=%q", r.Header.Get("If-Modified-Since"), r.Header.Get("If-None-Match"), r.Header.Get("Range")))
		if r.Header.Get("If-None-Match") == `"v1"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("Last-Modified", "Mon, 02 Jan 2006 15:04:05 GMT")
		w.Header().Set("ETag", `"v1"`)
		fmt.Fprintf(w, "#%d", n)
	})
	clock := &fakeClock{}
	h := newCachingHandler(t, FastCGI, cacheSettings(func(c *config.CacheSettings) { c.Revalidate = true }), clock, srv)
	w, cs := doCached(h, "GET", "/r", "If-None-Match", `"v1"`, "Range", "bytes=0-0")
	if cs != "MISS" || w.Body.String() != "#1" || seen.Load() != `ims="" inm="" range=""` {
		t.Errorf("first: %s %q, the application saw %s", cs, w.Body, seen.Load())
	}
	clock.Sleep(context.Background(), 11*time.Minute)
	w, cs = doCached(h, "GET", "/r")
	if cs != "REVALIDATED" || w.Code != 200 || w.Body.String() != "#1" || seen.Load() != `ims="Mon, 02 Jan 2006 15:04:05 GMT" inm="\"v1\"" range=""` {
		t.Errorf("revalidation: %s %d %q, the application saw %s", cs, w.Code, w.Body, seen.Load())
	}
	if w, cs = doCached(h, "GET", "/r"); cs != "HIT" || app.n.Load() != 2 {
		t.Errorf("after it: %s %q with %d requests, want HIT after 2", cs, w.Body, app.n.Load())
	}
}

// TestCacheMaxRangeOffset: fastcgi_cache_max_range_offset sends a range
// from the offset on, with the client's conditional fields, to the
// application and does not store its answer; the cache still answers such a
// range when it holds the entry (nginx 1.22 decides after the lookup). A
// request without the cache's methods (POST) sends its fields as they are.
func TestCacheMaxRangeOffset(t *testing.T) {
	var seen atomic.Value
	app, srv := startApp(t, func(w http.ResponseWriter, r *http.Request, n int64) {
		seen.Store(fmt.Sprintf("range=%q inm=%q", r.Header.Get("Range"), r.Header.Get("If-None-Match")))
		w.Header().Set("ETag", `"v1"`)
		fmt.Fprintf(w, "#%d", n)
	})
	clock := &fakeClock{}
	h := newCachingHandler(t, FastCGI, cacheSettings(func(c *config.CacheSettings) {
		c.Key, c.LimitRanges, c.MaxRangeOffset, c.Revalidate = "$uri", true, 100, true
	}), clock, srv)
	tests := []struct {
		method, target string
		hdr            []string
		cs, body, seen string
	}{
		{"GET", "/a", []string{"Range", "bytes=99-", "If-None-Match", `"x"`}, "MISS", "#1", `range="" inm=""`},
		{"GET", "/a", nil, "HIT", "#1", `range="" inm=""`},
		{"GET", "/b", []string{"Range", "bytes=100-", "If-None-Match", `"x"`}, "MISS", "#2", `range="bytes=100-" inm="\"x\""`},
		{"GET", "/b", []string{"Range", "bytes=-1"}, "MISS", "#3", `range="bytes=-1" inm=""`},
		{"GET", "/b", nil, "MISS", "#4", `range="" inm=""`},
		{"GET", "/b", []string{"Range", "bytes=200-"}, "HIT", "#4", `range="" inm=""`},
		{"POST", "/c", []string{"Range", "bytes=0-1"}, "", "#5", `range="bytes=0-1" inm=""`},
	}
	for i, tt := range tests {
		w, cs := doCached(h, tt.method, tt.target, tt.hdr...)
		if cs != tt.cs || w.Body.String() != tt.body || seen.Load() != tt.seen {
			t.Errorf("%d %s %s %v: %s %q, the application saw %s; want %s %q, %s", i, tt.method, tt.target, tt.hdr, cs, w.Body, seen.Load(), tt.cs, tt.body, tt.seen)
		}
	}
	// Expired: no revalidation for such a range, and not stored.
	clock.Sleep(context.Background(), 11*time.Minute)
	if w, cs := doCached(h, "GET", "/b", "Range", "bytes=100-"); cs != "EXPIRED" || w.Body.String() != "#6" || seen.Load() != `range="bytes=100-" inm=""` {
		t.Errorf("expired: %s %q, the application saw %s", cs, w.Body, seen.Load())
	}
	if w, cs := doCached(h, "GET", "/b"); cs != "EXPIRED" || w.Body.String() != "#7" || seen.Load() != `range="" inm="\"v1\""` || app.n.Load() != 7 {
		t.Errorf("then: %s %q, the application saw %s", cs, w.Body, seen.Load())
	}
}

// TestCacheVary: each combination of the fields Vary names gets its own
// entry.
func TestCacheVary(t *testing.T) {
	app, srv := startApp(t, func(w http.ResponseWriter, r *http.Request, n int64) {
		w.Header().Set("Vary", "Accept-Language")
		fmt.Fprintf(w, "%s #%d", r.Header.Get("Accept-Language"), n)
	})
	clock := &fakeClock{}
	h := newCachingHandler(t, FastCGI, cacheSettings(nil), clock, srv)
	for i, s := range []struct{ lang, cs, body string }{
		{"en", "MISS", "en #1"}, {"en", "HIT", "en #1"}, {"fr", "MISS", "fr #2"}, {"fr", "HIT", "fr #2"}, {"en", "HIT", "en #1"},
	} {
		if w, cs := doCached(h, "GET", "/v", "Accept-Language", s.lang); cs != s.cs || w.Body.String() != s.body {
			t.Errorf("%d (%s): %s %q, want %s %q", i, s.lang, cs, w.Body, s.cs, s.body)
		}
	}
	if app.n.Load() != 2 {
		t.Errorf("%d requests to the application, want 2", app.n.Load())
	}
}

// TestCacheSCGIAndUWSGI: scgi_cache and uwsgi_cache are the same cache.
func TestCacheSCGIAndUWSGI(t *testing.T) {
	var n atomic.Int64
	scgi := scgiApp(t, func(params [][2]string, body []byte) string {
		return fmt.Sprintf("Status: 200 OK\r\nContent-Type: text/plain\r\n\r\n#%d", n.Add(1))
	})
	for _, tt := range []struct {
		name  string
		proto Protocol
		srv   upstream.Settings
	}{{"scgi", SCGI, scgi}, {"uwsgi", UWSGI, uwsgiApp(t)}} {
		t.Run(tt.name, func(t *testing.T) {
			clock := &fakeClock{}
			set := cacheSettings(func(c *config.CacheSettings) { c.Valid = []config.CacheValid{{Any: true, Time: time.Minute}} })
			h := newCachingHandler(t, tt.proto, set, clock, tt.srv)
			w1, cs1 := doCached(h, "GET", "/x")
			w2, cs2 := doCached(h, "GET", "/x")
			if cs1 != "MISS" || cs2 != "HIT" || w1.Body.String() != w2.Body.String() || w1.Code != w2.Code || w2.Header().Get("Content-Type") != w1.Header().Get("Content-Type") {
				t.Errorf("%s %d %q then %s %d %q", cs1, w1.Code, w1.Body, cs2, w2.Code, w2.Body)
			}
		})
	}
}

// TestCacheZoneOutlivesHandler: a handler built on the same zone (as a
// reload builds one) answers from what the first one stored.
func TestCacheZoneOutlivesHandler(t *testing.T) {
	app, srv := startApp(t, nil)
	clock := &fakeClock{}
	reg := cache.NewRegistry(clock.Now)
	opts := cache.Options{Name: "php", Dir: t.TempDir(), KeysSize: 1 << 20, Inactive: time.Hour}
	zone, err := reg.Zone(opts)
	if err != nil {
		t.Fatal(err)
	}
	h := newCachingHandlerIn(t, FastCGI, cacheSettings(nil), clock, zone, srv)
	doCached(h, "GET", "/z")
	zone2, err := reg.Zone(opts)
	if err != nil {
		t.Fatal(err)
	}
	h2 := newCachingHandlerIn(t, FastCGI, cacheSettings(nil), clock, zone2, srv)
	if w, cs := doCached(h2, "GET", "/z"); cs != "HIT" || w.Body.String() != "/z #1" || app.n.Load() != 1 {
		t.Errorf("after the reload: %s %q after %d requests", cs, w.Body, app.n.Load())
	}
}

// eventually polls cond until it holds or d passes.
func eventually(t *testing.T, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in time")
		}
		time.Sleep(time.Millisecond)
	}
}

// TestCacheConditional: a response the cache serves or stores answers a
// conditional request with 304 (nginx runs its not-modified filter on
// cacheable responses only), its body still going to the cache; a response
// that is not stored passes whole.
func TestCacheConditional(t *testing.T) {
	app, srv := startApp(t, func(w http.ResponseWriter, r *http.Request, n int64) {
		w.Header().Set("ETag", `"e1"`)
		w.Header().Set("Content-Type", "text/plain")
		if r.URL.Query().Get("cookie") != "" {
			w.Header().Set("Set-Cookie", "a=1")
		}
		fmt.Fprintf(w, "#%d", n)
	})
	clock := &fakeClock{}
	h := newCachingHandler(t, FastCGI, cacheSettings(nil), clock, srv)
	h.conditional = func(hdr http.Header, _ time.Time, etag string) int {
		if hdr.Get("If-None-Match") == etag {
			return http.StatusNotModified
		}
		return 0
	}
	inm := []string{"If-None-Match", `"e1"`}
	for i, s := range []struct {
		target string
		hdr    []string
		code   int
		body   string
		cs     string
	}{
		{"/c", inm, 304, "", "MISS"},
		{"/c", nil, 200, "#1", "HIT"},
		{"/c", inm, 304, "", "HIT"},
		{"/d?cookie=1", inm, 200, "#2", "MISS"},
	} {
		w, cs := doCached(h, "GET", s.target, s.hdr...)
		if w.Code != s.code || w.Body.String() != s.body || cs != s.cs || w.Code == 304 && w.Header().Get("Content-Type") != "" {
			t.Errorf("%d %s: %d %q %s %v, want %d %q %s", i, s.target, w.Code, w.Body, cs, w.Header(), s.code, s.body, s.cs)
		}
	}
	if app.n.Load() != 2 {
		t.Errorf("%d requests to the application, want 2", app.n.Load())
	}
}

// TestCacheBigHead: a head of exactly the most nginx takes (its 4 KiB
// buffer less the STDOUT record's 8-byte header), without a Status field,
// is stored and served again, although its entry adds one.
func TestCacheBigHead(t *testing.T) {
	const tail = "\r\nContent-Type: text/plain\r\n\r\n"
	big := strings.Repeat("b", maxHead-8-len("X-Big: ")-len(tail))
	var calls atomic.Int64
	srv := rawApp(t, func(w *bufio.Writer) {
		writeStream(w, typeStdout, []byte(fmt.Sprintf("X-Big: %s%s#%d", big, tail, calls.Add(1))))
		end(w)
	})
	h := newCachingHandler(t, FastCGI, cacheSettings(nil), &fakeClock{}, srv)
	if w, cs := doCached(h, "GET", "/big"); cs != "MISS" || w.Code != 200 {
		t.Fatalf("first: %s %d %q", cs, w.Code, w.Body)
	}
	w, cs := doCached(h, "GET", "/big")
	if cs != "HIT" || w.Body.String() != "#1" || w.Header().Get("X-Big") != big || calls.Load() != 1 {
		t.Errorf("%s %q after %d requests", cs, w.Body, calls.Load())
	}
}

// TestCacheHeadResponseLength: a HEAD's response that is read for the
// cache is held to its Content-Length once body bytes come, as nginx's
// FastCGI input filter holds it (nginx-tests' fastcgi_extra_data.t,
// recorded with nginx 1.22.1 and a key without the method): bytes past the
// length are not stored (a later GET gets "SEE-THIS", not the extra bytes),
// a body shorter than its length is not stored (the GET goes to the
// application), no body at all is stored empty. fulcrum stored what the
// application sent and answered GETs with it.
func TestCacheHeadResponseLength(t *testing.T) {
	app, srv := startApp(t, func(w http.ResponseWriter, r *http.Request, n int64) {
		switch r.URL.Path {
		case "/extra":
			w.Header().Set("Content-Length", "8")
			io.WriteString(w, "SEE-THIS-BUT-NOT-THIS\n")
		case "/short":
			w.Header().Set("Content-Length", "100")
			io.WriteString(w, "SEE-THIS\n")
		case "/empty":
			w.Header().Set("Content-Length", "8")
			if r.Method != http.MethodHead {
				io.WriteString(w, "SEE-THIS")
			}
		}
	})
	clock := &fakeClock{}
	h := newCachingHandler(t, FastCGI, cacheSettings(nil), clock, srv)
	tests := []struct {
		method, target, body, cacheStatus string
		calls                             int64
	}{
		{http.MethodHead, "/extra", "", "MISS", 1},
		{http.MethodGet, "/extra", "SEE-THIS", "HIT", 1},
		{http.MethodHead, "/short", "", "MISS", 2},
		{http.MethodGet, "/short", "SEE-THIS\n", "MISS", 3},
		{http.MethodHead, "/empty", "", "MISS", 4},
		{http.MethodGet, "/empty", "", "HIT", 4},
	}
	for i, tc := range tests {
		w, cs, aborted := doCachedAbort(h, tc.method, tc.target)
		body := w.Body.String()
		if tc.method == http.MethodHead {
			body = "" // the engine's writer sends no body for HEAD; the recorder keeps it
		}
		if w.Code != http.StatusOK || body != tc.body || cs != tc.cacheStatus || app.n.Load() != tc.calls {
			t.Errorf("step %d %s %s: %d %q %s after %d calls (aborted %v), want 200 %q %s after %d",
				i, tc.method, tc.target, w.Code, body, cs, app.n.Load(), aborted, tc.body, tc.cacheStatus, tc.calls)
		}
	}
}

// doCachedAbort is doCached for a response that may break off: the
// handler's http.ErrAbortHandler (the client's connection closed after the
// head, as nginx does) is reported, not raised.
func doCachedAbort(h *Handler, method, target string) (w *httptest.ResponseRecorder, cs string, aborted bool) {
	r := httptest.NewRequest(method, target, nil)
	st := &vars.State{}
	st.Method, st.Path, st.Args, st.RequestURI = method, r.URL.Path, r.URL.RawQuery, r.RequestURI
	st.Header = vars.HeaderMap(r.Header)
	w = httptest.NewRecorder()
	func() {
		defer func() {
			if p := recover(); p != nil {
				if p != http.ErrAbortHandler {
					panic(p)
				}
				aborted = true
			}
		}()
		h.ServeHTTP(w, r, st)
	}()
	return w, st.CacheStatus, aborted
}
