package stream

import (
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"fulcrum/internal/testutil"
)

// The tests in this file replay what nginx 1.22.1's stream module
// (libnginx-mod-stream) did with the same configurations, clients and
// backends (an echo, one that closes at once, a port nothing listens on,
// one that never accepts), as recorded side by side with fulcrum.

// blackholeAddr returns an address whose connects hang: a listen socket
// with a full accept queue, so that the kernel drops further SYNs.
func blackholeAddr(t *testing.T) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", sa.(*syscall.SockaddrInet4).Port)
	for i := 0; i < 3; i++ { // a backlog of 0 still queues one
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			t.Cleanup(func() { c.Close() })
		}
	}
	return addr
}

// TestReturnAsNginx: in a return value $status is "000" (nginx has none
// before the session ends), the session ends with no "client disconnected"
// line, and a UDP client's datagram counts in $bytes_received.
func TestReturnAsNginx(t *testing.T) {
	tests := []struct {
		name, network, want, log string
	}{
		{"tcp", "tcp", "[000]\n", "200 6 0\n"},
		{"udp", "udp", "[000]\n", "200 6 1\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			listen := "127.0.0.1:0"
			if tt.network == "udp" {
				listen += " udp"
			}
			_, addr := start(t, load(t, dir, `log_format f '$status $bytes_sent $bytes_received';
server { listen `+listen+`; return "[$status]\n"; access_log %DIR%/s.log f; error_log %DIR%/err.log info; }`))
			c, err := net.Dial(tt.network, addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(5 * time.Second))
			buf := make([]byte, 100)
			if tt.network == "udp" {
				c.Write([]byte("a"))
			}
			n, err := io.ReadAtLeast(c, buf, len(tt.want))
			if err != nil || string(buf[:n]) != tt.want {
				t.Fatalf("answer %q, %v; want %q", buf[:n], err, tt.want)
			}
			waitFor(t, "the log line", func() bool { return readFile(t, filepath.Join(dir, "s.log")) == tt.log })
			if e := readFile(t, filepath.Join(dir, "err.log")); strings.Contains(e, "disconnected") {
				t.Errorf("error log has a disconnected line:\n%s", e)
			}
		})
	}
}

// TestNoLiveUpstreamsAsNginx: once both servers are down, nginx records
// the upstream's name as the server tried: "[u] [0] [0] [-]" in the log,
// upstream: "u" in the error line; a failed try's $upstream_session_time
// is the time it took (0.000 for the name).
func TestNoLiveUpstreamsAsNginx(t *testing.T) {
	dir := t.TempDir()
	d1, d2 := deadAddr(t), deadAddr(t)
	_, addr := start(t, load(t, dir, fmt.Sprintf(`log_format f '$status [$upstream_addr] [$upstream_bytes_sent] [$upstream_bytes_received] [$upstream_connect_time]';
log_format times $upstream_session_time;
upstream u { server %s; server %s backup; }
server { listen 127.0.0.1:0; proxy_pass u; access_log %%DIR%%/s.log f; access_log %%DIR%%/t.log times; error_log %%DIR%%/err.log; }`, d1, d2)))
	want := fmt.Sprintf("502 [%s, %s] [0, 0] [0, 0] [-, -]\n502 [u] [0] [0] [-]\n", d1, d2)
	for i := 1; i <= 2; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		io.ReadAll(c)
		c.Close()
		waitFor(t, "the log lines", func() bool {
			return strings.Count(readFile(t, filepath.Join(dir, "s.log")), "\n") == i &&
				strings.Count(readFile(t, filepath.Join(dir, "t.log")), "\n") == i
		})
	}
	if got := readFile(t, filepath.Join(dir, "s.log")); got != want {
		t.Errorf("log\n%s\nwant\n%s", got, want)
	}
	// Each try's $upstream_session_time is the time it took, not "-".
	if got := readFile(t, filepath.Join(dir, "t.log")); !regexp.MustCompile(`^\d+\.\d{3}, \d+\.\d{3}\n0\.000\n$`).MatchString(got) {
		t.Errorf("$upstream_session_time %q, want two times, then 0.000", got)
	}
	line := `no live upstreams while connecting to upstream, client: 127.0.0.1, server: ` + addr + `, upstream: "u", bytes from/to client:0/0, bytes from/to upstream:0/0`
	if e := readFile(t, filepath.Join(dir, "err.log")); !strings.Contains(e, line) {
		t.Errorf("error log lacks %q:\n%s", line, e)
	}
}

