package integration

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"fulcrum/internal/testutil"
)

// rawHead is a response head as received: the status line and the fields.
type rawHead struct {
	statusLine string
	fields     http.Header
}

// readRawHead reads one response head and its Content-Length body from br,
// and returns the head and the body.
func readRawHead(t *testing.T, br *bufio.Reader) (rawHead, string) {
	t.Helper()
	line, err := br.ReadString('\n')
	if err != nil {
		t.Fatalf("reading the status line: %v", err)
	}
	h := rawHead{statusLine: strings.TrimSuffix(line, "\r\n"), fields: http.Header{}}
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("reading the head after %q: %v", h.statusLine, err)
		}
		if line == "\r\n" {
			break
		}
		name, value, _ := strings.Cut(strings.TrimSuffix(line, "\r\n"), ": ")
		h.fields.Add(name, value)
	}
	n, _ := strconv.Atoi(h.fields.Get("Content-Length"))
	body := make([]byte, n)
	if _, err := io.ReadFull(br, body); err != nil {
		t.Fatalf("reading the body of %q: %v", h.statusLine, err)
	}
	return h, string(body)
}

// rawConn is a client connection that sends requests as written.
type rawConn struct {
	c  net.Conn
	br *bufio.Reader
}

func dialRaw(t *testing.T, addr string) *rawConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	return &rawConn{c: c, br: bufio.NewReader(c)}
}

// do sends a GET for target and reads the response.
func (rc *rawConn) do(t *testing.T, method, target string) (rawHead, string) {
	t.Helper()
	if _, err := io.WriteString(rc.c, method+" "+target+" HTTP/1.1\r\nHost: a\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	return readRawHead(t, rc.br)
}

// TestUpstreamReasonPhrase: the client gets an upstream's status line as
// the upstream wrote it after the version, as nginx 1.22.1 passes it
// ("HTTP/1.1 200 Fine Thanks", "HTTP/1.1 302 Found" where nginx's own would
// be "Moved Temporarily"); fulcrum's own answers on the same connection keep
// fulcrum's phrases.
func TestUpstreamReasonPhrase(t *testing.T) {
	backend := testutil.RawBackend(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		for {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			// The path after /sl/ is the status line, '_' for a space.
			line, _ := url.PathUnescape(strings.TrimPrefix(req.URL.EscapedPath(), "/sl/"))
			line = strings.ReplaceAll(line, "_", " ")
			body := ""
			if !strings.Contains(line, " 204") {
				body = "back\n"
			}
			fmt.Fprintf(c, "%s\r\nContent-Length: %d\r\n\r\n%s", line, len(body), body)
		}
	})
	in := startFulcrum(t, fmt.Sprintf(`
events {}
http {
    server {
        listen 127.0.0.1:0;
        location /sl/ { proxy_pass http://%s; }
        location = /own { return 404; }
    }
}`, backend), 1)
	tests := []struct {
		upstream string // status line the upstream sends
		want     string // status line the client gets (nginx 1.22.1's)
	}{
		{"HTTP/1.1 200 Fine Thanks", "HTTP/1.1 200 Fine Thanks"},
		{"HTTP/1.0 404 Nope", "HTTP/1.1 404 Nope"},
		{"HTTP/1.1 302 Found", "HTTP/1.1 302 Found"},
		{"HTTP/1.1 405 Method Not Allowed", "HTTP/1.1 405 Method Not Allowed"},
		{"HTTP/1.1 503 Busy now", "HTTP/1.1 503 Busy now"},
		{"HTTP/1.1 299 Whatever", "HTTP/1.1 299 Whatever"},
		{"HTTP/1.1 200 OK  two", "HTTP/1.1 200 OK  two"},
		{"HTTP/1.1 200 Tab\there", "HTTP/1.1 200 Tab\there"},
		{"HTTP/1.1 204 Nothing", "HTTP/1.1 204 Nothing"},
		{"HTTP/1.1 200 ", "HTTP/1.1 200 "},
		// nginx passes "HTTP/1.1 200" without the space; fulcrum keeps the
		// space RFC 9112 requires.
		{"HTTP/1.1 200", "HTTP/1.1 200 "},
	}
	rc := dialRaw(t, in.listening()[0])
	for _, tt := range tests {
		head, _ := rc.do(t, "GET", "/sl/"+url.PathEscape(strings.ReplaceAll(tt.upstream, " ", "_")))
		if head.statusLine != tt.want {
			t.Errorf("upstream %q: client got %q, want %q", tt.upstream, head.statusLine, tt.want)
		}
		// The next response on the connection is fulcrum's own.
		if own, _ := rc.do(t, "GET", "/own"); own.statusLine != "HTTP/1.1 404 Not Found" {
			t.Errorf("after upstream %q: own answer %q", tt.upstream, own.statusLine)
		}
	}
}

// nginxSignature is the signature line of the pages nginx 1.22.1 sent for the
// sizes in TestOwnStatusLines.
const nginxSignature = "nginx/1.22.1"

