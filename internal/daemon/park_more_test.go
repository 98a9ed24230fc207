package daemon_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// stubStatus returns the stub_status page at addr/status.
func stubStatus(t *testing.T, addr string) string {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get("http://" + addr + "/status")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// TestParkedConnectionsWakeAtOnce: 500 parked connections whose clients
// all send their next request at the same instant are all answered, and
// stub_status counts them Waiting while parked (nginx counts its idle
// keep-alive connections there).
func TestParkedConnectionsWakeAtOnce(t *testing.T) {
	const n = 500
	dir := t.TempDir()
	addr := startDaemon(t, dir, `
    access_log off;
    keepalive_timeout 60s;
    server {
        listen 127.0.0.1:0 backlog=1024;
        location / { return 200 "$connection_requests\n"; }
        location = /status { stub_status; }
    }`)
	before := connGoroutines()
	conns := make([]*keptConn, n)
	for i := range conns {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		conns[i] = &keptConn{c: c, br: bufio.NewReader(c)}
		if got := conns[i].get(t, "/first"); got != "1\n" {
			t.Fatalf("first answer %q", got)
		}
	}
	waitParked(t, "the connections park", before)
	status := stubStatus(t, addr)
	if want := fmt.Sprintf("Active connections: %d \n", n+1); !strings.HasPrefix(status, want) ||
		!strings.Contains(status, fmt.Sprintf("Reading: 0 Writing: 1 Waiting: %d ", n)) {
		t.Errorf("stub_status with %d parked connections:\n%s", n, status)
	}

	start := make(chan struct{})
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for _, k := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = k.c.SetDeadline(time.Now().Add(30 * time.Second))
			<-start
			if _, err := io.WriteString(k.c, "GET /again HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
				errs <- err
				return
			}
			resp, err := http.ReadResponse(k.br, nil)
			if err != nil {
				errs <- err
				return
			}
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || string(b) != "2\n" {
				errs <- fmt.Errorf("answer %q, %v; want 2", b, err)
			}
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	failed := 0
	for err := range errs {
		if failed++; failed <= 3 {
			t.Error(err)
		}
	}
	if failed > 0 {
		t.Fatalf("%d of %d woken connections were not answered", failed, n)
	}
}

// TestParkedProxyProtocol: a connection to a "listen ... proxy_protocol"
// address keeps what its PROXY protocol header said across a park.
func TestParkedProxyProtocol(t *testing.T) {
	dir := t.TempDir()
	addr := startDaemon(t, dir, `
    keepalive_timeout 60s;
    server {
        listen 127.0.0.1:0 proxy_protocol;
        location / { return 200 "$proxy_protocol_addr:$proxy_protocol_port $connection_requests\n"; }
    }`)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	before := connGoroutines()
	k := &keptConn{c: c, br: bufio.NewReader(c)}
	if _, err := io.WriteString(c, "PROXY TCP4 192.0.2.1 192.0.2.2 5000 80\r\n"); err != nil {
		t.Fatal(err)
	}
	if got := k.get(t, "/first"); got != "192.0.2.1:5000 1\n" {
		t.Fatalf("first answer %q", got)
	}
	waitParked(t, "parked", before)
	if got := k.get(t, "/again"); got != "192.0.2.1:5000 2\n" {
		t.Errorf("after the park: %q, want %q", got, "192.0.2.1:5000 2\n")
	}
}

// TestParkedConnectionHoldsItsSlot: a parked connection still holds its
// worker_connections slot (a new connection waits in the backlog), and its
// client's close gives the slot back. nginx differs: out of connections,
// it closes idle keep-alive ones for the new one (recorded with nginx
// 1.22.1: "4 worker_connections are not enough, reusing connections"; see
// docs/directives.md, worker_connections).
func TestParkedConnectionHoldsItsSlot(t *testing.T) {
	dir := t.TempDir()
	text := fmt.Sprintf("pid %[1]s/fulcrum.pid;\nerror_log %[1]s/error.log notice;\nevents { worker_connections 2; }\nhttp {\n"+`
    access_log off;
    keepalive_timeout 60s;
    server {
        listen 127.0.0.1:0;
        location / { return 200 "ok\n"; }
    }`+"\n}\n", dir)
	addr, _ := runConfig(t, dir, text)
	before := connGoroutines()
	conns := openKeptReturn(t, addr, 2)
	waitParked(t, "parked", before)
	c, err := net.Dial("tcp", addr) // into the backlog: no slot
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, "GET /third HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	_ = c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if _, err := br.ReadByte(); err == nil {
		t.Fatal("a third connection was answered while two parked ones held both slots")
	}
	conns[0].c.Close()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("after a parked connection closed: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("status %d", resp.StatusCode)
	}
}

