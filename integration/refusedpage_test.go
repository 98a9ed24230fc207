package integration

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestErrorPageForRefusedHeads: a head the strict reader refuses is answered
// with the error_page of the server it belongs to, as nginx 1.22.1 answered
// the same bytes (recorded on raw sockets against the same servers): the
// server its Host chose when the Host came before the fault, else the
// address's default server; only the server level's error_page counts; the
// target runs as any error_page target, and the connection closes after
// the answer, a pipelined request unanswered. nginx's 494 (fulcrum's 431) is
// caught by "error_page 494" and answered 400. The access log line is the
// answering location's, with its status and $uri.
func TestErrorPageForRefusedHeads(t *testing.T) {
	t.Parallel() // its own process, backends and temp dir; no upper time bound
	be := startBackend(t, "g")
	in := startFulcrum(t, `
events {}
http {
    log_format f '$server_name $status "$request" $uri $request_method';
    access_log %DIR%/all.log f flush=20ms;
    large_client_header_buffers 4 8k;
    server { listen 127.0.0.1:0 default_server; server_name a; location / { return 200 "a\n"; } }
    server { listen 127.0.0.1:0; server_name b; error_page 400 494 /e;
        location / { return 200 "b\n"; }
        location = /e { return 200 "custom b $status $request_method $uri\n"; } }
    server { listen 127.0.0.1:0; server_name c; root %DIR%/html; error_page 400 =200 /400.html; }
    server { listen 127.0.0.1:0; server_name d; error_page 400 @n;
        location @n { return 200 "named $status $request_method $uri\n"; } }
    server { listen 127.0.0.1:0; server_name e; error_page 400 http://example.com/; }
    server { listen 127.0.0.1:0; server_name f; root %DIR%/html; error_page 400 /400.html; }
    server { listen 127.0.0.1:0; server_name g; error_page 400 /p; location = /p { proxy_pass http://`+be.addr()+`; } }
    server { listen 127.0.0.1:0; server_name j;
        location / { error_page 400 /e; return 200 j; } location = /e { return 200 "j loc\n"; } }
    server { listen 127.0.0.1:0; server_name k; error_page 400 =201 /e; location = /e { return 200 "k $status\n"; } }
    server { listen 127.0.0.1:0; server_name l; error_page 400 /e; location = /e { return 404; } }

    server { listen 127.0.0.2:0 default_server; server_name h; error_page 400 414 501 494 505 /e;
        location = /e { return 200 "h $status $request_method $uri\n"; } }

    server { listen 127.0.0.3:0 default_server; server_name i; client_header_timeout 300ms; error_page 408 /e;
        location = /e { return 200 "i $status\n"; } }
}`, 3)
	html := filepath.Join(in.dir, "html")
	if err := os.MkdirAll(html, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(html, "400.html"), []byte("static 400 page\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// The listeners are reported in no fixed order.
	addrs := []string{
		strings.TrimPrefix(in.urlOn("127.0.0.1"), "http://"),
		strings.TrimPrefix(in.urlOn("127.0.0.2"), "http://"),
		strings.TrimPrefix(in.urlOn("127.0.0.3"), "http://"),
	}
	big := "X-Big: " + strings.Repeat("a", 9000) + "\r\n"
	host := func(h string) string { return "Host: " + h + "\r\n" }
	tests := []struct {
		name   string
		listen int // which address: 127.0.0.1, .2 or .3
		raw    string
		status int
		body   string
		header map[string]string // fields the answer must have ("" for none)
		log    string            // the access log line; "" not checked
	}{
		// The Host came before the fault: its server's error_page.
		{"Host then a line without a colon", 0, "GET /q?x=1 HTTP/1.1\r\n" + host("b") + "Bad Header\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
			400, "custom b 400 GET /e\n", map[string]string{"Content-Type": "text/plain"}, `b 400 "GET /q?x=1 HTTP/1.1" /e GET`},
		{"Host then a field over the buffers: error_page 494", 0, "GET /q HTTP/1.1\r\n" + host("b") + big + "\r\n",
			400, "custom b 400 GET /e\n", nil, `b 400 "GET /q HTTP/1.1" /e GET`},
		{"duplicate Host", 0, "GET /q HTTP/1.1\r\n" + host("b") + host("c") + "\r\n",
			400, "custom b 400 GET /e\n", nil, `b 400 "GET /q HTTP/1.1" /e GET`},
		{"invalid Content-Length: a URI target gets GET", 0, "POST /q HTTP/1.1\r\n" + host("b") + "Content-Length: x\r\n\r\n",
			400, "custom b 400 GET /e\n", nil, `b 400 "POST /q HTTP/1.1" /e GET`},
		{"HEAD: no body", 0, "HEAD /q HTTP/1.1\r\n" + host("b") + "Bad Header\r\n\r\n",
			400, "", map[string]string{"Content-Length": "21"}, `b 400 "HEAD /q HTTP/1.1" /e HEAD`},
		{"a Host that needs normalising", 0, "GET /z HTTP/1.1\r\nHost: B.\r\nBad Header\r\n\r\n",
			400, "custom b 400 GET /e\n", nil, ""},
		// The fault came before the Host: the default server, which has none.
		{"a field over the buffers before the Host", 0, "GET /q HTTP/1.1\r\n" + big + host("b") + "\r\n",
			431, "431 Request Header Fields Too Large", nil, `a 431 "GET /q HTTP/1.1" /q GET`},
		{"unknown Host", 0, "GET /z HTTP/1.1\r\n" + host("zz") + "Bad Header\r\n\r\n",
			400, "<title>400 Bad Request</title>", nil, `a 400 "GET /z HTTP/1.1" /z GET`},
		{"a request line nginx refuses goes to the default server", 0, "GET /../x HTTP/1.1\r\n" + host("b") + "\r\n",
			400, "<title>400 Bad Request</title>", nil, ""},
		// A status the server has no error_page for: the engine's page.
		{"unknown transfer coding without error_page 501", 0, "GET /q HTTP/1.1\r\n" + host("b") + "Transfer-Encoding: foo\r\n\r\n",
			501, "<title>501 Not Implemented</title>", nil, `b 501 "GET /q HTTP/1.1" /q GET`},
		// Every kind of target.
		{"=200 with a static file", 0, "GET /q HTTP/1.1\r\n" + host("c") + "Bad Header\r\n\r\n",
			200, "static 400 page\n", nil, `c 200 "GET /q HTTP/1.1" /400.html GET`},
		{"named location keeps the method", 0, "POST /q HTTP/1.1\r\n" + host("d") + "Content-Length: x\r\n\r\n",
			400, "named 400 POST /q\n", nil, `d 400 "POST /q HTTP/1.1" /q POST`},
		{"a URL: 302", 0, "GET /q HTTP/1.1\r\n" + host("e") + "Bad Header\r\n\r\n",
			302, "<title>302 Found</title>", map[string]string{"Location": "http://example.com/"}, `e 302 "GET /q HTTP/1.1" /q GET`},
		{"a static file with the error's status", 0, "GET /q HTTP/1.1\r\n" + host("f") + "Bad Header\r\n\r\n",
			400, "static 400 page\n", map[string]string{"Content-Type": "text/html", "Last-Modified": ""}, `f 400 "GET /q HTTP/1.1" /400.html GET`},
		{"proxy_pass", 0, "GET /q HTTP/1.1\r\n" + host("g") + "Bad Header\r\n\r\n",
			400, "g GET /p\n", nil, `g 400 "GET /q HTTP/1.1" /p GET`},
		{"a location's error_page does not count", 0, "GET /q HTTP/1.1\r\n" + host("j") + "Bad Header\r\n\r\n",
			400, "<title>400 Bad Request</title>", nil, `j 400 "GET /q HTTP/1.1" /q GET`},
		{"=201", 0, "GET /q HTTP/1.1\r\n" + host("k") + "Bad Header\r\n\r\n",
			201, "k 201\n", nil, `k 201 "GET /q HTTP/1.1" /e GET`},
		{"a target that fails answers its own error", 0, "GET /q HTTP/1.1\r\n" + host("l") + "Bad Header\r\n\r\n",
			404, "<title>404 Not Found</title>", nil, `l 404 "GET /q HTTP/1.1" /e GET`},
		// The default server's error_page for what it refuses.
		{"414", 1, "GET /" + strings.Repeat("a", 9000) + " HTTP/1.1\r\n" + host("h") + "\r\n",
			414, "h 414 GET /e\n", nil, ""},
		{"invalid method", 1, "G@T / HTTP/1.1\r\n" + host("h") + "\r\n",
			400, "h 400 GET /e\n", nil, `h 400 "G@T / HTTP/1.1" /e GET`},
		{"HTTP/2.0 on a request line", 1, "GET / HTTP/2.0\r\n" + host("h") + "\r\n",
			505, "h 505 GET /e\n", nil, `h 505 "GET / HTTP/2.0" /e GET`},
		{"no Host", 1, "GET /z HTTP/1.1\r\nX: y\r\n\r\n",
			400, "h 400 GET /e\n", nil, `h 400 "GET /z HTTP/1.1" /e GET`},
		{"unknown transfer coding", 1, "GET /z HTTP/1.1\r\n" + host("h") + "Transfer-Encoding: foo\r\n\r\n",
			501, "h 501 GET /e\n", nil, `h 501 "GET /z HTTP/1.1" /e GET`},
		{"a field over the buffers", 1, "GET /z HTTP/1.1\r\n" + host("h") + big + "\r\n",
			400, "h 400 GET /e\n", nil, `h 400 "GET /z HTTP/1.1" /e GET`},
		{"unsafe path", 1, "GET /../x HTTP/1.1\r\n" + host("h") + "\r\n",
			400, "h 400 GET /e\n", nil, `h 400 "GET /../x HTTP/1.1" /e GET`},
		// nginx closes a head that timed out without an answer, and its
		// error_page with it; fulcrum answers 408 with its own page.
		{"client_header_timeout", 2, "GET /t HTTP/1.1\r\n" + host("i"),
			408, "<title>408 Request Time-out</title>", nil, ""},
	}
	logPath := filepath.Join(in.dir, "all.log")
	logged := 0
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			head, body := refusedAnswer(t, addrs[tt.listen], tt.raw)
			if head == nil {
				return
			}
			if head.StatusCode != tt.status || !strings.Contains(body, tt.body) || tt.body == "" && body != "" {
				t.Errorf("got %d %q, want %d with %q", head.StatusCode, body, tt.status, tt.body)
			}
			if !head.Close {
				t.Error("no Connection: close")
			}
			for k, v := range tt.header {
				if got := head.Header.Get(k); got != v {
					t.Errorf("%s: %q, want %q", k, got, v)
				}
			}
			lines := waitLines(t, logPath, logged+1)
			logged = len(lines)
			if tt.log != "" && lines[len(lines)-1] != tt.log {
				t.Errorf("access log: %q, want %q", lines[len(lines)-1], tt.log)
			}
		})
	}
}

