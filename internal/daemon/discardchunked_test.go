package daemon_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestDiscardInvalidChunkedBody checks a malformed chunked body that arrives
// after the answer of a location that does not read it (return 200), as
// nginx 1.22.1 treats it: the 200 stands and is logged, the discard finds
// the bad size line, logs "client sent invalid chunked body" at error and
// closes the connection.
func TestDiscardInvalidChunkedBody(t *testing.T) {
	dir := t.TempDir()
	logPath := filepath.Join(dir, "access.log")
	addr := startDaemonLevel(t, dir, "info", fmt.Sprintf(`
    log_format t '$status "$request"';
    server {
        listen 127.0.0.1:0;
        access_log %s t buffer=0;
        location /ret { return 200 "abc"; }
    }`, logPath))
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, "POST /ret HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(body) != "abc" {
		t.Fatalf("got %d %q, want 200 \"abc\"", resp.StatusCode, body)
	}
	if _, err := io.WriteString(c, "zz\r\n"); err != nil {
		t.Fatal(err)
	}
	if rest, err := io.ReadAll(br); err != nil || len(rest) > 0 {
		t.Errorf("after the bad body: %q, %v; want the connection closed", rest, err)
	}
	errorLog := filepath.Join(dir, "error.log")
	waitLogged(t, errorLog, `[error]`, `client sent invalid chunked body, client: 127.0.0.1, server: , request: "POST /ret HTTP/1.1", host: "a"`)
	waitLogged(t, logPath, `200 "POST /ret HTTP/1.1"`)
	if logged, _ := os.ReadFile(errorLog); strings.Count(string(logged), "invalid chunked body") != 1 {
		t.Errorf("want one line:\n%s", logged)
	}
}
