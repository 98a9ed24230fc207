package integration

import (
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	stdlog "log"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"fulcrum/internal/testutil"
)

// TestProxySSLCertificateVariables runs the binary with mutual TLS to an
// upstream block (keepalive) whose server verifies client certificates
// against a CA, with a client certificate per tenant, as nginx 1.21+ does
// (proxy_ssl_certificate /DIR/$tenant.pem from a map of $http_x_tenant;
// recorded with nginx 1.22.1): each request presents its tenant's
// certificate, a kept connection serves its own tenant only (nginx would
// reuse another's: a deliberate difference), and a certificate that does
// not load is 500 with nginx's error line.
func TestProxySSLCertificateVariables(t *testing.T) {
	dir := t.TempDir()
	ca := testutil.NewCA(t, "tenants CA")
	files := map[string]string{}
	for _, n := range []string{"alpha", "beta"} {
		certPEM, keyPEM := ca.Issue(t, testutil.Leaf{Subject: pkix.Name{CommonName: n}})
		files[n+".pem"], files[n+".key"] = string(certPEM), string(keyPEM)
	}
	writeFiles(t, dir, files)
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	certPEM, keyPEM := testutil.SelfSigned(t, testutil.ECDSA, "backend.test")
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	var conns atomic.Int32
	s := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "cn=%s", r.TLS.PeerCertificates[0].Subject.CommonName)
	}))
	s.Config.ErrorLog = stdlog.New(io.Discard, "", 0)
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			conns.Add(1)
		}
	}
	s.TLS = &tls.Config{Certificates: []tls.Certificate{pair}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pool}
	s.StartTLS()
	t.Cleanup(s.Close)
	in := startFulcrum(t, fmt.Sprintf(`events {}
http {
    map $http_x_tenant $tenant { default none; alpha alpha; beta beta; }
    upstream tenants { server %s; keepalive 4; }
    server {
        listen 127.0.0.1:0;
        location / {
            proxy_pass https://tenants;
            proxy_ssl_certificate     %s/$tenant.pem;
            proxy_ssl_certificate_key %s/$tenant.key;
        }
    }
}
`, s.Listener.Addr().String(), dir, dir), 1)
	client := newClient()
	steps := []struct {
		tenant, want string
		code         int
		conns        int32
	}{
		{"alpha", "cn=alpha", 200, 1},
		{"beta", "cn=beta", 200, 2}, // nginx: alpha's kept connection
		{"alpha", "cn=alpha", 200, 2},
		{"beta", "cn=beta", 200, 2},
		{"", "", 500, 3}, // connected first, as nginx does, then closed
	}
	for i, st := range steps {
		code, body := get(t, client, in.url(0)+"/x", "X-Tenant", st.tenant)
		if code != st.code || st.want != "" && body != st.want {
			t.Errorf("request %d (%q): %d %q, want %d %q", i+1, st.tenant, code, body, st.code, st.want)
		}
		// The server counts a connection in its accept goroutine, which
		// may run after fulcrum answered (the 500 closes at once): wait
		// for the count to reach the step's, then check it is no more.
		for deadline := time.Now().Add(5 * time.Second); conns.Load() < st.conns && time.Now().Before(deadline); {
			time.Sleep(5 * time.Millisecond)
		}
		if n := conns.Load(); n != st.conns {
			t.Errorf("request %d (%q): the server saw %d connections, want %d", i+1, st.tenant, n, st.conns)
		}
	}
	none := filepath.Join(dir, "none.pem")
	line := `[error] ` // then the connection number
	want := `cannot load certificate "` + none + `": BIO_new_file() failed (SSL: error:80000002:system library::No such file or directory:calling fopen(` + none + `, r) error:10000080:BIO routines::no such file) while connecting to upstream`
	waitFor(t, "the log line "+want, func() bool { return in.logged(line) && in.logged(want) })
}

