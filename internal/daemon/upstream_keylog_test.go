package daemon_test

import (
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"fulcrum/internal/testutil"
)

// lockedBuffer is a key log the TLS test upstream's handshakes write
// from their connections' goroutines.
type lockedBuffer struct {
	mu    sync.Mutex // guards lines
	lines []string
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.lines = append(b.lines, strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

func (b *lockedBuffer) snapshot() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.lines)
}

// tlsKeyLogUpstream starts a TLS server that logs its handshakes' secrets
// into keys and answers every connection with a small HTTP/1.1 200 (what
// grpc and uwsgi make of it does not matter: their handshakes are done).
func tlsKeyLogUpstream(t *testing.T, dir string, keys *lockedBuffer) string {
	t.Helper()
	certFile, keyFile := testutil.WriteCert(t, dir, "up", testutil.ECDSA, "up.test")
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{pair}, KeyLogWriter: keys})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func(c net.Conn) {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(5 * time.Second))
				if err := c.(*tls.Conn).Handshake(); err != nil {
					return
				}
				buf := make([]byte, 4096)
				_, _ = c.Read(buf)
				_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nup\n")
			}(c)
		}
	}()
	return ln.Addr().String()
}

// TestUpstreamSSLKeyLog runs proxy_ssl_key_log, grpc_ssl_key_log and
// uwsgi_ssl_key_log (NGINX Plus 1.27.2) against a TLS upstream that keeps
// its own key log: the file fulcrum writes holds exactly the upstream's
// lines (as sets: client and server write the TLS 1.3 secrets in their own
// order), for a proxy_pass with and without variables, grpc_pass grpcs://
// and uwsgi_pass suwsgi://; a level without the directive writes none; the
// file is the owner's only.
func TestUpstreamSSLKeyLog(t *testing.T) {
	dir := t.TempDir()
	var keys lockedBuffer
	up := tlsKeyLogUpstream(t, dir, &keys)
	logFile := filepath.Join(dir, "up.keys")
	addr := startDaemon(t, dir, fmt.Sprintf(`
    access_log off;
    server { listen 127.0.0.1:0;
        proxy_ssl_session_reuse off;
        location /static { proxy_ssl_key_log up.keys; proxy_pass https://%[1]s; }
        location /vars { proxy_ssl_key_log up.keys; proxy_pass https://$arg_up; }
        location /grpc { grpc_ssl_key_log up.keys; grpc_pass grpcs://%[1]s; }
        location /uwsgi { uwsgi_ssl_key_log %[2]s; uwsgi_pass suwsgi://%[1]s; }
        location /none { proxy_pass https://%[1]s; }
    }`, up, logFile))
	read := func() []string {
		b, err := os.ReadFile(logFile)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		if len(b) == 0 {
			return nil
		}
		return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	}
	client := &http.Client{Timeout: 5 * time.Second}
	for _, path := range []string{"/static", "/vars?up=" + up, "/grpc", "/uwsgi", "/none"} {
		t.Run(path, func(t *testing.T) {
			before, logged := len(keys.snapshot()), len(read())
			resp, err := client.Get("http://" + addr + path)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			server := keys.snapshot()[before:]
			if len(server) == 0 {
				t.Fatalf("status %d: the upstream saw no handshake", resp.StatusCode)
			}
			got := read()[logged:]
			if path == "/none" {
				if len(got) != 0 {
					t.Fatalf("a level without proxy_ssl_key_log wrote:\n%s", strings.Join(got, "\n"))
				}
				return
			}
			slices.Sort(got)
			slices.Sort(server)
			if !slices.Equal(got, server) {
				t.Fatalf("up.keys:\n%s\nwant the upstream's lines:\n%s", strings.Join(got, "\n"), strings.Join(server, "\n"))
			}
		})
	}
	fi, err := os.Stat(logFile)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
}
