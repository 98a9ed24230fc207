package daemon_test

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestCutHeadRequestLength: a head that client_header_timeout or the
// client's close cuts short is logged (408, 400) with nginx 1.22.1's
// $request_length: the lines its parser took, each counted at its LF, so
// bytes after the last LF are not (recorded on raw sockets: "GET /b
// HTTP/1.1\r\nHo" is 17, a line without its LF 0). fulcrum counted every
// byte that had come: 19, and 16 for "GET /b HTTP/1.1\r".
func TestCutHeadRequestLength(t *testing.T) {
	cases := []struct {
		sent string
		want int
	}{
		{"GET /b HTTP/1.1\r\nHo", 17},
		{"GET /b HTTP/1.1\r\nHost: x\r\nX-A: 1", 26},
		{"GET /b HTTP/1.1\r\nHost: x\r\n", 26},
		{"GET /b HTTP/1.1\r\nHost: x\r\n\r", 26},
		{"GET /b HTT", 0},
		{"GET /b HTTP/1.1\r", 0},
		{"GET /b HTTP/1.1\r\n", 17},
		{"GET /b HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n", 34},
	}
	dir := t.TempDir()
	addr := startDaemon(t, dir, `
    log_format t '$remote_port $status $request_length';
    access_log `+dir+`/access.log t;
    client_header_timeout 1s;
    server {
        listen 127.0.0.1:0;
        location / { return 200 "ok\n"; }
    }`)
	want := map[string]string{} // by client port
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, close := range []bool{false, true} {
		for _, tc := range cases {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			status := "408"
			if close {
				status = "400"
			}
			mu.Lock()
			want[fmt.Sprint(c.LocalAddr().(*net.TCPAddr).Port)] = fmt.Sprintf("%s %d (%q)", status, tc.want, tc.sent)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				_ = c.SetDeadline(time.Now().Add(10 * time.Second))
				if _, err := c.Write([]byte(tc.sent)); err != nil {
					t.Error(err)
					return
				}
				if close {
					_ = c.(*net.TCPConn).CloseWrite()
				}
				_, _ = c.Read(make([]byte, 512)) // the answer, or the close
			}()
		}
	}
	wg.Wait()
	got := map[string]string{}
	waitWithin(t, 10*time.Second, "every line", func() bool {
		b, _ := os.ReadFile(filepath.Join(dir, "access.log"))
		for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			if port, rest, ok := strings.Cut(l, " "); ok {
				got[port] = rest
			}
		}
		return len(got) >= len(want)
	})
	for port, w := range want {
		status, length, _ := strings.Cut(w, " ")
		length, sent, _ := strings.Cut(length, " ")
		if g := got[port]; g != status+" "+length {
			t.Errorf("%s: logged %q, want %q", sent, g, status+" "+length)
		}
	}
}
