package h1

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
)

var updateSeeds = flag.Bool("update-seeds", false, "rewrite the seed corpora under testdata/fuzz")

// requestSeeds start FuzzParseRequest (and are checked in under
// testdata/fuzz/FuzzParseRequest).
var requestSeeds = []string{
	"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n",
	"GET /a/b?c=d&e HTTP/1.1\r\nHost: example.com:8080\r\nUser-Agent: x\r\nAccept: */*\r\nConnection: keep-alive\r\n\r\n",
	"GET http://h:1/p?q HTTP/1.1\r\nHost: other\r\n\r\n",
	"GET https://[::1]:443 HTTP/1.1\r\nHost: x\r\n\r\n",
	"OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n",
	"CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n",
	"GET / HTTP/1.0\r\n\r\n",
	"\r\nGET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
	"POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello",
	"POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 5, 5\r\nContent-Length: 5\r\n\r\nhelloGET",
	"POST /p HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTrailer: X-T\r\n\r\n5;a=b\r\nhello\r\n0\r\nX-T: 1\r\nHost: evil\r\n\r\n",
	"POST /p HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n",
	"POST /p HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n",
	"GET / HTTP/1.1\nHost: h\n\n",
	"GET / HTTP/1.1\r\nHost : h\r\n\r\n",
	"GET /%zz HTTP/1.1\r\nHost: h\r\n\r\n",
	"GET /#f HTTP/1.1\r\nHost: h\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: h\r\nPragma: no-cache\r\nX_Y: 1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
	"GET http://[::ffff:1.2.3.4]:/a%00b?x#y HTTP/1.1\r\nHost: [::1]\r\n\r\n",
	"CONNECT [::1]:0443 HTTP/1.0\r\nContent-Length: 0005\r\n\r\nabcde",
	"GET //x/../y? HTTP/1.1\r\nhOsT: a.b-c_d~e!$&'()*+,;=:80\r\nX:\t\r\nY: \x80\xff \r\n\r\n",
	"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTrailer: Content-Length\r\n\r\n0\r\n\r\n",
}

// chunkedSeeds start FuzzChunked.
var chunkedSeeds = []string{
	"0\r\n\r\n",
	"5\r\nhello\r\n0\r\n\r\n",
	"3;a=\"b\\\"c\"\r\nabc\r\nA\r\n0123456789\r\n0\r\nX-Sum: 1\r\nContent-Length: 3\r\n\r\n",
	"0000000000000001\r\nx\r\n0\r\n\r\n",
	"5 \r\nhello\r\n0\r\n\r\n",
	"3\r\nabcd\r\n0\r\n\r\n",
	"3\nabc\n0\n\n",
	"1; a = b ;c\r\nx\r\n0\r\n\r\n",
}

// responseSeeds start FuzzParseResponse.
var responseSeeds = []string{
	"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
	"HTTP/1.1 204 No Content\r\n\r\n",
	"HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n",
	"HTTP/1.0 200 OK\r\n\r\nuntil close",
	"HTTP/1.1 100 Continue\r\n\r\n",
	"HTTP/1.1 200\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
}

// connectionSeeds start FuzzConnectionTokens.
var connectionSeeds = []string{"close", "keep-alive, Upgrade", " a ,, b\t,", "a b, c", "\"q\", x;y=1, close"}

