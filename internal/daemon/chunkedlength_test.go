package daemon_test

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

// TestChunkedRequestLengthLikeNginx checks $request_length and
// $content_length for chunked request bodies against nginx 1.22.1's access
// log for the same requests: $request_length counts the chunk framing (size
// lines, extensions, CRLFs, trailer section) with the data, and
// $content_length, without a Content-Length field, is the sum of the chunk
// sizes read, 0 for a body discarded whole, and the sizes read so far for a
// body that stalled.
func TestChunkedRequestLengthLikeNginx(t *testing.T) {
	dir := t.TempDir()
	logPath := filepath.Join(dir, "access.log")
	addr := startDaemon(t, dir, fmt.Sprintf(`
	log_format t '$status $request_length $content_length "$request"';
	server { listen 127.0.0.1:0; access_log %[1]s t buffer=0; client_body_timeout 300ms;
		location /p/ { proxy_pass http://%[2]s; }
		location /ret { return 200 "ok"; }
	}`, logPath, echoBackend(t)))
	// The head is 79 bytes: "POST /p/cN HTTP/1.1", Host, Transfer-Encoding
	// and Connection fields.
	const head = " HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
	tests := []struct {
		target, body, logged string
	}{
		{"/p/c1", "3\r\nabc\r\n0\r\n\r\n", `200 92 3 "POST /p/c1 HTTP/1.1"`},
		{"/p/c2", "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n", `200 99 5 "POST /p/c2 HTTP/1.1"`},
		{"/p/c3", "3;x=y\r\nabc\r\n0\r\nT: v\r\n\r\n", `200 102 3 "POST /p/c3 HTTP/1.1"`},
		{"/p/c4", "0\r\n\r\n", `200 84 0 "POST /p/c4 HTTP/1.1"`},
		{"/p/c5", "00a\r\n0123456789\r\n0\r\n\r\n", `200 101 10 "POST /p/c5 HTTP/1.1"`},
		{"/ret", "3\r\nabc\r\n0\r\n\r\n", `200 78 0 "POST /ret HTTP/1.1"`},
		{"/p/st", "3\r\nabc\r\n", `408 87 3 "POST /p/st HTTP/1.1"`}, // stalled after a chunk
	}
	for _, tc := range tests {
		t.Run(tc.target, func(t *testing.T) {
			rawTalk(t, addr, "POST "+tc.target+head+tc.body, 3*time.Second)
			waitLogged(t, logPath, tc.logged)
		})
	}
}
