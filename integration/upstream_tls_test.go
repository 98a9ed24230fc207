package integration

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	stdlog "log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fulcrum/internal/testutil"
)

// startTLSBackend starts an HTTPS backend with a self-signed certificate for
// backend.test and 127.0.0.1, written to dir/backend.pem. It answers with the
// SNI name and Host it saw, and echoes lines after a 101 for "Upgrade: echo".
func startTLSBackend(t *testing.T, dir string) (addr, certFile string) {
	t.Helper()
	certFile, keyFile := testutil.WriteCert(t, dir, "backend", testutil.ECDSA, "backend.test", "127.0.0.1")
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") == "echo" {
			echoUpgrade(w)
			return
		}
		body, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "sni=%s host=%s body=%d", r.TLS.ServerName, r.Host, len(body))
	}))
	srv.Config.ErrorLog = stdlog.New(io.Discard, "", 0) // refused handshakes are expected
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{pair}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String(), certFile
}

// echoUpgrade switches to the "echo" protocol and echoes lines until EOF.
func echoUpgrade(w http.ResponseWriter) {
	c, rw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	defer c.Close()
	rw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n")
	rw.Flush()
	for {
		line, err := rw.ReadString('\n')
		if err != nil {
			return
		}
		rw.WriteString(line)
		rw.Flush()
	}
}

// TestTLSUpstreams runs the binary against an HTTPS backend: nginx's
// defaults (no SNI, no verification), SNI and verification with a trusted
// CA, an untrusted certificate (502 and nginx's log line), a POST body, and
// an upgraded connection over TLS.
func TestTLSUpstreams(t *testing.T) {
	dir := t.TempDir()
	addr, certFile := startTLSBackend(t, dir)
	otherCA, _ := testutil.WriteCert(t, dir, "other", testutil.ECDSA, "backend.test")
	in := startFulcrum(t, fmt.Sprintf(`
events {}
http {
    upstream backend.test { server %[1]s; }
    server {
        listen 127.0.0.1:0;
        location /defaults/ { proxy_pass https://%[1]s; }
        location /verified/ {
            proxy_ssl_server_name on;
            proxy_ssl_verify on;
            proxy_ssl_trusted_certificate %[2]s;
            proxy_pass https://backend.test;
        }
        location /untrusted/ {
            proxy_ssl_verify on;
            proxy_ssl_trusted_certificate %[3]s;
            proxy_pass https://backend.test;
        }
    }
}`, addr, certFile, otherCA), 1)
	client := newClient()
	tests := []struct {
		path string
		code int
		want string
	}{
		{"/defaults/", 200, "sni= host=" + addr + " body=0"},
		{"/verified/", 200, "sni=backend.test host=backend.test body=0"},
		{"/untrusted/", 502, ""},
	}
	for _, tt := range tests {
		code, body := get(t, client, in.url(0)+tt.path)
		if code != tt.code || !strings.Contains(body, tt.want) {
			t.Errorf("%s: %d %q, want %d with %q", tt.path, code, body, tt.code, tt.want)
		}
	}
	resp, err := client.Post(in.url(0)+"/defaults/", "text/plain", strings.NewReader(strings.Repeat("x", 10000)))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "body=10000") {
		t.Errorf("POST: %d %q", resp.StatusCode, body)
	}
	waitFor(t, "the error log to name the untrusted certificate", func() bool {
		return in.logged(`upstream SSL certificate verify error: (18:self-signed certificate) while SSL handshaking to upstream`) &&
			in.logged(`upstream: "https://`+addr+`/untrusted/"`)
	})
	t.Run("upgrade", func(t *testing.T) {
		c, err := net.DialTimeout("tcp", strings.TrimPrefix(in.url(0), "http://"), time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(2 * time.Second))
		fmt.Fprintf(c, "GET /defaults/ws HTTP/1.1\r\nHost: front.test\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
		br := bufio.NewReader(c)
		status, err := br.ReadString('\n')
		if err != nil || !strings.Contains(status, " 101 ") {
			t.Fatalf("status line %q, %v", status, err)
		}
		for line, _ := br.ReadString('\n'); line != "\r\n" && line != ""; line, _ = br.ReadString('\n') {
		}
		fmt.Fprintf(c, "ping\n")
		if got, err := br.ReadString('\n'); got != "ping\n" {
			t.Errorf("echo %q, %v", got, err)
		}
	})
}

// TestTLSUpstreamConfigTest: proxy_ssl_verify without a trusted certificate
// is refused at load in nginx's words.
func TestTLSUpstreamConfigTest(t *testing.T) {
	t.Parallel() // fulcrum -t runs in their own temp dirs
	conf := filepath.Join(t.TempDir(), "fulcrum.conf")
	src := "events {}\nhttp {\n    server {\n        listen 127.0.0.1:0;\n        proxy_ssl_verify on;\n        location / { proxy_pass https://127.0.0.1:8443; }\n    }\n}\n"
	if err := os.WriteFile(conf, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	r := runFulcrum(t, "-t", "-c", conf)
	want := "fulcrum: [emerg] no proxy_ssl_trusted_certificate for proxy_ssl_verify in " + conf + ":6"
	if r.code != 1 || !strings.HasPrefix(r.stderr, want) {
		t.Errorf("exit %d, stderr %q, want %q...", r.code, r.stderr, want)
	}
}