// TestFailedConnectResets: when no server could be connected, nginx has
// not read what the client sent, and its close resets the connection.
func TestFailedConnectResets(t *testing.T) {
	_, addr := start(t, load(t, t.TempDir(), fmt.Sprintf(
		"server { listen 127.0.0.1:0; proxy_pass %s; proxy_connect_timeout 300ms; }", blackholeAddr(t))))
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte("hi\n")); err != nil {
		t.Fatal(err)
	}
	_, err = io.ReadAll(c)
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("read: %v, want a reset", err)
	}
}

// lineWith returns the line of log that contains part ("" when none).
func lineWith(log, part string) string {
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, part) {
			return l
		}
	}
	return ""
}

// TestDisconnectLinesAsNginx: the line at a session's end names the side
// that ended it, and a reset is logged as nginx's recv() line, at error
// for the upstream server and at info for the client.
func TestDisconnectLinesAsNginx(t *testing.T) {
	// backend answers "bye\n" to a line and closes, or resets without
	// answering.
	backend := func(t *testing.T, reset bool) string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				buf := make([]byte, 3)
				io.ReadFull(c, buf)
				if reset {
					c.(*net.TCPConn).SetLinger(0)
				} else {
					c.Write([]byte("bye\n"))
				}
				c.Close()
			}
		}()
		return ln.Addr().String()
	}
	tests := []struct {
		name string
		// reset: the backend resets; clientReset: the client resets after
		// the answer.
		reset, clientReset bool
		// lines are "[level] *2 text" with ADDR and UP for the addresses;
		// a recv() line's counts race with the reset, so they are left out.
		lines []string
	}{
		{"upstream closes", false, false, []string{
			"[info] *2 upstream disconnected, bytes from/to client:3/4, bytes from/to upstream:4/3"}},
		{"upstream resets", true, false, []string{
			`[error] *2 recv() failed (104: Connection reset by peer) while proxying and reading from upstream, client: 127.0.0.1, server: ADDR, upstream: "UP", `,
			"[info] *2 upstream disconnected, bytes from/to client:3/0, bytes from/to upstream:0/3"}},
		{"client resets", false, true, []string{
			`[info] *2 recv() failed (104: Connection reset by peer) while proxying and reading from client, client: 127.0.0.1, server: ADDR, upstream: "UP", `,
			"[info] *2 client disconnected, bytes from/to client:3/5, bytes from/to upstream:5/3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			up := backend(t, tt.reset)
			if tt.clientReset { // answers, then waits for the client
				up = startEcho(t, "e").addr()
			}
			_, addr := start(t, load(t, dir, fmt.Sprintf(
				"log_format f $status;\nserver { listen 127.0.0.1:0; proxy_pass %s; access_log %%DIR%%/s.log f; error_log %%DIR%%/err.log info; }", up)))
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(5 * time.Second))
			c.Write([]byte("hi\n"))
			if tt.clientReset {
				buf := make([]byte, 5)
				io.ReadFull(c, buf) // "e hi\n"
				c.(*net.TCPConn).SetLinger(0)
				c.Close()
			} else {
				io.ReadAll(c)
			}
			waitFor(t, "the access log line", func() bool { return strings.Count(readFile(t, filepath.Join(dir, "s.log")), "\n") == 1 })
			e := readFile(t, filepath.Join(dir, "err.log"))
			for _, want := range tt.lines {
				want = strings.NewReplacer("ADDR", addr, "UP", up).Replace(want)
				level, text, _ := strings.Cut(want, " *2 ")
				if l := lineWith(e, text); !strings.Contains(l, level+" ") {
					t.Errorf("no line %q in\n%s", want, e)
				}
			}
		})
	}
}

