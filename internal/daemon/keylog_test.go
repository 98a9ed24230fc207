package daemon_test

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"fulcrum/internal/testutil"
)

// TestSSLKeyLog runs ssl_key_log (NGINX Plus) over real TLS connections:
// the server writes the handshake's secrets in the NSS key log format, the
// very lines the client's own key log has (TLS 1.3 traffic secrets, TLS 1.2
// CLIENT_RANDOM), to the file of the server the SNI name chose, and none
// for a server without the directive. The file is the owner's only.
func TestSSLKeyLog(t *testing.T) {
	dir := t.TempDir()
	certA, keyA := testutil.WriteCert(t, dir, "a", testutil.ECDSA, "a.test")
	certB, keyB := testutil.WriteCert(t, dir, "b", testutil.ECDSA, "b.test")
	pool := x509.NewCertPool()
	for _, c := range []string{certA, certB} {
		pem, err := os.ReadFile(c)
		if err != nil {
			t.Fatal(err)
		}
		pool.AppendCertsFromPEM(pem)
	}
	logA := filepath.Join(dir, "a.keys")
	addr := startDaemon(t, dir, fmt.Sprintf(`
    access_log off;
    ssl_protocols TLSv1.2 TLSv1.3;
    server { listen 127.0.0.1:0 ssl; server_name a.test; ssl_certificate %s; ssl_certificate_key %s;
        ssl_key_log a.keys;
        location / { return 200 "a\n"; } }
    server { listen 127.0.0.1:0 ssl; server_name b.test; ssl_certificate %s; ssl_certificate_key %s;
        location / { return 200 "b\n"; } }`, certA, keyA, certB, keyB))
	get := func(name string, version uint16) string {
		t.Helper()
		var client bytes.Buffer
		c, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: pool, ServerName: name, MinVersion: version, MaxVersion: version, KeyLogWriter: &client})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: "+name+"\r\nConnection: close\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		reply, _ := io.ReadAll(c)
		if !strings.HasSuffix(string(reply), "\r\n\r\na\n") && !strings.HasSuffix(string(reply), "\r\n\r\nb\n") {
			t.Fatalf("reply %q", reply)
		}
		return client.String()
	}
	read := func() []string {
		b, err := os.ReadFile(logA)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	}
	var want []string
	for _, v := range []uint16{tls.VersionTLS13, tls.VersionTLS12} {
		client := get("a.test", v)
		if client == "" {
			t.Fatalf("the client logged no secrets")
		}
		want = append(want, strings.Split(strings.TrimSuffix(client, "\n"), "\n")...)
	}
	got := read()
	if !slices.Equal(got, want) {
		t.Fatalf("a.keys:\n%s\nwant the client's lines:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if !strings.HasPrefix(want[0], "CLIENT_HANDSHAKE_TRAFFIC_SECRET ") || !strings.HasPrefix(want[len(want)-1], "CLIENT_RANDOM ") {
		t.Errorf("lines %q: want TLS 1.3 secrets, then TLS 1.2's CLIENT_RANDOM", want)
	}
	fi, err := os.Stat(logA)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	get("b.test", tls.VersionTLS13)
	if after := read(); !slices.Equal(after, want) {
		t.Errorf("a handshake with b.test (no ssl_key_log) wrote to a.keys:\n%s", strings.Join(after[len(want):], "\n"))
	}
}
