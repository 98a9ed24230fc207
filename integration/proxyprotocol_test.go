package integration

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"fulcrum/internal/testutil"
)

// The answers and log lines below are nginx 1.22.1's for the same
// configurations and bytes, recorded with raw sockets (the branch h-pp's
// report has the commands).

// ppV2 is a PROXY protocol v2 header for TCP over IPv4 from 192.0.2.1:5000
// to 198.51.100.2:443, with one TLV that is skipped.
func ppV2() []byte {
	b := []byte("\r\n\r\n\x00\r\nQUIT\n\x21\x11\x00\x00")
	body := []byte{192, 0, 2, 1, 198, 51, 100, 2, 0x13, 0x88, 0x01, 0xbb, 0x04, 0x00, 0x03, 'a', 'b', 'c'}
	binary.BigEndian.PutUint16(b[14:], uint16(len(body)))
	return append(b, body...)
}

// ppExchange sends b in one write and returns all that comes back until
// the server closes (or 5 seconds pass).
func ppExchange(t *testing.T, addr string, b []byte) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write(b); err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(c)
	return string(out)
}

// ppBody is the body of a raw HTTP response ("" without one).
func ppBody(resp string) string {
	_, b, _ := strings.Cut(resp, "\r\n\r\n")
	return b
}

// TestProxyProtocolHTTP reads PROXY protocol headers on an http address
// with real_ip_header proxy_protocol, next to an address without the
// parameter.
func TestProxyProtocolHTTP(t *testing.T) {
	in := startFulcrum(t, `error_log stderr info;
events {}
http {
    server { listen 127.0.0.1:0 proxy_protocol; set_real_ip_from 127.0.0.1; real_ip_header proxy_protocol;
        return 200 "pp $proxy_protocol_addr:$proxy_protocol_port $proxy_protocol_server_addr:$proxy_protocol_server_port remote=$remote_addr:$remote_port realip=$realip_remote_addr\n"; }
    server { listen 127.0.0.2:0; return 200 "plain [$proxy_protocol_addr]\n"; }
}`, 2)
	const get = "GET / HTTP/1.0\r\n\r\n"
	v1 := "PROXY TCP4 192.0.2.1 198.51.100.2 5000 443\r\n"
	pp, plain := in.listening()[0], in.listening()[1]
	if strings.HasPrefix(pp, "127.0.0.2:") {
		pp, plain = plain, pp
	}
	tests := []struct {
		name, addr, send, want string
	}{
		{"v1", pp, v1 + get, "pp 192.0.2.1:5000 198.51.100.2:443 remote=192.0.2.1:5000 realip=127.0.0.1\n"},
		{"v1 IPv6", pp, "PROXY TCP6 2001:db8::1 2001:db8::2 5001 8443\r\n" + get, "pp 2001:db8::1:5001 2001:db8::2:8443 remote=2001:db8::1:5001 realip=127.0.0.1\n"},
		{"v2 with a TLV", pp, string(ppV2()) + get, "pp 192.0.2.1:5000 198.51.100.2:443 remote=192.0.2.1:5000 realip=127.0.0.1\n"},
		{"unknown keeps the peer", pp, "PROXY UNKNOWN\r\n" + get, "pp : : remote=127.0.0.1:"},
		{"not an address: kept as text, not used by realip", pp, "PROXY TCP4 abc.def 1.2.3.4 5000 443\r\n" + get, "pp abc.def:5000 1.2.3.4:443 remote=127.0.0.1:"},
		{"port 0 prints empty", pp, "PROXY TCP4 1.2.3.4 5.6.7.8 0 0\r\n" + get, "pp 1.2.3.4: 5.6.7.8: remote=1.2.3.4: realip=127.0.0.1\n"},
		{"broken header closes", pp, "PROXY TCP4 1.2.3.4 5.6.7.8 65536 443\r\n" + get, ""},
		{"no header closes", pp, get, ""},
		{"plain address reads no header", plain, get, "plain []\n"},
		{"plain address takes a header as a bad request", plain, v1 + get, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ppBody(ppExchange(t, tt.addr, []byte(tt.send)))
			if tt.want == "" || strings.HasSuffix(tt.want, "\n") {
				if got != tt.want && !(tt.addr == plain && tt.want == "" && strings.Contains(got, "400 Bad Request")) {
					t.Errorf("got %q, want %q", got, tt.want)
				}
				return
			}
			if !strings.HasPrefix(got, tt.want) {
				t.Errorf("got %q, want it to start with %q", got, tt.want)
			}
		})
	}

	t.Run("requests pipelined with the header are served", func(t *testing.T) {
		got := ppExchange(t, pp, []byte(v1+"GET /a HTTP/1.1\r\nHost: a\r\n\r\nGET /b HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"))
		if n := strings.Count(got, "remote=192.0.2.1:5000"); n != 2 {
			t.Errorf("%d answers from the header's address, want 2:\n%s", n, got)
		}
	})
	t.Run("broken header logged as nginx", func(t *testing.T) {
		if got := ppExchange(t, pp, []byte("PROXY TCP4")); got != "" {
			t.Errorf("answer %q to a header cut short, want the connection closed", got)
		}
		line := `broken header: "PROXY TCP4" while reading PROXY protocol, client: 127.0.0.1, server: ` + pp
		waitFor(t, "the broken header line", func() bool { return in.logged("[error]") && in.logged(line) })
	})
	t.Run("v2 of another version logged as nginx", func(t *testing.T) {
		b := ppV2()
		b[12] = 0x11
		ppExchange(t, pp, b)
		waitFor(t, "the version line", func() bool {
			return in.logged("unknown PROXY protocol version: 1 while reading PROXY protocol, client: 127.0.0.1, server: " + pp)
		})
	})
}

