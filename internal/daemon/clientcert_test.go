package daemon_test

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"fulcrum/internal/testutil"
)

// clientPKI is the certificates of the client-certificate tests: a root
// CA, an intermediate under it, an unrelated CA, and client certificates.
type clientPKI struct {
	rootFile, bothFile string // ca.pem (the root), both.pem (root and intermediate)
	root               *testutil.CA
	clients            map[string]tls.Certificate
}

func newClientPKI(t *testing.T, dir string) *clientPKI {
	t.Helper()
	root := testutil.NewCA(t, "Test Root CA")
	inter := root.Intermediate(t, "Test Intermediate")
	other := testutil.NewCA(t, "Other CA")
	p := &clientPKI{rootFile: filepath.Join(dir, "ca.pem"), bothFile: filepath.Join(dir, "both.pem"), root: root, clients: map[string]tls.Certificate{}}
	if err := os.WriteFile(p.rootFile, root.PEM, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p.bothFile, append(append([]byte(nil), root.PEM...), inter.PEM...), 0o644); err != nil {
		t.Fatal(err)
	}
	add := func(name string, ca *testutil.CA, l testutil.Leaf, chain ...*testutil.CA) {
		certPEM, keyPEM := ca.Issue(t, l, chain...)
		pair, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			t.Fatal(err)
		}
		p.clients[name] = pair
	}
	cn := func(n string) testutil.Leaf { return testutil.Leaf{Subject: pkix.Name{CommonName: n}} }
	add("alice", root, testutil.Leaf{Subject: pkix.Name{CommonName: "alice", Organization: []string{"Acme, Inc."}, Country: []string{"US"}}})
	add("bob+chain", inter, cn("bob"), inter)
	add("bob", inter, cn("bob"))
	add("mallory", other, cn("mallory"))
	add("selfie", &testutil.CA{}, cn("selfie"))
	now := time.Now()
	add("expired", root, testutil.Leaf{Subject: pkix.Name{CommonName: "old"}, NotBefore: now.Add(-48 * time.Hour), NotAfter: now.Add(-24 * time.Hour)})
	return p
}

// certClient dials addr with SNI name and always sends the client
// certificate named cert (none when empty), whatever CAs the server names;
// acceptable receives the CA names the server's request carried.
func (p *clientPKI) dial(t *testing.T, addr, name, cert string, acceptable *[][]byte) *tls.Conn {
	t.Helper()
	cfg := &tls.Config{ServerName: name, InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}}
	cfg.GetClientCertificate = func(cri *tls.CertificateRequestInfo) (*tls.Certificate, error) {
		if acceptable != nil {
			*acceptable = cri.AcceptableCAs
		}
		if cert == "" {
			return &tls.Certificate{}, nil
		}
		c := p.clients[cert]
		return &c, nil
	}
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 2 * time.Second}, "tcp", addr, cfg)
	if err != nil {
		t.Fatalf("handshake (%s, %s): %v", name, cert, err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(3 * time.Second))
	return c
}

