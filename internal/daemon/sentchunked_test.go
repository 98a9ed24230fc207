package daemon_test

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

// chunkedResponse is an upstream answer with a chunked body of 11 bytes
// ("hello world") in 26 bytes of chunked coding.
const chunkedResponse = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n" +
	"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"

// TestSentTransferEncodingLikeNginx checks $sent_http_transfer_encoding in
// the access log against nginx 1.22.1's for the same requests: "chunked"
// when the response went out chunked (an upstream body of unknown length to
// an HTTP/1.1 client, buffered or not), not found for HTTP/1.0 (the body
// ends at the close), a HEAD, a 204, an answer with a length, and under
// chunked_transfer_encoding off.
func TestSentTransferEncodingLikeNginx(t *testing.T) {
	dir := t.TempDir()
	logPath := filepath.Join(dir, "access.log")
	addr := startDaemon(t, dir, fmt.Sprintf(`
	log_format t '$status TE="$sent_http_transfer_encoding" "$request"';
	server { listen 127.0.0.1:0; access_log %[1]s t buffer=0;
		location /p/ { proxy_pass http://%[2]s; }
		location /pnb/ { proxy_pass http://%[2]s; proxy_buffering off; }
		location /pnc/ { proxy_pass http://%[2]s; chunked_transfer_encoding off; }
		location /ret { return 200 "abc"; }
		location /e204 { return 204; }
	}`, logPath, rawBackend(t, chunkedResponse)))
	tests := []struct {
		req, logged string
	}{
		{"GET /p/c1 HTTP/1.1", `200 TE="chunked" "GET /p/c1 HTTP/1.1"`},
		{"GET /pnb/c2 HTTP/1.1", `200 TE="chunked" "GET /pnb/c2 HTTP/1.1"`},
		{"GET /p/c3 HTTP/1.0", `200 TE="-" "GET /p/c3 HTTP/1.0"`},
		{"HEAD /p/c4 HTTP/1.1", `200 TE="-" "HEAD /p/c4 HTTP/1.1"`},
		{"GET /pnc/c5 HTTP/1.1", `200 TE="-" "GET /pnc/c5 HTTP/1.1"`},
		{"GET /ret HTTP/1.1", `200 TE="-" "GET /ret HTTP/1.1"`},
		{"GET /e204 HTTP/1.1", `204 TE="-" "GET /e204 HTTP/1.1"`},
	}
	for _, tc := range tests {
		t.Run(tc.req, func(t *testing.T) {
			rawTalk(t, addr, tc.req+"\r\nHost: a\r\nConnection: close\r\n\r\n", 3*time.Second)
			waitLogged(t, logPath, tc.logged)
		})
	}
}

// TestUpstreamResponseLengthChunkedLikeNginx checks $upstream_response_length
// against nginx 1.22.1's access log for the same requests: for a chunked
// upstream body it counts the bytes read after the head, the chunk coding
// included (26 for "hello world" in two chunks), buffered or not and
// whatever the client's version; for a HEAD none; for a Content-Length body
// its length. $body_bytes_sent is nginx's too: the body sent again as one
// chunk (21 bytes to HTTP/1.1), plain to HTTP/1.0.
func TestUpstreamResponseLengthChunkedLikeNginx(t *testing.T) {
	dir := t.TempDir()
	logPath := filepath.Join(dir, "access.log")
	addr := startDaemon(t, dir, fmt.Sprintf(`
	log_format t '$status URL=$upstream_response_length BS=$body_bytes_sent "$request"';
	server { listen 127.0.0.1:0; access_log %[1]s t buffer=0;
		location /p/ { proxy_pass http://%[2]s; }
		location /pnb/ { proxy_pass http://%[2]s; proxy_buffering off; }
		location /len/ { proxy_pass http://%[3]s; }
	}`, logPath, rawBackend(t, chunkedResponse),
		rawBackend(t, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")))
	tests := []struct {
		req, logged string
	}{
		{"GET /p/c1 HTTP/1.1", `200 URL=26 BS=21 "GET /p/c1 HTTP/1.1"`},
		{"GET /pnb/c2 HTTP/1.1", `200 URL=26 BS=21 "GET /pnb/c2 HTTP/1.1"`},
		{"GET /p/c3 HTTP/1.0", `200 URL=26 BS=11 "GET /p/c3 HTTP/1.0"`},
		{"HEAD /p/c4 HTTP/1.1", `200 URL=0 BS=0 "HEAD /p/c4 HTTP/1.1"`},
		{"GET /len/c5 HTTP/1.1", `200 URL=5 BS=5 "GET /len/c5 HTTP/1.1"`},
	}
	for _, tc := range tests {
		t.Run(tc.req, func(t *testing.T) {
			rawTalk(t, addr, tc.req+"\r\nHost: a\r\nConnection: close\r\n\r\n", 3*time.Second)
			waitLogged(t, logPath, tc.logged)
		})
	}
}
