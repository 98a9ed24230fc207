package integration

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"fulcrum/internal/testutil"
)

// TestHTTP2ConfigTest runs fulcrum -t on HTTP/2 settings: the obsolete
// directives warn, in nginx's words where nginx has them; plain-text HTTP/2
// (h2c) does not; a bad value is an error with file and line.
func TestHTTP2ConfigTest(t *testing.T) {
	t.Parallel() // fulcrum -t runs in their own temp dirs
	dir := t.TempDir()
	conf := filepath.Join(dir, "fulcrum.conf")
	write := func(s string) {
		if err := os.WriteFile(conf, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("events {}\nhttp {\n    http2_max_field_size 4k;\n    server { listen 127.0.0.1:8080 http2; return 200; }\n}\n")
	r := runFulcrum(t, "-t", "-c", conf)
	for _, want := range []string{
		`the "http2_max_field_size" directive is obsolete, use the "large_client_header_buffers" directive instead in ` + conf + ":3",
	} {
		if r.code != 0 || !strings.Contains(r.stderr, want) {
			t.Errorf("exit %d, stderr %q\nwant %q", r.code, r.stderr, want)
		}
	}
	// "listen ... http2" without ssl is nginx 1.22's h2c, which fulcrum speaks.
	if strings.Contains(r.stderr, "h2c") {
		t.Errorf("stderr %q: h2c warned about", r.stderr)
	}
	write("events {}\nhttp {\n    http2_chunk_size 0;\n}\n")
	if r := runFulcrum(t, "-t", "-c", conf); r.code != 1 || !strings.Contains(r.stderr, "the http2 chunk size cannot be zero in "+conf+":3") {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
}

// TestHTTP2Serve runs the binary with "listen ... ssl http2" in front of a
// backend: requests over HTTP/2 are proxied, stub_status counts them, and
// a graceful stop (SIGQUIT) lets a stream in flight finish.
func TestHTTP2Serve(t *testing.T) {
	t.Parallel() // its own process, backends and temp dir; no upper time bound
	certDir := t.TempDir()
	cert, key := testutil.WriteCert(t, certDir, "site", testutil.ECDSA, "localhost", "127.0.0.1")
	got, release := make(chan struct{}), make(chan struct{})
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			close(got)
			<-release
		}
		fmt.Fprintf(w, "%s %s", r.Proto, r.URL.Path)
	}))
	t.Cleanup(backend.Close)
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	t.Cleanup(unblock) // before backend.Close, which waits for its handlers
	in := startFulcrum(t, fmt.Sprintf(`events {}
http {
    access_log off;
    server {
        listen 127.0.0.1:0 ssl http2;
        ssl_certificate %s;
        ssl_certificate_key %s;
        location / { proxy_pass http://%s; }
        location = /status { stub_status; }
    }
}
`, cert, key, backend.Listener.Addr()), 1)
	addr := in.listening()[0]
	pool := x509.NewCertPool()
	pem, err := os.ReadFile(cert)
	if err != nil {
		t.Fatal(err)
	}
	pool.AppendCertsFromPEM(pem)
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}}
	get := func(path string) (string, string, error) {
		resp, err := client.Get("https://" + addr + path)
		if err != nil {
			return "", "", err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		return resp.Proto, string(body), err
	}
	if proto, body, err := get("/a"); err != nil || proto != "HTTP/2.0" || body != "HTTP/1.1 /a" {
		t.Fatalf("got %s %q %v", proto, body, err)
	}
	if _, body, err := get("/status"); err != nil || !strings.HasPrefix(body, "Active connections: 1 \n") || !strings.Contains(body, "Writing: 1 ") {
		t.Errorf("stub_status over HTTP/2: %q %v", body, err)
	}

	done := make(chan string, 1)
	go func() {
		proto, body, err := get("/slow")
		done <- fmt.Sprint(proto, " ", body, " ", err)
	}()
	select {
	case <-got:
	case <-time.After(5 * time.Second):
		t.Fatal("the request did not reach the backend")
	}
	in.signal(syscall.SIGQUIT)
	waitFor(t, "the stop to begin", func() bool { return in.logged("gracefully shutting down") })
	unblock()
	select {
	case r := <-done:
		if r != "HTTP/2.0 HTTP/1.1 /slow <nil>" {
			t.Errorf("in-flight stream: %q", r)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the in-flight stream did not finish")
	}
	select {
	case <-in.exited:
	case <-time.After(5 * time.Second):
		t.Fatal("fulcrum did not exit after its last stream")
	}
}
