package integration

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"fulcrum/internal/testutil"
)

// tlsLeave is how a TLS client goes away after sending its request.
type tlsLeave func(t *testing.T, tc *tls.Conn)

var (
	// leaveClose closes the socket without a close_notify.
	leaveClose tlsLeave = func(_ *testing.T, tc *tls.Conn) { tc.NetConn().Close() }
	// leaveNotify sends a close_notify, then closes the socket.
	leaveNotify tlsLeave = func(_ *testing.T, tc *tls.Conn) { tc.Close() }
	// leaveHalfClose shuts down its sending side (FIN, no close_notify)
	// and goes on reading.
	leaveHalfClose tlsLeave = func(t *testing.T, tc *tls.Conn) {
		if err := tc.NetConn().(*net.TCPConn).CloseWrite(); err != nil {
			t.Fatal(err)
		}
	}
	// leaveReset closes the socket with a reset (SO_LINGER 0).
	leaveReset tlsLeave = func(_ *testing.T, tc *tls.Conn) {
		tcp := tc.NetConn().(*net.TCPConn)
		tcp.SetLinger(0)
		tcp.Close()
	}
	// stayNotifyOnly sends a close_notify and keeps the socket open: bytes
	// to read, no end of stream.
	stayNotifyOnly tlsLeave = func(t *testing.T, tc *tls.Conn) {
		if err := tc.CloseWrite(); err != nil {
			t.Fatal(err)
		}
	}
	// stayPipelined sends a second request and keeps the socket open.
	stayPipelined tlsLeave = func(t *testing.T, tc *tls.Conn) {
		if _, err := fmt.Fprint(tc, "GET /fast HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
	}
)

// h2Leave is how an HTTP/2 client gives up its stream 1.
type h2Leave func(tc *tls.Conn, fr *http2.Framer)

var (
	// h2Reset resets the stream (RST_STREAM CANCEL) and keeps the connection.
	h2Reset h2Leave = func(_ *tls.Conn, fr *http2.Framer) { fr.WriteRSTStream(1, http2.ErrCodeCancel) }
	// h2Close closes the whole connection's socket.
	h2Close h2Leave = func(tc *tls.Conn, _ *http2.Framer) { tc.NetConn().Close() }
)

// TestTLSClientAbort: a client that goes away over TLS while its request
// waits for the upstream's answer, as recorded with nginx 1.22.1 on loopback
// (a backend answering after 3 s, python ssl and Go HTTP/2 clients). nginx
// notices at once, whatever the TLS layer says: an end of stream (a close,
// a half-close, with or without a close_notify before it) or a reset ends
// the upstream request (its connection closed, logged 499 with no upstream
// status); a close_notify alone, or a pipelined request, on a socket left
// open does not, and the request completes (200). Over HTTP/2 a stream
// reset (RST_STREAM) or the connection's close ends it the same way. With
// proxy_ignore_client_abort on, the upstream request always completes and
// is logged with its status. fulcrum looks every 500 ms, so "at once" is
// within 2 s here.
//
// The error log gets nginx's info line (errLine, the text after "*N ";
// BACKEND and LISTEN stand for the addresses): over HTTP/1.1 the epoll
// check's, with the reset's errno; over HTTP/2 a stream reset's "client
// canceled stream 1" with the request's context, and a connection's close
// the connection's own line. None when the client is still there or its
// HTTP/1.1 abort is ignored (nginx's check is not installed then); an
// ignored HTTP/2 stream reset still writes its line.
func TestTLSClientAbort(t *testing.T) {
	t.Parallel() // its cases run in parallel too; the whole waits beside the other parallel tests, not before them
	certDir := t.TempDir()
	cert, key := testutil.WriteCert(t, certDir, "site", testutil.ECDSA, "localhost", "127.0.0.1")
	for _, tt := range []struct {
		name  string
		path  string // /ign/ is proxy_ignore_client_abort on
		h1    tlsLeave
		h2    h2Leave
		gone  bool
		line  string
		proto string
		// errLine is the info line wanted in the error log, "" for none.
		errLine string
	}{
		{name: "close", path: "/slow", h1: leaveClose, gone: true, line: "/slow 499 -", errLine: epollLine("", "sending request to upstream", "/slow")},
		{name: "close_notify+close", path: "/slow", h1: leaveNotify, gone: true, line: "/slow 499 -", errLine: epollLine("", "sending request to upstream", "/slow")},
		{name: "half-close", path: "/slow", h1: leaveHalfClose, gone: true, line: "/slow 499 -", errLine: epollLine("", "sending request to upstream", "/slow")},
		{name: "reset", path: "/slow", h1: leaveReset, gone: true, line: "/slow 499 -", errLine: epollLine(" (104: Connection reset by peer)", "sending request to upstream", "/slow")},
		{name: "close_notify only", path: "/slow", h1: stayNotifyOnly, line: "/slow 200 200"},
		{name: "pipelined", path: "/slow", h1: stayPipelined, line: "/slow 200 200"},
		{name: "ignored close", path: "/ign/slow", h1: leaveClose, line: "/ign/slow 200 200"},
		{name: "h2 RST_STREAM", path: "/slow", h2: h2Reset, gone: true, line: "/slow 499 -",
			errLine: `client canceled stream 1 while sending request to upstream, client: 127.0.0.1, server: , request: "GET /slow HTTP/2.0", upstream: "http://BACKEND/slow", host: "x"`},
		{name: "h2 close", path: "/slow", h2: h2Close, gone: true, line: "/slow 499 -",
			errLine: "client prematurely closed connection while processing HTTP/2 connection, client: 127.0.0.1, server: LISTEN"},
		// nginx writes the stream's line even when the abort is ignored.
		{name: "h2 ignored RST_STREAM", path: "/ign/slow", h2: h2Reset, line: "/ign/slow 200 200",
			errLine: `client canceled stream 1 while sending request to upstream, client: 127.0.0.1, server: , request: "GET /ign/slow HTTP/2.0", upstream: "http://BACKEND/slow", host: "x"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := startAbortBackend(t)
			in := startFulcrum(t, fmt.Sprintf(`
events {}
http {
    log_format st '$request_uri $status $upstream_status';
    access_log %%DIR%%/access.log st buffer=0;
    server {
        listen 127.0.0.1:0 ssl http2;
        ssl_certificate %s;
        ssl_certificate_key %s;
        location / { proxy_pass http://%s; }
        location /ign/ { proxy_pass http://%[3]s/; proxy_ignore_client_abort on; }
    }
}`, cert, key, strings.TrimPrefix(b.srv.URL, "http://")), 1)
			var leave func()
			if tt.h1 != nil {
				tc := sendTLSRequest(t, in.listening()[0], tt.path)
				leave = func() { tt.h1(t, tc) }
			} else {
				tc, fr := sendH2Request(t, in.listening()[0], tt.path)
				leave = func() { tt.h2(tc, fr) }
			}
			select {
			case <-b.arrived:
			case <-time.After(5 * time.Second):
				t.Fatal("request never reached the backend")
			}
			leave()
			select {
			case <-b.cancelled:
				if !tt.gone {
					t.Fatal("the upstream request was cut although the client is still there or aborts are ignored")
				}
			case <-time.After(2 * time.Second):
				if tt.gone {
					t.Fatal("the upstream request was not cut within 2 s of the client leaving")
				}
				close(b.release)
			}
			logPath := filepath.Join(in.dir, "access.log")
			waitFor(t, "the request's log line", func() bool {
				b, _ := os.ReadFile(logPath)
				return strings.Contains(string(b), tt.path+" ")
			})
			lines, _ := os.ReadFile(logPath)
			if first := firstLine(string(lines)); first != tt.line {
				t.Errorf("log line %q, want %q", first, tt.line)
			}
			checkAbortLine(t, in, tt.errLine, strings.NewReplacer("BACKEND", strings.TrimPrefix(b.srv.URL, "http://"), "LISTEN", in.listening()[0]))
		})
	}
}

// epollLine is nginx 1.22.1's info line for an HTTP/1.x client that went
// away while its request to the abort backend was at action (errno: "" or
// " (104: Connection reset by peer)"), as errLine/checkAbortLine want it.
func epollLine(errno, action, path string) string {
	return "epoll_wait() reported that client prematurely closed connection, so upstream connection is closed too" + errno +
		" while " + action + `, client: 127.0.0.1, server: , request: "GET ` + path + ` HTTP/1.1", upstream: "http://BACKEND` + path + `", host: "x"`
}

// checkAbortLine checks the error log for the info line of a client that
// went away: want (its addresses replaced by r) after the "*N " of an
// [info] line, polled for as the line may follow the access log's; with
// want "", no such line.
func checkAbortLine(t *testing.T, in *instance, want string, r *strings.Replacer) {
	t.Helper()
	if want == "" {
		for _, l := range in.logLines() {
			if strings.Contains(l, "prematurely closed") || strings.Contains(l, "client canceled") {
				t.Errorf("unexpected error log line %q", l)
			}
		}
		return
	}
	want = r.Replace(want)
	found := func() bool {
		for _, l := range in.logLines() {
			if _, msg, ok := strings.Cut(l, "[info] "); ok && strings.Contains(msg, ": *") && strings.HasSuffix(msg, want) {
				return true
			}
		}
		return false
	}
	deadline := time.Now().Add(2 * time.Second)
	for !found() {
		if time.Now().After(deadline) {
			t.Errorf("no error log line ending in %q:\n%s", want, strings.Join(in.logLines(), "\n"))
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// sendTLSRequest sends GET path over HTTP/1.1 on a new TLS connection.
func sendTLSRequest(t *testing.T, addr, path string) *tls.Conn {
	t.Helper()
	tc, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tc.NetConn().Close() })
	if _, err := fmt.Fprintf(tc, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path); err != nil {
		t.Fatal(err)
	}
	return tc
}

// sendH2Request sends GET path as stream 1 of a new HTTP/2 connection and
// reads frames in the background (and throws them away).
func sendH2Request(t *testing.T, addr, path string) (*tls.Conn, *http2.Framer) {
	t.Helper()
	tc, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tc.NetConn().Close() })
	if _, err := tc.Write([]byte(http2.ClientPreface)); err != nil {
		t.Fatal(err)
	}
	fr := http2.NewFramer(tc, tc)
	var hb bytes.Buffer
	enc := hpack.NewEncoder(&hb)
	for _, f := range [][2]string{{":method", "GET"}, {":scheme", "https"}, {":authority", "x"}, {":path", path}} {
		enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
	}
	if err := fr.WriteSettings(); err != nil {
		t.Fatal(err)
	}
	if err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: hb.Bytes(), EndStream: true, EndHeaders: true}); err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			if _, err := fr.ReadFrame(); err != nil {
				return
			}
		}
	}()
	return tc, fr
}
