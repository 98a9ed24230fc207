package daemon_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// TestRefusedURIVariables: a request whose path does not parse (it climbs
// above the root, or decodes to NUL) is refused with 400, and its access
// log line has $uri found and empty, $request_uri and $args not found, as
// nginx's ngx_http_process_request_uri leaves them (nginx-tests'
// http_variables.t, "no uri"; recorded with nginx 1.22.1 and log_format
// "[$uri] [$request_uri] [$args] $status": GET /../bad_uri logs "[] [-]
// [-] 400", GET /a/../../x?a=1 the same, GET * "[-] [-] [-] 400"). fulcrum
// logged "[-] [/../bad_uri] [-] 400" and "[-] [/a/../../x?a=1] [a=1] 400".
func TestRefusedURIVariables(t *testing.T) {
	dir := t.TempDir()
	logPath := filepath.Join(dir, "access.log")
	addr := startDaemon(t, dir, fmt.Sprintf(`
    log_format u "[$uri] [$request_uri] [$args] $status";
    access_log %s u buffer=0;
    server {
        listen 127.0.0.1:0;
        location / { return 200 OK; }
    }`, logPath))
	targets := []string{"/../bad_uri", "/a/../../x?a=1", "/%00", "*"}
	want := []string{"[] [-] [-] 400", "[] [-] [-] 400", "[] [-] [-] 400", "[-] [-] [-] 400"}
	for i, target := range targets {
		head := rawTalkHead(t, addr, "GET "+target+" HTTP/1.0\r\nHost: a\r\n\r\n")
		if !strings.HasPrefix(head, "HTTP/1.1 400 ") {
			t.Fatalf("GET %s: head %q, want 400", target, head)
		}
		// the line is written once the response went out: wait for it
		// before the next request, whose line could come first
		if lines := waitLogLines(t, logPath, i+1); lines[i] != want[i] {
			t.Errorf("GET %s logged %q, want %q", target, lines[i], want[i])
		}
	}
}
