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
//
// A '%' that starts no escape is refused by nginx's URI parser too, after
// its request line parser took the line, so the same holds for it
// (recorded with nginx 1.22.1: GET /%zz, /%zz?a=1, /%2, /%, /x%zz/y and
// http://h/%zz log $uri and $document_uri "", $request_uri and $args "-",
// and "client sent invalid request while reading client request line" at
// info); a control byte anywhere in the target is the request line
// parser's refusal, before the URI parser ran: "-" for all (GET /%zz\x01,
// GET /a\x01). fulcrum logged "-" for $uri after a bad escape.
func TestRefusedURIVariables(t *testing.T) {
	dir := t.TempDir()
	logPath := filepath.Join(dir, "access.log")
	addr := startDaemonLevel(t, dir, "info", fmt.Sprintf(`
    log_format u "[$uri] [$request_uri] [$args] [$document_uri] $status";
    access_log %s u buffer=0;
    server {
        listen 127.0.0.1:0;
        location / { return 200 OK; }
    }`, logPath))
	const uriParser, lineParser = "[] [-] [-] [] 400", "[-] [-] [-] [-] 400"
	tests := []struct{ target, want string }{
		{"/../bad_uri", uriParser},
		{"/a/../../x?a=1", uriParser},
		{"/%00", uriParser},
		{"*", lineParser},
		{"/%zz", uriParser},
		{"/%zz?a=1", uriParser},
		{"/%2", uriParser},
		{"/%", uriParser},
		{"/x%zz/y", uriParser},
		{"http://h/%zz", uriParser},
		{"/%2e%2e/", uriParser},
		{"/%zz\x01", lineParser},
		{"/a\x01", lineParser},
	}
	for i, tt := range tests {
		head := rawTalkHead(t, addr, "GET "+tt.target+" HTTP/1.0\r\nHost: a\r\n\r\n")
		if !strings.HasPrefix(head, "HTTP/1.1 400 ") {
			t.Fatalf("GET %q: head %q, want 400", tt.target, head)
		}
		// the line is written once the response went out: wait for it
		// before the next request, whose line could come first
		if lines := waitLogLines(t, logPath, i+1); lines[i] != tt.want {
			t.Errorf("GET %q logged %q, want %q", tt.target, lines[i], tt.want)
		}
	}
	waitLogged(t, filepath.Join(dir, "error.log"), `[info]`, `client sent invalid request while reading client request line, client: 127.0.0.1, server: , request: "GET /%zz HTTP/1.0"`)
}