// openKeptReturn opens n connections to addr, each with one "return"
// request answered.
func openKeptReturn(t *testing.T, addr string, n int) []*keptConn {
	t.Helper()
	var conns []*keptConn
	for range n {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		k := &keptConn{c: c, br: bufio.NewReader(c)}
		k.get(t, "/first")
		conns = append(conns, k)
	}
	return conns
}

// TestFastStopClosesParkedConnections: TERM closes parked connections at
// once (no wait for their keepalive_timeout), and the daemon stops.
func TestFastStopClosesParkedConnections(t *testing.T) {
	dir := t.TempDir()
	text := fmt.Sprintf("pid %[1]s/fulcrum.pid;\nerror_log %[1]s/error.log notice;\nhttp {\n"+`
    keepalive_timeout 120s;
    server {
        listen 127.0.0.1:0;
        location / { return 200 "ok\n"; }
    }`+"\n}\n", dir)
	addr, sigs := runConfig(t, dir, text)
	before := connGoroutines()
	conns := openKeptReturn(t, addr, 5)
	waitParked(t, "parked", before)
	start := time.Now()
	sigs <- syscall.SIGTERM
	for i, k := range conns {
		if err := k.closedWithin(5 * time.Second); err != nil {
			t.Fatalf("connection %d after TERM: %v", i, err)
		}
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("parked connections closed %v after TERM", d)
	}
	waitWithin(t, 10*time.Second, "the daemon's exit line", func() bool {
		b, _ := os.ReadFile(filepath.Join(dir, "error.log"))
		return strings.HasSuffix(string(b), ": exit\n")
	})
}

// TestParkedKeepaliveTimeoutIsTheResponses: a parked connection closes at
// the keepalive_timeout of its last response's location (3s, where the
// server's is 60s), and a reload that changes keepalive_timeout meanwhile
// does not move it, as nginx's timer set at the response.
func TestParkedKeepaliveTimeoutIsTheResponses(t *testing.T) {
	dir := t.TempDir()
	conf := func(server string) string {
		return fmt.Sprintf("pid %[1]s/fulcrum.pid;\nerror_log %[1]s/error.log notice;\nhttp {\n"+`
    access_log off;
    keepalive_timeout %[2]s;
    server {
        listen 127.0.0.1:0;
        location / { return 200 "ok\n"; }
        location /short { keepalive_timeout 3s; return 200 "short\n"; }
    }`+"\n}\n", dir, server)
	}
	addr, sigs := runConfig(t, dir, conf("60s"))
	before := connGoroutines()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	k := &keptConn{c: c, br: bufio.NewReader(c)}
	k.get(t, "/short")
	answered := time.Now()
	waitParked(t, "parked", before)
	if err := os.WriteFile(filepath.Join(dir, "fulcrum.conf"), []byte(conf("100s")), 0o644); err != nil {
		t.Fatal(err)
	}
	sigs <- syscall.SIGHUP
	if err := k.closedWithin(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(answered); d < 2900*time.Millisecond || d > 6*time.Second {
		t.Errorf("closed %v after the response, want its location's keepalive_timeout 3s", d)
	}
}

// TestParkedConnectionHoldsNoLimitConn: limit_conn counts requests, not
// connections: a parked connection holds none of its zone, and its next
// request takes one again.
func TestParkedConnectionHoldsNoLimitConn(t *testing.T) {
	dir := t.TempDir()
	addr := startDaemon(t, dir, `
    access_log off;
    keepalive_timeout 60s;
    limit_conn_zone $server_name zone=one:1m;
    server {
        listen 127.0.0.1:0;
        limit_conn one 1;
        location / { return 200 "ok\n"; }
    }`)
	before := connGoroutines()
	conns := openKeptReturn(t, addr, 2) // one after the other: each within the limit
	waitParked(t, "parked", before)
	for i, k := range conns {
		if got := k.get(t, "/again"); got != "ok\n" {
			t.Errorf("connection %d after the park: %q", i, got)
		}
	}
}

// TestParkedConnectionTimesOutWithFIN: keepalive_timeout ends a parked
// connection with a FIN, reset_timedout_connection on or not: nginx resets
// only a request that timed out, and a keep-alive wait has none (its
// ngx_http_keepalive_handler closes the connection).
func TestParkedConnectionTimesOutWithFIN(t *testing.T) {
	dir := t.TempDir()
	addr := startDaemonLevel(t, dir, "info", `
    access_log off;
    keepalive_timeout 2s;
    reset_timedout_connection on;
    lingering_close always;
    server {
        listen 127.0.0.1:0;
        location / { return 200 "ok\n"; }
    }`)
	before := connGoroutines()
	k := openKeptReturn(t, addr, 1)[0]
	waitParked(t, "parked", before)
	if err := k.closedWithin(10 * time.Second); err != nil {
		t.Fatal(err) // a reset reads as ECONNRESET, not EOF
	}
	// nginx logs nothing for a keep-alive wait that timed out.
	b, _ := os.ReadFile(filepath.Join(dir, "error.log"))
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if !strings.Contains(l, "[notice]") {
			t.Errorf("logged %q", l)
		}
	}
}

