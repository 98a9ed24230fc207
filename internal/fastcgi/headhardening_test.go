package fastcgi

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
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

// TestHeadHardening sends response heads an application must not get past
// fulcrum: what nginx 1.22.1 answered to each, recorded with a FastCGI
// server that wrote these bytes (the same for SCGI and uwsgi), is the
// expected answer. A NUL or a bare CR in a line is a 502 with nginx's error
// line, never a field or a status line the client gets; several
// Content-Length fields go out as one, the last (none when it is not a
// number); the first Status wins.
func TestHeadHardening(t *testing.T) {
	tests := []struct {
		name   string
		head   string
		code   int
		fields map[string][]string // nil value: absent
		log    string
	}{
		{"NUL in a value", "X-A: a\x00b\r\n\r\n", 502, nil,
			`upstream sent invalid header: "X-A: a\x00..." while reading response header from upstream`},
		{"bare CR in a value", "X-A: a\rb\r\n\r\n", 502, nil, `upstream sent invalid header: "X-A: a\x0d..."`},
		{"NUL in the reason", "Status: 200 O\x00K\r\n\r\n", 502, nil, `upstream sent invalid header: "Status: 200 O\x00..."`},
		{"bare CR in the reason", "Status: 200 O\rK\r\n\r\n", 502, nil, `upstream sent invalid header: "Status: 200 O\x0d..."`},
		{"NUL in an HTTP status line", "HTTP/1.1 200 O\x00K\r\n\r\n", 502, nil, `upstream sent invalid header: "HTTP/1.1 200 O\x00..."`},
		{"obs-fold", "X-A: a\r\n b\r\n\r\n", 502, nil, `upstream sent invalid header: "\x20..."`},
		{"space before the colon", "X-A : b\r\n\r\n", 502, nil, `upstream sent invalid header: "X-A\x20..."`},
		{"two lengths: the last", "Content-Length: 6\r\nContent-Length: 5\r\n\r\nbody\n", 200,
			map[string][]string{"Content-Length": {"5"}}, ""},
		{"the same length twice", "Content-Length: 5\r\nContent-Length: 5\r\n\r\nbody\n", 200,
			map[string][]string{"Content-Length": {"5"}}, ""},
		{"a signed length is none", "Content-Length: +5\r\n\r\nbody\n", 200,
			map[string][]string{"Content-Length": nil}, ""},
		{"a word length is none", "Content-Length: abc\r\n\r\nbody\n", 200,
			map[string][]string{"Content-Length": nil}, ""},
		{"a valid length after a bad one", "Content-Length: x\r\nContent-Length: 5\r\n\r\nbody\n", 200,
			map[string][]string{"Content-Length": {"5"}}, ""},
		{"a bad length after a valid one", "Content-Length: 5\r\nContent-Length: -1\r\n\r\nbody\n", 200,
			map[string][]string{"Content-Length": nil}, ""},
		{"spaces after a value", "Content-Length: 5  \r\nX-A: b \r\n\r\nbody\n", 200,
			map[string][]string{"Content-Length": {"5"}, "X-A": {"b"}}, ""},
		{"the first Status wins", "Status: 404\r\nStatus: 201\r\n\r\nbody\n", 404, nil, ""},
		// nginx reads no HTTP status line from a FastCGI application.
		{"a Status after a status line wins", "HTTP/1.1 201 Created\r\nStatus: 404\r\n\r\nbody\n", 404, nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, logs := newHandler(t, settings(), 0, rawApp(t, func(w *bufio.Writer) {
				writeRecord(w, typeStdout, []byte(tc.head))
				end(w)
			}))
			w := do(h, "GET", "/x.php", "")
			if w.Code != tc.code {
				t.Errorf("status %d, want %d", w.Code, tc.code)
			}
			for name, want := range tc.fields {
				if got := w.Header()[name]; !slices.Equal(got, want) {
					t.Errorf("%s = %q, want %q", name, got, want)
				}
			}
			if tc.log != "" && !strings.Contains(logs.String(), tc.log) {
				t.Errorf("log %q lacks %q", logs, tc.log)
			}
			if tc.code == 502 && strings.Contains(w.Body.String(), "\x00") {
				t.Errorf("body %q carries the NUL", w.Body)
			}
		})
	}
}

