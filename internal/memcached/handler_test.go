package memcached

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"fulcrum/internal/balancer"
	"fulcrum/internal/config"
	"fulcrum/internal/errlog"
	"fulcrum/internal/testutil"
	"fulcrum/internal/upstream"
	"fulcrum/internal/vars"
)

// server is a scripted memcached server on a loopback port.
type server struct {
	addr  string
	conns atomic.Int32 // connections accepted
	mu    sync.Mutex   // guards lines
	lines []string     // the command lines received, in order
}

// serve starts a server that answers each command line of a connection
// with answer(key, conn); answer returns false to end the connection.
func serve(t *testing.T, answer func(key string, c net.Conn) bool) *server {
	t.Helper()
	s := &server{}
	s.addr = testutil.RawBackend(t, func(c net.Conn) {
		s.conns.Add(1)
		br := bufio.NewReader(c)
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			s.mu.Lock()
			s.lines = append(s.lines, line)
			s.mu.Unlock()
			key, _ := strings.CutPrefix(strings.TrimSuffix(line, "\r\n"), "get ")
			if !answer(key, c) {
				return
			}
		}
	})
	return s
}

// reply answers every command with the same bytes.
func reply(s string) func(string, net.Conn) bool {
	return func(_ string, c net.Conn) bool {
		_, err := io.WriteString(c, s)
		return err == nil
	}
}

// received lists the command lines the server got.
func (s *server) received() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.lines...)
}

func (s *server) settings() upstream.Settings {
	return upstream.Settings{Network: "tcp", Addr: s.addr, Weight: 1, MaxFails: 1, FailTimeout: 10 * time.Second}
}

// refused is the settings of an address nothing listens on.
func refused(t *testing.T) upstream.Settings {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return upstream.Settings{Network: "tcp", Addr: addr, Weight: 1, MaxFails: 1, FailTimeout: 10 * time.Second}
}

// defaults are nginx's memcached defaults with short timeouts.
func defaults() config.Memcached {
	return config.Memcached{BufferSize: 4096, ConnectTimeout: 2 * time.Second, SendTimeout: 2 * time.Second,
		ReadTimeout: 2 * time.Second, NextUpstream: config.NextError | config.NextTimeout}
}

// fixture is a handler with its key variable and error log.
type fixture struct {
	h    *Handler
	key  vars.Settable
	logs *testutil.SyncBuffer
}

// newFixture builds a handler for servers with set, logging at info.
func newFixture(t *testing.T, set config.Memcached, keepalive int, servers ...upstream.Settings) *fixture {
	t.Helper()
	pool, err := upstream.NewPool("mc", servers)
	if err != nil {
		t.Fatal(err)
	}
	logs := &testutil.SyncBuffer{}
	log, err := errlog.New(errlog.Options{Targets: []errlog.Target{{Path: errlog.StderrPath, Level: errlog.Info}}, Stderr: logs})
	if err != nil {
		t.Fatal(err)
	}
	comp := &vars.Compiler{}
	key, err := comp.DefineSettable("memcached_key")
	if err != nil {
		t.Fatal(err)
	}
	loc := &config.Location{Path: "/", Settings: &config.Settings{Memcached: set}}
	var idle *upstream.IdleConns
	if keepalive > 0 {
		idle = upstream.NewIdleConns(keepalive)
		t.Cleanup(idle.Close)
	}
	h, err := New(Options{Location: loc, Pool: pool, Policy: &balancer.RoundRobin{}, Idle: idle,
		Compiler: comp, Log: log, ContentType: func(uri string) string {
			if strings.HasSuffix(uri, ".html") {
				return "text/html"
			}
			return "text/plain"
		}})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{h: h, key: key, logs: logs}
}

// do serves one request; key is $memcached_key's value (nil: not set).
func (f *fixture) do(method, target string, key []byte) (*httptest.ResponseRecorder, *vars.State) {
	r := httptest.NewRequest(method, target, nil)
	st := &vars.State{}
	st.Method = method
	st.Path = r.URL.Path
	st.Args = r.URL.RawQuery
	st.RequestURI = r.RequestURI
	if key != nil {
		f.key.Set(st, key)
	}
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, r, st)
	return w, st
}

