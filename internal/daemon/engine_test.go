package daemon

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"fulcrum/internal/errlog"
	"fulcrum/internal/proxy"
	"fulcrum/internal/testutil"
)

// These tests drive the engine (httpServer, clientConn, respWriter) over real
// loopback sockets with a raw client, so what is checked is the exact bytes a
// client gets: framing, connection handling, shutdown and abort detection.

// testServer serves handler on a loopback port until the test ends.
type testServer struct {
	srv  *httpServer
	addr string
	log  *testutil.SyncBuffer
	done chan struct{}
}

func startEngine(t testing.TB, lim limits, handler http.HandlerFunc) *testServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return startEngineOn(t, lim, handler, ln)
}

// startEngineOn is startEngine on a listener of the test's.
func startEngineOn(t testing.TB, lim limits, handler http.HandlerFunc, ln net.Listener) *testServer {
	t.Helper()
	logBuf := &testutil.SyncBuffer{}
	log, err := errlog.New(errlog.Options{Targets: []errlog.Target{{Path: errlog.StderrPath, Level: errlog.Info}}, Stderr: logBuf})
	if err != nil {
		t.Fatal(err)
	}
	var ids atomic.Uint64
	srv := &httpServer{
		lim:     lim,
		handler: func(w *respWriter, r *http.Request, _ *clientConn) { handler(w, r) },
		log:     log,
		nextID:  func() uint64 { return ids.Add(1) },
		date:    &dateCache{},
	}
	ts := &testServer{srv: srv, addr: ln.Addr().String(), log: logBuf, done: make(chan struct{})}
	go func() {
		defer close(ts.done)
		_ = srv.Serve(ln)
	}()
	t.Cleanup(func() {
		srv.Close()
		<-ts.done
	})
	return ts
}

// defaultLimits are the timeouts of an unconfigured listener.
var defaultLimits = limits{headerTimeout: 5 * time.Second, keepaliveTimeout: 5 * time.Second}

// rawClient is one client connection that writes bytes and reads responses
// with net/http's reader.
type rawClient struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

func dialEngine(t *testing.T, addr string) *rawClient {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	return &rawClient{t: t, c: c, br: bufio.NewReader(c)}
}

func (rc *rawClient) send(s string) {
	rc.t.Helper()
	if _, err := io.WriteString(rc.c, s); err != nil {
		rc.t.Fatal(err)
	}
}

