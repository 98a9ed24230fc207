package proxy_test

import (
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	stdlog "log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"fulcrum/internal/balancer"
	"fulcrum/internal/config"
	"fulcrum/internal/errlog"
	"fulcrum/internal/proxy"
	"fulcrum/internal/testutil"
	"fulcrum/internal/upstream"
	"fulcrum/internal/vars"
)

// tlsBackend is an HTTPS test backend that answers with what it saw of the
// TLS connection and the request, and counts its connections.
type tlsBackend struct {
	srv      *httptest.Server
	certFile string // its self-signed certificate (for 127.0.0.1 and backend.test), as PEM
	conns    atomic.Int32
}

func newTLSBackend(t *testing.T, dir string) *tlsBackend {
	t.Helper()
	certPEM, keyPEM := testutil.SelfSigned(t, testutil.ECDSA, "backend.test", "127.0.0.1")
	return newTLSBackendWith(t, dir, certPEM, keyPEM)
}

// newTLSBackendWith is newTLSBackend with the certificate chain and key
// given.
func newTLSBackendWith(t *testing.T, dir string, certPEM, keyPEM []byte) *tlsBackend {
	t.Helper()
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	b := &tlsBackend{certFile: filepath.Join(dir, "backend.pem")}
	if err := os.WriteFile(b.certFile, certPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	b.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "sni=%s host=%s version=%x clientcerts=%d body=%d te=%v",
			r.TLS.ServerName, r.Host, r.TLS.Version, len(r.TLS.PeerCertificates), len(body), r.TransferEncoding)
	}))
	b.srv.Config.ErrorLog = stdlog.New(io.Discard, "", 0) // refused handshakes are expected
	b.srv.TLS = &tls.Config{Certificates: []tls.Certificate{pair}, ClientAuth: tls.RequestClientCert}
	b.srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			b.conns.Add(1)
		}
	}
	b.srv.StartTLS()
	t.Cleanup(b.srv.Close)
	return b
}

// tlsHandler builds the handler of "location / { directives proxy_pass
// https://backend.test; }" with the upstream backend.test holding addr, as
// the daemon does; the error log goes to the returned file.
func tlsHandler(t *testing.T, dir, directives, addr string) (*proxy.Handler, string) {
	t.Helper()
	conf := `events {}
http {
    upstream backend.test { server ` + addr + `; }
    server {
        listen 127.0.0.1:0;
        location / { ` + directives + ` proxy_pass https://backend.test; }
    }
}
`
	path := filepath.Join(dir, "fulcrum.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	logFile := filepath.Join(dir, "error.log")
	cfg, err := config.Load(path, config.LoadOptions{ErrorLog: logFile})
	if err != nil {
		t.Fatal(err)
	}
	u := cfg.HTTP.Upstreams[0]
	pool, err := upstream.NewRegistry().Pool(u.Name, []upstream.Settings{upstream.NewSettings(u.Servers[0].Network, u.Servers[0].Addr)})
	if err != nil {
		t.Fatal(err)
	}
	log, err := errlog.New(errlog.Options{Targets: []errlog.Target{{Path: logFile, Level: errlog.Warn}}})
	if err != nil {
		t.Fatal(err)
	}
	transports := proxy.NewTransports()
	t.Cleanup(transports.CloseIdle)
	h, err := proxy.New(proxy.Options{
		Location: cfg.HTTP.Servers[0].Locations[0],
		Target:   proxy.Target{Pool: pool, Policy: &balancer.RoundRobin{}, Transport: transports.For(u.Name, proxy.PoolOptions{})},
		Compiler: &vars.Compiler{},
		Log:      log,
		Server:   "fulcrum",
	})
	if err != nil {
		t.Fatal(err)
	}
	return h, logFile
}

// bodyWriter is a ResponseWriter that keeps the status and the body.
type bodyWriter struct {
	h      http.Header
	status int
	body   strings.Builder
}

func (w *bodyWriter) Header() http.Header {
	if w.h == nil {
		w.h = http.Header{}
	}
	return w.h
}

func (w *bodyWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}

func (w *bodyWriter) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.body.Write(p)
}

// serve sends one request through h and returns what the client got.
func serve(h *proxy.Handler, in *http.Request) *bodyWriter {
	in.RemoteAddr = "127.0.0.1:40000"
	in.RequestURI = in.URL.RequestURI() // origin form, as a client sends it
	st := &vars.State{}
	fillState(st, in)
	st.ProxyHost, st.ProxyPort = "backend.test", "443"
	w := &bodyWriter{}
	h.ServeHTTP(w, in, st)
	return w
}

