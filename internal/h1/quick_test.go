package h1

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
)

// quickLimits are the limits the one-pass parsers are held to the full
// path under: the defaults, the daemon's nginx buffers, and limits small
// enough for the seeds to cross them.
var quickLimits = []Limits{
	{},
	{MaxRequestLine: 8192, MaxFieldLine: 8192, MaxHeaderBytes: 1024 + 4*8192, HeaderBuffer: 1024, LargeBuffers: 4, LargeBufferSize: 8192},
	{MaxRequestLine: 32, MaxFieldLine: 32, MaxHeaderBytes: 96, HeaderBuffer: 40, LargeBuffers: 2, LargeBufferSize: 32},
	{MaxRequestLine: 24, MaxFieldLine: 20, MaxHeaderBytes: 70},
	{MaxHeaders: 2},
	{MaxRequestLine: 4096, MaxFieldLine: 4096, MaxHeaderBytes: 4096}, // the proxy's response limits
}

// quickSeeds are heads for the one-pass parsers: plain ones they take, and
// near misses each of which the full path must decide.
var quickSeeds = []string{
	"GET /small HTTP/1.1\r\nHost: bench\r\nUser-Agent: fixedload\r\nAccept: */*\r\n\r\n",
	"GET /a%20b?c=%zz&d HTTP/1.0\r\nHost: h:80\r\nConnection: keep-alive\r\n\r\n",
	"GET /%zz HTTP/1.1\r\nHost: h\r\n\r\n",
	"GET /a? HTTP/1.1\r\nHost: h\r\nX_Y: 1\r\nx-y:\t v \t\r\n\r\n",
	"POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello",
	"POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello",
	"POST /p HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: h\r\nHost: h\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: h\r\nIf-Match: a\r\nif-match: b\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: h\r\nAuthorization: a\r\nIf-Range: b\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: a..b\r\n\r\n",
	"GET / HTTP/1.1\r\n\r\n",
	"GET / HTTP/1.0\r\n\r\n",
	"GET / HTTP/1.2\r\nHost: h\r\n\r\n",
	"GET / HTTP/1.1 \r\nHost: h\r\n\r\n",
	"GET  / HTTP/1.1\r\nHost: h\r\n\r\n",
	"get / HTTP/1.1\r\nHost: h\r\n\r\n",
	"GET /a b HTTP/1.1\r\nHost: h\r\n\r\n",
	"GET http://h/a HTTP/1.1\r\nHost: x\r\n\r\n",
	"OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n",
	"CONNECT /p HTTP/1.1\r\nHost: h\r\n\r\n",
	"\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: h\r\n X: y\r\n\r\n",
	"GET / HTTP/1.1\r\nHost : h\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: h\r\nX: a\rb\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: h\r\nX: a\x01\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: h\r\nX: \x80\xff\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: h\r\nX\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: h\r\n: x\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: h\nX: y\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: h\r\n\n",
	"GET / HTTP/1.1\r\nHost: h\r\n\r",
	"GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n",
	"GET /a-rather-long-path-for-the-small-limits HTTP/1.1\r\nHost: h\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: h\r\nX-A-Rather-Long-Field: with a long value\r\n\r\n",
	"HTTP/1.1 200 OK\r\nContent-Length: 13\r\nContent-Type: text/plain\r\nDate: Mon, 07 Dec 2026 17:45:36 GMT\r\n\r\nHello, World!",
	"HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n",
	"HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n",
	"HTTP/1.0 404 Not\tFound \x80\r\n\r\nbody",
	"HTTP/1.1 204 No Content\r\nContent-Length: 3\r\n\r\n",
	"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n",
	"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n\r\n",
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
	"HTTP/1.1 200 OK\r\nContent-Length: 1, 1\r\nContent-Length: 1\r\n\r\nx",
	"HTTP/1.1 200 OK\r\nContent-Length: 1,2\r\n\r\nx",
	"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil close",
	"HTTP/1.1 099 OK\r\n\r\n",
	"HTTP/1.1 600 OK\r\n\r\n",
	"HTTP/2.0 200 OK\r\n\r\n",
	"HTTP/1.1 200 OK\rX\r\n\r\n",
	"HTTP/1.1 2000 OK\r\n\r\n",
	"HTTP/1.1  200 OK\r\n\r\n",
	// Longer than quickFirst: taken on the second try, in the whole window.
	"GET / HTTP/1.1\r\nHost: h\r\nCookie: " + strings.Repeat("a=b; ", 300) + "c=d\r\n\r\n",
	"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Long: " + strings.Repeat("v", 1100) + "\r\n\r\nok",
	"GET /" + strings.Repeat("p", 1100) + " HTTP/1.1\r\nHost: h\r\n\r\n",
}

