package daemon_test

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// connGoroutines counts the goroutines serving client connections of the
// in-process daemons: those in clientConn's serve or resume.
func connGoroutines() int {
	buf := make([]byte, 1<<22)
	buf = buf[:runtime.Stack(buf, true)]
	n := 0
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "daemon.(*clientConn).serveRequests") {
			n++
		}
	}
	return n
}

// waitParked waits, for what, until the in-process daemons' connection
// goroutines are back to before: the connections opened since are parked
// (or closed).
func waitParked(t *testing.T, what string, before int) {
	t.Helper()
	waitWithin(t, 30*time.Second, what, func() bool { return connGoroutines() <= before })
}

// waitWithin polls cond until it holds, or fails after within.
func waitWithin(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(within); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("%s: not within %v", what, within)
		}
	}
}

// keptConn is a client's kept-alive connection, plain or TLS.
type keptConn struct {
	c  net.Conn
	br *bufio.Reader
}

// get sends GET path on k and returns the body of the answer, which must
// keep the connection open.
func (k *keptConn) get(t *testing.T, path string) string {
	t.Helper()
	_ = k.c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := fmt.Fprintf(k.c, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(k.br, nil)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.Close {
		t.Fatalf("GET %s: %v, close %v", path, err, resp.Close)
	}
	return string(b)
}

// closedWithin reports whether the server closes k within d (EOF).
func (k *keptConn) closedWithin(d time.Duration) error {
	_ = k.c.SetReadDeadline(time.Now().Add(d))
	n, err := k.br.Read(make([]byte, 1))
	if err == io.EOF {
		return nil
	}
	return fmt.Errorf("read %d bytes, %v; want EOF", n, err)
}

// openKept opens n connections to addr (with TLS when tlsConf is not nil),
// each with one request answered.
func openKept(t *testing.T, addr string, n int, tlsConf *tls.Config) []*keptConn {
	t.Helper()
	var conns []*keptConn
	for i := range n {
		var c net.Conn
		var err error
		if tlsConf != nil {
			c, err = tls.Dial("tcp", addr, tlsConf)
		} else {
			c, err = net.Dial("tcp", addr)
		}
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		k := &keptConn{c: c, br: bufio.NewReader(c)}
		if got, want := k.get(t, fmt.Sprintf("/first/%d", i)), fmt.Sprintf("backend /first/%d ", i); !strings.HasPrefix(got, want) {
			t.Fatalf("first answer %q, want %q...", got, want)
		}
		conns = append(conns, k)
	}
	return conns
}

// parkModes are the two kinds of connection that park: plain, and TLS
// after its first request (listen line, client's TLS configuration).
var parkModes = []struct {
	name   string
	listen string
	client *tls.Config
}{
	{"plain", "listen 127.0.0.1:0;", nil},
	{"tls", "listen 127.0.0.1:0 ssl;", &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}}},
}

// TestIdleConnectionsPark: keep-alive connections idle past a second hold
// no goroutine (a parked connection costs a few hundred bytes where a
// waiting goroutine kept its 8 KiB stack), and each comes back for its next
// requests, which are answered as before; a client's close of a parked
// connection ends it, and stub_status counts every one of these right.
func TestIdleConnectionsPark(t *testing.T) {
	backend := echoBackend(t)
	for _, tt := range parkModes {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			cert, _ := tlsSites(t, dir)
			addr := startDaemon(t, dir, fmt.Sprintf(`
    keepalive_timeout 60s;
    server {
        %s
        %s
        location / { proxy_pass http://%s; }
        location = /status { stub_status; }
    }`, tt.listen, cert, backend))
			idleConnectionsPark(t, addr, tt.client)
		})
	}
}

