package fastcgi

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"fulcrum/internal/balancer"
	"fulcrum/internal/config"
	"fulcrum/internal/errlog"
	"fulcrum/internal/testutil"
	"fulcrum/internal/upstream"
	"fulcrum/internal/vars"
)

// engineWriter is a ResponseWriter that watches the client as the
// daemon's engine does (clientwatch.Watcher): gone cancels the request's
// context first, then aborts the exchange being watched, if there is one.
type engineWriter struct {
	*httptest.ResponseRecorder
	cancel  context.CancelCauseFunc
	late    bool       // the client leaves as the watch begins
	mu      sync.Mutex // guards aborter and aborted
	aborter interface{ Abort() }
	aborted bool
}

func (w *engineWriter) WatchClient(a interface{ Abort() }) bool {
	if w.late {
		// The client left just before: the engine cancelled the context,
		// with nothing to abort, and does not abort a.
		w.cancel(&errlog.ClientAbort{})
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.aborter, w.aborted = a, false
	return true
}

func (w *engineWriter) UnwatchClient() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	aborted := w.aborted
	w.aborter, w.aborted = nil, false
	return !aborted
}

// gone is the client going away.
func (w *engineWriter) gone() {
	w.cancel(&errlog.ClientAbort{})
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.aborter != nil {
		w.aborter.Abort()
		w.aborter, w.aborted = nil, true
	}
}

// TestClientGoneWhileSending: a client that goes away while its body is
// being sent to the application ends the exchange at once, as nginx
// 1.22 closes the upstream connection of a client that left
// (ngx_http_upstream_check_broken_connection), instead of waiting
// fastcgi_read_timeout for a response nobody will read. The application
// here reads the whole request only after the client left (the body is
// larger than the socket buffers, so the send is still going then), and
// never answers. Each protocol is checked: they share the exchange.
func TestClientGoneWhileSending(t *testing.T) {
	const readTimeout = 5 * time.Second
	body := bytes.Repeat([]byte("x"), 16<<20)
	for _, tc := range []struct {
		name  string
		proto Protocol
		late  bool // the client leaves as the watch begins, not during the send
	}{
		{"fastcgi", FastCGI, false},
		{"scgi", SCGI, false},
		{"uwsgi", UWSGI, false},
		{"fastcgi, gone as the watch begins", FastCGI, true},
	} {
		proto := tc.proto
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancelCause(context.Background())
			defer cancel(nil)
			w := &engineWriter{ResponseRecorder: httptest.NewRecorder(), cancel: cancel, late: tc.late}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			closed := make(chan time.Time, 1)
			go func() {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				defer c.Close()
				defer func() { closed <- time.Now() }() // fulcrum closed the connection
				// The request is being written (its first byte came) and
				// blocks on the full socket buffers: the client leaves.
				if _, err := io.ReadFull(c, make([]byte, 1)); err != nil {
					return
				}
				if !tc.late {
					w.gone()
				}
				_, _ = io.Copy(io.Discard, c)
			}()
			set := settings()
			set.ReadTimeout = readTimeout
			h, logs := abortHandler(t, proto, set, int64(len(body)), ln.Addr().String())
			r := httptest.NewRequest(http.MethodPost, "/a", bytes.NewReader(body)).WithContext(ctx)
			st := &vars.State{}
			st.Method, st.Path, st.RequestURI = "POST", "/a", "/a"
			start := time.Now()
			h.ServeHTTP(w, r, st)
			if took := time.Since(start); took > readTimeout/2 {
				t.Errorf("the exchange took %v for a client gone while its body was sent; want it ended at once", took)
			}
			if st.Status != 499 {
				t.Errorf("logged status %d, want 499", st.Status)
			}
			// nginx 1.22.1's line for it (its client closing while a 16 MiB
			// body went to an scgi_pass application that read nothing yet).
			const line = "epoll_wait() reported that client prematurely closed connection, so upstream connection is closed too while sending request to upstream"
			if !strings.Contains(logs.String(), line) {
				t.Errorf("error log %q, want the line %q", logs.String(), line)
			}
			select {
			case at := <-closed:
				if d := at.Sub(start); d > readTimeout/2 {
					t.Errorf("the application's connection closed after %v", d)
				}
			case <-time.After(readTimeout):
				t.Error("the application's connection was not closed")
			}
		})
	}
}

// abortHandler builds a handler for proto with set and one server at
// addr, which keeps a body of up to size bytes in memory, logging at info
// to the returned buffer.
func abortHandler(t *testing.T, proto Protocol, set config.FastCGI, size int64, addr string) (*Handler, *testutil.SyncBuffer) {
	t.Helper()
	pool, err := upstream.NewPool("app", []upstream.Settings{{Addr: addr, Weight: 1, MaxFails: 1, FailTimeout: 10 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	st := &config.Settings{ClientMaxBodySize: size, ClientBodyBufferSize: size}
	switch proto {
	case SCGI:
		st.SCGI = set
	case UWSGI:
		st.UWSGI = set
	default:
		st.FastCGI = set
	}
	logs := &testutil.SyncBuffer{}
	log, err := errlog.New(errlog.Options{Targets: []errlog.Target{{Path: errlog.StderrPath, Level: errlog.Info}}, Stderr: logs})
	if err != nil {
		t.Fatal(err)
	}
	h, err := New(Options{Protocol: proto, Location: &config.Location{Path: "/", Settings: st}, Pool: pool,
		Policy: &balancer.RoundRobin{}, Compiler: &vars.Compiler{}, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	return h, logs
}