// TestUDPEndsAsNginx: how a UDP session ends with proxy_responses and
// proxy_requests, its $status and nginx's lines ("udp done", "udp timed
// out", the upstream's timeout while answers are missing), with "udp "
// before "client" and "proxy".
func TestUDPEndsAsNginx(t *testing.T) {
	silent, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { silent.Close() })
	echo := startUDPEcho(t, "u")
	tests := []struct {
		name, up, settings string
		send               []string // each waits for its answer, but the last
		log                string   // $status $bytes_sent $bytes_received
		// lines are "[level] text" with ADDR and UP for the addresses.
		lines []string
	}{
		{"responses 0", echo, "proxy_responses 0;", []string{"a"}, "200 0 1\n", []string{
			"[info] udp done, packets from/to client:1/0, bytes from/to client:1/0, bytes from/to upstream:0/1"}},
		{"requests 2 responses 1", echo, "proxy_requests 2; proxy_responses 1;", []string{"a", "b"}, "200 6 2\n", []string{
			"[info] udp done, packets from/to client:2/2, bytes from/to client:2/6, bytes from/to upstream:6/2"}},
		{"missing responses", silent.LocalAddr().String(), "proxy_responses 1;", []string{"a"}, "502 0 1\n", []string{
			`[error] upstream timed out (110: Connection timed out) while proxying connection, udp client: 127.0.0.1, server: ADDR, upstream: "UP", bytes from/to client:1/0, bytes from/to upstream:0/1`}},
		{"no responses expected", silent.LocalAddr().String(), "", []string{"a"}, "200 0 1\n", []string{
			"[info] udp client 127.0.0.1:",
			"[info] udp proxy 127.0.0.1:",
			"[info] udp timed out, packets from/to client:1/0, bytes from/to client:1/0, bytes from/to upstream:0/1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			_, addr := start(t, load(t, dir, fmt.Sprintf(`log_format f '$status $bytes_sent $bytes_received';
server { listen 127.0.0.1:0 udp; proxy_pass %s; proxy_timeout 300ms; %s access_log %%DIR%%/s.log f; error_log %%DIR%%/err.log info; }`, tt.up, tt.settings)))
			c, err := net.Dial("udp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(5 * time.Second))
			buf := make([]byte, 100)
			for i, m := range tt.send {
				c.Write([]byte(m))
				if i < len(tt.send)-1 {
					if _, err := c.Read(buf); err != nil {
						t.Fatal(err)
					}
				}
			}
			path := filepath.Join(dir, "s.log")
			waitFor(t, "the log line", func() bool { return strings.Count(readFile(t, path), "\n") == 1 })
			if got := readFile(t, path); got != tt.log {
				t.Errorf("log %q, want %q", got, tt.log)
			}
			e := readFile(t, filepath.Join(dir, "err.log"))
			for _, want := range tt.lines {
				want = strings.NewReplacer("ADDR", addr, "UP", tt.up).Replace(want)
				level, text, _ := strings.Cut(want, " ")
				if l := lineWith(e, text); !strings.Contains(l, level+" ") {
					t.Errorf("no line %q in\n%s", want, e)
				}
			}
		})
	}
}

// TestListenTextAsNginx: nginx's lines name the listen address as
// configured ("listen PORT" is 0.0.0.0:PORT), not the connection's local
// address.
func TestListenTextAsNginx(t *testing.T) {
	for _, network := range []string{"tcp", "udp"} {
		t.Run(network, func(t *testing.T) {
			dir := t.TempDir()
			port := strings.TrimPrefix(deadAddr(t), "127.0.0.1:") // free, most likely
			udp := ""
			if network == "udp" {
				udp = " udp"
			}
			start(t, load(t, dir, fmt.Sprintf(
				"server { listen %s%s; proxy_pass %s; proxy_responses 0; error_log %%DIR%%/err.log info; }", port, udp, deadAddr(t))))
			c, err := net.Dial(network, "127.0.0.1:"+port)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.Write([]byte("a"))
			want := "connected to 0.0.0.0:" + port
			waitFor(t, "the connected line", func() bool { return strings.Contains(readFile(t, filepath.Join(dir, "err.log")), want) })
			if network == "tcp" {
				want = "server: 0.0.0.0:" + port + `, upstream: "`
				waitFor(t, "the connect line", func() bool { return strings.Contains(readFile(t, filepath.Join(dir, "err.log")), want) })
			}
		})
	}
}

