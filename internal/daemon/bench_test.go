package daemon_test

import (
	"bytes"
	"context"
	"fmt"
	"fulcrum/internal/testutil"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"
)

// These benchmarks send whole requests over loopback through the daemon's real
// path (listener, router, proxy handler, upstream pool) to an httptest backend,
// and the same requests straight to the backend. The difference between
// "proxied" and "direct" is what fulcrum costs per request, in time and in
// allocations (the client and the backend live in the same process, so their
// allocations are in both numbers). bench/README.md has current results.

// benchSmall and benchBig are the backend's bodies, as in bench/run.sh.
var (
	benchSmall = []byte("Hello, World!")
	benchBig   = bytes.Repeat([]byte("0123456789abcdef"), 64*1024/16)
)

// benchBackend starts an httptest server answering /small and /big with a
// Content-Length, like bench/backend.
func benchBackend(b *testing.B) *httptest.Server {
	b.Helper()
	fixed := func(body []byte) http.HandlerFunc {
		length := []string{strconv.Itoa(len(body))}
		return func(w http.ResponseWriter, _ *http.Request) {
			w.Header()["Content-Length"] = length
			w.Header()["Content-Type"] = []string{"text/plain"}
			w.Write(body)
		}
	}
	mux := http.NewServeMux()
	mux.Handle("/small", fixed(benchSmall))
	mux.Handle("/big", fixed(benchBig))
	srv := httptest.NewServer(mux)
	b.Cleanup(srv.Close)
	return srv
}

// benchDaemon runs the daemon with a proxy to backend on an ephemeral loopback
// port and returns its address. worker_processes follows the benchmark's
// GOMAXPROCS (the daemon sets GOMAXPROCS from it). The daemon stops at cleanup.
func benchDaemon(b *testing.B, backend string) string {
	b.Helper()
	dir := b.TempDir()
	conf := fmt.Sprintf(`worker_processes %d;
pid %s/fulcrum.pid;
error_log %s/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    upstream backends {
        server %s;
        keepalive 64;
    }
    server {
        listen 127.0.0.1:0;
        location / { proxy_pass http://backends; }
    }
}
`, runtime.GOMAXPROCS(0), dir, dir, backend)
	// Registered first, so it runs after the daemon stopped: its shutdown's
	// lines count too.
	b.Cleanup(func() {
		logged, _ := os.ReadFile(filepath.Join(dir, "error.log"))
		if bytes.Contains(logged, []byte("[error]")) || bytes.Contains(logged, []byte("[crit]")) {
			b.Errorf("daemon logged errors:\n%s", logged)
		}
	})
	addr, _ := runConfig(b, dir, conf)
	return addr
}

// benchClient is a keep-alive client with enough idle connections for the
// parallel cases.
func benchClient(b *testing.B) *http.Client {
	b.Helper()
	tr := &http.Transport{MaxIdleConnsPerHost: 256, DisableCompression: true}
	b.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// benchRequest prepares a GET request, with browser headers when asked.
func benchRequest(b *testing.B, url string, headers bool) *http.Request {
	b.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		b.Fatal(err)
	}
	if headers {
		for k, v := range testutil.BrowserHeaders() {
			req.Header.Set(k, v)
		}
	}
	return req
}

// doRequest sends req, reads the whole body and checks the status and length.
func doRequest(c *http.Client, req *http.Request, want int) error {
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	n, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil {
		return fmt.Errorf("read body: %w", err)
	}
	if resp.StatusCode != http.StatusOK || n != int64(want) {
		return fmt.Errorf("got %d with %d bytes, want 200 with %d", resp.StatusCode, n, want)
	}
	return nil
}

// BenchmarkRequest measures one request and its whole response over a
// keep-alive connection, straight to the backend ("direct") and through the
// daemon ("proxied"), one at a time ("serial") and from 8 goroutines per CPU
// ("parallel"); "headers" adds eleven browser request headers.
func BenchmarkRequest(b *testing.B) {
	backend := benchBackend(b)
	proxied := "http://" + benchDaemon(b, backend.Listener.Addr().String())
	targets := []struct{ name, base string }{{"direct", backend.URL}, {"proxied", proxied}}
	cases := []struct {
		name    string
		path    string
		size    int
		headers bool
	}{
		{"small", "/small", len(benchSmall), false},
		{"small-headers", "/small", len(benchSmall), true},
		{"big", "/big", len(benchBig), false},
	}
	for _, tg := range targets {
		for _, tc := range cases {
			b.Run(tg.name+"/"+tc.name+"/serial", func(b *testing.B) {
				c := benchClient(b)
				req := benchRequest(b, tg.base+tc.path, tc.headers)
				b.ReportAllocs()
				b.SetBytes(int64(tc.size))
				for b.Loop() {
					if err := doRequest(c, req, tc.size); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run(tg.name+"/"+tc.name+"/parallel", func(b *testing.B) {
				c := benchClient(b)
				b.ReportAllocs()
				b.SetBytes(int64(tc.size))
				tmpl := benchRequest(b, tg.base+tc.path, tc.headers)
				b.SetParallelism(8)
				b.RunParallel(func(pb *testing.PB) {
					req := tmpl.Clone(context.Background())
					for pb.Next() {
						if err := doRequest(c, req, tc.size); err != nil {
							b.Error(err)
							return
						}
					}
				})
			})
		}
	}
}