// TestOwnStatusLines: fulcrum's own answers use nginx's reason phrases and
// pages: the status line, the page's title and heading, and its size (nginx
// 1.22.1's for the same request, its signature line aside). nginx closes the
// connection on a header timeout where fulcrum answers 408
// (http-hardening.md); that line has nginx's phrase for 408.
func TestOwnStatusLines(t *testing.T) {
	t.Parallel() // its own process, backends and temp dir; no upper time bound
	silent := testutil.RawBackend(t, func(c net.Conn) { io.Copy(io.Discard, c) })
	in := startFulcrum(t, fmt.Sprintf(`
events {}
http {
    client_header_timeout 300ms;
    large_client_header_buffers 2 1k;
    server {
        listen 127.0.0.1:0;
        location / { root %%DIR%%/www; }
        location = /small { client_max_body_size 5; return 200 "ok"; }
        location = /r302 { return 302 /x; }
        location = /r401 { return 401; }
        location = /r503 { return 503; }
        location = /r418 { return 418; }
        location = /r203 { return 203 "t"; }
        location /slow/ { proxy_pass http://%s; proxy_read_timeout 300ms; }
        location /dead/ { proxy_pass http://127.0.0.1:1; }
    }
}`, silent), 1)
	if err := os.MkdirAll(filepath.Join(in.dir, "www"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(in.dir, "www", "index.html"), []byte("hello index\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		request string
		status  string // the status line, nginx's
		title   string // the page's title and heading; "-": no body; "": not compared
		size    int    // nginx's page size with its signature; 0: not compared
	}{
		{"method not allowed", "DELETE /index.html HTTP/1.1\r\nHost: a\r\n\r\n", "HTTP/1.1 405 Not Allowed", "405 Not Allowed", 157},
		{"body too large", "POST /small HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n0123456789", "HTTP/1.1 413 Request Entity Too Large", "413 Request Entity Too Large", 183},
		{"URI too long", "GET /" + strings.Repeat("a", 3000) + " HTTP/1.1\r\nHost: a\r\n\r\n", "HTTP/1.1 414 Request-URI Too Large", "414 Request-URI Too Large", 177},
		// nginx's 416 page is its HTML page; fulcrum's body is still Go's text.
		{"range not satisfiable", "GET /index.html HTTP/1.1\r\nHost: a\r\nRange: bytes=1000-\r\n\r\n", "HTTP/1.1 416 Requested Range Not Satisfiable", "", 0},
		{"upstream timeout", "GET /slow/x HTTP/1.1\r\nHost: a\r\n\r\n", "HTTP/1.1 504 Gateway Time-out", "504 Gateway Time-out", 167},
		{"upstream refused", "GET /dead/x HTTP/1.1\r\nHost: a\r\n\r\n", "HTTP/1.1 502 Bad Gateway", "502 Bad Gateway", 157},
		{"return 302", "GET /r302 HTTP/1.1\r\nHost: a\r\n\r\n", "HTTP/1.1 302 Moved Temporarily", "302 Found", 145},
		{"return 401", "GET /r401 HTTP/1.1\r\nHost: a\r\n\r\n", "HTTP/1.1 401 Unauthorized", "401 Authorization Required", 179},
		{"return 503", "GET /r503 HTTP/1.1\r\nHost: a\r\n\r\n", "HTTP/1.1 503 Service Temporarily Unavailable", "503 Service Temporarily Unavailable", 197},
		{"return 418: no phrase, no page", "GET /r418 HTTP/1.1\r\nHost: a\r\n\r\n", "HTTP/1.1 418 ", "-", 0},
		{"return 203 with text: no phrase", "GET /r203 HTTP/1.1\r\nHost: a\r\n\r\n", "HTTP/1.1 203 ", "", 0},
		{"unknown transfer coding", "POST /small HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", "HTTP/1.1 501 Not Implemented", "501 Not Implemented", 165},
		{"HTTP/2.0 request line", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", "HTTP/1.1 505 HTTP Version Not Supported", "505 HTTP Version Not Supported", 187},
		{"header timeout", "GET / HTTP/1.1\r\nHost: a\r\n", "HTTP/1.1 408 Request Time-out", "408 Request Time-out", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := dialRaw(t, in.listening()[0])
			if _, err := io.WriteString(rc.c, tt.request); err != nil {
				t.Fatal(err)
			}
			head, body := readRawHead(t, rc.br)
			if head.statusLine != tt.status {
				t.Errorf("status line %q, want %q", head.statusLine, tt.status)
			}
			if tt.title != "" && tt.title != "-" && (!strings.Contains(body, "<title>"+tt.title+"</title>") || !strings.Contains(body, "<h1>"+tt.title+"</h1>")) {
				t.Errorf("page %q, want title and heading %q", body, tt.title)
			}
			if tt.title == "-" && (body != "" || head.fields.Get("Content-Type") != "") {
				t.Errorf("body %q of type %q, want none", body, head.fields.Get("Content-Type"))
			}
			if sig := head.fields.Get("Server"); tt.size != 0 && len(body) != tt.size-len(nginxSignature)+len(sig) {
				t.Errorf("page of %d bytes with signature %q, nginx's is %d with %q", len(body), sig, tt.size, nginxSignature)
			}
		})
	}
}