// response reads one response to a request with method, body included.
func (rc *rawClient) response(method string) (*http.Response, string) {
	rc.t.Helper()
	resp, err := http.ReadResponse(rc.br, &http.Request{Method: method})
	if err != nil {
		rc.t.Fatalf("reading the response: %v", err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		rc.t.Fatalf("reading the body: %v", err)
	}
	return resp, string(body)
}

// closed reports whether the server closed the connection (EOF next),
// waiting up to two seconds.
func (rc *rawClient) closed() bool { return rc.closedWithin(2 * time.Second) }

// closedWithin is closed with a shorter wait, for connections expected to stay
// open.
func (rc *rawClient) closedWithin(d time.Duration) bool {
	_ = rc.c.SetReadDeadline(time.Now().Add(d))
	_, err := rc.br.ReadByte()
	return err == io.EOF
}

// connection is the Connection header as sent: net/http's reader turns
// "close" into resp.Close and removes it from the map.
func connection(resp *http.Response) string {
	if resp.Close && resp.Header.Get("Connection") == "" {
		return "close"
	}
	return resp.Header.Get("Connection")
}

// TestEngineFraming checks how respWriter frames what a handler writes.
func TestEngineFraming(t *testing.T) {
	t.Parallel() // its cases run in parallel too; the whole waits beside the other parallel tests, not before them
	big := strings.Repeat("x", maxPending+1)
	tests := []struct {
		name        string
		request     string
		method      string
		handler     http.HandlerFunc
		wantBody    string
		wantLength  int64  // -1: none
		wantChunked bool   // Transfer-Encoding: chunked on the wire
		wantConn    string // the Connection header; "" means keep-alive
		wantClose   bool   // the server closes after the response
		check       func(t *testing.T, resp *http.Response)
	}{
		{
			name:    "handler's Content-Length",
			request: "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
			handler: func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Length", "5")
				io.WriteString(w, "hello")
			},
			wantBody: "hello", wantLength: 5,
		},
		{
			name:     "short body without a length gets one",
			request:  "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
			handler:  func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "hi"); io.WriteString(w, "!") },
			wantBody: "hi!", wantLength: 3,
		},
		{
			name:     "nothing written: 200 with Content-Length 0",
			request:  "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
			handler:  func(http.ResponseWriter, *http.Request) {},
			wantBody: "", wantLength: 0,
		},
		{
			name:     "long body without a length is chunked on HTTP/1.1",
			request:  "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
			handler:  func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, big) },
			wantBody: big, wantLength: -1, wantChunked: true,
		},
		{
			name:     "long body without a length ends with the connection on HTTP/1.0",
			request:  "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
			handler:  func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, big) },
			wantBody: big, wantLength: -1, wantConn: "close", wantClose: true,
		},
		{
			name:     "HTTP/1.0 keep-alive is confirmed",
			request:  "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
			handler:  func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") },
			wantBody: "ok", wantLength: 2, wantConn: "keep-alive",
		},
		{
			name:     "HTTP/1.0 without keep-alive closes",
			request:  "GET / HTTP/1.0\r\n\r\n",
			handler:  func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") },
			wantBody: "ok", wantLength: 2, wantConn: "close", wantClose: true,
		},
		{
			name:     "Connection: close from the client",
			request:  "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
			handler:  func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") },
			wantBody: "ok", wantLength: 2, wantConn: "close", wantClose: true,
		},
		{
			name:     "Connection: close from the handler",
			request:  "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
			handler:  func(w http.ResponseWriter, _ *http.Request) { w.Header().Set("Connection", "close") },
			wantBody: "", wantLength: 0, wantConn: "close", wantClose: true,
		},
		{
			name:    "HEAD keeps the length and sends no body",
			request: "HEAD / HTTP/1.1\r\nHost: a\r\n\r\n",
			method:  http.MethodHead,
			handler: func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Length", "5")
				io.WriteString(w, "hello")
			},
			wantBody: "", wantLength: 5,
		},
		{
			name:    "204 has neither length nor body",
			request: "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
			handler: func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Length", "3")
				w.WriteHeader(http.StatusNoContent)
				io.WriteString(w, "no")
			},
			wantBody: "", wantLength: 0, // what net/http's reader reports for 204
			check: func(t *testing.T, resp *http.Response) {
				if _, ok := resp.Header["Content-Length"]; ok {
					t.Error("204 with a Content-Length")
				}
			},
		},
		{
			name:    "a flush before the end makes the body chunked",
			request: "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
			handler: func(w http.ResponseWriter, _ *http.Request) {
				io.WriteString(w, "a")
				w.(http.Flusher).Flush()
				io.WriteString(w, "b")
			},
			wantBody: "ab", wantLength: -1, wantChunked: true,
		},
		{
			name:    "trailers go in the last chunk",
			request: "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
			handler: func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Trailer", "X-Sum")
				io.WriteString(w, "data")
				w.Header().Set("X-Sum", "42")
				w.Header().Set(http.TrailerPrefix+"X-Late", "7")
			},
			wantBody: "data", wantLength: -1, wantChunked: true,
			check: func(t *testing.T, resp *http.Response) {
				if resp.Trailer.Get("X-Sum") != "42" || resp.Trailer.Get("X-Late") != "7" {
					t.Errorf("trailers %v, want X-Sum 42 and X-Late 7", resp.Trailer)
				}
			},
		},
		{
			name:    "a body shorter than its length closes the connection",
			request: "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
			handler: func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Length", "10")
				io.WriteString(w, "short")
				w.(http.Flusher).Flush()
			},
			wantLength: 10, wantClose: true,
		},
		{
			name:    "a field value with CR or LF is not sent",
			request: "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
			handler: func(w http.ResponseWriter, _ *http.Request) {
				w.Header()["X-Bad"] = []string{"a\r\nX-Injected: 1"}
				io.WriteString(w, "ok")
			},
			wantBody: "ok", wantLength: 2,
			check: func(t *testing.T, resp *http.Response) {
				if resp.Header.Get("X-Injected") != "" || resp.Header.Get("X-Bad") != "" {
					t.Errorf("header injection reached the client: %v", resp.Header)
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel() // its own engine; each waits to see the connection stay open
			ts := startEngine(t, defaultLimits, tc.handler)
			rc := dialEngine(t, ts.addr)
			rc.send(tc.request)
			method := tc.method
			if method == "" {
				method = http.MethodGet
			}
			if tc.name == "a body shorter than its length closes the connection" {
				// The client must see the connection end instead of waiting
				// for the five missing bytes.
				resp, err := http.ReadResponse(rc.br, &http.Request{Method: method})
				if err != nil {
					t.Fatal(err)
				}
				if _, err := io.ReadAll(resp.Body); err == nil {
					t.Error("a cut body read without error")
				}
				return
			}
			resp, body := rc.response(method)
			if body != tc.wantBody {
				t.Errorf("body %q, want %q", trim(body), trim(tc.wantBody))
			}
			if resp.ContentLength != tc.wantLength && !(tc.wantLength == -1 && resp.ContentLength == 0 && method == http.MethodHead) {
				t.Errorf("Content-Length %d, want %d", resp.ContentLength, tc.wantLength)
			}
			chunked := len(resp.TransferEncoding) > 0 && resp.TransferEncoding[0] == "chunked"
			if chunked != tc.wantChunked {
				t.Errorf("chunked %v, want %v", chunked, tc.wantChunked)
			}
			wantConn := tc.wantConn
			if wantConn == "" {
				wantConn = "keep-alive" // what nginx sends on every kept connection
			}
			if got := connection(resp); got != wantConn {
				t.Errorf("Connection %q, want %q", got, tc.wantConn)
			}
			if resp.Header.Get("Date") == "" {
				t.Error("no Date header")
			}
			if tc.check != nil {
				tc.check(t, resp)
			}
			wait := 2 * time.Second
			if !tc.wantClose {
				wait = 200 * time.Millisecond
			}
			if got := rc.closedWithin(wait); got != tc.wantClose {
				t.Errorf("connection closed %v, want %v", got, tc.wantClose)
			}
		})
	}
}