// TestSCGIHeadHardening: an SCGI application's head goes through the same
// checks (nginx 1.22.1 answered the same), and its HTTP status line wins
// over a Status field after it, where a FastCGI application's Status wins
// (TestHeadHardening).
func TestSCGIHeadHardening(t *testing.T) {
	tests := []struct {
		head   string
		code   int
		length []string
	}{
		{"HTTP/1.1 201 Created\r\nStatus: 404\r\n\r\nbody\n", 201, nil},
		{"Status: 200\r\nX-A: a\x00b\r\n\r\nbody\n", 502, nil},
		{"Status: 200 O\rK\r\n\r\nbody\n", 502, nil},
		{"Status: 200\r\nContent-Length: 6\r\nContent-Length: 5\r\n\r\nbody\n", 200, []string{"5"}},
	}
	for _, tc := range tests {
		app := scgiApp(t, func([][2]string, []byte) string { return tc.head })
		h, _ := loggingSCGIHandler(t, app)
		w := do(h, "GET", "/", "")
		if w.Code != tc.code || !slices.Equal(w.Header()["Content-Length"], tc.length) {
			t.Errorf("%q: %d %q, want %d %q", tc.head, w.Code, w.Header()["Content-Length"], tc.code, tc.length)
		}
	}
}

// loggingSCGIHandler is an SCGI handler for server that logs (a 502
// logs its cause) to the returned buffer.
func loggingSCGIHandler(t *testing.T, server upstream.Settings) (*Handler, *testutil.SyncBuffer) {
	t.Helper()
	pool, err := upstream.NewPool("scgi", []upstream.Settings{server})
	if err != nil {
		t.Fatal(err)
	}
	logs := &testutil.SyncBuffer{}
	log, err := errlog.New(errlog.Options{Targets: []errlog.Target{{Path: errlog.StderrPath, Level: errlog.Warn}}, Stderr: logs})
	if err != nil {
		t.Fatal(err)
	}
	loc := &config.Location{Path: "/", Settings: &config.Settings{SCGI: settings()}}
	h, err := New(Options{Protocol: SCGI, Location: loc, Pool: pool, Policy: &balancer.RoundRobin{}, Compiler: &vars.Compiler{}, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	return h, logs
}

// TestBodyLengthLies: a body longer than its Content-Length is cut at the
// length, warned about, and ends cleanly (the client's connection kept); a
// shorter one is nginx's error and ends the client's connection, as nginx
// 1.22.1 answered a raw FastCGI, SCGI and uwsgi server.
func TestBodyLengthLies(t *testing.T) {
	const (
		more  = `upstream sent more data than specified in "Content-Length" header while reading upstream`
		lessF = "upstream prematurely closed FastCGI stdout while reading upstream"
		lessS = "upstream prematurely closed connection while reading upstream"
	)
	fcgi := func(records ...string) func(t *testing.T) (*Handler, *testutil.SyncBuffer) {
		return func(t *testing.T) (*Handler, *testutil.SyncBuffer) {
			return newHandler(t, settings(), 0, rawApp(t, func(w *bufio.Writer) {
				for _, r := range records {
					writeRecord(w, typeStdout, []byte(r))
				}
				end(w)
			}))
		}
	}
	scgi := func(answer string) func(t *testing.T) (*Handler, *testutil.SyncBuffer) {
		return func(t *testing.T) (*Handler, *testutil.SyncBuffer) {
			return loggingSCGIHandler(t, scgiApp(t, func([][2]string, []byte) string { return answer }))
		}
	}
	tests := []struct {
		name    string
		handler func(t *testing.T) (*Handler, *testutil.SyncBuffer)
		body    string
		aborted bool
		log     string
	}{
		{"FastCGI: more in one record", fcgi("Content-Length: 2\r\n\r\nbody\n"), "bo", false, more},
		{"FastCGI: more in a later record", fcgi("Content-Length: 2\r\n\r\nbo", "dy\n"), "bo", false, more},
		{"FastCGI: less", fcgi("Content-Length: 50\r\n\r\nbody\n"), "body\n", true, lessF},
		{"SCGI: more", scgi("Status: 200 OK\r\nContent-Length: 2\r\n\r\nbody\n"), "bo", false, more},
		{"SCGI: less", scgi("Status: 200 OK\r\nContent-Length: 50\r\n\r\nbody\n"), "body\n", true, lessS},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, logs := tc.handler(t)
			w, aborted := doAborted(h)
			if w.Body.String() != tc.body || aborted != tc.aborted {
				t.Errorf("body %q, aborted %v; want %q, %v", w.Body, aborted, tc.body, tc.aborted)
			}
			if !strings.Contains(logs.String(), tc.log) {
				t.Errorf("log %q lacks %q", logs, tc.log)
			}
		})
	}
}