// TestParkedKeepAliveHeader: "keepalive_timeout 75s 60s" sends
// "Keep-Alive: timeout=60" on every response of a connection, parked in
// between or not, and a location's own pair its own (recorded with nginx
// 1.22.1, 1.3 s between the requests: timeout=60, timeout=4 for
// "keepalive_timeout 5s 4s", timeout=60).
func TestParkedKeepAliveHeader(t *testing.T) {
	dir := t.TempDir()
	addr := startDaemon(t, dir, `
    access_log off;
    keepalive_timeout 75s 60s;
    server {
        listen 127.0.0.1:0;
        location / { return 200 "ok\n"; }
        location /loc { keepalive_timeout 5s 4s; return 200 "loc\n"; }
    }`)
	before := connGoroutines()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	for i, tt := range []struct{ path, want string }{
		{"/", "timeout=60"}, {"/loc", "timeout=4"}, {"/", "timeout=60"},
	} {
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", tt.path); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if got := resp.Header.Get("Keep-Alive"); got != tt.want || resp.Close {
			t.Errorf("request %d (%s): Keep-Alive %q, close %v; want %q", i, tt.path, got, resp.Close, tt.want)
		}
		waitParked(t, "parked", before)
	}
}

// TestParkedClientUpstreamKeepalive: a client connection that parked
// between two proxied requests gets both answered over the same kept-alive
// upstream connection, as one that did not park.
func TestParkedClientUpstreamKeepalive(t *testing.T) {
	var mu sync.Mutex
	upstreamConns := 0
	b := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "backend %s", r.RequestURI)
	}))
	b.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			mu.Lock()
			upstreamConns++
			mu.Unlock()
		}
	}
	b.Start()
	t.Cleanup(b.Close)
	dir := t.TempDir()
	addr := startDaemon(t, dir, fmt.Sprintf(`
    access_log off;
    keepalive_timeout 60s;
    upstream b { server %s; keepalive 4; }
    server {
        listen 127.0.0.1:0;
        location / { proxy_http_version 1.1; proxy_set_header Connection ""; proxy_pass http://b; }
    }`, b.Listener.Addr()))
	before := connGoroutines()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	k := &keptConn{c: c, br: bufio.NewReader(c)}
	for _, path := range []string{"/one", "/two"} {
		if got := k.get(t, path); got != "backend "+path {
			t.Errorf("GET %s: %q", path, got)
		}
		waitParked(t, "parked", before)
	}
	mu.Lock()
	defer mu.Unlock()
	if upstreamConns != 1 {
		t.Errorf("%d upstream connections, want the one kept alive", upstreamConns)
	}
}

// TestParkedFirstWait: a plain connection that sends nothing for a second
// parks before its first request, which is then served as any first one;
// one that sends nothing at all is closed at client_header_timeout from
// its accept with nginx 1.22.1's line ("client timed out (110: Connection
// timed out) while waiting for request", at info; recorded: "1" after
// 1.4 s, the other closed at 3.0 s).
func TestParkedFirstWait(t *testing.T) {
	dir := t.TempDir()
	addr := startDaemonLevel(t, dir, "info", `
    access_log off;
    client_header_timeout 3s;
    server {
        listen 127.0.0.1:0;
        location / { return 200 "$connection_requests\n"; }
    }`)
	before := connGoroutines()
	var conns []*keptConn
	for range 2 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		conns = append(conns, &keptConn{c: c, br: bufio.NewReader(c)})
	}
	accepted := time.Now()
	waitParked(t, "parked before the first request", before)
	if got := conns[0].get(t, "/first"); got != "1\n" {
		t.Errorf("first request after the park: %q", got)
	}
	if err := conns[1].closedWithin(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(accepted); d < 2900*time.Millisecond || d > 6*time.Second {
		t.Errorf("closed %v after the accept, want client_header_timeout 3s", d)
	}
	waitWithin(t, 5*time.Second, "the timeout's line", func() bool {
		b, _ := os.ReadFile(filepath.Join(dir, "error.log"))
		return strings.Contains(string(b), "[info]") &&
			strings.Contains(string(b), " client timed out (110: Connection timed out) while waiting for request, client: 127.0.0.1, server: "+addr+"\n")
	})
}
