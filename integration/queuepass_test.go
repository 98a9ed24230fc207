package integration

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/fcgi"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"fulcrum/internal/testutil"
)

// queueGate holds a test backend's answers: each request counts itself in
// inflight and waits until the test opens the gate.
type queueGate struct {
	inflight atomic.Int64
	open     chan struct{}
}

// hold counts a request and waits for the gate.
func (g *queueGate) hold() {
	g.inflight.Add(1)
	<-g.open
}

// startGated starts a backend with start behind a closed gate and returns
// the gate, the backend's address and the function that opens the gate
// (once; it also runs when the test ends, before the backend's cleanup,
// which waits for the requests it holds).
func startGated(t *testing.T, start func(t *testing.T, g *queueGate) string) (*queueGate, string, func()) {
	g := &queueGate{open: make(chan struct{})}
	var once atomic.Bool
	openGate := func() {
		if once.CompareAndSwap(false, true) {
			close(g.open)
		}
	}
	addr := start(t, g)
	t.Cleanup(openGate)
	return g, addr, openGate
}

// queueBackends are the backends of every kind of pass, each holding its
// answers at the gate, and the location lines that pass to "app".
var queueBackends = []struct {
	name     string
	location string
	h2       bool // a gRPC client over h2c ("listen ... http2")
	start    func(t *testing.T, g *queueGate) string
}{
	{"proxy", "proxy_pass http://app;", false, func(t *testing.T, g *queueGate) string {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			g.hold()
			io.WriteString(w, "ok")
		}))
		t.Cleanup(srv.Close)
		return srv.Listener.Addr().String()
	}},
	{"fastcgi", "fastcgi_pass app; fastcgi_param REQUEST_METHOD $request_method; fastcgi_param SERVER_PROTOCOL $server_protocol; fastcgi_param REQUEST_URI $request_uri;", false,
		func(t *testing.T, g *queueGate) string {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { ln.Close() })
			go fcgi.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				g.hold()
				io.WriteString(w, "ok")
			}))
			return ln.Addr().String()
		}},
	{"scgi", "scgi_pass app;", false, func(t *testing.T, g *queueGate) string {
		return testutil.RawBackend(t, func(c net.Conn) {
			br := bufio.NewReader(c)
			n, err := br.ReadString(':')
			if err != nil {
				return
			}
			size, _ := strconv.Atoi(strings.TrimSuffix(n, ":"))
			if _, err := io.ReadFull(br, make([]byte, size+1)); err != nil {
				return
			}
			g.hold()
			io.WriteString(c, "Status: 200 OK\r\nContent-Type: text/plain\r\n\r\nok")
		})
	}},
	{"uwsgi", "uwsgi_pass app;", false, func(t *testing.T, g *queueGate) string {
		return testutil.RawBackend(t, func(c net.Conn) {
			if _, _, err := testutil.ReadUWSGI(c); err != nil {
				return
			}
			g.hold()
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nok")
		})
	}},
	{"memcached", "set $memcached_key $uri; memcached_pass app;", false, func(t *testing.T, g *queueGate) string {
		return testutil.RawBackend(t, func(c net.Conn) {
			br := bufio.NewReader(c)
			for {
				line, err := br.ReadString('\n')
				if err != nil {
					return
				}
				key := strings.TrimPrefix(strings.TrimSpace(line), "get ")
				g.hold()
				if _, err := fmt.Fprintf(c, "VALUE %s 0 2\r\nok\r\nEND\r\n", key); err != nil {
					return
				}
			}
		})
	}},
	{"grpc", "grpc_pass grpc://app;", true, func(t *testing.T, g *queueGate) string {
		return testutil.H2CBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			g.hold()
			w.Header().Set("Content-Type", "application/grpc")
			w.Header().Set("Trailer", "Grpc-Status")
			w.WriteHeader(http.StatusOK)
			w.Write(testutil.GRPCFrame("ok"))
			w.Header().Set("Grpc-Status", "0")
		}))
	}},
}

