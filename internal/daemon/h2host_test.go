package daemon_test

import (
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestHTTP2AuthorityHost: over HTTP/2, $http_host is the request's
// :authority, as nginx 1.22.1 makes a Host field of it, so the common
// "proxy_set_header Host $http_host;" sends it upstream (recorded with
// curl --http2: the backend got "Host: a.test:PORT", and "zz.test" for
// -H "Host: zz.test", which curl sends as :authority). fulcrum's was
// empty and the backend got no Host field at all.
func TestHTTP2AuthorityHost(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "host=%q", r.Host)
	}))
	t.Cleanup(backend.Close)
	dir := t.TempDir()
	certs, pool := h2Site(t, dir)
	addr := startDaemon(t, dir, fmt.Sprintf(`
    server {
        listen 127.0.0.1:0 ssl http2; %s
        location /p { proxy_pass http://%s; proxy_set_header Host $http_host; }
        location /v { return 200 "http_host=[$http_host]"; }
    }`, certs, backend.Listener.Addr()))
	c := h2Client(t, addr, pool, false)
	for _, tt := range []struct{ path, host, want string }{
		{"/v", "", "http_host=[a.test]"},
		{"/v", "zz.test", "http_host=[zz.test]"},
		{"/p", "", `host="a.test"`},
		{"/p", "zz.test:8443", `host="zz.test:8443"`},
	} {
		req, err := http.NewRequest(http.MethodGet, "https://a.test"+tt.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = tt.host
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body [256]byte
		n, _ := resp.Body.Read(body[:])
		resp.Body.Close()
		if resp.ProtoMajor != 2 || string(body[:n]) != tt.want {
			t.Errorf("%s Host %q: %s %q, want HTTP/2 and %q", tt.path, tt.host, resp.Proto, body[:n], tt.want)
		}
	}
}

// TestHTTP2BodyLength: over HTTP/2, $request_length counts the body a
// location reads (a proxied one) and not one it never reads (return), and
// a body sent without content-length has its size in $content_length
// once read, as nginx 1.22.1 logged them (recorded with curl --http2 and
// 1000-byte bodies: a proxied one with content-length logged
// $request_length 1069, a proxied one without it $content_length 1000,
// the same to a return "-" and the head alone). fulcrum counted the head
// alone and logged "-". (The head's part differs: nginx counts its HPACK
// bytes, fulcrum the names and values; see docs/directives.md.)
func TestHTTP2BodyLength(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		fmt.Fprintf(w, "got %d", n)
	}))
	t.Cleanup(backend.Close)
	dir := t.TempDir()
	certs, pool := h2Site(t, dir)
	logPath := filepath.Join(dir, "len.log")
	addr := startDaemon(t, dir, fmt.Sprintf(`
    log_format len '$uri $request_length $content_length';
    server {
        listen 127.0.0.1:0 ssl http2; %s
        access_log %s len buffer=0;
        location /p { proxy_pass http://%s; }
        location /v { return 200 ok; }
    }`, certs, logPath, backend.Listener.Addr()))
	c := h2Client(t, addr, pool, false)
	body := strings.Repeat("a", 1000)
	for _, tt := range []struct {
		path  string
		sized bool
		read  bool   // the body counts in $request_length
		cl    string // $content_length
	}{
		{"/p1", true, true, "1000"},
		{"/p2", false, true, "1000"},
		{"/v1", true, false, "1000"},
		{"/v2", false, false, "-"},
	} {
		var rd io.Reader = strings.NewReader(body)
		if !tt.sized {
			rd = io.MultiReader(rd) // no length: none sent
		}
		req, err := http.NewRequest(http.MethodPost, "https://a.test"+tt.path, rd)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		line := waitLogLine(t, logPath, tt.path+" ")
		var uri, cl string
		var length int
		if _, err := fmt.Sscanf(line, "%s %d %s", &uri, &length, &cl); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		if read := length > 1000; read != tt.read || cl != tt.cl {
			t.Errorf("%s: $request_length %d (body counted %v), $content_length %s; want body counted %v, %s", tt.path, length, read, cl, tt.read, tt.cl)
		}
	}
}

// waitLogLine waits for the line of path that starts with prefix.
func waitLogLine(t *testing.T, path, prefix string) string {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for {
		data, _ := os.ReadFile(path)
		for _, l := range strings.Split(string(data), "\n") {
			if strings.HasPrefix(l, prefix) {
				return l
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no line %q... in %s:\n%s", prefix, path, data)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestHTTP2RefusedSNIServer: an HTTP/2 request refused before its host
// counts (a :path above the root, a method nginx does not take) is
// answered and logged by the server the connection's SNI chose, as nginx
// 1.22.1 does (recorded with curl --http2 and SNI b.test, a.test the
// default server: b.test's add_header field and "server: b.test", the
// path's line "client sent invalid request while reading client request
// headers", without the request, which nginx has not made yet). fulcrum
// used the default server, said "request line" and named the request.
func TestHTTP2RefusedSNIServer(t *testing.T) {
	dir := t.TempDir()
	a, b := tlsSites(t, dir)
	addr := startDaemonLevel(t, dir, "info", fmt.Sprintf(`
    access_log off;
    server { listen 127.0.0.1:0 ssl http2 default_server; server_name a.test; %s add_header X-Srv a always; }
    server { listen 127.0.0.1:0 ssl http2; server_name b.test; %s add_header X-Srv b always; }`, a, b))
	tr := &http.Transport{
		TLSClientConfig:   &tls.Config{ServerName: "b.test", InsecureSkipVerify: true},
		ForceAttemptHTTP2: true,
	}
	t.Cleanup(tr.CloseIdleConnections)
	c := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	for _, tt := range []struct{ method, path, line string }{
		{"GET", "/../x", `client sent invalid request while reading client request headers, client: 127.0.0.1, server: b.test` + "\n"},
		{"get", "/x", `client sent invalid method: "get" while reading client request headers, client: 127.0.0.1, server: b.test` + "\n"},
	} {
		req, err := http.NewRequest(tt.method, "https://"+addr+tt.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = "b.test"
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.ProtoMajor != 2 || resp.StatusCode != 400 || resp.Header.Get("X-Srv") != "b" {
			t.Errorf("%s %s: %s %d X-Srv %q, want HTTP/2 400 b", tt.method, tt.path, resp.Proto, resp.StatusCode, resp.Header.Get("X-Srv"))
		}
		waitLogPartLine(t, filepath.Join(dir, "error.log"), tt.line)
	}
}

// waitLogPartLine waits until the file at path has a line that ends with
// text (text ends in "\n").
func waitLogPartLine(t *testing.T, path, text string) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for {
		data, _ := os.ReadFile(path)
		if strings.Contains(string(data), text) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no line ending %q in %s:\n%s", text, path, data)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