// TestQuickMatchesFull holds the one-pass parsers to the full path on the
// seeds, under every quickLimits.
func TestQuickMatchesFull(t *testing.T) {
	took := 0
	for _, s := range quickSeeds {
		for _, lim := range quickLimits {
			if checkQuick(t, []byte(s), lim, "GET") {
				took++
			}
			checkQuick(t, []byte(s), lim, "HEAD")
			checkQuick(t, []byte(s), lim, "CONNECT")
		}
	}
	if took < len(quickSeeds) {
		t.Errorf("the one-pass parsers took %d heads of %d seeds", took, len(quickSeeds))
	}
	// The plain heads are the one-pass parsers' own, the long ones too.
	for _, s := range append([]string{quickSeeds[0], quickSeeds[38]}, quickSeeds[len(quickSeeds)-3:]...) {
		if !checkQuick(t, []byte(s), Limits{}, "GET") {
			t.Errorf("the one-pass parsers did not take %.60q", s)
		}
	}
}

// FuzzQuick holds the one-pass parsers to the full path.
func FuzzQuick(f *testing.F) {
	for _, s := range quickSeeds {
		f.Add([]byte(s), uint8(0))
	}
	f.Fuzz(func(t *testing.T, data []byte, which uint8) {
		methods := []string{"GET", "HEAD", "CONNECT"}
		checkQuick(t, data, quickLimits[int(which)%len(quickLimits)], methods[int(which/8)%len(methods)])
	})
}

// checkQuick reads data as a request head and as a response head, through
// ReadRequest and ReadResponse and through their full paths alone, and
// fails unless each pair gives the same result. It reports whether a
// one-pass parser took the head.
func checkQuick(t *testing.T, data []byte, lim Limits, method string) bool {
	t.Helper()
	took := false
	{
		var r, full Request
		defer r.Reset()
		defer full.Reset()
		err, rest := readEither(data, func(br *bufio.Reader) error { return ReadRequest(br, &r, lim) })
		ferr, frest := readEither(data, func(br *bufio.Reader) error {
			full.Reset()
			if _, err := br.Peek(1); err != nil {
				return err
			}
			full.hb = getHeadBuf()
			return full.readFull(br, lim.resolved())
		})
		got, want := requestDump(&r, err, rest), requestDump(&full, ferr, frest)
		if got != want {
			t.Fatalf("request %q under %+v:\nReadRequest %s\nfull path   %s", data, lim, got, want)
		}
		took = took || quickTakes(data, func(br *bufio.Reader) bool {
			var q Request
			defer q.Reset()
			q.hb = getHeadBuf()
			l := lim.resolved()
			return q.readQuick(br, &l)
		})
	}
	{
		var r, full Response
		defer r.Reset()
		defer full.Reset()
		err, rest := readEither(data, func(br *bufio.Reader) error { return ReadResponse(br, &r, []byte(method), lim) })
		ferr, frest := readEither(data, func(br *bufio.Reader) error {
			full.Reset()
			if _, err := br.Peek(1); err != nil {
				return err
			}
			full.hb = getHeadBuf()
			return full.readFull(br, []byte(method), lim.resolved())
		})
		got, want := responseDump(&r, err, rest), responseDump(&full, ferr, frest)
		if got != want {
			t.Fatalf("response %q (%s) under %+v:\nReadResponse %s\nfull path    %s", data, method, lim, got, want)
		}
		took = took || quickTakes(data, func(br *bufio.Reader) bool {
			var q Response
			defer q.Reset()
			q.hb = getHeadBuf()
			l := lim.resolved()
			return q.readQuick(br, []byte(method), &l)
		})
	}
	return took
}

// readEither runs read over data and returns its error and what it left.
func readEither(data []byte, read func(*bufio.Reader) error) (error, string) {
	br := bufio.NewReader(bytes.NewReader(data))
	err := read(br)
	rest, _ := io.ReadAll(br)
	return err, string(rest)
}

// quickTakes reports whether a one-pass parser takes the head at the start
// of data.
func quickTakes(data []byte, take func(*bufio.Reader) bool) bool {
	br := bufio.NewReader(bytes.NewReader(data))
	if _, err := br.Peek(1); err != nil {
		return false
	}
	return take(br)
}

// sliceDump shows a slice's bytes, and where in raw it starts when it
// points into raw's array: the two paths must agree on both.
func sliceDump(raw, s []byte) string {
	if s == nil {
		return "nil"
	}
	off := -1
	if len(s) > 0 && cap(raw) > 0 {
		full := raw[:cap(raw)]
		if o := cap(full) - cap(s); o >= 0 && o < len(full) && &full[o] == &s[0] {
			off = o
		}
	}
	return fmt.Sprintf("%q@%d", s, off)
}

