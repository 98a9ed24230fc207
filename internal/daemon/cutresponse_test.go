package daemon_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/fcgi"
	"strings"
	"testing"
	"time"
)

// TestCutResponseReachesClient: a response whose upstream body breaks off
// (a FastCGI application that announces 100 bytes and sends fewer) under
// add_after_body, whose body of unknown length fulcrum held back for a
// Content-Length, reaches the client as its head and the bytes that came,
// then the connection's close, as nginx 1.22.1 sends it (recorded with
// nginx-tests' fastcgi_extra_data.t: "too short response", "empty too
// short response", HTTP/1.0). fulcrum closed the connection without
// sending anything.
func TestCutResponseReachesClient(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go fcgi.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Header().Set("Content-Length", "100")
		if r.URL.Path == "/short" {
			io.WriteString(w, "SEE-THIS\n")
		}
	}))
	addr := startDaemon(t, t.TempDir(), fmt.Sprintf(`
    access_log off;
    fastcgi_param REQUEST_URI $request_uri;
    fastcgi_param REQUEST_METHOD $request_method;
    fastcgi_param SERVER_PROTOCOL $server_protocol;
    server {
        listen 127.0.0.1:0;
        location / { fastcgi_pass %s; add_after_body /after; }
        location /after { return 200 ":after\n"; }
    }`, ln.Addr()))
	for _, tc := range []struct{ path, body string }{{"/short", "SEE-THIS\n"}, {"/empty", ""}} {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		fmt.Fprintf(c, "GET %s HTTP/1.0\r\nHost: a\r\n\r\n", tc.path)
		b, err := io.ReadAll(c)
		c.Close()
		if err != nil {
			t.Fatalf("%s: %v after %q", tc.path, err, b)
		}
		head, body, _ := strings.Cut(string(b), "\r\n\r\n")
		if !strings.HasPrefix(head, "HTTP/1.1 200 OK\r\n") || body != tc.body {
			t.Errorf("%s: %q, want a 200 head and the body %q (no :after)", tc.path, b, tc.body)
		}
	}
}
