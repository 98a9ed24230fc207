package daemon_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"fulcrum/internal/testutil"
)

// statusPage is nginx's stub_status page for the counts.
func statusPage(active, accepts, handled, requests, reading, writing, waiting int) string {
	return fmt.Sprintf("Active connections: %d \nserver accepts handled requests\n %d %d %d \nReading: %d Writing: %d Waiting: %d \n",
		active, accepts, handled, requests, reading, writing, waiting)
}

// monitor reads a status page over one keep-alive connection, as a scraper
// does, counting the requests it made.
type monitor struct {
	t    *testing.T
	c    net.Conn
	br   *bufio.Reader
	sent int
}

func newMonitor(t *testing.T, addr string) *monitor {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &monitor{t: t, c: c, br: bufio.NewReader(c)}
}

// get sends one request and returns the response.
func (m *monitor) get(method, uri string) (*http.Response, string) {
	m.t.Helper()
	m.sent++
	_ = m.c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(m.c, method+" "+uri+" HTTP/1.1\r\nHost: a\r\n\r\n"); err != nil {
		m.t.Fatal(err)
	}
	resp, err := http.ReadResponse(m.br, &http.Request{Method: method})
	if err != nil {
		m.t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		m.t.Fatal(err)
	}
	return resp, string(body)
}

// await reads the page until want(requests) is what it says, each read
// adding one request; it fails after a deadline.
func (m *monitor) await(step string, want func(requests int) string) {
	m.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, body := m.get(http.MethodGet, "/s")
		w := want(m.sent)
		if body == w {
			return
		}
		if time.Now().After(deadline) {
			m.t.Fatalf("%s: status page\n%q\nwant\n%q", step, body, w)
		}
	}
}

// stubStatusBackend answers /ws with 101 and keeps the stream open, and
// never answers /slow.
func stubStatusBackend(t *testing.T) string {
	return testutil.RawBackend(t, func(c net.Conn) {
		req, err := http.ReadRequest(bufio.NewReader(c))
		if err != nil {
			return
		}
		if req.URL.Path == "/ws" {
			_, _ = io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
		}
		_, _ = io.Copy(io.Discard, c) // until the client's side closes
	})
}

const stubStatusConf = `pid %[1]s/fulcrum.pid;
error_log %[1]s/error.log info;
http {
    access_log off;
    keepalive_requests 1000000; # the monitor polls on one connection
    server {
        listen 127.0.0.1:0;
        location = /s { stub_status; }
        location = /x { return 200 "x\n"; }
        location = /v { return 200 "a=$connections_active r=$connections_reading w=$connections_writing wa=$connections_waiting\n"; }
        location /slow { proxy_pass http://%[2]s; proxy_read_timeout 60s; }
        location /ws { proxy_pass http://%[2]s; }
        %[3]s
    }
}
`

