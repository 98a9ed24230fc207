package h1

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
)

// reqView is a comparable summary of a parsed Request.
type reqView struct {
	Method, Target, Path, Query string
	HasQuery                    bool
	Form                        TargetForm
	Version                     Version
	Host                        string
	Framing                     Framing
	ContentLength               int64
	Close, Upgrade              bool
	Expect                      Expect
	Underscores                 int
	Headers                     string // "name: value\n" per field
}

func viewOf(r *Request) reqView {
	var hs strings.Builder
	for _, h := range r.Headers {
		fmt.Fprintf(&hs, "%s: %s\n", h.Name, h.Value)
	}
	return reqView{
		Method: string(r.Method), Target: string(r.Target), Path: string(r.Path),
		Query: string(r.Query), HasQuery: r.Query != nil, Form: r.Form,
		Version: r.Version, Host: string(r.Host), Framing: r.Framing,
		ContentLength: r.ContentLength, Close: r.Close, Upgrade: r.Upgrade,
		Expect: r.Expect, Underscores: r.Underscores, Headers: hs.String(),
	}
}

// parseAll parses raw with ParseRequest and with ReadRequest over a default
// and a tiny bufio buffer (which exercises lines longer than the buffer), and
// fails unless all three agree. It returns the view and the error.
func parseAll(t *testing.T, raw string, lim Limits) (reqView, error) {
	t.Helper()
	var r Request
	defer r.Reset()
	n, err := ParseRequest([]byte(raw), &r, lim)
	want := viewOf(&r)
	if err == nil && n > len(raw) {
		t.Fatalf("ParseRequest consumed %d of %d bytes", n, len(raw))
	}
	for _, size := range []int{4096, 16} {
		br := bufio.NewReaderSize(strings.NewReader(raw), size)
		err2 := ReadRequest(br, &r, lim)
		if err == ErrIncomplete {
			if err2 != io.ErrUnexpectedEOF && err2 != io.EOF {
				t.Fatalf("bufio size %d: incomplete head gave %v", size, err2)
			}
			continue
		}
		if err2 != err {
			t.Fatalf("bufio size %d: error %v, ParseRequest %v", size, err2, err)
		}
		if err == nil {
			if got := viewOf(&r); got != want {
				t.Fatalf("bufio size %d:\n got %+v\nwant %+v", size, got, want)
			}
			rest, _ := io.ReadAll(br)
			if string(rest) != raw[n:] {
				t.Fatalf("bufio size %d: left %q after head, want %q", size, rest, raw[n:])
			}
		}
	}
	return want, err
}

