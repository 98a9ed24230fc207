package daemon_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// connBackend is an upstream server that answers with its name and the
// number of the TCP connection the request came on, and records which of
// its connections are closed.
type connBackend struct {
	name string
	ln   net.Listener
	mu   sync.Mutex // guards ids, next and closed
	ids  map[net.Conn]int
	next int
	// closed holds the numbers of the connections that closed.
	closed map[int]bool
	// idleClose holds the connections that asked for /idle-close: the
	// backend closes them once they are idle after the response.
	idleClose map[net.Conn]bool
}

type connIDKey struct{}

func newConnBackend(t *testing.T, name string) *connBackend {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &connBackend{name: name, ln: ln, ids: map[net.Conn]int{}, closed: map[int]bool{}, idleClose: map[net.Conn]bool{}}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/close" {
				w.Header().Set("Connection", "close")
			}
			if r.URL.Path == "/idle-close" {
				b.mu.Lock()
				for c, id := range b.ids {
					if id == r.Context().Value(connIDKey{}).(int) {
						b.idleClose[c] = true
					}
				}
				b.mu.Unlock()
			}
			fmt.Fprintf(w, "%s/%d", b.name, r.Context().Value(connIDKey{}).(int))
		}),
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			b.mu.Lock()
			defer b.mu.Unlock()
			b.next++
			b.ids[c] = b.next
			return context.WithValue(ctx, connIDKey{}, b.next)
		},
		ConnState: func(c net.Conn, s http.ConnState) {
			b.mu.Lock()
			defer b.mu.Unlock()
			switch {
			case s == http.StateIdle && b.idleClose[c]:
				c.Close() // the server ends the idle connection
			case s == http.StateClosed || s == http.StateHijacked:
				b.closed[b.ids[c]] = true
			}
		},
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return b
}

