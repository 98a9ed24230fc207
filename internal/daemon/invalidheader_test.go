package daemon_test

import (
	"fmt"
	"net/http"
	"path/filepath"
	"testing"
)

// TestInvalidUpstreamHeaderLogLikeNginx checks the error log line for a
// response head refused as invalid against nginx 1.22.1's for the same
// backend answers: the line names the offending field line up to the byte
// nginx's parser refuses, and that byte in hex. A head nginx would accept
// (a line without a colon) gets the line without bytes.
func TestInvalidUpstreamHeaderLogLikeNginx(t *testing.T) {
	dir := t.TempDir()
	const status = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
	tests := []struct{ name, fields, want string }{
		{"control in name", "X\x01Y: v\r\n", `"X\x01..."`},
		{"NUL in value", "X: a\x00b\r\n", `"X: a\x00..."`},
		{"space before colon", "X : v\r\n", `"X\x20..."`},
		{"bare CR in value", "X: a\rb\r\n", `"X: a\x0d..."`},
		{"NUL first", "\x00X: v\r\n", `"\x00..."`},
		{"DEL after a good line", "Good: 1\r\nAbc\x7fdef: v\r\n", `"Abc\x7f..."`},
		{"no colon", "NoColonLine\r\n", ""},
	}
	conf := ""
	for i, tc := range tests {
		conf += fmt.Sprintf("location /h%d { proxy_pass http://%s; }\n", i, rawBackend(t, status+tc.fields+"\r\nok"))
	}
	addr := startDaemon(t, dir, "server { listen 127.0.0.1:0;\n"+conf+"}")
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := http.Get(fmt.Sprintf("http://%s/h%d", addr, i))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadGateway {
				t.Errorf("status %d, want 502", resp.StatusCode)
			}
			msg := "upstream sent invalid header"
			if tc.want != "" {
				msg += ": " + tc.want
			}
			waitForLog(t, filepath.Join(dir, "error.log"), fmt.Sprintf(`error %s while reading response header from upstream, client: 127.0.0.1, server: , request: "GET /h%d HTTP/1.1"`, msg, i))
		})
	}
}
