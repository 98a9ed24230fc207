package daemon_test

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// TestHTTP2SendTimeoutFlowControl checks send_timeout on an HTTP/2 stream
// whose client never opens its flow control window: nginx 1.22.1 resets
// the stream once a write waited send_timeout and the connection goes on
// (recorded with nginx-tests' HTTP2.pm, send_timeout 1s, a 65616-byte
// file: 65535 bytes, then RST_STREAM after a second, PING answered).
// fulcrum's stream waited for ever, and a graceful stop with it. Go's
// server resets with INTERNAL_ERROR where nginx says PROTOCOL_ERROR.
// Both a write the handler makes and the last one, which Go's server makes
// after the handler returned, are bounded; the first is logged at info as
// nginx logs it.
func TestHTTP2SendTimeoutFlowControl(t *testing.T) {
	dir := t.TempDir()
	certs, pool := h2Site(t, dir)
	if err := os.WriteFile(filepath.Join(dir, "big.html"), bytes.Repeat([]byte("x"), 1<<16+80), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "small.html"), []byte("SEE-THIS"), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := startDaemonLevel(t, dir, "info", fmt.Sprintf(`server { listen 127.0.0.1:0 ssl http2; server_name a.test; %s
		send_timeout 1s; location / { root %s; } }`, certs, dir))
	tests := []struct {
		name, path string
		window     uint32 // the client's initial stream window
		logged     bool
	}{
		{"a write of the handler's waits", "/big.html", 65535, true},
		{"the last write waits", "/small.html", 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := dialH2(t, addr, pool)
			if err := r.fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: tt.window}); err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			enc := hpack.NewEncoder(&buf)
			for _, f := range [][2]string{{":method", "GET"}, {":scheme", "https"}, {":authority", "a.test"}, {":path", tt.path}} {
				_ = enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
			}
			if err := r.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: buf.Bytes(), EndStream: true, EndHeaders: true}); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			status, code := h2AnswerAndReset(t, r, 5*time.Second)
			if status != "200" || code == "" || code == "NO_ERROR" {
				t.Fatalf("status %q, RST_STREAM %q; want 200 and a reset", status, code)
			}
			if took := time.Since(start); took < 900*time.Millisecond {
				t.Errorf("reset after %v, before send_timeout", took)
			}
			if err := r.fr.WritePing(false, [8]byte{'S', 'E', 'E', '-', 'T', 'H', 'I', 'S'}); err != nil {
				t.Fatal(err)
			}
			_ = r.c.SetReadDeadline(time.Now().Add(5 * time.Second))
			for {
				f, err := r.fr.ReadFrame()
				if err != nil {
					t.Fatalf("connection after the reset: %v", err)
				}
				if p, ok := f.(*http2.PingFrame); ok && p.IsAck() && strings.HasPrefix(string(p.Data[:]), "SEE-THIS") {
					break
				}
			}
			if tt.logged {
				waitLogged(t, filepath.Join(dir, "error.log"), "[info]", sendTimedOut, `request: "GET /big.html HTTP/2.0"`)
			}
		})
	}
}

// sendTimedOut is nginx 1.22.1's info line for a response send_timeout cut
// short.
const sendTimedOut = "client timed out (110: Connection timed out) while sending response to client, client: 127.0.0.1, server: a.test"

// TestSendTimeoutLogged checks the info line for an HTTP/1.1 response that
// send_timeout cut short, as nginx 1.22.1 writes it (recorded: a 20 MB file
// to a client that stopped reading, send_timeout 1s: "client timed out
// (110: Connection timed out) while sending response to client, client:
// 127.0.0.1, server: , request: "GET /big.bin HTTP/1.1", host: "a"").
// fulcrum wrote none.
func TestSendTimeoutLogged(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "big.bin"), make([]byte, 20<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := startDaemonLevel(t, dir, "info", fmt.Sprintf(`server { listen 127.0.0.1:0; server_name a.test;
		send_timeout 1s; location / { root %s; } }`, dir))
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.(*net.TCPConn).SetReadBuffer(4096)
	if _, err := io.WriteString(c, "GET /big.bin HTTP/1.1\r\nHost: a\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	// Read nothing: the response stalls once the socket buffers are full.
	line := sendTimedOut + `, request: "GET /big.bin HTTP/1.1", host: "a"`
	deadline := time.Now().Add(10 * time.Second)
	for {
		logged, _ := os.ReadFile(filepath.Join(dir, "error.log"))
		if strings.Contains(string(logged), "[info] ") && strings.Contains(string(logged), line) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %q in the error log:\n%s", line, logged)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
