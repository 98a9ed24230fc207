package daemon_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/fcgi"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"fulcrum/internal/testutil"
)

// fcgiNamed serves Go's FastCGI responder on network/addr, answering
// "NAME PATH"; calls, when not nil, counts the requests.
func fcgiNamed(t *testing.T, network, addr, name string, calls *atomic.Int64) string {
	t.Helper()
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go fcgi.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls != nil {
			calls.Add(1)
		}
		fmt.Fprintf(w, "%s %s", name, r.URL.Path)
	}))
	return ln.Addr().String()
}

// scgiNamed answers every SCGI request with "scgi".
func scgiNamed(t *testing.T) string {
	return testutil.RawBackend(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		n, err := br.ReadString(':')
		if err != nil {
			return
		}
		var size int
		fmt.Sscan(strings.TrimSuffix(n, ":"), &size)
		if _, err := io.ReadFull(br, make([]byte, size+1)); err != nil {
			return
		}
		io.WriteString(c, "Status: 200 OK\r\nContent-Type: text/plain\r\n\r\nscgi")
	})
}

// uwsgiNamed answers every uwsgi request with "uwsgi".
func uwsgiNamed(t *testing.T) string {
	return testutil.RawBackend(t, func(c net.Conn) {
		if _, _, err := testutil.ReadUWSGI(c); err != nil {
			return
		}
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuwsgi")
	})
}

// TestCGIPassVariables runs fastcgi_pass, scgi_pass and uwsgi_pass with
// variables against real backends. Every row is what nginx 1.22.1 did
// with the same configuration and values (status, $upstream_addr, error
// log line at error level): an address from set, an upstream block from
// set or from a map (with its balancing: the dead server is tried, then
// the next), a UNIX socket, a host name through the resolver, and nginx's
// 500s (no host, no port, invalid port or host) and 502s (no resolver, a
// name the resolver does not know).
func TestCGIPassVariables(t *testing.T) {
	dir := t.TempDir()
	a1 := fcgiNamed(t, "tcp", "127.0.0.1:0", "a1", nil)
	a2 := fcgiNamed(t, "tcp", "127.0.0.1:0", "a2", nil)
	sock := filepath.Join(dir, "php.sock")
	fcgiNamed(t, "unix", sock, "sock", nil)
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := dead.Addr().String()
	dead.Close()
	scgi, uwsgi := scgiNamed(t), uwsgiNamed(t)
	dns := testutil.StartDNSServer(t)
	dns.Set("app.test", "127.0.0.1")
	_, a2port, _ := net.SplitHostPort(a2)

	addr, _ := runConfig(t, dir, strings.NewReplacer("DIR", dir, "A1", a1, "A2", a2, "DEAD", deadAddr, "DNS", dns.Addr).Replace(`
error_log DIR/error.log info;
events {}
http {
    log_format ua '$request_uri $status $upstream_addr';
    access_log DIR/access.log ua buffer=0;
    fastcgi_param REQUEST_METHOD $request_method;
    fastcgi_param SCRIPT_NAME $uri;
    fastcgi_param SERVER_PROTOCOL $server_protocol;
    upstream php { server DEAD; server A1; }
    upstream two { server A2; }
    map $arg_b $mapped { default php; two two; }
    server {
        listen 127.0.0.1:0;
        location /set/ { set $b $arg_b; fastcgi_pass $b; }
        location /map/ { fastcgi_pass $mapped; }
        location /res/ { resolver DNS valid=60s; fastcgi_pass $arg_b; }
        location /scgi/ { scgi_pass $arg_b; }
        location /uwsgi/ { uwsgi_pass uwsgi://$arg_b; }
    }
}`))
	tests := []struct {
		target string
		status int
		body   string
		// upstream is $upstream_addr; logged the error log line.
		upstream, logged string
	}{
		{"/set/?b=" + a1, 200, "a1 /set/", a1, ""},
		{"/set/?b=php", 200, "a1 /set/", deadAddr + ", " + a1, "error connect() failed (111: Connection refused) while connecting to upstream"},
		{"/set/?b=PHP", 200, "a1 /set/", a1, ""},
		{"/set/?b=unix:" + sock, 200, "sock /set/", "unix:" + sock, ""},
		{"/map/", 200, "a1 /map/", a1, ""},
		{"/map/?b=two", 200, "a2 /map/", a2, ""},
		{"/res/?b=app.test:" + a2port, 200, "a2 /res/", a2, ""},
		{"/res/?b=APP.test:" + a2port, 200, "a2 /res/", a2, ""},
		{"/scgi/?b=" + scgi, 200, "scgi", scgi, ""},
		{"/uwsgi/?b=" + uwsgi, 200, "uwsgi", uwsgi, ""},
		{"/set/?b=", 500, "", "-", `error no host in upstream "", client: 127.0.0.1, server: , request: "GET /set/?b= HTTP/1.1", host: "`},
		{"/set/?b=127.0.0.1", 500, "", "-", `error no port in upstream "127.0.0.1", client`},
		{"/set/?b=127.0.0.1:99999", 500, "", "-", `error invalid port in upstream "127.0.0.1:99999", client`},
		{"/set/?b=http://" + a1, 500, "", "-", `error invalid host in upstream "http://` + a1 + `", client`},
		{"/set/?b=unix:", 500, "", "-", `error no path in the unix domain socket in upstream "unix:", client`},
		{"/set/?b=php:9000", 502, "", "-", `error no resolver defined to resolve php, client`},
		{"/set/?b=app.test:" + a2port, 502, "", "-", `error no resolver defined to resolve app.test, client`},
		{"/res/?b=missing.test:" + a2port, 502, "", "-", `error missing.test could not be resolved (3: Host not found), client`},
		{"/res/?b=app.test", 500, "", "-", `error no port in upstream "app.test", client`},
		{"/scgi/?b=127.0.0.1", 500, "", "-", `error no port in upstream "127.0.0.1", client`},
		{"/uwsgi/?b=", 500, "", "-", `error invalid host in upstream "uwsgi://", client`},
	}
	client := &http.Client{Timeout: 5 * time.Second}
	for _, tt := range tests {
		resp, err := client.Get("http://" + addr + tt.target)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.status || tt.body != "" && string(body) != tt.body {
			t.Errorf("%s: %d %q, want %d %q", tt.target, resp.StatusCode, body, tt.status, tt.body)
		}
		if tt.logged != "" {
			waitForLog(t, filepath.Join(dir, "error.log"), tt.logged)
		}
	}
	for _, tt := range tests {
		waitForLine(t, filepath.Join(dir, "access.log"), fmt.Sprintf("%s %d %s", tt.target, tt.status, tt.upstream))
	}
}