func TestParseRequestValid(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		want reqView
	}{
		{"simple get", "GET /index.html HTTP/1.1\r\nHost: example.com\r\n\r\n", reqView{
			Method: "GET", Target: "/index.html", Path: "/index.html", Form: OriginForm,
			Version: HTTP11, Host: "example.com", Framing: NoBody,
			Headers: "Host: example.com\n"}},
		// nginx 1.22 serves these methods: A-Z, '_' and '-'.
		{"method with underscore and dash", "GET_X-Y / HTTP/1.1\r\nHost: h\r\n\r\n", reqView{
			Method: "GET_X-Y", Target: "/", Path: "/", Form: OriginForm,
			Version: HTTP11, Host: "h", Headers: "Host: h\n"}},
		{"method of one dash", "- / HTTP/1.1\r\nHost: h\r\n\r\n", reqView{
			Method: "-", Target: "/", Path: "/", Form: OriginForm,
			Version: HTTP11, Host: "h", Headers: "Host: h\n"}},
		{"query", "GET /a?b=c&d HTTP/1.1\r\nHost: h\r\n\r\n", reqView{
			Method: "GET", Target: "/a?b=c&d", Path: "/a", Query: "b=c&d", HasQuery: true,
			Form: OriginForm, Version: HTTP11, Host: "h", Headers: "Host: h\n"}},
		{"empty query kept", "GET /a? HTTP/1.1\r\nHost: h\r\n\r\n", reqView{
			Method: "GET", Target: "/a?", Path: "/a", HasQuery: true,
			Form: OriginForm, Version: HTTP11, Host: "h", Headers: "Host: h\n"}},
		{"percent escape and second question mark", "GET /%41b?x=%zz?y HTTP/1.1\r\nHost: h\r\n\r\n", reqView{
			Method: "GET", Target: "/%41b?x=%zz?y", Path: "/%41b", Query: "x=%zz?y", HasQuery: true,
			Form: OriginForm, Version: HTTP11, Host: "h", Headers: "Host: h\n"}},
		{"obs-text in path and value", "GET /caf\xc3\xa9 HTTP/1.1\r\nHost: h\r\nX: \xff\r\n\r\n", reqView{
			Method: "GET", Target: "/caf\xc3\xa9", Path: "/caf\xc3\xa9", Form: OriginForm,
			Version: HTTP11, Host: "h", Headers: "Host: h\nX: \xff\n"}},
		// nginx 1.22.1 serves a later HTTP/1 minor version as HTTP/1.1 (RFC
		// 9110 section 2.5), up to 999 and with leading zeros; "1.00" is 1.0.
		{"HTTP/1.2 read as HTTP/1.1", "GET / HTTP/1.2\r\nHost: h\r\n\r\n", reqView{
			Method: "GET", Target: "/", Path: "/", Form: OriginForm, Version: HTTP11, Host: "h", Headers: "Host: h\n"}},
		{"HTTP/1.10 read as HTTP/1.1", "GET / HTTP/1.10\r\nHost: h\r\n\r\n", reqView{
			Method: "GET", Target: "/", Path: "/", Form: OriginForm, Version: HTTP11, Host: "h", Headers: "Host: h\n"}},
		{"HTTP/1.01 read as HTTP/1.1", "GET / HTTP/1.01\r\nHost: h\r\n\r\n", reqView{
			Method: "GET", Target: "/", Path: "/", Form: OriginForm, Version: HTTP11, Host: "h", Headers: "Host: h\n"}},
		{"HTTP/1.999 read as HTTP/1.1", "GET / HTTP/1.999\r\nHost: h\r\n\r\n", reqView{
			Method: "GET", Target: "/", Path: "/", Form: OriginForm, Version: HTTP11, Host: "h", Headers: "Host: h\n"}},
		{"HTTP/1.00 read as HTTP/1.0", "GET / HTTP/1.00\r\n\r\n", reqView{
			Method: "GET", Target: "/", Path: "/", Form: OriginForm, Version: HTTP10, Close: true}},
		{"http/1.0 without host closes", "GET / HTTP/1.0\r\n\r\n", reqView{
			Method: "GET", Target: "/", Path: "/", Form: OriginForm, Version: HTTP10, Close: true}},
		{"http/1.0 keep-alive", "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", reqView{
			Method: "GET", Target: "/", Path: "/", Form: OriginForm, Version: HTTP10,
			Headers: "Connection: Keep-Alive\n"}},
		{"leading empty lines skipped", "\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n", reqView{
			Method: "GET", Target: "/", Path: "/", Form: OriginForm, Version: HTTP11, Host: "h",
			Headers: "Host: h\n"}},
		{"leading bare LF lines skipped", "\n\r\n\nGET / HTTP/1.1\r\nHost: h\r\n\r\n", reqView{
			Method: "GET", Target: "/", Path: "/", Form: OriginForm, Version: HTTP11, Host: "h",
			Headers: "Host: h\n"}},
		{"absolute-form authority replaces host", "GET http://Example.COM:8080/x?y HTTP/1.1\r\nHost: other\r\n\r\n", reqView{
			Method: "GET", Target: "http://Example.COM:8080/x?y", Path: "/x", Query: "y", HasQuery: true,
			Form: AbsoluteForm, Version: HTTP11, Host: "Example.COM:8080",
			Headers: "Host: Example.COM:8080\n"}},
		{"absolute-form https without path", "GET HTTPS://h HTTP/1.1\r\nHost: h\r\n\r\n", reqView{
			Method: "GET", Target: "HTTPS://h", Path: "/", Form: AbsoluteForm, Version: HTTP11,
			Host: "h", Headers: "Host: h\n"}},
		{"absolute-form query without path", "GET http://h?q HTTP/1.1\r\nHost: h\r\n\r\n", reqView{
			Method: "GET", Target: "http://h?q", Path: "/", Query: "q", HasQuery: true,
			Form: AbsoluteForm, Version: HTTP11, Host: "h", Headers: "Host: h\n"}},
		{"absolute-form on 1.0 without host", "GET http://h/ HTTP/1.0\r\n\r\n", reqView{
			Method: "GET", Target: "http://h/", Path: "/", Form: AbsoluteForm, Version: HTTP10,
			Host: "h", Close: true}},
		{"asterisk", "OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n", reqView{
			Method: "OPTIONS", Target: "*", Path: "*", Form: AsteriskForm, Version: HTTP11,
			Host: "h", Headers: "Host: h\n"}},
		{"connect", "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", reqView{
			Method: "CONNECT", Target: "example.com:443", Form: AuthorityForm, Version: HTTP11,
			Host: "example.com:443", Headers: "Host: example.com:443\n"}},
		{"ipv6 host", "GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n", reqView{
			Method: "GET", Target: "/", Path: "/", Form: OriginForm, Version: HTTP11,
			Host: "[::1]:8080", Headers: "Host: [::1]:8080\n"}},
		{"content-length", "POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello", reqView{
			Method: "POST", Target: "/p", Path: "/p", Form: OriginForm, Version: HTTP11, Host: "h",
			Framing: LengthBody, ContentLength: 5, Headers: "Host: h\nContent-Length: 5\n"}},
		{"content-length zero", "POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n", reqView{
			Method: "POST", Target: "/p", Path: "/p", Form: OriginForm, Version: HTTP11, Host: "h",
			Framing: LengthBody, Headers: "Host: h\nContent-Length: 0\n"}},
		{"identical content-length list collapses", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5 , 5\r\ncontent-length: 5\r\n\r\nhello", reqView{
			Method: "POST", Target: "/", Path: "/", Form: OriginForm, Version: HTTP11, Host: "h",
			Framing: LengthBody, ContentLength: 5,
			Headers: "Host: h\nContent-Length: 5 , 5\ncontent-length: 5\n"}},
		{"chunked any case", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: Chunked\r\n\r\n0\r\n\r\n", reqView{
			Method: "POST", Target: "/", Path: "/", Form: OriginForm, Version: HTTP11, Host: "h",
			Framing: ChunkedBody, ContentLength: -1, Headers: "Host: h\nTransfer-Encoding: Chunked\n"}},
		{"connection close", "GET / HTTP/1.1\r\nHost: h\r\nConnection: foo, CLOSE\r\n\r\n", reqView{
			Method: "GET", Target: "/", Path: "/", Form: OriginForm, Version: HTTP11, Host: "h",
			Close: true, Headers: "Host: h\nConnection: foo, CLOSE\n"}},
		{"upgrade", "GET /ws HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n\r\n", reqView{
			Method: "GET", Target: "/ws", Path: "/ws", Form: OriginForm, Version: HTTP11, Host: "h",
			Upgrade: true, Headers: "Host: h\nConnection: keep-alive, Upgrade\nUpgrade: websocket\n"}},
		{"upgrade field without connection option", "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n\r\n", reqView{
			Method: "GET", Target: "/", Path: "/", Form: OriginForm, Version: HTTP11, Host: "h",
			Headers: "Host: h\nUpgrade: websocket\n"}},
		{"expect continue", "PUT / HTTP/1.1\r\nHost: h\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\nx", reqView{
			Method: "PUT", Target: "/", Path: "/", Form: OriginForm, Version: HTTP11, Host: "h",
			Framing: LengthBody, ContentLength: 1, Expect: ExpectContinue,
			Headers: "Host: h\nExpect: 100-Continue\nContent-Length: 1\n"}},
		{"expect other", "GET / HTTP/1.1\r\nHost: h\r\nExpect: fly\r\n\r\n", reqView{
			Method: "GET", Target: "/", Path: "/", Form: OriginForm, Version: HTTP11, Host: "h",
			Expect: ExpectUnsupported, Headers: "Host: h\nExpect: fly\n"}},
		{"expect ignored on 1.0", "GET / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n", reqView{
			Method: "GET", Target: "/", Path: "/", Form: OriginForm, Version: HTTP10, Close: true,
			Headers: "Expect: 100-continue\n"}},
		{"underscore names counted, not acted on", "GET / HTTP/1.1\r\nHost: h\r\nX_Real_IP: 1\r\nContent_Length: 9\r\n\r\n", reqView{
			Method: "GET", Target: "/", Path: "/", Form: OriginForm, Version: HTTP11, Host: "h",
			Underscores: 2, Headers: "Host: h\nX_Real_IP: 1\nContent_Length: 9\n"}},
		{"whitespace trimmed, empty value kept", "GET / HTTP/1.1\r\nHost:h\r\nA: \t v w \t\r\nB:\r\n\r\n", reqView{
			Method: "GET", Target: "/", Path: "/", Form: OriginForm, Version: HTTP11, Host: "h",
			Headers: "Host: h\nA: v w\nB: \n"}},
		{"extension method", "PURGE /x HTTP/1.1\r\nHost: h\r\n\r\n", reqView{
			Method: "PURGE", Target: "/x", Path: "/x", Form: OriginForm, Version: HTTP11, Host: "h",
			Headers: "Host: h\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseAll(t, tt.raw, Limits{})
			if err != nil {
				t.Fatalf("error %v", err)
			}
			if got != tt.want {
				t.Fatalf("\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestParseRequestInvalid(t *testing.T) {
	long := strings.Repeat("a", 9000)
	big := strings.Repeat("X-Big: "+strings.Repeat("b", 1000)+"\r\n", 70)
	const h = "Host: h\r\n"
	tests := []struct {
		name string
		raw  string
		want Error
	}{
		{"bare LF after request line", "GET / HTTP/1.1\nHost: h\r\n\r\n", ErrBareLF},
		{"bare LF after field", "GET / HTTP/1.1\r\nHost: h\n\r\n", ErrBareLF},
		{"bare LF empty line", "GET / HTTP/1.1\r\nHost: h\r\n\n", ErrBareLF},
		{"bare CR in value", "GET / HTTP/1.1\r\nHost: h\r\nX: a\rb\r\n\r\n", ErrBareCR},
		{"bare CR as terminator", "GET / HTTP/1.1\r\nHost: h\rX: y\r\n\r\n", ErrBareCR},
		{"CR CR LF", "GET / HTTP/1.1\r\r\nHost: h\r\n\r\n", ErrBareCR},
		{"NUL in value", "GET / HTTP/1.1\r\n" + h + "X: a\x00b\r\n\r\n", ErrControlChar},
		{"DEL in value", "GET / HTTP/1.1\r\n" + h + "X: a\x7fb\r\n\r\n", ErrControlChar},
		{"control in name", "GET / HTTP/1.1\r\n" + h + "X\x01: a\r\n\r\n", ErrControlChar},
		{"NUL in name", "GET / HTTP/1.1\r\n" + h + "X\x00Y: a\r\n\r\n", ErrControlChar},
		{"space before colon", "GET / HTTP/1.1\r\nHost : h\r\n\r\n", ErrSpaceBeforeColon},
		{"tab before colon", "GET / HTTP/1.1\r\n" + h + "X\t: a\r\n\r\n", ErrSpaceBeforeColon},
		{"line without colon", "GET / HTTP/1.1\r\n" + h + "Xa\r\n\r\n", ErrMissingColon},
		{"whitespace before first field", "GET / HTTP/1.1\r\n Host: h\r\n\r\n", ErrLeadingWhitespace},
		{"obs-fold", "GET / HTTP/1.1\r\n" + h + "X: a\r\n b\r\n\r\n", ErrObsFold},
		{"obs-fold tab", "GET / HTTP/1.1\r\n" + h + "X: a\r\n\tb\r\n\r\n", ErrObsFold},
		{"separator in name", "GET / HTTP/1.1\r\n" + h + "X(y): a\r\n\r\n", ErrFieldName},
		{"space inside name", "GET / HTTP/1.1\r\n" + h + "X Y: a\r\n\r\n", ErrFieldName},
		{"empty name", "GET / HTTP/1.1\r\n" + h + ": a\r\n\r\n", ErrFieldName},
		{"non-ascii name", "GET / HTTP/1.1\r\n" + h + "X\xc3\xa9: a\r\n\r\n", ErrFieldName},
		{"method not a token", "G@T / HTTP/1.1\r\n" + h + "\r\n", ErrMethod},
		// nginx 1.22 answers 400 to each of these (checked side by side).
		{"lowercase method", "get / HTTP/1.1\r\n" + h + "\r\n", ErrMethod},
		{"mixed-case method", "Get / HTTP/1.1\r\n" + h + "\r\n", ErrMethod},
		{"lowercase first letter", "gET / HTTP/1.1\r\n" + h + "\r\n", ErrMethod},
		{"digit in method", "G1 / HTTP/1.1\r\n" + h + "\r\n", ErrMethod},
		{"dot in method", "G.T / HTTP/1.1\r\n" + h + "\r\n", ErrMethod},
		{"tilde in method", "G~ / HTTP/1.1\r\n" + h + "\r\n", ErrMethod},
		{"one space", "GET /\r\n" + h + "\r\n", ErrRequestLine},
		{"no space", "GET\r\n" + h + "\r\n", ErrRequestLine},
		{"leading space", " GET / HTTP/1.1\r\n" + h + "\r\n", ErrRequestLine},
		{"double space", "GET  / HTTP/1.1\r\n" + h + "\r\n", ErrTarget},
		{"space in target", "GET /a b HTTP/1.1\r\n" + h + "\r\n", ErrTarget},
		{"fragment", "GET /a#b HTTP/1.1\r\n" + h + "\r\n", ErrTarget},
		{"control in target", "GET /a\x01 HTTP/1.1\r\n" + h + "\r\n", ErrTarget},
		{"tab in target", "GET /a\tb HTTP/1.1\r\n" + h + "\r\n", ErrTarget},
		{"DEL in target", "GET /a\x7f HTTP/1.1\r\n" + h + "\r\n", ErrTarget},
		{"bad escape", "GET /a%zz HTTP/1.1\r\n" + h + "\r\n", ErrTargetEscape},
		{"truncated escape", "GET /a%2 HTTP/1.1\r\n" + h + "\r\n", ErrTargetEscape},
		{"escape cut by the query", "GET /a%2?b HTTP/1.1\r\n" + h + "\r\n", ErrTargetEscape},
		{"bad escape in absolute form", "GET http://h/%zz HTTP/1.1\r\n" + h + "\r\n", ErrTargetEscape},
		{"bad escape, then a control byte", "GET /%zz\x01 HTTP/1.1\r\n" + h + "\r\n", ErrTarget}, // nginx's request line parser comes first
		{"asterisk with GET", "GET * HTTP/1.1\r\n" + h + "\r\n", ErrTargetForm},
		{"connect with asterisk", "CONNECT * HTTP/1.1\r\n" + h + "\r\n", ErrTargetForm},
		{"connect without port", "CONNECT h HTTP/1.1\r\n" + h + "\r\n", ErrTarget},
		{"connect empty port", "CONNECT h: HTTP/1.1\r\n" + h + "\r\n", ErrTarget},
		{"authority-form with GET", "GET h:80 HTTP/1.1\r\n" + h + "\r\n", ErrTarget},
		{"ftp scheme", "GET ftp://h/ HTTP/1.1\r\n" + h + "\r\n", ErrTarget},
		{"scheme without slashes", "GET http:h HTTP/1.1\r\n" + h + "\r\n", ErrTarget},
		{"userinfo", "GET http://u@h/ HTTP/1.1\r\n" + h + "\r\n", ErrTarget},
		{"empty authority", "GET http:///x HTTP/1.1\r\n" + h + "\r\n", ErrTargetHost},
		{"empty authority after a bad version", "GET http:///x HTTP/2.0\r\n" + h + "\r\n", ErrVersionNotSupported},
		{"bad port in target", "GET http://h:8x/ HTTP/1.1\r\n" + h + "\r\n", ErrTarget},
		{"HTTP/2.0", "GET / HTTP/2.0\r\n" + h + "\r\n", ErrVersionNotSupported},
		{"HTTP/10.0", "GET / HTTP/10.0\r\n" + h + "\r\n", ErrVersionNotSupported},
		// nginx reads the method, then the target, then the version, and
		// its URI parser (a bad %-escape) after the whole line.
		{"lower-case method before a bad version", "get / HTTP/2.0\r\n" + h + "\r\n", ErrMethod},
		{"bad target before a bad version", "DELETE http:h/a HTTP/3.0\r\n" + h + "\r\n", ErrTarget},
		{"bad version before a bad escape", "GET /%zz HTTP/2.0\r\n" + h + "\r\n", ErrVersionNotSupported},
		{"HTTP/3 without a minor version", "GET / HTTP/3\r\n" + h + "\r\n", ErrVersionNotSupported},
		{"HTTP/0.9", "GET / HTTP/0.9\r\n" + h + "\r\n", ErrVersion},
		{"leading zero in the major version", "GET / HTTP/01.1\r\n" + h + "\r\n", ErrVersion},
		{"minor version over 999", "GET / HTTP/1.1000\r\n" + h + "\r\n", ErrVersion},
		{"no minor version", "GET / HTTP/1.\r\n" + h + "\r\n", ErrVersion},
		{"HTTP/1 without a minor version", "GET / HTTP/1\r\n" + h + "\r\n", ErrVersion},
		{"letter after the version", "GET / HTTP/1.1x\r\n" + h + "\r\n", ErrVersion},
		{"lower-case version", "GET / http/1.1\r\n" + h + "\r\n", ErrVersion},
		{"version without dot", "GET / HTTP/11\r\n" + h + "\r\n", ErrVersionNotSupported}, // major version 11, as nginx reads it
		{"trailing space", "GET / HTTP/1.1 \r\n" + h + "\r\n", ErrTarget},                 // the line splits at its last space: a target "/ HTTP/1.1"
		{"request line too long", "GET /" + long + " HTTP/1.1\r\n" + h + "\r\n", ErrURITooLong},
		{"field line too long", "GET / HTTP/1.1\r\n" + h + "X: " + long + "\r\n\r\n", ErrHeaderTooLarge},
		{"head too large", "GET / HTTP/1.1\r\n" + h + big + "\r\n", ErrHeaderTooLarge},
		{"missing host", "GET / HTTP/1.1\r\n\r\n", ErrMissingHost},
		{"missing host with absolute-form", "GET http://h/ HTTP/1.1\r\n\r\n", ErrMissingHost},
		{"two hosts", "GET / HTTP/1.1\r\nHost: h\r\nhost: h\r\n\r\n", ErrDuplicateHost},
		{"two hosts on 1.0", "GET / HTTP/1.0\r\nHost: h\r\nHost: i\r\n\r\n", ErrDuplicateHost},
		{"two if-match", "GET / HTTP/1.1\r\n" + h + "If-Match: a\r\nif-match: a\r\n\r\n", ErrDuplicateField},
		{"two authorization", "GET / HTTP/1.0\r\nAuthorization: a\r\nX: y\r\nAuthorization: b\r\n\r\n", ErrDuplicateField},
		{"two expect", "GET / HTTP/1.1\r\n" + h + "Expect: 100-continue\r\nExpect: 100-continue\r\n\r\n", ErrDuplicateField},
		{"two if-modified-since", "GET / HTTP/1.1\r\n" + h + "If-Modified-Since: a\r\nIf-Modified-Since: b\r\n\r\n", ErrDuplicateField},
		{"empty host", "GET / HTTP/1.1\r\nHost:\r\n\r\n", ErrInvalidHost},
		{"host with slash", "GET / HTTP/1.1\r\nHost: h/x\r\n\r\n", ErrInvalidHost},
		{"host with space", "GET / HTTP/1.1\r\nHost: h x\r\n\r\n", ErrInvalidHost},
		{"host with userinfo", "GET / HTTP/1.1\r\nHost: u@h\r\n\r\n", ErrInvalidHost},
		{"host with pct", "GET / HTTP/1.1\r\nHost: %41\r\n\r\n", ErrInvalidHost},
		{"host empty label", "GET / HTTP/1.1\r\nHost: a..b\r\n\r\n", ErrInvalidHost},
		{"host bad port", "GET / HTTP/1.1\r\nHost: h:8o\r\n\r\n", ErrInvalidHost},
		{"host two colons", "GET / HTTP/1.1\r\nHost: h:1:2\r\n\r\n", ErrInvalidHost},
		{"host unclosed bracket", "GET / HTTP/1.1\r\nHost: [::1\r\n\r\n", ErrInvalidHost},
		{"host ipv4 in brackets", "GET / HTTP/1.1\r\nHost: [1.2.3.4]\r\n\r\n", ErrInvalidHost},
		{"host ipv6 zone", "GET / HTTP/1.1\r\nHost: [fe80::1%25eth0]\r\n\r\n", ErrInvalidHost},
		{"host junk after bracket", "GET / HTTP/1.1\r\nHost: [::1]x\r\n\r\n", ErrInvalidHost},
		{"host non-ascii", "GET / HTTP/1.1\r\nHost: caf\xc3\xa9\r\n\r\n", ErrInvalidHost},
		{"invalid host with absolute-form", "GET http://h/ HTTP/1.1\r\nHost: a b\r\n\r\n", ErrInvalidHost},
		{"te and cl", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", ErrTEAndCL},
		{"cl and bad te", "POST / HTTP/1.1\r\n" + h + "Content-Length: 3\r\nTransfer-Encoding: foo\r\n\r\n", ErrTEAndCL},
		{"bad te and cl", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: gzip, chunked\r\nContent-Length: 3\r\n\r\n", ErrTEAndCL},
		{"bad cl and te", "POST / HTTP/1.1\r\n" + h + "Content-Length: 3x\r\nTransfer-Encoding: chunked\r\n\r\n", ErrContentLength},
		{"te on 1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", ErrTransferEncoding},
		{"te gzip only", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: gzip\r\n\r\n", ErrTransferEncoding},
		{"te chunked twice", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked, chunked\r\n\r\n", ErrTransferEncoding},
		{"te chunked on two lines", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", ErrTransferEncoding},
		{"te trailing empty element", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked,\r\n\r\n", ErrTransferEncoding},
		{"te leading empty element", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: , chunked\r\n\r\n", ErrTransferEncoding},
		{"te empty", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding:\r\n\r\n", ErrTransferEncoding},
		{"te chunked not last", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked, gzip\r\n\r\n", ErrTransferEncoding},
		{"te chunked with parameter", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked;q=1\r\n\r\n", ErrTransferEncoding},
		{"te not a token", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: \"chunked\"\r\n\r\n", ErrTransferEncoding},
		{"te unknown", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: foo\r\n\r\n", ErrUnknownCoding},
		{"te unknown then chunked", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: foo, chunked\r\n\r\n", ErrUnknownCoding},
		{"te gzip then chunked", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: gzip, chunked\r\n\r\n", ErrUnknownCoding},
		{"cl not digits", "POST / HTTP/1.1\r\n" + h + "Content-Length: abc\r\n\r\n", ErrContentLength},
		{"cl negative", "POST / HTTP/1.1\r\n" + h + "Content-Length: -1\r\n\r\n", ErrContentLength},
		{"cl plus sign", "POST / HTTP/1.1\r\n" + h + "Content-Length: +5\r\n\r\n", ErrContentLength},
		{"cl empty", "POST / HTTP/1.1\r\n" + h + "Content-Length:\r\n\r\n", ErrContentLength},
		{"cl hex", "POST / HTTP/1.1\r\n" + h + "Content-Length: 0x5\r\n\r\n", ErrContentLength},
		{"cl inner space", "POST / HTTP/1.1\r\n" + h + "Content-Length: 1 2\r\n\r\n", ErrContentLength},
		{"cl differing list", "POST / HTTP/1.1\r\n" + h + "Content-Length: 5, 6\r\n\r\n", ErrContentLength},
		{"cl differing lines", "POST / HTTP/1.1\r\n" + h + "Content-Length: 5\r\nContent-Length: 6\r\n\r\n", ErrContentLength},
		// nginx refuses a field line as it reads it, before the checks
		// at the head's end: the first such line decides.
		{"cl differing lines before a missing host", "POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", ErrContentLength},
		{"te twice before a missing host", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", ErrTransferEncoding},
		{"expect twice before an invalid host", "GET / HTTP/1.1\r\nExpect: a\r\nExpect: b\r\nHost: a b\r\n\r\n", ErrDuplicateField},
		{"invalid host before cl differing lines", "POST / HTTP/1.1\r\nHost: a b\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", ErrInvalidHost},
		{"repeated cl value, then no host", "POST / HTTP/1.1\r\nContent-Length: 5, 5\r\nContent-Length: 5\r\n\r\n", ErrMissingHost},
		{"cl equal value, different spelling", "POST / HTTP/1.1\r\n" + h + "Content-Length: 5\r\nContent-Length: 05\r\n\r\n", ErrContentLength},
		{"cl empty element", "POST / HTTP/1.1\r\n" + h + "Content-Length: 5,\r\n\r\n", ErrContentLength},
		{"cl overflow", "POST / HTTP/1.1\r\n" + h + "Content-Length: 9223372036854775808\r\n\r\n", ErrContentLength},
		{"trailer announces content-length", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\nTrailer: X, content-length\r\n\r\n", ErrTrailerDecl},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseAll(t, tt.raw, Limits{})
			var e Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v, want %v", err, tt.want)
			}
			if e != tt.want {
				t.Fatalf("error %v (%d), want %v (%d)", e, e.Status(), tt.want, tt.want.Status())
			}
			if !e.Close() {
				t.Fatalf("%v does not close the connection", e)
			}
		})
	}
}

func TestErrorStatus(t *testing.T) {
	tests := []struct {
		err  Error
		want int
	}{
		{ErrBareLF, 400}, {ErrURITooLong, 414}, {ErrHeaderTooLarge, 431},
		{ErrTooManyHeaders, 431}, {ErrUnknownCoding, 501}, {ErrVersionNotSupported, 505},
		{ErrBodyTooLarge, 413}, {ErrStatusLine, 502}, {ErrUnrequestedUpgrade, 502},
	}
	for _, tt := range tests {
		t.Run(tt.err.Error(), func(t *testing.T) {
			if got := tt.err.Status(); got != tt.want {
				t.Fatalf("Status() = %d, want %d", got, tt.want)
			}
		})
	}
	for e := Error(1); e < errKinds; e++ {
		if s := e.Status(); s < 400 || s > 505 || !strings.HasPrefix(e.Error(), "h1: ") || e.Error() == "h1: " {
			t.Errorf("kind %d: status %d, message %q", e, s, e.Error())
		}
	}
}

func TestLimitsConfigurable(t *testing.T) {
	tests := []struct {
		name string
		lim  Limits
		raw  string
		want error
	}{
		{"request line at limit", Limits{MaxRequestLine: 16}, "GET /abc HTTP/1.1\r\nHost: h\r\n\r\n", ErrURITooLong},
		{"request line within limit", Limits{MaxRequestLine: 19}, "GET /abc HTTP/1.1\r\nHost: h\r\n\r\n", nil},
		{"field line", Limits{MaxFieldLine: 8}, "GET / HTTP/1.1\r\nHost: h\r\nX: 12345\r\n\r\n", ErrHeaderTooLarge},
		{"total", Limits{MaxHeaderBytes: 36}, "GET / HTTP/1.1\r\nHost: h\r\nX: 12345\r\n\r\n", ErrHeaderTooLarge},
		{"total exactly", Limits{MaxHeaderBytes: 37}, "GET / HTTP/1.1\r\nHost: h\r\nX: 12345\r\n\r\n", nil},
		{"count", Limits{MaxHeaders: 1}, "GET / HTTP/1.1\r\nHost: h\r\nX: 1\r\n\r\n", ErrTooManyHeaders},
		{"count exactly", Limits{MaxHeaders: 2}, "GET / HTTP/1.1\r\nHost: h\r\nX: 1\r\n\r\n", nil},
		// nginx 1.22.1 counts no fields: only the bytes bound them.
		{"no count cap by default", Limits{}, "GET / HTTP/1.1\r\nHost: h\r\n" + strings.Repeat("X: 1\r\n", 3000) + "\r\n", nil},
		{"leading CRLFs count toward total", Limits{MaxHeaderBytes: 30}, strings.Repeat("\r\n", 10) + "GET / HTTP/1.1\r\nHost: h\r\n\r\n", ErrHeaderTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseAll(t, tt.raw, tt.lim)
			if err != tt.want {
				t.Fatalf("error %v, want %v", err, tt.want)
			}
		})
	}
}

func TestLimitBeforeLineEnds(t *testing.T) {
	// A request line that never ends must fail once over the limit, not
	// wait for more input.
	raw := "GET /" + strings.Repeat("a", 100)
	var r Request
	if _, err := ParseRequest([]byte(raw), &r, Limits{MaxRequestLine: 50}); err != ErrURITooLong {
		t.Fatalf("ParseRequest: %v, want ErrURITooLong", err)
	}
	br := bufio.NewReaderSize(io.MultiReader(strings.NewReader(raw), blockingReader{}), 16)
	if err := ReadRequest(br, &r, Limits{MaxRequestLine: 50}); err != ErrURITooLong {
		t.Fatalf("ReadRequest: %v, want ErrURITooLong", err)
	}
}

// blockingReader fails the test by panicking if the parser reads past the
// point where it should have stopped.
type blockingReader struct{}

func (blockingReader) Read([]byte) (int, error) { panic("read past the limit") }

func TestReadRequestEOF(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		want error
	}{
		{"nothing", "", io.EOF},
		// nginx logs a 400 for a connection that sent empty lines only.
		{"only empty lines", "\r\n\r\n", io.ErrUnexpectedEOF},
		{"partial request line", "GET / HT", io.ErrUnexpectedEOF},
		// A line over its limit is a 414 even when the input ends
		// there, as ParseRequest (and nginx) report it.
		{"partial request line over the limit", "GET /" + strings.Repeat("a", 9000), ErrURITooLong},
		{"partial field line over the limit", "GET / HTTP/1.1\r\nX: " + strings.Repeat("a", 9000), ErrHeaderTooLarge},
		{"partial fields", "GET / HTTP/1.1\r\nHost: h\r\n", io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r Request
			err := ReadRequest(bufio.NewReader(strings.NewReader(tt.raw)), &r, Limits{})
			if err != tt.want {
				t.Fatalf("error %v, want %v", err, tt.want)
			}
		})
	}
}

func TestParseRequestIncomplete(t *testing.T) {
	full := "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nok"
	var r Request
	for i := 0; i < len(full)-2; i++ {
		if _, err := ParseRequest([]byte(full[:i]), &r, Limits{}); err != ErrIncomplete {
			t.Fatalf("prefix %q: %v, want ErrIncomplete", full[:i], err)
		}
	}
	n, err := ParseRequest([]byte(full), &r, Limits{})
	if err != nil || n != len(full)-2 {
		t.Fatalf("n=%d err=%v, want %d nil", n, err, len(full)-2)
	}
	if string(r.Headers.Get("content-length")) != "2" {
		t.Fatalf("Content-Length %q", r.Headers.Get("content-length"))
	}
}

func TestKeepAliveSequence(t *testing.T) {
	// Three requests on one reader: length body, chunked body, no body.
	raw := "POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc" +
		"POST /b HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nde\r\n1;x=\"y\"\r\nf\r\n0\r\nX-T: 1\r\n\r\n" +
		"\r\nGET /c HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"
	br := bufio.NewReaderSize(strings.NewReader(raw), 16)
	var r Request
	var body Body
	want := []struct{ path, body string }{{"/a", "abc"}, {"/b", "def"}, {"/c", ""}}
	for i, w := range want {
		if err := ReadRequest(br, &r, Limits{}); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		if string(r.Path) != w.path {
			t.Fatalf("request %d: path %q, want %q", i, r.Path, w.path)
		}
		if err := body.Reset(br, r.Framing, r.ContentLength, BodyLimits{}); err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(&body)
		if err != nil || string(got) != w.body || !body.Done() {
			t.Fatalf("request %d: body %q err %v done %v, want %q", i, got, err, body.Done(), w.body)
		}
	}
	if !r.Close {
		t.Fatal("last request should close")
	}
	if err := ReadRequest(br, &r, Limits{}); err != io.EOF {
		t.Fatalf("after last request: %v, want io.EOF", err)
	}
}

func TestDropUnderscored(t *testing.T) {
	var r Request
	_, err := ParseRequest([]byte("GET / HTTP/1.1\r\nX_A: 1\r\nHost: h\r\nX-B: 2\r\nX_C: 3\r\n\r\n"), &r, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Underscores != 2 {
		t.Fatalf("Underscores = %d", r.Underscores)
	}
	r.DropUnderscored()
	var names []string
	for _, h := range r.Headers {
		names = append(names, string(h.Name))
	}
	if got := strings.Join(names, ","); got != "Host,X-B" || r.Underscores != 0 {
		t.Fatalf("after drop: %s (underscores %d)", got, r.Underscores)
	}
}

func TestCheckBodySize(t *testing.T) {
	tests := []struct {
		raw  string
		max  int64
		want error
	}{
		{"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\n", 10, ErrBodyTooLarge},
		{"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n", 10, nil},
		{"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\n", 0, nil},
		{"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n", 1, nil},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.max, tt.want), func(t *testing.T) {
			var r Request
			if _, err := ParseRequest([]byte(tt.raw), &r, Limits{}); err != nil {
				t.Fatal(err)
			}
			if err := r.CheckBodySize(tt.max); err != tt.want {
				t.Fatalf("CheckBodySize: %v, want %v", err, tt.want)
			}
		})
	}
}

func TestResetReleasesAndReuses(t *testing.T) {
	var r Request
	raw := []byte("GET /x HTTP/1.1\r\nHost: h\r\n\r\n")
	if _, err := ParseRequest(raw, &r, Limits{}); err != nil {
		t.Fatal(err)
	}
	r.Reset()
	if r.Headers != nil || r.Method != nil || r.hb != nil {
		t.Fatalf("Reset left %+v", r)
	}
	// The next parse works from a fresh (pooled) buffer.
	if err := ReadRequest(bufio.NewReader(bytes.NewReader(raw)), &r, Limits{}); err != nil || string(r.Path) != "/x" {
		t.Fatalf("after Reset: %v %q", err, r.Path)
	}
}

func TestAppendHeadRoundTrip(t *testing.T) {
	raw := "GET http://h:1/p?q HTTP/1.1\r\nHost: other\r\nX:  y \r\n\r\n"
	var r Request
	if _, err := ParseRequest([]byte(raw), &r, Limits{}); err != nil {
		t.Fatal(err)
	}
	got := string(r.AppendHead(nil))
	want := "GET http://h:1/p?q HTTP/1.1\r\nHost: h:1\r\nX: y\r\n\r\n"
	if got != want {
		t.Fatalf("AppendHead:\n%q\nwant\n%q", got, want)
	}
}

func TestRequestHeadLen(t *testing.T) {
	const head = "POST /up HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\n"
	tests := []struct {
		name string
		raw  string // head, then a body that must not be counted
	}{
		{"plain", head + "abc"},
		{"after empty lines", "\r\n\r\n" + head + "abc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			readers := map[string]io.Reader{
				"buffered whole": strings.NewReader(tt.raw),
				"byte by byte":   iotest.OneByteReader(strings.NewReader(tt.raw)),
			}
			for how, src := range readers {
				var r Request
				if err := ReadRequest(bufio.NewReaderSize(src, 16), &r, Limits{}); err != nil {
					t.Fatalf("%s: %v", how, err)
				}
				if r.HeadLen != len(head) {
					t.Errorf("%s: ReadRequest HeadLen %d, want %d", how, r.HeadLen, len(head))
				}
				r.Reset()
			}
			var r Request
			if _, err := ParseRequest([]byte(tt.raw), &r, Limits{}); err != nil {
				t.Fatal(err)
			}
			if r.HeadLen != len(head) {
				t.Errorf("ParseRequest HeadLen %d, want %d", r.HeadLen, len(head))
			}
		})
	}
}

func TestRequestRawLineAfterError(t *testing.T) {
	tests := []struct {
		name, raw, line string
		wantErr         bool
		lineParsed      bool // Method, Target and Version are set
	}{
		{"valid", "GET /a HTTP/1.1\r\nHost: h\r\n\r\n", "GET /a HTTP/1.1", false, true},
		{"bad field", "GET /b HTTP/1.1\r\nHost: h\r\nBad Name: x\r\n\r\n", "GET /b HTTP/1.1", true, true},
		{"bad request line", "G@T /c HTTP/1.1\r\nHost: h\r\n\r\n", "G@T /c HTTP/1.1", true, false},
		{"garbage", "HELLO\r\n\r\n", "HELLO", true, false},
		// What arrived of the line, up to its first CR or LF: nginx's
		// $request for a line it could not parse.
		{"bare LF", "HELLO\n\n", "HELLO", true, false},
		{"bare CR", "GET /e\rx HTTP/1.1\r\n\r\n", "GET /e", true, false},
		{"cut short", "GET /d HTT", "GET /d HTT", true, false},
		{"cut short after its CR", "GET /d HTTP/1.1\r", "GET /d HTTP/1.1", true, false},
		{"cut short after empty lines", "\r\n\r\nGE", "GE", true, false},
		{"only empty lines", "\r\n", "", true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r Request
			err := ReadRequest(bufio.NewReader(strings.NewReader(tt.raw)), &r, Limits{})
			if (err != nil) != tt.wantErr {
				t.Fatalf("error %v, want error %v", err, tt.wantErr)
			}
			if got := string(r.RawLine()); got != tt.line {
				t.Errorf("RawLine %q, want %q", got, tt.line)
			}
			if (r.Method != nil) != tt.lineParsed || (r.Version != 0) != tt.lineParsed {
				t.Errorf("Method %q after this error; want it set only when the request line parsed", r.Method)
			}
			r.Reset()
			if r.Raw() != nil || r.RawLine() != nil {
				t.Error("Raw after Reset is not nil")
			}
		})
	}
}

// TestReadRequestRefusedFields checks that a head refused before its end
// keeps the whole field lines that came before the fault (nginx had
// processed them: its log line and msie_padding see them), and none after
// a line it cannot parse.
func TestReadRequestRefusedFields(t *testing.T) {
	lim := Limits{MaxRequestLine: 512, MaxFieldLine: 512, MaxHeaderBytes: 1024}
	big := "X-Big: " + strings.Repeat("a", 600) + "\r\n"
	tests := []struct {
		name, head string
		want       []string // the field names kept
	}{
		{"too long after two", "GET / HTTP/1.1\r\nHost: h\r\nUser-Agent: u\r\n" + big + "\r\n", []string{"Host", "User-Agent"}},
		{"too long first", "GET / HTTP/1.1\r\n" + big + "User-Agent: u\r\n\r\n", nil},
		{"bare LF", "GET / HTTP/1.1\r\nUser-Agent: u\r\nX: y\nZ: z\r\n\r\n", []string{"User-Agent"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var r Request
			err := ReadRequest(bufio.NewReader(strings.NewReader(tc.head)), &r, lim)
			if _, ok := err.(Error); !ok {
				t.Fatalf("err %v, want an Error", err)
			}
			var got []string
			for _, h := range r.Headers {
				got = append(got, string(h.Name))
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("fields %q, want %q", got, tc.want)
			}
		})
	}
}

// waitingReader returns its bytes in one read, then errWaiting: a client
// that sent a request line and nothing more, and waits.
type waitingReader struct{ b []byte }

var errWaiting = errors.New("waiting for the client")

func (w *waitingReader) Read(p []byte) (int, error) {
	if len(w.b) == 0 {
		return 0, errWaiting
	}
	n := copy(p, w.b)
	w.b = w.b[n:]
	return n, nil
}

// TestReadRequestRefusesStartLineAtOnce: a request line that cannot parse is
// refused when its CRLF comes, without waiting for the rest of the head, as
// nginx 1.22.1 answers 400 to "BADREQUEST\r\n" alone (recorded); a valid one
// waits for the head. So is a bare CR in a field line, when the byte after
// it has come.
func TestReadRequestRefusesStartLineAtOnce(t *testing.T) {
	tests := []struct {
		sent string
		want error
	}{
		{"BADREQUEST\r\n", ErrRequestLine},
		{"GET\r\n", ErrRequestLine},
		{"get / HTTP/1.1\r\n", ErrMethod},
		{"BAD REQUEST\r\n", ErrRequestLine},
		{"\r\nGET\r\n", ErrRequestLine},
		{"\ndef", ErrMethod}, // a bare LF before the request line is skipped, as nginx does
		{"GET / HTTP/1.1\r\n", errWaiting},
		{"GET / HTTP/1.1\r\nHost: a\r\n", errWaiting},
		// A field line with a CR followed by another byte than LF is
		// refused when that byte comes, as nginx 1.22.1 answers 400 to
		// "\r\n\rhello" after the last field line at once (recorded
		// with scripts/request-nginx-sweep.py); a CR at the end of what
		// came may still get its LF.
		{"GET / HTTP/1.1\r\nHost: a\r\n\rhello", ErrBareCR},
		{"GET / HTTP/1.1\r\nHost: a\rX-A: b", ErrBareCR},
		{"GET / HTTP/1.1\r\nHost: a\r", errWaiting},
		{"GET / HTTP/1.1\r\nHost: a\r\n\r", errWaiting},
		// So is a request line whose method has a byte nginx does not
		// take, when that byte comes ("def" after a body shorter than
		// its data: nginx's 400 at once).
		{"def", ErrMethod},
		{"get /", ErrMethod},
		{"\x16\x03\x01", ErrMethod},
		{"GET", errWaiting},
		{"GET /a", errWaiting},
		{"\r\nGE", errWaiting},
	}
	for _, tt := range tests {
		t.Run(tt.sent, func(t *testing.T) {
			var r Request
			err := ReadRequest(bufio.NewReader(&waitingReader{[]byte(tt.sent)}), &r, Limits{})
			if !errors.Is(err, tt.want) {
				t.Errorf("ReadRequest(%q) = %v, want %v", tt.sent, err, tt.want)
			}
		})
	}
}

// TestReadRequestStartLineBeforePendingFault: a head that has not ended,
// whose last line is refused before its LF (a bare CR), is refused for its
// request line when that line is bad, as nginx 1.22.1 parses the request
// line first (found by FuzzParseRequest: ReadRequest answered "bare CR").
func TestReadRequestStartLineBeforePendingFault(t *testing.T) {
	tests := []struct {
		name, raw string
		want      error
	}{
		{"bad target", "T / HTTP/ HTTP//1.1\r\nHost: a\r\n\r\"x", ErrTarget},
		{"good line", "GET / HTTP/1.1\r\nHost: a\r\n\r\"x", ErrBareCR},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r Request
			defer r.Reset()
			err := ReadRequest(bufio.NewReader(strings.NewReader(tt.raw)), &r, Limits{})
			if !errors.Is(err, tt.want) {
				t.Fatalf("ReadRequest: %v, want %v", err, tt.want)
			}
		})
	}
}

// TestParseRequestLineMethodFirst: a method byte nginx does not take is
// the line's error wherever its spaces are, as nginx reads the method
// first and ReadRequest refuses it before the line ends (found by
// FuzzParseRequest: a method with such a byte in a line of one space was
// "malformed request line" whole and "invalid method" read in pieces).
func TestParseRequestLineMethodFirst(t *testing.T) {
	tests := []struct {
		line string
		want error
	}{
		{"GE\xd2T HTTP/1.0", ErrMethod},
		{"get", ErrMethod},
		{"GET", ErrRequestLine},
		{"GET HTTP/1.0", ErrRequestLine},
		{" / HTTP/1.1", ErrRequestLine},
	}
	for _, tt := range tests {
		var r Request
		if err := ParseRequestLine([]byte(tt.line), &r); !errors.Is(err, tt.want) {
			t.Errorf("%q: %v, want %v", tt.line, err, tt.want)
		}
	}
}

// TestOddNames: OddNames counts the names with a byte other than a letter,
// a digit, '-' and '_', on the one-pass path (ReadRequest of a plain head)
// and the full one (ParseRequest) alike.
func TestOddNames(t *testing.T) {
	tests := []struct {
		head       string
		odd, under int
	}{
		{"GET / HTTP/1.1\r\nHost: h\r\nX-A-1: 1\r\n\r\n", 0, 0},
		{"GET / HTTP/1.1\r\nHost: h\r\nX_A: 1\r\n\r\n", 0, 1},
		{"GET / HTTP/1.1\r\nHost: h\r\nX.A: 1\r\nX~B: 2\r\nX_C!: 3\r\n\r\n", 3, 1},
		{"GET / HTTP/1.1\r\nHost: h\r\n!#$%&'*+.^`|~: 1\r\n\r\n", 1, 0},
	}
	for _, tt := range tests {
		var quick, full Request
		if err := ReadRequest(bufio.NewReader(strings.NewReader(tt.head)), &quick, Limits{}); err != nil {
			t.Fatalf("%q: %v", tt.head, err)
		}
		if _, err := ParseRequest([]byte(tt.head), &full, Limits{}); err != nil {
			t.Fatalf("%q: %v", tt.head, err)
		}
		for _, r := range []*Request{&quick, &full} {
			if r.OddNames != tt.odd || r.Underscores != tt.under {
				t.Errorf("%q: OddNames %d, Underscores %d; want %d, %d", tt.head, r.OddNames, r.Underscores, tt.odd, tt.under)
			}
		}
	}
}