// TestProxyProtocolHTTPTimeout checks that a connection that sends no
// header within client_header_timeout is closed with nginx's info line.
func TestProxyProtocolHTTPTimeout(t *testing.T) {
	t.Parallel() // its own process, backends and temp dir; no upper time bound
	in := startFulcrum(t, `error_log stderr info;
events {}
http { server { listen 127.0.0.1:0 proxy_protocol; client_header_timeout 300ms; return 200 "x"; } }`, 1)
	addr := in.listening()[0]
	if got := ppExchange(t, addr, nil); got != "" {
		t.Errorf("answer %q, want the connection closed", got)
	}
	waitFor(t, "the timeout line", func() bool {
		return in.logged("client timed out (110: Connection timed out) while reading PROXY protocol, client: 127.0.0.1, server: " + addr)
	})
}

// TestProxyProtocolStream proxies a stream session that starts with a
// PROXY protocol header: the payload in the same packet reaches the
// upstream server, set_real_ip_from makes the header's source the client
// (in the header proxy_protocol on sends upstream too), and the access log
// has the variables.
func TestProxyProtocolStream(t *testing.T) {
	up := testutil.RawBackend(t, func(c net.Conn) {
		r := bufio.NewReader(c)
		header, _ := r.ReadString('\n')
		payload, _ := r.ReadString('\n')
		fmt.Fprintf(c, "%q %q\n", header, payload)
	})
	in := startFulcrum(t, `error_log stderr info;
events {}
stream {
    log_format f '$remote_addr:$remote_port $realip_remote_addr pp=$proxy_protocol_addr:$proxy_protocol_port srv=$proxy_protocol_server_addr:$proxy_protocol_server_port $status';
    access_log %DIR%/logs/stream.log f buffer=0;
    server { listen 127.0.0.1:0 proxy_protocol; set_real_ip_from 127.0.0.0/8; proxy_pass `+up+`; proxy_protocol on; }
}`, 1)
	addr := in.listening()[0]
	got := ppExchange(t, addr, []byte("PROXY TCP6 2001:db8::1 2001:db8::2 5001 8443\r\nhello\n"))
	want := fmt.Sprintf("%q %q\n", "PROXY TCP6 2001:db8::1 127.0.0.1 5001 "+addr[strings.LastIndex(addr, ":")+1:]+"\r\n", "hello\n")
	if got != want {
		t.Errorf("upstream saw %s, want %s", got, want)
	}
	logPath := filepath.Join(in.dir, "logs", "stream.log")
	waitFor(t, "the log line", func() bool { return strings.Contains(readText(logPath), "\n") })
	if line := readText(logPath); line != "2001:db8::1:5001 127.0.0.1 pp=2001:db8::1:5001 srv=2001:db8::2:8443 200\n" {
		t.Errorf("log line %q", line)
	}
}

// TestProxyProtocolStreamRefused checks the stream ends of a header that
// does not come: broken ($status 400, error line) and timed out
// (proxy_protocol_timeout, $status 200, info line), as nginx logs them;
// and deny applied to the address realip took from the header (403).
func TestProxyProtocolStreamRefused(t *testing.T) {
	t.Parallel() // its own process, backends and temp dir; no upper time bound
	in := startFulcrum(t, `error_log stderr info;
events {}
stream {
    log_format f '$remote_addr [$proxy_protocol_addr] $status';
    access_log %DIR%/logs/stream.log f buffer=0;
    server { listen 127.0.0.1:0 proxy_protocol; proxy_protocol_timeout 300ms; set_real_ip_from 127.0.0.1; deny 192.0.2.1;
        return "pp=$proxy_protocol_addr:$proxy_protocol_port\n"; }
}`, 1)
	addr := in.listening()[0]
	if got := ppExchange(t, addr, []byte("PROXY UNKNOWN\r\n")); got != "pp=:\n" {
		t.Errorf("UNKNOWN answered %q", got)
	}
	if got := ppExchange(t, addr, []byte("PROXY TCP4 192.0.2.1 198.51.100.2 5000 443\r\n")); got != "" {
		t.Errorf("a denied client was answered %q", got)
	}
	if got := ppExchange(t, addr, []byte("HELLO\r\n")); got != "" {
		t.Errorf("a broken header answered %q", got)
	}
	if got := ppExchange(t, addr, nil); got != "" {
		t.Errorf("no header answered %q", got)
	}
	for _, l := range []string{
		`broken header: "HELLO`,
		"access forbidden by rule while initializing session, client: 192.0.2.1, server: " + addr,
		"client timed out (110: Connection timed out) while reading PROXY protocol, client: 127.0.0.1, server: " + addr,
	} {
		waitFor(t, l, func() bool { return in.logged(l) })
	}
	logPath := filepath.Join(in.dir, "logs", "stream.log")
	waitFor(t, "four log lines", func() bool { return strings.Count(readText(logPath), "\n") >= 4 })
	// A session's line is written as it ends, which may be after the
	// client read its answer and the next session began: compare the
	// lines in order of their text.
	lines := strings.Split(strings.TrimSuffix(readText(logPath), "\n"), "\n")
	sort.Strings(lines)
	if got, want := strings.Join(lines, "\n"), "127.0.0.1 [-] 200\n127.0.0.1 [-] 200\n127.0.0.1 [-] 400\n192.0.2.1 [192.0.2.1] 403"; got != want {
		t.Errorf("log lines (sorted) %q, want %q", got, want)
	}
}