// TestCGIPassVariablesKeepConnCache: a fastcgi_pass with variables that
// names an upstream block keeps its connections open with
// fastcgi_keep_conn on and the block's keepalive, and a caching location
// keys its entries without the pass: a response stored from one server is
// served for a request that names another, or a name nothing could
// resolve, as nginx 1.22.1 did (it looks the name up only on a miss); a
// value that is no address is still a 500 (nginx parses it first).
func TestCGIPassVariablesKeepConnCache(t *testing.T) {
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var open, accepted atomic.Int64
	go fcgi.Serve(countingListener{Listener: ln, open: &open, accepted: &accepted}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "kept")
	}))
	t.Cleanup(func() { ln.Close() })
	var calls1, calls2 atomic.Int64
	a1 := fcgiNamed(t, "tcp", "127.0.0.1:0", "a1", &calls1)
	a2 := fcgiNamed(t, "tcp", "127.0.0.1:0", "a2", &calls2)
	addr, _ := runConfig(t, dir, strings.NewReplacer("DIR", dir, "APP", ln.Addr().String()).Replace(`
error_log DIR/error.log info;
events {}
http {
    access_log off;
    fastcgi_param REQUEST_METHOD $request_method;
    fastcgi_param SCRIPT_NAME $uri;
    fastcgi_param SERVER_PROTOCOL $server_protocol;
    fastcgi_cache_path DIR/cache keys_zone=c:1m;
    upstream kept { server APP; keepalive 4; }
    server {
        listen 127.0.0.1:0;
        location /k/ { fastcgi_keep_conn on; set $b kept; fastcgi_pass $b; }
        location /c/ { fastcgi_cache c; fastcgi_cache_key $uri; fastcgi_cache_valid 200 1m; fastcgi_pass $arg_b; }
    }
}`))
	client := &http.Client{Timeout: 5 * time.Second}
	get := func(target string) string {
		t.Helper()
		resp, err := client.Get("http://" + addr + target)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Sprint(resp.StatusCode)
		}
		return string(body)
	}
	for i := range 3 {
		if got := get("/k/"); got != "kept" {
			t.Fatalf("request %d: %q", i, got)
		}
	}
	if n := accepted.Load(); n != 1 {
		t.Errorf("the application accepted %d connections for 3 requests, want 1 kept open", n)
	}
	for _, tt := range []struct{ target, want string }{
		{"/c/x?b=" + a1, "a1 /c/x"},
		{"/c/x?b=" + a2, "a1 /c/x"},
		{"/c/x?b=nothing.test:1", "a1 /c/x"},
		{"/c/x?b=127.0.0.1", "a1 /c/x"},
		{"/c/x?b=", "500"},
		{"/c/y?b=127.0.0.1", "500"},
		{"/c/y?b=nothing.test:1", "502"},
	} {
		if got := get(tt.target); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.target, got, tt.want)
		}
	}
	if calls1.Load() != 1 || calls2.Load() != 0 {
		t.Errorf("the applications were called %d and %d times, want 1 and 0", calls1.Load(), calls2.Load())
	}
}
