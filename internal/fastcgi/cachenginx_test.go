package fastcgi

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/fcgi"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"fulcrum/internal/config"
	"fulcrum/internal/upstream"
)

// nginxApp is an application that answers FastCGI, SCGI and uwsgi
// requests alike, as the one nginx 1.22.1 was asked with for
// TestCacheLikeNginx: the status of ?s=, the fields of each ?h=Name:Value,
// with ?nm=1 a 304 to a request with If-None-Match, the fields of each
// ?h304= on a 304 alone and of each ?h200= on any other answer alone,
// an Expires ?exp= seconds after its clock's now, and a body naming the
// path, its count and the client's If-None-Match and Range fields. While
// down is set it closes each connection unanswered (a failed exchange).
type nginxApp struct {
	clock *fakeClock
	down  atomic.Bool
	// wait, when not nil, holds the answers to a request with ?wait=1
	// until it is closed; arrived gets one value as such a request comes.
	wait, arrived chan struct{}
	mu            sync.Mutex // guards count
	count         map[string]int
}

// answer is the app's CGI answer to uri.
func (a *nginxApp) answer(uri, inm, rng string) (status int, fields [][2]string, body string) {
	u, _ := url.Parse(uri)
	q := u.Query()
	a.mu.Lock()
	a.count[u.Path]++
	n := a.count[u.Path]
	a.mu.Unlock()
	if q.Get("wait") != "" && a.wait != nil {
		a.arrived <- struct{}{}
		<-a.wait
	}
	status = http.StatusOK
	fmt.Sscan(q.Get("s"), &status)
	only := "h200"
	if q.Get("nm") != "" && inm != "" {
		status, only = http.StatusNotModified, "h304"
	}
	for _, h := range append(q["h"], q[only]...) {
		k, v, _ := strings.Cut(h, ":")
		fields = append(fields, [2]string{k, v})
	}
	if e := q.Get("exp"); e != "" {
		var d int
		fmt.Sscan(e, &d)
		fields = append(fields, [2]string{"Expires", a.clock.Now().Add(time.Duration(d) * time.Second).UTC().Format(http.TimeFormat)})
	}
	if status == http.StatusNotModified {
		return status, fields, ""
	}
	return status, fields, fmt.Sprintf("%s n=%d inm=%s range=%s", u.Path, n, inm, rng)
}

// cgiAnswer is answer as a CGI response (SCGI's, or uwsgi's with
// statusLine): empty while the app is down.
func (a *nginxApp) cgiAnswer(vars [][2]string, statusLine bool) string {
	if a.down.Load() {
		return ""
	}
	m := map[string]string{}
	for _, v := range vars {
		m[v[0]] = v[1]
	}
	status, fields, body := a.answer(m["REQUEST_URI"], m["HTTP_IF_NONE_MATCH"], m["HTTP_RANGE"])
	var b strings.Builder
	if statusLine {
		fmt.Fprintf(&b, "HTTP/1.1 %d %s\r\n", status, http.StatusText(status))
	} else {
		fmt.Fprintf(&b, "Status: %d %s\r\n", status, http.StatusText(status))
	}
	b.WriteString("Content-Type: text/plain\r\n")
	for _, f := range fields {
		fmt.Fprintf(&b, "%s: %s\r\n", f[0], f[1])
	}
	return b.String() + "\r\n" + body
}

// start runs the app for proto on 127.0.0.1:0.
func (a *nginxApp) start(t *testing.T, proto Protocol) upstream.Settings {
	t.Helper()
	switch proto {
	case SCGI:
		return scgiApp(t, func(params [][2]string, _ []byte) string { return a.cgiAnswer(params, false) })
	case UWSGI:
		return uwsgiAnswering(t, func(_ [2]byte, vars [][2]string, _ []byte) string { return a.cgiAnswer(vars, true) })
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go fcgi.Serve(downListener{ln, &a.down}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		status, fields, body := a.answer(r.URL.RequestURI(), r.Header.Get("If-None-Match"), r.Header.Get("Range"))
		for _, f := range fields {
			w.Header().Add(f[0], f[1])
		}
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(status)
		fmt.Fprint(w, body)
	}))
	return upstream.Settings{Addr: ln.Addr().String(), Weight: 1, FailTimeout: 10 * time.Second}
}

// downListener closes the connections it accepts while down is set.
type downListener struct {
	net.Listener
	down *atomic.Bool
}