func trim(s string) string {
	if len(s) > 40 {
		return fmt.Sprintf("%s... (%d bytes)", s[:40], len(s))
	}
	return s
}

// TestEnginePipelining: requests sent back to back on one connection are all
// answered, in order, and a request body in between is read exactly.
func TestEnginePipelining(t *testing.T) {
	ts := startEngine(t, defaultLimits, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "%s %s %s", r.Method, r.RequestURI, b)
	})
	rc := dialEngine(t, ts.addr)
	rc.send("GET /1 HTTP/1.1\r\nHost: a\r\n\r\n" +
		"POST /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\nbody" +
		"POST /3 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nch\r\n0\r\n\r\n" +
		"GET /4 HTTP/1.1\r\nHost: a\r\n\r\n")
	for _, want := range []string{"GET /1 ", "POST /2 body", "POST /3 ch", "GET /4 "} {
		if _, body := rc.response(http.MethodGet); body != want {
			t.Errorf("got %q, want %q", body, want)
		}
	}
}

// TestEngineExpectContinue: "100 Continue" goes out when the handler reads the
// body, not before; an expectation fulcrum does not know is answered 417; a
// handler that answers without reading the body sends no 100 and the
// connection closes (the body never came).
func TestEngineExpectContinue(t *testing.T) {
	ts := startEngine(t, defaultLimits, func(w http.ResponseWriter, r *http.Request) {
		if r.RequestURI == "/ignore" {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		if r.RequestURI == "/continue" {
			w.(proxy.Continuer).Continue()
		}
		b, _ := io.ReadAll(r.Body)
		w.Write(b)
	})
	t.Run("read", func(t *testing.T) {
		rc := dialEngine(t, ts.addr)
		rc.send("POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n")
		line, err := rc.br.ReadString('\n')
		if err != nil || line != "HTTP/1.1 100 Continue\r\n" {
			t.Fatalf("got %q (%v), want 100 Continue first", line, err)
		}
		rc.br.ReadString('\n')
		rc.send("hi")
		if _, body := rc.response(http.MethodPost); body != "hi" {
			t.Errorf("body %q, want hi", body)
		}
	})
	// nginx sends 100 Continue to a bodiless request too, where it reads or
	// discards the body (proxy_pass, return with text); the handler says where.
	for _, tt := range []struct {
		uri  string
		want string
	}{{"/continue", "HTTP/1.1 100 Continue\r\n"}, {"/", "HTTP/1.1 200 OK\r\n"}} {
		t.Run("without a body "+tt.uri, func(t *testing.T) {
			rc := dialEngine(t, ts.addr)
			rc.send("GET " + tt.uri + " HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n\r\n")
			if line, err := rc.br.ReadString('\n'); err != nil || line != tt.want {
				t.Fatalf("got %q (%v), want %q", line, err, tt.want)
			}
		})
	}
	t.Run("unknown expectation", func(t *testing.T) {
		rc := dialEngine(t, ts.addr)
		rc.send("POST / HTTP/1.1\r\nHost: a\r\nExpect: something\r\nContent-Length: 2\r\n\r\nhi")
		if resp, _ := rc.response(http.MethodPost); resp.StatusCode != http.StatusExpectationFailed {
			t.Errorf("status %d, want 417", resp.StatusCode)
		}
		if !rc.closed() {
			t.Error("connection left open after 417")
		}
	})
	t.Run("answered without reading", func(t *testing.T) {
		rc := dialEngine(t, ts.addr)
		rc.send("POST /ignore HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n")
		resp, _ := rc.response(http.MethodPost)
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("status %d, want 403 (and no 100 before it)", resp.StatusCode)
		}
		if !rc.closed() {
			t.Error("connection left open with an unread body")
		}
	})
}

