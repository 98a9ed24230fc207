package daemon_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"testing"

	"fulcrum/internal/testutil"
)

// TestProxiedBodyCutAccessLine checks the access-log lines of an upload
// that never ends, as nginx 1.22.1 logged them for the same requests
// (Content-Length: 20, 10 bytes sent): a client that closes its connection
// there is logged 400 with no byte sent (nginx's c->error: no answer goes
// out, where fulcrum sent its 158-byte 400 page and logged it), one that
// stops sending, 408 and nothing sent; read whole before proxying (the
// default) the part read is $request_body, streamed
// (proxy_request_buffering off) it is not found.
func TestProxiedBodyCutAccessLine(t *testing.T) {
	backend := testutil.RawBackend(t, func(c net.Conn) {
		_, _ = testutil.ReadHead(bufio.NewReader(c))
		_, _ = io.Copy(io.Discard, c)
	})
	dir := t.TempDir()
	addr := startDaemon(t, dir, fmt.Sprintf(`
    log_format t '$request_uri $status $body_bytes_sent "$request_body"';
    access_log %[2]s/access.log t;
    server {
        listen 127.0.0.1:0;
        client_body_timeout 200ms;
        location /b/ { proxy_pass http://%[1]s; }
        location /nb/ { proxy_pass http://%[1]s; proxy_request_buffering off; proxy_http_version 1.1; }
    }`, backend, dir))
	const head = "POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: 20\r\n\r\n0123456789"
	for _, tc := range []struct {
		uri   string
		close bool
		line  string
	}{
		{"/b/cut", true, `/b/cut 400 0 "0123456789"`},
		{"/nb/cut", true, `/nb/cut 400 0 "-"`},
		{"/b/stall", false, `/b/stall 408 0 "0123456789"`},
		{"/nb/stall", false, `/nb/stall 408 0 "-"`},
	} {
		t.Run(tc.uri, func(t *testing.T) {
			c := testutil.SendRaw(t, addr, fmt.Sprintf(head, tc.uri))
			defer c.Close()
			if tc.close {
				_ = c.(*net.TCPConn).CloseWrite()
			}
			resp, _ := io.ReadAll(c)
			if len(resp) != 0 {
				t.Errorf("the client got %q, want nothing", resp)
			}
			waitForLine(t, filepath.Join(dir, "access.log"), tc.line)
		})
	}
}

// TestProxiedBodyNothingReadAccessLine: a body announced and never sent,
// cut by client_body_timeout or by the client's close before its first
// byte, leaves $request_body not found, as nginx's request_body->bufs
// stays NULL (recorded with nginx 1.22.1: "Content-Length: 10" and no
// body logs "-" with 408 or 400; nginx-tests' mirror_proxy.t, a mirror
// with mirror_request_body off, whose backend gets the length and no
// body). fulcrum logged it found and empty, "".
func TestProxiedBodyNothingReadAccessLine(t *testing.T) {
	backend := testutil.RawBackend(t, func(c net.Conn) {
		_, _ = testutil.ReadHead(bufio.NewReader(c))
		_, _ = io.Copy(io.Discard, c)
	})
	dir := t.TempDir()
	addr := startDaemon(t, dir, fmt.Sprintf(`
    log_format t '$request_uri $status "$request_body"';
    access_log %[2]s/access.log t buffer=0;
    server {
        listen 127.0.0.1:0;
        client_body_timeout 200ms;
        location /b/ { proxy_pass http://%[1]s; }
    }`, backend, dir))
	for _, tc := range []struct {
		uri   string
		close bool
		line  string
	}{
		{"/b/stall0", false, `/b/stall0 408 "-"`},
		{"/b/cut0", true, `/b/cut0 400 "-"`},
	} {
		t.Run(tc.uri, func(t *testing.T) {
			c := testutil.SendRaw(t, addr, "POST "+tc.uri+" HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n")
			defer c.Close()
			if tc.close {
				_ = c.(*net.TCPConn).CloseWrite()
			}
			_, _ = io.ReadAll(c)
			waitForLine(t, filepath.Join(dir, "access.log"), tc.line)
		})
	}
}
