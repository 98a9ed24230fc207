package h1

import (
	"bufio"
)

// Response is a parsed response head from an upstream. Like Request it is
// reused: ReadResponse and ParseResponse fill it in place, Reset empties it,
// and its slices are valid until then.
//
// Any error while reading a response means 502 for the client (if nothing
// was sent yet) and closing the upstream connection without reuse.
type Response struct {
	Version Version
	Status  int    // 100-599
	Reason  []byte // reason-phrase, maybe empty; not to be relied on
	Headers Headers

	// Framing is how the body is delimited, decided with the request method
	// (RFC 9112 section 6.3): NoBody for HEAD, 1xx, 204, 304 and a 2xx to
	// CONNECT (after which the connection is a tunnel), else chunked,
	// Content-Length, or CloseBody.
	Framing Framing
	// ContentLength is the value of the Content-Length field, -1 when there
	// is none. It is set even when Framing is NoBody (HEAD, 304), so it can be
	// forwarded.
	ContentLength int64
	// Close is true when the upstream connection must not be reused after
	// this response: "Connection: close", HTTP/1.0 without keep-alive, or a
	// CloseBody body.
	Close bool
	// Connection is true when the head has a Connection field (whose
	// options Close took).
	Connection bool

	hb *headBuf // pooled storage, nil after Reset
}

// Reset empties r and returns its buffer to the pool.
func (r *Response) Reset() {
	if r.hb != nil {
		putHeadBuf(r.hb, r.Headers)
	}
	*r = Response{}
}

// Informational reports whether r is a 1xx interim response: the final
// response follows on the same connection (read again). Only a 101 ends the
// exchange, and only if CheckUpgrade accepts it.
func (r *Response) Informational() bool { return r.Status >= 100 && r.Status < 200 }

// ReadResponse reads one response head from br into r, replacing its
// contents, and leaves br at the first byte of the body. method is the
// method of the request it answers (HEAD and CONNECT change the framing).
//
// Errors: io.EOF when the upstream closed before sending a byte (an idle
// connection it had closed: the request may be retried on another),
// io.ErrUnexpectedEOF inside a head, the reader's own error, or an Error.
func ReadResponse(br *bufio.Reader, r *Response, method []byte, lim Limits) error {
	r.Reset()
	if _, err := br.Peek(1); err != nil {
		return err
	}
	r.hb = getHeadBuf()
	lim = lim.resolved()
	if r.readQuick(br, method, &lim) {
		return nil
	}
	return r.readFull(br, method, lim)
}

// readFull is ReadResponse's full path, for any head readQuick gave up on:
// r holds an empty head buffer and lim is resolved.
func (r *Response) readFull(br *bufio.Reader, method []byte, lim Limits) error {
	s := headScan{lim: lim, kind: headResponse}
	head, err := readWholeHead(br, r.hb.b, &s)
	r.hb.b = head
	if err != nil {
		return err
	}
	return r.parse(head, method)
}

// Raw returns the head bytes read into r, up to the empty line or as far as
// reading got: after an error too, so that a refused head can be logged with
// its offending bytes. It is valid until Reset.
func (r *Response) Raw() []byte {
	if r.hb == nil {
		return nil
	}
	return r.hb.b
}

// ParseResponse parses the response head at the start of b into r and
// returns the bytes it used; the fields point into b. See ReadResponse.
// Without a whole head it returns ErrIncomplete.
func ParseResponse(b []byte, r *Response, method []byte, lim Limits) (int, error) {
	r.Reset()
	s := headScan{lim: lim.resolved(), kind: headResponse}
	end, _, err := scanHead(b, &s)
	if err != nil {
		return end, err
	}
	r.hb = getHeadBuf()
	return end, r.parse(b[:end], method)
}

// parse fills r from a checked head.
func (r *Response) parse(head, method []byte) error {
	line, rest := cutLine(head)
	if err := r.parseStatusLine(line); err != nil {
		return err
	}
	hs, err := parseFields(r.hb.h, rest)
	r.Headers = hs
	if err != nil {
		return err
	}
	return r.interpret(method)
}