// TestEngineRefusedHead: a head the strict reader refuses gets its status and
// the connection closes; the server goes on serving others.
func TestEngineRefusedHead(t *testing.T) {
	ts := startEngine(t, defaultLimits, func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") })
	rc := dialEngine(t, ts.addr)
	rc.send("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n")
	resp, _ := rc.response(http.MethodGet)
	if resp.StatusCode != http.StatusBadRequest || connection(resp) != "close" {
		t.Errorf("status %d, Connection %q; want 400 and close", resp.StatusCode, connection(resp))
	}
	if !rc.closed() {
		t.Error("connection left open after a refused head")
	}
	rc2 := dialEngine(t, ts.addr)
	rc2.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	if _, body := rc2.response(http.MethodGet); body != "ok" {
		t.Errorf("next client got %q", body)
	}
}

// TestEnginePanics: a handler panic ends that connection and is logged with
// its stack; http.ErrAbortHandler cuts a response short without a log line;
// the server keeps serving.
func TestEnginePanics(t *testing.T) {
	ts := startEngine(t, defaultLimits, func(w http.ResponseWriter, r *http.Request) {
		switch r.RequestURI {
		case "/panic":
			panic("boom")
		case "/abort":
			w.Header().Set("Content-Length", "100")
			io.WriteString(w, "partial")
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler)
		}
		io.WriteString(w, "ok")
	})
	rc := dialEngine(t, ts.addr)
	rc.send("GET /panic HTTP/1.1\r\nHost: a\r\n\r\n")
	if !rc.closed() {
		t.Error("connection left open after a panic")
	}
	if log := ts.log.String(); !strings.Contains(log, "panic serving") || !strings.Contains(log, "boom") {
		t.Errorf("panic not logged: %q", log)
	}
	rc = dialEngine(t, ts.addr)
	rc.send("GET /abort HTTP/1.1\r\nHost: a\r\n\r\n")
	resp, err := http.ReadResponse(rc.br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := io.ReadAll(resp.Body); err == nil || string(b) != "partial" {
		t.Errorf("aborted body read %q, %v; want the partial body and an error", b, err)
	}
	if strings.Count(ts.log.String(), "panic serving") != 1 {
		t.Error("ErrAbortHandler was logged as a panic")
	}
	rc = dialEngine(t, ts.addr)
	rc.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	if _, body := rc.response(http.MethodGet); body != "ok" {
		t.Errorf("after panics the server answered %q", body)
	}
}

// TestEngineClientAbortCancels: a client that hangs up while its handler waits
// cancels the request's context within a couple of check intervals. An end
// of stream counts behind bytes not read yet (a pipelined request, then a
// half-close), as nginx 1.22's epoll check (EPOLLRDHUP) counts it; bytes
// alone on a socket left open do not.
func TestEngineClientAbortCancels(t *testing.T) {
	t.Parallel() // its cases run in parallel too; the whole waits beside the other parallel tests, not before them
	for _, tt := range []struct {
		name  string
		leave func(c net.Conn)
		gone  bool
	}{
		{"close", func(c net.Conn) { c.Close() }, true},
		{"half-close", func(c net.Conn) { c.(*net.TCPConn).CloseWrite() }, true},
		{"pipelined then half-close", func(c net.Conn) {
			io.WriteString(c, "GET /next HTTP/1.1\r\nHost: a\r\n\r\n")
			c.(*net.TCPConn).CloseWrite()
		}, true},
		{"pipelined", func(c net.Conn) { io.WriteString(c, "GET /next HTTP/1.1\r\nHost: a\r\n\r\n") }, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			started := make(chan struct{}, 2)
			cancelled := make(chan time.Time, 1)
			ts := startEngine(t, defaultLimits, func(_ http.ResponseWriter, r *http.Request) {
				started <- struct{}{}
				select {
				case <-r.Context().Done():
					cancelled <- time.Now()
				case <-time.After(4 * abortCheckInterval):
				}
			})
			rc := dialEngine(t, ts.addr)
			rc.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
			<-started
			hungUp := time.Now()
			tt.leave(rc.c)
			select {
			case at := <-cancelled:
				if !tt.gone {
					t.Fatal("the handler's context was cancelled while the client is there")
				}
				if d := at.Sub(hungUp); d > 4*abortCheckInterval {
					t.Errorf("cancelled %v after the hang-up, want within %v", d, 4*abortCheckInterval)
				}
			case <-time.After(5 * abortCheckInterval):
				if tt.gone {
					t.Fatal("the handler's context was never cancelled")
				}
			}
		})
	}
}

