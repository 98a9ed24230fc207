package integration

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestKeepaliveLimits checks keepalive_requests on both sides: a client
// connection closes after its Nth response, and an upstream connection is
// replaced after N requests.
func TestKeepaliveLimits(t *testing.T) {
	t.Parallel() // its own process, backends and temp dir; no upper time bound
	var mu sync.Mutex
	peers := map[string]int{} // upstream connections seen by the backend: remote addr -> requests
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		peers[r.RemoteAddr]++
		mu.Unlock()
		io.WriteString(w, "ok")
	}))
	t.Cleanup(backend.Close)
	in := startFulcrum(t, fmt.Sprintf(`
events {}
http {
    keepalive_requests 3;
    upstream app {
        server %s;
        keepalive_requests 2;
    }
    server {
        listen 127.0.0.1:0;
        location / { proxy_pass http://app; }
    }
}`, backend.Listener.Addr()), 1)
	c, err := net.Dial("tcp", in.listening()[0])
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(c)
	for i := 1; i <= 3; i++ {
		fmt.Fprintf(c, "GET /%d HTTP/1.1\r\nHost: a\r\n\r\n", i)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		io.ReadAll(resp.Body)
		resp.Body.Close()
		if wantClose := i == 3; resp.Close != wantClose {
			t.Errorf("response %d: Connection close = %v, want %v", i, resp.Close, wantClose)
		}
	}
	if _, err := br.ReadByte(); err != io.EOF {
		t.Errorf("the client connection stayed open after keepalive_requests: %v", err)
	}
	// Three more requests over new client connections: six upstream requests in
	// all, at most two per upstream connection.
	client := newClient()
	for range 3 {
		get(t, client, in.url(0)+"/more")
	}
	mu.Lock()
	defer mu.Unlock()
	total := 0
	for addr, n := range peers {
		total += n
		if n > 2 {
			t.Errorf("upstream connection %s carried %d requests, want at most 2", addr, n)
		}
	}
	if total != 6 || len(peers) < 3 {
		t.Errorf("backend saw %d requests over %d connections, want 6 over at least 3", total, len(peers))
	}
}

// TestWorkerConnectionsCap checks that connections beyond worker_connections
// wait in the backlog (they are neither refused nor served) until a slot frees.
func TestWorkerConnectionsCap(t *testing.T) {
	t.Parallel() // its own process, backends and temp dir; no upper time bound
	in := startFulcrum(t, `
events { worker_connections 2; }
http {
    server {
        listen 127.0.0.1:0;
        location / { return 200 "ok"; }
    }
}`, 1)
	addr := in.listening()[0]
	open := func() (net.Conn, *bufio.Reader) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("connection refused at the cap: %v", err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		return c, bufio.NewReader(c)
	}
	ask := func(c net.Conn, br *bufio.Reader) error {
		fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			return err
		}
		io.ReadAll(resp.Body)
		resp.Body.Close()
		return nil
	}
	c1, br1 := open()
	defer c1.Close()
	c2, br2 := open()
	defer c2.Close()
	for i, c := range []net.Conn{c1, c2} {
		if err := ask(c, []*bufio.Reader{br1, br2}[i]); err != nil {
			t.Fatal(err)
		}
	}
	c3, br3 := open() // the kernel accepts it into the backlog
	defer c3.Close()
	answered := make(chan error, 1)
	go func() { answered <- ask(c3, br3) }()
	select {
	case err := <-answered:
		t.Fatalf("a third connection was served with worker_connections 2 (err %v)", err)
	case <-time.After(300 * time.Millisecond):
	}
	c1.Close() // frees a slot
	select {
	case err := <-answered:
		if err != nil {
			t.Fatalf("the waiting connection failed once a slot freed: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the waiting connection was never served after a slot freed")
	}
}

// TestResponsesAfterAPauseLongerThanSendTimeout: a keep-alive connection that
// waits longer than send_timeout before its next request still gets every kind
// of answer. The last body write of a response leaves send_timeout's deadline on
// the connection; a later response that writes no body (204, HEAD, a redirect,
// an error page) must not be flushed against that expired deadline.
func TestResponsesAfterAPauseLongerThanSendTimeout(t *testing.T) {
	t.Parallel() // its cases run in parallel too; the whole waits beside the other parallel tests, not before them
	in := startFulcrum(t, `
events {}
http {
    send_timeout 100ms;
    keepalive_timeout 10s;
    server {
        listen 127.0.0.1:0;
        location = /body { return 200 "body"; }
        location = /empty { return 204; }
        location = /moved { return 301 /body; }
    }
}`, 1)
	tests := []struct {
		method, path string
		want         int
	}{
		{"GET", "/empty", 204},
		{"HEAD", "/body", 200},
		{"GET", "/moved", 301},
		{"GET", "/missing", 404},
	}
	for _, tc := range tests {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			t.Parallel() // its own connection; most of it is the pause
			resp, _, closed, c, br := exchange(t, in.listening()[0], "GET /body HTTP/1.1\r\nHost: a\r\n\r\n")
			if resp == nil || closed {
				t.Fatalf("first request: response %v, closed %v", resp, closed)
			}
			defer c.Close()
			// The pause is the behaviour under test: it must outlast send_timeout.
			time.Sleep(300 * time.Millisecond)
			fmt.Fprintf(c, "%s %s HTTP/1.1\r\nHost: a\r\n\r\n", tc.method, tc.path)
			resp, err := http.ReadResponse(br, &http.Request{Method: tc.method})
			if err != nil {
				t.Fatalf("no answer after the pause: %v", err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Errorf("status %d, want %d", resp.StatusCode, tc.want)
			}
		})
	}
}

