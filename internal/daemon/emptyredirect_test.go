package daemon_test

import (
	"strings"
	"testing"
)

// TestReturnRedirectLocationLikeNginx checks the head of a return with a
// redirect code against nginx 1.22.1's for the same configuration: without
// text, or with an empty one, the answer carries an empty Location; a
// Location nginx does not make absolute itself (empty, a URL, a "/" path with
// absolute_redirect off) comes after Connection, one it made absolute from a
// "/" path before it.
func TestReturnRedirectLocationLikeNginx(t *testing.T) {
	addr := startDaemon(t, t.TempDir(), `
	server { listen 127.0.0.1:0;
		location /n301 { return 301; }
		location /e302 { return 302 ""; }
		location /e303 { return 303 ""; }
		location /e307 { return 307 ""; }
		location /e308 { return 308 ""; }
		location /v301 { set $e ""; return 301 $e; }
		location /url { return 301 http://example.com/x; }
		location /off { absolute_redirect off; return 301 /x; }
		location /rel { port_in_redirect off; return 301 /x; }
	}`)
	tests := []struct{ path, status, fields string }{
		{"/n301", "301 Moved Permanently", "Connection: keep-alive\r\nLocation: \r\n\r\n"},
		{"/e302", "302 Moved Temporarily", "Connection: keep-alive\r\nLocation: \r\n\r\n"},
		{"/e303", "303 See Other", "Connection: keep-alive\r\nLocation: \r\n\r\n"},
		{"/e307", "307 Temporary Redirect", "Connection: keep-alive\r\nLocation: \r\n\r\n"},
		{"/e308", "308 Permanent Redirect", "Connection: keep-alive\r\nLocation: \r\n\r\n"},
		{"/v301", "301 Moved Permanently", "Connection: keep-alive\r\nLocation: \r\n\r\n"},
		{"/url", "301 Moved Permanently", "Connection: keep-alive\r\nLocation: http://example.com/x\r\n\r\n"},
		{"/off", "301 Moved Permanently", "Connection: keep-alive\r\nLocation: /x\r\n\r\n"},
		{"/rel", "301 Moved Permanently", "Location: http://a/x\r\nConnection: keep-alive\r\n\r\n"},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			head := rawTalkHead(t, addr, "GET "+tc.path+" HTTP/1.1\r\nHost: a\r\n\r\n")
			if !strings.HasPrefix(head, "HTTP/1.1 "+tc.status+"\r\n") || !strings.HasSuffix(head, "\r\n"+tc.fields) {
				t.Errorf("head %q, want %s ending in %q", head, tc.status, tc.fields)
			}
		})
	}
}