func idleConnectionsPark(t *testing.T, addr string, tlsConf *tls.Config) {
	const n = 20
	before := connGoroutines()
	conns := openKept(t, addr, n, tlsConf)
	waitParked(t, "idle connections let go of their goroutines", before)

	for i, k := range conns {
		for _, p := range []string{"/again/", "/third/"} {
			path := fmt.Sprint(p, i)
			if got, want := k.get(t, path), "backend "+path+" x-set="; got != want {
				t.Fatalf("connection %d after parking: %q, want %q", i, got, want)
			}
		}
	}
	waitParked(t, "parked again", before)

	status := func() string {
		c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: tlsConf, DisableKeepAlives: true}}
		scheme := "http"
		if tlsConf != nil {
			scheme = "https"
		}
		resp, err := c.Get(scheme + "://" + addr + "/status")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		line, _, _ := strings.Cut(string(b), "\n")
		return line
	}
	if got, want := status(), fmt.Sprintf("Active connections: %d ", n+1); got != want {
		t.Errorf("with %d parked connections: %q, want %q", n, got, want)
	}
	for _, k := range conns {
		k.c.Close()
	}
	waitWithin(t, 10*time.Second, "closed parked connections counted out", func() bool {
		return status() == "Active connections: 1 "
	})
}

// TestParkedConnectionKeepaliveTimeout: a parked connection is closed when
// its keepalive_timeout passes, not before.
func TestParkedConnectionKeepaliveTimeout(t *testing.T) {
	backend := echoBackend(t)
	dir := t.TempDir()
	addr := startDaemon(t, dir, fmt.Sprintf(`
    keepalive_timeout 3s;
    server {
        listen 127.0.0.1:0;
        location / { proxy_pass http://%s; }
    }`, backend))
	before := connGoroutines()
	start := time.Now()
	k := openKept(t, addr, 1, nil)[0]
	waitParked(t, "parked", before)
	if err := k.closedWithin(15 * time.Second); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 2900*time.Millisecond {
		t.Errorf("closed %v after its response, before keepalive_timeout 3s", d)
	}
}

// TestGracefulStopClosesParkedConnections: QUIT closes parked connections
// at once, as idle ones, and the daemon stops without waiting for their
// keepalive_timeout.
func TestGracefulStopClosesParkedConnections(t *testing.T) {
	backend := echoBackend(t)
	dir := t.TempDir()
	text := fmt.Sprintf("pid %[1]s/fulcrum.pid;\nerror_log %[1]s/error.log notice;\nhttp {\n"+`
    keepalive_timeout 120s;
    server {
        listen 127.0.0.1:0;
        location / { proxy_pass http://%[2]s; }
    }`+"\n}\n", dir, backend)
	addr, sigs := runConfig(t, dir, text)
	before := connGoroutines()
	conns := openKept(t, addr, 5, nil)
	waitParked(t, "parked", before)
	sigs <- syscall.SIGQUIT
	for i, k := range conns {
		if err := k.closedWithin(10 * time.Second); err != nil {
			t.Fatalf("connection %d after QUIT: %v", i, err)
		}
	}
	waitWithin(t, 10*time.Second, "the daemon's exit line", func() bool {
		b, _ := os.ReadFile(filepath.Join(dir, "error.log"))
		return strings.HasSuffix(string(b), ": exit\n")
	})
}

// TestReloadKeepsParkedConnections: a reload leaves parked connections of a
// listener it keeps open, and their next request is served by the new
// configuration.
func TestReloadKeepsParkedConnections(t *testing.T) {
	backend := echoBackend(t)
	dir := t.TempDir()
	conf := func(header string) string {
		return fmt.Sprintf("pid %[1]s/fulcrum.pid;\nerror_log %[1]s/error.log notice;\nhttp {\n"+`
    keepalive_timeout 60s;
    server {
        listen 127.0.0.1:0;
        location / { proxy_set_header X-Set %[3]s; proxy_pass http://%[2]s; }
    }`+"\n}\n", dir, backend, header)
	}
	addr, sigs := runConfig(t, dir, conf("old"))
	before := connGoroutines()
	k := openKept(t, addr, 1, nil)[0]
	waitParked(t, "parked", before)
	if err := os.WriteFile(filepath.Join(dir, "fulcrum.conf"), []byte(conf("new")), 0o644); err != nil {
		t.Fatal(err)
	}
	sigs <- syscall.SIGHUP
	waitWithin(t, 10*time.Second, "the reload", func() bool {
		b, _ := os.ReadFile(filepath.Join(dir, "error.log"))
		return strings.Contains(string(b), "reconfiguring: done")
	})
	if got, want := k.get(t, "/after"), "backend /after x-set=new"; got != want {
		t.Errorf("parked connection after the reload: %q, want %q", got, want)
	}
}