func TestTLSUpstream(t *testing.T) {
	dir := t.TempDir()
	b := newTLSBackend(t, dir)
	addr := b.srv.Listener.Addr().String()
	otherCA, _ := testutil.WriteCert(t, dir, "other", testutil.ECDSA, "backend.test")
	clientCert, clientKey := testutil.WriteCert(t, dir, "client", testutil.ECDSA, "client.test")
	tests := []struct {
		name, directives string
		status           int
		body, log        string // what the body and the error log contain
	}{
		{"nginx's defaults: no SNI, no verification", "", 200, "sni= host=backend.test version=304 clientcerts=0", ""},
		{"SNI", "proxy_ssl_server_name on;", 200, "sni=backend.test ", ""},
		{"SNI with proxy_ssl_name", "proxy_ssl_server_name on; proxy_ssl_name other.test;", 200, "sni=other.test ", ""},
		{"verified", "proxy_ssl_verify on; proxy_ssl_trusted_certificate " + b.certFile + ";", 200, "host=backend.test", ""},
		{"untrusted", "proxy_ssl_verify on; proxy_ssl_trusted_certificate " + otherCA + ";", 502, "",
			"upstream SSL certificate verify error: (18:self-signed certificate) while SSL handshaking to upstream"},
		{"name mismatch", "proxy_ssl_verify on; proxy_ssl_trusted_certificate " + b.certFile + "; proxy_ssl_name wrong.test;", 502, "",
			`upstream SSL certificate does not match "wrong.test" while SSL handshaking to upstream`},
		{"client certificate", "proxy_ssl_certificate " + clientCert + "; proxy_ssl_certificate_key " + clientKey + ";", 200, "clientcerts=1", ""},
		{"protocols", "proxy_ssl_protocols TLSv1.2;", 200, "version=303", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := t.TempDir()
			h, logFile := tlsHandler(t, d, tc.directives, addr)
			w := serve(h, httptest.NewRequest(http.MethodGet, "http://front.test/x", nil))
			if w.status != tc.status || !strings.Contains(w.body.String(), tc.body) {
				t.Errorf("got %d %q, want %d with %q", w.status, w.body.String(), tc.status, tc.body)
			}
			logged, _ := os.ReadFile(logFile)
			if tc.log != "" && !strings.Contains(string(logged), tc.log) ||
				tc.log != "" && !strings.Contains(string(logged), `upstream: "https://`+addr+`/x"`) {
				t.Errorf("error log %q, want %q", logged, tc.log)
			}
		})
	}
}

