package fastcgi

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/fcgi"
	"net/http/httptest"
	"path/filepath"
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

// settings are nginx's fastcgi defaults with the params of a PHP setup.
func settings() config.FastCGI {
	return config.FastCGI{
		ConnectTimeout: 2 * time.Second, SendTimeout: 2 * time.Second, ReadTimeout: 2 * time.Second,
		BufferSize:   maxHead,
		NextUpstream: config.NextError | config.NextTimeout, PassRequestHeaders: true, PassRequestBody: true, RequestBuffering: true, Buffering: true,
		Params: []config.FastCGIParam{
			{Name: "REQUEST_METHOD", Value: "$request_method"},
			{Name: "REQUEST_URI", Value: "$request_uri"},
			{Name: "SCRIPT_NAME", Value: "$uri"},
			{Name: "SERVER_PROTOCOL", Value: "HTTP/1.1"},
			{Name: "CONTENT_LENGTH", Value: "$content_length"},
			{Name: "HTTPS", Value: "$https", IfNotEmpty: true},
			{Name: "HTTP_X_FIXED", Value: "from-param"},
			{Name: "APP_URI", Value: "$uri"},
		},
	}
}

// newHandler builds a handler for servers with set, logging to the
// returned buffer.
func newHandler(t *testing.T, set config.FastCGI, keepalive int, servers ...upstream.Settings) (*Handler, *testutil.SyncBuffer) {
	t.Helper()
	pool, err := upstream.NewPool("php", servers)
	if err != nil {
		t.Fatal(err)
	}
	logs := &testutil.SyncBuffer{}
	log, err := errlog.New(errlog.Options{Targets: []errlog.Target{{Path: errlog.StderrPath, Level: errlog.Warn}}, Stderr: logs})
	if err != nil {
		t.Fatal(err)
	}
	loc := &config.Location{Path: "/", Settings: &config.Settings{FastCGI: set}}
	h, err := New(Options{Location: loc, Pool: pool, Policy: &balancer.RoundRobin{}, Idle: idleConns(t, keepalive),
		Compiler: &vars.Compiler{}, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	return h, logs
}

// idleConns keeps up to keepalive idle connections per server, closed at
// the end of the test; nil for 0, as the daemon gives a block without
// keepalive.
func idleConns(t *testing.T, keepalive int) *upstream.IdleConns {
	if keepalive <= 0 {
		return nil
	}
	idle := upstream.NewIdleConns(keepalive)
	t.Cleanup(idle.Close)
	return idle
}

// serveFCGI runs Go's FastCGI server with handler on a listener and
// returns the server settings for it.
func serveFCGI(t *testing.T, network string, handler http.Handler) upstream.Settings {
	t.Helper()
	addr := "127.0.0.1:0"
	if network == "unix" {
		addr = filepath.Join(t.TempDir(), "php.sock")
	}
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go fcgi.Serve(ln, handler)
	return upstream.Settings{Network: network, Addr: ln.Addr().String(), Weight: 1, MaxFails: 1, FailTimeout: 10 * time.Second}
}

// do serves one request through h.
func do(h *Handler, method, target, body string, hdr ...string) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	doTo(h, w, method, target, body, hdr...)
	return w
}

// doTo is do with the response going to w.
func doTo(h *Handler, w http.ResponseWriter, method, target, body string, hdr ...string) {
	var rb io.Reader
	if body != "" {
		rb = strings.NewReader(body)
	}
	r := httptest.NewRequest(method, target, rb)
	st := &vars.State{}
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
		st.Fields = append(st.Fields, vars.Field{Name: hdr[i], Value: hdr[i+1]})
	}
	st.Fields = append(st.Fields, vars.Field{Name: "Host", Value: r.Host})
	st.Method = method
	st.Path = r.URL.Path
	st.Args = r.URL.RawQuery
	st.RequestURI = r.RequestURI
	st.Header = vars.HeaderMap(r.Header)
	h.ServeHTTP(w, r, st)
}

