package h1

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"
)

func TestAppendHeads(t *testing.T) {
	hs := Headers{{Name: []byte("Host"), Value: []byte("h")}, {Name: []byte("X"), Value: []byte("")}}
	got := string(AppendRequestHead(nil, []byte("GET"), []byte("/a?b"), HTTP11, hs))
	if want := "GET /a?b HTTP/1.1\r\nHost: h\r\nX: \r\n\r\n"; got != want {
		t.Fatalf("request head %q, want %q", got, want)
	}
	got = string(AppendResponseHead(nil, HTTP10, 404, nil, hs[:1]))
	if want := "HTTP/1.0 404 Not Found\r\nHost: h\r\n\r\n"; got != want {
		t.Fatalf("response head %q, want %q", got, want)
	}
	got = string(AppendStatusLine(nil, HTTP11, 299, []byte{}))
	if want := "HTTP/1.1 299 \r\n"; got != want {
		t.Fatalf("empty reason %q", got)
	}
	got = string(AppendStatusLine(nil, HTTP11, 299, nil))
	if want := "HTTP/1.1 299 \r\n"; got != want {
		t.Fatalf("unknown code %q", got)
	}
	got = string(AppendHeader(AppendContentLength(nil, 1234), "Via", []byte("1.1 fulcrum")))
	if want := "Content-Length: 1234\r\nVia: 1.1 fulcrum\r\n"; got != want {
		t.Fatalf("fields %q", got)
	}
}

// nginxStatusLines are the phrases nginx 1.22.1 wrote for "return CODE
// text;" with every code from 200 to 599; it wrote none ("HTTP/1.1 203 ")
// for the others.
var nginxStatusLines = map[int]string{
	200: "OK", 201: "Created", 202: "Accepted", 204: "No Content", 206: "Partial Content",
	301: "Moved Permanently", 302: "Moved Temporarily", 303: "See Other", 304: "Not Modified",
	307: "Temporary Redirect", 308: "Permanent Redirect",
	400: "Bad Request", 401: "Unauthorized", 402: "Payment Required", 403: "Forbidden",
	404: "Not Found", 405: "Not Allowed", 406: "Not Acceptable", 408: "Request Time-out",
	409: "Conflict", 410: "Gone", 411: "Length Required", 412: "Precondition Failed",
	413: "Request Entity Too Large", 414: "Request-URI Too Large", 415: "Unsupported Media Type",
	416: "Requested Range Not Satisfiable", 421: "Misdirected Request", 429: "Too Many Requests",
	500: "Internal Server Error", 501: "Not Implemented", 502: "Bad Gateway",
	503: "Service Temporarily Unavailable", 504: "Gateway Time-out", 505: "HTTP Version Not Supported",
	507: "Insufficient Storage",
}

func TestReasonPhrase(t *testing.T) {
	want := func(code int) string {
		switch code {
		case 100: // interim codes nginx has no table for
			return "Continue"
		case 101:
			return "Switching Protocols"
		case 103:
			return "Early Hints"
		case 417: // fulcrum's own answers where nginx has no phrase
			return "Expectation Failed"
		case 431:
			return "Request Header Fields Too Large"
		}
		return nginxStatusLines[code]
	}
	for code := 100; code < 1000; code++ {
		if got := ReasonPhrase(code); got != want(code) {
			t.Errorf("ReasonPhrase(%d) = %q, want %q", code, got, want(code))
		}
	}
}

func TestAppendNoAlloc(t *testing.T) {
	var r Request
	if _, err := ParseRequest([]byte("GET /x HTTP/1.1\r\nHost: h\r\nA: b\r\n\r\n"), &r, Limits{}); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 0, 512)
	allocs := testing.AllocsPerRun(100, func() {
		b := AppendRequestLine(buf[:0], r.Method, r.Path, HTTP11)
		for _, h := range r.Headers {
			if !r.Headers.HopByHop(h.Name) {
				b = AppendHeader(b, h.Name, h.Value)
			}
		}
		b = AppendHeader(b, "X-Forwarded-For", "127.0.0.1")
		b = AppendContentLength(b, 0)
		b = AppendStatusLine(b, HTTP11, 200, nil)
		_ = append(b, '\r', '\n')
	})
	if allocs != 0 {
		t.Fatalf("%v allocations", allocs)
	}
}

func TestChunkedWriterRoundTrip(t *testing.T) {
	var out bytes.Buffer
	var w ChunkedWriter
	w.Reset(&out)
	for _, s := range []string{"hello", "", strings.Repeat("x", 300), "!"} {
		n, err := w.Write([]byte(s))
		if err != nil || n != len(s) {
			t.Fatalf("Write(%d bytes) = %d, %v", len(s), n, err)
		}
	}
	tr := Headers{{Name: []byte("X-Sum"), Value: []byte("42")}}
	if err := w.Finish(tr); err != nil {
		t.Fatal(err)
	}
	want := "5\r\nhello\r\n12c\r\n" + strings.Repeat("x", 300) + "\r\n1\r\n!\r\n0\r\nX-Sum: 42\r\n\r\n"
	if out.String() != want {
		t.Fatalf("wire %q\nwant %q", out.String(), want)
	}
	var c ChunkedReader
	c.Reset(bufio.NewReader(&out), BodyLimits{})
	data, err := io.ReadAll(&c)
	if err != nil || string(data) != "hello"+strings.Repeat("x", 300)+"!" {
		t.Fatalf("decoded %q %v", data, err)
	}
	if got := c.Trailers(); len(got) != 1 || string(got[0].Value) != "42" {
		t.Fatalf("trailers %v", got)
	}
}

// failWriter accepts limit bytes, then fails.
type failWriter struct{ limit int }

func (f *failWriter) Write(p []byte) (int, error) {
	if len(p) <= f.limit {
		f.limit -= len(p)
		return len(p), nil
	}
	n := f.limit
	f.limit = 0
	return n, errors.New("boom")
}

func TestChunkedWriterErrors(t *testing.T) {
	// One chunk of "hello" is 10 bytes on the wire: "5\r\n", data, "\r\n".
	tests := []struct {
		accept, wantN int
		wantErr       bool
	}{
		{1, 0, true},   // fails inside the size line
		{5, 2, true},   // size line and 2 data bytes
		{9, 5, true},   // data done, the final CRLF fails
		{10, 5, false}, // all written
	}
	for _, tt := range tests {
		var w ChunkedWriter
		w.Reset(&failWriter{limit: tt.accept})
		n, err := w.Write([]byte("hello"))
		if n != tt.wantN || (err != nil) != tt.wantErr {
			t.Errorf("accept %d: n=%d err=%v, want n=%d err=%v", tt.accept, n, err, tt.wantN, tt.wantErr)
		}
	}
}

// TestAppendStatusLineEveryStatus: the one-copy "HTTP/1.1 200 OK" is the
// line the general way writes, and every other status, version and reason
// still goes that way.
func TestAppendStatusLineEveryStatus(t *testing.T) {
	for _, v := range []Version{HTTP10, HTTP11} {
		for status := 100; status <= 599; status++ {
			for _, reason := range [][]byte{nil, []byte("OK"), {}, []byte("Fine Thanks"), []byte("ok")} {
				want := v.String() + " " + strconv.Itoa(status) + " "
				if reason == nil {
					want += ReasonPhrase(status)
				} else {
					want += string(reason)
				}
				want += "\r\n"
				if got := string(AppendStatusLine([]byte("x"), v, status, reason)); got != "x"+want {
					t.Fatalf("AppendStatusLine(%v, %d, %q) = %q, want %q", v, status, reason, got, "x"+want)
				}
			}
		}
	}
}
