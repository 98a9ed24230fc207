package proxy_test

import (
	"crypto/tls"
	"fmt"
	"io"
	stdlog "log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"fulcrum/internal/testutil"
)

// certBackend is an HTTPS test backend that asks for a client certificate
// and answers with its subject's CN ("none" without one) and whether the
// session was resumed; "?close=1" closes the connection after the answer.
type certBackend struct {
	addr  string
	conns atomic.Int32
}

func newCertBackend(t *testing.T) *certBackend {
	t.Helper()
	certPEM, keyPEM := testutil.SelfSigned(t, testutil.ECDSA, "backend.test", "127.0.0.1")
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	b := &certBackend{}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cn := "none"
		if pc := r.TLS.PeerCertificates; len(pc) > 0 {
			cn = pc[0].Subject.CommonName
		}
		if r.URL.Query().Get("close") != "" {
			w.Header().Set("Connection", "close")
		}
		fmt.Fprintf(w, "cn=%s resumed=%t", cn, r.TLS.DidResume)
	}))
	srv.Config.ErrorLog = stdlog.New(io.Discard, "", 0)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{pair}, ClientAuth: tls.RequestClientCert}
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			b.conns.Add(1)
		}
	}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	b.addr = srv.Listener.Addr().String()
	return b
}

// TestTLSUpstreamCertificateVariables: a proxy_ssl_certificate and
// proxy_ssl_certificate_key with variables are loaded for each handshake
// from their values, as nginx 1.21+ does (recorded with nginx 1.22.1 and a
// Go TLS backend that answers with the client certificate's CN): a file,
// "data:" and the PEM itself, or, for an empty certificate value, no
// certificate. Where fulcrum differs on purpose: nginx keeps one keepalive
// cache and one TLS session per upstream server, so a request for beta
// rode a connection made with alpha's certificate, and a handshake with no
// certificate resumed beta's session (the backend saw cn=beta); fulcrum
// keeps connections and sessions per certificate.
func TestTLSUpstreamCertificateVariables(t *testing.T) {
	dir := t.TempDir()
	b := newCertBackend(t)
	files := map[string][2]string{}
	for _, n := range []string{"alpha", "beta"} {
		c, k := testutil.WriteCert(t, dir, n, testutil.ECDSA, n)
		files[n] = [2]string{c, k}
	}
	h, _ := tlsHandler(t, dir, "proxy_ssl_certificate $http_x_cert; proxy_ssl_certificate_key $http_x_key;", b.addr)
	steps := []struct {
		cert, close, want string
		conns             int32 // the backend's connections after the request
	}{
		{"alpha", "", "cn=alpha resumed=false", 1},
		{"alpha", "", "cn=alpha resumed=false", 1}, // the same connection
		{"beta", "", "cn=beta resumed=false", 2},   // nginx: alpha's connection
		{"", "", "cn=none resumed=false", 3},
		{"alpha", "", "cn=alpha resumed=false", 3},
		{"beta", "", "cn=beta resumed=false", 3},
		// Each closes its connection after the answer: new connections
		// resume a session made with their own certificate only (nginx
		// resumed beta's session without a certificate: the backend saw
		// cn=beta resumed=true).
		{"", "1", "cn=none resumed=false", 3},
		{"beta", "1", "cn=beta resumed=false", 3},
		{"beta", "1", "cn=beta resumed=true", 4},
		{"", "1", "cn=none resumed=true", 5},
		{"alpha", "", "cn=alpha resumed=false", 5},
	}
	for i, st := range steps {
		r := httptest.NewRequest(http.MethodGet, "http://front.test/x?close="+st.close, nil)
		if st.cert != "" {
			r.Header.Set("X-Cert", files[st.cert][0])
			r.Header.Set("X-Key", files[st.cert][1])
		}
		w := serve(h, r)
		if w.status != 200 || w.body.String() != st.want {
			t.Errorf("request %d (%q): got %d %q, want 200 %q", i+1, st.cert, w.status, w.body.String(), st.want)
		}
		if got := b.conns.Load(); got != st.conns {
			t.Errorf("request %d (%q): backend saw %d connections, want %d", i+1, st.cert, got, st.conns)
		}
	}

	// "data:" and the PEM (a map's value in nginx; here with an empty
	// variable after it).
	betaPEM, _ := os.ReadFile(files["beta"][0])
	betaKey, _ := os.ReadFile(files["beta"][1])
	h, _ = tlsHandler(t, t.TempDir(), fmt.Sprintf("proxy_ssl_certificate \"data:%s$arg_none\"; proxy_ssl_certificate_key \"data:%s$arg_none\";", betaPEM, betaKey), b.addr)
	if w := serve(h, httptest.NewRequest(http.MethodGet, "http://front.test/x", nil)); w.status != 200 || w.body.String() != "cn=beta resumed=false" {
		t.Errorf("data: got %d %q, want 200 cn=beta", w.status, w.body.String())
	}
}