// echo answers with what the FastCGI request carried.
var echo = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	env := fcgi.ProcessEnv(r)
	b, _ := io.ReadAll(r.Body)
	w.Header().Set("X-Script", env["APP_URI"])
	w.Header().Set("Server", "app")
	fmt.Fprintf(w, "%s %s body=%s https=%q fixed=%s foo=%s", r.Method, r.URL.RequestURI(), b,
		env["HTTPS"], r.Header.Get("X-Fixed"), r.Header.Get("X-Foo"))
})

func TestServe(t *testing.T) {
	for _, network := range []string{"tcp", "unix"} {
		t.Run(network, func(t *testing.T) {
			h, _ := newHandler(t, settings(), 0, serveFCGI(t, network, echo))
			tests := []struct {
				method, target, body, want string
			}{
				{"GET", "/index.php?a=1", "", "GET /index.php?a=1 body= https=\"\" fixed=from-param foo=bar"},
				{"POST", "/form.php", "x=1&y=2", "POST /form.php body=x=1&y=2 https=\"\" fixed=from-param foo=bar"},
			}
			for _, tc := range tests {
				w := do(h, tc.method, tc.target, tc.body, "X-Foo", "bar", "X-Fixed", "from-client")
				if w.Code != 200 || w.Body.String() != tc.want {
					t.Errorf("%s %s: %d %q, want 200 %q", tc.method, tc.target, w.Code, w.Body, tc.want)
				}
				if got := w.Header().Get("Server"); got != "" {
					t.Errorf("Server %q passed on; nginx hides it", got)
				}
				if got, want := w.Header().Get("X-Script"), strings.Split(tc.target, "?")[0]; got != want {
					t.Errorf("APP_URI %q, want %q", got, want)
				}
			}
		})
	}
}

func TestStatusAndHeaders(t *testing.T) {
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/missing":
			w.Header().Set("X-Accel-Buffering", "no")
			w.WriteHeader(404)
		case "/moved":
			w.Header().Set("Location", "http://example.com/")
			w.WriteHeader(301)
		}
		io.WriteString(w, r.URL.Path)
	})
	set := settings()
	set.HideHeaders = []string{"X-Powered-By"}
	h, _ := newHandler(t, set, 0, serveFCGI(t, "tcp", app))
	tests := []struct {
		target   string
		code     int
		location string
	}{
		{"/missing", 404, ""},
		{"/moved", 301, "http://example.com/"},
	}
	for _, tc := range tests {
		w := do(h, "GET", tc.target, "")
		if w.Code != tc.code || w.Header().Get("Location") != tc.location || w.Body.String() != tc.target {
			t.Errorf("%s: %d %q %q", tc.target, w.Code, w.Header().Get("Location"), w.Body)
		}
		if w.Header().Get("Status") != "" || w.Header().Get("X-Accel-Buffering") != "" {
			t.Errorf("%s: hidden field passed: %v", tc.target, w.Header())
		}
	}
}

// rawApp answers every FastCGI request with the records resp makes.
func rawApp(t *testing.T, resp func(w *bufio.Writer)) upstream.Settings {
	t.Helper()
	addr := testutil.RawBackend(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		if readRequestRecords(br) != nil {
			return
		}
		bw := bufio.NewWriter(c)
		resp(bw)
		bw.Flush()
	})
	return upstream.Settings{Addr: addr, Weight: 1, MaxFails: 1, FailTimeout: 10 * time.Second}
}

func end(w *bufio.Writer) { writeRecord(w, typeEndRequest, make([]byte, 8)) }

// readRequestRecords reads a request's records from br, up to and with the
// empty STDIN record that ends it; an error is the connection's end.
func readRequestRecords(br *bufio.Reader) error {
	for {
		var h [8]byte
		if _, err := io.ReadFull(br, h[:]); err != nil {
			return err
		}
		n := int(binary.BigEndian.Uint16(h[4:])) + int(h[6])
		if _, err := br.Discard(n); err != nil {
			return err
		}
		if h[1] == typeStdin && n == 0 {
			return nil
		}
	}
}

