package daemon_test

import (
	"bufio"
	"fmt"
	"net"
	"testing"

	"fulcrum/internal/testutil"
)

// cgiSpellingBackend starts an application speaking proto ("fastcgi",
// "scgi" or "uwsgi") that answers every request with head.
func cgiSpellingBackend(t *testing.T, proto, head string) string {
	return testutil.RawBackend(t, func(c net.Conn) {
		if _, _, err := readParamsAndBody(bufio.NewReader(c), proto); err != nil {
			return
		}
		if proto == "fastcgi" {
			c.Write(fcgiStdout([]byte(head), 0, 0, 0))
			return
		}
		c.Write([]byte(head))
	})
}

// TestCGIFieldSpelling: an application's fields reach the client in the
// order they came and spelt as they came, under fastcgi_pass, scgi_pass and
// uwsgi_pass, and a line that is a name alone is a field with an empty
// value: the heads nginx 1.22.1 sent for the same answers (recorded with a
// Python FastCGI, SCGI and uwsgi responder, Date and Server left out).
// fulcrum sent "X_a", "X_b_c", "X-Weird_case" and "Foo-Bar", sorted.
func TestCGIFieldSpelling(t *testing.T) {
	const head = "Content-Type: text/plain\r\nX_A: 1\r\nx_b_C: 2\r\nX-Weird_CASE: 3\r\nfoo-BAR: 4\r\nNocolon\r\n\r\nbody\n"
	f := cgiSpellingBackend(t, "fastcgi", head)
	s := cgiSpellingBackend(t, "scgi", head)
	u := cgiSpellingBackend(t, "uwsgi", head)
	addr := startDaemon(t, t.TempDir(), fmt.Sprintf(`
    access_log off;
    server { listen 127.0.0.1:0;
        location /f/ { fastcgi_pass %s; }
        location /s/ { scgi_pass %s; }
        location /u/ { uwsgi_pass %s; }
    }`, f, s, u))
	const want = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n" +
		"X_A: 1\r\nx_b_C: 2\r\nX-Weird_CASE: 3\r\nfoo-BAR: 4\r\nNocolon: \r\n\r\n5\r\nbody\n\r\n0\r\n\r\n"
	for _, path := range []string{"/f/x", "/s/x", "/u/x"} {
		got := rawExchange(t, addr, "GET "+path+" HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
		if got != want {
			t.Errorf("%s:\n%q\nwant (nginx 1.22.1's)\n%q", path, got, want)
		}
	}
}
