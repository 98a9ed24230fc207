package daemon_test

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestProxyCacheDefaultKey checks the key an entry stores (the "KEY:" line of
// its file, whose MD5 names it) without proxy_cache_key. nginx 1.22.1's
// default is not the "$scheme$proxy_host$request_uri" its documentation
// shows: ngx_http_proxy_create_key joins the proxy_pass URL's scheme and
// host as written ("http://" and $proxy_host) with the URI it sends
// upstream. Recorded with nginx 1.22.1 for the same locations:
//
//	KEY: http://127.0.0.1:18771/plain/a?b=1
//	KEY: http://127.0.0.1:18771/app/a?b=1
//	KEY: http://back/up/a
//	KEY: http://back/xz
//	KEY: http://127.0.0.1:18771/var/v?q
//	KEY: http://127.0.0.1:18771/v/varuri/w
//	KEY: http://back/plain/k?y
//	KEY: http://unix:/tmp/wt-cache/ngx/u.sock:/q/b
//	KEY: http://unix:/tmp/wt-cache/ngx/u.sock\x00/ux/a
//
// The last is nginx's: without a URI part, the key takes one byte past the
// socket's path, the end of the proxy_pass string.
func TestProxyCacheDefaultKey(t *testing.T) {
	back := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		fmt.Fprintln(w, "back", r.RequestURI)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	sock := filepath.Join(dir, "u.sock")
	uln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range []net.Listener{ln, uln} {
		srv := &http.Server{Handler: back}
		go srv.Serve(l)
		t.Cleanup(func() { srv.Close() })
	}
	up := ln.Addr().String()
	cacheDir := filepath.Join(dir, "cache")
	conf := fmt.Sprintf(`pid %[1]s/fulcrum.pid;
error_log %[1]s/error.log notice;
http {
    proxy_cache_path %[2]s keys_zone=p:1m;
    upstream back { server %[3]s; }
    server {
        listen 127.0.0.1:0;
        proxy_cache p;
        location /plain/ { proxy_pass http://%[3]s; }
        location /uri/ { proxy_pass http://%[3]s/app/; }
        location /up/ { proxy_pass http://back; }
        location /upuri/ { proxy_pass http://back/x; }
        location /var/ { set $u %[3]s; proxy_pass http://$u; }
        location /varuri/ { set $u %[3]s; proxy_pass http://$u/v$uri; }
        location /rw/ { rewrite ^/rw/(.*)$ /plain/$1 break; proxy_pass http://back; }
        location /ux/ { proxy_pass http://unix:%[4]s; }
        location /uxc/ { proxy_pass http://unix:%[4]s:/q/; }
        location /own/ { proxy_cache_key $scheme$proxy_host$request_uri; proxy_pass http://back; }
    }
}
`, dir, cacheDir, up, sock)
	addr, _ := runConfig(t, dir, conf)
	targets := []string{"/plain/a?b=1", "/uri/a?b=1", "/up/a", "/upuri/z", "/var/v?q", "/varuri/w", "/rw/k?y",
		"/uxc/b", "/ux/a", "/own/o"}
	for _, target := range targets {
		resp, err := http.Get("http://" + addr + target)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d", target, resp.StatusCode)
		}
	}
	want := []string{
		"http://" + up + "/plain/a?b=1",
		"http://" + up + "/app/a?b=1",
		"http://back/up/a",
		"http://back/xz",
		"http://" + up + "/var/v?q",
		"http://" + up + "/v/varuri/w",
		"http://back/plain/k?y",
		"http://unix:" + sock + ":/q/b",
		"http://unix:" + sock + "\x00/ux/a",
		"httpback/own/o", // an explicit key is what it says
	}
	slices.Sort(want)
	var got []string
	deadline := time.Now().Add(5 * time.Second)
	for {
		got = cacheKeys(t, cacheDir)
		if len(got) >= len(want) || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !slices.Equal(got, want) {
		t.Errorf("keys:\n got %q\nwant %q", got, want)
	}
}

// cacheKeys are the KEY lines of the entries under dir, sorted.
func cacheKeys(t *testing.T, dir string) []string {
	t.Helper()
	var keys []string
	filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return nil
		}
		if i := bytes.Index(data, []byte("KEY: ")); i >= 0 {
			line, _, _ := strings.Cut(string(data[i+5:]), "\n")
			keys = append(keys, line)
		}
		return nil
	})
	slices.Sort(keys)
	return keys
}
