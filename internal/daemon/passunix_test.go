package daemon_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"testing"
	"time"
)

// TestProxyPassVariablesUnix: a proxy_pass with variables whose value is
// "unix:/path" (with an optional ":URI" part) reaches the UNIX socket, as
// nginx 1.22.1's ngx_parse_url reads it (recorded with a Go backend on a
// socket): Host (and $proxy_host) is "localhost", a URI part replaces the
// request's, and a missing socket is a 502 with nginx's crit line; an
// empty path is a 500.
func TestProxyPassVariablesUnix(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "b.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "uri=%s host=%s", r.RequestURI, r.Host)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	missing := filepath.Join(dir, "none.sock")
	addr := startDaemon(t, dir, fmt.Sprintf(`
    access_log off;
    server {
        listen 127.0.0.1:0;
        location /u/ { set $b unix:%[1]s:; proxy_pass http://$b; }
        location /uri/ { set $b unix:%[1]s:/x/y; proxy_pass http://$b; }
        location /q/ { set $b unix:%[1]s:?x=1; proxy_pass http://$b; }
        location /bare/ { set $b unix:%[1]s; proxy_pass http://$b; }
        location /missing/ { set $b unix:%[2]s:; proxy_pass http://$b; }
        location /empty/ { set $b unix:; proxy_pass http://$b; }
    }`, sock, missing))
	tests := []struct {
		path   string
		status int
		body   string
		log    []string // the parts of an error log line
	}{
		{"/u/a?q=1", 200, "uri=/u/a?q=1 host=localhost", nil},
		{"/uri/a?q=1", 200, "uri=/x/y host=localhost", nil},
		{"/q/a?q=1", 200, "uri=/?x=1 host=localhost", nil},
		{"/bare/a", 200, "uri=/bare/a host=localhost", nil},
		{"/missing/a", 502, "", []string{"[crit] ", `connect() to unix:` + missing + ` failed (2: No such file or directory) while connecting to upstream, client: 127.0.0.1, server: , request: "GET /missing/a HTTP/1.1", upstream: "http://unix:` + missing + `:/missing/a"`}},
		{"/empty/a", 500, "", []string{"[error] ", `no path in the unix domain socket in upstream "unix:", client: 127.0.0.1`}},
	}
	client := &http.Client{Timeout: 5 * time.Second}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			resp, err := client.Get("http://" + addr + tc.path)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.status || tc.body != "" && string(body) != tc.body {
				t.Errorf("got %d %q, want %d %q", resp.StatusCode, body, tc.status, tc.body)
			}
			if tc.log != nil {
				waitLogged(t, filepath.Join(dir, "error.log"), tc.log...)
			}
		})
	}
}
