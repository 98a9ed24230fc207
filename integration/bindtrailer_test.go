package integration

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"testing"
	"time"
)

// TestProxyBindAndTrailers runs the real binary with proxy_bind (a fixed
// loopback address and a variable one; Linux gives 127.0.0.1 the whole
// 127.0.0.0/8) and add_trailer: the backend reports the peer address it
// saw, and the client reads the trailer section off the socket, the
// upstream's Content-Length turned into chunked framing as nginx 1.22 does,
// $upstream_response_time evaluated at the end. An address fulcrum cannot
// bind is nginx's 500 with its crit line.
func TestProxyBindAndTrailers(t *testing.T) {
	b := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, _ := net.SplitHostPort(r.RemoteAddr)
		w.Header().Set("Content-Length", fmt.Sprint(len(host)))
		io.WriteString(w, host)
	}))
	t.Cleanup(b.Close)
	in := startFulcrum(t, fmt.Sprintf(`
events {}
http {
    access_log off;
    server {
        listen 127.0.0.1:0;
        proxy_bind 127.0.0.2;
        add_trailer X-Upstream-Time $upstream_response_time;
        location / { proxy_pass http://%[1]s; }
        location /var/ { proxy_bind $arg_from; proxy_pass http://%[1]s; }
        location /bad/ { proxy_bind 192.0.2.1; proxy_pass http://%[1]s; }
    }
}
`, b.Listener.Addr()), 1)
	addr := in.listening()[0]
	pattern := func(peer string) *regexp.Regexp {
		return regexp.MustCompile(`^HTTP/1\.1 200 OK\r\n(?:[^\r]+\r\n)*Transfer-Encoding: chunked\r\n(?:[^\r]+\r\n)*\r\n` +
			fmt.Sprintf("%x", len(peer)) + `\r\n` + regexp.QuoteMeta(peer) + `\r\n0\r\nX-Upstream-Time: \d+\.\d{3}\r\n\r\n$`)
	}
	cases := []struct {
		path string
		want *regexp.Regexp
	}{
		{"/", pattern("127.0.0.2")},
		{"/var/?from=127.0.0.9", pattern("127.0.0.9")},
		{"/var/", pattern("127.0.0.1")},
		{"/bad/", regexp.MustCompile(`^HTTP/1\.1 500 Internal Server Error\r\n`)},
	}
	for _, tc := range cases {
		c, err := net.DialTimeout("tcp", addr, 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", tc.path)
		got, err := io.ReadAll(c)
		c.Close()
		if err != nil || !tc.want.Match(got) {
			t.Errorf("GET %s: %q (%v), want %s", tc.path, got, err, tc.want)
		}
	}
	waitFor(t, "the crit line", func() bool {
		return in.logged("[crit]") && in.logged("bind(192.0.2.1) failed (99: Cannot assign requested address) while connecting to upstream")
	})
}
