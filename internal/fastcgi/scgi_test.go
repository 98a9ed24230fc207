package fastcgi

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"fulcrum/internal/balancer"
	"fulcrum/internal/config"
	"fulcrum/internal/errlog"
	"fulcrum/internal/testutil"
	"fulcrum/internal/upstream"
	"fulcrum/internal/vars"
)

// scgiApp reads one SCGI request per connection, hands its params (in
// order) and body to answer, and writes what answer returns.
func scgiApp(t *testing.T, answer func(params [][2]string, body []byte) string) upstream.Settings {
	t.Helper()
	addr := testutil.RawBackend(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		n, err := br.ReadString(':')
		if err != nil {
			return
		}
		size, _ := strconv.Atoi(strings.TrimSuffix(n, ":"))
		head := make([]byte, size+1) // and the comma
		if _, err := io.ReadFull(br, head); err != nil || head[size] != ',' {
			return
		}
		parts := bytes.Split(head[:size], []byte{0})
		var params [][2]string
		for i := 0; i+1 < len(parts); i += 2 {
			params = append(params, [2]string{string(parts[i]), string(parts[i+1])})
		}
		cl, _ := strconv.Atoi(params[0][1])
		body := make([]byte, cl)
		io.ReadFull(br, body)
		io.WriteString(c, answer(params, body))
	})
	return upstream.Settings{Addr: addr, Weight: 1, MaxFails: 1, FailTimeout: 10 * time.Second}
}

func newSCGIHandler(t *testing.T, set config.FastCGI, servers ...upstream.Settings) *Handler {
	t.Helper()
	pool, err := upstream.NewPool("scgi", servers)
	if err != nil {
		t.Fatal(err)
	}
	loc := &config.Location{Path: "/", Settings: &config.Settings{SCGI: set}}
	h, err := New(Options{Protocol: SCGI, Location: loc, Pool: pool, Policy: &balancer.RoundRobin{}, Compiler: &vars.Compiler{}})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestSCGI(t *testing.T) {
	var got [][2]string
	var gotBody string
	app := scgiApp(t, func(params [][2]string, body []byte) string {
		got, gotBody = params, string(body)
		for _, p := range params {
			if p[0] == "REQUEST_URI" && p[1] == "/http" {
				return "HTTP/1.1 201 Made\r\nX-A: 1\r\n\r\nmade"
			}
		}
		return "Status: 200 OK\r\nContent-Type: text/plain\r\n\r\nhello"
	})
	set := settings()
	set.Params = []config.FastCGIParam{{Name: "REQUEST_URI", Value: "$request_uri"}, {Name: "SCGI", Value: "1"}}
	h := newSCGIHandler(t, set, app)
	tests := []struct {
		method, target, body string
		code                 int
		want                 string
		params               [][2]string
	}{
		{"POST", "/form", "a=1", 200, "hello", [][2]string{{"CONTENT_LENGTH", "3"}, {"REQUEST_URI", "/form"}, {"SCGI", "1"}, {"HTTP_X_FOO", "bar"}, {"HTTP_HOST", "example.com"}}},
		{"GET", "/http", "", 201, "made", [][2]string{{"CONTENT_LENGTH", "0"}, {"REQUEST_URI", "/http"}, {"SCGI", "1"}, {"HTTP_X_FOO", "bar"}, {"HTTP_HOST", "example.com"}}},
	}
	for _, tc := range tests {
		w := do(h, tc.method, tc.target, tc.body, "X-Foo", "bar")
		if w.Code != tc.code || w.Body.String() != tc.want {
			t.Errorf("%s: %d %q, want %d %q", tc.target, w.Code, w.Body, tc.code, tc.want)
		}
		if len(got) != len(tc.params) {
			t.Errorf("%s: params %q, want %q", tc.target, got, tc.params)
			continue
		}
		for i := range got {
			if got[i] != tc.params[i] {
				t.Errorf("%s: param %d %q, want %q", tc.target, i, got[i], tc.params[i])
			}
		}
		if gotBody != tc.body {
			t.Errorf("%s: body %q, want %q", tc.target, gotBody, tc.body)
		}
	}
}

// TestSCGIClosedInTheHead: an SCGI (or uwsgi) server that closes before
// its head ended is nginx 1.22.1's "upstream prematurely closed
// connection", not FastCGI's "... FastCGI stdout".
func TestSCGIClosedInTheHead(t *testing.T) {
	tests := []struct{ name, answer string }{
		{"nothing", ""},
		{"part of the head", "Status: 200 OK\r\nContent-Ty"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			app := scgiApp(t, func([][2]string, []byte) string { return tc.answer })
			h, logs := loggingSCGIHandler(t, app)
			if w := do(h, "GET", "/", ""); w.Code != 502 {
				t.Errorf("status %d, want 502", w.Code)
			}
			const want = "upstream prematurely closed connection while reading response header from upstream"
			if !strings.Contains(logs.String(), want) {
				t.Errorf("log %q lacks %q", logs.String(), want)
			}
		})
	}
}

