package integration

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"net/http/fcgi"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
)

// fcgiCacheConf caches a FastCGI application's 200s for 10 minutes in
// %[1]s; %[2]s is the application, %[3]s a value of an X-Gen field that
// tells configurations apart.
const fcgiCacheConf = `
events {}
http {
    fastcgi_cache_path %[1]s levels=1:2 keys_zone=php:1m;
    server {
        listen 127.0.0.1:0;
        location / {
            fastcgi_pass %[2]s;
            fastcgi_param REQUEST_METHOD $request_method;
            fastcgi_param REQUEST_URI $request_uri;
            fastcgi_param SERVER_PROTOCOL $server_protocol;
            fastcgi_cache php;
            fastcgi_cache_key $request_method$request_uri;
            fastcgi_cache_valid 200 10m;
            add_header X-Cache $upstream_cache_status;
            add_header X-Gen %[3]s;
        }
    }
}`

// TestFastCGICacheSurvivesReload runs the real binary with fastcgi_cache
// in front of Go's FastCGI responder: a MISS stores the response at nginx's
// levels=1:2 place under the key's MD5, the next request is a HIT, and a
// reload (SIGHUP) keeps the zone.
func TestFastCGICacheSurvivesReload(t *testing.T) {
	var calls atomic.Int64
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go fcgi.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s #%d", r.URL.RequestURI(), calls.Add(1))
	}))
	cacheDir := t.TempDir()
	app := ln.Addr().String()
	in := startFulcrum(t, fmt.Sprintf(fcgiCacheConf, cacheDir, app, "1"), 1)
	awaitSignals(t, in)
	client := newClient()
	url := in.url(0) + "/index.php?p=1"

	if xc, _, body := cacheGet(t, client, url); xc != "MISS" || body != "/index.php?p=1 #1" {
		t.Fatalf("first request: X-Cache %q, body %q", xc, body)
	}
	if xc, _, body := cacheGet(t, client, url); xc != "HIT" || body != "/index.php?p=1 #1" {
		t.Fatalf("second request: X-Cache %q, body %q, want HIT", xc, body)
	}
	sum := md5.Sum([]byte("GET/index.php?p=1"))
	name := hex.EncodeToString(sum[:])
	file := filepath.Join(cacheDir, name[31:], name[29:31], name)
	if data, err := os.ReadFile(file); err != nil {
		t.Fatalf("no cache file at %s: %v", file, err)
	} else if !strings.Contains(string(data), "KEY: GET/index.php?p=1\n") {
		t.Errorf("the cache file has no KEY line for the key")
	}

	in.rewrite(fmt.Sprintf(fcgiCacheConf, cacheDir, app, "2"))
	in.signal(syscall.SIGHUP)
	waitFor(t, "the reloaded configuration", func() bool {
		_, gen, _ := cacheGet(t, client, in.url(0)+"/other")
		return gen == "2"
	})
	if xc, gen, body := cacheGet(t, client, url); xc != "HIT" || gen != "2" || body != "/index.php?p=1 #1" {
		t.Fatalf("after the reload: X-Cache %q, X-Gen %q, body %q, want HIT from configuration 2", xc, gen, body)
	}
	if n := calls.Load(); n != 2 { // the page once, /other once (stored, so later probes hit)
		t.Errorf("the application answered %d requests, want 2", n)
	}
}