func (l downListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil || !l.down.Load() {
			return c, err
		}
		c.Close()
	}
}

// nginxStep is one request of TestCacheLikeNginx and what nginx 1.22.1
// answered it.
type nginxStep struct {
	target  string
	advance time.Duration // the clock moves on before the request
	down    bool          // the app closes the connection unanswered
	hdr     []string      // the request's fields, name and value
	status  int           // 0 for 200
	cache   string        // $upstream_cache_status
	body    string        // a prefix of the body
}

// TestCacheLikeNginx: the FastCGI, SCGI and uwsgi caches store, expire and
// answer stale as the proxy's, recorded from nginx 1.22.1 with a FastCGI,
// an SCGI and a uwsgi application that answered as nginxApp does (its
// fastcgi_cache_valid 200 1s stands for the zone's 10m here; nginx's waits
// of 2.5s for the clock's 3s): an unbuffered response is not stored
// (fastcgi_buffering off, X-Accel-Buffering: no, the last one counting, in
// any case; fastcgi_ignore_headers X-Accel-Buffering), Cache-Control
// stale-if-error covers a failed exchange (not a 500) and
// stale-while-revalidate stands for use_stale updating and error, read as
// when the response was stored; short of fastcgi_cache_min_uses the
// application gets the client's Range and If-None-Match.
func TestCacheLikeNginx(t *testing.T) {
	const swr, sie = "h=Cache-Control:max-age=1,+stale-while-revalidate=30", "h=Cache-Control:max-age=1,+stale-if-error=30"
	inm := []string{"If-None-Match", `"e1"`}
	tests := []struct {
		name  string
		proto Protocol
		mod   func(set *config.FastCGI)
		steps []nginxStep
	}{
		{"X-Accel-Buffering no: not stored", FastCGI, nil, []nginxStep{
			{target: "/xb?h=X-Accel-Buffering:no", cache: "MISS", body: "/xb n=1"},
			{target: "/xb?h=X-Accel-Buffering:no", cache: "MISS", body: "/xb n=2"},
		}},
		{"X-Accel-Buffering yes: stored", FastCGI, nil, []nginxStep{
			{target: "/xy?h=X-Accel-Buffering:yes", cache: "MISS", body: "/xy n=1"},
			{target: "/xy?h=X-Accel-Buffering:yes", cache: "HIT", body: "/xy n=1"},
		}},
		{"the last X-Accel-Buffering counts, in any case", FastCGI, nil, []nginxStep{
			{target: "/xn?h=X-Accel-Buffering:NO&h=X-Accel-Buffering:yes", cache: "MISS", body: "/xn n=1"},
			{target: "/xn?h=X-Accel-Buffering:NO&h=X-Accel-Buffering:yes", cache: "HIT", body: "/xn n=1"},
		}},
		{"fastcgi_buffering off: not stored", FastCGI, func(set *config.FastCGI) { set.Buffering = false }, []nginxStep{
			{target: "/nb/1", cache: "MISS", body: "/nb/1 n=1"},
			{target: "/nb/1", cache: "MISS", body: "/nb/1 n=2"},
		}},
		{"fastcgi_buffering off, X-Accel-Buffering yes: stored", FastCGI, func(set *config.FastCGI) { set.Buffering = false }, []nginxStep{
			{target: "/nb/2?h=X-Accel-Buffering:yes", cache: "MISS", body: "/nb/2 n=1"},
			{target: "/nb/2?h=X-Accel-Buffering:yes", cache: "HIT", body: "/nb/2 n=1"},
		}},
		{"fastcgi_ignore_headers X-Accel-Buffering", FastCGI, func(set *config.FastCGI) { set.IgnoreAccelBuffering = true }, []nginxStep{
			{target: "/ig/1?h=X-Accel-Buffering:no", cache: "MISS", body: "/ig/1 n=1"},
			{target: "/ig/1?h=X-Accel-Buffering:no", cache: "HIT", body: "/ig/1 n=1"},
		}},
		{"stale-if-error: a 500 as it came, a failed exchange the entry", FastCGI, nil, []nginxStep{
			{target: "/se?" + sie, cache: "MISS", body: "/se n=1"},
			{target: "/se?s=500", advance: 3 * time.Second, status: 500, cache: "EXPIRED", body: "/se n=2"},
			{target: "/se", down: true, cache: "STALE", body: "/se n=1"},
		}},
		{"stale-if-error past its time: 502", FastCGI, nil, []nginxStep{
			{target: "/sp?h=Cache-Control:max-age=1,+stale-if-error=2", cache: "MISS", body: "/sp n=1"},
			{target: "/sp", advance: 4 * time.Second, down: true, status: 502, cache: "EXPIRED"},
		}},
		{"no stale-if-error: 502", FastCGI, nil, []nginxStep{
			{target: "/sn?h=Cache-Control:max-age=1", cache: "MISS", body: "/sn n=1"},
			{target: "/sn", advance: 3 * time.Second, down: true, status: 502, cache: "EXPIRED"},
		}},
		{"stale-while-revalidate covers a failed exchange", FastCGI, nil, []nginxStep{
			{target: "/swe?" + swr, cache: "MISS", body: "/swe n=1"},
			{target: "/swe", advance: 3 * time.Second, down: true, cache: "STALE", body: "/swe n=1"},
		}},
		{"stale-while-revalidate and background_update: STALE, then the update", FastCGI, func(set *config.FastCGI) { set.Cache.BackgroundUpdate = true }, []nginxStep{
			{target: "/bg/1?" + swr, cache: "MISS", body: "/bg/1 n=1"},
			{target: "/bg/1?" + swr, advance: 3 * time.Second, cache: "STALE", body: "/bg/1 n=1"},
			{target: "/bg/1", cache: "HIT", body: "/bg/1 n=2"},
		}},
		{"stale-while-revalidate alone: EXPIRED", FastCGI, nil, []nginxStep{
			{target: "/sw?" + swr, cache: "MISS", body: "/sw n=1"},
			{target: "/sw?" + swr, advance: 3 * time.Second, cache: "EXPIRED", body: "/sw n=2"},
			{target: "/sw", cache: "HIT", body: "/sw n=2"},
		}},
		{"a malformed stale-if-error: not stored", FastCGI, nil, []nginxStep{
			{target: "/sx?h=Cache-Control:max-age=100,+stale-if-error=3x", cache: "MISS", body: "/sx n=1"},
			{target: "/sx?h=Cache-Control:max-age=100,+stale-if-error=3x", cache: "MISS", body: "/sx n=2"},
		}},
		{"Expires, then stale-if-error: read as when stored", FastCGI, nil, []nginxStep{
			{target: "/ec?exp=1&h=Cache-Control:stale-if-error=30", cache: "MISS", body: "/ec n=1"},
			{target: "/ec", advance: 3 * time.Second, down: true, cache: "STALE", body: "/ec n=1"},
		}},
		{"short of min_uses the client's Range and If-None-Match go on", FastCGI, func(set *config.FastCGI) { set.Cache.MinUses = 2 }, []nginxStep{
			{target: "/mu/1", hdr: []string{"If-None-Match", `"x"`, "Range", "bytes=0-1"}, cache: "MISS", body: `/mu/1 n=1 inm="x" range=bytes=0-1`},
			{target: "/mu/1", hdr: []string{"If-None-Match", `"x"`, "Range", "bytes=0-1"}, cache: "MISS", body: "/mu/1 n=2 inm= range="},
			{target: "/mu/1", hdr: []string{"If-None-Match", `"x"`, "Range", "bytes=0-1"}, cache: "HIT", body: "/mu/1 n=2 inm= range="},
		}},
		{"fastcgi_no_cache: not stored, a 304 all the same", FastCGI, func(set *config.FastCGI) { set.Cache.NoCache = []string{"1"} }, []nginxStep{
			{target: `/nc/1?h=ETag:"e1"`, hdr: inm, status: 304, cache: "MISS"},
			{target: `/nc/1?h=ETag:"e1"`, hdr: inm, status: 304, cache: "MISS"},
			{target: `/nc/1?h=ETag:"e1"`, cache: "MISS", body: "/nc/1 n=3"},
		}},
		{"no fastcgi_cache_valid time: not stored, a 304 all the same", FastCGI, func(set *config.FastCGI) {
			set.Cache.Valid = []config.CacheValid{{Codes: []int{404}, Time: time.Minute}}
		}, []nginxStep{
			{target: `/nv/1?h=ETag:"e1"`, hdr: inm, status: 304, cache: "MISS"},
			{target: `/nv/1?h=ETag:"e1"`, cache: "MISS", body: "/nv/1 n=2"},
		}},
		{"X-Accel-Buffering no: not stored, a 304 all the same", FastCGI, nil, []nginxStep{
			{target: `/cx?h=X-Accel-Buffering:no&h=ETag:"e1"`, hdr: inm, status: 304, cache: "MISS"},
			{target: `/cx?h=X-Accel-Buffering:no&h=ETag:"e1"`, cache: "MISS", body: "/cx n=2"},
		}},
		{"Cache-Control no-store: the application's 200", FastCGI, nil, []nginxStep{
			{target: `/cc?h=ETag:"e1"&h=Cache-Control:no-store`, hdr: inm, cache: "MISS", body: "/cc n=1"},
		}},
		{"scgi: X-Accel-Buffering no", SCGI, nil, []nginxStep{
			{target: "/scgi/xb?h=X-Accel-Buffering:no", cache: "MISS", body: "/scgi/xb n=1"},
			{target: "/scgi/xb?h=X-Accel-Buffering:no", cache: "MISS", body: "/scgi/xb n=2"},
		}},
		{"scgi: stale-while-revalidate and background_update", SCGI, func(set *config.FastCGI) { set.Cache.BackgroundUpdate = true }, []nginxStep{
			{target: "/scgi/bg/1?" + swr, cache: "MISS", body: "/scgi/bg/1 n=1"},
			{target: "/scgi/bg/1?" + swr, advance: 3 * time.Second, cache: "STALE", body: "/scgi/bg/1 n=1"},
			{target: "/scgi/bg/1", cache: "HIT", body: "/scgi/bg/1 n=2"},
		}},
		{"scgi: stale-if-error", SCGI, nil, []nginxStep{
			{target: "/scgi/se?" + sie, cache: "MISS", body: "/scgi/se n=1"},
			{target: "/scgi/se", advance: 3 * time.Second, down: true, cache: "STALE", body: "/scgi/se n=1"},
		}},
		{"uwsgi: X-Accel-Buffering no", UWSGI, nil, []nginxStep{
			{target: "/uwsgi/xb?h=X-Accel-Buffering:no", cache: "MISS", body: "/uwsgi/xb n=1"},
			{target: "/uwsgi/xb?h=X-Accel-Buffering:no", cache: "MISS", body: "/uwsgi/xb n=2"},
		}},
		{"uwsgi: uwsgi_ignore_headers X-Accel-Buffering", UWSGI, func(set *config.FastCGI) { set.IgnoreAccelBuffering = true }, []nginxStep{
			{target: "/uwsgi/ig/xb?h=X-Accel-Buffering:no", cache: "MISS", body: "/uwsgi/ig/xb n=1"},
			{target: "/uwsgi/ig/xb?h=X-Accel-Buffering:no", cache: "HIT", body: "/uwsgi/ig/xb n=1"},
		}},
		{"uwsgi: stale-if-error", UWSGI, nil, []nginxStep{
			{target: "/uwsgi/se?" + sie, cache: "MISS", body: "/uwsgi/se n=1"},
			{target: "/uwsgi/se", advance: 3 * time.Second, down: true, cache: "STALE", body: "/uwsgi/se n=1"},
		}},
		// After a 304 to fastcgi_cache_revalidate, the entry's expiry and
		// stale times are the 304's when it gives an expiry; else the
		// stored fields' over the 304's stale times (cacherule.Revalidate).
		{"revalidated: the 304's stale-if-error", FastCGI, revalidate, revalidatedSteps("/rv/a",
			"h200=Cache-Control:max-age=1", "h304=Cache-Control:max-age=1,+stale-if-error=100", "STALE")},
		{"revalidated: the 304's max-age drops the stored stale-if-error", FastCGI, revalidate, revalidatedSteps("/rv/b",
			"h200=Cache-Control:max-age=1,+stale-if-error=100", "h304=Cache-Control:max-age=1", "EXPIRED")},
		{"revalidated: the 304's stale-if-error alone, the stored max-age", FastCGI, revalidate, revalidatedSteps("/rv/d",
			"h200=Cache-Control:max-age=1", "h304=Cache-Control:stale-if-error=100", "STALE")},
		{"revalidated: a stored stale-if-error=0 replaces the 304's stale-while-revalidate", FastCGI, revalidate, revalidatedSteps("/rv/g",
			"h200=Cache-Control:max-age=1,+stale-if-error=0", "h304=Cache-Control:stale-while-revalidate=100", "EXPIRED")},
		{"revalidated: the 304's max-age", FastCGI, revalidate, revalidatedSteps("/rv/e",
			"h200=Cache-Control:max-age=1", "h304=Cache-Control:max-age=100", "HIT")},
		{"scgi: revalidated, the 304's stale-if-error", SCGI, revalidate, revalidatedSteps("/scgi/rv/a",
			"h200=Cache-Control:max-age=1", "h304=Cache-Control:max-age=1,+stale-if-error=100", "STALE")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := &fakeClock{}
			app := &nginxApp{clock: clock, count: map[string]int{}}
			set := cacheSettings(func(c *config.CacheSettings) { c.Key = "$uri" })
			if tt.mod != nil {
				tt.mod(&set)
			}
			h := newCachingHandler(t, tt.proto, set, clock, app.start(t, tt.proto))
			h.conditional = matchETag
			for i, s := range tt.steps {
				clock.Sleep(context.Background(), s.advance)
				app.down.Store(s.down)
				w, cs := doCached(h, http.MethodGet, s.target, s.hdr...)
				want := s.status
				if want == 0 {
					want = http.StatusOK
				}
				if w.Code != want || cs != s.cache || !strings.HasPrefix(w.Body.String(), s.body) {
					t.Errorf("step %d %s: %d %s %q, want %d %s %q...", i, s.target, w.Code, cs, w.Body, want, s.cache, s.body)
				}
			}
		})
	}
}

