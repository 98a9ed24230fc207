package daemon_test

import (
	"io"
	"net"
	"net/http"
	"net/http/fcgi"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// countingListener counts the connections a backend has open: accepted and
// not yet closed (fcgi.Serve and net/http close one when fulcrum does), and,
// when accepted is set, all it accepted.
type countingListener struct {
	net.Listener
	open, accepted *atomic.Int64
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.open.Add(1)
	if l.accepted != nil {
		l.accepted.Add(1)
	}
	return &countedConn{Conn: c, open: l.open}, nil
}

type countedConn struct {
	net.Conn
	open   *atomic.Int64
	closed atomic.Bool
}

func (c *countedConn) Close() error {
	if c.closed.CompareAndSwap(false, true) {
		c.open.Add(-1)
	}
	return c.Conn.Close()
}

// waitOpenConns waits up to 5 s for a backend to have want connections
// open (countingListener's count).
func waitOpenConns(t *testing.T, open *atomic.Int64, want int64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for open.Load() != want {
		if time.Now().After(deadline) {
			t.Fatalf("the backend has %d connections open, want %d", open.Load(), want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestFastCGIKeepConnReload: the idle connections fastcgi_keep_conn keeps
// close once a reload replaced their configuration and its last request is
// done, instead of staying open (one more per upstream and reload) until the
// application gives up on them.
func TestFastCGIKeepConnReload(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var open atomic.Int64
	go fcgi.Serve(countingListener{Listener: ln, open: &open}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "php")
	}))
	t.Cleanup(func() { ln.Close() })

	dir := t.TempDir()
	path := filepath.Join(dir, "fulcrum.conf")
	conf := strings.NewReplacer("DIR", dir, "APP", ln.Addr().String()).Replace(`
error_log DIR/error.log notice;
events {}
http {
    access_log off;
    upstream php { server APP; keepalive 4; }
    server {
        listen 127.0.0.1:0;
        location / {
            fastcgi_pass php;
            fastcgi_keep_conn on;
            fastcgi_param REQUEST_METHOD $request_method;
            fastcgi_param SERVER_PROTOCOL $server_protocol;
            fastcgi_param REQUEST_URI $request_uri;
        }
    }
}`)
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	addr, sigs := runConfigFile(t, path)
	get := func() {
		t.Helper()
		if b := getBody(t, addr, "/index.php"); b != "php" {
			t.Fatalf("body %q, want php", b)
		}
	}
	waitOpen := func(want int64) { t.Helper(); waitOpenConns(t, &open, want) }
	get()
	get()
	waitOpen(1) // kept between requests: one connection served both

	reloadAndWait(t, sigs, dir)
	waitOpen(0) // the old configuration's idle connection closed
	get()
	waitOpen(1)
}

// TestFastCGIKeepaliveSharedByLocations: the idle connections an upstream
// block's keepalive keeps are the block's, shared by every location whose
// fastcgi_pass names it, with variables too, as nginx's keepalive cache is.
// Recorded with nginx 1.22.1: with upstream php { server APP; keepalive 1; }
// and fastcgi_keep_conn on, the requests /a/1, /b/2, /a/3, /b/4, /d/5,
// /a/6, /d/7 over locations /a/, /b/ and /d/ ("fastcgi_pass $u") reached
// the application over one connection; fulcrum kept one per location
// (three).
func TestFastCGIKeepaliveSharedByLocations(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var open, accepted atomic.Int64
	go fcgi.Serve(countingListener{Listener: ln, open: &open, accepted: &accepted}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "php "+r.URL.Path)
	}))
	t.Cleanup(func() { ln.Close() })
	dir := t.TempDir()
	addr := startDaemon(t, dir, strings.ReplaceAll(`
    access_log off;
    upstream php { server APP; keepalive 1; }
    server {
        listen 127.0.0.1:0;
        fastcgi_keep_conn on;
        fastcgi_param REQUEST_METHOD $request_method;
        fastcgi_param SERVER_PROTOCOL $server_protocol;
        fastcgi_param REQUEST_URI $request_uri;
        location /a/ { fastcgi_pass php; }
        location /b/ { fastcgi_pass php; }
        location /d/ { set $u php; fastcgi_pass $u; }
    }`, "APP", ln.Addr().String()))
	for _, p := range []string{"/a/1", "/b/2", "/a/3", "/b/4", "/d/5", "/a/6", "/d/7"} {
		if b := getBody(t, addr, p); b != "php "+p {
			t.Fatalf("%s: body %q, want %q", p, b, "php "+p)
		}
	}
	if n := accepted.Load(); n != 1 {
		t.Errorf("the application accepted %d connections, want 1 (nginx's)", n)
	}
}
