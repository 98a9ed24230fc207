package daemon_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"fulcrum/internal/testutil"
)

// TestUnbufferedBodyGoesOnAtOnce checks that with proxy_request_buffering
// off the head and the body's first bytes reach the server as they come,
// before the client sends the rest, as nginx 1.22.1 sent them (recorded: a
// client that sent 10 bytes of 20, then the rest a second later; the server
// got the head and the 10 bytes at once, for a Content-Length and for a
// chunked body). fulcrum held them in its 4 KiB write buffer until the
// body ended.
func TestUnbufferedBodyGoesOnAtOnce(t *testing.T) {
	got := make(chan string, 4)
	backend := testutil.RawBackend(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		head, err := testutil.ReadHead(br)
		if err != nil {
			return
		}
		first := make([]byte, 10)
		if strings.Contains(head, "chunked") {
			first = make([]byte, 15) // "a\r\n0123456789\r\n"
		}
		if _, err := io.ReadFull(br, first); err != nil {
			return
		}
		got <- string(first)
		rest := make([]byte, 64)
		for {
			n, err := br.Read(rest)
			if err != nil {
				return
			}
			if strings.Contains(string(rest[:n]), "j") {
				break
			}
		}
		_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n")
	})
	dir := t.TempDir()
	addr := startDaemon(t, dir, fmt.Sprintf(`
    access_log off;
    server {
        listen 127.0.0.1:0;
        location / { proxy_pass http://%s; proxy_request_buffering off; proxy_http_version 1.1; }
    }`, backend))
	for _, tc := range []struct {
		name, head, first, rest, want string
	}{
		{"length", "Content-Length: 20", "0123456789", "abcdefghij", "0123456789"},
		{"chunked", "Transfer-Encoding: chunked", "a\r\n0123456789\r\n", "a\r\nabcdefghij\r\n0\r\n\r\n", "a\r\n0123456789\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := testutil.SendRaw(t, addr, "POST /up HTTP/1.1\r\nHost: x\r\n"+tc.head+"\r\n\r\n"+tc.first)
			defer c.Close()
			select {
			case first := <-got:
				if first != tc.want {
					t.Fatalf("the server got %q first, want %q", first, tc.want)
				}
			case <-time.After(2 * time.Second):
				t.Fatal("the server got nothing of the body before its end")
			}
			_, _ = io.WriteString(c, tc.rest)
			_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
			resp, _ := io.ReadAll(c)
			if !strings.HasPrefix(string(resp), "HTTP/1.1 200 ") {
				t.Fatalf("response %q", resp)
			}
		})
	}
}