// TestEngineShutdown: Shutdown closes idle keep-alive connections at once,
// lets a request in flight finish (its response says Connection: close), and
// returns when no connection is left.
func TestEngineShutdown(t *testing.T) {
	release := make(chan struct{})
	inFlight := make(chan struct{})
	ts := startEngine(t, defaultLimits, func(w http.ResponseWriter, r *http.Request) {
		if r.RequestURI == "/slow" {
			close(inFlight)
			<-release
		}
		io.WriteString(w, "done")
	})
	idle := dialEngine(t, ts.addr)
	idle.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	idle.response(http.MethodGet)
	busy := dialEngine(t, ts.addr)
	busy.send("GET /slow HTTP/1.1\r\nHost: a\r\n\r\n")
	<-inFlight
	shut := make(chan error, 1)
	go func() { shut <- ts.srv.Shutdown(context.Background()) }()
	if !idle.closed() {
		t.Error("idle keep-alive connection not closed by Shutdown")
	}
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned (%v) with a request in flight", err)
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	resp, body := busy.response(http.MethodGet)
	if body != "done" || connection(resp) != "close" {
		t.Errorf("in-flight request got %q with Connection %q; want done and close", body, connection(resp))
	}
	select {
	case err := <-shut:
		if err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Shutdown did not return after the last request")
	}
	if _, err := net.DialTimeout("tcp", ts.addr, time.Second); err == nil {
		t.Error("still accepting after Shutdown")
	}
}

// TestEngineShutdownServesNewConnection: a connection accepted before
// Shutdown whose first request comes after it is served (Connection:
// close), not closed unanswered, as nginx's graceful stop does: only
// keep-alive connections are idle. One that sends nothing ends at
// client_header_timeout, and Shutdown returns then.
func TestEngineShutdownServesNewConnection(t *testing.T) {
	ts := startEngine(t, limits{headerTimeout: 300 * time.Millisecond}, func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, "done")
	})
	fresh := dialEngine(t, ts.addr)
	silent := dialEngine(t, ts.addr)
	tracked := func() int {
		ts.srv.mu.Lock()
		defer ts.srv.mu.Unlock()
		return len(ts.srv.conns)
	}
	deadline := time.Now().Add(5 * time.Second)
	for tracked() < 2 {
		if time.Now().After(deadline) {
			t.Fatal("the connections were never accepted")
		}
		time.Sleep(time.Millisecond)
	}
	shut := make(chan error, 1)
	go func() { shut <- ts.srv.Shutdown(context.Background()) }()
	deadline = time.Now().Add(5 * time.Second)
	for !ts.srv.shuttingDown() {
		if time.Now().After(deadline) {
			t.Fatal("Shutdown did not start")
		}
		time.Sleep(time.Millisecond)
	}
	fresh.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	resp, body := fresh.response(http.MethodGet)
	if body != "done" || connection(resp) != "close" {
		t.Errorf("first request after Shutdown got %q with Connection %q; want done and close", body, connection(resp))
	}
	select {
	case err := <-shut:
		if err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Shutdown did not return after client_header_timeout")
	}
	if !silent.closed() {
		t.Error("the silent connection was left open")
	}
}

// TestEngineKeepaliveTimeout: an idle connection is closed after
// keepalive_timeout, and keepalive_timeout 0 closes after each response.
func TestEngineKeepaliveTimeout(t *testing.T) {
	handler := func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") }
	t.Run("idle timeout", func(t *testing.T) {
		ts := startEngine(t, limits{headerTimeout: 5 * time.Second, keepaliveTimeout: 200 * time.Millisecond}, handler)
		rc := dialEngine(t, ts.addr)
		rc.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
		rc.response(http.MethodGet)
		start := time.Now()
		if !rc.closed() {
			t.Fatal("idle connection not closed")
		}
		if d := time.Since(start); d > 1500*time.Millisecond {
			t.Errorf("closed after %v, want about 200ms", d)
		}
	})
	t.Run("keep-alive off", func(t *testing.T) {
		ts := startEngine(t, limits{headerTimeout: 5 * time.Second}, handler)
		rc := dialEngine(t, ts.addr)
		rc.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
		if resp, _ := rc.response(http.MethodGet); connection(resp) != "close" {
			t.Errorf("Connection %q, want close", connection(resp))
		}
		if !rc.closed() {
			t.Error("connection left open with keep-alive off")
		}
	})
}

