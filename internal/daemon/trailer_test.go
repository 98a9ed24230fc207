package daemon_test

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"fulcrum/internal/testutil"
)

// rawReply sends raw requests on one connection and returns everything
// received until the connection closes (within 3 seconds).
func rawReply(t *testing.T, addr, raw string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(3 * time.Second))
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// rawExchange is rawReply with the Date and Server fields left out, so
// heads compare with nginx's.
func rawExchange(t *testing.T, addr, raw string) string {
	t.Helper()
	return regexp.MustCompile(`(?m)^(Date|Server): [^\r]*\r\n`).ReplaceAllString(rawReply(t, addr, raw), "")
}

// TestAddTrailer runs add_trailer through the daemon over real sockets,
// each whole response (head, chunk framing and trailer section) compared
// with what nginx 1.22.1 sent for the same configuration and requests:
// a Content-Length response (return, or an upstream's) goes out chunked
// with the trailers; statuses outside add_header's list get none unless
// "always"; HEAD, HTTP/1.0 and 204 keep their framing; an empty value
// leaves its field out; variables are evaluated at the end; a level with
// add_trailer replaces the inherited list. "TIME" stands for a time such
// as 0.000.
func TestAddTrailer(t *testing.T) {
	backend := testutil.RawBackend(t, func(c net.Conn) {
		buf := make([]byte, 4096)
		n, _ := c.Read(buf)
		if strings.Contains(string(buf[:n]), "/chunked-hide") {
			_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nup\n\r\n0\r\n"+
				"X-Up: u\r\nX-Secret: s\r\nServer: s\r\nDate: d\r\nX-Pad: p\r\nX-Accel-Redirect: /r\r\nX-B: b\r\nX-A: a\r\nX-C: c\r\nX-B: b2\r\n\r\n")
			return
		}
		if strings.Contains(string(buf[:n]), "/chunked") {
			_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nup\n\r\n0\r\nX-Up: u\r\n\r\n")
			return
		}
		_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nup\n")
	})
	addr, _ := runDaemon(t, func(string) string {
		return fmt.Sprintf(`
    access_log off;
    default_type text/plain;
    add_trailer X-Http h;
    server {
        listen 127.0.0.1:0;
        add_trailer X-T t1;
        add_trailer X-Two "t2";
        location /ret { return 200 "hello\n"; }
        location /404 { return 404 "nf\n"; }
        location /always { add_trailer X-A a always; add_trailer X-N n; return 404 "nf\n"; }
        location /empty { add_trailer X-E ""; add_trailer X-V $request_time; add_trailer x-lower $arg_v; return 200 "x\n"; }
        location /204 { return 204; }
        location /up { add_trailer X-U $upstream_response_time; proxy_pass http://%[1]s; }
        location /chunked { proxy_pass http://%[1]s; }
        location /chunked-on { proxy_pass_trailers on; proxy_pass http://%[1]s; }
        location /chunked-hide { proxy_pass_trailers on; proxy_hide_header X-Secret; proxy_pass http://%[1]s; }
        location /none { add_header X-H h; return 200 "x\n"; }
    }
    server {
        listen 127.0.0.1:0;
        server_name other;
        location / { return 200 "o\n"; }
    }`, backend)
	})
	const close = "Connection: close\r\n\r\n"
	cases := []struct{ name, req, want string }{
		{"return with a length goes chunked", "GET /ret HTTP/1.1\r\nHost: a\r\n" + close,
			"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n6\r\nhello\n\r\n0\r\nX-T: t1\r\nX-Two: t2\r\n\r\n"},
		{"404 without always", "GET /404 HTTP/1.1\r\nHost: a\r\n" + close,
			"HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 3\r\nConnection: close\r\n\r\nnf\n"},
		{"404 with always", "GET /always HTTP/1.1\r\nHost: a\r\n" + close,
			"HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nnf\n\r\n0\r\nX-A: a\r\n\r\n"},
		{"empty value left out, variables at the end", "GET /empty?v=lv HTTP/1.1\r\nHost: a\r\n" + close,
			"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n2\r\nx\n\r\n0\r\nX-V: TIME\r\nx-lower: lv\r\n\r\n"},
		{"every value empty", "GET /empty HTTP/1.1\r\nHost: a\r\n" + close,
			"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n2\r\nx\n\r\n0\r\nX-V: TIME\r\n\r\n"},
		{"HEAD keeps its length", "HEAD /ret HTTP/1.1\r\nHost: a\r\n" + close,
			"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 6\r\nConnection: close\r\n\r\n"},
		{"HTTP/1.0 gets none", "GET /ret HTTP/1.0\r\n\r\n",
			"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 6\r\nConnection: close\r\n\r\nhello\n"},
		{"204 has no body", "GET /204 HTTP/1.1\r\nHost: a\r\n" + close,
			"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n"},
		{"upstream's length", "GET /up HTTP/1.1\r\nHost: a\r\n" + close,
			"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nup\n\r\n0\r\nX-U: TIME\r\n\r\n"},
		// nginx drops the upstream's X-Up unless proxy_pass_trailers on
		// (nginx 1.27.2) passes it, before add_trailer's.
		{"upstream's chunks and trailer", "GET /chunked HTTP/1.1\r\nHost: a\r\n" + close,
			"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nup\n\r\n0\r\nX-T: t1\r\nX-Two: t2\r\n\r\n"},
		{"proxy_pass_trailers on", "GET /chunked-on HTTP/1.1\r\nHost: a\r\n" + close,
			"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nup\n\r\n0\r\nX-Up: u\r\nX-T: t1\r\nX-Two: t2\r\n\r\n"},
		// nginx (ngx_http_upstream_process_trailers) drops the trailer
		// fields proxy_hide_header hides, as it does the header's: a
		// hidden field does not get out through the trailer section. The
		// others keep the upstream's order.
		{"proxy_hide_header hides trailer fields", "GET /chunked-hide HTTP/1.1\r\nHost: a\r\n" + close,
			"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nup\n\r\n0\r\nX-Up: u\r\nX-B: b\r\nX-A: a\r\nX-C: c\r\nX-B: b2\r\nX-T: t1\r\nX-Two: t2\r\n\r\n"},
		{"inherited from http", "GET /ret HTTP/1.1\r\nHost: other\r\n" + close,
			"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n2\r\no\n\r\n0\r\nX-Http: h\r\n\r\n"},
		{"none at this level", "GET /none HTTP/1.1\r\nHost: a\r\n" + close,
			"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\nConnection: close\r\nX-H: h\r\n\r\n2\r\nx\n\r\n0\r\nX-T: t1\r\nX-Two: t2\r\n\r\n"},
		{"keep-alive after a trailer section", "GET /ret HTTP/1.1\r\nHost: a\r\n\r\nGET /ret HTTP/1.1\r\nHost: a\r\n" + close,
			"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n6\r\nhello\n\r\n0\r\nX-T: t1\r\nX-Two: t2\r\n\r\n" +
				"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n6\r\nhello\n\r\n0\r\nX-T: t1\r\nX-Two: t2\r\n\r\n"},
	}
	times := regexp.MustCompile(`: \d+\.\d{3}\r\n`)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := times.ReplaceAllString(rawExchange(t, addr, tc.req), ": TIME\r\n")
			if got != tc.want {
				t.Errorf("got\n%q\nwant\n%q", got, tc.want)
			}
		})
	}
}