// TestFuzzSeedFiles keeps testdata/fuzz in step with the seed lists: run
// with -update-seeds to rewrite it.
func TestFuzzSeedFiles(t *testing.T) {
	sets := map[string][]string{
		"FuzzParseRequest":     requestSeeds,
		"FuzzChunked":          chunkedSeeds,
		"FuzzParseResponse":    responseSeeds,
		"FuzzConnectionTokens": connectionSeeds,
	}
	for name, seeds := range sets {
		for i, s := range seeds {
			path := filepath.Join("testdata", "fuzz", name, fmt.Sprintf("seed-%02d", i))
			want := "go test fuzz v1\n[]byte(" + strconv.Quote(s) + ")\n"
			if name == "FuzzParseResponse" {
				want = "go test fuzz v1\n[]byte(" + strconv.Quote(s) + ")\nbool(false)\n"
			}
			if *updateSeeds {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			got, err := os.ReadFile(path)
			if err != nil || string(got) != want {
				t.Errorf("%s is missing or stale (run go test -run TestFuzzSeedFiles -update-seeds): %v", path, err)
			}
		}
	}
}

// netHTTPVersion reports whether the request line that starts b ends in a
// version net/http reads: h1 takes nginx's HTTP/1.N with N up to 999
// ("HTTP/1.00", "HTTP/1.2"), a documented leniency net/http does not share,
// so only the re-serialised head is compared then.
func netHTTPVersion(b []byte) bool {
	line, _, _ := bytes.Cut(b, []byte("\r\n"))
	return bytes.HasSuffix(line, []byte(" HTTP/1.1")) || bytes.HasSuffix(line, []byte(" HTTP/1.0"))
}

// defaultReadSize is bufio.Reader's default buffer, the size of ReadRequest's
// first read in FuzzParseRequest.
const defaultReadSize = 4096

// leadingCRLFs returns the length of the empty lines h1 skips before a
// request line: CRLFs, and bare LFs as nginx skips them.
func leadingCRLFs(b []byte) int {
	n := 0
	for {
		switch {
		case bytes.HasPrefix(b[n:], []byte("\r\n")):
			n += 2
		case bytes.HasPrefix(b[n:], []byte("\n")):
			n++
		default:
			return n
		}
	}
}

// fieldSet is a multiset of (lower-case name, value) pairs as sorted lines.
func fieldSet(pairs [][2]string) []string {
	out := make([]string, 0, len(pairs))
	for _, p := range pairs {
		out = append(out, strings.ToLower(p[0])+": "+p[1])
	}
	slices.Sort(out)
	return out
}

// refusedStartLine reports whether err is the error of data's request line
// (after the empty lines a head may start with) on its own: what ReadRequest
// answers when that line cannot parse, at its CRLF.
func refusedStartLine(data []byte, err error) bool {
	rest := data[leadingCRLFs(data):]
	line, _, ok := bytes.Cut(rest, []byte("\r\n"))
	if !ok {
		return false
	}
	var r Request
	lerr := ParseRequestLine(line, &r)
	return lerr != nil && errors.Is(err, lerr)
}

func FuzzParseRequest(f *testing.F) {
	for _, s := range requestSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var r Request
		defer r.Reset()
		n, err := ParseRequest(data, &r, Limits{})
		br := bufio.NewReader(bytes.NewReader(data))
		var r2 Request
		defer r2.Reset()
		err2 := ReadRequest(br, &r2, Limits{})
		switch {
		case err == ErrIncomplete:
			if err2 == io.EOF || err2 == io.ErrUnexpectedEOF {
				return
			}
			// ReadRequest refuses a request line that cannot parse as soon
			// as its CRLF came, as nginx does; ParseRequest, given a head
			// that is not whole yet, waits for the rest.
			if refusedStartLine(data, err2) {
				return
			}
			t.Fatalf("ParseRequest incomplete, ReadRequest %v", err2)
		case err != err2 && err != nil && refusedStartLine(data, err2):
			// A head that did not come in one read (longer than the
			// reader's buffer) has its bad request line refused first, as
			// nginx parses it first; ParseRequest, given the whole head,
			// may name a fault further on (a bare LF). Both refuse it.
			var e Error
			if !errors.As(err, &e) || e.Status() < 400 || !e.Close() {
				t.Fatalf("error %v is not a closing Error", err)
			}
			return
		case err != err2 && err != nil && err2 != nil && len(data) > defaultReadSize:
			// A head longer than the reader's buffer is read in pieces:
			// ReadRequest refuses the first fault its reads meet (a
			// method byte, a bare CR, as nginx does), ParseRequest, given
			// the whole head, the first its line checks meet (a bare LF
			// further on). Both must refuse it and close.
			for _, e := range []error{err, err2} {
				var he Error
				if !errors.As(e, &he) || he.Status() < 400 || !he.Close() {
					t.Fatalf("error %v is not a closing Error", e)
				}
			}
			return
		case err != err2:
			t.Fatalf("ParseRequest %v, ReadRequest %v", err, err2)
		case err != nil:
			var e Error
			if !errors.As(err, &e) || e.Status() < 400 || !e.Close() {
				t.Fatalf("error %v is not a closing Error", err)
			}
			return
		}
		if viewOf(&r) != viewOf(&r2) {
			t.Fatalf("ParseRequest %+v\nReadRequest %+v", viewOf(&r), viewOf(&r2))
		}
		ours := readOurBody(br, &r2)
		// Both entry points end the head at the same byte.
		br3 := bufio.NewReaderSize(bytes.NewReader(data), 16)
		var r3 Request
		defer r3.Reset()
		if err := ReadRequest(br3, &r3, Limits{}); err != nil {
			t.Fatalf("small buffer: %v", err)
		}
		if left, _ := io.ReadAll(br3); !bytes.Equal(left, data[n:]) {
			t.Fatalf("ReadRequest left %q, ParseRequest used %d bytes", left, n)
		}

		// h1 accepted: net/http must accept the same message with the same
		// meaning. A Content-Length list ("5, 5") is a documented
		// leniency net/http does not share, so only the re-serialised
		// head (one Content-Length) is compared then.
		rest := data[n:]
		if !hasLengthList(&r) && netHTTPVersion(data[leadingCRLFs(data):]) {
			compareWithNetHTTP(t, "raw", &r, data[leadingCRLFs(data):], ours)
		}
		head := appendCanonicalHead(nil, &r)
		compareWithNetHTTP(t, "re-serialised", &r, append(head, rest...), ours)
	})
}