// TestProxyProtocolHTTP2 reads the header before HTTP/2's preface on a
// plain "listen ... proxy_protocol http2" address (h2c), as nginx 1.22.1
// does.
func TestProxyProtocolHTTP2(t *testing.T) {
	in := startFulcrum(t, `events {}
http { server { listen 127.0.0.1:0 proxy_protocol http2; return 200 "$server_protocol $proxy_protocol_addr:$proxy_protocol_port"; } }`, 1)
	addr := in.listening()[0]
	tr := &http.Transport{Protocols: new(http.Protocols),
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			c, err := d.DialContext(ctx, "tcp", addr)
			if err == nil {
				_, err = c.Write(ppV2())
			}
			return c, err
		}}
	tr.Protocols.SetUnencryptedHTTP2(true)
	defer tr.CloseIdleConnections()
	for i := range 2 { // two streams on one connection, one header
		resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Get("http://h2.test/")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != "HTTP/2.0 192.0.2.1:5000" {
			t.Errorf("request %d: %q", i, b)
		}
	}
}

// TestProxyProtocolTLS reads the header before the TLS handshake of an
// ssl address; a client that sends nothing is closed within
// client_header_timeout of the accept, as nginx 1.22.1 closes it.
func TestProxyProtocolTLS(t *testing.T) {
	dir := t.TempDir()
	cert, key := testutil.WriteCert(t, dir, "site", testutil.ECDSA, "a.test")
	in := startFulcrum(t, `error_log stderr info;
events {}
http { server { listen 127.0.0.1:0 ssl proxy_protocol; ssl_certificate `+cert+`; ssl_certificate_key `+key+`; client_header_timeout 300ms;
    return 200 "$https $proxy_protocol_addr"; } }`, 1)
	addr := in.listening()[0]
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write(ppV2()); err != nil {
		t.Fatal(err)
	}
	tc := tls.Client(c, &tls.Config{InsecureSkipVerify: true, ServerName: "a.test"})
	if _, err := io.WriteString(tc, "GET / HTTP/1.0\r\nHost: a.test\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	if got, _ := io.ReadAll(tc); ppBody(string(got)) != "on 192.0.2.1" {
		t.Errorf("answer %q", got)
	}
	start := time.Now()
	if got := ppExchange(t, addr, nil); got != "" {
		t.Errorf("answer %q to a silent client", got)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("a silent client was closed after %v, want client_header_timeout (300ms)", d)
	}
	waitFor(t, "the timeout line", func() bool {
		return in.logged("client timed out (110: Connection timed out) while reading PROXY protocol, client: 127.0.0.1, server: " + addr)
	})
}

// TestProxyProtocolFirstRequestTimeout: client_header_timeout runs from the
// accept through the header to the first request's head, one timer as in
// nginx, so a header that comes late leaves the request the rest of it.
func TestProxyProtocolFirstRequestTimeout(t *testing.T) {
	in := startFulcrum(t, `events {}
http { server { listen 127.0.0.1:0 proxy_protocol; client_header_timeout 1s; return 200 "x"; } }`, 1)
	c, err := net.Dial("tcp", in.listening()[0])
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	time.Sleep(600 * time.Millisecond) // the header comes late: the point of the test
	if _, err := io.WriteString(c, "PROXY UNKNOWN\r\n"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(700 * time.Millisecond) // past 1s from the accept, within 1s of the header
	_, _ = io.WriteString(c, "GET / HTTP/1.0\r\n\r\n")
	if got, _ := io.ReadAll(c); len(got) != 0 {
		t.Errorf("answered %q after client_header_timeout from the accept, want the connection closed", got)
	}
}
