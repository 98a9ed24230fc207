package integration

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	stdlog "log"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"fulcrum/internal/testutil"
)

// grpcTLSBackend starts a gRPC-style server over HTTP/2 and TLS (ALPN h2)
// with the certificate certPEM and key keyPEM. It requires a client
// certificate that clientCA signs (tls.RequireAndVerifyClientCert) and
// answers each call with one message, "NAME:CN" (CN: the client
// certificate's common name), and grpc-status 0.
func grpcTLSBackend(t *testing.T, name string, certPEM, keyPEM []byte, clientCA *testutil.CA) string {
	t.Helper()
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	clients := x509.NewCertPool()
	clients.AddCert(clientCA.Cert)
	s := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/grpc")
		w.Header().Set("Trailer", "Grpc-Status")
		w.Write(testutil.GRPCFrame(name + ":" + r.TLS.PeerCertificates[0].Subject.CommonName))
		w.Header().Set("Grpc-Status", "0")
	}))
	s.EnableHTTP2 = true
	s.TLS = &tls.Config{Certificates: []tls.Certificate{pair}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: clients}
	s.Config.ErrorLog = stdlog.New(io.Discard, "", 0) // refused handshakes are expected
	s.StartTLS()
	t.Cleanup(s.Close)
	return s.Listener.Addr().String()
}

// encryptKey encrypts a PEM private key with passphrase as openssl does by
// default (PKCS#8, AES-256).
func encryptKey(t *testing.T, keyPEM []byte, passphrase string) []byte {
	t.Helper()
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("no openssl to encrypt a key")
	}
	cmd := exec.Command("openssl", "pkey", "-aes256", "-passout", "pass:"+passphrase)
	cmd.Stdin = bytes.NewReader(keyPEM)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("openssl: %v", err)
	}
	return out
}

// grpcUnary makes one gRPC-style call over h2c to addr and returns the
// status, the message answered and the grpc-status trailer.
func grpcUnary(t *testing.T, addr, path string) (status int, msg, grpcStatus string) {
	t.Helper()
	tr := testutil.H2CTransport(addr)
	defer tr.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "POST", "http://grpc.test"+path, bytes.NewReader(testutil.GRPCFrame("ping")))
	req.Header.Set("Content-Type", "application/grpc")
	req.Header.Set("TE", "trailers")
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == 200 {
		msg, _ = testutil.ReadGRPCFrame(resp.Body)
	}
	io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, msg, resp.Trailer.Get("Grpc-Status")
}

// TestGRPCSSLClientCertificate runs the binary in front of grpcs://
// servers that require a client certificate: grpc_ssl_certificate (from
// http), its encrypted grpc_ssl_certificate_key (from server) opened with
// the second passphrase of grpc_ssl_password_file, is sent; grpc_ssl_crl
// with grpc_ssl_verify refuses a server whose certificate is revoked (502,
// nginx's log line) while a location without the CRL reaches it; and a
// reload rereads the certificate, key and CRL files written anew under the
// same names.
func TestGRPCSSLClientCertificate(t *testing.T) {
	t.Parallel() // its own process, backends and temp dir; no upper time bound
	dir := t.TempDir()
	upCA, clientCA := testutil.NewCA(t, "Upstream CA"), testutil.NewCA(t, "Client CA")
	good, revoked := big.NewInt(7), big.NewInt(8)
	backend := func(name string, serial *big.Int) string {
		certPEM, keyPEM := upCA.Issue(t, testutil.Leaf{Subject: pkix.Name{CommonName: "backend.test"}, Serial: serial,
			DNSNames: []string{"backend.test"}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
		return grpcTLSBackend(t, name, certPEM, keyPEM, clientCA)
	}
	goodAddr, revokedAddr := backend("good", good), backend("revoked", revoked)
	write := func(name string, data []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	writeClient := func(cn string) {
		certPEM, keyPEM := clientCA.Issue(t, testutil.Leaf{Subject: pkix.Name{CommonName: cn}})
		write("client.pem", certPEM)
		write("client.key", encryptKey(t, keyPEM, "s3cret"))
	}
	writeCRL := func(serials ...*big.Int) {
		write("crl.pem", upCA.CRL(t, time.Now().Add(-time.Hour), time.Now().Add(time.Hour), serials...))
	}
	writeClient("fulcrum-1")
	writeCRL(revoked)
	write("pw", []byte("wrong\ns3cret\n"))
	write("ca.pem", upCA.PEM)
	in := startFulcrum(t, fmt.Sprintf(`events {}
http {
    access_log off;
    grpc_ssl_certificate %[1]s/client.pem;
    grpc_ssl_password_file %[1]s/pw;
    server {
        listen 127.0.0.1:0 http2;
        grpc_ssl_certificate_key %[1]s/client.key;
        grpc_ssl_verify on;
        grpc_ssl_trusted_certificate %[1]s/ca.pem;
        grpc_ssl_name backend.test;
        location /good/ { grpc_ssl_crl %[1]s/crl.pem; grpc_pass grpcs://%[2]s; }
        location /revoked/ { grpc_ssl_crl %[1]s/crl.pem; grpc_pass grpcs://%[3]s; }
        location /unchecked/ { grpc_pass grpcs://%[3]s; }
    }
}
`, dir, goodAddr, revokedAddr), 1)
	addr := in.listening()[0]
	type call struct {
		path   string
		status int
		msg    string
	}
	check := func(when string, calls []call) {
		t.Helper()
		for _, c := range calls {
			status, msg, gs := grpcUnary(t, addr, c.path)
			if status != c.status || msg != c.msg || (status == 200 && gs != "0") {
				t.Errorf("%s: %s: %d %q grpc-status %q, want %d %q", when, c.path, status, msg, gs, c.status, c.msg)
			}
		}
	}
	check("at start", []call{
		{"/good/M", 200, "good:fulcrum-1"},
		{"/revoked/M", 502, ""},
		{"/unchecked/M", 200, "revoked:fulcrum-1"},
	})
	const revokedLine = "upstream SSL certificate verify error: (23:certificate revoked) while SSL handshaking to upstream"
	if !in.logged(revokedLine) || !in.logged(`upstream: "grpcs://`+revokedAddr) {
		t.Errorf("no error log line %q for %s", revokedLine, revokedAddr)
	}

	writeClient("fulcrum-2")
	writeCRL(revoked, good)
	in.signal(syscall.SIGHUP)
	waitFor(t, "the reload", func() bool { return in.countLogged("reconfiguring: done") >= 1 })
	check("after the reload", []call{
		{"/good/M", 502, ""},
		{"/unchecked/M", 200, "revoked:fulcrum-2"},
	})
	if n := in.countLogged(revokedLine); n < 2 {
		t.Errorf("%d log lines %q, want 2", n, revokedLine)
	}
}