func TestServe(t *testing.T) {
	split := func(_ string, c net.Conn) bool { // the reply a byte per write
		for _, b := range []byte("VALUE /s 0 5\r\nsplit\r\nEND\r\n") {
			if _, err := c.Write([]byte{b}); err != nil {
				return false
			}
		}
		return true
	}
	hang := func(_ string, c net.Conn) bool { io.Copy(io.Discard, c); return false }
	tests := []struct {
		name    string
		answer  func(string, net.Conn) bool
		set     func(*config.Memcached)
		method  string
		target  string
		key     string // "" leaves $memcached_key unset
		status  int
		body    string
		header  map[string]string
		command string // the line the server must have got
		log     string // "LEVEL|text" of a line the error log must have
	}{
		{name: "hit", answer: reply("VALUE /p.html?a=1 0 5\r\nhello\r\nEND\r\n"), target: "/p.html?a=1", key: "/p.html?a=1",
			status: 200, body: "hello", header: map[string]string{"Content-Type": "text/html", "Content-Length": "5", "Content-Encoding": ""},
			command: "get /p.html?a=1\r\n"},
		{name: "escaped key", answer: reply("VALUE /a%20b%25 0 2\r\nok\r\nEND\r\n"), target: "/x", key: "/a b%",
			status: 200, body: "ok", command: "get /a%20b%25\r\n"},
		{name: "empty value", answer: reply("VALUE k 0 0\r\n\r\nEND\r\n"), key: "k", status: 200, body: "",
			header: map[string]string{"Content-Length": "0"}},
		{name: "miss", answer: reply("END\r\n"), key: "/none", status: 404,
			log: `info|key: "/none" was not found by memcached while reading response header from upstream, request: "GET /t HTTP/1.1", upstream: "memcached://127.0.0.1:`},
		{name: "gzip flag", answer: reply("VALUE k 6 3\r\ngz!\r\nEND\r\n"), set: func(m *config.Memcached) { m.GzipFlag = 2 },
			key: "k", status: 200, body: "gz!", header: map[string]string{"Content-Encoding": "gzip"}},
		{name: "gzip flag not in flags", answer: reply("VALUE k 5 3\r\nraw\r\nEND\r\n"), set: func(m *config.Memcached) { m.GzipFlag = 2 },
			key: "k", status: 200, body: "raw", header: map[string]string{"Content-Encoding": ""}},
		{name: "flags ignored without gzip flag", answer: reply("VALUE k 2 3\r\nraw\r\nEND\r\n"),
			key: "k", status: 200, body: "raw", header: map[string]string{"Content-Encoding": ""}},
		{name: "split across reads", answer: split, key: "/s", status: 200, body: "split"},
		{name: "malformed", answer: reply("SERVER_ERROR out of memory\r\n"), key: "k", status: 502,
			log: `error|memcached sent invalid response: "SERVER_ERROR out of memory" while reading response header from upstream`},
		{name: "wrong key", answer: reply("VALUE j 0 1\r\nx\r\nEND\r\n"), key: "k", status: 502,
			log: `error|memcached sent invalid key in response "VALUE j 0 1" for key "k" while reading response header from upstream`},
		{name: "invalid trailer", answer: reply("VALUE k 0 5\r\nhelloXXEND\r\n"), key: "k", status: 200, body: "hello",
			log: `error|memcached sent invalid trailer while reading upstream`},
		{name: "closed before the reply", answer: func(string, net.Conn) bool { return false }, key: "k", status: 502,
			log: `error|upstream prematurely closed connection while reading response header from upstream`},
		{name: "read timeout", answer: hang, set: func(m *config.Memcached) { m.ReadTimeout = 100 * time.Millisecond },
			key: "k", status: 504, log: `error|upstream timed out (110: Connection timed out) while reading response header from upstream`},
		{name: "line too long", answer: reply("VALUE k 0 1" + strings.Repeat(" ", 64) + "\r\n"), set: func(m *config.Memcached) { m.BufferSize = 32 },
			key: "k", status: 502, log: `error|upstream sent too big header while reading response header from upstream`},
		{name: "key not set", answer: reply("END\r\n"), status: 500, log: `error|the "$memcached_key" variable is not set`},
		{name: "POST", answer: reply("END\r\n"), method: "POST", key: "k", status: 405},
		{name: "HEAD", answer: reply("VALUE k 0 5\r\nhello\r\nEND\r\n"), method: "HEAD", key: "k", status: 200, body: "",
			header: map[string]string{"Content-Length": "5"}, command: "get k\r\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := serve(t, tc.answer)
			set := defaults()
			if tc.set != nil {
				tc.set(&set)
			}
			f := newFixture(t, set, 0, srv.settings())
			method, target := tc.method, tc.target
			if method == "" {
				method = "GET"
			}
			if target == "" {
				target = "/t"
			}
			var key []byte
			if tc.key != "" {
				key = []byte(tc.key)
			}
			w, _ := f.do(method, target, key)
			if w.Code != tc.status || tc.status == 200 && w.Body.String() != tc.body {
				t.Fatalf("got %d %q, want %d %q; log:\n%s", w.Code, w.Body, tc.status, tc.body, f.logs)
			}
			for k, v := range tc.header {
				if got := w.Header().Get(k); got != v {
					t.Errorf("%s: %q, want %q", k, got, v)
				}
			}
			if tc.command != "" {
				if got := srv.received(); len(got) != 1 || got[0] != tc.command {
					t.Errorf("server got %q, want %q", got, tc.command)
				}
			}
			if tc.log != "" && !logged(f.logs.String(), tc.log) {
				t.Errorf("log lacks %q:\n%s", tc.log, f.logs)
			}
			if tc.status == 500 || tc.status == 405 {
				if got := srv.received(); len(got) != 0 {
					t.Errorf("server was asked %q", got)
				}
			}
		})
	}
}