func TestRawResponses(t *testing.T) {
	tests := []struct {
		name   string
		resp   func(w *bufio.Writer)
		code   int
		body   string
		header string // "Name: value" expected
		log    string
	}{
		{"location without status is 302", func(w *bufio.Writer) {
			writeRecord(w, typeStdout, []byte("Location: /next\r\n\r\n"))
			end(w)
		}, 302, "", "Location: /next", ""},
		{"no status is 200, LF lines, body in records", func(w *bufio.Writer) {
			writeRecord(w, typeStdout, []byte("Content-Type: text/plain\n\nhel"))
			writeRecord(w, typeStdout, []byte("lo"))
			end(w)
		}, 200, "hello", "Content-Type: text/plain", ""},
		{"stderr is logged", func(w *bufio.Writer) {
			writeRecord(w, typeStderr, []byte("PHP Warning: oops\n"))
			writeRecord(w, typeStdout, []byte("Status: 418 Teapot\r\n\r\nx"))
			end(w)
		}, 418, "x", "", `FastCGI sent in stderr: "PHP Warning: oops" while reading response header from upstream`},
		{"invalid header is 502", func(w *bufio.Writer) {
			writeRecord(w, typeStdout, []byte("no colon here\r\n\r\n"))
			end(w)
		}, 502, "", "", `upstream sent invalid header: "no\x20..." while reading response header from upstream`},
		{"invalid status is 502", func(w *bufio.Writer) {
			writeRecord(w, typeStdout, []byte("Status: abc\r\n\r\n"))
			end(w)
		}, 502, "", "", `upstream sent invalid status "abc" while reading response header from upstream`},
		{"short status is 502", func(w *bufio.Writer) {
			writeRecord(w, typeStdout, []byte("Status: 20\r\n\r\n"))
			end(w)
		}, 502, "", "", `upstream sent invalid status "20" while reading response header from upstream`},
		// nginx 1.22.1 passes these on as a malformed status line
		// ("HTTP/1.1 1000"); fulcrum answers 502 (docs/directives.md).
		{"four-digit status is 502", func(w *bufio.Writer) {
			writeRecord(w, typeStdout, []byte("Status: 1000\r\n\r\n"))
			end(w)
		}, 502, "", "", "upstream sent invalid status while reading response header from upstream"},
		{"status under 100 is 502", func(w *bufio.Writer) {
			writeRecord(w, typeStdout, []byte("Status: 099 Low\r\n\r\n"))
			end(w)
		}, 502, "", "", "upstream sent invalid status while reading response header from upstream"},
		{"a name alone is a field with an empty value", func(w *bufio.Writer) {
			writeRecord(w, typeStdout, []byte("Content-Type: text/plain\r\nNocolon\r\n\r\nx"))
			end(w)
		}, 200, "x", "Nocolon: ", ""},
		{"too big header is 502", func(w *bufio.Writer) {
			writeRecord(w, typeStdout, []byte("X-Big: "+strings.Repeat("a", 5000)+"\r\n\r\n"))
			end(w)
		}, 502, "", "", "upstream sent too big header"},
		{"closed before the head is 502", func(w *bufio.Writer) {
			writeRecord(w, typeStdout, []byte("Content-Type: text/plain\r\n"))
		}, 502, "", "", "upstream prematurely closed connection while reading response header from upstream"},
		{"bad version is 502", func(w *bufio.Writer) {
			w.Write([]byte{2, typeStdout, 0, 1, 0, 0, 0, 0})
		}, 502, "", "", "upstream sent unsupported FastCGI protocol version: 2 while reading response header from upstream"},
		{"unknown record type is 502", func(w *bufio.Writer) {
			writeRecord(w, 11, nil)
		}, 502, "", "", "upstream sent invalid FastCGI record type: 11 while"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, logs := newHandler(t, settings(), 0, rawApp(t, tc.resp))
			w := do(h, "GET", "/x.php", "")
			if w.Code != tc.code || tc.code == 200 && w.Body.String() != tc.body {
				t.Errorf("got %d %q, want %d %q", w.Code, w.Body, tc.code, tc.body)
			}
			if tc.header != "" {
				name, value, _ := strings.Cut(tc.header, ": ")
				if got := w.Header().Values(name); len(got) != 1 || got[0] != value {
					t.Errorf("%s = %q, want %q", name, got, value)
				}
			}
			if tc.log != "" && !strings.Contains(logs.String(), tc.log) {
				t.Errorf("log %q lacks %q", logs, tc.log)
			}
		})
	}
}

