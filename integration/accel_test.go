package integration

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"fulcrum/internal/testutil"
)

// TestXAccelRedirect: an upstream answering X-Accel-Redirect makes fulcrum
// drop its body and redirect internally, keeping only the upstream fields
// nginx keeps (Content-Type, Content-Disposition, Set-Cookie, Cache-Control,
// Expires, Accept-Ranges; proxy_hide_header does not apply to them). Expected
// answers from nginx 1.22.1 with the same backend: a file from an internal
// alias location (the upstream's Content-Type, both Accept-Ranges), a missing
// file and an unsafe URI (404, kept fields but Accept-Ranges), a named
// location (method and args kept), a URI with args (the target's args, GET),
// HEAD, and proxy_ignore_headers X-Accel-Redirect (passed as it is).
func TestXAccelRedirect(t *testing.T) {
	t.Parallel() // its own process, backends and temp dir; no upper time bound
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "a.txt"), []byte("hello file\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	targets := map[string]string{"/a": "/files/a.txt", "/m": "/files/missing.txt", "/n": "@named",
		"/r": "/args/x", "/rq": "/args/x?k=v", "/u": "/files/../files/a.txt", "/e": "/files/%61.txt",
		"/p": "/second/x"}
	backend := testutil.RawBackend(t, func(c net.Conn) {
		defer c.Close()
		req, err := http.ReadRequest(bufio.NewReader(c))
		if err != nil {
			return
		}
		body := "upstream body that should be discarded"
		fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Type: application/x-up\r\nContent-Length: %d\r\nX-Accel-Redirect: %s\r\n"+
			"Content-Disposition: attachment; filename=x.txt\r\nSet-Cookie: a=1\r\nCache-Control: private\r\n"+
			"Expires: Thu, 01 Jan 2030 00:00:00 GMT\r\nLast-Modified: Wed, 01 Jan 2020 00:00:00 GMT\r\nETag: \"up\"\r\n"+
			"Accept-Ranges: none\r\nX-Custom: c\r\nVary: Foo\r\nLink: <x>\r\n\r\n%s", len(body), targets[req.URL.Path], body)
	})
	second := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/second")
		w.Header().Set("Set-Cookie", "b=2")
		fmt.Fprintf(w, "second %s\n", r.URL.Path)
	}))
	t.Cleanup(second.Close)
	in := startFulcrum(t, fmt.Sprintf(`
events {}
http {
    server {
        listen 127.0.0.1:0;
        location /files/ { internal; alias %s/; }
        location /up/ { proxy_pass http://%s/; proxy_hide_header Set-Cookie; }
        location /ig/ { proxy_pass http://%[2]s/; proxy_ignore_headers X-Accel-Redirect; }
        location @named { return 200 "named uri=$uri args=$args method=$request_method\n"; }
        location /args/ { return 200 "args uri=$uri args=$args method=$request_method\n"; }
        location /second/ { internal; proxy_pass http://%s; }
    }
}`, dir, backend, strings.TrimPrefix(second.URL, "http://")), 1)
	front := in.listening()[0]
	kept := []string{"Content-Disposition: attachment; filename=x.txt", "Set-Cookie: a=1", "Cache-Control: private",
		"Expires: Thu, 01 Jan 2030 00:00:00 GMT"}
	tests := []struct {
		name, method, target string
		status               int
		body                 string
		with, without        []string
	}{
		{"file", "GET", "/up/a?orig=1", 200, "hello file\n",
			append([]string{"Content-Type: application/x-up", "Accept-Ranges: none", "Accept-Ranges: bytes", "Content-Length: 11"}, kept...),
			[]string{"ETag: \"up\"", "Last-Modified: Wed, 01 Jan 2020", "X-Custom: c", "Vary: Foo", "Link: <x>", "X-Accel-Redirect"}},
		{"escaped file", "GET", "/up/e", 200, "hello file\n", []string{"Content-Type: application/x-up"}, nil},
		{"HEAD", "HEAD", "/up/a", 200, "", append([]string{"Content-Length: 11"}, kept...), []string{"X-Custom: c"}},
		{"missing file", "GET", "/up/m", 404, "404 Not Found", append([]string{"Content-Type: text/html"}, kept...),
			[]string{"Accept-Ranges", "X-Custom: c"}},
		{"unsafe URI", "GET", "/up/u", 404, "404 Not Found", kept, []string{"Accept-Ranges"}},
		{"named location", "POST", "/up/n?orig=1", 200, "named uri=/up/n args=orig=1 method=POST\n",
			append([]string{"Content-Type: application/x-up"}, kept...), nil},
		{"URI without args", "POST", "/up/r?orig=1", 200, "args uri=/args/x args= method=GET\n", kept, nil},
		{"URI with args", "GET", "/up/rq?orig=1", 200, "args uri=/args/x args=k=v method=GET\n", kept, nil},
		{"ignored", "GET", "/ig/a", 200, "upstream body that should be discarded",
			[]string{"X-Custom: c", "ETag: \"up\"", "Content-Type: application/x-up"}, []string{"X-Accel-Redirect"}},
		// A proxied target's Content-Type replaces the kept one (nginx's
		// headers_out.content_type has one value); its Set-Cookie joins.
		{"proxied target", "GET", "/up/p", 200, "second /second/x\n",
			[]string{"Content-Type: text/second", "Set-Cookie: a=1", "Set-Cookie: b=2"}, []string{"Content-Type: application/x-up"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, head, body := rawRequest(t, front, tt.method, tt.target)
			if status != tt.status || !strings.Contains(body, tt.body) || tt.body == "" && body != "" {
				t.Errorf("%s %s: %d %q, want %d with %q", tt.method, tt.target, status, body, tt.status, tt.body)
			}
			for _, w := range tt.with {
				if !slices.ContainsFunc(head, func(l string) bool { return strings.HasPrefix(l, w) }) {
					t.Errorf("no %q in %q", w, head)
				}
			}
			// nginx never sends two (headers_out.content_type has one value).
			if n := len(slices.DeleteFunc(slices.Clone(head), func(l string) bool { return !strings.HasPrefix(l, "Content-Type:") })); n > 1 {
				t.Errorf("%d Content-Type fields in %q", n, head)
			}
			for _, w := range tt.without {
				if slices.ContainsFunc(head, func(l string) bool { return strings.HasPrefix(l, w) }) {
					t.Errorf("%q in %q", w, head)
				}
			}
		})
	}
}

// rawRequest sends method target (with a small body for POST) on a new
// connection and returns the status, the head's field lines and the body.
func rawRequest(t *testing.T, addr, method, target string) (int, []string, string) {
	t.Helper()
	if method == "POST" {
		return rawExchange(t, addr, method, target, "Content-Length: 7\r\n", "foo=bar")
	}
	return rawExchange(t, addr, method, target, "", "")
}
