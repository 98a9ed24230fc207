package integration

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fulcrum/internal/testutil"
)

// startTLSLineEcho starts a TLS server with the certificate chain and key
// given that answers each line with "NAME sni=SNI resumed=BOOL certs=N
// LINE": what it saw of the handshake.
func startTLSLineEcho(t *testing.T, name string, certPEM, keyPEM []byte) string {
	t.Helper()
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{pair}, ClientAuth: tls.RequestClientCert}
	return testutil.RawBackend(t, func(c net.Conn) {
		tc := tls.Server(c, cfg)
		_ = tc.SetDeadline(time.Now().Add(20 * time.Second))
		if err := tc.Handshake(); err != nil {
			return
		}
		cs := tc.ConnectionState()
		r := bufio.NewReader(tc)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			fmt.Fprintf(tc, "%s sni=%s resumed=%t certs=%d %s", name, cs.ServerName, cs.DidResume, len(cs.PeerCertificates), line)
		}
	})
}

// TestStreamUpstreamTLS runs the real binary with a stream server that
// speaks TLS to its upstream servers: the first server's certificate is
// signed by a CA the server does not trust, so its handshake fails, is
// logged as nginx logs it and the session goes to the second, which gets
// SNI and the client certificate; the next session resumes the TLS
// session. fulcrum -t reports a missing trusted certificate file with its
// line.
func TestStreamUpstreamTLS(t *testing.T) {
	t.Parallel() // its own process, backends and temp dir; no upper time bound
	certs := t.TempDir()
	ca, other := testutil.NewCA(t, "upstream CA"), testutil.NewCA(t, "other CA")
	server := testutil.Leaf{DNSNames: []string{"db.internal"}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	goodCert, goodKey := ca.Issue(t, server)
	wrongCert, wrongKey := other.Issue(t, server)
	clientCert, clientKey := ca.Issue(t, testutil.Leaf{})
	writeFiles(t, certs, map[string]string{"ca.pem": string(ca.PEM), "client.pem": string(clientCert), "client.key": string(clientKey)})
	good := startTLSLineEcho(t, "good", goodCert, goodKey)
	wrong := startTLSLineEcho(t, "wrong", wrongCert, wrongKey)

	conf := `events {}
stream {
    log_format f '$status $upstream_addr';
    access_log %DIR%/stream.log f buffer=0;
    proxy_ssl on;
    proxy_ssl_trusted_certificate ` + certs + `/ca.pem;
    upstream db { server ` + wrong + `; server ` + good + `; }
    server {
        listen 127.0.0.1:0;
        proxy_pass db;
        proxy_ssl_verify on;
        proxy_ssl_server_name on;
        proxy_ssl_name db.internal;
        proxy_ssl_certificate ` + certs + `/client.pem;
        proxy_ssl_certificate_key ` + certs + `/client.key;
    }
}
`
	in := startFulcrum(t, conf, 1)
	addr := in.listening()[0]
	// A resumed session carries the client certificate in Go's server's
	// session state: certs=1 both times.
	for i, want := range []string{"good sni=db.internal resumed=false certs=1 1", "good sni=db.internal resumed=true certs=1 2"} {
		s := openTCP(t, addr)
		if got := s.ask(fmt.Sprint(i + 1)); got != want {
			t.Errorf("session %d: %q, want %q", i+1, got, want)
		}
		s.c.Close()
	}
	for _, want := range []struct{ level, text string }{
		{"[error]", `*1 upstream SSL certificate verify error: (21:unable to verify the first certificate) while SSL handshaking to upstream, client: 127.0.0.1, server: ` + addr + `, upstream: "` + wrong + `"`},
		{"[warn]", `*1 upstream server temporarily disabled while SSL handshaking to upstream`},
	} {
		waitFor(t, "the log line "+want.text, func() bool {
			for _, l := range in.logLines() {
				if strings.Contains(l, want.level) && strings.Contains(l, want.text) {
					return true
				}
			}
			return false
		})
	}
	logPath := filepath.Join(in.dir, "stream.log")
	waitFor(t, "two access log lines", func() bool { return strings.Count(readText(logPath), "\n") >= 2 })
	for _, want := range []string{"200 " + wrong + ", " + good + "\n", "200 " + good + "\n"} {
		if !strings.Contains(readText(logPath), want) {
			t.Errorf("access log %q, want a line %q", readText(logPath), want)
		}
	}

	// fulcrum -t: a missing trusted certificate file, with its line.
	dir := t.TempDir()
	bad := "events {}\nstream {\n    server {\n        listen 127.0.0.1:15432; proxy_pass 127.0.0.1:5432; proxy_ssl on; proxy_ssl_verify on;\n        proxy_ssl_trusted_certificate " + dir + "/none.pem;\n    }\n}\n"
	path := filepath.Join(dir, "bad.conf")
	if err := os.WriteFile(path, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	r := runFulcrum(t, "-t", "-c", path)
	if want := `SSL_CTX_load_verify_locations("` + dir + `/none.pem") failed (SSL: error:80000002:system library::No such file or directory:calling fopen(` + dir + "/none.pem" + `, r) error:10000080:BIO routines::no such file error:05880002:x509 certificate routines::system lib) in ` + path + ":5"; r.code == 0 || !strings.Contains(r.stderr, want) {
		t.Errorf("fulcrum -t: %+v, want exit 1 and %q", r, want)
	}
}