// refusedAnswer sends raw on a new connection to addr and reads until the
// server closes it: the one response there must be (nil after a failure),
// and its body. Bytes after the response fail the test (a pipelined
// request must stay unanswered), and so does a connection left open.
func refusedAnswer(t *testing.T, addr, raw string) (*http.Response, string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	all, err := io.ReadAll(c)
	if err != nil {
		t.Errorf("reading until the close: %v (got %q)", err, all)
		return nil, ""
	}
	br := bufio.NewReader(bytes.NewReader(all))
	resp, err := http.ReadResponse(br, &http.Request{Method: methodOf(raw)})
	if err != nil {
		t.Errorf("no response in %q: %v", all, err)
		return nil, ""
	}
	body, _ := io.ReadAll(resp.Body)
	if rest, _ := io.ReadAll(br); len(rest) > 0 {
		t.Errorf("more after the response: %q", rest)
	}
	return resp, string(body)
}

// methodOf is the method of a raw request, for reading its answer.
func methodOf(raw string) string {
	if m, _, ok := strings.Cut(raw, " "); ok && m == http.MethodHead {
		return m
	}
	return http.MethodGet
}

// TestErrorPageURLFieldOrder: the Location of an error_page URL follows
// Connection, for a refused head as for a 404, as nginx 1.22.1 writes a
// Location it did not make absolute itself (recorded on raw sockets).
func TestErrorPageURLFieldOrder(t *testing.T) {
	in := startFulcrum(t, `
events {}
http {
    server { listen 127.0.0.1:0; error_page 400 404 http://example.com/; }
}`, 1)
	tests := []struct{ name, raw, want string }{
		{"refused head", "GET /q HTTP/1.1\r\nHost: e\r\nBad Header\r\n\r\n", "\r\nConnection: close\r\nLocation: http://example.com/"},
		{"404", "GET /q HTTP/1.1\r\nHost: e\r\nConnection: close\r\n\r\n", "\r\nConnection: close\r\nLocation: http://example.com/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := net.Dial("tcp", in.listening()[0])
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			fmt.Fprint(c, tt.raw)
			_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
			all, err := io.ReadAll(c)
			if err != nil {
				t.Fatal(err)
			}
			head, _, _ := strings.Cut(string(all), "\r\n\r\n")
			if !strings.HasPrefix(head, "HTTP/1.1 302 ") || !strings.Contains(head, tt.want) {
				t.Errorf("head %q: want a 302 with %q", head, tt.want)
			}
		})
	}
}