// TestClientCertificates runs ssl_verify_client's modes against real TLS
// connections. The expected answers are nginx 1.22.1's (OpenSSL 3.0) for
// the same configuration and the same shapes of certificate, checked on
// loopback with curl --cert: 400 with "No required SSL certificate was\n// sent" (496) or "The SSL certificate error" (495) and Connection: close;
// optional_no_ca accepting an unknown issuer (with FAILED:reason in
// $ssl_client_verify) but not an expired certificate; ssl_verify_depth 0
// refusing a client under an intermediate; verify off not asking at all.
func TestClientCertificates(t *testing.T) {
	dir := t.TempDir()
	site, _ := tlsSites(t, dir)
	p := newClientPKI(t, dir)
	log := filepath.Join(dir, "error.log")
	const body = `"$ssl_client_verify $ssl_client_s_dn"`
	addr := startDaemonLevel(t, dir, "info", fmt.Sprintf(`
    access_log off;
    %[1]s
    server { listen 127.0.0.1:0 ssl; server_name on.test; ssl_client_certificate %[2]s; ssl_verify_client on; location / { return 200 %[4]s; } }
    server { listen 127.0.0.1:0 ssl; server_name opt.test; ssl_client_certificate %[2]s; ssl_verify_client optional; location / { return 200 %[4]s; } }
    server { listen 127.0.0.1:0 ssl; server_name noca.test; ssl_verify_client optional_no_ca; location / { return 200 %[4]s; } }
    server { listen 127.0.0.1:0 ssl; server_name off.test; ssl_client_certificate %[2]s; ssl_verify_client off; location / { return 200 %[4]s; } }
    server { listen 127.0.0.1:0 ssl; server_name depth0.test; ssl_client_certificate %[3]s; ssl_verify_client on; ssl_verify_depth 0; location / { return 200 %[4]s; } }
    server { listen 127.0.0.1:0 ssl; server_name depth1.test; ssl_client_certificate %[3]s; ssl_verify_client on; location / { return 200 %[4]s; } }
    server { listen 127.0.0.1:0 ssl; server_name ep.test; ssl_client_certificate %[2]s; ssl_verify_client on;
        error_page 495 = /e495;
        error_page 496 /e496;
        location / { return 200 "ok\n"; }
        location = /e495 { return 200 "caught495 $ssl_client_verify"; }
        location = /e496 { return 200 "caught496 $ssl_client_verify"; }
    }`, site, p.rootFile, p.bothFile, body))

	const noCert, certError = "No required SSL certificate was sent", "The SSL certificate error"
	tests := []struct {
		server, cert string
		status       int
		body         string // the whole body for 200, a part of the page for 400
		logged       string // an info line, for refusals
	}{
		{"on.test", "", 400, noCert, "client sent no required SSL certificate while reading client request headers"},
		{"on.test", "alice", 200, `SUCCESS CN=alice,O=Acme\, Inc.,C=US`, ""},
		{"on.test", "bob+chain", 200, "SUCCESS CN=bob", ""},
		{"on.test", "bob", 400, certError, "client SSL certificate verify error: (21:unable to verify the first certificate) while reading client request headers"},
		{"on.test", "mallory", 400, certError, "(21:unable to verify the first certificate)"},
		{"on.test", "selfie", 400, certError, "client SSL certificate verify error: (18:self-signed certificate)"},
		{"on.test", "expired", 400, certError, "client SSL certificate verify error: (10:certificate has expired)"},
		{"opt.test", "", 200, "NONE ", ""},
		{"opt.test", "alice", 200, `SUCCESS CN=alice,O=Acme\, Inc.,C=US`, ""},
		{"opt.test", "mallory", 400, certError, ""},
		{"noca.test", "", 200, "NONE ", ""},
		{"noca.test", "alice", 200, `FAILED:unable to verify the first certificate CN=alice,O=Acme\, Inc.,C=US`, ""},
		{"noca.test", "selfie", 200, "FAILED:self-signed certificate CN=selfie", ""},
		{"noca.test", "bob+chain", 200, "FAILED:unable to get local issuer certificate CN=bob", ""},
		{"noca.test", "expired", 400, certError, ""},
		{"off.test", "alice", 200, "NONE ", ""}, // not asked for, not sent
		{"depth0.test", "alice", 200, `SUCCESS CN=alice,O=Acme\, Inc.,C=US`, ""},
		{"depth0.test", "bob", 400, certError, "(2:unable to get issuer certificate)"},
		{"depth1.test", "bob", 200, "SUCCESS CN=bob", ""},
		// error_page 496 without "=" answers 400, as nginx's error_page
		// makes "=400" of 494-497 (nginx's $status there says 400).
		{"ep.test", "", 400, "caught496 NONE", ""},
		{"ep.test", "mallory", 200, "caught495 FAILED:unable to verify the first certificate", ""},
		{"ep.test", "alice", 200, "ok\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.server+"/"+tt.cert, func(t *testing.T) {
			c := p.dial(t, addr, tt.server, tt.cert, nil)
			resp, got := roundTrip(t, c, bufio.NewReader(c), "GET / HTTP/1.1\r\nHost: "+tt.server+"\r\n\r\n")
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d (%q)", resp.StatusCode, tt.status, got)
			}
			switch {
			case tt.status == 200 && got != tt.body:
				t.Errorf("body %q, want %q", got, tt.body)
			case tt.status == 400 && !strings.Contains(got, tt.body) && !strings.HasPrefix(tt.body, "caught"),
				strings.HasPrefix(tt.body, "caught") && got != tt.body:
				t.Errorf("body %q, want %q in it", got, tt.body)
			}
			// nginx closes after 495 and 496, also when error_page
			// answers them (keep-alive is off before the redirect).
			refused := tt.status == 400 || strings.HasPrefix(tt.body, "caught")
			if resp.Close != refused {
				t.Errorf("Connection: close is %t, want %t", resp.Close, refused)
			}
			if tt.logged != "" {
				waitLogged(t, log, "[info]", tt.logged, `host: "`+tt.server+`"`)
			}
		})
	}
	t.Run("page", func(t *testing.T) {
		c := p.dial(t, addr, "on.test", "", nil)
		_, got := roundTrip(t, c, bufio.NewReader(c), "GET / HTTP/1.1\r\nHost: on.test\r\n\r\n")
		want := "<html>\r\n<head><title>400 No required SSL certificate was sent</title></head>\r\n<body>\r\n<center><h1>400 Bad Request</h1></center>\r\n<center>No required SSL certificate was sent</center>\r\n<hr><center>"
		if !strings.HasPrefix(got, want) {
			t.Errorf("page %q", got)
		}
	})
	t.Run("CA names", func(t *testing.T) {
		var names [][]byte
		c := p.dial(t, addr, "on.test", "alice", &names)
		roundTrip(t, c, bufio.NewReader(c), "GET / HTTP/1.1\r\nHost: on.test\r\n\r\n")
		if len(names) != 1 || !bytes.Equal(names[0], p.root.Cert.RawSubject) {
			t.Errorf("the certificate request named %q, want the root", names)
		}
		c = p.dial(t, addr, "noca.test", "alice", &names)
		roundTrip(t, c, bufio.NewReader(c), "GET / HTTP/1.1\r\nHost: noca.test\r\n\r\n")
		if len(names) != 0 {
			t.Errorf("optional_no_ca without a file named %q", names)
		}
	})
	t.Run("keep-alive after success", func(t *testing.T) {
		c := p.dial(t, addr, "on.test", "alice", nil)
		br := bufio.NewReader(c)
		for i := range 2 {
			resp, got := roundTrip(t, c, br, "GET / HTTP/1.1\r\nHost: on.test\r\n\r\n")
			if resp.StatusCode != 200 || !strings.HasPrefix(got, "SUCCESS") {
				t.Fatalf("request %d: %d %q", i, resp.StatusCode, got)
			}
		}
	})
	t.Run("SNI picks the verification, Host the verdict", func(t *testing.T) {
		// The handshake with off.test asks for nothing; a Host naming
		// on.test, which verifies, is another server than the SNI's: 421,
		// as nginx 1.22.1 (recorded: "client attempted to request the
		// server name different from the one that was negotiated").
		c := p.dial(t, addr, "off.test", "alice", nil)
		resp, _ := roundTrip(t, c, bufio.NewReader(c), "GET / HTTP/1.1\r\nHost: on.test\r\n\r\n")
		if resp.StatusCode != http.StatusMisdirectedRequest {
			t.Errorf("got %d, want 421", resp.StatusCode)
		}
	})
}