// TestTLSUpstreamCertificateVariablesErrors: a certificate with variables
// that does not load ends the request with 500, with nginx 1.22.1's error
// line (recorded with OpenSSL 3) "while connecting to upstream", and no
// retry.
func TestTLSUpstreamCertificateVariablesErrors(t *testing.T) {
	dir := t.TempDir()
	b := newCertBackend(t)
	alphaCrt, alphaKey := testutil.WriteCert(t, dir, "alpha", testutil.ECDSA, "alpha")
	_, betaKey := testutil.WriteCert(t, dir, "beta", testutil.ECDSA, "beta")
	missing := filepath.Join(dir, "missing.crt")
	tests := []struct {
		name, cert, key, log string
	}{
		{"missing certificate", missing, alphaKey,
			`cannot load certificate "` + missing + `": BIO_new_file() failed (SSL: error:80000002:system library::No such file or directory:calling fopen(` + missing + `, r) error:10000080:BIO routines::no such file) while connecting to upstream`},
		{"key that does not match", alphaCrt, betaKey,
			`SSL_use_PrivateKey("` + betaKey + `") failed (SSL: error:05800074:x509 certificate routines::key values mismatch) while connecting to upstream`},
		{"certificate that is no certificate", alphaKey, alphaKey,
			`cannot load certificate "` + alphaKey + `": PEM_read_bio_X509_AUX() failed (SSL: error:0480006C:PEM routines::no start line:Expecting: TRUSTED CERTIFICATE) while connecting to upstream`},
		{"key that is no key", alphaCrt, alphaCrt,
			`cannot load certificate key "` + alphaCrt + `": PEM_read_bio_PrivateKey() failed (SSL: error:1E08010C:DECODER routines::unsupported:No supported data to decode. Input type: PEM) while connecting to upstream`},
		{"empty key: the prefix, a directory", alphaCrt, "",
			`cannot load certificate key "PREFIX/": PEM_read_bio_PrivateKey() failed (SSL: error:1E08010C:DECODER routines::unsupported:No supported data to decode. Input type: PEM) while connecting to upstream`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := t.TempDir() // the prefix: relative names are taken against it
			want := strings.ReplaceAll(tc.log, "PREFIX", d)
			h, logFile := tlsHandler(t, d, "proxy_ssl_certificate $http_x_cert; proxy_ssl_certificate_key $http_x_key; proxy_next_upstream error timeout http_500;", b.addr)
			r := httptest.NewRequest(http.MethodGet, "http://front.test/x", nil)
			r.Header.Set("X-Cert", tc.cert)
			r.Header.Set("X-Key", tc.key)
			w := serve(h, r)
			logged, _ := os.ReadFile(logFile)
			if w.status != 500 || !strings.Contains(string(logged), want) || !strings.Contains(string(logged), `upstream: "https://`+b.addr+`/x"`) {
				t.Errorf("got %d, log %q; want 500 and %q", w.status, logged, want)
			}
			if n := strings.Count(string(logged), "\n"); n != 1 {
				t.Errorf("log has %d lines, want 1 (no retry, no failure counted): %q", n, logged)
			}
		})
	}
}