// TestBodyLengthBodiless: the Content-Length of a HEAD request's response
// is not the length of a body to come, and a 204 or a 304 has none
// whatever its head says, as nginx 1.22.1's FastCGI, SCGI and uwsgi input
// filters (recorded with raw FastCGI and SCGI servers): a HEAD answered with a
// length and no body, or a 204 or 304 with a length and no body, ends
// cleanly with nothing logged (before, the premature end's error and a
// closed client connection); bytes after a 204 are warned about and
// dropped; a HEAD's are not checked.
func TestBodyLengthBodiless(t *testing.T) {
	const more = `upstream sent more data than specified in "Content-Length" header while reading upstream`
	fcgi := func(t *testing.T, answer string) (*Handler, *testutil.SyncBuffer) {
		return newHandler(t, settings(), 0, rawApp(t, func(w *bufio.Writer) {
			writeRecord(w, typeStdout, []byte(answer))
			end(w)
		}))
	}
	scgi := func(t *testing.T, answer string) (*Handler, *testutil.SyncBuffer) {
		return loggingSCGIHandler(t, scgiApp(t, func([][2]string, []byte) string { return answer }))
	}
	tests := []struct {
		name    string
		handler func(*testing.T, string) (*Handler, *testutil.SyncBuffer)
		method  string
		answer  string
		code    int
		body    string // what the handler wrote (the daemon's writer drops a HEAD's)
		log     string // "": nothing logged
	}{
		{"FastCGI: HEAD, a length and no body", fcgi, "HEAD", "Content-Length: 10\r\n\r\n", 200, "", ""},
		{"FastCGI: HEAD, a body past the length", fcgi, "HEAD", "Content-Length: 3\r\n\r\nhello", 200, "hello", ""},
		{"FastCGI: 204 with a length", fcgi, "GET", "Status: 204\r\nContent-Length: 5\r\n\r\n", 204, "", ""},
		{"FastCGI: 304 with a length", fcgi, "GET", "Status: 304\r\nContent-Length: 5\r\n\r\n", 304, "", ""},
		{"FastCGI: 204 with a body", fcgi, "GET", "Status: 204\r\n\r\nhello", 204, "", more},
		{"SCGI: HEAD, a length and no body", scgi, "HEAD", "Status: 200 OK\r\nContent-Length: 50\r\n\r\n", 200, "", ""},
		{"SCGI: 304 with a length", scgi, "GET", "Status: 304 Not Modified\r\nContent-Length: 50\r\n\r\n", 304, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, logs := tc.handler(t, tc.answer)
			w, aborted := doAbortedAs(h, tc.method)
			if w.Code != tc.code || w.Body.String() != tc.body || aborted {
				t.Errorf("%d, body %q, aborted %v; want %d, %q, not aborted", w.Code, w.Body, aborted, tc.code, tc.body)
			}
			if got := logs.String(); tc.log == "" && got != "" || !strings.Contains(got, tc.log) {
				t.Errorf("log %q, want %q", got, tc.log)
			}
		})
	}
}

