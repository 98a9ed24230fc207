package daemon_test

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"fulcrum/internal/daemon"
)

// namedBackend starts a backend that answers its name in X-Backend and
// counts its requests; while broken is set it drops each connection
// without an answer (an upstream error).
type namedBackend struct {
	name   string
	srv    *httptest.Server
	hits   atomic.Int64
	broken atomic.Bool
}

func newNamedBackend(t *testing.T, name string) *namedBackend {
	t.Helper()
	b := &namedBackend{name: name}
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if b.broken.Load() {
			if hj, ok := w.(http.Hijacker); ok {
				if c, _, err := hj.Hijack(); err == nil {
					c.Close()
				}
			}
			return
		}
		b.hits.Add(1)
		w.Header().Set("X-Backend", name)
		io.WriteString(w, name)
	}))
	t.Cleanup(b.srv.Close)
	return b
}

func (b *namedBackend) addr() string { return strings.TrimPrefix(b.srv.URL, "http://") }

func md5hex(s string) string { h := md5.Sum([]byte(s)); return hex.EncodeToString(h[:]) }

// get sends GET path with cookie (if any) and returns the backend that
// answered and the Set-Cookie values.
func get(t *testing.T, client *http.Client, addr, path, cookie string) (backend string, setCookie []string) {
	t.Helper()
	req, err := http.NewRequest("GET", "http://"+addr+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: status %d", path, resp.StatusCode)
	}
	return resp.Header.Get("X-Backend"), resp.Header.Values("Set-Cookie")
}

// TestStickyCookieEndToEnd runs the daemon with "sticky cookie" in front of
// two real backends: a request without the cookie is balanced and gets a
// cookie naming its server; requests with it stay there; when that server
// fails they move and get the new server's cookie.
func TestStickyCookieEndToEnd(t *testing.T) {
	a, b := newNamedBackend(t, "a"), newNamedBackend(t, "b")
	dir := t.TempDir()
	addr, _ := runConfig(t, dir, fmt.Sprintf(`events {}
http {
    upstream u {
        server %s;
        server %s;
        sticky cookie srv_id expires=max httponly path=/;
    }
    server { listen 127.0.0.1:0; location / { proxy_pass http://u; } }
}`, a.addr(), b.addr()))
	client := &http.Client{Timeout: 10 * time.Second}
	cookieFor := map[string]string{"a": md5hex(a.addr()), "b": md5hex(b.addr())}
	attrs := "; expires=Thu, 31-Dec-37 23:55:55 GMT; max-age=315360000; httponly; path=/"

	// Without a cookie, round robin: both servers, each naming itself.
	seen := map[string]bool{}
	for range 2 {
		name, sc := get(t, client, addr, "/", "")
		seen[name] = true
		if want := "srv_id=" + cookieFor[name] + attrs; len(sc) != 1 || sc[0] != want {
			t.Fatalf("%s: Set-Cookie %q, want %q", name, sc, want)
		}
	}
	if !seen["a"] || !seen["b"] {
		t.Fatalf("without a cookie the requests went to %v", seen)
	}
	// With b's cookie every request goes to b, and the cookie is sent again.
	for range 6 {
		name, sc := get(t, client, addr, "/", "other=1; srv_id="+cookieFor["b"])
		if name != "b" || len(sc) != 1 || !strings.HasPrefix(sc[0], "srv_id="+cookieFor["b"]+";") {
			t.Fatalf("with b's cookie: served by %s, Set-Cookie %q", name, sc)
		}
	}
	// An unknown ID is balanced normally.
	if name, sc := get(t, client, addr, "/", "srv_id=0123"); len(sc) != 1 || sc[0] != "srv_id="+cookieFor[name]+attrs {
		t.Fatalf("unknown id: %s %q", name, sc)
	}
	// b fails: the request with b's cookie moves to a (a retry) and gets
	// a's cookie; while b is out, b's cookie keeps going to a.
	b.broken.Store(true)
	for range 3 {
		name, sc := get(t, client, addr, "/", "srv_id="+cookieFor["b"])
		if name != "a" || len(sc) != 1 || sc[0] != "srv_id="+cookieFor["a"]+attrs {
			t.Fatalf("b failed: served by %s, Set-Cookie %q", name, sc)
		}
	}
	if b.hits.Load() != 7 {
		t.Errorf("b answered %d requests, want 7", b.hits.Load())
	}
}