// bodyResult is what h1 read from a body.
type bodyResult struct {
	data     []byte
	err      error
	trailers Headers
	rest     []byte // bytes left on the connection after the body
}

func readOurBody(br *bufio.Reader, r *Request) bodyResult {
	var b Body
	if err := b.Reset(br, r.Framing, r.ContentLength, BodyLimits{}); err != nil {
		return bodyResult{err: err}
	}
	data, err := io.ReadAll(&b)
	res := bodyResult{data: data, err: err}
	if err == nil {
		res.trailers = slices.Clone(b.Trailers())
		res.rest, _ = io.ReadAll(br)
	}
	return res
}

// hasLengthList reports whether a Content-Length field holds a list.
func hasLengthList(r *Request) bool {
	for v := range r.Headers.Values("content-length") {
		if bytes.IndexByte(v, ',') >= 0 {
			return true
		}
	}
	return false
}

// appendCanonicalHead serialises r with its Content-Length fields collapsed
// to one, as the engine would forward it.
func appendCanonicalHead(dst []byte, r *Request) []byte {
	dst = AppendRequestLine(dst, r.Method, r.Target, r.Version)
	for _, h := range r.Headers {
		if !equalFold(h.Name, "content-length") {
			dst = AppendHeader(dst, h.Name, h.Value)
		}
	}
	if r.Framing == LengthBody {
		dst = AppendContentLength(dst, r.ContentLength)
	}
	return append(dst, '\r', '\n')
}