// TestAddTrailerHTTP2 checks add_trailer over HTTP/2, as nginx 1.22.1
// answered the same configuration: the fields come in a trailing HEADERS
// frame and the Content-Length stays; a 404 without "always" has none.
func TestAddTrailerHTTP2(t *testing.T) {
	dir := t.TempDir()
	certs, pool := h2Site(t, dir)
	conf := fmt.Sprintf("pid %[1]s/fulcrum.pid;\nerror_log %[1]s/error.log;\nhttp { access_log off; server { listen 127.0.0.1:0 ssl http2; %[2]s add_trailer X-T t1; add_trailer X-Time $request_time; location /ret { return 200 \"hello\\n\"; } location /404 { return 404 \"nf\\n\"; } } }\n", dir, certs)
	addr, _ := runConfig(t, dir, conf)
	c := h2Client(t, addr, pool, false)
	cases := []struct {
		path    string
		status  int
		trailer string
	}{
		{"/ret", 200, "X-T=t1 X-Time=TIME"},
		{"/404", 404, ""},
	}
	requestTime := regexp.MustCompile(`^\d+\.\d{3}$`)
	for _, tc := range cases {
		resp, body := h2Do(t, c, "GET", "https://a.test"+tc.path, "")
		var got []string
		for _, k := range []string{"X-T", "X-Time"} {
			if v := resp.Trailer.Get(k); v != "" {
				if requestTime.MatchString(v) {
					v = "TIME"
				}
				got = append(got, k+"="+v)
			}
		}
		if resp.ProtoMajor != 2 || resp.StatusCode != tc.status || resp.ContentLength != int64(len(body)) || strings.Join(got, " ") != tc.trailer {
			t.Errorf("%s: %s %d length %d body %q trailers %q, want HTTP/2 %d with a length and %q",
				tc.path, resp.Proto, resp.StatusCode, resp.ContentLength, body, got, tc.status, tc.trailer)
		}
	}
}