// TestLengthEndsResponse: an SCGI or uwsgi response ends with the bytes of
// its Content-Length (none for a 204), not at the server's close, as in
// nginx 1.22.1 (its SCGI and uwsgi input filters set the upstream's
// length from Content-Length; recorded with servers that answer and keep
// the connection open: each answer came at once, where fulcrum waited for
// scgi_read_timeout / uwsgi_read_timeout and logged "upstream timed out").
// A response without a length still ends at the close.
func TestLengthEndsResponse(t *testing.T) {
	for _, tc := range []struct {
		name   string
		answer string // after the protocol's status ("Status: 200 OK" or "HTTP/1.1 200 OK")
		status int
		body   string
	}{
		{"content length", "\r\nContent-Length: 5\r\n\r\nhello", 200, "hello"},
		{"empty", "\r\nContent-Length: 0\r\n\r\n", 200, ""},
		{"no content", "\r\n\r\n", 204, ""},
	} {
		for _, proto := range []Protocol{SCGI, UWSGI} {
			name := map[Protocol]string{SCGI: "scgi", UWSGI: "uwsgi"}[proto]
			t.Run(tc.name+"/"+name, func(t *testing.T) {
				status := "Status: " + strconv.Itoa(tc.status) + " X"
				if proto == UWSGI {
					status = "HTTP/1.1 " + strconv.Itoa(tc.status) + " X"
				}
				addr := holdingBackend(t, proto, status+tc.answer)
				set := settings()
				set.ReadTimeout = 300 * time.Millisecond
				h, logs := newHandlerFor(t, proto, set, addr)
				code, body, aborted := doCatching(h, "GET", "/")
				if aborted || code != tc.status || body != tc.body {
					t.Errorf("%d %q (aborted %t), want %d %q", code, body, aborted, tc.status, tc.body)
				}
				if logs.String() != "" {
					t.Errorf("logged %q", logs)
				}
			})
		}
	}
}

// holdingBackend answers every SCGI or uwsgi request on a connection with
// answer and keeps the connection open until fulcrum closes it.
func holdingBackend(t *testing.T, proto Protocol, answer string) string {
	t.Helper()
	return testutil.RawBackend(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		var err error
		if proto == UWSGI {
			_, _, err = testutil.ReadUWSGI(br)
		} else {
			err = readSCGIHead(br)
		}
		if err != nil {
			return
		}
		io.WriteString(c, answer)
		io.Copy(io.Discard, br) // until fulcrum closes
	})
}

// readSCGIHead reads an SCGI request's netstring of headers.
func readSCGIHead(br *bufio.Reader) error {
	n, err := br.ReadString(':')
	if err != nil {
		return err
	}
	size, err := strconv.Atoi(strings.TrimSuffix(n, ":"))
	if err != nil {
		return err
	}
	_, err = io.ReadFull(br, make([]byte, size+1)) // and the comma
	return err
}

// newHandlerFor builds the handler of an SCGI or uwsgi location with set,
// passing to the server at addr and logging warnings and errors to the
// returned buffer.
func newHandlerFor(t *testing.T, proto Protocol, set config.FastCGI, addr string) (*Handler, *testutil.SyncBuffer) {
	t.Helper()
	pool, err := upstream.NewPool("app", []upstream.Settings{{Addr: addr, Weight: 1, MaxFails: 1, FailTimeout: 10 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	logs := &testutil.SyncBuffer{}
	log, err := errlog.New(errlog.Options{Targets: []errlog.Target{{Path: errlog.StderrPath, Level: errlog.Warn}}, Stderr: logs})
	if err != nil {
		t.Fatal(err)
	}
	s := &config.Settings{SCGI: set}
	if proto == UWSGI {
		s = &config.Settings{UWSGI: set}
	}
	loc := &config.Location{Path: "/", Settings: s}
	h, err := New(Options{Protocol: proto, Location: loc, Pool: pool, Policy: &balancer.RoundRobin{}, Compiler: &vars.Compiler{}, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	return h, logs
}

// doCatching is do that reports the handler's http.ErrAbortHandler (the
// client's connection broken after the head) instead of panicking.
func doCatching(h *Handler, method, target string) (code int, body string, aborted bool) {
	w := httptest.NewRecorder()
	defer func() {
		if r := recover(); r != nil {
			if r != http.ErrAbortHandler {
				panic(r)
			}
			code, body, aborted = w.Code, w.Body.String(), true
		}
	}()
	doTo(h, w, method, target, "")
	return w.Code, w.Body.String(), false
}