func compareWithNetHTTP(t *testing.T, what string, r *Request, input []byte, ours bodyResult) {
	t.Helper()
	br := bufio.NewReader(bytes.NewReader(input))
	req, err := http.ReadRequest(br)
	if err != nil {
		t.Fatalf("%s: h1 accepted, net/http rejected: %v\ninput %q", what, err, input)
	}
	check := func(field string, got, want any) {
		t.Helper()
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("%s: %s: net/http %q, h1 %q\ninput %q", what, field, got, want, input)
		}
	}
	check("method", req.Method, string(r.Method))
	check("target", req.RequestURI, string(r.Target))
	check("version", req.ProtoMinor, map[Version]int{HTTP10: 0, HTTP11: 1}[r.Version])
	check("host", req.Host, string(r.Host))
	check("close", req.Close, r.Close)
	if r.Form == OriginForm || r.Form == AbsoluteForm {
		check("query", req.URL.RawQuery, string(r.Query))
	}

	// Fields, except those net/http moves out of Header or rewrites.
	skip := func(name []byte) bool {
		return equalFold(name, "host") || equalFold(name, "content-length") ||
			equalFold(name, "transfer-encoding") ||
			(r.Framing == ChunkedBody && equalFold(name, "trailer"))
	}
	var mine, theirs [][2]string
	for _, h := range r.Headers {
		if !skip(h.Name) {
			mine = append(mine, [2]string{string(h.Name), string(h.Value)})
		}
	}
	for k, vs := range req.Header {
		if skip([]byte(k)) || (strings.EqualFold(k, "cache-control") && !r.Headers.Has("cache-control")) {
			continue // net/http adds Cache-Control for Pragma: no-cache
		}
		for _, v := range vs {
			theirs = append(theirs, [2]string{k, v})
		}
	}
	check("fields", fieldSet(theirs), fieldSet(mine))

	// Framing.
	switch r.Framing {
	case NoBody:
		check("framing", fmt.Sprint(req.ContentLength, req.TransferEncoding), "0 []")
	case LengthBody:
		check("framing", fmt.Sprint(req.ContentLength, req.TransferEncoding), fmt.Sprint(r.ContentLength, " []"))
	case ChunkedBody:
		check("framing", fmt.Sprint(req.ContentLength, req.TransferEncoding), "-1 [chunked]")
	}

	// Body: what h1 read completely, net/http reads the same, and both leave
	// the connection at the same byte.
	if ours.err != nil {
		return
	}
	theirBody, err := io.ReadAll(req.Body)
	if err != nil {
		t.Fatalf("%s: h1 read the body, net/http failed: %v\ninput %q", what, err, input)
	}
	check("body", string(theirBody), string(ours.data))
	theirRest, _ := io.ReadAll(br)
	check("bytes after the body", string(theirRest), string(ours.rest))
	for _, h := range ours.trailers {
		if !slices.Contains(req.Trailer.Values(string(h.Name)), string(h.Value)) {
			t.Fatalf("%s: trailer %s: %s kept by h1, net/http has %q\ninput %q", what, h.Name, h.Value, req.Trailer, input)
		}
	}
}

