package daemon_test

import (
	"bufio"
	"crypto/tls"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fulcrum/internal/testutil"
)

// TestClientCertificateCRL runs ssl_crl against real TLS connections. The
// answers are nginx 1.22.1's (OpenSSL 3.0) for a CRL made with openssl ca
// -gencrl and clients made with openssl x509 -req, checked with curl --cert:
// a revoked client gets 400 "The SSL certificate error" (495) and the info
// line "client SSL certificate verify error: (23:certificate revoked)",
// error_page 495 sees $ssl_client_verify "FAILED:certificate revoked", and
// an out-of-date CRL refuses every client (12:CRL has expired). A version 1
// CRL (openssl ca -gencrl without crl_extensions, as nginx-tests' ssl_crl.t
// makes it) is loaded and checked as a version 2 one, as nginx 1.22.1 does
// (ssl_crl.t passes with it: revoked FAILED, the others SUCCESS).
func TestClientCertificateCRL(t *testing.T) {
	t.Parallel() // its own daemon and backends; no upper time bound
	dir := t.TempDir()
	site, _ := tlsSites(t, dir)
	p := newClientPKI(t, dir)
	now := time.Now()
	revoked := big.NewInt(4242)
	certPEM, keyPEM := p.root.Issue(t, testutil.Leaf{Subject: pkix.Name{CommonName: "eve"}, Serial: revoked})
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	p.clients["eve"] = pair
	crl, old := filepath.Join(dir, "crl.pem"), filepath.Join(dir, "old.pem")
	if err := os.WriteFile(crl, p.root.CRL(t, now.Add(-time.Hour), now.Add(time.Hour), revoked), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(old, p.root.CRL(t, now.Add(-2*time.Hour), now.Add(-time.Hour)), 0o644); err != nil {
		t.Fatal(err)
	}
	v1 := filepath.Join(dir, "v1.pem")
	if err := os.WriteFile(v1, p.root.CRLv1(t, now.Add(-time.Hour), now.Add(time.Hour), revoked), 0o644); err != nil {
		t.Fatal(err)
	}
	log := filepath.Join(dir, "error.log")
	addr := startDaemonLevel(t, dir, "info", fmt.Sprintf(`
    access_log off;
    %[1]s
    server { listen 127.0.0.1:0 ssl; server_name crl.test; ssl_client_certificate %[2]s; ssl_crl %[3]s; ssl_verify_client on;
        location / { return 200 "$ssl_client_verify"; } }
    server { listen 127.0.0.1:0 ssl; server_name ep.test; ssl_client_certificate %[2]s; ssl_crl %[3]s; ssl_verify_client optional;
        error_page 495 = /e495;
        location / { return 200 "$ssl_client_verify"; }
        location = /e495 { return 200 "caught $ssl_client_verify"; } }
    server { listen 127.0.0.1:0 ssl; server_name old.test; ssl_client_certificate %[2]s; ssl_crl %[4]s; ssl_verify_client on;
        location / { return 200 "$ssl_client_verify"; } }
    server { listen 127.0.0.1:0 ssl; server_name v1.test; ssl_client_certificate %[2]s; ssl_crl %[5]s; ssl_verify_client on;
        location / { return 200 "$ssl_client_verify"; } }`, site, p.rootFile, crl, old, v1))

	const certError = "The SSL certificate error"
	tests := []struct {
		server, cert string
		status       int
		body         string // the whole body for 200, a part of the page for 400
		logged       string
	}{
		{"crl.test", "alice", 200, "SUCCESS", ""},
		{"crl.test", "eve", 400, certError, "client SSL certificate verify error: (23:certificate revoked) while reading client request headers"},
		{"ep.test", "eve", 200, "caught FAILED:certificate revoked", ""},
		{"ep.test", "", 200, "NONE", ""},
		{"old.test", "alice", 400, certError, "client SSL certificate verify error: (12:CRL has expired)"},
		{"v1.test", "alice", 200, "SUCCESS", ""},
		{"v1.test", "eve", 400, certError, "client SSL certificate verify error: (23:certificate revoked)"},
	}
	for _, tt := range tests {
		t.Run(tt.server+"/"+tt.cert, func(t *testing.T) {
			c := p.dial(t, addr, tt.server, tt.cert, nil)
			resp, got := roundTrip(t, c, bufio.NewReader(c), "GET / HTTP/1.1\r\nHost: "+tt.server+"\r\n\r\n")
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d (%q)", resp.StatusCode, tt.status, got)
			}
			if tt.status == 200 && got != tt.body || tt.status == 400 && !strings.Contains(got, "<title>400 "+tt.body+"</title>") {
				t.Errorf("body %q, want %q", got, tt.body)
			}
			if tt.logged != "" {
				waitLogged(t, log, "[info]", tt.logged, `host: "`+tt.server+`"`)
			}
		})
	}
}