func TestFailover(t *testing.T) {
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := dead.Addr().String()
	dead.Close()
	down := upstream.Settings{Addr: deadAddr, Weight: 1, MaxFails: 1, FailTimeout: time.Minute}
	live := serveFCGI(t, "tcp", echo)
	h, logs := newHandler(t, settings(), 0, down, live)
	for i := range 3 {
		if w := do(h, "GET", "/a.php", ""); w.Code != 200 {
			t.Fatalf("request %d: %d %q", i, w.Code, w.Body)
		}
	}
	// The dead server failed once and was then skipped (max_fails=1).
	if n := strings.Count(logs.String(), "connect() failed"); n != 1 {
		t.Errorf("%d connect failures logged, want 1:\n%s", n, logs)
	}
	set := settings()
	set.NextUpstream = config.NextOff
	h2, _ := newHandler(t, set, 0, down)
	if w := do(h2, "GET", "/a.php", ""); w.Code != 502 {
		t.Errorf("dead server alone: %d, want 502", w.Code)
	}
}

func TestReadTimeout(t *testing.T) {
	block := make(chan struct{})
	t.Cleanup(func() { close(block) })
	slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-block })
	set := settings()
	set.ReadTimeout = 100 * time.Millisecond
	h, logs := newHandler(t, set, 0, serveFCGI(t, "tcp", slow))
	if w := do(h, "GET", "/a.php", ""); w.Code != 504 {
		t.Errorf("got %d, want 504", w.Code)
	}
	if !strings.Contains(logs.String(), "upstream timed out (110: Connection timed out) while reading response header from upstream") {
		t.Errorf("log: %s", logs)
	}
}

func TestNextUpstreamStatus(t *testing.T) {
	failing := serveFCGI(t, "tcp", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(503) }))
	live := serveFCGI(t, "tcp", echo)
	set := settings()
	set.NextUpstream |= config.NextHTTP503
	h, _ := newHandler(t, set, 0, failing, live)
	for i := range 4 {
		if w := do(h, "GET", "/a.php", ""); w.Code != 200 {
			t.Errorf("request %d: %d, want 200 from the other server", i, w.Code)
		}
	}
}

// TestKeepConn checks that fastcgi_keep_conn with keepalive reuses one
// connection for several requests.
func TestKeepConn(t *testing.T) {
	var mu sync.Mutex
	conns := map[string]bool{}
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go fcgi.Serve(&recordingListener{Listener: ln, seen: func(a string) { mu.Lock(); conns[a] = true; mu.Unlock() }}, app)
	tests := []struct {
		keepConn  bool
		wantConns int
	}{{true, 1}, {false, 3}}
	for _, tc := range tests {
		mu.Lock()
		clear(conns)
		mu.Unlock()
		set := settings()
		set.KeepConn = tc.keepConn
		h, _ := newHandler(t, set, 4, upstream.Settings{Addr: ln.Addr().String(), Weight: 1, MaxFails: 1, FailTimeout: time.Second})
		for range 3 {
			if w := do(h, "GET", "/", ""); w.Code != 200 || w.Body.String() != "ok" {
				t.Fatalf("keep_conn %v: %d %q", tc.keepConn, w.Code, w.Body)
			}
		}
		mu.Lock()
		n := len(conns)
		mu.Unlock()
		if n != tc.wantConns {
			t.Errorf("keep_conn %v: %d connections, want %d", tc.keepConn, n, tc.wantConns)
		}
	}
}

type recordingListener struct {
	net.Listener
	seen func(addr string)
}

func (l *recordingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.seen(c.RemoteAddr().String())
	}
	return c, err
}

func TestParams(t *testing.T) {
	var got []byte
	got = appendParam(got, "A", "b")
	long := strings.Repeat("v", 200)
	got = appendParam(got, "LONG", long)
	want := append([]byte{1, 1, 'A', 'b', 4, 0x80, 0, 0, 200}, "LONG"+long...)
	if !bytes.Equal(got, want) {
		t.Errorf("got % x", got[:12])
	}
	for _, tc := range []struct{ in, want string }{
		{"X-Forwarded-For", "HTTP_X_FORWARDED_FOR"}, {"host", "HTTP_HOST"}, {"x_under", ""},
	} {
		if g := headerParam(tc.in); g != tc.want {
			t.Errorf("headerParam(%q) = %q, want %q", tc.in, g, tc.want)
		}
	}
}

