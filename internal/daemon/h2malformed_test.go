package daemon_test

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// TestHTTP2MalformedHead sends HTTP/2 heads that Go's server passes on
// and nginx 1.22.1 refuses with 400 (recorded with a raw HTTP/2 client
// against nginx 1.22.1, "listen ... ssl http2" and proxy_pass): a method
// outside A-Z, "_", "-", which would otherwise go into the HTTP/1.1
// request line to the upstream as it came ("GE T /m HTTP/1.1"); a Host
// field naming another site than :authority, or a second Host; a second
// Content-Length; a :path that does not start with "/" or holds a space
// (nginx's ngx_http_parse_uri; Go's server refuses the other control
// bytes itself, and a space in the query would go into the upstream's
// request line: "GET /m?x y HTTP/1.1"). None may reach the upstream; each
// is logged at info in nginx's words (recorded with curl
// --http2-prior-knowledge --request-target: client sent invalid :path
// header: "/a?x y", "/a b", "*"; UTF-8 bytes pass).
func TestHTTP2MalformedHead(t *testing.T) {
	// reached counts the upstream's connections, one per request: a
	// request line the upstream's server refuses itself ("GET /m?x y
	// HTTP/1.1", 400 from Go's server) reached it too.
	var reached atomic.Int32
	up := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s %s host=%s", r.Method, r.RequestURI, r.Host)
	}))
	up.Config.SetKeepAlivesEnabled(false)
	up.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			reached.Add(1)
		}
	}
	up.Start()
	t.Cleanup(up.Close)
	dir := t.TempDir()
	certs, pool := h2Site(t, dir)
	addr := startDaemonLevel(t, dir, "info", fmt.Sprintf(`server { listen 127.0.0.1:0 ssl http2; server_name a.test; %s
		location / { proxy_pass http://%s; proxy_set_header Host $host; } }`, certs, up.Listener.Addr()))
	authority := func(method string, extra ...string) []string {
		return append([]string{":method", method, ":scheme", "https", ":authority", "a.test", ":path", "/m"}, extra...)
	}
	path := func(method, p string) []string {
		return []string{":method", method, ":scheme", "https", ":authority", "a.test", ":path", p}
	}
	tests := []struct {
		name   string
		fields []string
		body   string
		status string
		line   string // the info line; "" for a request that passes
	}{
		{"a plain GET passes", authority("GET"), "", "200", ""},
		{"Host equal to :authority passes", authority("GET", "host", "a.test"), "", "200", ""},
		{"WebDAV method passes", authority("PROPFIND"), "", "200", ""},
		{"space in the method", authority("GE T"), "", "400", `client sent invalid method: "GE T" while reading client request headers`},
		{"lowercase method", authority("get"), "", "400", `client sent invalid method: "get" while reading client request headers`},
		{"request line in the method", authority("GET /admin?"), "", "400", `client sent invalid method: "GET /admin?" while reading client request headers`},
		{"Host other than :authority", authority("GET", "host", "evil.test"), "", "400",
			`client sent duplicate host header: "host: evil.test", previous value: "host: a.test" while reading client request headers`},
		{"two Host fields", []string{":method", "GET", ":scheme", "https", ":path", "/m", "host", "a.test", "host", "evil.test"}, "", "400",
			`client sent duplicate host header: "host: evil.test", previous value: "host: a.test" while reading client request headers`},
		{"two Content-Length fields", authority("POST", "content-length", "3", "content-length", "4"), "abc", "400",
			`client sent duplicate header line: "content-length: 4", previous value: "content-length: 3" while reading client request headers`},
		{"two If-Match fields", authority("GET", "if-match", "a", "if-match", "b"), "", "400",
			`client sent duplicate header line: "if-match: b", previous value: "if-match: a" while reading client request headers`},
		{"two Authorization fields", authority("GET", "authorization", "a", "authorization", "b"), "", "400",
			`client sent duplicate header line: "authorization: b", previous value: "authorization: a" while reading client request headers`},
		{"UTF-8 in the path passes", path("GET", "/m\xc3\xa9?q=\xc3\xa9"), "", "200", ""},
		{"space in the query", path("GET", "/m?x y"), "", "400", `client sent invalid :path header: "/m?x y" while reading client request headers`},
		{"request line in the query", path("GET", "/m?x HTTP/1.1"), "", "400", `client sent invalid :path header: "/m?x HTTP/1.1" while reading client request headers`},
		{"space in the path", path("GET", "/m y"), "", "400", `client sent invalid :path header: "/m y" while reading client request headers`},
		{"asterisk", path("GET", "*"), "", "400", `client sent invalid :path header: "*" while reading client request headers`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := reached.Load()
			r := dialH2(t, addr, pool)
			var buf bytes.Buffer
			enc := hpack.NewEncoder(&buf)
			for i := 0; i+1 < len(tt.fields); i += 2 {
				_ = enc.WriteField(hpack.HeaderField{Name: tt.fields[i], Value: tt.fields[i+1]})
			}
			if err := r.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: buf.Bytes(), EndStream: tt.body == "", EndHeaders: true}); err != nil {
				t.Fatal(err)
			}
			if tt.body != "" {
				if err := r.fr.WriteData(1, true, []byte(tt.body)); err != nil {
					t.Fatal(err)
				}
			}
			if got := h2Status(t, r); got != tt.status {
				t.Errorf("status %s, want %s", got, tt.status)
			}
			passed := reached.Load() != before
			if passed != (tt.line == "") {
				t.Errorf("reached the upstream: %v, want %v", passed, tt.line == "")
			}
			if tt.line != "" {
				waitLogged(t, filepath.Join(dir, "error.log"), tt.line)
			}
		})
	}
}

// h2Status reads frames until stream 1's response head and returns its
// :status ("RST" for a reset stream).
func h2Status(t *testing.T, r *rawH2) string {
	t.Helper()
	_ = r.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	dec := hpack.NewDecoder(4096, nil)
	for {
		f, err := r.fr.ReadFrame()
		if err != nil {
			t.Fatal(err)
		}
		switch f := f.(type) {
		case *http2.HeadersFrame:
			fields, _ := dec.DecodeFull(f.HeaderBlockFragment())
			if len(fields) > 0 && fields[0].Name == ":status" {
				return fields[0].Value
			}
		case *http2.RSTStreamFrame:
			return "RST"
		}
	}
}
