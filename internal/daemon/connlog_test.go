package daemon_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestConnectionEndLines checks the info lines of a connection that ends
// while waiting for a request or inside a head, as nginx 1.22.1 wrote them
// for the same steps on raw sockets (keepalive_timeout and
// client_header_timeout 1s there; "*N" and the time left out). A
// keepalive_timeout expiry writes nothing: a new connection closed at
// once follows it, and its line must be the only one.
func TestConnectionEndLines(t *testing.T) {
	t.Parallel() // its own daemon and backends; waits on timers, no upper time bound
	dir := t.TempDir()
	addr := startDaemonLevel(t, dir, "info", `
    access_log off;
    keepalive_timeout 200ms;
    client_header_timeout 200ms;
    server { listen 127.0.0.1:0; location / { return 200 "ok\n"; } }`)
	logPath := filepath.Join(dir, "error.log")
	// A reset after part of a request line needs the daemon to have read
	// that part first (sendThen waits 100 ms): a daemon of its own with a
	// long client_header_timeout, so that a loaded machine cannot turn the
	// reset into a timeout.
	slowDir := t.TempDir()
	slowAddr := startDaemonLevel(t, slowDir, "info", `
    access_log off;
    client_header_timeout 30s;
    server { listen 127.0.0.1:0; location / { return 200 "ok\n"; } }`)
	slowLog := filepath.Join(slowDir, "error.log")
	const slowCase = "reset in the request line" // the case on that daemon
	const req = "GET / HTTP/1.1\r\nHost: x\r\n\r\n"
	waitingClosed := "client closed connection while waiting for request, client: 127.0.0.1, server: " + addr
	tests := []struct {
		name string
		run  func(t *testing.T)
		want []string
	}{
		{"close after a keep-alive response", func(t *testing.T) {
			c := served(t, addr, req)
			c.Close()
		}, []string{"client 127.0.0.1 closed keepalive connection"}},
		{"reset after a keep-alive response", func(t *testing.T) {
			c := served(t, addr, req)
			reset(c)
		}, []string{"client 127.0.0.1 closed keepalive connection (104: Connection reset by peer)"}},
		{"close in the request line", func(t *testing.T) {
			sendThen(t, addr, "GET / HT", false)
		}, []string{`client prematurely closed connection while reading client request line, client: 127.0.0.1, server: , request: "GET / HT"`}},
		{"close in the fields", func(t *testing.T) {
			sendThen(t, addr, "GET / HTTP/1.1\r\nHost: x\r\nX-A", false)
		}, []string{`client prematurely closed connection while reading client request headers, client: 127.0.0.1, server: , request: "GET / HTTP/1.1", host: "x"`}},
		{"close in a second request line", func(t *testing.T) {
			c := served(t, addr, req)
			io.WriteString(c, "GET / HT")
			c.Close()
		}, []string{`client prematurely closed connection while reading client request line, client: 127.0.0.1, server: , request: "GET / HT"`}},
		{"keepalive_timeout", func(t *testing.T) {
			c := served(t, addr, req)
			_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
			if n, err := c.Read(make([]byte, 1)); n != 0 || err == nil {
				t.Fatalf("read %d, %v after keepalive_timeout, want the close", n, err)
			}
			c.Close()
			sendThen(t, addr, "", false)
		}, []string{waitingClosed}},
		{"close before a request", func(t *testing.T) {
			sendThen(t, addr, "", false)
		}, []string{waitingClosed}},
		{"reset before a request", func(t *testing.T) {
			sendThen(t, addr, "", true)
		}, []string{"recv() failed (104: Connection reset by peer) while waiting for request, client: 127.0.0.1, server: " + addr}},
		{slowCase, func(t *testing.T) {
			sendThen(t, slowAddr, "GET / HT", true)
		}, []string{`recv() failed (104: Connection reset by peer) while reading client request line, client: 127.0.0.1, server: , request: "GET / HT"`}},
		{"client_header_timeout before a request", func(t *testing.T) {
			c := dialTCP(t, addr)
			awaitClose(t, c)
		}, []string{"client timed out (110: Connection timed out) while waiting for request, client: 127.0.0.1, server: " + addr}},
		{"client_header_timeout in a second request line", func(t *testing.T) {
			c := served(t, addr, req)
			io.WriteString(c, "GET / HT")
			awaitClose(t, c)
		}, []string{`client timed out (110: Connection timed out) while reading client request line, client: 127.0.0.1, server: , request: "GET / HT"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log := logPath
			if tt.name == slowCase {
				log = slowLog
			}
			before := logSize(log)
			tt.run(t)
			got := waitNewLines(t, log, before, len(tt.want))
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("logged:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func dialTCP(t *testing.T, addr string) *net.TCPConn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c.(*net.TCPConn)
}

// served sends head on a new connection and reads the response, leaving
// the connection open.
func served(t *testing.T, addr, head string) *net.TCPConn {
	t.Helper()
	c := dialTCP(t, addr)
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, head); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return c
}

// sendThen sends data (if any) on a new connection and closes it, with a
// reset when rst is set. Before a reset it waits a moment: a reset drops
// what the server has not read yet, and nothing tells the client when the
// server has read it.
func sendThen(t *testing.T, addr, data string, rst bool) {
	t.Helper()
	c := dialTCP(t, addr)
	if data != "" {
		io.WriteString(c, data)
	}
	if !rst {
		c.Close()
		return
	}
	if data != "" {
		time.Sleep(100 * time.Millisecond)
	}
	reset(c)
}

// reset ends c with a TCP RST.
func reset(c *net.TCPConn) error {
	_ = c.SetLinger(0)
	return c.Close()
}

// awaitClose reads c until the server closes it.
func awaitClose(t *testing.T, c *net.TCPConn) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.Copy(io.Discard, c); err != nil {
		t.Fatalf("waiting for the server's close: %v", err)
	}
}

func logSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

var logPrefix = regexp.MustCompile(`^\S+ \S+ \[info\] \d+#0: (\*\d+ )?`)

// waitNewLines polls the log at path for n info lines written after offset
// off, and returns them without their time, level, pid and connection.
func waitNewLines(t *testing.T, path string, off int64, n int) []string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		data, _ := os.ReadFile(path)
		var got []string
		for _, l := range strings.Split(string(data[min(off, int64(len(data))):]), "\n") {
			if strings.Contains(l, "[info]") {
				got = append(got, logPrefix.ReplaceAllString(l, ""))
			}
		}
		if len(got) >= n || time.Now().After(deadline) {
			return got
		}
		time.Sleep(10 * time.Millisecond)
	}
}