// TestClientCertificateHeaders passes the client's certificate to a backend
// with proxy_set_header, as nginx's docs suggest.
func TestClientCertificateHeaders(t *testing.T) {
	dir := t.TempDir()
	site, _ := tlsSites(t, dir)
	p := newClientPKI(t, dir)
	var mu sync.Mutex
	var seen http.Header
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = r.Header.Clone()
		mu.Unlock()
		fmt.Fprint(w, "backend")
	}))
	t.Cleanup(backend.Close)
	addr := startDaemon(t, dir, fmt.Sprintf(`
    access_log off;
    server { listen 127.0.0.1:0 ssl; server_name a.test; %s
        ssl_client_certificate %s; ssl_verify_client optional;
        location / {
            proxy_pass http://%s;
            proxy_set_header X-Client-Verify $ssl_client_verify;
            proxy_set_header X-Client-DN $ssl_client_s_dn;
            proxy_set_header X-Client-Issuer $ssl_client_i_dn;
            proxy_set_header X-Client-Serial $ssl_client_serial;
            proxy_set_header X-Client-Cert $ssl_client_escaped_cert;
        }
    }`, site, p.rootFile, backend.Listener.Addr().String()))
	tests := []struct {
		cert                string
		verify, dn, issuer  string
		certPresent, serial bool
	}{
		{"alice", "SUCCESS", `CN=alice,O=Acme\, Inc.,C=US`, "CN=Test Root CA", true, true},
		{"", "NONE", "", "", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.cert, func(t *testing.T) {
			c := p.dial(t, addr, "a.test", tt.cert, nil)
			resp, got := roundTrip(t, c, bufio.NewReader(c), "GET / HTTP/1.1\r\nHost: a.test\r\n\r\n")
			if resp.StatusCode != 200 || got != "backend" {
				t.Fatalf("got %d %q", resp.StatusCode, got)
			}
			mu.Lock()
			h := seen
			mu.Unlock()
			if h.Get("X-Client-Verify") != tt.verify || h.Get("X-Client-DN") != tt.dn || h.Get("X-Client-Issuer") != tt.issuer {
				t.Errorf("headers %v", h)
			}
			if (h.Get("X-Client-Serial") != "") != tt.serial {
				t.Errorf("serial %q", h.Get("X-Client-Serial"))
			}
			pemText, err := url.PathUnescape(h.Get("X-Client-Cert"))
			if err != nil {
				t.Fatal(err)
			}
			if tt.certPresent {
				blk, _ := pem.Decode([]byte(pemText))
				if blk == nil || !bytes.Equal(blk.Bytes, p.clients[tt.cert].Certificate[0]) {
					t.Errorf("cert %q is not the client's", pemText)
				}
			} else if pemText != "" {
				t.Errorf("cert without a certificate: %q", pemText)
			}
		})
	}
}
