package daemon_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"testing"

	"fulcrum/internal/testutil"
)

// TestUpstreamMoreThanContentLength checks a proxied response whose server
// sends more bytes than its Content-Length says, as nginx 1.22.1 answered
// it (recorded with proxy_buffering on and off): the client gets the
// length's bytes, and the error log has "upstream sent more data than
// specified in "Content-Length" header while reading upstream" at warn,
// naming the upstream.
func TestUpstreamMoreThanContentLength(t *testing.T) {
	backend := testutil.RawBackend(t, func(c net.Conn) {
		_, _ = testutil.ReadHead(bufio.NewReader(c))
		_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhelloEXTRA")
		_, _ = io.Copy(io.Discard, c)
	})
	dir := t.TempDir()
	addr := startDaemon(t, dir, fmt.Sprintf(`
    access_log off;
    server {
        listen 127.0.0.1:0;
        location /on/ { proxy_pass http://%[1]s; }
        location /off/ { proxy_pass http://%[1]s; proxy_buffering off; }
    }`, backend))
	for _, uri := range []string{"/on/x", "/off/x"} {
		t.Run(uri, func(t *testing.T) {
			c := testutil.SendRaw(t, addr, "GET "+uri+" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
			defer c.Close()
			resp, _ := io.ReadAll(c)
			if !bytes.HasPrefix(resp, []byte("HTTP/1.1 200 ")) || !bytes.HasSuffix(resp, []byte("\r\n\r\nhello")) {
				t.Fatalf("response %q, want 200 with the body hello", resp)
			}
			waitForLog(t, filepath.Join(dir, "error.log"), `warn upstream sent more data than specified in "Content-Length" header while reading upstream, client: 127.0.0.1, server: , request: "GET `+uri+` HTTP/1.1", upstream: "http://`+backend+uri+`", host: "x"`)
		})
	}
}