// TestStickyRouteEndToEnd checks "sticky route" with route= servers: the
// route in a query argument picks the server, and no cookie is set.
func TestStickyRouteEndToEnd(t *testing.T) {
	a, b := newNamedBackend(t, "a"), newNamedBackend(t, "b")
	addr, _ := runConfig(t, t.TempDir(), fmt.Sprintf(`events {}
http {
    upstream u {
        server %s route=ra;
        server %s route=rb;
        sticky route $cookie_route $arg_route;
    }
    server { listen 127.0.0.1:0; location / { proxy_pass http://u; } }
}`, a.addr(), b.addr()))
	client := &http.Client{Timeout: 10 * time.Second}
	for _, c := range []struct{ path, cookie, want string }{
		{"/?route=rb", "", "b"}, {"/?route=rb", "", "b"}, {"/?route=ra", "", "a"}, {"/?route=ra", "", "a"},
		{"/?route=ra", "route=rb", "b"}, {"/?route=ra", "route=rb", "b"},
	} {
		name, sc := get(t, client, addr, c.path, c.cookie)
		if name != c.want || len(sc) != 0 {
			t.Errorf("%s cookie %q: served by %s, Set-Cookie %q; want %s and none", c.path, c.cookie, name, sc, c.want)
		}
	}
}

// TestSlowStartEndToEnd fails a slow_start server through the daemon, brings
// it back, and checks with a fake upstream clock that its share of requests
// grows over slow_start.
func TestSlowStartEndToEnd(t *testing.T) {
	a, b := newNamedBackend(t, "a"), newNamedBackend(t, "b")
	base := time.Now()
	var offset atomic.Int64
	clock := func() time.Time { return base.Add(time.Duration(offset.Load())) }
	dir := t.TempDir()
	path := filepath.Join(dir, "fulcrum.conf")
	conf := fmt.Sprintf(`events {}
http {
    upstream u {
        server %s;
        server %s max_fails=1 fail_timeout=10s slow_start=100s;
    }
    server { listen 127.0.0.1:0; location / { proxy_pass http://u; } }
}`, a.addr(), b.addr())
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	addr, _ := runConfigFileOpts(t, path, daemon.Options{Clock: clock})
	client := &http.Client{Timeout: 10 * time.Second}

	// b fails once (the request is retried on a): out for fail_timeout.
	b.broken.Store(true)
	for range 2 {
		if name, _ := get(t, client, addr, "/", ""); name != "a" {
			t.Fatalf("b broken, served by %s", name)
		}
	}
	b.broken.Store(false)
	for range 4 {
		if name, _ := get(t, client, addr, "/", ""); name != "a" {
			t.Fatalf("b out, served by %s", name)
		}
	}
	// After the window a probe reaches b; its success starts the ramp.
	offset.Store(int64(11 * time.Second))
	probed := false
	for range 5 {
		if name, _ := get(t, client, addr, "/", ""); name == "b" {
			probed = true
			break
		}
	}
	if !probed {
		t.Fatal("no probe reached b after fail_timeout")
	}
	prev := -1
	for _, c := range []struct {
		after time.Duration
		want  int // of 110 requests
	}{{10 * time.Second, 10}, {50 * time.Second, 37}, {100 * time.Second, 55}} {
		offset.Store(int64(11*time.Second + c.after))
		before := b.hits.Load()
		for range 110 {
			get(t, client, addr, "/", "")
		}
		got := int(b.hits.Load() - before)
		if got < c.want-2 || got > c.want+2 || got <= prev {
			t.Errorf("%v into slow_start: b answered %d of 110, want %d±2 (and more than %d)", c.after, got, c.want, prev)
		}
		prev = got
	}
}

