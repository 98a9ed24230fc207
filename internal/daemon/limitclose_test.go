package daemon_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestLimitStatusClosesConnection: a limit_req_status or limit_conn_status of
// 444, 408 or 499 (the nginx blog's rate-limiting article suggests
// "limit_req_status 444;") ends the request as nginx 1.22.1's
// ngx_http_finalize_request does: the connection closes without an answer,
// error_page does not apply, and the access log has the code with no bytes.
// Any other status (429 here) is an answer, with its error_page. Recorded
// with nginx 1.22.1: the second request of each location.
func TestLimitStatusClosesConnection(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"a", "b", "c", "d"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("ok\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	logPath := filepath.Join(dir, "access.log")
	addr := startDaemon(t, dir, fmt.Sprintf(`
	log_format t '$status $body_bytes_sent "$request"';
	access_log %[1]s t buffer=0;
	limit_req_zone $binary_remote_addr zone=a:1m rate=1r/m;
	limit_req_zone $binary_remote_addr zone=b:1m rate=1r/m;
	limit_req_zone $binary_remote_addr zone=c:1m rate=1r/m;
	limit_req_zone $binary_remote_addr zone=d:1m rate=1r/m;
	server { listen 127.0.0.1:0; root %[2]s;
		error_page 444 408 429 /err.html;
		location /a { limit_req zone=a; limit_req_status 444; }
		location /b { limit_req zone=b; limit_req_status 408; }
		location /c { limit_req zone=c; limit_req_status 499; }
		location /d { limit_req zone=d; limit_req_status 429; }
		location = /err.html { return 200 "error page\n"; }
	}`, logPath, dir))
	for _, tc := range []struct {
		path, prefix, log string
	}{
		{"/a", "", `444 0 "GET /a HTTP/1.1"`},
		{"/b", "", `408 0 "GET /b HTTP/1.1"`},
		{"/c", "", `499 0 "GET /c HTTP/1.1"`},
		{"/d", "HTTP/1.1 429 Too Many Requests", `429 11 "GET /d HTTP/1.1"`},
	} {
		t.Run(tc.path, func(t *testing.T) {
			req := "GET " + tc.path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
			if got, _, _ := rawTalk(t, addr, req, 2*time.Second); !strings.HasPrefix(got, "HTTP/1.1 200 OK") {
				t.Fatalf("first request: %q, want the file", got)
			}
			got, end, _ := rawTalk(t, addr, req, 2*time.Second)
			if end != "eof" || !strings.HasPrefix(got, tc.prefix) || tc.prefix == "" && got != "" {
				t.Errorf("second request: %q, ended %s; want %q..., eof", got, end, tc.prefix)
			}
			waitLogged(t, logPath, tc.log)
		})
	}
}
