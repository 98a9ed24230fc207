package daemon_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"fulcrum/internal/testutil"
)

// TestEarlyHints runs early_hints (nginx 1.29.0) over real sockets: an
// upstream's 103 goes on to the client, with its fields less the hop-by-hop
// and hidden ones, only when one of the directive's values is neither empty
// nor "0", and never to an HTTP/1.0 client; without the directive it is
// dropped as before. It also reads $request_port and $is_request_port
// (nginx 1.29.3) and loads $http3 (nginx 1.25.0, always empty here).
func TestEarlyHints(t *testing.T) {
	backend := testutil.RawBackend(t, func(c net.Conn) {
		buf := make([]byte, 4096)
		_, _ = c.Read(buf)
		_, _ = io.WriteString(c, "HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\nServer: up\r\nX-Accel-Expires: 5\r\nConnection: close\r\n\r\n"+
			"HTTP/1.1 100 Continue\r\n\r\n"+
			"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n")
	})
	addr, _ := runDaemon(t, func(string) string {
		return fmt.Sprintf(`
    access_log off;
    map $http_sec_fetch_mode $early_hints { navigate $http2$http3; default $arg_h; }
    server {
        listen 127.0.0.1:0;
        location /off { proxy_pass http://%[1]s; }
        location /on { early_hints 1; proxy_pass http://%[1]s; }
        location /var { early_hints $early_hints; proxy_pass http://%[1]s; }
        location /two { early_hints "" $arg_h; proxy_pass http://%[1]s; }
        location /sub { auth_request /hinted; return 200 "ok\n"; }
        location /ssi { ssi on; default_type text/html; return 200 '<!--# include virtual="/hinted" -->'; }
        location = /hinted { early_hints 1; proxy_pass http://%[1]s; }
        location /port { return 200 "[$request_port|$is_request_port|$http3]"; }
    }`, backend)
	})
	const hints = "HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n"
	const final = "HTTP/1.1 200 OK\r\n"
	cases := []struct {
		name, req string
		hinted    bool
	}{
		{"no early_hints", "GET /off HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", false},
		{"constant", "GET /on HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", true},
		{"HTTP/1.0 client", "GET /on HTTP/1.0\r\n\r\n", false},
		{"variable empty", "GET /var HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", false},
		{"variable 0", "GET /var?h=0 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", false},
		{"variable 1", "GET /var?h=1 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", true},
		{"navigate over HTTP/1.1", "GET /var?h=1 HTTP/1.1\r\nHost: a\r\nSec-Fetch-Mode: navigate\r\nConnection: close\r\n\r\n", false},
		{"second value", "GET /two?h=yes HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", true},
		{"auth_request subrequest", "GET /sub HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", false},
		{"SSI include", "GET /ssi HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := rawExchange(t, addr, tc.req)
			want := final
			if tc.hinted {
				want = hints + final
			}
			if !strings.HasPrefix(got, want) || !strings.Contains(got, "ok\n") || strings.Count(got, "103") != strings.Count(want, "103") {
				t.Fatalf("got\n%q\nwant it to start with\n%q and end with the body", got, want)
			}
			if strings.Count(got, "Link:") != strings.Count(want, "Link:") {
				t.Errorf("the 103's Link went into the final response:\n%q", got)
			}
		})
	}
	for host, want := range map[string]string{"a:8080": "[8080|:|]", "a": "[||]", "[::1]:81": "[81|:|]"} {
		got := rawExchange(t, addr, "GET /port HTTP/1.1\r\nHost: "+host+"\r\nConnection: close\r\n\r\n")
		if !strings.HasSuffix(got, "\r\n\r\n"+want) {
			t.Errorf("Host %s: got\n%q\nwant the body %s", host, got, want)
		}
	}
}

// TestEarlyHintsHTTP2 checks that a passed 103 reaches an HTTP/2 client as
// an interim HEADERS frame with the upstream's Link, and that $http2 makes
// nginx's documented early_hints $http2$http3 condition hold there.
func TestEarlyHintsHTTP2(t *testing.T) {
	backend := testutil.RawBackend(t, func(c net.Conn) {
		buf := make([]byte, 4096)
		_, _ = c.Read(buf)
		_, _ = io.WriteString(c, "HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n"+
			"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n")
	})
	dir := t.TempDir()
	certs, pool := h2Site(t, dir)
	addr := startDaemon(t, dir, fmt.Sprintf(`
    server { listen 127.0.0.1:0 ssl http2; server_name a.test; %s
        access_log off;
        location / { early_hints $http2$http3; proxy_pass http://%s; }
    }`, certs, backend))
	c := h2Client(t, addr, pool, false)
	var links []string
	trace := &httptrace.ClientTrace{Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
		if code == http.StatusEarlyHints {
			links = append(links, h.Get("Link"))
		}
		return nil
	}}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), "GET", "https://a.test/", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.ProtoMajor != 2 || resp.StatusCode != 200 || string(body) != "ok\n" {
		t.Fatalf("got %s %d %q, want HTTP/2 200 ok", resp.Proto, resp.StatusCode, body)
	}
	if len(links) != 1 || links[0] != "</s.css>; rel=preload" {
		t.Errorf("103 Links %q, want one </s.css>; rel=preload", links)
	}
	if resp.Header.Get("Link") != "" {
		t.Errorf("the 103's Link went into the final response: %q", resp.Header.Get("Link"))
	}
}

