package integration

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"fulcrum/internal/testutil"
)

// TestTLSConfigTest runs fulcrum -t on broken TLS settings: each names the
// file and line, in nginx's words where nginx has them, with a hint.
func TestTLSConfigTest(t *testing.T) {
	t.Parallel() // fulcrum -t runs in their own temp dirs
	dir := t.TempDir()
	cert, key := testutil.WriteCert(t, dir, "site", testutil.ECDSA, "a.test")
	_, otherKey := testutil.WriteCert(t, dir, "other", testutil.ECDSA, "b.test")
	server := func(lines string) string {
		return "events {}\nhttp {\n    server {\n        listen 127.0.0.1:8443 ssl;\n        " + lines + "\n    }\n}\n"
	}
	tests := []struct{ name, conf, emerg, hint string }{
		{"no certificate", server("return 200;"), `no "ssl_certificate" is defined for the "listen ... ssl" directive in %s:3`, "add ssl_certificate"},
		{"missing file", server("ssl_certificate " + dir + "/nope.pem; ssl_certificate_key " + key + ";"),
			`cannot load certificate "` + dir + `/nope.pem": BIO_new_file() failed (SSL: error:80000002:system library::No such file or directory:calling fopen(` + dir + "/nope.pem" + `, r) error:10000080:BIO routines::no such file) in %s:5`, "check the path"},
		{"key of another certificate", server("ssl_certificate " + cert + "; ssl_certificate_key " + otherKey + ";"),
			`cannot load certificate "` + cert + `" with key "` + otherKey + `": tls: private key does not match public key in %s:5`, "the key is not the certificate's"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conf := filepath.Join(t.TempDir(), "fulcrum.conf")
			if err := os.WriteFile(conf, []byte(tt.conf), 0o644); err != nil {
				t.Fatal(err)
			}
			r := runFulcrum(t, "-t", "-c", conf)
			want := "fulcrum: [emerg] " + fmt.Sprintf(tt.emerg, conf)
			if r.code != 1 || !strings.HasPrefix(r.stderr, want) || !strings.Contains(r.stderr, tt.hint) {
				t.Errorf("exit %d, stderr %q\nwant %q..., %q", r.code, r.stderr, want, tt.hint)
			}
		})
	}
	ok := filepath.Join(t.TempDir(), "fulcrum.conf")
	if err := os.WriteFile(ok, []byte(server("ssl_certificate "+cert+"; ssl_certificate_key "+key+";")), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := runFulcrum(t, "-t", "-c", ok); r.code != 0 {
		t.Errorf("a good pair: exit %d, %s", r.code, r.stderr)
	}
}

// TestTLSServe runs the binary with an ssl listener in front of a backend:
// HTTPS with a client that trusts the certificate, keep-alive, $scheme sent
// upstream, proxy_redirect default and absolute redirects in https, plain HTTP
// answered 400, and a reload that swaps the certificate.
func TestTLSServe(t *testing.T) {
	certDir := t.TempDir()
	cert, key := testutil.WriteCert(t, certDir, "site", testutil.ECDSA, "localhost", "127.0.0.1")
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/moved" {
			http.Redirect(w, r, "http://"+r.Host+"/there", http.StatusFound)
			return
		}
		fmt.Fprintf(w, "proto=%s", r.Header.Get("X-Forwarded-Proto"))
	}))
	t.Cleanup(backend.Close)
	conf := fmt.Sprintf(`events {}
http {
    access_log off;
    server {
        listen 127.0.0.1:0 ssl;
        ssl_certificate %s;
        ssl_certificate_key %s;
        location / { proxy_pass http://%s; proxy_set_header X-Forwarded-Proto $scheme; }
        location = /self { return 301 /elsewhere; }
    }
}
`, cert, key, backend.Listener.Addr())
	in := startFulcrum(t, conf, 1)
	addr := in.listening()[0]

	pool := x509.NewCertPool()
	pem, err := os.ReadFile(cert)
	if err != nil {
		t.Fatal(err)
	}
	pool.AppendCertsFromPEM(pem)
	conns := 0
	client := &http.Client{
		Timeout:       5 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: pool},
			DialContext: func(ctx context.Context, network, a string) (net.Conn, error) {
				conns++
				var d net.Dialer
				return d.DialContext(ctx, network, a)
			},
		},
	}
	get := func(path string) (*http.Response, string) {
		t.Helper()
		resp, err := client.Get("https://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp, string(body)
	}
	for range 3 {
		if resp, body := get("/"); resp.StatusCode != 200 || body != "proto=https" {
			t.Fatalf("got %d %q", resp.StatusCode, body)
		}
	}
	if conns != 1 {
		t.Errorf("%d connections for 3 requests, want 1 (keep-alive)", conns)
	}
	if resp, _ := get("/moved"); resp.Header.Get("Location") != "https://"+addr+"/there" {
		t.Errorf("proxy_redirect default: Location %q", resp.Header.Get("Location"))
	}
	if resp, _ := get("/self"); resp.Header.Get("Location") != "https://"+addr+"/elsewhere" {
		t.Errorf("absolute redirect: Location %q", resp.Header.Get("Location"))
	}

	// plain HTTP on the ssl port
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(3 * time.Second))
	fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 400 || !strings.Contains(string(page), "The plain HTTP request was sent to HTTPS port") {
		t.Errorf("plain HTTP: %d %q", resp.StatusCode, page)
	}

	// a reload reads the certificate again
	testutil.WriteCert(t, certDir, "site", testutil.ECDSA, "renewed.test")
	in.signal(syscall.SIGHUP)
	waitFor(t, "the renewed certificate", func() bool {
		tc, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
		if err != nil {
			return false
		}
		defer tc.Close()
		return tc.ConnectionState().PeerCertificates[0].Subject.CommonName == "renewed.test"
	})
}
