package fastcgi

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"net"
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

// uwsgiApp reads one uwsgi packet per connection and answers with an HTTP
// status line and the packet's modifiers, variables (in order) and body.
func uwsgiApp(t *testing.T) upstream.Settings {
	t.Helper()
	return uwsgiAnswering(t, func(mods [2]byte, vars [][2]string, body []byte) string {
		var out strings.Builder
		fmt.Fprintf(&out, "mods=%d,%d\n", mods[0], mods[1])
		for _, v := range vars {
			fmt.Fprintf(&out, "%s=%s\n", v[0], v[1])
		}
		return fmt.Sprintf("HTTP/1.1 202 Fine\r\nContent-Type: text/plain\r\n\r\n%sbody=%s", out.String(), body)
	})
}

// uwsgiAnswering reads one uwsgi packet per connection, hands its
// modifiers, variables (in order) and body to answer, and writes what
// answer returns.
func uwsgiAnswering(t *testing.T, answer func(mods [2]byte, vars [][2]string, body []byte) string) upstream.Settings {
	t.Helper()
	addr := testutil.RawBackend(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		mods, list, err := testutil.ReadUWSGI(br)
		if err != nil {
			return
		}
		cl := 0
		fmt.Sscan(testutil.UWSGIVar(list, "CONTENT_LENGTH"), &cl)
		body := make([]byte, cl)
		io.ReadFull(br, body)
		io.WriteString(c, answer(mods, list, body))
	})
	return upstream.Settings{Addr: addr, Weight: 1, MaxFails: 1, FailTimeout: 10 * time.Second}
}

func TestUWSGI(t *testing.T) {
	set := settings()
	set.Params = []config.FastCGIParam{{Name: "REQUEST_URI", Value: "$request_uri"}, {Name: "CONTENT_LENGTH", Value: "$content_length"}}
	set.Modifier1 = 5
	pool, err := upstream.NewPool("uwsgi", []upstream.Settings{uwsgiApp(t)})
	if err != nil {
		t.Fatal(err)
	}
	loc := &config.Location{Path: "/", Settings: &config.Settings{UWSGI: set}}
	h, err := New(Options{Protocol: UWSGI, Location: loc, Pool: pool, Policy: &balancer.RoundRobin{}, Compiler: &vars.Compiler{}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		method, target, body, want string
	}{
		{"GET", "/a?x=1", "", "mods=5,0\nREQUEST_URI=/a?x=1\nCONTENT_LENGTH=\nHTTP_X_FOO=bar\nHTTP_HOST=example.com\nbody="},
		{"POST", "/p", "hello", "mods=5,0\nREQUEST_URI=/p\nCONTENT_LENGTH=5\nHTTP_X_FOO=bar\nHTTP_CONTENT_LENGTH=5\nHTTP_HOST=example.com\nbody=hello"},
	}
	for _, tc := range tests {
		hdr := []string{"X-Foo", "bar"}
		if tc.body != "" {
			hdr = append(hdr, "Content-Length", fmt.Sprint(len(tc.body)))
		}
		w := do(h, tc.method, tc.target, tc.body, hdr...)
		if w.Code != 202 || w.Body.String() != tc.want {
			t.Errorf("%s %s: %d %q, want 202 %q", tc.method, tc.target, w.Code, w.Body, tc.want)
		}
	}
}

// TestUWSGIString: uwsgi_string's bytes go after the packet's variables,
// counted in the packet's 16-bit size, and before the request body (nginx
// 1.22's ngx_http_uwsgi_create_request); a string that makes the packet
// too big for the size is a 500, as nginx's "uwsgi request is too big".
func TestUWSGIString(t *testing.T) {
	addr := testutil.RawBackend(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		var h [4]byte
		if _, err := io.ReadFull(br, h[:]); err != nil {
			return
		}
		packet := make([]byte, binary.LittleEndian.Uint16(h[1:3]))
		if _, err := io.ReadFull(br, packet); err != nil {
			return
		}
		var body []byte
		if strings.Contains(string(packet), "\x04\x00POST") {
			body = make([]byte, len("hello"))
			io.ReadFull(br, body)
		}
		fmt.Fprintf(c, "HTTP/1.1 200 OK\r\n\r\nmods=%d,%d packet=%q body=%q", h[0], h[3], packet, body)
	})
	const get = "\x0e\x00REQUEST_METHOD\x03\x00GET\x0b\x00REQUEST_URI\x02\x00/u"
	const post = "\x0e\x00REQUEST_METHOD\x04\x00POST\x0b\x00REQUEST_URI\x02\x00/u"
	tests := []struct {
		name, method, body, str string
		status                  int
		want                    string
	}{
		{"none", "GET", "", "", 200, fmt.Sprintf("mods=9,7 packet=%q body=\"\"", get)},
		{"after the variables", "GET", "", "MARK", 200, fmt.Sprintf("mods=9,7 packet=%q body=\"\"", get+"MARK")},
		{"any bytes, then the body", "POST", "hello", "\x01\x00 z\n", 200, fmt.Sprintf("mods=9,7 packet=%q body=\"hello\"", post+"\x01\x00 z\n")},
		{"too big for the packet", "GET", "", strings.Repeat("s", 0xffff), 500, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set := settings()
			set.Params = []config.FastCGIParam{{Name: "REQUEST_METHOD", Value: "$request_method"}, {Name: "REQUEST_URI", Value: "$request_uri"}}
			set.PassRequestHeaders = false
			set.Modifier1, set.Modifier2, set.UWSGIString = 9, 7, tt.str
			pool, err := upstream.NewPool("uwsgi", []upstream.Settings{{Addr: addr, Weight: 1, MaxFails: 0, FailTimeout: 10 * time.Second}})
			if err != nil {
				t.Fatal(err)
			}
			loc := &config.Location{Path: "/", Settings: &config.Settings{UWSGI: set}}
			log, _ := errlog.New(errlog.Options{Targets: []errlog.Target{{Path: errlog.StderrPath, Level: errlog.Emerg}}, Stderr: &testutil.SyncBuffer{}})
			h, err := New(Options{Protocol: UWSGI, Location: loc, Pool: pool, Policy: &balancer.RoundRobin{}, Compiler: &vars.Compiler{}, Log: log})
			if err != nil {
				t.Fatal(err)
			}
			w := do(h, tt.method, "/u", tt.body)
			if w.Code != tt.status || tt.want != "" && w.Body.String() != tt.want {
				t.Errorf("%d %q, want %d %q", w.Code, w.Body, tt.status, tt.want)
			}
		})
	}
}