// doMayAbort is do for a response that may end the client's connection
// (http.ErrAbortHandler): the recorder holds what went out before.
func doMayAbort(h *Handler, method, target string) (w *httptest.ResponseRecorder) {
	w = httptest.NewRecorder()
	defer func() {
		if v := recover(); v != nil && v != http.ErrAbortHandler {
			panic(v)
		}
	}()
	doTo(h, w, method, target, "")
	return w
}

// TestIdleRecordsDropConnection: under fastcgi_keep_conn, a connection on
// which the application sent records after END_REQUEST (a second response
// nobody asked for) is closed, not used again: the next request, maybe
// another client's, would get that response. nginx 1.22.1 (its keepalive
// close handler) answered every request with its own response from an
// application that sent such records 100 ms after each response. Both
// where the records come with the response (read ahead into fulcrum's
// buffer) and after it was read (in the kept connection's socket).
func TestIdleRecordsDropConnection(t *testing.T) {
	for _, later := range []bool{false, true} {
		t.Run(fmt.Sprintf("later=%v", later), func(t *testing.T) {
			answered, sent := make(chan struct{}), make(chan struct{})
			var conns atomic.Int32
			addr := testutil.RawBackend(t, func(c net.Conn) {
				conns.Add(1)
				br := bufio.NewReader(c)
				for {
					if readRequestRecords(br) != nil {
						return
					}
					bw := bufio.NewWriter(c)
					writeRecord(bw, typeStdout, []byte("Content-Type: text/plain\r\n\r\nreal"))
					end(bw)
					if later {
						bw.Flush()
						<-answered // the response was read and the connection kept
					}
					writeRecord(bw, typeStdout, []byte("X-Poison: 1\r\n\r\npoisoned"))
					end(bw)
					err := bw.Flush()
					if !later {
						<-answered
					}
					sent <- struct{}{}
					if err != nil {
						return
					}
				}
			})
			set := settings()
			set.KeepConn = true
			h, _ := newHandler(t, set, 4, upstream.Settings{Addr: addr, Weight: 1, MaxFails: 1, FailTimeout: time.Second})
			for i := range 3 {
				w := do(h, "GET", "/x.php", "")
				answered <- struct{}{}
				<-sent // the unasked response is in the kept connection's socket
				if w.Code != 200 || w.Body.String() != "real" || w.Header().Get("X-Poison") != "" {
					t.Errorf("request %d: %d %q %v, want 200 \"real\"", i, w.Code, w.Body, w.Header())
				}
			}
			if got := conns.Load(); got != 3 {
				t.Errorf("%d connections, want 3 (none used again after the unasked records)", got)
			}
		})
	}
}

// TestDeclaredLength: the length copyBody holds a body to, and that
// finding it allocates nothing for a head without a Content-Length (PHP's
// usual answer; strconv's error for "" allocated for every one).
func TestDeclaredLength(t *testing.T) {
	tests := []struct {
		status int
		method string
		fields []field
		want   int64
	}{
		{200, "GET", nil, -1},
		{200, "GET", []field{{"Content-Length", "12"}}, 12},
		{200, "HEAD", []field{{"Content-Length", "12"}}, -1},
		{204, "GET", nil, 0},
		{304, "GET", []field{{"Content-Length", "12"}}, 0},
		{304, "HEAD", nil, -1},
	}
	for _, tc := range tests {
		hd := &head{status: tc.status, fields: tc.fields}
		if got := declaredLength(hd, tc.method); got != tc.want {
			t.Errorf("%d %s %v: %d, want %d", tc.status, tc.method, tc.fields, got, tc.want)
		}
	}
	hd := &head{status: 200, fields: []field{{"Content-Type", "text/html"}}}
	if n := testing.AllocsPerRun(100, func() { declaredLength(hd, "GET") }); n != 0 {
		t.Errorf("%v allocations for a head without a length, want 0", n)
	}
}