// TestEarlyHintsGRPC runs early_hints with grpc_pass (nginx 1.29.0 passes
// a gRPC backend's 103 as a proxied one's, nginx's own test
// h2_grpc_early_hints.t): an h2c upstream's 103 reaches an HTTP/1.1 client
// as an interim head and an HTTP/2 client as an interim HEADERS frame,
// with its Link and without the fields grpc_hide_header hides, before the
// answer and its trailers; without early_hints, to an HTTP/1.0 client or
// when the condition is "0" it is dropped; an upstream that sends only a
// 103 and then resets the stream gets the client a 502 after the 103.
func TestEarlyHintsGRPC(t *testing.T) {
	backend := testutil.H2CBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Link", "</s.css>; rel=preload")
		h.Set("X-Accel-Expires", "5")
		w.WriteHeader(http.StatusEarlyHints)
		if r.URL.Path == "/only" {
			panic(http.ErrAbortHandler) // RST_STREAM after the 103
		}
		h.Del("Link")
		h.Del("X-Accel-Expires")
		h.Set("Content-Type", "application/grpc")
		h.Set("Trailer", "Grpc-Status")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(testutil.GRPCFrame("SEE-THIS"))
		h.Set("Grpc-Status", "0")
	}))
	locations := fmt.Sprintf(`
        location / { grpc_pass grpc://%[1]s; }
        location /on { early_hints 1; grpc_pass grpc://%[1]s; }
        location /only { early_hints 1; grpc_pass grpc://%[1]s; }
        location /var { early_hints $arg_h; grpc_pass grpc://%[1]s; }`, backend)
	addr, _ := runDaemon(t, func(string) string {
		return "access_log off; server { listen 127.0.0.1:0; " + locations + " }"
	})
	const hints = "HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n"
	cases := []struct {
		name, req, final string
		hinted           bool
	}{
		{"no early_hints", "GET /off HTTP/1.1\r\nHost: a\r\nTE: trailers\r\nConnection: close\r\n\r\n", "HTTP/1.1 200 OK\r\n", false},
		{"early_hints 1", "GET /on HTTP/1.1\r\nHost: a\r\nTE: trailers\r\nConnection: close\r\n\r\n", "HTTP/1.1 200 OK\r\n", true},
		{"HTTP/1.0 client", "GET /on HTTP/1.0\r\n\r\n", "HTTP/1.1 200 OK\r\n", false},
		{"condition 0", "GET /var?h=0 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", "HTTP/1.1 200 OK\r\n", false},
		{"condition 1", "GET /var?h=1 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", "HTTP/1.1 200 OK\r\n", true},
		{"103 only", "GET /only HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", "HTTP/1.1 502 Bad Gateway\r\n", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := rawExchange(t, addr, tc.req)
			want := tc.final
			if tc.hinted {
				want = hints + tc.final
			}
			if !strings.HasPrefix(got, want) || strings.Count(got, "103") != strings.Count(want, "103") {
				t.Fatalf("got\n%q\nwant it to start with\n%q", got, want)
			}
			if strings.Contains(got, "X-Accel-Expires") || strings.Count(got, "Link:") != strings.Count(want, "Link:") {
				t.Errorf("a hidden field, or the 103's Link in the final response:\n%q", got)
			}
			if tc.final == "HTTP/1.1 200 OK\r\n" && !strings.Contains(got, "SEE-THIS") {
				t.Errorf("no answer body after the 103:\n%q", got)
			}
		})
	}

	h2addr, _ := runDaemon(t, func(string) string {
		return "access_log off; server { listen 127.0.0.1:0 http2; " + locations + " }"
	})
	tr := testutil.H2CTransport(h2addr)
	defer tr.CloseIdleConnections()
	for path, want := range map[string]int{"/on": 1, "/off": 0} {
		var links []string
		trace := &httptrace.ClientTrace{Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
			if code == http.StatusEarlyHints {
				links = append(links, h.Get("Link"))
			}
			return nil
		}}
		ctx, cancel := context.WithTimeout(httptrace.WithClientTrace(context.Background(), trace), 5*time.Second)
		req, _ := http.NewRequestWithContext(ctx, "POST", "http://a"+path, strings.NewReader(string(testutil.GRPCFrame("hi"))))
		req.Header.Set("Content-Type", "application/grpc")
		req.Header.Set("TE", "trailers")
		resp, err := tr.RoundTrip(req)
		if err != nil {
			cancel()
			t.Fatalf("%s: %v", path, err)
		}
		msg, _ := testutil.ReadGRPCFrame(resp.Body)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		cancel()
		if resp.StatusCode != 200 || msg != "SEE-THIS" || resp.Trailer.Get("Grpc-Status") != "0" {
			t.Fatalf("%s: %d %q, trailers %v", path, resp.StatusCode, msg, resp.Trailer)
		}
		if len(links) != want || (want == 1 && links[0] != "</s.css>; rel=preload") {
			t.Errorf("%s: 103 Links %q, want %d of </s.css>; rel=preload", path, links, want)
		}
		if resp.Header.Get("Link") != "" {
			t.Errorf("%s: the 103's Link went into the final response", path)
		}
	}
}
