package stream

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fulcrum/internal/testutil"
)

// startCertUpstream starts a TLS upstream server that asks for a client
// certificate and answers each line with "cn=CN resumed=BOOL LINE" (CN
// "none" without a certificate).
func startCertUpstream(t *testing.T) string {
	t.Helper()
	certPEM, keyPEM := testutil.SelfSigned(t, testutil.ECDSA, "backend.test")
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{pair}, ClientAuth: tls.RequestClientCert}
	testutil.Serve(t, ln, func(c net.Conn) {
		defer c.Close()
		tc := tls.Server(c, cfg)
		_ = tc.SetDeadline(time.Now().Add(10 * time.Second))
		if err := tc.Handshake(); err != nil {
			return
		}
		cs := tc.ConnectionState()
		cn := "none"
		if len(cs.PeerCertificates) > 0 {
			cn = cs.PeerCertificates[0].Subject.CommonName
		}
		r := bufio.NewReader(tc)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			fmt.Fprintf(tc, "cn=%s resumed=%t %s", cn, cs.DidResume, line)
		}
	})
	return ln.Addr().String()
}

// dialFrom is dial from the local address ip.
func dialFrom(t *testing.T, ip, addr string) *client {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	return &client{c: c, r: bufio.NewReader(c)}
}

// TestUpstreamTLSCertificateVariables: the stream proxy's
// proxy_ssl_certificate and proxy_ssl_certificate_key with variables are
// loaded for each session's handshake, as nginx 1.22.1 does (recorded with
// a map of $server_port and a Go TLS server that answers with the client
// certificate's CN): an empty value sends none; a file that does not load
// ends the session, logged at error "while connecting to upstream", with
// no retry and no failure counted. Where fulcrum differs on purpose: nginx
// resumed a TLS session made with another certificate (a session with
// alpha's resumed one made without: the server saw cn=none, and one
// without resumed beta's: cn=beta); fulcrum keeps sessions per
// certificate.
func TestUpstreamTLSCertificateVariables(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"alpha", "beta"} {
		testutil.WriteCert(t, dir, n, testutil.ECDSA, n)
	}
	up := startCertUpstream(t)
	logFile := filepath.Join(dir, "error.log")
	cfg := load(t, dir, `map $remote_addr $cert { 127.0.0.1 alpha; 127.0.0.3 missing; 127.0.0.4 alpha; default ""; }
map $remote_addr $key { 127.0.0.1 alpha; 127.0.0.3 alpha; 127.0.0.4 beta; default ""; }
upstream u { server `+up+`; server `+up+`; }
server { listen 127.0.0.1:0; proxy_pass u; proxy_ssl on;
    proxy_ssl_certificate %DIR%/$cert.pem; proxy_ssl_certificate_key %DIR%/$key.key; }`)
	addr := startWithLog(t, cfg, logFile)
	steps := []struct{ from, want string }{
		{"127.0.0.1", "cn=alpha resumed=false 1"},
		{"127.0.0.1", "cn=alpha resumed=true 2"},
	}
	for i, st := range steps {
		if got := dialFrom(t, st.from, addr).ask(t, fmt.Sprint(i+1)); got != st.want {
			t.Errorf("session %d from %s: %q, want %q", i+1, st.from, got, st.want)
		}
	}
	missing := filepath.Join(dir, "missing.pem")
	for _, tc := range []struct{ from, log string }{
		{"127.0.0.3", `cannot load certificate "` + missing + `": BIO_new_file() failed (SSL: error:80000002:system library::No such file or directory:calling fopen(` + missing + `, r) error:10000080:BIO routines::no such file) while connecting to upstream`},
		{"127.0.0.4", `SSL_use_PrivateKey("` + filepath.Join(dir, "beta.key") + `") failed (SSL: error:05800074:x509 certificate routines::key values mismatch) while connecting to upstream`},
	} {
		if got := dialFrom(t, tc.from, addr).ask(t, "x"); got != "EOF" {
			t.Errorf("from %s: %q, want the session closed", tc.from, got)
		}
		waitFor(t, "error log line "+tc.log, func() bool {
			return strings.Contains(readFile(t, logFile), "[error]") && strings.Contains(readFile(t, logFile), tc.log)
		})
	}
	if log := readFile(t, logFile); strings.Contains(log, "temporarily disabled") || strings.Count(log, "while connecting to upstream") != 2 {
		t.Errorf("a certificate that does not load is retried or counted:\n%s", log)
	}

	cfg = load(t, t.TempDir(), `map $remote_addr $cert { 127.0.0.1 `+dir+`/alpha.pem; 127.0.0.2 `+dir+`/beta.pem; default ""; }
map $remote_addr $key { 127.0.0.1 `+dir+`/alpha.key; 127.0.0.2 `+dir+`/beta.key; default ""; }
server { listen 127.0.0.1:0; proxy_pass `+up+`; proxy_ssl on; proxy_ssl_certificate $cert; proxy_ssl_certificate_key $key; }`)
	_, addr = start(t, cfg)
	steps = []struct{ from, want string }{
		{"127.0.0.5", "cn=none resumed=false 1"},
		{"127.0.0.1", "cn=alpha resumed=false 2"}, // nginx: resumed, cn=none
		{"127.0.0.2", "cn=beta resumed=false 3"},
		{"127.0.0.5", "cn=none resumed=true 4"}, // nginx: cn=beta
		{"127.0.0.1", "cn=alpha resumed=true 5"},
	}
	for i, st := range steps {
		if got := dialFrom(t, st.from, addr).ask(t, fmt.Sprint(i+1)); got != st.want {
			t.Errorf("session %d from %s: %q, want %q", i+1, st.from, got, st.want)
		}
	}
}