// TestNextUpstream follows memcached_next_upstream to the second server:
// for a refused connection (error, the default), an invalid reply
// (invalid_response), a miss (not_found), and not with off or one try.
func TestNextUpstream(t *testing.T) {
	good := reply("VALUE k 0 4\r\ngood\r\nEND\r\n")
	tests := []struct {
		name   string
		first  func(*testing.T) upstream.Settings
		next   config.NextUpstream
		tries  int
		status int
		addrs  int // $upstream_addr entries
	}{
		{"refused, error", func(t *testing.T) upstream.Settings { return refused(t) }, config.NextError | config.NextTimeout, 0, 200, 2},
		{"refused, off", func(t *testing.T) upstream.Settings { return refused(t) }, config.NextOff, 0, 502, 1},
		{"refused, one try", func(t *testing.T) upstream.Settings { return refused(t) }, config.NextError, 1, 502, 1},
		{"invalid, invalid_response", func(t *testing.T) upstream.Settings { return serve(t, reply("ERROR\r\n")).settings() },
			config.NextError | config.NextInvalidHeader, 0, 200, 2},
		{"invalid, default", func(t *testing.T) upstream.Settings { return serve(t, reply("ERROR\r\n")).settings() },
			config.NextError | config.NextTimeout, 0, 502, 1},
		{"miss, not_found", func(t *testing.T) upstream.Settings { return serve(t, reply("END\r\n")).settings() },
			config.NextHTTP404, 0, 200, 2},
		{"miss, default", func(t *testing.T) upstream.Settings { return serve(t, reply("END\r\n")).settings() },
			config.NextError | config.NextTimeout, 0, 404, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			set := defaults()
			set.NextUpstream, set.NextUpstreamTries = tc.next, tc.tries
			f := newFixture(t, set, 0, tc.first(t), serve(t, good).settings())
			w, st := f.do("GET", "/k", []byte("k"))
			if w.Code != tc.status || tc.status == 200 && w.Body.String() != "good" {
				t.Fatalf("got %d %q, want %d; log:\n%s", w.Code, w.Body, tc.status, f.logs)
			}
			if got := len(st.Upstreams); got != tc.addrs {
				t.Errorf("%d attempts, want %d", got, tc.addrs)
			}
		})
	}
}

// TestKeepalive reuses a connection after a complete reply (a hit and a
// miss), and not after an invalid trailer.
func TestKeepalive(t *testing.T) {
	tests := []struct {
		name    string
		replies []string
		conns   int32
	}{
		{"hits and misses", []string{"VALUE k 0 1\r\na\r\nEND\r\n", "END\r\n", "VALUE k 0 1\r\nb\r\nEND\r\n"}, 1},
		{"invalid trailer", []string{"VALUE k 0 1\r\naXXEND\r\n", "VALUE k 0 1\r\nb\r\nEND\r\n"}, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var n atomic.Int32
			srv := serve(t, func(_ string, c net.Conn) bool {
				i := int(n.Add(1)) - 1
				_, err := io.WriteString(c, tc.replies[i%len(tc.replies)])
				return err == nil
			})
			f := newFixture(t, defaults(), 2, srv.settings())
			for range tc.replies {
				f.do("GET", "/k", []byte("k"))
			}
			if got := srv.conns.Load(); got != tc.conns {
				t.Errorf("%d connections, want %d", got, tc.conns)
			}
		})
	}
}