// TestTrailerOrderHTTP2 pins the order of trailer fields over HTTP/2, read
// from the raw trailing HEADERS frame of three streams: sorted by name, a
// repeated name's values in the order they came, the upstream's
// (proxy_pass_trailers on) and add_trailer's mixed. net/http's HTTP/2
// server sorts the trailer fields it writes, so the upstream's order
// (which HTTP/1.1 clients get) and add_trailer's order (which nginx 1.22.1
// keeps over HTTP/2: x-zeta, x-alpha, x-mid, x-alpha) cannot be kept; the
// order is at least the same for every response.
func TestTrailerOrderHTTP2(t *testing.T) {
	backend := testutil.RawBackend(t, func(c net.Conn) {
		buf := make([]byte, 4096)
		_, _ = c.Read(buf)
		_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"+
			"3\r\nup\n\r\n0\r\nX-Zeta: 1\r\nX-Alpha: 2\r\nX-Mid: 3\r\nX-Alpha: 4\r\n\r\n")
	})
	dir := t.TempDir()
	certs, pool := h2Site(t, dir)
	addr := startDaemon(t, dir, fmt.Sprintf(`access_log off;
    server { listen 127.0.0.1:0 ssl http2; %s
        location /up { proxy_pass_trailers on; add_trailer X-Added a; proxy_pass http://%s; }
        location /ret { add_trailer X-Zeta z; add_trailer X-Alpha a; add_trailer X-Mid m; add_trailer X-Alpha a2; return 200 "hello\n"; }
    }`, certs, backend))
	r := dialH2(t, addr, pool)
	dec := hpack.NewDecoder(4096, nil)
	want := map[string]string{
		"/up":  "x-added: a|x-alpha: 2|x-alpha: 4|x-mid: 3|x-zeta: 1",
		"/ret": "x-alpha: a|x-alpha: a2|x-mid: m|x-zeta: z",
	}
	id := uint32(1)
	for range 3 {
		for _, path := range []string{"/up", "/ret"} {
			var buf bytes.Buffer
			enc := hpack.NewEncoder(&buf)
			for _, kv := range [][2]string{{":method", "GET"}, {":scheme", "https"}, {":path", path}, {":authority", "a.test"}, {"te", "trailers"}} {
				_ = enc.WriteField(hpack.HeaderField{Name: kv[0], Value: kv[1]})
			}
			if err := r.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: buf.Bytes(), EndStream: true, EndHeaders: true}); err != nil {
				t.Fatal(err)
			}
			if got := trailingFields(t, r, dec, id); got != want[path] {
				t.Errorf("stream %d %s: trailers %q, want %q", id, path, got, want[path])
			}
			id += 2
		}
	}
}

// trailingFields reads r's frames up to the end of stream id and returns
// the fields of its trailing HEADERS frame, "name: value" joined by "|".
func trailingFields(t *testing.T, r *rawH2, dec *hpack.Decoder, id uint32) string {
	t.Helper()
	_ = r.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	heads := 0
	for {
		f, err := r.fr.ReadFrame()
		if err != nil {
			t.Fatalf("stream %d: %v", id, err)
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				_ = r.fr.WriteSettingsAck()
			}
		case *http2.DataFrame:
			if f.StreamID == id && f.StreamEnded() {
				t.Fatalf("stream %d ended without trailers", id)
			}
		case *http2.HeadersFrame:
			fields, err := dec.DecodeFull(f.HeaderBlockFragment())
			if err != nil {
				t.Fatal(err)
			}
			if f.StreamID != id {
				continue
			}
			if heads++; heads == 2 || f.StreamEnded() {
				var out []string
				for _, hf := range fields {
					out = append(out, hf.Name+": "+hf.Value)
				}
				return strings.Join(out, "|")
			}
		}
	}
}