// TestProxySSLCertificateVariablesConfigTest: fulcrum -t takes a
// proxy_ssl_certificate with variables, and refuses an unknown variable in
// it with nginx's words (nginx -t: unknown "nope" variable) and the
// directive's file and line.
func TestProxySSLCertificateVariablesConfigTest(t *testing.T) {
	tests := []struct {
		name, directives, emerg string
	}{
		{"proxy", "proxy_pass https://127.0.0.1:9; proxy_ssl_certificate /c/$host.pem; proxy_ssl_certificate_key /c/$host.key;", ""},
		{"proxy data", "proxy_pass https://127.0.0.1:9; proxy_ssl_certificate data:$http_x_c; proxy_ssl_certificate_key data:$http_x_k;", ""},
		{"grpc", "grpc_pass grpcs://127.0.0.1:9; grpc_ssl_certificate /c/$host.pem; grpc_ssl_certificate_key /c/$host.key;", ""},
		{"grpc unknown", "grpc_pass grpcs://127.0.0.1:9; grpc_ssl_certificate /c/c.pem; grpc_ssl_certificate_key /c/$nope.key;",
			`unknown "nope" variable in %s/fulcrum.conf:8`},
		{"uwsgi", "uwsgi_pass suwsgi://127.0.0.1:9; uwsgi_ssl_certificate $http_x_c; uwsgi_ssl_certificate_key $http_x_k;", ""},
		{"uwsgi unknown", "uwsgi_pass suwsgi://127.0.0.1:9; uwsgi_ssl_certificate /c/$nope.pem; uwsgi_ssl_certificate_key /c/k.key;",
			`unknown "nope" variable in %s/fulcrum.conf:7`},
		{"proxy unknown", "proxy_pass https://127.0.0.1:9; proxy_ssl_certificate /c/$nope.pem; proxy_ssl_certificate_key /c/k.key;",
			`unknown "nope" variable in %s/fulcrum.conf:7`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			conf := "events {}\nhttp {\n    server {\n        listen 127.0.0.1:0;\n        location / {\n            " + strings.ReplaceAll(tt.directives, "; ", ";\n            ") + "\n        }\n    }\n}\n"
			dir := writeFiles(t, t.TempDir(), map[string]string{"fulcrum.conf": conf})
			r := runFulcrum(t, "-t", "-c", filepath.Join(dir, "fulcrum.conf"))
			if tt.emerg == "" {
				if r.code != 0 {
					t.Errorf("exit %d, stderr %q; want 0", r.code, r.stderr)
				}
				return
			}
			want := "fulcrum: [emerg] " + strings.ReplaceAll(tt.emerg, "%s", dir) + "\n"
			if r.code != 1 || !strings.Contains(r.stderr, want) {
				t.Errorf("exit %d, stderr %q; want 1 and %q", r.code, r.stderr, want)
			}
		})
	}
}

// TestGRPCSSLCertificateVariables runs the binary with grpc_pass grpcs://
// to a server that verifies client certificates, with a certificate per
// tenant (grpc_ssl_certificate /DIR/$tenant.pem from a map of $arg_t), as
// nginx 1.22.1 does (recorded: the same code as proxy_pass; nginx resumed
// alpha's TLS session for beta's call, so the server saw alpha): each call
// presents its own, over connections and sessions of its certificate, and
// one that does not load is 500 with nginx's line.
func TestGRPCSSLCertificateVariables(t *testing.T) {
	dir := t.TempDir()
	upCA, clientCA := testutil.NewCA(t, "Upstream CA"), testutil.NewCA(t, "Client CA")
	files := map[string]string{}
	for _, n := range []string{"alpha", "beta"} {
		certPEM, keyPEM := clientCA.Issue(t, testutil.Leaf{Subject: pkix.Name{CommonName: n}})
		files[n+".pem"], files[n+".key"] = string(certPEM), string(keyPEM)
	}
	writeFiles(t, dir, files)
	certPEM, keyPEM := upCA.Issue(t, testutil.Leaf{Subject: pkix.Name{CommonName: "backend.test"},
		DNSNames: []string{"backend.test"}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
	backend := grpcTLSBackend(t, "b", certPEM, keyPEM, clientCA)
	in := startFulcrum(t, fmt.Sprintf(`events {}
http {
    map $arg_t $tenant { default none; alpha alpha; beta beta; }
    server {
        listen 127.0.0.1:0 http2;
        location / {
            grpc_pass grpcs://%s;
            grpc_ssl_certificate     %s/$tenant.pem;
            grpc_ssl_certificate_key %s/$tenant.key;
        }
    }
}
`, backend, dir, dir), 1)
	addr := in.listening()[0]
	for _, tt := range []struct {
		path, want string
		code       int
	}{
		{"/s/m?t=alpha", "b:alpha", 200},
		{"/s/m?t=beta", "b:beta", 200}, // nginx: b:alpha (alpha's session resumed)
		{"/s/m?t=alpha", "b:alpha", 200},
		{"/s/m?t=", "", 500},
	} {
		if code, msg, _ := grpcUnary(t, addr, tt.path); code != tt.code || msg != tt.want {
			t.Errorf("%s: %d %q, want %d %q", tt.path, code, msg, tt.code, tt.want)
		}
	}
	none := filepath.Join(dir, "none.pem")
	want := `cannot load certificate "` + none + `": BIO_new_file() failed (SSL: error:80000002:system library::No such file or directory:calling fopen(` + none + `, r) error:10000080:BIO routines::no such file) while connecting to upstream`
	waitFor(t, "the log line "+want, func() bool { return in.logged("[error] ") && in.logged(want) })
}