// TestEngineRequestAfterIdleGrace: a keep-alive connection idle longer than
// idleGrace (it gave its read buffer back and waits on a one-byte read) still
// reads its next requests whole, pipelined ones included.
func TestEngineRequestAfterIdleGrace(t *testing.T) {
	t.Parallel() // mostly waiting; its own daemon, ports and files
	ts := startEngine(t, defaultLimits, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "%s %s", r.RequestURI, b)
	})
	rc := dialEngine(t, ts.addr)
	rc.send("GET /first HTTP/1.1\r\nHost: a\r\n\r\n")
	rc.response(http.MethodGet)
	// Idle past the grace period: the behaviour under test needs the time.
	time.Sleep(idleGrace + 300*time.Millisecond)
	rc.send("POST /second HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabcGET /third HTTP/1.1\r\nHost: a\r\n\r\n")
	for _, want := range []string{"/second abc", "/third "} {
		if _, body := rc.response(http.MethodGet); body != want {
			t.Errorf("got %q, want %q", body, want)
		}
	}
}

// TestEngineReadBufferDuringHandler: a request without a body gives the
// connection's read buffer back while its handler runs (a proxied request
// waiting on its upstream holds none), unless a pipelined request is already
// in it; a request with a body keeps it for the body. Every request is
// answered either way.
func TestEngineReadBufferDuringHandler(t *testing.T) {
	tests := []struct {
		name     string
		send     string
		answers  []string
		wantHeld []bool // per request, whether its handler saw a read buffer
	}{
		{"bodiless", "GET /a HTTP/1.1\r\nHost: a\r\n\r\n", []string{"/a"}, []bool{false}},
		{"pipelined behind", "GET /a HTTP/1.1\r\nHost: a\r\n\r\nGET /b HTTP/1.1\r\nHost: a\r\n\r\n", []string{"/a", "/b"}, []bool{true, false}},
		{"with a body", "POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nok", []string{"/p ok"}, []bool{true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex // the handler runs on the connection's goroutine
			var held []bool
			ts := startEngine(t, defaultLimits, func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				held = append(held, w.(*respWriter).cc.in.Held() != nil)
				mu.Unlock()
				b, _ := io.ReadAll(r.Body)
				if len(b) > 0 {
					fmt.Fprintf(w, "%s %s", r.RequestURI, b)
					return
				}
				io.WriteString(w, r.RequestURI)
			})
			rc := dialEngine(t, ts.addr)
			rc.send(tt.send)
			for _, want := range tt.answers {
				if _, body := rc.response(http.MethodGet); body != want {
					t.Fatalf("answer %q, want %q", body, want)
				}
			}
			mu.Lock()
			if !slices.Equal(held, tt.wantHeld) {
				t.Errorf("handlers saw a read buffer %v, want %v", held, tt.wantHeld)
			}
			mu.Unlock()
			// The connection reads its next request as before.
			rc.send("GET /next HTTP/1.1\r\nHost: a\r\n\r\n")
			if _, body := rc.response(http.MethodGet); body != "/next" {
				t.Errorf("next answer %q, want /next", body)
			}
		})
	}
}

// TestEngineFirstHeadAfterIdleGrace: the first head of a connection has
// client_header_timeout from the accept, also when part of it came at once
// and the rest after idleGrace (whose shorter deadline bounds only the wait
// for the first byte).
func TestEngineFirstHeadAfterIdleGrace(t *testing.T) {
	t.Parallel() // mostly waiting; its own daemon, ports and files
	ts := startEngine(t, defaultLimits, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, r.RequestURI) })
	rc := dialEngine(t, ts.addr)
	rc.send("GET /first HTTP/1.1\r\nHo")
	// Past the grace period: the behaviour under test needs the time.
	time.Sleep(idleGrace + 300*time.Millisecond)
	rc.send("st: a\r\n\r\n")
	resp, body := rc.response(http.MethodGet)
	if resp.StatusCode != http.StatusOK || body != "/first" {
		t.Errorf("status %d, body %q; want 200 and /first", resp.StatusCode, body)
	}
}

