package daemon_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"fulcrum/internal/testutil"
)

// TestMirrorOutlivesClient checks that a mirror subrequest goes on after
// its client left, as nginx 1.22.1 runs it (recorded: a mirror backend that
// answers after 2 s, curl gone after the main answer; the mirror got its
// answer and the request was logged at 2.06 s, no "client prematurely
// closed connection" line): the mirror's backend below keeps its
// connection for 1.5 s after the client left, then answers.
func TestMirrorOutlivesClient(t *testing.T) {
	t.Parallel() // its own daemon and backends; waits on timers, no upper time bound
	const hold = 1500 * time.Millisecond
	outcome := make(chan string, 1)
	shadow := testutil.RawBackend(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		if _, err := http.ReadRequest(br); err != nil {
			outcome <- "no request: " + err.Error()
			return
		}
		// fulcrum closing the connection ends this read early.
		_ = c.SetReadDeadline(time.Now().Add(hold))
		_, err := br.ReadByte()
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			outcome <- fmt.Sprintf("the mirror's connection ended early: %v", err)
			return
		}
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		outcome <- "answered"
	})
	main := httptest.NewServer(&recordingBackend{name: "main"})
	t.Cleanup(main.Close)
	dir := t.TempDir()
	addr := startDaemonLevel(t, dir, "info", fmt.Sprintf(`
    access_log off;
    server {
        listen 127.0.0.1:0;
        location / { mirror /m; proxy_pass http://%[1]s; }
        location = /m { internal; proxy_pass http://%[2]s; }
    }`, main.Listener.Addr(), shadow))
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(c, "GET /x HTTP/1.1\r\nHost: a\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	if string(body) != "ok-main" {
		t.Fatalf("main answer %q, want ok-main", body)
	}
	c.Close() // the client leaves while the mirror runs
	select {
	case got := <-outcome:
		if got != "answered" {
			t.Error(got)
		}
	case <-time.After(hold + 5*time.Second):
		t.Fatal("the mirror's backend never finished")
	}
}