// revalidate turns fastcgi_cache_revalidate on.
func revalidate(set *config.FastCGI) { set.Cache.Revalidate = true }

// revalidatedSteps stores path's answer with the fields h200, has a 304
// with the fields h304 revalidate it two seconds later, and asks for it
// again three seconds after that with the application down: the entry
// answers (STALE) within a stale-if-error time, is still fresh (HIT), or
// the failure is a 502 (EXPIRED), as nginx 1.22.1 answered (recorded with
// fastcgi_cache and proxy_cache: cacherule.TestRevalidate).
func revalidatedSteps(path, h200, h304, last string) []nginxStep {
	target := path + `?h=ETag:"e"&nm=1&` + h200 + "&" + h304
	body, status := path+" n=1", 0
	if last == "EXPIRED" {
		body, status = "", http.StatusBadGateway
	}
	return []nginxStep{
		{target: target, cache: "MISS", body: path + " n=1"},
		{target: target, advance: 2 * time.Second, cache: "REVALIDATED", body: path + " n=1"},
		{target: target, advance: 3 * time.Second, down: true, status: status, cache: last, body: body},
	}
}

// matchETag is a not-modified filter of If-None-Match alone.
func matchETag(hdr http.Header, _ time.Time, etag string) int {
	if v := hdr.Get("If-None-Match"); v != "" && v == etag {
		return http.StatusNotModified
	}
	return 0
}

