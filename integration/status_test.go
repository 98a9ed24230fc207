package integration

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
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
