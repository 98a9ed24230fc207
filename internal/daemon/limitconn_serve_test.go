package daemon_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// holdBackend is a backend whose requests with "hold" in the query wait
// until the test ends (or release is called); the others answer at once
// with the status in the path's last element ("/x/404" answers 404). held
// counts the requests waiting.
type holdBackend struct {
	addr    string
	held    atomic.Int32
	release func()
}

func newHoldBackend(t *testing.T) *holdBackend {
	t.Helper()
	stop := make(chan struct{})
	var once sync.Once
	hb := &holdBackend{release: func() { once.Do(func() { close(stop) }) }}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.RawQuery, "hold") {
			hb.held.Add(1)
			<-stop
		}
		if strings.HasSuffix(r.URL.Path, "/404") {
			w.WriteHeader(http.StatusNotFound)
		}
		io.WriteString(w, "backend "+r.URL.Path)
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(hb.release) // runs before srv.Close
	hb.addr = srv.Listener.Addr().String()
	return hb
}

// getStatus answers the status of GET url, failing the test on an error.
func getStatus(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// holdOne starts GET url in the background and waits until the backend
// holds it (so its limit_conn counts are taken).
func holdOne(t *testing.T, hb *holdBackend, url string) {
	t.Helper()
	before := hb.held.Load()
	go func() {
		if resp, err := http.Get(url); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}()
	waitFor(t, func() bool { return hb.held.Load() > before })
}

// TestLimitConnKeyLength: nginx 1.22.1 does not count a limit_conn key
// longer than 255 bytes; it logs "the value of the "$arg_y" key is more than
// 255 bytes" at error and lets the request through (recorded: two
// overlapping requests with a 300-byte $arg_y were both answered 200, with a
// 1-byte key the second got 503). A 255-byte key is still counted.
func TestLimitConnKeyLength(t *testing.T) {
	tests := []struct {
		name    string
		keyLen  int
		want    int
		wantLog bool
	}{
		{"255 bytes is counted", 255, 503, false},
		{"256 bytes is not counted", 256, 200, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hb := newHoldBackend(t)
			dir := t.TempDir()
			addr, _ := runConfig(t, dir, `error_log `+filepath.Join(dir, "error.log")+` info;
http {
    access_log off;
    limit_conn_zone $arg_y zone=y:1m;
    server {
        listen 127.0.0.1:0;
        location / { limit_conn y 1; proxy_pass http://`+hb.addr+`; }
    }
}
`)
			key := strings.Repeat("k", tt.keyLen)
			holdOne(t, hb, "http://"+addr+"/?hold&y="+key)
			if got := getStatus(t, "http://"+addr+"/?y="+key); got != tt.want {
				t.Errorf("second request with a %d-byte key while the first is in progress: %d, want %d", tt.keyLen, got, tt.want)
			}
			if tt.wantLog {
				waitForLog(t, filepath.Join(dir, "error.log"), `error the value of the "$arg_y" key is more than 255 bytes: "`+key+`"`)
			}
		})
	}
}

// TestLimitConnAfterEmptyKeyRedirect: nginx 1.22.1 counts a request once,
// but only once a key was looked up. A request whose limit_conn keys were
// all empty, redirected by error_page to a location with its own limit_conn,
// is counted there (recorded: with /hold busy, GET /empty, whose $arg_y is
// empty and whose backend answers 404, was refused with 503 at /hold, and
// logged "limiting connections by zone "addr""). A request that was counted
// is not counted again after the redirect (GET /counted/?y=1 was answered
// 200 by the backend at /hold).
func TestLimitConnAfterEmptyKeyRedirect(t *testing.T) {
	hb := newHoldBackend(t)
	dir := t.TempDir()
	addr, _ := runConfig(t, dir, `error_log `+filepath.Join(dir, "error.log")+` info;
http {
    access_log off;
    limit_conn_zone $binary_remote_addr zone=addr:1m;
    limit_conn_zone $arg_y zone=y:1m;
    server {
        listen 127.0.0.1:0;
        location /hold { limit_conn addr 1; proxy_pass http://`+hb.addr+`; }
        location /empty/ {
            limit_conn y 1;
            proxy_intercept_errors on;
            error_page 404 = /hold;
            proxy_pass http://`+hb.addr+`;
        }
        location /counted/ {
            limit_conn y 5;
            proxy_intercept_errors on;
            error_page 404 = /hold;
            proxy_pass http://`+hb.addr+`;
        }
    }
}
`)
	holdOne(t, hb, "http://"+addr+"/hold?hold")
	if got := getStatus(t, "http://"+addr+"/empty/404"); got != 503 {
		t.Errorf("empty key, then redirected to a busy limit_conn: %d, want 503", got)
	}
	waitForLog(t, filepath.Join(dir, "error.log"), `error limiting connections by zone "addr"`)
	if got := getStatus(t, "http://"+addr+"/counted/404?y=1"); got != 200 {
		t.Errorf("counted under y, then redirected to a busy limit_conn: %d, want 200 from the backend", got)
	}
}