// isClosed reports whether connection "name/id" of b was closed.
func (b *connBackend) isClosed(conn string) bool {
	var id int
	if _, err := fmt.Sscanf(strings.TrimPrefix(conn, b.name+"/"), "%d", &id); err != nil {
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.closed[id]
}

// ntlmClient is one client connection to fulcrum; get sends a request on it
// and returns the body: the backend's name and connection number.
type ntlmClient struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

func dialClient(t *testing.T, addr string) *ntlmClient {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &ntlmClient{t: t, c: c, br: bufio.NewReader(c)}
}

func (cl *ntlmClient) get(path, auth string) string {
	cl.t.Helper()
	head := "GET " + path + " HTTP/1.1\r\nHost: x\r\n"
	if auth != "" {
		head += "Authorization: " + auth + "\r\n"
	}
	_ = cl.c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(cl.c, head+"\r\n"); err != nil {
		cl.t.Fatal(err)
	}
	resp, err := http.ReadResponse(cl.br, nil)
	if err != nil {
		cl.t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 {
		cl.t.Fatalf("GET %s: %d %q %v", path, resp.StatusCode, body, err)
	}
	return string(body)
}

// startNTLM runs fulcrum with an upstream of two connBackends, with the
// upstream lines extra (ntlm, or nothing).
func startNTLM(t *testing.T, extra string) (addr string, a, b *connBackend) {
	t.Helper()
	a, b = newConnBackend(t, "a"), newConnBackend(t, "b")
	dir := t.TempDir()
	addr, _ = runConfig(t, dir, fmt.Sprintf(`
error_log %s/error.log info;
events {}
http {
    access_log off;
    upstream app { server %s; server %s; %s }
    server {
        listen 127.0.0.1:0;
        location / { proxy_pass http://app; proxy_http_version 1.1; proxy_set_header Connection ""; }
    }
}`, dir, a.ln.Addr(), b.ln.Addr(), extra))
	return addr, a, b
}

// TestNTLMBindsUpstreamConnection: with ntlm, a client connection that sent
// "Authorization: NTLM ..." (or Negotiate) has its later requests proxied over
// the same upstream connection, whatever the balancer would pick, and no
// other client connection ever gets that upstream connection; without ntlm
// the same requests are spread over the servers by round robin.
func TestNTLMBindsUpstreamConnection(t *testing.T) {
	for _, auth := range []string{"NTLM TlRMTVNTUAABAAAAB4IIogAAAAAAAAAAAAAAAAAAAAAKAGFKAAAADw==", "Negotiate YIIB", "ntlm lower-case scheme"} {
		t.Run(auth[:4], func(t *testing.T) {
			addr, _, _ := startNTLM(t, "ntlm;")
			one, two := dialClient(t, addr), dialClient(t, addr)
			bound := one.get("/", auth)
			for i := range 4 {
				if got := one.get("/", ""); got != bound {
					t.Fatalf("request %d after the authorization went over %s, want the bound connection %s", i+2, got, bound)
				}
				if got := two.get("/", ""); got == bound {
					t.Fatalf("another client got the bound connection %s", bound)
				}
			}
			// The second client binds a connection of its own.
			other := two.get("/", auth)
			if other == bound {
				t.Fatalf("the second client's authorization went over the first's bound connection %s", bound)
			}
			for range 3 {
				if got := two.get("/", ""); got != other {
					t.Fatalf("second client: %s, want its bound connection %s", got, other)
				}
				if got := one.get("/", ""); got != bound {
					t.Fatalf("first client: %s, want its bound connection %s", got, bound)
				}
			}
		})
	}
}

// TestNTLMOffSpreads: without ntlm, an authorization binds nothing: the
// client's next requests go where round robin sends them.
func TestNTLMOffSpreads(t *testing.T) {
	addr, _, _ := startNTLM(t, "")
	one := dialClient(t, addr)
	first := one.get("/", "NTLM TlRMTVNTUAAB")
	servers := map[string]bool{first[:1]: true}
	for range 4 {
		servers[one.get("/", "")[:1]] = true
	}
	if len(servers) != 2 {
		t.Fatalf("requests after the authorization went to servers %v, want both", servers)
	}
}

// TestNTLMClosesWithClient: the bound upstream connection is closed when the
// client connection ends, and never serves anyone else.
func TestNTLMClosesWithClient(t *testing.T) {
	addr, a, b := startNTLM(t, "ntlm;")
	one := dialClient(t, addr)
	bound := one.get("/", "NTLM TlRMTVNTUAAB")
	one.c.Close()
	backend := a
	if strings.HasPrefix(bound, "b/") {
		backend = b
	}
	deadline := time.Now().Add(5 * time.Second)
	for !backend.isClosed(bound) {
		if time.Now().After(deadline) {
			t.Fatalf("the bound upstream connection %s is still open 5s after its client left", bound)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestNTLMUpstreamCloses: when the bound upstream connection ends (the
// server closes it after a response), the client's next request is a new
// pick on a new connection, and it is bound only by a new authorization.
func TestNTLMUpstreamCloses(t *testing.T) {
	addr, _, _ := startNTLM(t, "ntlm;")
	one := dialClient(t, addr)
	bound := one.get("/", "NTLM TlRMTVNTUAAB")
	if got := one.get("/close", ""); got != bound {
		t.Fatalf("got %s, want the bound connection %s", got, bound)
	}
	servers := map[string]bool{}
	for range 4 {
		got := one.get("/", "")
		if got == bound {
			t.Fatalf("a request went over %s after its server closed it", bound)
		}
		servers[got[:1]] = true
	}
	if len(servers) != 2 {
		t.Fatalf("requests after the bound connection closed went to %v, want both servers (no binding without a new authorization)", servers)
	}
}

// TestNTLMUpstreamClosesIdle: when the server closes the bound connection
// while it is idle between the client's requests, the binding ends as for
// a "Connection: close" answer: the client's next requests are new picks of
// the balancing method (both servers), none of them bound again without a
// new authorization, and none fails.
func TestNTLMUpstreamClosesIdle(t *testing.T) {
	addr, a, b := startNTLM(t, "ntlm;")
	one := dialClient(t, addr)
	bound := one.get("/", "NTLM TlRMTVNTUAAB")
	if got := one.get("/idle-close", ""); got != bound {
		t.Fatalf("got %s, want the bound connection %s", got, bound)
	}
	backend := a
	if strings.HasPrefix(bound, "b/") {
		backend = b
	}
	deadline := time.Now().Add(5 * time.Second)
	for !backend.isClosed(bound) {
		if time.Now().After(deadline) {
			t.Fatalf("the backend did not close %s", bound)
		}
		time.Sleep(5 * time.Millisecond)
	}
	servers := map[string]bool{}
	conns := map[string]bool{}
	for range 4 {
		got := one.get("/", "") // get fails the test on anything but 200
		if got == bound {
			t.Fatalf("a request went over %s after its server closed it", bound)
		}
		servers[got[:1]] = true
		conns[got] = true
	}
	if len(servers) != 2 {
		t.Fatalf("requests after the bound connection closed went over %v, want both servers (no binding without a new authorization)", conns)
	}
}

// TestNTLMHTTP2NeverPooled: an HTTP/2 client's streams share one client
// connection, so fulcrum binds nothing to it: the upstream connection of a
// request with an NTLM authorization is closed after its response, never
// kept for the stream's successors nor put back in the shared pool, where
// another client could reuse the authenticated context.
func TestNTLMHTTP2NeverPooled(t *testing.T) {
	a := newConnBackend(t, "a")
	dir := t.TempDir()
	certs, pool := h2Site(t, dir)
	addr := startDaemon(t, dir, fmt.Sprintf(`
    upstream app { server %s; ntlm; }
    server { listen 127.0.0.1:0 ssl http2; %s location / { proxy_pass http://app; } }`, a.ln.Addr(), certs))
	c := h2Client(t, addr, pool, false)
	resp, authed := h2Do(t, c, "GET", "https://a.test/", "", "Authorization", "NTLM TlRMTVNTUAAB")
	if resp.ProtoMajor != 2 {
		t.Fatalf("client spoke %s, want HTTP/2", resp.Proto)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !a.isClosed(authed) {
		if time.Now().After(deadline) {
			t.Fatalf("the upstream connection %s of an HTTP/2 request with NTLM authorization is still open", authed)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, got := h2Do(t, c, "GET", "https://a.test/", ""); got == authed {
		t.Fatalf("the next request went over %s", authed)
	}
	// Requests without authorization still share the pool.
	_, plain := h2Do(t, c, "GET", "https://a.test/", "")
	if _, again := h2Do(t, c, "GET", "https://a.test/", ""); again != plain {
		t.Fatalf("plain requests went over %s then %s, want one pooled connection", plain, again)
	}
}
