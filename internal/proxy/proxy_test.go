package proxy

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"testing"

	"fulcrum/internal/config"
	"fulcrum/internal/h1"
	"fulcrum/internal/pcre"
	"fulcrum/internal/vars"
)

func TestURIRewrite(t *testing.T) {
	tests := []struct {
		name            string
		rw              uriRewrite
		raw, path, args string
		want            string
	}{
		{"no uri part: raw uri as received", uriRewrite{}, "/a/%2e%2e/b?x=1", "/b", "x=1", "/a/%2e%2e/b?x=1"},
		{"no uri part: bare question mark as received", uriRewrite{}, "/p?", "/p", "", "/p?"},
		{"prefix replaced", uriRewrite{replace: true, uri: "/api/", prefixLen: len("/v1/")}, "/v1/users", "/v1/users", "", "/api/users"},
		{"query kept byte for byte", uriRewrite{replace: true, uri: "/", prefixLen: len("/p/")}, "/p/x?a=%zz&b", "/p/x", "a=%zz&b", "/x?a=%zz&b"},
		{"rest re-escaped", uriRewrite{replace: true, uri: "/u/", prefixLen: 3}, "/p/a%20b%3F", "/p/a b?", "", "/u/a%20b%3F"},
		// nginx 1.22.1 sends "GET /u" for "GET /p?" (no arguments, no '?').
		{"empty query dropped", uriRewrite{replace: true, uri: "/u", prefixLen: 2}, "/p?", "/p", "", "/u"},
		{"exact location", uriRewrite{replace: true, uri: "/other", prefixLen: len("/exact")}, "/exact", "/exact", "", "/other"},
		// nginx 1.22.1, location /slash/ { proxy_pass http://up/; }, sent upstream:
		{"quote and angle brackets escaped", uriRewrite{replace: true, uri: "/", prefixLen: len("/slash/")}, "/slash/a%22b%3Cc%3E", `/slash/a"b<c>`, "", "/a%22b%3Cc%3E"},
		{"braces, bar, backslash, caret, backquote escaped", uriRewrite{replace: true, uri: "/", prefixLen: len("/slash/")}, "/slash/%7B%7D%7C%5C%5E%60", "/slash/{}|\\^`", "", "/%7B%7D%7C%5C%5E%60"},
		// Without a '%' in the client's path nginx copies the path as it is.
		{"unquoted path passed raw", uriRewrite{replace: true, uri: "/base/", prefixLen: len("/p/")}, "/p/x/../a\"<b>\xc3\xa9?q=%22", "/p/a\"<b>\xc3\xa9", "q=%22", "/base/a\"<b>\xc3\xa9?q=%22"},
		{"a '%' in the query alone leaves the path raw", uriRewrite{replace: true, uri: "/", prefixLen: len("/p/")}, "/p/a{b}?x=%7B", "/p/a{b}", "x=%7B", "/a{b}?x=%7B"},
		{"every printable byte", uriRewrite{replace: true, uri: "/", prefixLen: len("/slash/")}, "/slash/%21", "/slash/!\"#$%&'()*+,-.0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~", "",
			"/!%22%23$%25&'()*+,-.0123456789:;%3C=%3E%3F@ABCDEFGHIJKLMNOPQRSTUVWXYZ[%5C]%5E_%60abcdefghijklmnopqrstuvwxyz%7B%7C%7D~"},
		{"controls, DEL and high bytes", uriRewrite{replace: true, uri: "/", prefixLen: len("/slash/")}, "/slash/%01", "/slash/\x01\t \x7f\x80\xff\xc3\xa9", "", "/%01%09%20%7F%80%FF%C3%A9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.rw.target(tt.raw, tt.path, tt.args); got != tt.want {
				t.Errorf("target = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRewriteRedirect(t *testing.T) {
	c := &vars.Compiler{}
	compile := func(s string) *vars.Template {
		tpl, err := c.Compile(s)
		if err != nil {
			t.Fatal(err)
		}
		return tpl
	}
	defaultRule := []redirectRule{{from: "http://app/one/", to: compile("/two/")}}
	regexRule := []redirectRule{{re: pcre.MustCompile(`^http://([^/:]+):\d+(/.*)$`, false), to: compile("https://$1$2")}}
	tests := []struct {
		name, header, value, want string
		rules                     []redirectRule
	}{
		{"default prefix", "Location", "http://app/one/x?y", "/two/x?y", defaultRule},
		{"no match left alone", "Location", "http://other/one/x", "http://other/one/x", defaultRule},
		{"refresh url part", "Refresh", "5; url=http://app/one/z", "5; url=/two/z", defaultRule},
		{"regex replaces whole value", "Location", "http://host:8080/a/b", "https://host/a/b", regexRule},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := &vars.State{}
			if got, _ := rewriteRedirect(tt.rules, tt.header, tt.value, st); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// TestForwardable: hop-by-hop fields, fields the client's Connection header
// names, Expect, framing fields and fields proxy_set_header sets never go
// upstream, whatever their case; end-to-end fields do. Names with '_' are
// the daemon's business (ignore_invalid_headers drops them before the proxy
// sees the request, unless underscores_in_headers is on or it is off).
func TestForwardable(t *testing.T) {
	h := &Handler{set: &config.Settings{}, ruleNames: []string{"X-Real-Ip"}}
	conn := []string{"keep-alive, X-Secret", "Upgrade"}
	for name, want := range map[string]bool{
		"X-End-To-End": true, "Accept": true,
		"Connection": false, "X-Secret": false, "Keep-Alive": false, "Te": false, "Upgrade": false,
		"Transfer-Encoding": false, "Proxy-Authorization": false, "Trailer": false, "Expect": false,
		"Host": false, "Content-Length": false, "X-Real-Ip": false, "X_Under": true,
		// Names come as the client spelled them.
		"x-end-to-end": true, "connection": false, "x-secret": false, "KEEP-ALIVE": false,
		"proxy-authorization": false, "expect": false, "host": false, "content-length": false,
		"x-real-ip": false, "X-REAL-IP": false,
	} {
		if got := h.forwardable(name, conn); got != want {
			t.Errorf("forwardable(%q) = %v, want %v", name, got, want)
		}
	}
}

// TestBlockSigs: a client field whose foldSig is not in blockSigs is
// forwardable, whatever the case of its name or of the Connection tokens,
// and a Connection token outside ASCII (which strings.EqualFold folds, the
// Kelvin sign to 'k') leaves nothing to the signature.
func TestBlockSigs(t *testing.T) {
	h := &Handler{set: &config.Settings{}, ruleNames: []string{"X-Real-Ip"}}
	names := []string{"Accept", "X-Secret", "x-secret", "Keep", "keep", "Keep-Alive", "kEEP-aLIVE", "X-Real-IP",
		"Host", "Te", "tE", "Upgrade", "Cookie", "User-Agent", "A", "Expect"}
	for _, conn := range [][]string{nil, {"keep-alive, X-Secret", "Upgrade"}, {" , ,x-SECRET ,"}, {"Keep"}, {"close, Keep-alive"}} {
		block := h.blockSigs(conn)
		for _, name := range names {
			if foldSig(name)&block == 0 && !h.forwardable(name, conn) {
				t.Errorf("conn %q: %q passes blockSigs but is not forwardable", conn, name)
			}
		}
	}
}

func TestClassify(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	readTimeout := &net.OpError{Op: "read", Net: "tcp", Err: os.ErrDeadlineExceeded}
	writeTimeout := &net.OpError{Op: "write", Net: "tcp", Err: os.ErrDeadlineExceeded}
	reset := &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}
	tests := []struct {
		name       string
		err        error
		wantStatus int
		wantCond   config.NextUpstream
		wantSent   bool
		wantMsg    string // nginx 1.22.1's error log text
	}{
		{"connect refused", refused, 502, config.NextError, false,
			"connect() failed (111: Connection refused) while connecting to upstream"},
		{"read timeout", readTimeout, 504, config.NextTimeout, true,
			"upstream timed out (110: Connection timed out) while reading response header from upstream"},
		{"send timeout", &sendError{writeTimeout}, 504, config.NextTimeout, true,
			"upstream timed out (110: Connection timed out) while sending request to upstream"},
		{"malformed", errors.New(`net/http: HTTP/1.x transport connection broken: malformed HTTP response "x"`), 502, config.NextInvalidHeader, true,
			"upstream sent invalid header while reading response header from upstream"},
		{"head too large", h1.ErrHeaderTooLarge, 502, config.NextInvalidHeader, true,
			"upstream sent too big header while reading response header from upstream"},
		{"closed early", io.EOF, 502, config.NextError, true,
			"upstream prematurely closed connection while reading response header from upstream"},
		{"closed in the head", io.ErrUnexpectedEOF, 502, config.NextError, true,
			"upstream prematurely closed connection while reading response header from upstream"},
		{"reset", reset, 502, config.NextError, true,
			"recv() failed (104: Connection reset by peer) while reading response header from upstream"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := classify(context.Background(), tt.err)
			if f == nil || f.status != tt.wantStatus || f.cond != tt.wantCond || f.sent != tt.wantSent || f.msg != tt.wantMsg {
				t.Errorf("classify = %+v, want status %d cond %v sent %v msg %q", f, tt.wantStatus, tt.wantCond, tt.wantSent, tt.wantMsg)
			}
		})
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if f := classify(ctx, errors.New("context canceled")); f != nil {
		t.Errorf("a client that went away must not be an upstream failure, got %+v", f)
	}
}

// TestURIRewriteAllocations: the rewritten target costs one allocation, the
// string itself, escaping included.
func TestURIRewriteAllocations(t *testing.T) {
	u := uriRewrite{replace: true, uri: "/api/", prefixLen: len("/v1/")}
	if n := testing.AllocsPerRun(100, func() {
		_ = u.target("/v1/a%20b/%7Bc%7D", "/v1/a b/{c}", "q=1")
	}); n > 1 {
		t.Errorf("%v allocations per rewrite, want 1", n)
	}
}

// TestPassed: the upstream response fields that reach the client as far as
// hop-by-hop rules go. nginx 1.22 passes Trailer with any framing (checked
// against nginx with a Content-Length and a chunked response).
func TestPassed(t *testing.T) {
	h := &Handler{set: &config.Settings{}}
	conn := h1.Header{Name: []byte("Connection"), Value: []byte("X-Secret")}
	tests := []struct {
		name     string
		framing  h1.Framing
		upgraded bool
		want     map[string]bool
	}{
		{"length", h1.LengthBody, false, map[string]bool{
			"Trailer": true, "trailer": true, "X-End": true,
			"Connection": false, "Keep-Alive": false, "X-Secret": false, "Transfer-Encoding": false, "Upgrade": false}},
		{"chunked", h1.ChunkedBody, false, map[string]bool{
			"Trailer": true, "X-End": true, "Keep-Alive": false, "X-Secret": false}},
		{"101", h1.NoBody, true, map[string]bool{
			"Upgrade": true, "X-End": true, "Trailer": false, "Connection": false, "X-Secret": false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			head := &h1.Response{Status: 200, Framing: tt.framing, Headers: h1.Headers{conn}}
			req := &request{}
			req.resp.upgraded = tt.upgraded
			for name, want := range tt.want {
				if got := h.passed(req, head, []byte(name)); got != want {
					t.Errorf("passed(%q) = %v, want %v", name, got, want)
				}
			}
		})
	}
}

// TestHeaderRuleConstant: a proxy_set_header without variables is written
// as one precomputed field, none when its value is empty or holds CR or LF
// (as a value with variables that evaluates so), and a constant Connection
// value listing close asks for the upstream connection's close.
func TestHeaderRuleConstant(t *testing.T) {
	c := &vars.Compiler{}
	for _, tc := range []struct {
		name, value, line string
		constant, closes  bool
	}{
		{"X-A", "1", "X-A: 1\r\n", true, false},
		{"X-A", "", "", true, false},
		{"X-A", "a\r\nb", "", true, false},
		{"X-A", "a\nb", "", true, false},
		{"connection", "upgrade, Close", "connection: upgrade, Close\r\n", true, true},
		{"Connection", "keep-alive", "Connection: keep-alive\r\n", true, false},
		{"X-Closes", "close", "X-Closes: close\r\n", true, false},
		{"Host", "$proxy_host", "", false, false},
	} {
		tm, err := c.Compile(tc.value)
		if err != nil {
			t.Fatal(err)
		}
		r := newHeaderRule(tc.name, tm)
		if r.constant != tc.constant || string(r.line) != tc.line || r.closes != tc.closes {
			t.Errorf("%s: %q: constant %v line %q closes %v, want %v %q %v", tc.name, tc.value,
				r.constant, r.line, r.closes, tc.constant, tc.line, tc.closes)
		}
	}
}

// TestIsEventStream: the type compares without case, spaces and
// parameters; short types are told apart before any trimming.
func TestIsEventStream(t *testing.T) {
	for ct, want := range map[string]bool{
		"text/event-stream": true, " Text/Event-Stream ; charset=utf-8": true, "text/event-stream;": true,
		"": false, "text/plain": false, "text/event-streams": false, "text/event-strea": false,
		"application/json; charset=utf-8": false,
	} {
		if got := isEventStream([]byte(ct)); got != want {
			t.Errorf("isEventStream(%q) = %v, want %v", ct, got, want)
		}
	}
}