// TestEngineHeaderTimeout: a head that does not arrive whole within
// client_header_timeout is answered 408 and the connection closes; a
// connection that sends nothing is closed without an answer.
func TestEngineHeaderTimeout(t *testing.T) {
	lim := limits{headerTimeout: 200 * time.Millisecond, keepaliveTimeout: 5 * time.Second}
	ts := startEngine(t, lim, func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") })
	t.Run("partial head", func(t *testing.T) {
		rc := dialEngine(t, ts.addr)
		rc.send("GET / HTTP/1.1\r\nHost: a\r\n")
		resp, _ := rc.response(http.MethodGet)
		if resp.StatusCode != http.StatusRequestTimeout || connection(resp) != "close" {
			t.Errorf("status %d, Connection %q; want 408 and close", resp.StatusCode, connection(resp))
		}
		if !rc.closed() {
			t.Error("connection left open after 408")
		}
	})
	t.Run("nothing sent", func(t *testing.T) {
		rc := dialEngine(t, ts.addr)
		_ = rc.c.SetReadDeadline(time.Now().Add(2 * time.Second))
		b, err := rc.br.ReadByte()
		if err != io.EOF {
			t.Errorf("read %q, %v; want the connection closed without an answer", b, err)
		}
	})
}

// TestEnginePipelinedDuringHandler: a request that arrives on its own while
// the previous one is still being handled (a pipelining client) is answered
// soon after, although flushThenAwait cannot see its arrival (awaitBound
// bounds that), and the connection then reads before waiting: later
// requests go as fast as ever. The keep-alive client that waits for each
// answer gets its answers with no delay at all.
func TestEnginePipelinedDuringHandler(t *testing.T) {
	ts := startEngine(t, defaultLimits, func(w http.ResponseWriter, r *http.Request) {
		if r.RequestURI == "/slow" {
			time.Sleep(150 * time.Millisecond)
		}
		fmt.Fprint(w, r.RequestURI)
	})
	rc := dialEngine(t, ts.addr)
	rc.send("GET /slow HTTP/1.1\r\nHost: a\r\n\r\n")
	time.Sleep(50 * time.Millisecond) // the handler runs
	rc.send("GET /second HTTP/1.1\r\nHost: a\r\n\r\n")
	if _, body := rc.response(http.MethodGet); body != "/slow" {
		t.Fatalf("first answer %q", body)
	}
	start := time.Now()
	if _, body := rc.response(http.MethodGet); body != "/second" {
		t.Fatalf("second answer %q", body)
	}
	// The bound is 20 ms; a second (the idle grace) would mean the arrival
	// was lost until a deadline far away.
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Errorf("the pipelined request was answered %v after the first", d)
	}
	for i := range 3 {
		uri := fmt.Sprintf("/after/%d", i)
		rc.send("GET " + uri + " HTTP/1.1\r\nHost: a\r\n\r\n")
		if _, body := rc.response(http.MethodGet); body != uri {
			t.Fatalf("answer %q, want %q", body, uri)
		}
	}
}

// TestConnWriterKeepsWhatTheSocketRefuses: inside flushThenWait the write
// buffer goes to the socket with non-blocking writes; what a full socket
// buffer does not take is kept, in order, for the usual writer, and the
// buffered writer never sees an error (its errors stick).
func TestConnWriterKeepsWhatTheSocketRefuses(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	peerc := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		peerc <- c
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	peer := <-peerc
	defer peer.Close()
	rc, err := c.(*net.TCPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	// Far more than the socket buffers hold while the peer reads nothing
	// (on loopback they took about 3.4 MiB of it).
	want := make([]byte, 8<<20)
	for i := range want {
		want[i] = byte(i % 251)
	}
	w := &connWriter{c: c}
	bw := bufio.NewWriterSize(w, 64<<10)
	_ = rc.Write(func(fd uintptr) bool {
		w.fd, w.raw = int(fd), true
		for off := 0; off < len(want); off += 32 << 10 {
			if _, err := bw.Write(want[off : off+32<<10]); err != nil {
				t.Errorf("buffered write: %v", err)
			}
		}
		if err := bw.Flush(); err != nil {
			t.Errorf("flush: %v", err)
		}
		w.raw = false
		return true
	})
	if w.err != nil || len(w.rest) == 0 {
		t.Fatalf("err %v, %d bytes kept: want no error and the socket full", w.err, len(w.rest))
	}
	got := make(chan []byte)
	go func() {
		// One read buffer of the right size: io.ReadAll's growing copies
		// of megabytes are slow under the race detector.
		b := make([]byte, len(want))
		n, _ := io.ReadFull(peer, b)
		got <- b[:n]
	}()
	if _, err := c.Write(w.rest); err != nil {
		t.Fatal(err)
	}
	if b := <-got; !bytes.Equal(b, want) {
		t.Fatalf("the peer got %d bytes, not the %d written, in order", len(b), len(want))
	}
}

// TestEngineKeepAliveAfterUnbufferedBody: responses whose bytes all went out
// before finish (a body larger than the write buffer goes straight to the
// socket, leaving nothing buffered) keep the connection going like any other:
// flushThenAwait then has nothing to send and only waits.
func TestEngineKeepAliveAfterUnbufferedBody(t *testing.T) {
	big := strings.Repeat("b", 64<<10)
	ts := startEngine(t, defaultLimits, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(len(big)))
		io.WriteString(w, big)
	})
	rc := dialEngine(t, ts.addr)
	for i := range 3 {
		rc.send("GET /big HTTP/1.1\r\nHost: a\r\n\r\n")
		if _, body := rc.response(http.MethodGet); body != big {
			t.Fatalf("request %d: %d bytes, want %d", i, len(body), len(big))
		}
	}
}

