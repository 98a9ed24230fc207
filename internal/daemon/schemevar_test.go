package daemon_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fulcrum/internal/testutil"
)

// TestProxyPassSchemeVariable runs the shape of SWAG's reverse-proxy samples,
// "proxy_pass $upstream_proto://$upstream_app:$upstream_port;" with a
// resolver: nginx accepts a URL whose scheme is a variable (it checks the
// scheme per request, in ngx_http_proxy_eval), and each request goes out over
// TLS or not as the evaluated scheme says; a value that is neither http:// nor
// https:// is a 500. The error log names the upstream with the evaluated
// scheme ("upstream: "https://127.0.0.1:1/down/x""). Recorded with nginx
// 1.22.1 on the same configuration.
func TestProxyPassSchemeVariable(t *testing.T) {
	dns := testutil.StartDNSServer(t)
	dns.Set("app.test", "127.0.0.1")
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "plain %s %s", r.Host, r.URL.RequestURI())
	}))
	t.Cleanup(plain.Close)
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "tls %v %s", r.TLS != nil, r.URL.RequestURI())
	}))
	t.Cleanup(tlsSrv.Close)
	plainPort := plain.Listener.Addr().String()[strings.LastIndexByte(plain.Listener.Addr().String(), ':')+1:]
	dir := t.TempDir()
	addr, _ := runConfig(t, dir, fmt.Sprintf(`error_log %s/error.log;
events {}
http {
    access_log off;
    server {
        listen 127.0.0.1:0;
        location / {
            resolver %s valid=30s;
            set $upstream_app app.test;
            set $upstream_port %s;
            set $upstream_proto http;
            proxy_pass $upstream_proto://$upstream_app:$upstream_port;
        }
        location /secure/ {
            set $upstream_proto https;
            proxy_pass $upstream_proto://%s;
        }
        location /down/ {
            set $upstream_proto https;
            proxy_pass $upstream_proto://127.0.0.1:1;
        }
        location /ftp/ {
            set $upstream_proto ftp;
            proxy_pass $upstream_proto://127.0.0.1:1;
        }
    }
}`, dir, dns.Addr, plainPort, tlsSrv.Listener.Addr()))
	client := &http.Client{Timeout: 5 * time.Second}
	for _, tc := range []struct {
		path, want string
		status     int
	}{
		{"/a?b=1", "plain app.test:" + plainPort + " /a?b=1", 200},
		{"/secure/x", "tls true /secure/x", 200},
		{"/ftp/x", "", 500},
		{"/down/x", "", 502},
	} {
		t.Run(tc.path, func(t *testing.T) {
			resp, err := client.Get("http://" + addr + tc.path)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.status || (tc.want != "" && string(body) != tc.want) {
				t.Fatalf("GET %s = %d %q, want %d %q", tc.path, resp.StatusCode, body, tc.status, tc.want)
			}
		})
	}
	waitLogged(t, filepath.Join(dir, "error.log"), "connect() failed", `upstream: "https://127.0.0.1:1/down/x"`)
	waitLogged(t, filepath.Join(dir, "error.log"), `invalid URL prefix in "ftp://127.0.0.1:1"`)
}
