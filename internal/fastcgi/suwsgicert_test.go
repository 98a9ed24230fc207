package fastcgi

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"

	"fulcrum/internal/config"
	"fulcrum/internal/testutil"
)

// TestSUWSGICertificateVariables: a uwsgi_ssl_certificate and
// uwsgi_ssl_certificate_key with variables are loaded for each handshake
// from their values, as nginx 1.21+ does with the upstream code that
// proxy_pass shares (recorded with nginx 1.22.1 and proxy_pass, grpc_pass
// and the stream proxy): an empty certificate value sends none, and a pair
// that does not load is 500 with nginx's line "while connecting to
// upstream". Where fulcrum differs on purpose: TLS sessions are resumed
// per certificate, where nginx resumes one made with another certificate
// (the server then sees that one's identity).
func TestSUWSGICertificateVariables(t *testing.T) {
	dir := t.TempDir()
	files := map[string][2]string{}
	for _, n := range []string{"alpha", "beta"} {
		c, k := testutil.WriteCert(t, dir, n, testutil.ECDSA, n)
		files[n] = [2]string{c, k}
	}
	certPEM, keyPEM := testutil.SelfSigned(t, testutil.ECDSA, "backend.test")
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	testutil.Serve(t, tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{pair}, ClientAuth: tls.RequestClientCert}), func(c net.Conn) {
		tc := c.(*tls.Conn)
		if tc.Handshake() != nil {
			return
		}
		_, _, _ = testutil.ReadUWSGI(bufio.NewReader(c))
		cs := tc.ConnectionState()
		cn := "none"
		if len(cs.PeerCertificates) > 0 {
			cn = cs.PeerCertificates[0].Subject.CommonName
		}
		fmt.Fprintf(c, "HTTP/1.1 200 OK\r\n\r\ncn=%s resumed=%t", cn, cs.DidResume)
	})
	ssl := defaultSSL()
	ssl.Certificate = &config.Certificate{CertTemplate: "$http_x_cert", KeyTemplate: "$http_x_key", Dir: dir}
	h, logs := newSUWSGIHandler(t, ln.Addr().String(), ssl)
	missing := filepath.Join(dir, "missing.pem")
	for i, st := range []struct {
		cert, key string
		status    int
		body, log string
	}{
		{files["alpha"][0], files["alpha"][1], 200, "cn=alpha resumed=false", ""},
		{"", "", 200, "cn=none resumed=false", ""}, // nginx: alpha's session, cn=alpha
		{files["beta"][0], files["beta"][1], 200, "cn=beta resumed=false", ""},
		{files["alpha"][0], files["alpha"][1], 200, "cn=alpha resumed=true", ""},
		{"", "", 200, "cn=none resumed=true", ""},
		{"missing.pem", "alpha.key", 500, "", `cannot load certificate "` + missing + `": BIO_new_file() failed (SSL: error:80000002:system library::No such file or directory:calling fopen(` + missing + `, r) error:10000080:BIO routines::no such file) while connecting to upstream`},
	} {
		w := do(h, "GET", "/", "", "X-Cert", st.cert, "X-Key", st.key)
		if w.Code != st.status || st.status == 200 && w.Body.String() != st.body {
			t.Errorf("request %d: %d %q, want %d %q", i+1, w.Code, w.Body, st.status, st.body)
		}
		if st.log != "" && (!strings.Contains(logs.String(), "[error] ") || !strings.Contains(logs.String(), st.log)) {
			t.Errorf("request %d: logged %q\nwant %q", i+1, logs, st.log)
		}
	}
	if strings.Contains(logs.String(), "temporarily disabled") {
		t.Errorf("a certificate that does not load counted a failure: %q", logs)
	}
}
