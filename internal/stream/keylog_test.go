package stream

import (
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"fulcrum/internal/testutil"
)

// keyLines collects the NSS key log lines a test peer's handshakes write.
type keyLines struct {
	mu    sync.Mutex // guards lines
	lines []string
}

func (k *keyLines) Write(p []byte) (int, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.lines = append(k.lines, strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

func (k *keyLines) sorted() []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return slices.Sorted(slices.Values(k.lines))
}

// fileLines are a key log file's lines, sorted.
func fileLines(t *testing.T, path string) []string {
	t.Helper()
	text := strings.TrimSuffix(readFile(t, path), "\n")
	if text == "" {
		return nil
	}
	return slices.Sorted(slices.Values(strings.Split(text, "\n")))
}

// TestStreamKeyLog checks the stream block's ssl_key_log (the server's
// handshakes with clients) and proxy_ssl_key_log (its handshakes with
// upstream servers), NGINX Plus's directives of nginx 1.27.2: the file
// holds the very lines the other end logs for the same handshakes, for
// TLS 1.2 and 1.3, created with mode 0600; without the directives nothing
// is logged.
func TestStreamKeyLog(t *testing.T) {
	dir := t.TempDir()
	writeCert(t, dir)
	pki := newUpstreamPKI(t, dir)
	upKeys := &keyLines{}
	pair, err := tls.X509KeyPair(pki.goodCert, pki.goodKey)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	upCfg := &tls.Config{Certificates: []tls.Certificate{pair}, KeyLogWriter: upKeys}
	testutil.Serve(t, ln, func(c net.Conn) {
		tc := tls.Server(c, upCfg)
		defer tc.Close()
		_ = tc.SetDeadline(time.Now().Add(10 * time.Second))
		_, _ = io.Copy(tc, tc)
	})
	for _, version := range []string{"TLSv1.2", "TLSv1.3"} {
		t.Run(version, func(t *testing.T) {
			sub := t.TempDir()
			_, addr := start(t, load(t, sub, fmt.Sprintf(`ssl_key_log %%DIR%%/client.keys;
server { listen 127.0.0.1:0 ssl; ssl_certificate %[1]s/cert.pem; ssl_certificate_key %[1]s/key.pem; ssl_protocols %[2]s;
         proxy_pass %[3]s; proxy_ssl on; proxy_ssl_protocols %[2]s; proxy_ssl_key_log %%DIR%%/up.keys; }`, dir, version, ln.Addr())))
			clientKeys := &keyLines{}
			upBefore := len(upKeys.sorted())
			if got := tlsAsk(addr, &tls.Config{InsecureSkipVerify: true, KeyLogWriter: clientKeys}); got != "x" {
				t.Fatalf("answer %q, want the upstream's echo", got)
			}
			want := 1
			if version == "TLSv1.3" {
				want = 4
			}
			if got := clientKeys.sorted(); len(got) != want || !slices.Equal(fileLines(t, filepath.Join(sub, "client.keys")), got) {
				t.Errorf("ssl_key_log %q, want the client's %q", fileLines(t, filepath.Join(sub, "client.keys")), got)
			}
			up := upKeys.sorted()
			if len(up)-upBefore != want || len(fileLines(t, filepath.Join(sub, "up.keys"))) != want {
				t.Fatalf("proxy_ssl_key_log has %d lines, the upstream logged %d, want %d", len(fileLines(t, filepath.Join(sub, "up.keys"))), len(up)-upBefore, want)
			}
			for _, l := range fileLines(t, filepath.Join(sub, "up.keys")) {
				if !slices.Contains(up, l) {
					t.Errorf("proxy_ssl_key_log line %q is not the upstream's", l)
				}
			}
			for _, name := range []string{"client.keys", "up.keys"} {
				fi, err := os.Stat(filepath.Join(sub, name))
				if err != nil {
					t.Fatal(err)
				}
				if fi.Mode().Perm() != 0o600 {
					t.Errorf("%s: mode %v, want 0600", name, fi.Mode().Perm())
				}
			}
		})
	}
	t.Run("without the directives", func(t *testing.T) {
		sub := t.TempDir()
		_, addr := start(t, load(t, sub, fmt.Sprintf(`server { listen 127.0.0.1:0 ssl; ssl_certificate %[1]s/cert.pem; ssl_certificate_key %[1]s/key.pem;
         proxy_pass %[2]s; proxy_ssl on; }`, dir, ln.Addr())))
		if got := tlsAsk(addr, &tls.Config{InsecureSkipVerify: true}); got != "x" {
			t.Fatalf("answer %q", got)
		}
		if entries, _ := os.ReadDir(sub); len(entries) != 1 { // f.conf
			t.Errorf("files %v, want only the configuration", entries)
		}
	})
}

// TestStreamSigalg checks $ssl_sigalg (nginx 1.29.3): the scheme the
// server signed a new session's handshake with, for each certificate type;
// not found for a resumed
// session ("available only for new sessions") and on a plain connection.
// $ssl_client_sigalg is never found: crypto/tls does not tell it.
func TestStreamSigalg(t *testing.T) {
	dir := t.TempDir()
	writeCert(t, dir) // ECDSA P-256
	rsaCert, rsaKey := testutil.WriteCert(t, dir, "rsa", testutil.RSA, "localhost")
	_, addr := start(t, load(t, dir, fmt.Sprintf(`
server { listen 127.0.0.1:0 ssl; ssl_certificate %[1]s/cert.pem; ssl_certificate_key %[1]s/key.pem;
         ssl_certificate %[2]s; ssl_certificate_key %[3]s; return "[$ssl_sigalg][$ssl_client_sigalg]\n"; }`, dir, rsaCert, rsaKey)))
	tests := []struct {
		name   string
		client *tls.Config
		want   string
	}{
		{"ECDSA, TLS 1.3", &tls.Config{}, "[ecdsa_secp256r1_sha256][]"},
		{"ECDSA, TLS 1.2", &tls.Config{MaxVersion: tls.VersionTLS12}, "[ecdsa_secp256r1_sha256][]"},
		{"RSA, TLS 1.2", &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256}}, "[rsa_pss_rsae_sha256][]"},
	}
	for _, tt := range tests {
		tt.client.InsecureSkipVerify = true
		if got := tlsAsk(addr, tt.client); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
	resume := &tls.Config{InsecureSkipVerify: true, ClientSessionCache: tls.NewLRUClientSessionCache(1)}
	if got := tlsAsk(addr, resume); got != "[ecdsa_secp256r1_sha256][]" {
		t.Errorf("new session: %q", got)
	}
	if got := tlsAsk(addr, resume); got != "[][]" {
		t.Errorf("resumed session: %q, want nothing signed", got)
	}
}

// TestCheckKeyLog: a configuration check (fulcrum -t) of ssl_key_log and
// proxy_ssl_key_log opens the files to report an error a start would
// meet, and does not crash: it dereferenced the check's absent file set.
func TestCheckKeyLog(t *testing.T) {
	dir := t.TempDir()
	writeCert(t, dir)
	body := func(keys string) string {
		return fmt.Sprintf(`ssl_key_log %[2]s;
server { listen 127.0.0.1:0 ssl; ssl_certificate %[1]s/cert.pem; ssl_certificate_key %[1]s/key.pem;
         proxy_pass 127.0.0.1:9; proxy_ssl on; proxy_ssl_key_log %[1]s/up.keys; }`, dir, keys)
	}
	if err := Check(load(t, dir, body(filepath.Join(dir, "client.keys")))); err != nil {
		t.Errorf("check: %v", err)
	}
	err := Check(load(t, dir, body(filepath.Join(dir, "missing", "client.keys"))))
	if err == nil || !strings.Contains(err.Error(), "cannot open ssl_key_log file") {
		t.Errorf("check with a key log in a missing directory: %v", err)
	}
}