// TestStubStatusCounts drives connections through every state and checks
// the exact page after each step, as nginx 1.22 shows it for the same
// sequence (the numbers below are the ones nginx gave): a connection that
// sent nothing and a keep-alive one between requests are Waiting, a half
// sent head is Reading, a request held by a slow backend and a WebSocket
// stream are Writing, as is the status request itself; $connections_*
// agree. A reload keeps every count. Closing the connections brings the
// states back to the monitor's own.
func TestStubStatusCounts(t *testing.T) {
	t.Parallel() // its own daemon and backends; waits on timers, no upper time bound
	dir := t.TempDir()
	backend := stubStatusBackend(t)
	path := filepath.Join(dir, "fulcrum.conf")
	write := func(extra string) {
		if err := os.WriteFile(path, fmt.Appendf(nil, stubStatusConf, dir, backend, extra), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("")
	addr, sigs := runConfigFile(t, path)
	t.Cleanup(func() {
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Logf("error log:\n%s", b)
		}
	})
	m := newMonitor(t, addr)
	var clients []net.Conn
	dial := func() net.Conn {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		clients = append(clients, c)
		return c
	}
	send := func(c net.Conn, s string) {
		if _, err := io.WriteString(c, s); err != nil {
			t.Fatal(err)
		}
	}
	others := 0 // requests made by the clients (each counts from its first byte)
	steps := []struct {
		name string
		do   func()
		// the page's counts but requests, which add the monitor's
		active, accepts, reading, writing, waiting int
	}{
		{"start", func() {}, 1, 1, 0, 1, 0},
		{"a connection that sent nothing", func() { dial() }, 2, 2, 0, 1, 1},
		{"a keep-alive connection after its request", func() {
			c := dial()
			others++
			if _, body := roundTrip(t, c, bufio.NewReader(c), "GET /x HTTP/1.1\r\nHost: a\r\n\r\n"); body != "x\n" {
				t.Fatalf("/x: %q", body)
			}
		}, 3, 3, 0, 1, 2},
		{"a half sent head", func() {
			others++
			send(dial(), "GET /x HTTP/1.1\r\nHo")
		}, 4, 4, 1, 1, 2},
		{"a request held by a slow backend", func() {
			others++
			send(dial(), "GET /slow HTTP/1.1\r\nHost: a\r\n\r\n")
		}, 5, 5, 1, 2, 2},
		{"a WebSocket stream", func() {
			c := dial()
			others++
			resp, _ := roundTrip(t, c, bufio.NewReader(c), "GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
			if resp.StatusCode != http.StatusSwitchingProtocols {
				t.Fatalf("/ws: %s", resp.Status)
			}
		}, 6, 6, 1, 3, 2},
		{"the variables, on a connection that stays", func() {
			c := dial()
			others++
			// The monitor waits between its requests: 7 open, itself Waiting.
			if _, body := roundTrip(t, c, bufio.NewReader(c), "GET /v HTTP/1.1\r\nHost: a\r\n\r\n"); body != "a=7 r=1 w=3 wa=3\n" {
				t.Errorf("variables: %q, want %q", body, "a=7 r=1 w=3 wa=3\n")
			}
		}, 7, 7, 1, 3, 3},
		{"after a reload", func() {
			write(`location = /new { return 200 "new\n"; }`)
			sigs <- syscall.SIGHUP
			deadline := time.Now().Add(5 * time.Second)
			for {
				if _, body := m.get(http.MethodGet, "/new"); body == "new\n" {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("reload not applied within 5s")
				}
			}
		}, 7, 7, 1, 3, 3},
		{"all clients closed", func() {
			for _, c := range clients {
				c.Close()
			}
		}, 1, 7, 0, 1, 0},
	}
	for _, s := range steps {

		s.do()
		m.await(s.name, func(requests int) string {
			return statusPage(s.active, s.accepts, s.accepts, others+requests, s.reading, s.writing, s.waiting)
		})
	}
}

// TestStubStatusAnswer checks the answer's form: text/plain with a
// Content-Length, no body for HEAD, 405 for other methods (the connection
// kept), at server level for requests that match no location, and the
// "stub_status on" form.
func TestStubStatusAnswer(t *testing.T) {
	dir := t.TempDir()
	addr := startDaemon(t, dir, `access_log off;
    server { listen 127.0.0.1:0;
        stub_status;
        location = /on { stub_status on; }
        location /x { return 200 "x\n"; }
    }`)
	m := newMonitor(t, addr)
	top := t
	tests := []struct {
		method, uri string
		status      int
		body        bool // the status page, else anything
	}{
		{http.MethodGet, "/on", http.StatusOK, true},
		{http.MethodGet, "/anything", http.StatusOK, true},
		{http.MethodHead, "/on", http.StatusOK, false},
		{http.MethodPost, "/on", http.StatusMethodNotAllowed, false},
		{http.MethodDelete, "/anything", http.StatusMethodNotAllowed, false},
		{http.MethodGet, "/x", http.StatusOK, false},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.uri, func(t *testing.T) {
			m.t = t
			defer func() { m.t = top }()
			resp, body := m.get(tt.method, tt.uri)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.status)
			}
			if !tt.body {
				if tt.method == http.MethodHead && body != "" {
					t.Errorf("HEAD with a body %q", body)
				}
				if tt.uri == "/x" && body != "x\n" {
					t.Errorf("a location without stub_status answered %q", body)
				}
				return
			}
			// One connection, no other client: the page is exact.
			if want := statusPage(1, 1, 1, m.sent, 0, 1, 0); body != want {
				t.Errorf("page %q, want %q", body, want)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "text/plain" {
				t.Errorf("Content-Type %q, want text/plain", ct)
			}
			if resp.ContentLength != int64(len(body)) {
				t.Errorf("Content-Length %d, body %d bytes", resp.ContentLength, len(body))
			}
		})
	}
	if resp, _ := m.get(http.MethodHead, "/on"); resp.ContentLength != 97 {
		t.Errorf("HEAD Content-Length %d, want 97 (the page's length)", resp.ContentLength)
	}
}

// TestStubStatusTLS checks that connections on an ssl address count: one
// idle after its request is Waiting, and one that has not finished its
// handshake is Active only, as in nginx.
func TestStubStatusTLS(t *testing.T) {
	dir := t.TempDir()
	a, _ := tlsSites(t, dir)
	addr := startDaemon(t, dir, fmt.Sprintf(`access_log off;
    server { listen 127.0.0.1:0 ssl; server_name a.test; %s
        location = /s { stub_status; }
    }`, a))
	c, _ := dialTLS(t, addr, "a.test")
	br := bufio.NewReader(c)
	sent := 0
	page := func() string {
		sent++
		_, body := roundTrip(t, c, br, "GET /s HTTP/1.1\r\nHost: a.test\r\n\r\n")
		return body
	}
	if got, want := page(), statusPage(1, 1, 1, 1, 0, 1, 0); got != want {
		t.Fatalf("page %q, want %q", got, want)
	}
	dialTLS(t, addr, "a.test")        // handshake done, no request: Waiting
	raw, err := net.Dial("tcp", addr) // a TLS record header, then nothing: handshaking
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Write([]byte{0x16, 0x03, 0x01}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := page()
		want := statusPage(3, 3, 3, sent, 0, 1, 1)
		if got == want {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("page %q, want %q", got, want)
		}
	}
}
