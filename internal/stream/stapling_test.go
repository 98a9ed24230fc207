package stream

import (
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"

	"fulcrum/internal/testutil"
)

// TestStreamOCSPStapling runs the stream block's ssl_stapling (nginx
// 1.27.2) as the http servers': a server with ssl_stapling_file staples
// the file's response from the first handshake; one that fetches from its
// responder (ssl_stapling_responder, checked with ssl_stapling_verify)
// staples nothing on the first handshake, which starts the fetch, and the
// good response on later ones; a server without ssl_stapling staples
// nothing.
func TestStreamOCSPStapling(t *testing.T) {
	dir := t.TempDir()
	ca := testutil.NewCA(t, "Stream Stapling CA")
	responder := testutil.StartOCSPResponder(t, ca)
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cert := func(name string) (string, *x509.Certificate) {
		certPEM, keyPEM := ca.Issue(t, testutil.Leaf{Subject: pkix.Name{CommonName: name}, DNSNames: []string{name},
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
		pair, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf("ssl_certificate %s; ssl_certificate_key %s;",
			write(name+".pem", append(append([]byte(nil), certPEM...), ca.PEM...)), write(name+".key", keyPEM)), pair.Leaf
	}
	fileCert, fileLeaf := cert("file.test")
	fetchCert, fetchLeaf := cert("fetch.test")
	plainCert, _ := cert("plain.test")
	fileResp, err := ocsp.CreateResponse(ca.Cert, ca.Cert, ocsp.Response{Status: ocsp.Good, SerialNumber: fileLeaf.SerialNumber, ThisUpdate: time.Now()}, ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	respFile := write("resp.der", fileResp)
	responder.SetStatus(fetchLeaf.SerialNumber, ocsp.Good)
	a := startEcho(t, "a")
	p := New(Options{})
	cfg := load(t, dir, fmt.Sprintf(`
server { listen 127.0.0.1:0 ssl; %s ssl_stapling on; ssl_stapling_file %s; proxy_pass %s; }
server { listen 127.0.0.1:0 ssl; %s ssl_stapling on; ssl_stapling_responder %s; ssl_stapling_verify on; proxy_pass %s; }
server { listen 127.0.0.1:0 ssl; %s proxy_pass %s; }`,
		fileCert, respFile, a.addr(), fetchCert, responder.URL, a.addr(), plainCert, a.addr()))
	addrs, err := p.Apply(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	stapled := func(addr string) []byte {
		t.Helper()
		c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.ConnectionState().OCSPResponse
	}
	t.Run("file", func(t *testing.T) {
		if got := stapled(addrs[0].String()); string(got) != string(fileResp) {
			t.Errorf("staple %d bytes, want the file's %d", len(got), len(fileResp))
		}
	})
	t.Run("responder", func(t *testing.T) {
		if got := stapled(addrs[1].String()); got != nil {
			t.Fatalf("first handshake stapled %d bytes, want none (the fetch starts)", len(got))
		}
		deadline := time.Now().Add(5 * time.Second)
		for {
			got := stapled(addrs[1].String())
			if got != nil {
				r, err := ocsp.ParseResponseForCert(got, fetchLeaf, ca.Cert)
				if err != nil || r.Status != ocsp.Good {
					t.Fatalf("staple %v %v, want the responder's good response", r, err)
				}
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("no staple within 5s (responder hits %d)", responder.Hits(fetchLeaf.SerialNumber))
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
	t.Run("no ssl_stapling", func(t *testing.T) {
		if got := stapled(addrs[2].String()); got != nil {
			t.Errorf("stapled %d bytes without ssl_stapling", len(got))
		}
	})
}
