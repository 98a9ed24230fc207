package daemon_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fulcrum/internal/testutil"
)

// rawHead builds a request head of a request line of rl bytes and field
// lines of the given sizes (CRLF included) after "Host: x".
func rawHead(rl int, fields ...int) string { return testutil.SizedHead(0, rl, fields...) }

// TestHeaderBuffers checks client_header_buffer_size and
// large_client_header_buffers on raw sockets against nginx 1.22.1's
// answers to the same heads: a head that fits the first buffer is served
// whatever its lines, one that overflows it must fit nginx's large buffers
// line by line. nginx's 400 (Request Header Or Cookie Too Large) is
// fulcrum's 431 (http-hardening.md).
func TestHeaderBuffers(t *testing.T) {
	const conf = `
    access_log off;
    %s
    server { listen 127.0.0.1:0; location / { return 200 ok; } }`
	small := startDaemon(t, t.TempDir(), fmt.Sprintf(conf, "large_client_header_buffers 2 512;"))
	big := startDaemon(t, t.TempDir(), fmt.Sprintf(conf, "client_header_buffer_size 2k; large_client_header_buffers 2 512;"))
	tests := []struct {
		name   string
		addr   string
		head   string
		status int
	}{
		{"700-byte field in a 811-byte head", small, rawHead(100, 700), 200},
		{"1000-byte field crosses 1k", small, rawHead(100, 1000), 431},
		{"1024-byte request line", small, rawHead(1024), 200},
		{"1025-byte request line", small, rawHead(1025), 414},
		{"512-byte field moved whole", small, rawHead(100, 500, 512), 200},
		{"513-byte field moved", small, rawHead(100, 500, 513), 431},
		{"six 300-byte fields", small, rawHead(100, 300, 300, 300, 300, 300, 300), 431},
		{"eight 200-byte fields", small, rawHead(100, 200, 200, 200, 200, 200, 200, 200, 200), 200},
		{"2k first buffer: 1800-byte field", big, rawHead(100, 1800), 200},
		{"2k first buffer: 2049-byte request line", big, rawHead(2049), 414},
		{"2k first buffer: 600-byte field crosses 2k", big, rawHead(100, 1500, 600), 431},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, _ := sendHead(t, tt.addr, tt.head)
			if resp.StatusCode != tt.status {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.status)
			}
		})
	}
}

// TestHeaderBufferLines checks the info lines of heads refused by the
// header buffers, as nginx 1.22.1 wrote them for the same heads: the
// request line as its buffer held it, the part of a header line its
// buffer held, the line before (as parsed: NUL after the name and the
// value) when the refused one began at a buffer's end, "too large
// request" when no header line came before.
func TestHeaderBufferLines(t *testing.T) {
	const conf = `
    access_log off;
    %s
    server { listen 127.0.0.1:0; location / { return 200 ok; } }`
	dirA, dirB := t.TempDir(), t.TempDir()
	small := startDaemonLevel(t, dirA, "info", fmt.Sprintf(conf, "large_client_header_buffers 2 512;"))
	one := startDaemonLevel(t, dirB, "info", fmt.Sprintf(conf, "client_header_buffer_size 256; large_client_header_buffers 1 600;"))
	rl := func(n int) string { return "GET /" + strings.Repeat("a", n-len("GET / HTTP/1.1\r\n")) + " HTTP/1.1" }
	b := strings.Repeat
	tests := []struct {
		name, addr, log, head, want string
	}{
		{"request line", small, dirA, rawHead(1030),
			`client sent too long URI while reading client request line, client: 127.0.0.1, server: , request: "GET /` + b("a", 1014) + ` HTTP"` + "\n"},
		{"header line", small, dirA, rawHead(100, 500, 513),
			`client sent too long header line: "X-1: ` + b("b", 506) + "\r" + `..." while reading client request headers, client: 127.0.0.1, server: , request: "` + rl(100) + `", host: "x"` + "\n"},
		{"header line at the buffer's end", small, dirA, rawHead(1015, 512, 512),
			`client sent too long header line: "X-1` + "\x00 " + b("b", 505) + "\x00\n" + `..." while reading client request headers, client: 127.0.0.1, server: , request: "` + rl(1015) + `", host: "x"` + "\n"},
		{"no header line yet", one, dirB, rawHead(600),
			`client sent too large request while reading client request headers, client: 127.0.0.1, server: , request: "` + rl(600) + `"` + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(tt.log, "error.log")
			before := logSize(path)
			sendHead(t, tt.addr, tt.head)
			got := waitLogPart(t, path, before, "client sent")
			if got != tt.want {
				t.Errorf("logged\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}

// waitLogPart polls the log at path for text written after offset off
// and returns it from text on.
func waitLogPart(t *testing.T, path string, off int64, text string) string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		data, _ := os.ReadFile(path)
		tail := string(data[min(off, int64(len(data))):])
		if i := strings.Index(tail, text); i >= 0 && strings.HasSuffix(tail, "\n") {
			return tail[i:]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %q in %s after offset %d:\n%s", text, path, off, tail)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
