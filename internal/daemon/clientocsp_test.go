package daemon_test

import (
	"bufio"
	"crypto/tls"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"

	"fulcrum/internal/testutil"
)

// ocspPKI is the certificates of the ssl_ocsp tests: a root, two
// intermediates (the second revoked), client certificates under them
// whose AIA names a real responder on 127.0.0.1 (or a port where nothing
// listens), and the responder.
type ocspPKI struct {
	rootFile string
	resp     *testutil.OCSPResponder
	clients  map[string]tls.Certificate
	serials  map[string]*big.Int
}

func newOCSPPKI(t *testing.T, dir string) *ocspPKI {
	t.Helper()
	root := testutil.NewCA(t, "OCSP Root")
	inter := root.Intermediate(t, "OCSP Intermediate")
	revokedInter := root.Intermediate(t, "Revoked Intermediate")
	p := &ocspPKI{rootFile: filepath.Join(dir, "ocsp-ca.pem"), resp: testutil.StartOCSPResponder(t, root, inter, revokedInter),
		clients: map[string]tls.Certificate{}, serials: map[string]*big.Int{}}
	if err := os.WriteFile(p.rootFile, root.PEM, 0o644); err != nil {
		t.Fatal(err)
	}
	p.resp.SetStatus(revokedInter.Cert.SerialNumber, ocsp.Revoked)
	unreachable := testutil.UnreachableURL(t)
	silent := testutil.SilentURL(t)
	add := func(name string, ca *testutil.CA, aia string, status int) {
		certPEM, keyPEM := ca.Issue(t, testutil.Leaf{Subject: pkix.Name{CommonName: name}, OCSPServer: []string{aia}}, ca)
		pair, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			t.Fatal(err)
		}
		p.clients[name] = pair
		p.serials[name] = pair.Leaf.SerialNumber
		p.resp.SetStatus(pair.Leaf.SerialNumber, status)
	}
	add("good", inter, p.resp.URL, ocsp.Good)
	add("revoked", inter, p.resp.URL, ocsp.Revoked)
	add("unknown", inter, p.resp.URL, ocsp.Unknown)
	add("unreachable", inter, unreachable, ocsp.Good)
	add("silent", inter, silent, ocsp.Good)
	add("under-revoked", revokedInter, p.resp.URL, ocsp.Good)
	add("cached", inter, p.resp.URL, ocsp.Good)
	add("uncached", inter, p.resp.URL, ocsp.Good)
	add("cached-revoked", inter, p.resp.URL, ocsp.Revoked)
	return p
}

