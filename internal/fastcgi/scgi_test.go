package fastcgi

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"fulcrum/internal/balancer"
	"fulcrum/internal/config"
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