func FuzzChunked(f *testing.F) {
	for _, s := range chunkedSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		br := bufio.NewReader(bytes.NewReader(data))
		var c ChunkedReader
		c.Reset(br, BodyLimits{})
		got, err := io.ReadAll(struct{ io.Reader }{&c})
		var trailers Headers
		if err == nil {
			trailers = slices.Clone(c.Trailers())
		}
		rest, _ := io.ReadAll(br)

		// WriteTo decodes the same.
		var c2 ChunkedReader
		c2.Reset(bufio.NewReader(bytes.NewReader(data)), BodyLimits{})
		var out bytes.Buffer
		_, err2 := c2.WriteTo(&out)
		if err2 != err || (err == nil && !bytes.Equal(out.Bytes(), got)) {
			t.Fatalf("WriteTo %q %v, Read %q %v", out.Bytes(), err2, got, err)
		}

		// Bytes that come one at a time decode the same, and fail where
		// the whole input fails (a size line may fail at its first bad
		// byte, before its end says which fault the whole line has).
		var c4 ChunkedReader
		c4.Reset(bufio.NewReader(iotest.OneByteReader(bytes.NewReader(data))), BodyLimits{})
		slow, err4 := io.ReadAll(struct{ io.Reader }{&c4})
		if (err4 == nil) != (err == nil) || err == nil && !bytes.Equal(slow, got) {
			t.Fatalf("byte by byte %q %v, whole %q %v\ninput %q", slow, err4, got, err, data)
		}
		// ReadBuffered, with the input buffered and a source that must not
		// be read again, decodes a prefix of it and ends as Read does when
		// it ends at all.
		bbr := bufio.NewReaderSize(&noSecondRead{t: t, data: data}, max(16, len(data)))
		if len(data) > 0 {
			if _, perr := bbr.Peek(len(data)); perr != nil {
				t.Fatal(perr)
			}
		}
		var c5 ChunkedReader
		c5.Reset(bbr, BodyLimits{})
		var buffered []byte
		p := make([]byte, 7)
		for {
			n, berr := c5.ReadBuffered(p)
			buffered = append(buffered, p[:n]...)
			if berr == io.EOF && err != nil || berr != nil && berr != io.EOF && err == nil {
				t.Fatalf("ReadBuffered ends with %v, Read with %v\ninput %q", berr, err, data)
			}
			if berr != nil || n == 0 {
				break
			}
		}
		if !bytes.HasPrefix(got, buffered) {
			t.Fatalf("ReadBuffered %q, Read %q\ninput %q", buffered, got, data)
		}
		if err != nil {
			var e Error
			if !errors.As(err, &e) && err != io.ErrUnexpectedEOF {
				t.Fatalf("unexpected error type %T %v", err, err)
			}
			return
		}

		// Accepted: net/http's chunked reader decodes the same bytes, the
		// same trailers, and stops at the same place.
		head := "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
		gbr := bufio.NewReader(io.MultiReader(strings.NewReader(head), bytes.NewReader(data)))
		req, gerr := http.ReadRequest(gbr)
		if gerr != nil {
			t.Fatal(gerr)
		}
		theirs, gerr := io.ReadAll(req.Body)
		if gerr != nil {
			t.Fatalf("h1 decoded %q, net/http failed: %v\ninput %q", got, gerr, data)
		}
		if !bytes.Equal(theirs, got) {
			t.Fatalf("net/http %q, h1 %q\ninput %q", theirs, got, data)
		}
		theirRest, _ := io.ReadAll(gbr)
		if !bytes.Equal(theirRest, rest) {
			t.Fatalf("left after body: net/http %q, h1 %q\ninput %q", theirRest, rest, data)
		}
		for _, h := range trailers {
			if !slices.Contains(req.Trailer.Values(string(h.Name)), string(h.Value)) {
				t.Fatalf("trailer %s: %s not in net/http's %q", h.Name, h.Value, req.Trailer)
			}
		}

		// Re-encoding with ChunkedWriter round-trips.
		var enc bytes.Buffer
		var w ChunkedWriter
		w.Reset(&enc)
		w.Write(got)
		w.Finish(trailers)
		var c3 ChunkedReader
		c3.Reset(bufio.NewReader(&enc), BodyLimits{KeepUnderscoreTrailers: true})
		again, err := io.ReadAll(&c3)
		if err != nil || !bytes.Equal(again, got) || len(c3.Trailers()) != len(trailers) {
			t.Fatalf("round trip: %q %v trailers %d/%d", again, err, len(c3.Trailers()), len(trailers))
		}
	})
}

