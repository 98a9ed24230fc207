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

// TestCacheBackgroundUpdateInInclude: a stale entry that an SSI include
// gets under *_cache_background_update answers the include at once and the
// page goes on, while the entry is refreshed in a background subrequest of
// its own, as nginx 1.22.1 does (nginx-tests proxy_cache_use_stale.t "s-w-r
// - not blocked in subrequest", run against nginx 1.22.1: the page came
// whole while the refresh was still being read at 1 KiB/s). The backend
// holds the refresh until the page has come; then the entry is refreshed
// (a HIT with the backend's second answer). fulcrum refreshed the entry
// inside the include: the rest of the page waited for the backend.
func TestCacheBackgroundUpdateInInclude(t *testing.T) {
	b := &cacheBackend{count: map[string]int{}, release: make(chan struct{}), arrived: make(chan struct{}, 1)}
	srv := httptest.NewServer(b)
	t.Cleanup(srv.Close)
	var releaseOnce sync.Once
	release := func() { releaseOnce.Do(func() { close(b.release) }) }
	t.Cleanup(release) // a blocked refresh ends before the daemon stops
	dir := t.TempDir()
	clock := &settableClock{t: time.Now()}
	cc := "h=Cache-Control:max-age%3D1,%20stale-while-revalidate%3D30"
	for name, text := range map[string]string{
		"p.html": `a <!--#include virtual="/c/x?wait=1&` + cc + `" --> b`,
		"q.html": `a <!--#include virtual="/c/y?wait=1&` + cc + `" --> b`,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	conf := fmt.Sprintf(`pid %[1]s/fulcrum.pid;
error_log %[1]s/error.log notice;
http {
    proxy_cache_path %[1]s/c keys_zone=z:1m;
    server {
        listen 127.0.0.1:0;
        root %[1]s;
        location ~ \.html$ { ssi on; }
        location /c/ { proxy_pass http://%[2]s; proxy_cache z; proxy_cache_key $uri;
            proxy_cache_background_update on; add_header X-Cache $upstream_cache_status; }
    }
}
`, dir, srv.Listener.Addr())
	path := filepath.Join(dir, "fulcrum.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	addr, _ := runConfigFileOpts(t, path, daemon.Options{Clock: clock.now})
	client := &http.Client{Timeout: 5 * time.Second}
	for _, p := range []string{"/c/x", "/c/y"} {
		if xc, _, body := cacheGet(t, client, addr, cacheStep{target: p + "?" + cc}); xc != "MISS" || !strings.HasPrefix(body, p+" n=1") {
			t.Fatalf("%s: X-Cache %q %q, want MISS %s n=1", p, xc, body, p)
		}
	}
	clock.add(3 * time.Second)
	_, status, page := cacheGet(t, client, addr, cacheStep{target: "/p.html"})
	if want := "a /c/x n=1 "; status != 200 || !strings.HasPrefix(page, want) || !strings.HasSuffix(page, " b") {
		t.Fatalf("page: %d %q, want 200 %q... \" b\" (the stale entry) before the refresh ends", status, page, want)
	}
	select {
	case <-b.arrived:
	case <-time.After(5 * time.Second):
		t.Fatal("the refresh did not reach the backend")
	}
	release()
	deadline := time.Now().Add(5 * time.Second)
	for {
		xc, _, body := cacheGet(t, client, addr, cacheStep{target: "/c/x"})
		if xc == "HIT" && strings.HasPrefix(body, "/c/x n=2") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the refresh: X-Cache %q %q, want HIT /c/x n=2", xc, body)
		}
	}
	// The backend answers at once now: the next page's refresh runs the
	// same way, and the connection's page is whole.
	_, _, page = cacheGet(t, client, addr, cacheStep{target: "/q.html"})
	if want := "a /c/y n=1 "; !strings.HasPrefix(page, want) || !strings.HasSuffix(page, " b") {
		t.Errorf("second page: %q, want %q... \" b\"", page, want)
	}
}

// TestFastCGIBackgroundUpdateInInclude is TestCacheBackgroundUpdateInInclude
// for fastcgi_cache_background_update (nginx's upstream module runs the same
// background subrequest for every protocol): the page comes with the stale
// entry while the application holds the refresh, which then stores its
// answer.
func TestFastCGIBackgroundUpdateInInclude(t *testing.T) {
	var mu sync.Mutex
	n := 0
	hold, arrived := make(chan struct{}), make(chan struct{}, 1)
	var once sync.Once
	release := func() { once.Do(func() { close(hold) }) }
	t.Cleanup(release)
	app := testutil.RawBackend(t, func(c net.Conn) {
		if _, _, err := readParamsAndBody(bufio.NewReader(c), "fastcgi"); err != nil {
			return
		}
		mu.Lock()
		n++
		seq := n
		mu.Unlock()
		if seq == 2 {
			arrived <- struct{}{}
			<-hold
		}
		answer := fmt.Sprintf("Status: 200 OK\r\nCache-Control: max-age=1, stale-while-revalidate=30\r\nContent-Type: text/plain\r\n\r\napp n=%d", seq)
		c.Write(fcgiStdout([]byte(answer), 0, 0, 0))
	})
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "p.html"), []byte(`a <!--#include virtual="/f/x" --> b`), 0o644); err != nil {
		t.Fatal(err)
	}
	clock := &settableClock{t: time.Now()}
	conf := fmt.Sprintf(`pid %[1]s/fulcrum.pid;
error_log %[1]s/error.log notice;
http {
    fastcgi_cache_path %[1]s/c keys_zone=f:1m;
    server {
        listen 127.0.0.1:0;
        root %[1]s;
        location ~ \.html$ { ssi on; }
        location /f/ { fastcgi_pass %[2]s; fastcgi_cache f; fastcgi_cache_key $uri;
            fastcgi_cache_background_update on; add_header X-Cache $upstream_cache_status; }
    }
}
`, dir, app)
	path := filepath.Join(dir, "fulcrum.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	addr, _ := runConfigFileOpts(t, path, daemon.Options{Clock: clock.now})
	client := &http.Client{Timeout: 5 * time.Second}
	if xc, _, body := cacheGet(t, client, addr, cacheStep{target: "/f/x"}); xc != "MISS" || body != "app n=1" {
		t.Fatalf("first: X-Cache %q %q, want MISS app n=1", xc, body)
	}
	clock.add(3 * time.Second)
	if _, status, page := cacheGet(t, client, addr, cacheStep{target: "/p.html"}); status != 200 || page != "a app n=1 b" {
		t.Fatalf("page: %d %q, want 200 \"a app n=1 b\" before the refresh ends", status, page)
	}
	select {
	case <-arrived:
	case <-time.After(5 * time.Second):
		t.Fatal("the refresh did not reach the application")
	}
	release()
	deadline := time.Now().Add(5 * time.Second)
	for {
		xc, _, body := cacheGet(t, client, addr, cacheStep{target: "/f/x"})
		if xc == "HIT" && body == "app n=2" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the refresh: X-Cache %q %q, want HIT app n=2", xc, body)
		}
	}
}
