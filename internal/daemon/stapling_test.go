package daemon_test

import (
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"

	"fulcrum/internal/testutil"
)

// ocspResponder answers nginx's GET requests for ca's certificates with
// status, and counts them.
func ocspResponder(t *testing.T, ca *testutil.CA, status int) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		raw, _ := url.PathUnescape(strings.TrimPrefix(r.URL.EscapedPath(), "/"))
		der, err := base64.StdEncoding.DecodeString(raw)
		q, err2 := ocsp.ParseRequest(der)
		if err != nil || err2 != nil {
			http.Error(w, "bad request", 400)
			return
		}
		now := time.Now()
		resp, err := ocsp.CreateResponse(ca.Cert, ca.Cert, ocsp.Response{Status: status, SerialNumber: q.SerialNumber,
			ThisUpdate: now.Add(-time.Minute), NextUpdate: now.Add(time.Hour), RevokedAt: now.Add(-time.Hour)}, ca.Key)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		w.Write(resp)
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

// stapled makes a handshake with SNI name (Go's client asks for the
// status) and returns the stapled response, nil for none.
func stapled(t *testing.T, addr, name string) []byte {
	t.Helper()
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 2 * time.Second}, "tcp", addr, &tls.Config{ServerName: name, InsecureSkipVerify: true})
	if err != nil {
		t.Fatalf("handshake with %s: %v", name, err)
	}
	defer c.Close()
	return c.ConnectionState().OCSPResponse
}

// TestOCSPStapling serves servers with ssl_stapling from a local OCSP
// responder and from ssl_stapling_file. As nginx 1.22.1 did against openssl
// ocsp (checked with openssl s_client -status): the first handshake gets
// no staple and starts the fetch, later ones get the "good" response; a
// "revoked" answer is not stapled and is logged at error; a file's
// response is stapled from the first handshake.
func TestOCSPStapling(t *testing.T) {
	dir := t.TempDir()
	ca := testutil.NewCA(t, "Stapling CA")
	good, goodHits := ocspResponder(t, ca, ocsp.Good)
	revoked, revokedHits := ocspResponder(t, ca, ocsp.Revoked)
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	var leaves = map[string]*x509.Certificate{}
	cert := func(name, responder string) string {
		certPEM, keyPEM := ca.Issue(t, testutil.Leaf{Subject: pkix.Name{CommonName: name}, DNSNames: []string{name},
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, OCSPServer: []string{responder}})
		pair, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			t.Fatal(err)
		}
		leaves[name] = pair.Leaf
		return fmt.Sprintf("ssl_certificate %s; ssl_certificate_key %s;",
			write(name+".pem", append(append([]byte(nil), certPEM...), ca.PEM...)), write(name+".key", keyPEM))
	}
	fileResp, err := ocsp.CreateResponse(ca.Cert, ca.Cert, ocsp.Response{Status: ocsp.Good, SerialNumber: ca.Cert.SerialNumber, ThisUpdate: time.Now()}, ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	respFile := write("resp.der", fileResp)
	log := filepath.Join(dir, "error.log")
	addr := startDaemonLevel(t, dir, "info", fmt.Sprintf(`
    access_log off;
    server { listen 127.0.0.1:0 ssl; server_name good.test; %s ssl_stapling on; ssl_stapling_verify on; location / { return 200; } }
    server { listen 127.0.0.1:0 ssl; server_name revoked.test; %s ssl_stapling on; location / { return 200; } }
    server { listen 127.0.0.1:0 ssl; server_name file.test; %s ssl_stapling on; ssl_stapling_file %s; location / { return 200; } }
    server { listen 127.0.0.1:0 ssl; server_name plain.test; %s location / { return 200; } }`,
		cert("good.test", good.URL+"/"), cert("revoked.test", revoked.URL), cert("file.test", "http://127.0.0.1:9/"), respFile,
		cert("plain.test", good.URL)))

	t.Run("fetched", func(t *testing.T) {
		if r := stapled(t, addr, "good.test"); r != nil {
			t.Fatal("the first handshake got a staple")
		}
		deadline := time.Now().Add(5 * time.Second)
		var r []byte
		for r = stapled(t, addr, "good.test"); r == nil; r = stapled(t, addr, "good.test") {
			if time.Now().After(deadline) {
				t.Fatal("no staple after 5s")
			}
			time.Sleep(20 * time.Millisecond)
		}
		resp, err := ocsp.ParseResponseForCert(r, leaves["good.test"], ca.Cert)
		if err != nil || resp.Status != ocsp.Good {
			t.Errorf("staple: %v %v", resp, err)
		}
		if n := goodHits.Load(); n != 1 {
			t.Errorf("%d requests to the responder, want 1", n)
		}
	})
	t.Run("revoked", func(t *testing.T) {
		stapled(t, addr, "revoked.test")
		waitLogged(t, log, "[error]", `certificate status "revoked" in the OCSP response while requesting certificate status, responder: 127.0.0.1`)
		if r := stapled(t, addr, "revoked.test"); r != nil || revokedHits.Load() != 1 {
			t.Errorf("stapled %d bytes after %d requests, want none after 1 (the next is due in 5 minutes)", len(r), revokedHits.Load())
		}
	})
	t.Run("file", func(t *testing.T) {
		if r := stapled(t, addr, "file.test"); string(r) != string(fileResp) {
			t.Errorf("staple %d bytes, want the file's %d", len(r), len(fileResp))
		}
	})
	t.Run("no stapling", func(t *testing.T) {
		if r := stapled(t, addr, "plain.test"); r != nil {
			t.Errorf("stapled %d bytes", len(r))
		}
	})
}