func FuzzParseResponse(f *testing.F) {
	for _, s := range responseSeeds {
		f.Add([]byte(s), false)
	}
	f.Fuzz(func(t *testing.T, data []byte, head bool) {
		method := "GET"
		if head {
			method = "HEAD"
		}
		var r Response
		defer r.Reset()
		_, err := ParseResponse(data, &r, []byte(method), Limits{})
		br := bufio.NewReader(bytes.NewReader(data))
		var r2 Response
		defer r2.Reset()
		err2 := ReadResponse(br, &r2, []byte(method), Limits{})
		switch {
		case err == ErrIncomplete:
			if err2 != io.EOF && err2 != io.ErrUnexpectedEOF {
				t.Fatalf("ParseResponse incomplete, ReadResponse %v", err2)
			}
			return
		case err != err2:
			t.Fatalf("ParseResponse %v, ReadResponse %v", err, err2)
		case err != nil:
			return
		}
		var body Body
		if err := body.Reset(br, r2.Framing, r2.ContentLength, BodyLimits{}); err != nil {
			t.Fatal(err)
		}
		ours, ourErr := io.ReadAll(&body)
		ourRest, _ := io.ReadAll(br)

		gbr := bufio.NewReader(bytes.NewReader(data))
		resp, gerr := http.ReadResponse(gbr, &http.Request{Method: method})
		if gerr != nil {
			t.Fatalf("h1 accepted, net/http rejected: %v\ninput %q", gerr, data)
		}
		if resp.StatusCode != r.Status || resp.ProtoMinor != map[Version]int{HTTP10: 0, HTTP11: 1}[r.Version] {
			t.Fatalf("status/version: net/http %d 1.%d, h1 %d %v", resp.StatusCode, resp.ProtoMinor, r.Status, r.Version)
		}
		// On purpose, h1 closes after a 204 with a Content-Length above 0
		// (resolveFraming: the length's bytes may follow); net/http keeps
		// the connection.
		on204 := r.Status == 204 && r.ContentLength > 0 && r.Close
		if resp.Close != r.Close && !on204 {
			t.Fatalf("close: net/http %v, h1 %v\ninput %q", resp.Close, r.Close, data)
		}
		switch r.Framing {
		case LengthBody:
			if resp.ContentLength != r.ContentLength {
				t.Fatalf("length: net/http %d, h1 %d", resp.ContentLength, r.ContentLength)
			}
		case ChunkedBody:
			if !slices.Equal(resp.TransferEncoding, []string{"chunked"}) {
				t.Fatalf("net/http framing %v, h1 chunked", resp.TransferEncoding)
			}
		}
		if ourErr != nil {
			return
		}
		theirs, gerr := io.ReadAll(resp.Body)
		if gerr != nil || !bytes.Equal(theirs, ours) {
			t.Fatalf("body: net/http %q %v, h1 %q\ninput %q", theirs, gerr, ours, data)
		}
		if r.Framing != CloseBody {
			theirRest, _ := io.ReadAll(gbr)
			if !bytes.Equal(theirRest, ourRest) {
				t.Fatalf("left after body: net/http %q, h1 %q\ninput %q", theirRest, ourRest, data)
			}
		}
	})
}

// isTcharRef is an independent tchar check for the reference tokenizer.
func isTcharRef(c rune) bool {
	return c < 0x80 && (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		strings.ContainsRune("!#$%&'*+-.^_`|~", c))
}

func FuzzConnectionTokens(f *testing.F) {
	for _, s := range connectionSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var got []string
		for tok := range ConnectionTokens(data) {
			got = append(got, string(tok))
		}
		// Reference: split, trim SP/HTAB, keep non-empty tokens.
		var want []string
		for _, e := range strings.Split(string(data), ",") {
			e = strings.Trim(e, " \t")
			if e != "" && !strings.ContainsFunc(e, func(c rune) bool { return !isTcharRef(c) }) {
				want = append(want, e)
			}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("tokens %q, reference %q", got, want)
		}
		for _, tok := range got {
			if !HasToken(data, strings.ToUpper(tok)) {
				t.Fatalf("HasToken misses %q", tok)
			}
		}
		// As a Connection field, "close" means the same to h1 and net/http.
		raw := "GET / HTTP/1.1\r\nHost: h\r\nConnection: " + string(data) + "\r\n\r\n"
		var r Request
		defer r.Reset()
		if _, err := ParseRequest([]byte(raw), &r, Limits{}); err != nil {
			return
		}
		req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
		if err != nil {
			t.Fatalf("net/http rejected %q: %v", raw, err)
		}
		if req.Close != r.Close || r.Close != HasToken(data, "close") {
			t.Fatalf("close: net/http %v, h1 %v, HasToken %v", req.Close, r.Close, HasToken(data, "close"))
		}
	})
}

// noSecondRead is a source that gives its data in one read and fails the
// test when it is read again: what ReadBuffered must never do.
type noSecondRead struct {
	t    *testing.T
	data []byte
	done bool
}

func (r *noSecondRead) Read(p []byte) (int, error) {
	if r.done {
		r.t.Fatal("ReadBuffered read from the source")
	}
	r.done = true
	return copy(p, r.data), nil
}
