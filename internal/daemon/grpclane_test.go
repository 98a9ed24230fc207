package daemon_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestGRPCHeadCostsOneRequest: a gRPC response head over the bound costs
// only its own request, as with nginx 1.22.1, which sends each request in
// flight on a connection of its own (recorded: three requests waiting on
// the server beside one whose head was 200 KB: the big head's request got
// a 502 "upstream sent too big header", the three got 200s). Go's HTTP/2
// client multiplexed them on one connection and closed it for the big head
// (a connection error: PROTOCOL_ERROR for a head in CONTINUATION frames,
// COMPRESSION_ERROR for one field over the bound), and the waiting requests
// got 502s too.
func TestGRPCHeadCostsOneRequest(t *testing.T) {
	const waiting = 3
	arrived := make(chan struct{}, waiting)
	release := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/grpc")
		switch r.URL.Path {
		case "/many":
			for i := range 2000 {
				w.Header().Set(fmt.Sprintf("X-M%d", i), strings.Repeat("v", 100))
			}
		case "/one":
			w.Header().Set("X-Big", strings.Repeat("a", 200000))
		default:
			arrived <- struct{}{}
			<-release
		}
		w.Write([]byte("body"))
	})
	s := httptest.NewUnstartedServer(h)
	s.Config.Protocols = new(http.Protocols)
	s.Config.Protocols.SetUnencryptedHTTP2(true)
	s.Start()
	t.Cleanup(s.Close)
	addr := startDaemon(t, t.TempDir(), fmt.Sprintf(`
    access_log off;
    server { listen 127.0.0.1:0; location / { grpc_pass grpc://%s; } }`, s.Listener.Addr()))
	get := func(path string) (int, string, error) {
		resp, err := noRedirects.Get("http://" + addr + path)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), err
	}
	for _, big := range []string{"/many", "/one"} {
		t.Run(big, func(t *testing.T) {
			release = make(chan struct{})
			var wg sync.WaitGroup
			codes := make([]int, waiting)
			bodies := make([]string, waiting)
			errs := make([]error, waiting)
			for i := range waiting {
				wg.Go(func() { codes[i], bodies[i], errs[i] = get(fmt.Sprintf("/wait%d", i)) })
			}
			for range waiting {
				select {
				case <-arrived:
				case <-time.After(10 * time.Second):
					close(release)
					t.Fatal("the waiting requests did not reach the server")
				}
			}
			code, _, err := get(big)
			close(release)
			wg.Wait()
			if err != nil || code != http.StatusBadGateway {
				t.Errorf("%s: %d %v, want 502", big, code, err)
			}
			for i := range waiting {
				if errs[i] != nil || codes[i] != http.StatusOK || bodies[i] != "body" {
					t.Errorf("waiting request %d: %d %q %v, want 200 \"body\"", i, codes[i], bodies[i], errs[i])
				}
			}
		})
	}
}

// TestGRPCLanesKeepOnlyKeepalive: after a burst of requests in flight at
// once (each on a lane, a connection of its own), only as many upstream
// connections stay open as the upstream's keepalive allows, at least one:
// the others close when their request ends, as nginx's grpc_pass closes a
// connection its keepalive cache has no room for.
func TestGRPCLanesKeepOnlyKeepalive(t *testing.T) {
	const burst = 3
	for _, tc := range []struct {
		keepalive string
		want      int64 // upstream connections open once the burst is over
	}{
		{"", 1},
		{"keepalive 2;", 2},
		{"keepalive 8;", burst},
	} {
		t.Run(tc.keepalive, func(t *testing.T) {
			arrived := make(chan struct{}, burst)
			release := make(chan struct{})
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/grpc")
				arrived <- struct{}{}
				<-release
				w.Write([]byte("body"))
			})
			var open atomic.Int64
			s := httptest.NewUnstartedServer(h)
			s.Config.Protocols = new(http.Protocols)
			s.Config.Protocols.SetUnencryptedHTTP2(true)
			s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
				switch st {
				case http.StateNew:
					open.Add(1)
				case http.StateClosed, http.StateHijacked:
					open.Add(-1)
				}
			}
			s.Start()
			t.Cleanup(s.Close)
			addr := startDaemon(t, t.TempDir(), fmt.Sprintf(`
    access_log off;
    upstream g { server %s; %s }
    server { listen 127.0.0.1:0; location / { grpc_pass grpc://g; } }`, s.Listener.Addr(), tc.keepalive))
			var wg sync.WaitGroup
			codes := make([]int, burst)
			for i := range burst {
				wg.Go(func() {
					resp, err := noRedirects.Get(fmt.Sprintf("http://%s/wait%d", addr, i))
					if err != nil {
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					codes[i] = resp.StatusCode
				})
			}
			for range burst {
				select {
				case <-arrived:
				case <-time.After(10 * time.Second):
					close(release)
					t.Fatal("the requests did not reach the server together")
				}
			}
			if n := open.Load(); n != burst {
				t.Errorf("%d upstream connections while %d requests were in flight, want one each", n, burst)
			}
			close(release)
			wg.Wait()
			for i, c := range codes {
				if c != http.StatusOK {
					t.Errorf("request %d: %d, want 200", i, c)
				}
			}
			deadline := time.Now().Add(5 * time.Second)
			for open.Load() > tc.want && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			if n := open.Load(); n != tc.want {
				t.Errorf("%d upstream connections open after the burst, want %d", n, tc.want)
			}
		})
	}
}
