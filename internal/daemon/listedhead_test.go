package daemon_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// TestProxiedHeadListed: an upstream's head that the proxy hands the
// engine's writer as a list (each name once, the usual response) and ones
// it puts in the header map instead (a repeated name, a proxy_redirect
// rewrite, a filter asking for the header) go out the same way: nginx's
// front fields first, the upstream's others in its order and spelling, and
// $sent_http_NAME finds the fields sent, the engine's Server and Connection
// included.
func TestProxiedHeadListed(t *testing.T) {
	dir := t.TempDir()
	logPath := filepath.Join(dir, "access.log")
	up := cannedBackend(t, map[string]string{
		"plain": "HTTP/1.1 200 OK\r\nx-first: 1\r\ncontent-type: text/html\r\nDate: Mon, 01 Jan 2001 00:00:00 GMT\r\n" +
			"ETag: \"e\"\r\nLast-Modified: then\r\nContent-Length: 002\r\n\r\nxy",
		"repeat": "HTTP/1.1 200 OK\r\nX-A: 1\r\nContent-Type: a\r\nX-A: 2\r\nContent-Type: b\r\nContent-Length: 1\r\nX-B: 3\r\n\r\nx",
		"moved":  "HTTP/1.1 302 Found\r\nX-A: 1\r\nLocation: http://up.test/r/x\r\nContent-Length: 0\r\nX-B: 2\r\n\r\n",
		"other":  "HTTP/1.1 302 Found\r\nX-A: 1\r\nLocation: /elsewhere\r\nContent-Length: 0\r\nX-B: 2\r\n\r\n",
		"nolen":  "HTTP/1.1 200 OK\r\nX-A: 1\r\nContent-Type: t\r\n\r\nxyz",
		"nobody": "HTTP/1.1 204 No Content\r\nX-A: 1\r\nContent-Length: 0\r\n\r\n",
	})
	addr := startDaemon(t, dir, fmt.Sprintf(`
	log_format t '$status $request_method $uri ct=$sent_http_content_type cl=$sent_http_content_length c=$sent_http_connection a=$sent_http_x_a s=$sent_http_server';
	server { listen 127.0.0.1:0; access_log %[1]s t buffer=0;
		location /p/ { proxy_pass http://%[2]s/r/; proxy_redirect http://up.test/r/ /mapped/; }
		location /add/ { proxy_pass http://%[2]s/r/; add_header X-Added yes; }
	}`, logPath, up))
	tests := []struct {
		req    string
		want   []string
		logged string
	}{
		{"GET /p/plain", []string{"HTTP/1.1 200 OK", "Server: S", "Date: D", "Content-Type: text/html", "Content-Length: 2",
			"Connection: close", "x-first: 1", `ETag: "e"`, "Last-Modified: then"},
			"200 GET /p/plain ct=text/html cl=2 c=close a=- s=fulcrum"},
		{"HEAD /p/plain", []string{"HTTP/1.1 200 OK", "Server: S", "Date: D", "Content-Type: text/html", "Content-Length: 2",
			"Connection: close", "x-first: 1", `ETag: "e"`, "Last-Modified: then"},
			"200 HEAD /p/plain ct=text/html cl=2 c=close a=- s=fulcrum"},
		{"GET /add/plain", []string{"HTTP/1.1 200 OK", "Server: S", "Date: D", "Content-Type: text/html", "Content-Length: 2",
			"Connection: close", "x-first: 1", `ETag: "e"`, "Last-Modified: then", "X-Added: yes"},
			"200 GET /add/plain ct=text/html cl=2 c=close a=- s=fulcrum"},
		{"GET /p/repeat", []string{"HTTP/1.1 200 OK", "Server: S", "Date: D", "Content-Type: b", "Content-Length: 1",
			"Connection: close", "X-A: 1", "X-A: 2", "X-B: 3"},
			"200 GET /p/repeat ct=b cl=1 c=close a=1, 2 s=fulcrum"},
		{"GET /p/moved", []string{"HTTP/1.1 302 Found", "Server: S", "Date: D", "Content-Length: 0",
			"Location: http://a:" + addr[strings.LastIndex(addr, ":")+1:] + "/mapped/x", "Connection: close", "X-A: 1", "X-B: 2"},
			"302 GET /p/moved ct=- cl=0 c=close a=1 s=fulcrum"},
		{"GET /p/other", []string{"HTTP/1.1 302 Found", "Server: S", "Date: D", "Content-Length: 0",
			"Connection: close", "X-A: 1", "Location: /elsewhere", "X-B: 2"},
			"302 GET /p/other ct=- cl=0 c=close a=1 s=fulcrum"},
		{"GET /p/nolen", []string{"HTTP/1.1 200 OK", "Server: S", "Date: D", "Content-Type: t", "Transfer-Encoding: chunked",
			"Connection: close", "X-A: 1"},
			"200 GET /p/nolen ct=t cl=- c=close a=1 s=fulcrum"},
		{"GET /p/nobody", []string{"HTTP/1.1 204 No Content", "Server: S", "Date: D", "Connection: close", "X-A: 1"},
			"204 GET /p/nobody ct=- cl=- c=close a=1 s=fulcrum"},
	}
	for _, tt := range tests {
		t.Run(tt.req, func(t *testing.T) {
			got := responseHead(t, addr, tt.req+" HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("head\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			waitLogged(t, logPath, tt.logged)
		})
	}
}
