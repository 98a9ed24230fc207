package integration

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// cacheTestConf caches everything for 10 minutes in %[1]s; %[2]s is the
// backend, %[3]s a value of an X-Gen field that tells configurations apart.
const cacheTestConf = `
events {}
http {
    proxy_cache_path %[1]s levels=1:2 keys_zone=pages:1m max_size=10m inactive=1h;
    server {
        listen 127.0.0.1:0;
        location / {
            proxy_pass http://%[2]s;
            proxy_cache pages;
            proxy_cache_valid 10m;
            add_header X-Cache $upstream_cache_status;
            add_header X-Gen %[3]s;
        }
    }
}`

// cacheGet returns the X-Cache and X-Gen fields and the body of a GET.
func cacheGet(t *testing.T, client *http.Client, url string) (xcache, gen, body string) {
	t.Helper()
	resp, err := client.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.Header.Get("X-Cache"), resp.Header.Get("X-Gen"), string(b)
}

// TestProxyCacheSurvivesReloadAndRestart runs the real binary: a MISS stores
// the response in a file at nginx's levels=1:2 place, the next request is a
// HIT, a reload (SIGHUP) keeps the zone, and a new process on the same
// directory reads the entry back.
func TestProxyCacheSurvivesReloadAndRestart(t *testing.T) {
	t.Parallel() // its own process, backends and temp dir; no upper time bound
	b := startBackend(t, "b1")
	cacheDir := t.TempDir()
	addr := b.srv.Listener.Addr().String()
	in := startFulcrum(t, fmt.Sprintf(cacheTestConf, cacheDir, addr, "1"), 1)
	awaitSignals(t, in)
	client := newClient()
	url := in.url(0) + "/page?x=1"

	if xc, _, body := cacheGet(t, client, url); xc != "MISS" || !strings.HasPrefix(body, "b1 GET /page?x=1") {
		t.Fatalf("first request: X-Cache %q, body %q", xc, body)
	}
	if xc, _, _ := cacheGet(t, client, url); xc != "HIT" {
		t.Fatalf("second request: X-Cache %q, want HIT", xc)
	}
	// The default key is nginx 1.22.1's: the upstream URL requested
	// (recorded: "KEY: http://127.0.0.1:18771/plain/a?b=1"), not the
	// "$scheme$proxy_host$request_uri" of its documentation.
	sum := md5.Sum([]byte("http://" + addr + "/page?x=1"))
	name := hex.EncodeToString(sum[:])
	file := filepath.Join(cacheDir, name[31:], name[29:31], name)
	if data, err := os.ReadFile(file); err != nil {
		t.Fatalf("no cache file at %s: %v", file, err)
	} else if !strings.Contains(string(data), "KEY: http://"+addr+"/page?x=1\n") {
		t.Errorf("the cache file has no KEY line for the key")
	}

	in.rewrite(fmt.Sprintf(cacheTestConf, cacheDir, addr, "2"))
	in.signal(syscall.SIGHUP)
	waitFor(t, "the reloaded configuration", func() bool {
		_, gen, _ := cacheGet(t, client, in.url(0)+"/other")
		return gen == "2"
	})
	if xc, gen, _ := cacheGet(t, client, url); xc != "HIT" || gen != "2" {
		t.Fatalf("after the reload: X-Cache %q, X-Gen %q, want HIT from configuration 2", xc, gen)
	}

	in.signal(syscall.SIGTERM)
	select {
	case <-in.exited:
	case <-time.After(10 * time.Second):
		t.Fatal("fulcrum did not stop")
	}
	in2 := startFulcrum(t, fmt.Sprintf(cacheTestConf, cacheDir, addr, "3"), 1)
	if xc, gen, _ := cacheGet(t, client, in2.url(0)+"/page?x=1"); xc != "HIT" || gen != "3" {
		t.Fatalf("after a restart: X-Cache %q, X-Gen %q, want HIT", xc, gen)
	}
	b.mu.Lock()
	hits := b.hits
	b.mu.Unlock()
	if hits != 2 { // /page once, /other once (the reload probe's first answer is stored)
		t.Errorf("backend answered %d requests, want 2", hits)
	}
}