// TestStickyLearnEndToEnd runs "sticky learn" in front of two backends that
// create sessions with a cookie on /login: requests that carry a session go
// to the server that created it, unknown sessions are balanced, a failed
// server's sessions go elsewhere while it is out, and a reload that keeps
// the zone keeps the sessions.
func TestStickyLearnEndToEnd(t *testing.T) {
	type backend struct {
		name   string
		srv    *httptest.Server
		logins atomic.Int64
		broken atomic.Bool
	}
	newBackend := func(name string) *backend {
		b := &backend{name: name}
		b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if b.broken.Load() {
				if c, _, err := w.(http.Hijacker).Hijack(); err == nil {
					c.Close()
				}
				return
			}
			if r.URL.Path == "/login" {
				w.Header().Add("Set-Cookie", fmt.Sprintf("sid=%s-%d; path=/", name, b.logins.Add(1)))
			}
			w.Header().Set("X-Backend", name)
		}))
		t.Cleanup(b.srv.Close)
		return b
	}
	a, b := newBackend("a"), newBackend("b")
	dir := t.TempDir()
	addr, sigs := runConfig(t, dir, fmt.Sprintf(`error_log %s/error.log notice;
events {}
http {
    upstream u {
        server %s;
        server %s;
        sticky learn create=$upstream_cookie_sid lookup=$cookie_sid zone=sessions:1m timeout=1h;
    }
    server { listen 127.0.0.1:0; location / { proxy_pass http://u; } }
}`, dir, strings.TrimPrefix(a.srv.URL, "http://"), strings.TrimPrefix(b.srv.URL, "http://")))
	client := &http.Client{Timeout: 10 * time.Second}

	// Two logins, balanced: one session on each server.
	sessions := map[string]string{} // backend -> its session's cookie
	for range 2 {
		name, sc := get(t, client, addr, "/login", "")
		if len(sc) != 1 {
			t.Fatalf("login at %s: Set-Cookie %q, want the backend's one", name, sc)
		}
		sessions[name], _, _ = strings.Cut(sc[0], ";")
	}
	if sessions["a"] == "" || sessions["b"] == "" {
		t.Fatalf("the logins went to %v, want both servers", sessions)
	}
	stays := func(when string) {
		t.Helper()
		for _, name := range []string{"a", "b", "b", "a", "b", "a"} {
			if got, _ := get(t, client, addr, "/page", "theme=dark; "+sessions[name]); got != name {
				t.Fatalf("%s: the session created by %s (%s) went to %s", when, name, sessions[name], got)
			}
		}
	}
	stays("learned")
	// A session the zone does not know is balanced.
	seen := map[string]bool{}
	for range 2 {
		name, _ := get(t, client, addr, "/page", "sid=nobody")
		seen[name] = true
	}
	if !seen["a"] || !seen["b"] {
		t.Fatalf("an unknown session went to %v, want both servers", seen)
	}

	// A reload that keeps the zone's name and size keeps its sessions.
	reloadAndWait(t, sigs, dir)
	stays("after a reload")

	// b fails: its session's requests go to a while b is out.
	b.broken.Store(true)
	for range 3 {
		if got, _ := get(t, client, addr, "/page", sessions["b"]); got != "a" {
			t.Fatalf("b failed: its session went to %s, want a", got)
		}
	}
	// A login while b is out creates a new session, on a, which stays there.
	b.broken.Store(false)
	if got, sc := get(t, client, addr, "/login", sessions["b"]); got != "a" || len(sc) != 1 {
		t.Fatalf("login while b is out: %s %q", got, sc)
	} else {
		sessions["b"], _, _ = strings.Cut(sc[0], ";")
	}
	for range 3 {
		if got, _ := get(t, client, addr, "/page", sessions["b"]); got != "a" {
			t.Fatalf("the session created by a went to %s", got)
		}
	}
}