// TestValueBrokenOff ends the client's connection (http.ErrAbortHandler)
// when the server closes in the middle of the value, as nginx does.
func TestValueBrokenOff(t *testing.T) {
	srv := serve(t, func(_ string, c net.Conn) bool {
		io.WriteString(c, "VALUE k 0 10\r\nhalf")
		return false
	})
	f := newFixture(t, defaults(), 0, srv.settings())
	defer func() {
		if p := recover(); p != http.ErrAbortHandler {
			t.Fatalf("panic %v, want http.ErrAbortHandler", p)
		}
		if !strings.Contains(f.logs.String(), "upstream prematurely closed connection while reading upstream") {
			t.Errorf("log:\n%s", f.logs)
		}
	}()
	f.do("GET", "/k", []byte("k"))
}

// logged reports whether logs has a line at level with text, for want
// "LEVEL|text".
func logged(logs, want string) bool {
	level, text, _ := strings.Cut(want, "|")
	for _, line := range strings.Split(logs, "\n") {
		if strings.Contains(line, "["+level+"]") && strings.Contains(line, text) {
			return true
		}
	}
	return false
}

// TestRanges sends the part of the value the range filter picks: 206 with
// Content-Range, 200 with Accept-Ranges, 200 without it when ranges are
// refused, and 416 (the error page's status) without asking for the value.
func TestRanges(t *testing.T) {
	tests := []struct {
		name       string
		start, end int64
		verdict    int
		status     int
		body       string
		header     map[string]string
	}{
		{"one range", 2, 5, 206, 206, "234", map[string]string{"Content-Range": "bytes 2-4/10", "Content-Length": "3", "Accept-Ranges": ""}},
		{"to the end", 7, 10, 206, 206, "789", map[string]string{"Content-Range": "bytes 7-9/10"}},
		{"whole", 0, 10, 200, 200, "0123456789", map[string]string{"Accept-Ranges": "bytes", "Content-Length": "10", "Content-Range": ""}},
		{"refused", 0, 10, 0, 200, "0123456789", map[string]string{"Accept-Ranges": "", "Content-Length": "10"}},
		{"not satisfiable", 0, 10, 416, 416, "", map[string]string{"Content-Encoding": ""}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// The value comes in pieces, so that a range spans reads.
			srv := serve(t, func(_ string, c net.Conn) bool {
				for _, p := range []string{"VALUE k 2 10\r\n012", "3456", "789\r\nEND\r\n"} {
					if _, err := io.WriteString(c, p); err != nil {
						return false
					}
				}
				return true
			})
			set := defaults()
			set.GzipFlag = 2
			f := newFixture(t, set, 0, srv.settings())
			var gotSize int64
			f.h.ranges = func(_ http.ResponseWriter, _ *http.Request, ct string, size int64) (int64, int64, int) {
				gotSize = size
				if ct != "text/plain" {
					t.Errorf("range filter sees type %q", ct)
				}
				return tc.start, tc.end, tc.verdict
			}
			w, _ := f.do("GET", "/k", []byte("k"))
			if w.Code != tc.status || w.Code != 416 && w.Body.String() != tc.body {
				t.Fatalf("got %d %q, want %d %q", w.Code, w.Body, tc.status, tc.body)
			}
			if gotSize != 10 {
				t.Errorf("range filter got size %d", gotSize)
			}
			for k, v := range tc.header {
				if got := w.Header().Get(k); got != v {
					t.Errorf("%s: %q, want %q", k, got, v)
				}
			}
		})
	}
}

// TestBind connects from memcached_bind's address, fixed or from a
// variable; an empty value binds nothing.
func TestBind(t *testing.T) {
	tests := []struct {
		name string
		bind config.ProxyBind
		want string // the client address the server sees; "" for any
	}{
		{"fixed", config.ProxyBind{Addr: "127.0.0.2"}, "127.0.0.2"},
		{"variable", config.ProxyBind{Addr: "$arg_from", HasVariables: true}, "127.0.0.3"},
		{"off", config.ProxyBind{}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			var from string
			srv := serve(t, func(_ string, c net.Conn) bool {
				mu.Lock()
				from, _, _ = net.SplitHostPort(c.RemoteAddr().String())
				mu.Unlock()
				_, err := io.WriteString(c, "END\r\n")
				return err == nil
			})
			set := defaults()
			set.Bind = tc.bind
			f := newFixture(t, set, 0, srv.settings())
			w, _ := f.do("GET", "/k?from=127.0.0.3", []byte("k"))
			if w.Code != 404 {
				t.Fatalf("status %d; log:\n%s", w.Code, f.logs)
			}
			mu.Lock()
			defer mu.Unlock()
			if tc.want != "" && from != tc.want {
				t.Errorf("connected from %s, want %s", from, tc.want)
			}
		})
	}
}
