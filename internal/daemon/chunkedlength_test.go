package daemon_test

import (
	"fmt"
	"path/filepath"
	"strings"
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

// TestRequestLengthAtBodyFaultsLikeNginx checks $request_length where a
// chunked body stalls or is refused, against nginx 1.22.1's access log for
// the same requests (scripts/request-nginx-sweep.py found the first two
// kinds): a body that stalls (client_body_timeout) counts every byte read,
// the part of a size line, of the CRLF after a chunk's data or of a
// trailer section that never ended included; a body refused within what
// nginx read with the head counts none of its bytes, nginx's read being
// into the rest of the header buffer the head ended in (8k for a long
// head, not fulcrum's 2 KiB read buffer); refused past it, every byte read.
func TestRequestLengthAtBodyFaultsLikeNginx(t *testing.T) {
	dir := t.TempDir()
	logPath := filepath.Join(dir, "access.log")
	addr := startDaemon(t, dir, fmt.Sprintf(`
	log_format t '$status $request_length $content_length "$request"';
	server { listen 127.0.0.1:0; access_log %[1]s t buffer=0; client_body_timeout 300ms;
		location /p/ { proxy_pass http://%[2]s; }
	}`, logPath, echoBackend(t)))
	const head = " HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
	long := "/p/" + strings.Repeat("x", 4000)
	tests := []struct {
		name, target, body, logged string
	}{
		{"stall in the last chunk's CRLF", "/p/s1", "3\r\nabc\r\n0\r\n\r", `408 91 3 "POST /p/s1 HTTP/1.1"`},
		{"stall in a size line", "/p/s3", "3\r\nabc\r\n0", `408 88 3 "POST /p/s3 HTTP/1.1"`},
		{"stall in a data CRLF", "/p/s4", "3\r\nabc\r", `408 86 3 "POST /p/s4 HTTP/1.1"`},
		{"stall in the trailer", "/p/s5", "3\r\nabc\r\n0\r\nX-T: a", `408 96 3 "POST /p/s5 HTTP/1.1"`},
		{"fault after a long head", long, "64\r\n" + strings.Repeat("y", 100) + "\r0\r\n\r\n", `400 4077 100 "POST ` + long + ` HTTP/1.1"`},
		{"fault past the first buffer", "/p/l", "400\r\n" + strings.Repeat("y", 1024) + "\r\n64\r\n" + strings.Repeat("y", 100) + "\r0\r\n\r\n", `400 1219 1124 "POST /p/l HTTP/1.1"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rawTalk(t, addr, "POST "+tc.target+head+tc.body, 3*time.Second)
			waitLogged(t, logPath, tc.logged)
		})
	}
}

// TestRefusedRequestLineLoggedLikeNginx: a request line over
// client_header_buffer_size that nginx's parser refuses within that first
// buffer is logged ($request) as the buffer held it, its first 1024 bytes;
// one refused past them, whole (recorded with nginx 1.22.1; found by
// scripts/request-nginx-sweep.py). Before, fulcrum logged the whole line,
// or its first 2048 bytes (its read buffer) for a bad method.
func TestRefusedRequestLineLoggedLikeNginx(t *testing.T) {
	dir := t.TempDir()
	logPath := filepath.Join(dir, "access.log")
	addr := startDaemon(t, dir, fmt.Sprintf(`
	log_format t '$status $request_length "$request"';
	server { listen 127.0.0.1:0; access_log %[1]s t buffer=0; location / { return 200; } }`, logPath))
	z := strings.Repeat
	tests := []struct{ name, line, logged string }{
		{"target", "PATCH ?xx" + z("z", 4000) + " HTTP/1.1", "PATCH ?xx" + z("z", 1024-9)},
		{"method", "G1 /a?" + z("z", 20000) + " HTTP/1.1", "G1 /a?" + z("z", 1024-6)},
		{"tab", "GET /a\tb?" + z("z", 2000) + " HTTP/1.1", `GET /a\x09b?` + z("z", 1024-9)},
		{"absolute", "GET http:h/a" + z("z", 4000) + " HTTP/1.1", "GET http:h/a" + z("z", 1024-12)},
		{"tab past the first buffer", "GET /" + z("z", 2000) + "\tb HTTP/1.1", `GET /` + z("z", 2000) + `\x09b HTTP/1.1`},
		{"version past the first buffer", "GET /" + z("z", 2000) + " HTTP/1.x", "GET /" + z("z", 2000) + " HTTP/1.x"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rawTalk(t, addr, tc.line+"\r\nHost: a\r\n\r\n", 3*time.Second)
			waitLogged(t, logPath, `400 0 "`+tc.logged+`"`)
		})
	}
}

// TestRefusedTargetsLoggedLikeNginx: what nginx 1.22.1 logs of two request
// lines it refuses (found by scripts/request-nginx-sweep.py with seed 2):
// an absolute-form target with an empty host, refused after its URI was
// parsed, logs its $uri and $args; "OPTIONS *", refused by the request line
// parser at its "*", counts nothing in $request_length, as "GET *".
func TestRefusedTargetsLoggedLikeNginx(t *testing.T) {
	dir := t.TempDir()
	logPath := filepath.Join(dir, "access.log")
	addr := startDaemon(t, dir, fmt.Sprintf(`
	log_format t '$status $request_length "$request" "$uri" "$args"';
	server { listen 127.0.0.1:0; access_log %[1]s t buffer=0; location / { return 200; } }`, logPath))
	tests := []struct{ line, logged string }{
		{"GET http:///ret/a?x=1 HTTP/1.1", `400 32 "GET http:///ret/a?x=1 HTTP/1.1" "/ret/a" "x=1"`},
		{"OPTIONS * HTTP/1.1", `400 0 "OPTIONS * HTTP/1.1" "-" "-"`},
		{"GET * HTTP/1.1", `400 0 "GET * HTTP/1.1" "-" "-"`},
	}
	for _, tc := range tests {
		t.Run(tc.line, func(t *testing.T) {
			rawTalk(t, addr, tc.line+"\r\nHost: a\r\n\r\n", 3*time.Second)
			waitLogged(t, logPath, tc.logged)
		})
	}
}

// TestBadPathBeforeBadHost: nginx parses the URI with the request line,
// before the header fields, so a path that does not parse is the 400's
// reason even when a field is bad too (recorded with nginx 1.22.1, found
// by scripts/request-nginx-sweep.py with seed 3: "GET /ret/a/%00" with an
// empty, bad or no Host logs "client sent invalid request while reading
// client request line", $uri "" and the line's bytes in $request_length;
// fulcrum logged "client sent invalid host header" (or without "Host"),
// "-" and the head's bytes).
func TestBadPathBeforeBadHost(t *testing.T) {
	dir := t.TempDir()
	logPath := filepath.Join(dir, "access.log")
	addr := startDaemonLevel(t, dir, "info", fmt.Sprintf(`
	log_format t '$status $request_length "$request" "$uri" "$args" "$http_host"';
	server { listen 127.0.0.1:0; access_log %[1]s t buffer=0; location / { return 200; } }`, logPath))
	errLog := filepath.Join(dir, "error.log")
	tests := []struct{ name, head, logged string }{
		{"empty host", "HEAD /ret/a/%00 HTTP/1.1\r\nHost: \r\n\r\n", `400 26 "HEAD /ret/a/%00 HTTP/1.1" "" "-" "-"`},
		{"bad host", "GET /ret/b/%00 HTTP/1.1\r\nHost: h\\x\r\n\r\n", `400 25 "GET /ret/b/%00 HTTP/1.1" "" "-" "-"`},
		{"no host", "GET /ret/c/%00 HTTP/1.1\r\n\r\n", `400 25 "GET /ret/c/%00 HTTP/1.1" "" "-" "-"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rawTalk(t, addr, tc.head, 3*time.Second)
			waitLogged(t, logPath, tc.logged)
			line := strings.SplitN(tc.head, "\r\n", 2)[0]
			waitLogged(t, errLog, "client sent invalid request while reading client request line", `request: "`+line+`"`)
		})
	}
}