// TestTLSUpstreamCRL: proxy_ssl_crl refuses an upstream whose certificate
// its issuer revoked, and one without a current CRL, logged with OpenSSL's
// code and reason as nginx does ("upstream SSL certificate verify error:
// (23:certificate revoked) while SSL handshaking to upstream"); a 502.
func TestTLSUpstreamCRL(t *testing.T) {
	dir := t.TempDir()
	ca := testutil.NewCA(t, "Upstream CA")
	caFile := filepath.Join(dir, "ca.pem")
	now := time.Now()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("ca.pem", ca.PEM)
	good, revoked := big.NewInt(7), big.NewInt(8)
	backend := func(serial *big.Int) string {
		certPEM, keyPEM := ca.Issue(t, testutil.Leaf{Subject: pkix.Name{CommonName: "backend.test"}, Serial: serial,
			DNSNames: []string{"backend.test"}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
		return newTLSBackendWith(t, t.TempDir(), certPEM, keyPEM).srv.Listener.Addr().String()
	}
	crl := write("crl.pem", ca.CRL(t, now.Add(-time.Hour), now.Add(time.Hour), revoked))
	old := write("old.pem", ca.CRL(t, now.Add(-2*time.Hour), now.Add(-time.Hour)))
	verify := "proxy_ssl_verify on; proxy_ssl_trusted_certificate " + caFile + "; "
	tests := []struct {
		name, directives string
		serial           *big.Int
		status           int
		log              string
	}{
		{"not revoked", verify + "proxy_ssl_crl " + crl + ";", good, 200, ""},
		{"revoked", verify + "proxy_ssl_crl " + crl + ";", revoked, 502, "upstream SSL certificate verify error: (23:certificate revoked) while SSL handshaking to upstream"},
		{"expired CRL", verify + "proxy_ssl_crl " + old + ";", good, 502, "upstream SSL certificate verify error: (12:CRL has expired) while SSL handshaking to upstream"},
		{"no proxy_ssl_crl", verify, revoked, 200, ""},
		{"no proxy_ssl_verify", "proxy_ssl_crl " + crl + ";", revoked, 200, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, logFile := tlsHandler(t, t.TempDir(), tc.directives, backend(tc.serial))
			if w := serve(h, httptest.NewRequest(http.MethodGet, "http://front.test/x", nil)); w.status != tc.status {
				t.Errorf("got %d %q, want %d", w.status, w.body.String(), tc.status)
			}
			if logged, _ := os.ReadFile(logFile); tc.log != "" && !strings.Contains(string(logged), tc.log) {
				t.Errorf("error log %q, want %q", logged, tc.log)
			}
		})
	}
}

// TestTLSUpstreamKeepalive: requests with and without bodies (short, long,
// chunked) share one TLS connection.
func TestTLSUpstreamKeepalive(t *testing.T) {
	dir := t.TempDir()
	b := newTLSBackend(t, dir)
	h, _ := tlsHandler(t, dir, "", b.srv.Listener.Addr().String())
	long := strings.Repeat("x", 100<<10)
	reqs := []struct {
		req  *http.Request
		want string
	}{
		{httptest.NewRequest(http.MethodGet, "http://front.test/", nil), "body=0"},
		{httptest.NewRequest(http.MethodPost, "http://front.test/", strings.NewReader("short")), "body=5"},
		{httptest.NewRequest(http.MethodPost, "http://front.test/", strings.NewReader(long)), fmt.Sprintf("body=%d", len(long))},
		{httptest.NewRequest(http.MethodGet, "http://front.test/", nil), "body=0"},
	}
	for i, r := range reqs {
		if w := serve(h, r.req); w.status != 200 || !strings.Contains(w.body.String(), r.want) {
			t.Fatalf("request %d: got %d %q, want 200 with %q", i, w.status, w.body.String(), r.want)
		}
	}
	if n := b.conns.Load(); n != 1 {
		t.Errorf("backend saw %d connections, want 1", n)
	}
}

// TestTLSUpstreamNotTLS: a plain HTTP server behind proxy_pass https:// is a
// failed handshake: 502, logged as nginx does.
func TestTLSUpstreamNotTLS(t *testing.T) {
	plain := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	t.Cleanup(plain.Close)
	h, logFile := tlsHandler(t, t.TempDir(), "proxy_connect_timeout 1s;", plain.Listener.Addr().String())
	if w := serve(h, httptest.NewRequest(http.MethodGet, "http://front.test/", nil)); w.status != 502 {
		t.Errorf("got %d, want 502", w.status)
	}
	if logged, _ := os.ReadFile(logFile); !strings.Contains(string(logged), "SSL_do_handshake() failed (") ||
		!strings.Contains(string(logged), ") while SSL handshaking to upstream") {
		t.Errorf("error log %q", logged)
	}
}

// TestTLSUpstreamNameVariables: a proxy_ssl_name with variables is
// evaluated per request, without its port, for SNI and for verification,
// as nginx 1.22.1 does (recorded with a Go TLS backend that logs the SNI
// it got): an empty value or an IP address sends no SNI, and an empty one
// matches no certificate. Connections are kept per name: a request with
// another name never rides a connection made for the first.
func TestTLSUpstreamNameVariables(t *testing.T) {
	dir := t.TempDir()
	b := newTLSBackend(t, dir)
	addr := b.srv.Listener.Addr().String()
	h, _ := tlsHandler(t, dir, "proxy_ssl_server_name on; proxy_ssl_name $arg_n;", addr)
	steps := []struct {
		n, wantSNI string
		conns      int32 // the backend's connections after the request
	}{
		{"a.test", "a.test", 1},
		{"a.test", "a.test", 1},
		{"b.test:8443", "b.test", 2},
		{"a.test:1", "a.test", 2},
		{"", "", 3},
		{"127.0.0.1", "", 4},
		{"b.test", "b.test", 4},
	}
	for i, st := range steps {
		w := serve(h, httptest.NewRequest(http.MethodGet, "http://front.test/x?n="+st.n, nil))
		if want := "sni=" + st.wantSNI + " "; w.status != 200 || !strings.HasPrefix(w.body.String(), want) {
			t.Errorf("request %d (n=%q): got %d %q, want 200 with %q", i+1, st.n, w.status, w.body.String(), want)
		}
		if got := b.conns.Load(); got != st.conns {
			t.Errorf("request %d (n=%q): backend saw %d connections, want %d", i+1, st.n, got, st.conns)
		}
	}

	verify := "proxy_ssl_verify on; proxy_ssl_trusted_certificate " + b.certFile + "; proxy_ssl_name $arg_n;"
	for _, tc := range []struct{ n, log string }{
		{"backend.test:443", ""},
		{"wrong.test", `upstream SSL certificate does not match "wrong.test" while SSL handshaking to upstream`},
		{"", `upstream SSL certificate does not match "" while SSL handshaking to upstream`},
	} {
		t.Run("verify "+tc.n, func(t *testing.T) {
			h, logFile := tlsHandler(t, t.TempDir(), verify, addr)
			w := serve(h, httptest.NewRequest(http.MethodGet, "http://front.test/x?n="+tc.n, nil))
			logged, _ := os.ReadFile(logFile)
			switch {
			case tc.log == "" && w.status != 200:
				t.Errorf("got %d %q (log %q), want 200", w.status, w.body.String(), logged)
			case tc.log != "" && (w.status != 502 || !strings.Contains(string(logged), tc.log)):
				t.Errorf("got %d, log %q; want 502 and %q", w.status, logged, tc.log)
			}
		})
	}
}
