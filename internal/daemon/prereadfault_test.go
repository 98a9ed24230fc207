package daemon_test

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestUnbufferedChunkedPrereadFault: with proxy_request_buffering off, a
// chunked body whose bytes that came with the head are already malformed
// is refused with 400 before an upstream is chosen, as nginx 1.22.1
// refuses its preread (recorded: "3\r\nabc\r\nzz\r\n" sent with the head
// is 400, "client sent invalid chunked body", $upstream_addr "-", with a
// dead upstream too; "zz\r\n" sent 300 ms after the first chunk is 502 with
// a dead upstream, whose connect failed first). Before, fulcrum connected
// first: 502 with a dead upstream, and a live one got the head and the
// first chunk.
func TestUnbufferedChunkedPrereadFault(t *testing.T) {
	dir := t.TempDir()
	logPath := filepath.Join(dir, "access.log")
	live, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	var accepted atomic.Int32
	go func() {
		for {
			c, err := live.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			c.Close()
		}
	}()
	addr := startDaemon(t, dir, fmt.Sprintf(`
	log_format t '$status $request_length "$request" $upstream_addr';
	server { listen 127.0.0.1:0; access_log %[1]s t buffer=0;
		location /dead { proxy_pass http://%[2]s; proxy_request_buffering off; proxy_http_version 1.1; }
		location /live { proxy_pass http://%[3]s; proxy_request_buffering off; proxy_http_version 1.1; }
	}`, logPath, deadAddr(t), live.Addr()))
	head := func(loc string) string {
		return "POST /" + loc + " HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
	}
	tests := []struct {
		name, req, logged string
	}{
		{"dead, a bad size line", head("dead") + "3\r\nabc\r\nzz\r\n", `400 60 "POST /dead HTTP/1.1" -`},
		{"dead, a bad data end", head("dead") + "3\r\nabc\r\n3\r\nabcX", `400 60 "POST /dead HTTP/1.1" -`},
		{"dead, a bad first line", head("dead") + "zz\r\n", `400 60 "POST /dead HTTP/1.1" -`},
		{"live, a bad size line", head("live") + "3\r\nabc\r\nzz\r\n", `400 60 "POST /live HTTP/1.1" -`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, _, _ := rawTalk(t, addr, tc.req, 3*time.Second)
			if want := "HTTP/1.1 400 Bad Request\r\n"; len(got) < len(want) || got[:len(want)] != want {
				t.Errorf("answer %q, want a 400", got)
			}
			waitLogged(t, logPath, tc.logged)
		})
	}
	if n := accepted.Load(); n != 0 {
		t.Errorf("the live upstream accepted %d connections, want none", n)
	}
}

// TestChunkedDataEndFaultAtOnce: a chunk's data followed by another byte
// than CR, the last byte the client sent, is refused at once with 400, as
// nginx 1.22.1 refuses it (recorded: "3\r\nabcX" after the head, buffered
// location: 400 "client sent invalid chunked body" at once). fulcrum
// waited for one more byte, up to client_body_timeout.
func TestChunkedDataEndFaultAtOnce(t *testing.T) {
	dir := t.TempDir()
	addr := startDaemon(t, dir, fmt.Sprintf(`
	server { listen 127.0.0.1:0; client_body_timeout 30s;
		location / { proxy_pass http://%s; }
	}`, echoBackend(t)))
	for _, body := range []string{"3\r\nabcX", "3\r\nabc\r\n3\r\nabcX"} {
		start := time.Now()
		got, _, _ := rawTalk(t, addr, "POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"+body, 5*time.Second)
		if want := "HTTP/1.1 400 Bad Request\r\n"; len(got) < len(want) || got[:len(want)] != want {
			t.Errorf("%q: answer %q after %v, want a 400 at once", body, got, time.Since(start))
		}
	}
}

// TestUnbufferedBodyToDeadUpstream: with proxy_request_buffering off and
// every attempt failed before reading the body, $request_length counts
// what came with the head, and the connection goes on only when that was
// the whole body, as nginx 1.22.1 (recorded: a body whole with the head,
// then a pipelined request: two 502s, 73; a first chunk with the head and
// the rest 300 ms later with a pipelined request: one 502, 68, the
// connection closed; the same with a Content-Length: one 502, 54). Before,
// fulcrum counted the head alone and read the rest to serve the pipelined
// request.
func TestUnbufferedBodyToDeadUpstream(t *testing.T) {
	dir := t.TempDir()
	logPath := filepath.Join(dir, "access.log")
	addr := startDaemon(t, dir, fmt.Sprintf(`
	log_format t '$status $request_length "$request"';
	server { listen 127.0.0.1:0; access_log %[1]s t buffer=0;
		location /dead { proxy_pass http://%[2]s; proxy_request_buffering off; proxy_http_version 1.1; }
	}`, logPath, deadAddr(t)))
	const next = "GET /dead2 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
	chunked := "POST /dead HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
	length := "POST /dead HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\n\r\n"
	tests := []struct {
		name    string
		parts   []string
		answers int
		logged  string
	}{
		{"chunked, whole with the head", []string{chunked + "3\r\nabc\r\n0\r\n\r\n" + next}, 2, `502 73 "POST /dead HTTP/1.1"`},
		{"chunked, the rest later", []string{chunked + "3\r\nabc\r\n", "0\r\n\r\n" + next}, 1, `502 68 "POST /dead HTTP/1.1"`},
		{"length, the rest later", []string{length + "abc", "def" + next}, 1, `502 54 "POST /dead HTTP/1.1"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(5 * time.Second))
			var got []byte
			for i, p := range tc.parts {
				if i > 0 {
					// The rest comes in a later read: after the first
					// answer, which the connect's failure sent.
					var first bytes.Buffer
					if ok, err := readUntil(c, &first, "</html>\r\n", time.Now().Add(5*time.Second)); !ok {
						t.Fatalf("first answer: %q, %v", first.Bytes(), err)
					}
					got = first.Bytes()
				}
				c.Write([]byte(p)) // may fail once the connection closed
			}
			rest, _ := io.ReadAll(c)
			got = append(got, rest...)
			if n := strings.Count(string(got), "HTTP/1.1 502 "); n != tc.answers {
				t.Errorf("%d answers, want %d:\n%s", n, tc.answers, got)
			}
			waitLogged(t, logPath, tc.logged)
		})
	}
}
