package daemon_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"golang.org/x/net/http2"

	"fulcrum/internal/testutil"
)

// TestTCPNoDelay sends requests on one connection to locations with
// tcp_nodelay on and off: the daemon's socket has TCP_NODELAY cleared
// while a location with off is served (nginx never sets it then) and set
// again for one with on.
func TestTCPNoDelay(t *testing.T) {
	dir := t.TempDir()
	addr := startDaemon(t, dir, `
    access_log off;
    server {
        listen 127.0.0.1:0;
        location /on { return 200 on; }
        location /off { tcp_nodelay off; return 200 off; }
    }`)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	for i, path := range []string{"/on", "/off", "/off", "/on", "/off"} {
		fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		resp.Body.Close()
		if got, want := testutil.SocketNoDelay(t, c.RemoteAddr().(*net.TCPAddr).Port, c.LocalAddr().(*net.TCPAddr).Port), path == "/on"; got != want {
			t.Errorf("request %d (%s): TCP_NODELAY %v, want %v", i, path, got, want)
		}
	}
}

// TestKeepaliveDisable checks which requests close their connection under
// keepalive_disable, as nginx 1.22.1 answered them ("Connection: close"):
// by default (msie6) a POST from Internet Explorer 6 or older; with
// safari, any request from Safari on macOS; none keeps every one.
func TestKeepaliveDisable(t *testing.T) {
	const (
		msie6  = "Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1)"
		sv1    = "Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1; SV1)"
		safari = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15"
		chrome = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"
	)
	dir := t.TempDir()
	addr := startDaemon(t, dir, `
    access_log off;
    server {
        listen 127.0.0.1:0;
        location / { return 200 ok; }
        location /none { keepalive_disable none; return 200 ok; }
        location /safari { keepalive_disable safari; return 200 ok; }
        location /both { keepalive_disable msie6 safari; return 200 ok; }
    }`)
	tests := []struct {
		method, path, ua string
		close            bool
	}{
		{"POST", "/", msie6, true},
		{"GET", "/", msie6, false},
		{"POST", "/", sv1, false},
		{"POST", "/", safari, false},
		{"POST", "/none", msie6, false},
		{"GET", "/safari", safari, true},
		{"POST", "/safari", msie6, false},
		{"GET", "/safari", chrome, false},
		{"POST", "/both", msie6, true},
		{"GET", "/both", safari, true},
	}
	for _, tt := range tests {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(c, "%s %s HTTP/1.1\r\nHost: x\r\nUser-Agent: %s\r\nContent-Length: 0\r\n\r\n", tt.method, tt.path, tt.ua)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		c.Close()
		if err != nil {
			t.Fatalf("%s %s %q: %v", tt.method, tt.path, tt.ua, err)
		}
		resp.Body.Close()
		if resp.Close != tt.close {
			t.Errorf("%s %s %q: Connection %q, want close %v", tt.method, tt.path, tt.ua, resp.Header.Get("Connection"), tt.close)
		}
	}
}

// TestTCPNoDelayHTTP2 checks tcp_nodelay on HTTP/2 connections, h2c and
// over TLS, as nginx 1.22.1 applies it (traced with strace): the
// connection's server decides, once: on sets TCP_NODELAY, off never does,
// and a location's off does not clear it for a stream.
func TestTCPNoDelayHTTP2(t *testing.T) {
	t.Parallel() // its own daemon and backends; waits on timers, no upper time bound
	tests := []struct {
		name, server, location string
		want                   bool
	}{
		{"on", "", "", true},
		{"off", "tcp_nodelay off;", "", false},
		{"location off", "", "tcp_nodelay off;", true},
	}
	for _, tc := range tests {
		for _, tlsOn := range []bool{false, true} {
			name := tc.name + " h2c"
			if tlsOn {
				name = tc.name + " tls"
			}
			t.Run(name, func(t *testing.T) {
				dir := t.TempDir()
				listen, certs, pool := "http2", "", (*x509.CertPool)(nil)
				if tlsOn {
					certs, pool = h2Site(t, dir)
					listen = "ssl http2"
				}
				addr := startDaemon(t, dir, fmt.Sprintf(`access_log off;
    server { listen 127.0.0.1:0 %s; %s %s
        location / { %s return 200 ok; } }`, listen, certs, tc.server, tc.location))
				var conn net.Conn
				tr := &http2.Transport{AllowHTTP: true, TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "a.test"},
					DialTLSContext: func(ctx context.Context, _, _ string, cfg *tls.Config) (net.Conn, error) {
						var d net.Dialer
						c, err := d.DialContext(ctx, "tcp", addr)
						conn = c
						if err != nil || !tlsOn {
							return c, err
						}
						return tls.Client(c, cfg), nil
					}}
				t.Cleanup(tr.CloseIdleConnections)
				scheme := "http"
				if tlsOn {
					scheme = "https"
				}
				for i := range 2 {
					resp, err := (&http.Client{Transport: tr, Timeout: 5 * time.Second}).Get(scheme + "://a.test/")
					if err != nil {
						t.Fatal(err)
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.ProtoMajor != 2 {
						t.Fatalf("%s, want HTTP/2", resp.Proto)
					}
					if got := testutil.SocketNoDelay(t, conn.RemoteAddr().(*net.TCPAddr).Port, conn.LocalAddr().(*net.TCPAddr).Port); got != tc.want {
						t.Errorf("stream %d: TCP_NODELAY %v, want %v", i, got, tc.want)
					}
				}
			})
		}
	}
}