// TestCacheLockTimeout: a request that waited for fastcgi_cache_lock in
// vain is sent with the client's Range and If-None-Match and answered as
// the application answers, not stored (recorded from nginx 1.22.1, whose
// NGX_HTTP_CACHE_SCARCE clears u->cacheable: "n=2 inm="e1"
// range=bytes=0-3", then the first request's response from the cache).
func TestCacheLockTimeout(t *testing.T) {
	clock := &fakeClock{}
	app := &nginxApp{clock: clock, count: map[string]int{}, wait: make(chan struct{}), arrived: make(chan struct{}, 1)}
	set := cacheSettings(func(c *config.CacheSettings) { c.Key, c.Lock, c.LockTimeout = "$uri", true, 100*time.Millisecond })
	h := newCachingHandler(t, FastCGI, set, clock, app.start(t, FastCGI))
	h.conditional = matchETag
	first := make(chan string, 1)
	go func() {
		w, cs := doCached(h, http.MethodGet, "/lk/a?wait=1")
		first <- cs + " " + w.Body.String()
	}()
	select {
	case <-app.arrived:
	case <-time.After(5 * time.Second):
		t.Fatal("the first request did not reach the application")
	}
	w, cs := doCached(h, http.MethodGet, `/lk/a?h=ETag:"e1"`, "If-None-Match", `"e1"`, "Range", "bytes=0-3")
	close(app.wait)
	if want := `/lk/a n=2 inm="e1" range=bytes=0-3`; w.Code != 200 || cs != "MISS" || w.Body.String() != want {
		t.Errorf("after the lock timeout: %d %s %q, want 200 MISS %q", w.Code, cs, w.Body, want)
	}
	if got := <-first; got != "MISS /lk/a n=1 inm= range=" {
		t.Errorf("the first request: %q", got)
	}
	if w, cs := doCached(h, http.MethodGet, "/lk/a"); cs != "HIT" || w.Body.String() != "/lk/a n=1 inm= range=" {
		t.Errorf("then: %s %q, want HIT of the first request's response", cs, w.Body)
	}
}