func requestDump(r *Request, err error, rest string) string {
	raw := r.Raw()
	var b strings.Builder
	fmt.Fprintf(&b, "err=%v rest=%q raw=%q method=%s target=%s form=%d version=%d path=%s query=%s host=%s",
		err, rest, raw, sliceDump(raw, r.Method), sliceDump(raw, r.Target), r.Form, r.Version,
		sliceDump(raw, r.Path), sliceDump(raw, r.Query), sliceDump(raw, r.Host))
	fmt.Fprintf(&b, " framing=%v cl=%d close=%v upgrade=%v expect=%d underscores=%d odd=%d headlen=%d room=%d over=%+v auth=%s",
		r.Framing, r.ContentLength, r.Close, r.Upgrade, r.Expect, r.Underscores, r.OddNames, r.HeadLen, r.room, r.over, sliceDump(raw, r.auth))
	fmt.Fprintf(&b, " headers=%d[", len(r.Headers))
	for _, h := range r.Headers {
		fmt.Fprintf(&b, "%s:%s ", sliceDump(raw, h.Name), sliceDump(raw, h.Value))
	}
	fmt.Fprintf(&b, "] rawline=%q overflow=%+v", r.RawLine(), r.Overflow())
	return b.String()
}

func responseDump(r *Response, err error, rest string) string {
	raw := r.Raw()
	var b strings.Builder
	fmt.Fprintf(&b, "err=%v rest=%q raw=%q version=%d status=%d reason=%s framing=%v cl=%d close=%v",
		err, rest, raw, r.Version, r.Status, sliceDump(raw, r.Reason), r.Framing, r.ContentLength, r.Close)
	fmt.Fprintf(&b, " headers=%d[", len(r.Headers))
	for _, h := range r.Headers {
		fmt.Fprintf(&b, "%s:%s ", sliceDump(raw, h.Name), sliceDump(raw, h.Value))
	}
	b.WriteString("]")
	return b.String()
}

// TestFieldValueLen checks the eight-byte steps of fieldValueLen against the
// class table.
func TestFieldValueLen(t *testing.T) {
	checkWordSteps(t, "fieldValueLen", fieldValueLen, func(b []byte) int {
		for i, c := range b {
			if charClass[c]&cValue == 0 {
				return i
			}
		}
		return len(b)
	}, wordStepRuns{
		// the bytes around the edges of the class, for the borrows
		// between neighbouring bytes
		edges: []byte{0x00, 0x01, 0x09, 0x0a, 0x0d, 0x1f, 0x20, 0x21, 0x7e, 0x7f, 0x80, 0x81, 0xfe, 0xff},
		inner: func(rng *rand.Rand) byte { return 0x20 + byte(rng.IntN(0x5f)) },
		odds:  3, maxLen: 25, seed: 1,
	})
}

// TestPlainNameLen checks the eight-byte steps of plainNameLen against a
// byte at a time: the run of letters, digits and '-' b starts with, up to
// where fewer than eight bytes are left.
func TestPlainNameLen(t *testing.T) {
	checkWordSteps(t, "plainNameLen", plainNameLen, func(b []byte) int {
		full := len(b) &^ 7
		for i, c := range b[:full] {
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
				return i
			}
		}
		return full
	}, wordStepRuns{
		// the bytes around the edges of the ranges, for the carries
		// between neighbouring bytes
		edges: []byte{0x00, 0x2c, 0x2d, 0x2e, 0x2f, 0x30, 0x39, 0x3a, 0x40, 0x41, 0x5a, 0x5b, 0x5f, 0x60, 0x61, 0x7a, 0x7b, 0x7f, 0x80, 0xc1, 0xda, 0xe1, 0xfa, 0xff},
		inner: func(rng *rand.Rand) byte { return "abcxyzABCXYZ0189-"[rng.IntN(17)] },
		odds:  4, maxLen: 33, seed: 3,
	})
}

// wordStepRuns are checkWordSteps' random runs: up to maxLen bytes each,
// every byte one of edges, or (odds-1 times in odds) one inner gives.
type wordStepRuns struct {
	edges  []byte
	inner  func(*rand.Rand) byte
	odds   int
	maxLen int
	seed   uint64
}

// checkWordSteps holds f, a scan eight bytes a step, to want, its byte at a
// time reference: every byte at every place of a 19-byte run of every
// other byte (the whole run, up to that byte, from it), then 200,000
// random runs.
func checkWordSteps(t *testing.T, name string, f, want func([]byte) int, runs wordStepRuns) {
	t.Helper()
	for fill := 0; fill < 256; fill++ {
		for c := 0; c < 256; c++ {
			for p := 0; p < 19; p++ {
				b := bytes.Repeat([]byte{byte(fill)}, 19)
				b[p] = byte(c)
				for _, s := range [][]byte{b, b[:p+1], b[p:]} {
					if got, w := f(s), want(s); got != w {
						t.Fatalf("%s(%q) = %d, want %d", name, s, got, w)
					}
				}
			}
		}
	}
	rng := rand.New(rand.NewPCG(runs.seed, runs.seed+1))
	for range 200000 {
		b := make([]byte, rng.IntN(runs.maxLen))
		for i := range b {
			b[i] = runs.edges[rng.IntN(len(runs.edges))]
			if rng.IntN(runs.odds) > 0 {
				b[i] = runs.inner(rng)
			}
		}
		if got, w := f(b), want(b); got != w {
			t.Fatalf("%s(%q) = %d, want %d", name, b, got, w)
		}
	}
}
