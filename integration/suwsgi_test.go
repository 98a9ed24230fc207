package integration

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"fulcrum/internal/testutil"
)

// TestUWSGIOverTLS runs the binary in front of uwsgi servers behind TLS, as
// nginx 1.22.1 was recorded with the same server: uwsgi_pass suwsgi://
// with nginx's defaults (no SNI; a new connection per request, the TLS
// session resumed), uwsgi_ssl_server_name with an upstream block's name
// and with uwsgi_ssl_name, uwsgi_ssl_session_reuse off, uwsgi_ssl_verify
// that passes and fails (502, nginx's line), a plain server behind
// suwsgi:// (502, SSL_do_handshake() failed), and a uwsgi_pass with
// variables whose value's scheme decides (suwsgi:// speaks TLS; without
// it, plain uwsgi to the TLS server is nginx's "upstream prematurely
// closed connection", 502).
func TestUWSGIOverTLS(t *testing.T) {
	ca := testutil.NewCA(t, "uwsgi CA")
	addr, conns := testutil.SUWSGIBackend(t, ca)
	plain := testutil.RawBackend(t, func(c net.Conn) {
		c.Read(make([]byte, 10))
		io.WriteString(c, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
	})
	dir := t.TempDir()
	caFile := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, ca.PEM, 0o600); err != nil {
		t.Fatal(err)
	}
	in := startFulcrum(t, fmt.Sprintf(`events {}
http {
    access_log off;
    upstream app { server %[1]s; }
    uwsgi_param REQUEST_URI $request_uri;
    server {
        listen 127.0.0.1:0;
        location /plain { uwsgi_pass suwsgi://%[1]s; }
        location /block { uwsgi_ssl_server_name on; uwsgi_pass suwsgi://app; }
        location /named { uwsgi_ssl_server_name on; uwsgi_ssl_name backend.test; uwsgi_pass suwsgi://%[1]s; }
        location /noreuse { uwsgi_ssl_session_reuse off; uwsgi_pass suwsgi://%[1]s; }
        location /verified { uwsgi_ssl_verify on; uwsgi_ssl_trusted_certificate %[2]s; uwsgi_ssl_name backend.test; uwsgi_pass suwsgi://%[1]s; }
        location /mismatch { uwsgi_ssl_verify on; uwsgi_ssl_trusted_certificate %[2]s; uwsgi_pass suwsgi://%[1]s; }
        location /notls { uwsgi_pass suwsgi://%[3]s; }
        location /var { uwsgi_ssl_server_name on; uwsgi_pass $arg_u; }
    }
}
`, addr, caFile, plain), 1)
	base := in.url(0)
	client := &http.Client{}
	tests := []struct {
		path   string
		status int
		body   string
	}{
		{"/plain", 200, "sni= resumed=false uri=/plain"},
		{"/plain", 200, "sni= resumed=true uri=/plain"},
		{"/block", 200, "sni=app resumed=false uri=/block"},
		{"/block", 200, "sni=app resumed=true uri=/block"},
		{"/named", 200, "sni=backend.test resumed=false uri=/named"},
		{"/noreuse", 200, "sni= resumed=false uri=/noreuse"},
		{"/noreuse", 200, "sni= resumed=false uri=/noreuse"},
		{"/verified", 200, "sni= resumed=false uri=/verified"},
		{"/mismatch", 502, ""},
		{"/notls", 502, ""},
		{"/var?u=suwsgi://" + addr, 200, "sni= resumed=false uri=/var?u=suwsgi://" + addr},
		{"/var?u=suwsgi://backend.test:1", 502, ""}, // no resolver: nginx's 502
		{"/var?u=" + addr, 502, ""},                 // plain uwsgi to the TLS server
	}
	for _, tc := range tests {
		status, body := get(t, client, base+tc.path)
		if status != tc.status || (tc.status == 200 && body != tc.body) {
			t.Errorf("%s: %d %q, want %d %q", tc.path, status, body, tc.status, tc.body)
		}
	}
	// Each request took a connection of its own, as nginx's uwsgi does.
	if n := conns.Load(); n != 11 {
		t.Errorf("%d connections to the TLS server, want 11 (one a request)", n)
	}
	for _, line := range []string{
		`upstream SSL certificate does not match "127.0.0.1" while SSL handshaking to upstream, client: 127.0.0.1, server: , request: "GET /mismatch HTTP/1.1", upstream: "suwsgi://` + addr + `"`,
		`SSL_do_handshake() failed (tls: first record does not look like a TLS handshake) while SSL handshaking to upstream, client: 127.0.0.1, server: , request: "GET /notls HTTP/1.1", upstream: "suwsgi://` + plain + `"`,
		`upstream prematurely closed connection while reading response header from upstream, client: 127.0.0.1, server: , request: "GET /var?u=` + addr + ` HTTP/1.1", upstream: "uwsgi://` + addr + `"`,
	} {
		waitFor(t, "log line "+line, func() bool { return in.logged(line) })
	}
}