// TestLargeBodies sends a body over several STDIN records and streams back
// a response over many STDOUT records.
func TestLargeBodies(t *testing.T) {
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		for range 8 {
			w.Write(b)
		}
	})
	for _, buffering := range []bool{true, false} {
		set := settings()
		set.Buffering = buffering
		h, _ := newHandler(t, set, 0, serveFCGI(t, "tcp", app))
		in := strings.Repeat("0123456789abcdef", 100<<10/16) // 100 KiB: four records
		w := do(h, "POST", "/big", in)
		if w.Code != 200 || w.Body.String() != strings.Repeat(in, 8) {
			t.Errorf("buffering %v: %d, %d bytes, want %d", buffering, w.Code, w.Body.Len(), 8*len(in))
		}
		if !buffering && !w.Flushed {
			t.Errorf("fastcgi_buffering off: not flushed")
		}
	}
}

// pagesWriter has error pages for 404 (fastcgi_intercept_errors) and
// follows X-Accel-Redirect, as the daemon's writer does.
type pagesWriter struct {
	*httptest.ResponseRecorder
	failed int
	accel  string
}

func (w *pagesWriter) InterceptsError(code int) bool { return code == 404 }
func (w *pagesWriter) Fail(code int)                 { w.failed = code }
func (w *pagesWriter) AccelRedirect(target string)   { w.accel = target }

func TestInterceptAndAccel(t *testing.T) {
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/missing":
			w.WriteHeader(404)
		case "/accel":
			w.Header().Set("X-Accel-Redirect", "/protected/file")
			w.Header().Set("Content-Type", "application/pdf")
		}
	})
	tests := []struct {
		intercept, ignoreAccel bool
		target                 string
		failed                 int
		accel                  string
		code                   int
	}{
		{true, false, "/missing", 404, "", 200},
		{false, false, "/missing", 0, "", 404},
		{false, false, "/accel", 0, "/protected/file", 200},
		{false, true, "/accel", 0, "", 200},
	}
	for _, tc := range tests {
		set := settings()
		set.InterceptErrors, set.IgnoreAccelRedirect = tc.intercept, tc.ignoreAccel
		h, _ := newHandler(t, set, 0, serveFCGI(t, "tcp", app))
		r := httptest.NewRequest("GET", tc.target, nil)
		st := &vars.State{}
		st.Path, st.Method, st.RequestURI = tc.target, "GET", tc.target
		w := &pagesWriter{ResponseRecorder: httptest.NewRecorder()}
		h.ServeHTTP(w, r, st)
		if w.failed != tc.failed || w.accel != tc.accel || w.Code != tc.code {
			t.Errorf("%+v: failed %d accel %q code %d", tc, w.failed, w.accel, w.Code)
		}
		if tc.accel != "" && w.Header().Get("Content-Type") != "application/pdf" {
			t.Errorf("accel: Content-Type %q not kept", w.Header().Get("Content-Type"))
		}
	}
}

// lengthWriter is a ResponseRecorder that notes LengthUnknown, and whether
// it came before the head.
type lengthWriter struct {
	*httptest.ResponseRecorder
	headSent, unknown, beforeHead bool
}

func (w *lengthWriter) LengthUnknown() { w.unknown, w.beforeHead = true, !w.headSent }

func (w *lengthWriter) WriteHeader(code int) {
	w.headSent = true
	w.ResponseRecorder.WriteHeader(code)
}

// TestLengthUnknown checks that a response without the application's
// Content-Length tells the writer, before the head, that its length is not
// known (nginx's content_length_n of -1: chunked however short), and one
// with it does not.
func TestLengthUnknown(t *testing.T) {
	tests := []struct {
		name string
		head string
		want bool
	}{
		{"no Content-Length", "Content-Type: text/plain\r\n\r\nhello", true},
		{"Content-Length", "Content-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello", false},
		{"a redirect without a body", "Location: /next\r\n\r\n", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, _ := newHandler(t, settings(), 0, rawApp(t, func(w *bufio.Writer) {
				writeRecord(w, typeStdout, []byte(tc.head))
				end(w)
			}))
			w := &lengthWriter{ResponseRecorder: httptest.NewRecorder()}
			doTo(h, w, "GET", "/x.php", "")
			if w.unknown != tc.want || w.unknown && !w.beforeHead {
				t.Errorf("LengthUnknown called %v (before the head: %v), want %v", w.unknown, w.beforeHead, tc.want)
			}
		})
	}
}