// TestCacheLockNotStored: a request that waited for fastcgi_cache_lock
// behind one whose response was not stored (Cache-Control no-store,
// private, X-Accel-Buffering no) goes to the application itself and
// stores its response (MISS n=2), and the next request gets it (HIT n=2),
// as nginx 1.22.1 did (recorded with fastcgi_cache_lock and
// proxy_cache_lock; cacherule.TestAwaitLockNotStored).
func TestCacheLockNotStored(t *testing.T) {
	for _, first := range []string{"h=Cache-Control:no-store", "h=Cache-Control:private", "h=X-Accel-Buffering:no"} {
		t.Run(first, func(t *testing.T) {
			clock := &fakeClock{}
			app := &nginxApp{clock: clock, count: map[string]int{}, wait: make(chan struct{}), arrived: make(chan struct{}, 1)}
			set := cacheSettings(func(c *config.CacheSettings) { c.Key, c.Lock, c.LockTimeout = "$uri", true, 5*time.Second })
			h := newCachingHandler(t, FastCGI, set, clock, app.start(t, FastCGI))
			holder := make(chan string, 1)
			go func() {
				w, cs := doCached(h, http.MethodGet, "/ln?wait=1&"+first)
				holder <- cs + " " + w.Body.String()
			}()
			select {
			case <-app.arrived:
			case <-time.After(5 * time.Second):
				t.Fatal("the first request did not reach the application")
			}
			waiter := make(chan string, 1)
			go func() {
				w, cs := doCached(h, http.MethodGet, "/ln")
				waiter <- cs + " " + w.Body.String()
			}()
			time.Sleep(100 * time.Millisecond) // the waiter reaches the lock
			close(app.wait)
			if got := <-holder; got != "MISS /ln n=1 inm= range=" {
				t.Errorf("the first request: %q", got)
			}
			if got := <-waiter; got != "MISS /ln n=2 inm= range=" {
				t.Errorf("the request that waited: %q, want MISS n=2", got)
			}
			if w, cs := doCached(h, http.MethodGet, "/ln"); cs != "HIT" || w.Body.String() != "/ln n=2 inm= range=" {
				t.Errorf("then: %s %q, want HIT of the waiter's response", cs, w.Body)
			}
		})
	}
}

