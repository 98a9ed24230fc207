package integration

import (
	"crypto/tls"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"fulcrum/internal/testutil"
)

// TestTLSClientCertificateConfigTest: nginx 1.22's refusal of
// ssl_verify_client without ssl_client_certificate, with the place.
func TestTLSClientCertificateConfigTest(t *testing.T) {
	t.Parallel() // fulcrum -t runs in their own temp dirs
	dir := t.TempDir()
	cert, key := testutil.WriteCert(t, dir, "site", testutil.ECDSA, "a.test")
	conf := filepath.Join(dir, "fulcrum.conf")
	text := fmt.Sprintf("events {}\nhttp {\n    server {\n        listen 127.0.0.1:8443 ssl; ssl_certificate %s; ssl_certificate_key %s;\n        ssl_verify_client on;\n    }\n}\n", cert, key)
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	r := runFulcrum(t, "-t", "-c", conf)
	want := "fulcrum: [emerg] no ssl_client_certificate for ssl_verify_client in " + conf + ":5"
	if r.code != 1 || !strings.HasPrefix(r.stderr, want) {
		t.Errorf("exit %d, stderr %q, want %q...", r.code, r.stderr, want)
	}
}

// TestTLSClientCertificates runs the binary with ssl_verify_client on: a
// client of the CA is served and its DN reaches the backend, one without a
// certificate gets nginx's 496 page, and a reload that replaces the CA file
// lets the new CA's clients in and keeps the old one's out.
func TestTLSClientCertificates(t *testing.T) {
	dir := t.TempDir()
	cert, key := testutil.WriteCert(t, dir, "site", testutil.ECDSA, "localhost", "127.0.0.1")
	oldCA, newCA := testutil.NewCA(t, "Old CA"), testutil.NewCA(t, "New CA")
	caFile := filepath.Join(dir, "clients.pem")
	if err := os.WriteFile(caFile, oldCA.PEM, 0o644); err != nil {
		t.Fatal(err)
	}
	pair := func(ca *testutil.CA, cn string) *tls.Certificate {
		c, k := ca.Issue(t, testutil.Leaf{Subject: pkix.Name{CommonName: cn}})
		p, err := tls.X509KeyPair(c, k)
		if err != nil {
			t.Fatal(err)
		}
		return &p
	}
	alice, bob := pair(oldCA, "alice"), pair(newCA, "bob")
	conf := fmt.Sprintf(`events {}
http {
    access_log off;
    server {
        listen 127.0.0.1:0 ssl;
        ssl_certificate %s;
        ssl_certificate_key %s;
        ssl_client_certificate %s;
        ssl_verify_client on;
        location / { return 200 "$ssl_client_verify $ssl_client_s_dn"; }
    }
}
`, cert, key, caFile)
	in := startFulcrum(t, conf, 1)
	addr := in.listening()[0]
	get := func(c *tls.Certificate) (int, string) {
		t.Helper()
		client := clientWithCertificate(c)
		resp, err := client.Get("https://" + addr + "/")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	if code, body := get(alice); code != 200 || body != "SUCCESS CN=alice" {
		t.Errorf("alice: %d %q", code, body)
	}
	if code, body := get(nil); code != 400 || !strings.Contains(body, "No required SSL certificate was sent") {
		t.Errorf("no certificate: %d %q", code, body)
	}
	if code, body := get(bob); code != 400 || !strings.Contains(body, "The SSL certificate error") {
		t.Errorf("bob before the reload: %d %q", code, body)
	}

	if err := os.WriteFile(caFile, newCA.PEM, 0o644); err != nil {
		t.Fatal(err)
	}
	in.signal(syscall.SIGHUP)
	waitFor(t, "the new CA", func() bool { code, _ := get(bob); return code == 200 })
	if code, _ := get(alice); code != 400 {
		t.Errorf("alice after the reload: %d, want 400", code)
	}
}

// TestTLSClientCertificateLog: without a client certificate the
// $ssl_client_* variables are not found, so an access log writes "-" for
// them, as nginx 1.22.1 (recorded: `v=NONE s="-" i="-"` under
// ssl_verify_client optional); fulcrum wrote them empty.
func TestTLSClientCertificateLog(t *testing.T) {
	dir := t.TempDir()
	cert, key := testutil.WriteCert(t, dir, "site", testutil.ECDSA, "localhost", "127.0.0.1")
	ca := testutil.NewCA(t, "Client CA")
	caFile := filepath.Join(dir, "clients.pem")
	if err := os.WriteFile(caFile, ca.PEM, 0o644); err != nil {
		t.Fatal(err)
	}
	c, k := ca.Issue(t, testutil.Leaf{Subject: pkix.Name{CommonName: "alice"}})
	alice, err := tls.X509KeyPair(c, k)
	if err != nil {
		t.Fatal(err)
	}
	in := startFulcrum(t, fmt.Sprintf(`events {}
http {
    log_format t '$request_uri $ssl_client_verify "$ssl_client_s_dn" "$ssl_client_i_dn" "$ssl_client_fingerprint"';
    access_log %%DIR%%/access.log t;
    server {
        listen 127.0.0.1:0 ssl;
        ssl_certificate %s;
        ssl_certificate_key %s;
        ssl_client_certificate %s;
        ssl_verify_client optional;
        location / { return 200 "[$ssl_client_s_dn]"; }
    }
}
`, cert, key, caFile), 1)
	get := func(path string, c *tls.Certificate) string {
		t.Helper()
		client := clientWithCertificate(c)
		resp, err := client.Get("https://" + in.listening()[0] + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return string(body)
	}
	if body := get("/none", nil); body != "[]" {
		t.Errorf("without a certificate: %q, want []", body)
	}
	if body := get("/alice", &alice); body != "[CN=alice]" {
		t.Errorf("alice: %q", body)
	}
	waitFor(t, "the access log lines", func() bool {
		log, _ := os.ReadFile(filepath.Join(in.dir, "access.log"))
		return strings.Contains(string(log), "/none NONE \"-\" \"-\" \"-\"\n") &&
			strings.Contains(string(log), "/alice SUCCESS \"CN=alice\" \"CN=Client CA\" \"")
	})
}

// clientWithCertificate is an HTTPS client without keep-alive that trusts any
// server and offers c when asked for a certificate (none when c is nil).
func clientWithCertificate(c *tls.Certificate) *http.Client {
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DisableKeepAlives: true,
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true,
			GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
				if c == nil {
					return &tls.Certificate{}, nil
				}
				return c, nil
			}},
	}}
}