// parseStatusLine parses "HTTP-version SP 3DIGIT SP reason-phrase"
// (RFC 9112 section 4). A missing SP after the code when the reason is
// empty is accepted (it is unambiguous and common). The code must be
// 100-599.
func (r *Response) parseStatusLine(line []byte) error {
	if len(line) < len("HTTP/1.1 200") || line[8] != ' ' {
		return ErrStatusLine
	}
	v, err := parseVersion(line[:8])
	if err != nil {
		if err == ErrVersionNotSupported {
			return err
		}
		return ErrStatusLine
	}
	r.Version = v
	code := 0
	for _, c := range line[9:12] {
		if charClass[c]&cDigit == 0 {
			return ErrStatusLine
		}
		code = code*10 + int(c-'0')
	}
	if code < 100 || code > 599 {
		return ErrStatusLine
	}
	r.Status = code
	rest := line[12:]
	if len(rest) == 0 {
		return nil
	}
	if rest[0] != ' ' {
		return ErrStatusLine
	}
	for _, c := range rest[1:] {
		if charClass[c]&cReason == 0 {
			return ErrStatusLine
		}
	}
	r.Reason = rest[1:]
	return nil
}

// interpret decides Close and the body framing.
func (r *Response) interpret(method []byte) error {
	c := count(r.Headers)
	return r.apply(&c, method)
}

// apply is interpret with the fields already counted.
func (r *Response) apply(c *fieldCounts, method []byte) error {
	s := &c.seen
	var closeTok, keepAlive bool
	r.Connection = s[fieldConnection] > 0
	if r.Connection {
		closeTok, keepAlive, _ = connectionOptions(r.Headers)
	}
	r.Close = closeTok || (r.Version == HTTP10 && !keepAlive)
	return r.resolveFraming(s, c.length, method)
}

// resolveFraming applies RFC 9112 section 6.3 with the policy's rules: both
// Transfer-Encoding and Content-Length, an invalid Content-Length, a
// Transfer-Encoding other than chunked or on HTTP/1.0, and framing fields
// where the status forbids them (1xx, 204, 2xx to CONNECT; RFC 9110
// section 8.6) are errors, not guesses, except a 204's Content-Length: the
// 204 has no body, and the connection closes after it (Close).
func (r *Response) resolveFraming(s *seen, length int, method []byte) error {
	te, cl := s[fieldTransferEncoding] > 0, s[fieldContentLength] > 0
	r.ContentLength = -1
	if te && cl {
		return ErrTEAndCL
	}
	if cl {
		n, err := contentLength(r.Headers, length, s[fieldContentLength])
		if err != nil {
			return err
		}
		r.ContentLength = n
	}
	if te {
		if r.Version == HTTP10 {
			return ErrTransferEncoding
		}
		if err := checkTransferEncoding(r.Headers); err != nil {
			return err
		}
	}
	connect2xx := string(method) == "CONNECT" && r.Status/100 == 2
	if (r.Informational() || r.Status == 204) && te || r.Informational() && r.ContentLength > 0 || connect2xx && (te || cl) {
		return ErrResponseFraming
	}
	if r.Status == 204 && r.ContentLength > 0 {
		// A 204 has no body whatever Content-Length says (Python's
		// http.server sends one when the handler sets it), and nginx passes
		// it on. But the length's bytes may follow: the connection must not
		// carry another response.
		r.Close = true
	}
	switch {
	case string(method) == "HEAD" || r.Informational() || r.Status == 204 || r.Status == 304 || connect2xx:
		r.Framing = NoBody
	case te:
		r.Framing = ChunkedBody
	case cl:
		r.Framing = LengthBody
	default:
		r.Framing, r.Close = CloseBody, true
	}
	return nil
}

// AppendHead appends r as received to dst: status line, every field line,
// empty line.
func (r *Response) AppendHead(dst []byte) []byte {
	return AppendResponseHead(dst, r.Version, r.Status, r.Reason, r.Headers)
}

// CheckUpgrade returns ErrUnrequestedUpgrade when resp is a 101 Switching
// Protocols that req did not ask for: req must be an HTTP/1.1 upgrade
// request (Request.Upgrade) and every protocol in resp's Upgrade field must
// be one req offered (RFC 9110 section 7.8). It returns nil for any other
// status.
func CheckUpgrade(req *Request, resp *Response) error {
	if resp.Status != 101 {
		return nil
	}
	if !req.Upgrade || resp.Version != HTTP11 || !resp.Headers.Has("upgrade") {
		return ErrUnrequestedUpgrade
	}
	n := 0
	for p := range listElems(resp.Headers, "upgrade") {
		if len(p) == 0 {
			continue
		}
		if !offered(req.Headers, p) {
			return ErrUnrequestedUpgrade
		}
		n++
	}
	if n == 0 {
		return ErrUnrequestedUpgrade
	}
	return nil
}

// offered reports whether protocol p is listed in an Upgrade field of hs.
func offered(hs Headers, p []byte) bool {
	for q := range listElems(hs, "upgrade") {
		if equalFoldBytes(p, q) {
			return true
		}
	}
	return false
}
