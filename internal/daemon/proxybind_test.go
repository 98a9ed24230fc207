package daemon_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestProxyBind proxies through locations with proxy_bind over loopback
// (Linux gives 127.0.0.1 the whole 127.0.0.0/8, so 127.0.0.2 can be bound)
// to a backend that answers with the peer address it sees. Statuses and
// error log lines are nginx 1.22.1's for the same configuration: a value
// that is no address is logged and binds nothing, an empty one binds
// nothing, an address the host does not have is a 500 logged at crit.
func TestProxyBind(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, _ := net.SplitHostPort(r.RemoteAddr)
		fmt.Fprintf(w, "peer=%s", host)
	}))
	t.Cleanup(backend.Close)
	be := backend.Listener.Addr().String()
	addr, dir := runDaemon(t, func(dir string) string {
		return fmt.Sprintf(`
    access_log off;
    upstream ka { server %[1]s; keepalive 4; }
    server {
        listen 127.0.0.1:0;
        proxy_bind 127.0.0.2;
        location /inherit { proxy_pass http://%[1]s; }
        location /off { proxy_bind off; proxy_pass http://%[1]s; }
        location /three { proxy_bind 127.0.0.3; proxy_pass http://%[1]s; }
        location /var { proxy_bind $arg_a; proxy_pass http://%[1]s; }
        location /kavar { proxy_bind $arg_a; proxy_http_version 1.1; proxy_set_header Connection ""; proxy_pass http://ka; }
        location /bad { proxy_bind 192.0.2.1; proxy_pass http://%[1]s; }
    }`, be)
	})
	cases := []struct {
		name, path string
		status     int
		body       string
		log        string // a line the error log must get
	}{
		{"server level inherited", "/inherit", 200, "peer=127.0.0.2", ""},
		{"off cancels it", "/off", 200, "peer=127.0.0.1", ""},
		{"location's own", "/three", 200, "peer=127.0.0.3", ""},
		{"variable", "/var?a=127.0.0.4", 200, "peer=127.0.0.4", ""},
		{"variable with a port", "/var?a=127.0.0.5:0", 200, "peer=127.0.0.1", `invalid local address "127.0.0.5:0"`},
		{"empty variable binds nothing", "/var", 200, "peer=127.0.0.1", ""},
		{"not an address", "/var?a=zzz", 200, "peer=127.0.0.1", `[error] `},
		{"keepalive pool apart per address 1", "/kavar?a=127.0.0.6", 200, "peer=127.0.0.6", ""},
		{"keepalive pool apart per address 2", "/kavar?a=127.0.0.7", 200, "peer=127.0.0.7", ""},
		{"keepalive pool apart per address 3", "/kavar?a=127.0.0.6", 200, "peer=127.0.0.6", ""},
		{"keepalive pool apart, unbound", "/kavar", 200, "peer=127.0.0.1", ""},
		{"cannot bind", "/bad", 500, "500 Internal Server Error",
			`[crit] `},
	}
	client := &http.Client{Timeout: 5 * time.Second}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := client.Get("http://" + addr + tc.path)
			if err != nil {
				t.Fatal(err)
			}
			b := make([]byte, 4096)
			n, _ := resp.Body.Read(b)
			resp.Body.Close()
			if resp.Close != (tc.status == 500) { // nginx closes after its 500 page
				t.Errorf("Connection: close is %v", resp.Close)
			}
			if resp.StatusCode != tc.status || !strings.Contains(string(b[:n]), tc.body) {
				t.Fatalf("got %d %q, want %d with %q", resp.StatusCode, b[:n], tc.status, tc.body)
			}
			if tc.log != "" {
				waitLogged(t, filepath.Join(dir, "error.log"), tc.log)
			}
		})
	}
	waitLogged(t, filepath.Join(dir, "error.log"),
		`[crit] `, `bind(192.0.2.1) failed (99: Cannot assign requested address) while connecting to upstream, client: 127.0.0.1, server: , request: "GET /bad HTTP/1.1", upstream: "http://`+be+`/bad"`)
	waitLogged(t, filepath.Join(dir, "error.log"), `[error] `, `invalid local address "zzz", client: 127.0.0.1`)
}

// TestBindTransparent: "transparent" binds with IP_TRANSPARENT, as nginx
// 1.22.1 does (recorded: "proxy_bind 192.0.2.1 transparent" binds an
// address the host does not have, and the connect then times out, 504,
// where without the parameter the bind fails, 500; nginx-tests'
// proxy_bind_transparent.t with 127.0.0.2). The option needs
// CAP_NET_ADMIN: as another user the test skips.
func TestBindTransparent(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("IP_TRANSPARENT needs CAP_NET_ADMIN")
	}
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, _ := net.SplitHostPort(r.RemoteAddr)
		fmt.Fprintf(w, "peer=%s", host)
	}))
	t.Cleanup(backend.Close)
	be := backend.Listener.Addr().String()
	addr, dir := runDaemon(t, func(dir string) string {
		return fmt.Sprintf(`
    access_log off;
    server {
        listen 127.0.0.1:0;
        proxy_connect_timeout 300ms;
        location /local { proxy_bind 127.0.0.2 transparent; proxy_pass http://%[1]s; }
        location /var { proxy_bind $arg_a transparent; proxy_pass http://%[1]s; }
        location /foreign { proxy_bind 192.0.2.1 transparent; proxy_pass http://%[1]s; }
        location /foreign-plain { proxy_bind 192.0.2.1; proxy_pass http://%[1]s; }
        location /fcgi { fastcgi_bind 192.0.2.1 transparent; fastcgi_connect_timeout 300ms; fastcgi_pass %[1]s; }
        location /mc { set $memcached_key k; memcached_bind 192.0.2.1 transparent; memcached_connect_timeout 300ms; memcached_pass %[1]s; }
    }`, be)
	})
	cases := []struct {
		path   string
		status int
		body   string
	}{
		{"/local", 200, "peer=127.0.0.2"},
		{"/var?a=127.0.0.3", 200, "peer=127.0.0.3"},
		{"/foreign", 504, ""},       // bound; the answer cannot come back
		{"/foreign-plain", 500, ""}, // bind(192.0.2.1) failed
		{"/fcgi", 504, ""},
		{"/mc", 504, ""},
	}
	client := &http.Client{Timeout: 5 * time.Second}
	for _, tc := range cases {
		t.Run(tc.path, func(t *testing.T) {
			resp, err := client.Get("http://" + addr + tc.path)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.status || !strings.Contains(string(b), tc.body) {
				t.Errorf("got %d %q, want %d with %q", resp.StatusCode, b, tc.status, tc.body)
			}
		})
	}
	waitLogged(t, filepath.Join(dir, "error.log"), `[crit] `, `bind(192.0.2.1) failed (99: Cannot assign requested address)`)
}
