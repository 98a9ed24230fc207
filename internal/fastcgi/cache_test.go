package fastcgi

import (
	"context"
	"fmt"
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
	log, err := errlog.New(errlog.Options{Targets: []errlog.Target{{Path: errlog.StderrPath, Level: errlog.Emerg}}, Stderr: &syncBuf{}})
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
	t.Cleanup(h.Close)
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
