package integration

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/fcgi"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// purgeConf is NGINX Plus's admin guide example (map $request_method
// $purge_method, proxy_cache_purge $purge_method) with the purger on:
// %[1]s is the cache directory, %[2]s the backend, %[3]s the access log.
const purgeConf = `
events {}
http {
    map $request_method $purge_method {
        PURGE   1;
        default 0;
    }
    log_format purge '$request_method $uri $status "$upstream_cache_status"';
    proxy_cache_path %[1]s levels=1:2 keys_zone=pages:1m purger=on purger_files=1 purger_sleep=10ms;
    server {
        listen 127.0.0.1:0;
        access_log %[3]s purge flush=50ms;
        location / {
            proxy_pass http://%[2]s;
            proxy_cache pages;
            proxy_cache_key $uri;
            proxy_cache_valid 10m;
            proxy_cache_purge $purge_method;
            add_header X-Cache $upstream_cache_status;
        }
    }
}`

// purge sends a PURGE and returns its status and body.
func purge(t *testing.T, client *http.Client, url string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("PURGE", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// entryFile is where a levels=1:2 zone in dir keeps the entry of key.
func entryFile(dir, key string) string {
	sum := md5.Sum([]byte(key))
	name := hex.EncodeToString(sum[:])
	return filepath.Join(dir, name[31:], name[29:31], name)
}

// TestProxyCachePurge runs the real binary with NGINX Plus's purge
// configuration: a cached page is a HIT; PURGE answers 204 without a body
// and without reaching the backend; the next GET is a MISS that reaches it;
// a PURGE of a key without an entry answers 412; a wildcard PURGE ("/p/*")
// answers 204 and clears every key it starts and no other, the purger
// removing the files no request touched; the access log has the purges
// with their status and no $upstream_cache_status.
func TestProxyCachePurge(t *testing.T) {
	t.Parallel() // its own process, backends and temp dir; no upper time bound
	b := startBackend(t, "b1")
	cacheDir, logDir := t.TempDir(), t.TempDir()
	logFile := filepath.Join(logDir, "access.log")
	in := startFulcrum(t, fmt.Sprintf(purgeConf, cacheDir, b.addr(), logFile), 1)
	client := newClient()
	base := in.url(0)
	for _, p := range []string{"/a", "/p/1", "/p/2", "/p/3", "/q"} {
		if xc, _, _ := cacheGet(t, client, base+p); xc != "MISS" {
			t.Fatalf("GET %s: X-Cache %q, want MISS", p, xc)
		}
		if xc, _, _ := cacheGet(t, client, base+p); xc != "HIT" {
			t.Fatalf("GET %s again: X-Cache %q, want HIT", p, xc)
		}
	}
	hits := b.hitCount()

	if code, body := purge(t, client, base+"/a"); code != http.StatusNoContent || body != "" {
		t.Fatalf("PURGE /a: %d %q, want 204 without a body", code, body)
	}
	if _, err := os.Stat(entryFile(cacheDir, "/a")); !os.IsNotExist(err) {
		t.Errorf("the purged entry's file is still there: %v", err)
	}
	if got := b.hitCount(); got != hits {
		t.Fatalf("the PURGE reached the backend (%d requests, want %d)", got, hits)
	}
	if xc, _, body := cacheGet(t, client, base+"/a"); xc != "MISS" || !strings.HasPrefix(body, "b1 GET /a") {
		t.Fatalf("GET /a after the purge: X-Cache %q, body %q, want a MISS from the backend", xc, body)
	}
	if got := b.hitCount(); got != hits+1 {
		t.Fatalf("backend requests %d, want %d", got, hits+1)
	}
	if xc, _, _ := cacheGet(t, client, base+"/a"); xc != "HIT" {
		t.Errorf("GET /a stored again: X-Cache %q, want HIT", xc)
	}
	if code, _ := purge(t, client, base+"/none"); code != http.StatusPreconditionFailed {
		t.Errorf("PURGE of a key without an entry: %d, want 412", code)
	}

	if code, body := purge(t, client, base+"/p/*"); code != http.StatusNoContent || body != "" {
		t.Fatalf("PURGE /p/*: %d %q, want 204", code, body)
	}
	// The purger (purger=on) removes /p/3's file though no request asks.
	waitFor(t, "the purger to remove /p/3's file", func() bool {
		_, err := os.Stat(entryFile(cacheDir, "/p/3"))
		return os.IsNotExist(err)
	})
	for _, p := range []string{"/p/1", "/p/2", "/p/3"} {
		if xc, _, _ := cacheGet(t, client, base+p); xc != "MISS" {
			t.Errorf("GET %s after PURGE /p/*: X-Cache %q, want MISS", p, xc)
		}
	}
	for _, p := range []string{"/q", "/a"} {
		if xc, _, _ := cacheGet(t, client, base+p); xc != "HIT" {
			t.Errorf("GET %s, outside the wildcard: X-Cache %q, want HIT", p, xc)
		}
	}

	want := []string{`PURGE /a 204 "-"`, `PURGE /none 412 "-"`, `PURGE /p/* 204 "-"`}
	waitFor(t, "the purges in the access log", func() bool {
		data, _ := os.ReadFile(logFile)
		for _, w := range want {
			if !strings.Contains(string(data), w+"\n") {
				return false
			}
		}
		return true
	})
}

// fcgiPurgeConf is purgeConf for fastcgi_cache: %[1]s is the cache
// directory, %[2]s the application.
const fcgiPurgeConf = `
events {}
http {
    map $request_method $purge_method {
        PURGE   1;
        default 0;
    }
    fastcgi_cache_path %[1]s levels=1:2 keys_zone=php:1m;
    server {
        listen 127.0.0.1:0;
        location / {
            fastcgi_pass %[2]s;
            fastcgi_param REQUEST_METHOD $request_method;
            fastcgi_param REQUEST_URI $request_uri;
            fastcgi_param SERVER_PROTOCOL $server_protocol;
            fastcgi_cache php;
            fastcgi_cache_key $uri;
            fastcgi_cache_valid 200 10m;
            fastcgi_cache_purge $purge_method;
            add_header X-Cache $upstream_cache_status;
        }
    }
}`

// TestFastCGICachePurge: fastcgi_cache_purge through the same code as the
// proxy's: 204 and a MISS after it, 412 for a key without an entry, a
// wildcard that clears its keys only (here without the purger: a request
// that reaches a purged entry removes it).
func TestFastCGICachePurge(t *testing.T) {
	t.Parallel() // its own process, backends and temp dir; no upper time bound
	var calls atomic.Int64
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go fcgi.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s %s #%d", r.Method, r.URL.RequestURI(), calls.Add(1))
	}))
	cacheDir := t.TempDir()
	in := startFulcrum(t, fmt.Sprintf(fcgiPurgeConf, cacheDir, ln.Addr().String()), 1)
	client := newClient()
	base := in.url(0)
	for _, p := range []string{"/x.php", "/d/1.php", "/e.php"} {
		cacheGet(t, client, base+p)
		if xc, _, _ := cacheGet(t, client, base+p); xc != "HIT" {
			t.Fatalf("GET %s again: X-Cache %q, want HIT", p, xc)
		}
	}
	before := calls.Load()
	if code, _ := purge(t, client, base+"/x.php"); code != http.StatusNoContent {
		t.Fatalf("PURGE /x.php: %d, want 204", code)
	}
	if calls.Load() != before {
		t.Fatal("the PURGE reached the application")
	}
	if xc, _, body := cacheGet(t, client, base+"/x.php"); xc != "MISS" || !strings.HasPrefix(body, "GET /x.php #") {
		t.Errorf("GET /x.php after the purge: X-Cache %q, body %q, want a MISS", xc, body)
	}
	if code, _ := purge(t, client, base+"/none.php"); code != http.StatusPreconditionFailed {
		t.Errorf("PURGE of a key without an entry: %d, want 412", code)
	}
	if code, _ := purge(t, client, base+"/d/*"); code != http.StatusNoContent {
		t.Fatalf("PURGE /d/*: %d, want 204", code)
	}
	if _, err := os.Stat(entryFile(cacheDir, "/d/1.php")); err != nil {
		t.Errorf("without the purger, a wildcard purge leaves the file until a request reaches it: %v", err)
	}
	if xc, _, _ := cacheGet(t, client, base+"/d/1.php"); xc != "MISS" {
		t.Errorf("GET /d/1.php after PURGE /d/*: X-Cache %q, want MISS", xc)
	}
	if xc, _, _ := cacheGet(t, client, base+"/e.php"); xc != "HIT" {
		t.Errorf("GET /e.php, outside the wildcard: X-Cache %q, want HIT", xc)
	}
}