// TestKeepaliveTimeoutPerLocation: keepalive_timeout is a location-level
// setting, as in nginx 1.22 (checked side by side): "keepalive_timeout 0;" in
// a location or in a server that is not the listener's default makes that
// response "Connection: close"; the second parameter goes out as
// "Keep-Alive: timeout=N" right after Connection (inherited by a level that
// writes only the first); and the idle wait after a response is the
// location's timeout.
func TestKeepaliveTimeoutPerLocation(t *testing.T) {
	in := startFulcrum(t, `
events {}
http {
    keepalive_timeout 65 60;
    server {
        listen 127.0.0.1:0 default_server;
        location / { return 200 "a"; }
        location /zero { keepalive_timeout 0; return 200 "z"; }
        location /short { keepalive_timeout 1; return 200 "s"; }
        location /own { keepalive_timeout 30 20; return 200 "o"; }
    }
    server {
        listen 127.0.0.1:0;
        server_name other;
        keepalive_timeout 0;
        location / { return 200 "other"; }
    }
}`, 1)
	tests := []struct {
		path, host      string
		connection      string
		keepAlive       string // the Keep-Alive field; "" for none
		closesIdleAfter time.Duration
	}{
		{"/", "a", "keep-alive", "timeout=60", 0},
		{"/zero", "a", "close", "", 0},
		{"/", "other", "close", "", 0},
		{"/short", "a", "keep-alive", "timeout=60", time.Second},
		{"/own", "a", "keep-alive", "timeout=20", 0},
	}
	for _, tt := range tests {
		t.Run(tt.host+tt.path, func(t *testing.T) {
			c, err := net.Dial("tcp", in.listening()[0])
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(5 * time.Second))
			fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", tt.path, tt.host)
			br := bufio.NewReader(c)
			var head []string
			for {
				line, err := br.ReadString('\n')
				if err != nil {
					t.Fatalf("head: %v (so far %q)", err, head)
				}
				if line == "\r\n" {
					break
				}
				head = append(head, strings.TrimRight(line, "\r\n"))
			}
			want := "Connection: " + tt.connection
			i := slices.Index(head, want)
			if i < 0 {
				t.Fatalf("no %q in %q", want, head)
			}
			var next string
			if i+1 < len(head) {
				next = head[i+1]
			}
			gotKA := strings.TrimPrefix(next, "Keep-Alive: ")
			if gotKA == next {
				gotKA = ""
			}
			if gotKA != tt.keepAlive || strings.Count(strings.Join(head, "\n"), "Keep-Alive") > 1 {
				t.Errorf("Keep-Alive after Connection = %q, want %q (head %q)", gotKA, tt.keepAlive, head)
			}
			if tt.closesIdleAfter == 0 {
				return
			}
			io.CopyN(io.Discard, br, 1) // the body
			start := time.Now()
			if _, err := br.ReadByte(); err != io.EOF {
				t.Fatalf("idle connection: %v, want EOF", err)
			}
			if d := time.Since(start); d < tt.closesIdleAfter/2 || d > 3*tt.closesIdleAfter {
				t.Errorf("idle connection closed after %v, want about %v", d, tt.closesIdleAfter)
			}
		})
	}
}

// TestSendTimeoutEndsAStalledClient: send_timeout bounds a write that waits
// for the client, as nginx arms it (the engine sets the deadline only for the
// writes that may wait, and lazily). A client that stops reading a long
// response loses the connection once send_timeout passes: the upstream
// connection is given up (its handler's write fails) and the client finds
// the stream cut short, not the whole body.
func TestSendTimeoutEndsAStalledClient(t *testing.T) {
	const bodyLen = 64 << 20
	gaveUp := make(chan struct{})
	big := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(bodyLen))
		chunk := make([]byte, 64<<10)
		for sent := 0; sent < bodyLen; sent += len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				close(gaveUp)
				return
			}
		}
	}))
	t.Cleanup(big.Close)
	in := startFulcrum(t, fmt.Sprintf(`
events {}
http {
    send_timeout 200ms;
    server {
        listen 127.0.0.1:0;
        location / { proxy_pass http://%s; }
    }
}`, strings.TrimPrefix(big.URL, "http://")), 1)
	c, err := net.Dial("tcp", in.listening()[0])
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "GET /big HTTP/1.1\r\nHost: a\r\n\r\n")
	// Read nothing until fulcrum gives the exchange up (60 s without the
	// directive: this bound fails the test first).
	select {
	case <-gaveUp:
	case <-time.After(10 * time.Second):
		t.Fatal("fulcrum still sending to a client that stopped reading, 10 s after send_timeout 200ms")
	}
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, _ := io.Copy(io.Discard, c)
	if n >= bodyLen {
		t.Fatalf("the client got all %d bytes after fulcrum gave up; want the stream cut short", n)
	}
}
