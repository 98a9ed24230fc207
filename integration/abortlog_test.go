package integration

import (
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// TestClientAbortLog: the info line of a plain HTTP/1.1 client that goes
// away while its request is proxied, as nginx 1.22.1 writes it (recorded on
// loopback with error_log info, a backend answering after 3 s or sending
// part of its body then pausing, python clients closing or resetting the
// socket): "epoll_wait() reported that client prematurely closed
// connection, so upstream connection is closed too", with " (104:
// Connection reset by peer)" after a reset, "while sending request to
// upstream" before the upstream answered (nginx keeps that action while
// it waits for the head) and "while reading upstream" once the body
// streams, with proxy_buffering on or off.
func TestClientAbortLog(t *testing.T) {
	for _, tt := range []struct {
		name, path string
		reset      bool
		want       string
	}{
		{"close before the answer", "/slow", false, epollLine("", "sending request to upstream", "/slow")},
		{"reset before the answer", "/slow", true, epollLine(" (104: Connection reset by peer)", "sending request to upstream", "/slow")},
		{"close while the body streams", "/partial", false, epollLine("", "reading upstream", "/partial")},
		{"reset while the body streams", "/partial", true, epollLine(" (104: Connection reset by peer)", "reading upstream", "/partial")},
		{"close while the body streams unbuffered", "/nobuf/partial", false, epollLine("", "reading upstream", "/nobuf/partial")},
		{"reset while the body streams unbuffered", "/nobuf/partial", true, epollLine(" (104: Connection reset by peer)", "reading upstream", "/nobuf/partial")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := startAbortBackend(t)
			backend := strings.TrimPrefix(b.srv.URL, "http://")
			in := startFulcrum(t, fmt.Sprintf(`
events {}
http {
    access_log off;
    server {
        listen 127.0.0.1:0;
        location / { proxy_pass http://%s; }
        location /nobuf/ { proxy_pass http://%[1]s/; proxy_buffering off; }
    }
}`, backend), 1)
			c, err := net.Dial("tcp", in.listening()[0])
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if _, err := fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", tt.path); err != nil {
				t.Fatal(err)
			}
			select {
			case <-b.arrived:
			case <-time.After(5 * time.Second):
				t.Fatal("request never reached the backend")
			}
			// Read what came, as the recording's clients did: a close with
			// unread bytes is a reset (an EPIPE on fulcrum's side).
			c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
			io.Copy(io.Discard, c)
			if tt.reset {
				c.(*net.TCPConn).SetLinger(0)
			}
			c.Close()
			select {
			case <-b.cancelled:
			case <-time.After(2 * time.Second):
				close(b.release)
				t.Fatal("the upstream request was not cut within 2 s of the client leaving")
			}
			// The unbuffered path serves the backend's URI without /nobuf.
			want := strings.Replace(tt.want, `upstream: "http://BACKEND/nobuf/`, `upstream: "http://BACKEND/`, 1)
			checkAbortLine(t, in, want, strings.NewReplacer("BACKEND", backend))
		})
	}
}