// TestUDPServerFailsAsNginx: a UDP server whose port is closed (an ICMP
// port unreachable) or that leaves answers missing at proxy_timeout counts
// a failure (max_fails), as nginx 1.22.1 does (recorded): for the closed
// port the recv() line, an empty datagram to the client that counts as an
// answer, then "udp done" (or "udp timed out" without proxy_responses) and
// the warning; the next session goes to the other server.
func TestUDPServerFailsAsNginx(t *testing.T) {
	closed := udpDeadAddr(t)
	silent, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { silent.Close() })
	echo := startUDPEcho(t, "u")
	tests := []struct {
		name, bad, settings string
		answer              bool   // the client gets an empty datagram
		log                 string // $status $bytes_sent $bytes_received $upstream_addr
		lines               []string
	}{
		{"closed port", closed, "proxy_responses 1;", true, "200 0 1 BAD\n", []string{
			`[error] recv() failed (111: Connection refused) while proxying and reading from upstream, udp client: 127.0.0.1, server: ADDR, upstream: "BAD", bytes from/to client:1/0, bytes from/to upstream:0/1`,
			"[info] udp done, packets from/to client:1/1, bytes from/to client:1/0, bytes from/to upstream:0/1",
			`[warn] upstream server temporarily disabled while proxying connection, udp client: 127.0.0.1, server: ADDR, upstream: "BAD"`}},
		{"closed port without proxy_responses", closed, "", true, "200 0 1 BAD\n", []string{
			"[info] udp timed out, packets from/to client:1/1, bytes from/to client:1/0, bytes from/to upstream:0/1",
			`[warn] upstream server temporarily disabled while proxying connection`}},
		{"missing answer", silent.LocalAddr().String(), "proxy_responses 1;", false, "502 0 1 BAD\n", []string{
			`[error] upstream timed out (110: Connection timed out) while proxying connection, udp client: 127.0.0.1, server: ADDR, upstream: "BAD"`,
			`[warn] upstream server temporarily disabled while proxying connection, udp client: 127.0.0.1, server: ADDR, upstream: "BAD"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			_, addr := start(t, load(t, dir, fmt.Sprintf(`log_format f '$status $bytes_sent $bytes_received $upstream_addr';
upstream u { server %s max_fails=1 fail_timeout=10s; server %s; }
server { listen 127.0.0.1:0 udp; proxy_pass u; proxy_timeout 300ms; %s access_log %%DIR%%/s.log f buffer=0; error_log %%DIR%%/err.log info; }`, tt.bad, echo, tt.settings)))
			path := filepath.Join(dir, "s.log")
			buf := make([]byte, 100)
			for i := range 2 {
				c, err := net.Dial("udp", addr)
				if err != nil {
					t.Fatal(err)
				}
				_ = c.SetDeadline(time.Now().Add(5 * time.Second))
				c.Write([]byte("a"))
				if i == 0 && tt.answer {
					if n, err := c.Read(buf); err != nil || n != 0 {
						t.Errorf("answer %q, %v; want an empty datagram", buf[:n], err)
					}
				}
				if i == 1 { // the failed server is skipped: the echo answers
					if n, err := c.Read(buf); err != nil || string(buf[:n]) != "u a" {
						t.Errorf("second session's answer %q, %v; want the echo's", buf[:n], err)
					}
				}
				waitFor(t, "the log line", func() bool { return strings.Count(readFile(t, path), "\n") == i+1 })
				c.Close()
			}
			want := strings.ReplaceAll(tt.log, "BAD", tt.bad) + "200 3 1 " + echo + "\n"
			if got := readFile(t, path); got != want {
				t.Errorf("log %q, want %q", got, want)
			}
			e := readFile(t, filepath.Join(dir, "err.log"))
			for _, want := range tt.lines {
				want = strings.NewReplacer("ADDR", addr, "BAD", tt.bad).Replace(want)
				level, text, _ := strings.Cut(want, " ")
				if l := lineWith(e, text); !strings.Contains(l, level+" ") {
					t.Errorf("no line %q in\n%s", want, e)
				}
			}
			if strings.Index(e, "udp done") > strings.Index(e, "temporarily disabled") && strings.Contains(tt.settings, "responses") && tt.answer {
				t.Errorf("the warning comes before the session's line:\n%s", e)
			}
		})
	}
}

// TestUDPNoLiveUpstreams: nginx 1.22.1 counts the datagram that started a
// UDP session as received from its start, so a session that finds no live
// upstream logs it (recorded: "upstream: "u", bytes from/to client:3/0" and
// $bytes_received 3 for a 3-byte datagram to an upstream whose only server
// is down).
func TestUDPNoLiveUpstreams(t *testing.T) {
	dir := t.TempDir()
	_, addr := start(t, load(t, dir, `log_format f '$protocol $status $bytes_received $bytes_sent "$upstream_addr"';
upstream u { server 127.0.0.1:9 down; }
server { listen 127.0.0.1:0 udp; proxy_pass u; proxy_responses 1; proxy_timeout 1s; access_log %DIR%/s.log f buffer=0; error_log %DIR%/err.log; }`))
	c, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("abc"))
	path := filepath.Join(dir, "s.log")
	waitFor(t, "the log line", func() bool { return strings.Count(readFile(t, path), "\n") == 1 })
	if got, want := readFile(t, path), "UDP 502 3 0 \"u\"\n"; got != want {
		t.Errorf("log %q, want %q", got, want)
	}
	line := `no live upstreams while connecting to upstream, udp client: 127.0.0.1, server: ` + addr + `, upstream: "u", bytes from/to client:3/0, bytes from/to upstream:0/0`
	if e := readFile(t, filepath.Join(dir, "err.log")); !strings.Contains(e, line) {
		t.Errorf("error log lacks %q:\n%s", line, e)
	}
}

// udpDeadAddr is a UDP address nothing listens on (most likely).
func udpDeadAddr(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := pc.LocalAddr().String()
	pc.Close()
	return a
}

// TestFirstByteTimeOnEnd: nginx's ngx_stream_proxy_process takes a read that
// ends the upstream's side (a TCP server that closes without a byte, a UDP
// server whose port refuses the datagram) as its first read:
// $upstream_first_byte_time is set although no byte came (recorded with
// nginx 1.22.1: "[0] [0.000]"). fulcrum logged "-". A server that stays
// silent until proxy_timeout keeps "-" in both.
func TestFirstByteTimeOnEnd(t *testing.T) {
	closer := testutil.RawBackend(t, func(c net.Conn) {})
	silent, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { silent.Close() })
	tests := []struct {
		name, network, listen, up, want string
	}{
		{"tcp server closes", "tcp", "127.0.0.1:0", closer, `^\[0\] \[\d+\.\d{3}\]\n$`},
		{"udp port refuses", "udp", "127.0.0.1:0 udp", deadUDP(t), `^\[0\] \[\d+\.\d{3}\]\n$`},
		{"udp server silent", "udp", "127.0.0.1:0 udp", silent.LocalAddr().String(), `^\[0\] \[-\]\n$`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			_, addr := start(t, load(t, dir, fmt.Sprintf(`log_format f '[$upstream_bytes_received] [$upstream_first_byte_time]';
server { listen %s; proxy_pass %s; proxy_timeout 300ms; access_log %%DIR%%/s.log f; }`, tt.listen, tt.up)))
			c, err := net.Dial(tt.network, addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(5 * time.Second))
			if tt.network == "udp" {
				c.Write([]byte("a"))
			}
			path := filepath.Join(dir, "s.log")
			waitFor(t, "the log line", func() bool { return strings.Count(readFile(t, path), "\n") == 1 })
			if got := readFile(t, path); !regexp.MustCompile(tt.want).MatchString(got) {
				t.Errorf("log %q, want %s", got, tt.want)
			}
		})
	}
}