// TestCacheStaleWhileRevalidateUpdating: within an expired entry's
// Cache-Control stale-while-revalidate, a request that comes while another
// updates the entry gets it at once (UPDATING), without
// fastcgi_cache_use_stale updating (recorded from nginx 1.22.1: EXPIRED
// n=2 for the updating request, UPDATING n=1 for the other).
func TestCacheStaleWhileRevalidateUpdating(t *testing.T) {
	clock := &fakeClock{}
	app := &nginxApp{clock: clock, count: map[string]int{}, wait: make(chan struct{}), arrived: make(chan struct{}, 1)}
	set := cacheSettings(func(c *config.CacheSettings) { c.Key = "$uri" })
	h := newCachingHandler(t, FastCGI, set, clock, app.start(t, FastCGI))
	target := "/up?h=Cache-Control:max-age=1,+stale-while-revalidate=30"
	if w, cs := doCached(h, http.MethodGet, target); cs != "MISS" || !strings.HasPrefix(w.Body.String(), "/up n=1") {
		t.Fatalf("first: %s %q, want MISS /up n=1", cs, w.Body)
	}
	clock.Sleep(context.Background(), 3*time.Second)
	first := make(chan string, 1)
	go func() {
		w, cs := doCached(h, http.MethodGet, target+"&wait=1")
		first <- cs + " " + w.Body.String()
	}()
	select {
	case <-app.arrived:
	case <-time.After(5 * time.Second):
		t.Fatal("the updating request did not reach the application")
	}
	w, cs := doCached(h, http.MethodGet, target)
	close(app.wait)
	if cs != "UPDATING" || !strings.HasPrefix(w.Body.String(), "/up n=1") {
		t.Errorf("while updating: %s %q, want UPDATING /up n=1", cs, w.Body)
	}
	if got := <-first; !strings.HasPrefix(got, "EXPIRED /up n=2") {
		t.Errorf("the updating request: %q, want EXPIRED /up n=2", got)
	}
}