// TestUpstreamQueueEveryPass: NGINX Plus queues a request for any pass to
// an upstream group ("If an upstream server cannot be selected immediately
// while processing a request, the request will be placed into the
// queue"), not only proxy_pass. For each kind of pass, with the only
// server at max_conns=1 and "queue 1": of two more requests, one waits and
// is served once the first ends, the other finds the queue full and gets
// 502 at once with the queue's line ("If the queue is filled up ... the
// 502 (Bad Gateway) error will be returned to the client");
// $upstream_queue_time is 0.000 for the first and the full one, and the
// wait for the queued one. A client that goes away while it waits is
// logged 499, without an attempt.
func TestUpstreamQueueEveryPass(t *testing.T) {
	t.Parallel() // its cases run in parallel too; the whole waits beside the other parallel tests, not before them
	for _, kind := range queueBackends {
		t.Run(kind.name, func(t *testing.T) {
			t.Parallel() // its own backend and process; most of it is waiting
			g, addr, openGate := startGated(t, kind.start)
			listen := "127.0.0.1:0"
			if kind.h2 {
				listen += " http2"
			}
			in := startFulcrum(t, fmt.Sprintf(`events {}
http {
    log_format q '$request_uri $status $upstream_addr|$upstream_status|$upstream_queue_time';
    access_log %%DIR%%/access.log q buffer=4k flush=50ms;
    upstream app {
        server %s max_conns=1;
        queue 1 timeout=10s;
    }
    server {
        listen %s;
        location / { %s }
    }
}
`, addr, listen, kind.location), 1)
			client := newClient()
			if kind.h2 {
				tr := testutil.H2CTransport(in.listening()[0])
				defer tr.CloseIdleConnections()
				client = &http.Client{Transport: tr, Timeout: 20 * time.Second}
			}
			first := sendAsync(client, in.url(0)+"/first")
			waitFor(t, "the first request to reach the server", func() bool { return g.inflight.Load() == 1 })
			// A client that goes away while it waits leaves the queue: 499.
			gone := *client
			gone.Timeout = 200 * time.Millisecond
			if r := <-sendAsync(&gone, in.url(0)+"/gone"); r[0] != "0" {
				t.Fatalf("/gone: %v, want no answer before the client's timeout", r)
			}
			if got := accessLine(t, in, "/gone"); got != "499 -|-|-" {
				t.Errorf("/gone logged %q, want 499 -|-|-", got)
			}
			// Of /b and /c, whichever comes second finds the queue full.
			b, c := sendAsync(client, in.url(0)+"/b"), sendAsync(client, in.url(0)+"/c")
			var full, queued string
			var waiting <-chan [2]string
			select {
			case r := <-b:
				full, queued, waiting = "/b", "/c", c
				if r[0] != "502" {
					t.Fatalf("/b: %v, want 502", r)
				}
			case r := <-c:
				full, queued, waiting = "/c", "/b", b
				if r[0] != "502" {
					t.Fatalf("/c: %v, want 502", r)
				}
			case r := <-first:
				t.Fatalf("first answered %v while held", r)
			case <-time.After(5 * time.Second):
				t.Fatal("no request found the queue full")
			}
			if got := accessLine(t, in, full); got != "502 app|502|0.000" {
				t.Errorf("%s logged %q, want 502 app|502|0.000", full, got)
			}
			if n := g.inflight.Load(); n != 1 {
				t.Fatalf("the server got %d requests at once, max_conns=1", n)
			}
			openGate()
			for _, ch := range []<-chan [2]string{first, waiting} {
				if r := <-ch; r[0] != "200" {
					t.Errorf("answer %v, want 200", r)
				}
			}
			if got := accessLine(t, in, "/first"); got != "200 "+addr+"|200|0.000" {
				t.Errorf("/first logged %q, want 200 %s|200|0.000", got, addr)
			}
			got := accessLine(t, in, queued)
			prefix := "200 " + addr + "|200|"
			qt, err := strconv.ParseFloat(strings.TrimPrefix(got, prefix), 64)
			if !strings.HasPrefix(got, prefix) || err != nil || qt < 0.001 || qt > 10 {
				t.Errorf("%s logged %q, want %s and the time it waited", queued, got, prefix)
			}
			waitFor(t, "the queue's error line", func() bool {
				return in.countLogged("upstream queue is full while connecting to upstream") == 1
			})
		})
	}
}