func (p *ocspPKI) dial(t *testing.T, addr, name, cert string) *tls.Conn {
	t.Helper()
	pair := p.clients[cert]
	cfg := &tls.Config{ServerName: name, InsecureSkipVerify: true, NextProtos: []string{"http/1.1"},
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &pair, nil }}
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 2 * time.Second}, "tcp", addr, cfg)
	if err != nil {
		t.Fatalf("handshake (%s, %s): %v", name, cert, err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	return c
}

// TestClientOCSP runs ssl_ocsp against a real responder: a revoked
// certificate (or, with "on", a revoked intermediate), an unknown one and
// one whose responder cannot be reached are refused with 495 (400 "The
// SSL certificate error"), $ssl_client_verify FAILED and the reason, and
// nginx's info line (ngx_http_process_request's "client SSL certificate
// verify error: %s" with ngx_ssl_ocsp_get_status's words); a good one
// passes. ssl_ocsp_cache asks the responder once for two connections,
// without it each connection asks, and a connection asks once for all its
// requests.
func TestClientOCSP(t *testing.T) {
	dir := t.TempDir()
	site, _ := tlsSites(t, dir)
	p := newOCSPPKI(t, dir)
	log := filepath.Join(dir, "error.log")
	addr := startDaemonLevel(t, dir, "info", fmt.Sprintf(`
    access_log off;
    %[1]s
    ssl_client_certificate %[2]s;
    ssl_verify_client on;
    ssl_verify_depth 2;
    client_header_timeout 2s;
    server { listen 127.0.0.1:0 ssl; server_name leaf.test; ssl_ocsp leaf; location / { return 200 "$ssl_client_verify"; } }
    server { listen 127.0.0.1:0 ssl; server_name on.test; ssl_ocsp on; ssl_ocsp_responder %[3]s; location / { return 200 "$ssl_client_verify"; } }
    server { listen 127.0.0.1:0 ssl; server_name cache.test; ssl_ocsp leaf; ssl_ocsp_cache shared:c:1m; location / { return 200 "$ssl_client_verify"; } }
    server { listen 127.0.0.1:0 ssl; server_name ep.test; ssl_ocsp leaf; error_page 495 = /e;
        location / { return 200 "$ssl_client_verify"; }
        location = /e { return 200 "caught $ssl_client_verify"; }
    }`, site, p.rootFile, p.resp.URL))

	const certError = "The SSL certificate error"
	tests := []struct {
		server, cert string
		status       int
		body         string
		logged       string // the info line's reason, for refusals
	}{
		{"leaf.test", "good", 200, "SUCCESS", ""},
		{"leaf.test", "revoked", 400, certError, "certificate revoked"},
		{"leaf.test", "unknown", 400, certError, "certificate status unknown"},
		{"leaf.test", "unreachable", 400, certError, "certificate status request failed"},
		{"leaf.test", "under-revoked", 200, "SUCCESS", ""},
		// A responder that never answers: client_header_timeout (2s) ends
		// the wait (nginx closes the connection then; fulcrum answers 495).
		{"leaf.test", "silent", 400, certError, "certificate status request failed"},
		{"on.test", "good", 200, "SUCCESS", ""},
		{"on.test", "under-revoked", 400, certError, "certificate revoked"},
		{"ep.test", "revoked", 200, "caught FAILED:certificate revoked", ""},
		{"ep.test", "unreachable", 200, "caught FAILED:certificate status request failed", ""},
	}
	for _, tt := range tests {
		t.Run(tt.server+"/"+tt.cert, func(t *testing.T) {
			c := p.dial(t, addr, tt.server, tt.cert)
			resp, got := roundTrip(t, c, bufio.NewReader(c), "GET / HTTP/1.1\r\nHost: "+tt.server+"\r\n\r\n")
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d (%q)", resp.StatusCode, tt.status, got)
			}
			if tt.status == 200 && got != tt.body || tt.status == 400 && !strings.Contains(got, tt.body) {
				t.Errorf("body %q, want %q", got, tt.body)
			}
			if tt.logged != "" {
				waitLogged(t, log, "[info]", "client SSL certificate verify error: "+tt.logged+" while reading client request headers", `host: "`+tt.server+`"`)
			}
		})
	}
	t.Run("a silent responder holds back only its own client", func(t *testing.T) {
		slow := p.dial(t, addr, "leaf.test", "silent")
		if _, err := io.WriteString(slow, "GET / HTTP/1.1\r\nHost: leaf.test\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		c := p.dial(t, addr, "leaf.test", "good")
		resp, got := roundTrip(t, c, bufio.NewReader(c), "GET / HTTP/1.1\r\nHost: leaf.test\r\n\r\n")
		if resp.StatusCode != 200 || got != "SUCCESS" {
			t.Errorf("the other client got %d %q", resp.StatusCode, got)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("the other client waited %v behind the silent responder", d)
		}
	})
	t.Run("the responders' error lines", func(t *testing.T) {
		waitLogged(t, log, "[error]", "connect() failed (111: Connection refused) while requesting certificate status, responder: 127.0.0.1, peer: 127.0.0.1:")
		waitLogged(t, log, "[error]", "OCSP responder timed out (110: Connection timed out) while requesting certificate status, responder: 127.0.0.1, peer: 127.0.0.1:")
	})
	t.Run("cache", func(t *testing.T) {
		ask := func(server, cert string, conns, requests int) {
			t.Helper()
			for range conns {
				c := p.dial(t, addr, server, cert)
				br := bufio.NewReader(c)
				for range requests {
					resp, got := roundTrip(t, c, br, "GET / HTTP/1.1\r\nHost: "+server+"\r\n\r\n")
					if resp.StatusCode != 200 && !strings.HasSuffix(cert, "revoked") {
						t.Fatalf("%s %s: %d %q", server, cert, resp.StatusCode, got)
					}
					if resp.Close {
						break
					}
				}
				c.Close()
			}
		}
		ask("cache.test", "cached", 2, 1)
		ask("cache.test", "cached-revoked", 2, 1)
		ask("leaf.test", "uncached", 2, 2)
		for _, tt := range []struct {
			cert string
			hits int
		}{{"cached", 1}, {"cached-revoked", 1}, {"uncached", 2}} {
			if got := p.resp.Hits(p.serials[tt.cert]); got != tt.hits {
				t.Errorf("%s: the responder was asked %d times, want %d", tt.cert, got, tt.hits)
			}
		}
	})
}