// TestEngineIgnoreClientAbort: once a handler asks to ignore client aborts
// (proxy_ignore_client_abort on), a client that hangs up no longer cancels the
// request's context by the socket check; the first write that fails does.
func TestEngineIgnoreClientAbort(t *testing.T) {
	t.Parallel() // mostly waiting; its own daemon, ports and files
	started := make(chan struct{})
	wrote := make(chan struct{})
	cancelled := make(chan string, 1)
	ts := startEngine(t, defaultLimits, func(w http.ResponseWriter, r *http.Request) {
		w.(*respWriter).IgnoreClientAbort()
		close(started)
		select {
		case <-r.Context().Done():
			cancelled <- "by the socket check"
			return
		case <-wrote:
		}
		// The client is gone: writing fails (the first flush may still
		// reach the half-closed socket, a later one cannot).
		for i := 0; i < 100 && r.Context().Err() == nil; i++ {
			w.Write(make([]byte, 64<<10))
			w.(http.Flusher).Flush()
		}
		if r.Context().Err() != nil {
			cancelled <- "by a failed write"
		}
		close(cancelled)
	})
	rc := dialEngine(t, ts.addr)
	rc.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	<-started
	rc.c.Close()
	// Four check intervals: the socket check cancels within two otherwise
	// (TestEngineClientAbortCancels).
	select {
	case how := <-cancelled:
		t.Fatalf("context cancelled %s while client aborts were ignored", how)
	case <-time.After(4 * abortCheckInterval):
	}
	close(wrote)
	select {
	case how, ok := <-cancelled:
		if !ok || how != "by a failed write" {
			t.Errorf("after writes to a gone client: %q, want cancelled by a failed write", how)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the handler never finished")
	}
}

// gatedListener holds each connection Accept got until the test releases
// it: the moment between the kernel's accept and the engine's tracking.
type gatedListener struct {
	net.Listener
	got     chan struct{} // a connection was accepted and is held
	release chan struct{}
}

func (l *gatedListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.got <- struct{}{}
	<-l.release
	return c, nil
}

// TestEngineShutdownServesConnectionAcceptedMeanwhile: a connection that
// Accept returned while a graceful Shutdown closed the listener is served,
// and Shutdown waits for its answer. Refusing it reset the client: one
// request in a few hundred failed across a binary upgrade's QUIT
// (TestBinaryUpgradeUnderLoad).
func TestEngineShutdownServesConnectionAcceptedMeanwhile(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gl := &gatedListener{Listener: inner, got: make(chan struct{}, 1), release: make(chan struct{})}
	ts := startEngineOn(t, defaultLimits, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "served") }, gl)
	rc := dialEngine(t, ts.addr)
	rc.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	<-gl.got
	shut := make(chan error, 1)
	go func() { shut <- ts.srv.Shutdown(context.Background()) }()
	deadline := time.Now().Add(5 * time.Second)
	for !ts.srv.shuttingDown() {
		if time.Now().After(deadline) {
			t.Fatal("Shutdown did not start")
		}
		time.Sleep(time.Millisecond)
	}
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned (%v) while a connection was still being accepted", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(gl.release)
	resp, body := rc.response(http.MethodGet)
	if resp.StatusCode != http.StatusOK || body != "served" || connection(resp) != "close" {
		t.Errorf("got %d %q Connection %q; want 200 served and close", resp.StatusCode, body, connection(resp))
	}
	select {
	case err := <-shut:
		if err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Shutdown did not return after the connection was served")
	}
}