// TestSendTimeoutBetweenWrites: fastcgi_send_timeout "is set only between
// two successive write operations, not for the transmission of the whole
// request" (nginx's documentation). An application that reads a 2 MiB body
// 32 KiB at a time, every 5 ms, over a Unix socket (small buffers) takes
// about 320 ms for it, longer than the 150 ms timeout, yet always makes
// progress within it: the request goes through. One that stops reading
// gets the timeout: 504.
func TestSendTimeoutBetweenWrites(t *testing.T) {
	in := strings.Repeat("0123456789abcdef", 2<<20/16)
	for _, tc := range []struct {
		name     string
		stopAt   int // the application stops reading after this many bytes; 0: never
		wantCode int
	}{
		{"slow reader", 0, 200},
		{"reader stops", 256 << 10, 504},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stop := make(chan struct{})
			defer close(stop)
			app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				buf := make([]byte, 32<<10)
				var n int
				for {
					if tc.stopAt > 0 && n >= tc.stopAt {
						<-stop // reads nothing more until the test ends
						return
					}
					time.Sleep(5 * time.Millisecond) // the application's pace
					m, err := io.ReadFull(r.Body, buf)
					n += m
					if err != nil {
						break
					}
				}
				fmt.Fprintf(w, "got %d", n)
			})
			set := settings()
			set.SendTimeout = 150 * time.Millisecond
			h, _ := newHandler(t, set, 0, serveFCGI(t, "unix", app))
			w := do(h, "POST", "/upload", in)
			if w.Code != tc.wantCode {
				t.Fatalf("%d %q, want %d", w.Code, w.Body.String(), tc.wantCode)
			}
			if want := fmt.Sprintf("got %d", len(in)); tc.wantCode == 200 && w.Body.String() != want {
				t.Errorf("body %q, want %q", w.Body.String(), want)
			}
		})
	}
}

// TestEmptyHTTPParam: a fastcgi_param HTTP_* whose value is written empty
// only hides the client's field of that name and is not sent (nginx's
// ngx_http_fastcgi_init_params; the httpoxy mitigation fastcgi_param
// HTTP_PROXY "" of Matomo's and many PHP configurations). Recorded with nginx
// 1.22.1: HTTP_PROXY "" absent, FOO "" sent empty, HTTP_X $arg_x sent empty
// when the argument is empty, HTTP_Y "" absent and the client's Y hidden.
func TestEmptyHTTPParam(t *testing.T) {
	set := settings()
	set.Params = append(set.Params,
		config.FastCGIParam{Name: "HTTP_PROXY", Value: ""},
		config.FastCGIParam{Name: "FOO", Value: ""},
		config.FastCGIParam{Name: "HTTP_X", Value: "$arg_x"},
		config.FastCGIParam{Name: "HTTP_Y", Value: ""})
	show := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		env := fcgi.ProcessEnv(r)
		for _, k := range []string{"Proxy", "X", "Y", "Z"} {
			if v, ok := r.Header[k]; ok {
				fmt.Fprintf(w, "%s=%q ", k, v)
			} else {
				fmt.Fprintf(w, "%s=absent ", k)
			}
		}
		if v, ok := env["FOO"]; ok {
			fmt.Fprintf(w, "FOO=%q", v)
		} else {
			fmt.Fprint(w, "FOO=absent")
		}
	})
	h, _ := newHandler(t, set, 0, serveFCGI(t, "tcp", show))
	w := do(h, "GET", "/index.php?x=", "", "Proxy", "evil", "Y", "yy", "Z", "zz")
	want := `Proxy=absent X=[""] Y=absent Z=["zz"] FOO=""`
	if w.Code != 200 || w.Body.String() != want {
		t.Errorf("got %d %s\nwant 200 %s", w.Code, w.Body, want)
	}
}
