package h1

import (
	"bufio"
	"bytes"
	"net/netip"
)

// Version is the HTTP version of a message. The zero value is invalid.
type Version uint8

// The versions fulcrum speaks on the wire.
const (
	HTTP10 Version = 1 // HTTP/1.0
	HTTP11 Version = 2 // HTTP/1.1
)

// String returns "HTTP/1.0" or "HTTP/1.1" ("HTTP/?" for the zero value).
func (v Version) String() string {
	switch v {
	case HTTP10:
		return "HTTP/1.0"
	case HTTP11:
		return "HTTP/1.1"
	}
	return "HTTP/?"
}

// TargetForm is the form of a request-target (RFC 9112 section 3.2).
type TargetForm uint8

// The four request-target forms.
const (
	OriginForm    TargetForm = iota + 1 // "/path?query"
	AbsoluteForm                        // "http://authority/path?query"
	AuthorityForm                       // "host:port", CONNECT only
	AsteriskForm                        // "*", OPTIONS only
)

// Expect is what a request's Expect field asks for (RFC 9110 section 10.1.1).
type Expect uint8

// Expectations. fulcrum handles Expect itself and never forwards it
// (http-hardening.md): 100-continue is honoured, anything else gets 417.
const (
	ExpectNone        Expect = iota // no Expect field, or an HTTP/1.0 request (which must ignore it)
	ExpectContinue                  // exactly "100-continue"
	ExpectUnsupported               // any other expectation: answer 417
)

// Framing says how a message body is delimited (RFC 9112 section 6).
type Framing uint8

// Body framings.
const (
	NoBody      Framing = iota // no body
	LengthBody                 // exactly ContentLength bytes (maybe 0)
	ChunkedBody                // chunked transfer coding
	CloseBody                  // responses only: the body runs until the upstream closes
)

// String names the framing for logs and test failures.
func (f Framing) String() string {
	switch f {
	case NoBody:
		return "none"
	case LengthBody:
		return "length"
	case ChunkedBody:
		return "chunked"
	case CloseBody:
		return "close"
	}
	return "invalid"
}

// Request is a parsed request head. It is reused across requests: ReadRequest
// and ParseRequest fill it in place and Reset empties it. Every byte slice
// points into one buffer owned by the Request (ReadRequest) or into the
// caller's slice (ParseRequest) and stays valid until the next Reset, read or
// parse. Callers read the fields; only the parser writes them, except
// through DropUnderscored.
type Request struct {
	Method  []byte     // method token, case-sensitive ("GET")
	Target  []byte     // request-target exactly as received
	Form    TargetForm // form of Target
	Version Version

	// Path is the path of an origin-form or absolute-form target, without
	// the query; "/" for an absolute-form target with an empty path; "*" for
	// asterisk-form; nil for authority-form. Not decoded or normalised.
	Path []byte
	// Query is the part after the first '?', nil when the target has no
	// '?' and empty (non-nil) when it ends in one, so that it can be
	// forwarded byte for byte.
	Query []byte

	// Headers holds every field line in order. In absolute-form and
	// authority-form the Host field's value has been replaced by the target's
	// authority, so forwarding Headers forwards the host the request was
	// routed by (RFC 9112 section 3.2.2).
	Headers Headers

	// Host is the host the request is for: the target's authority in
	// absolute-form and authority-form, else the Host field. Empty only for
	// an HTTP/1.0 request without either. Validated as uri-host [":" port],
	// not lower-cased.
	Host []byte

	Framing Framing
	// ContentLength is the body length for LengthBody, 0 for NoBody and -1
	// for ChunkedBody.
	ContentLength int64

	// Close is true when the connection must close after this exchange:
	// "Connection: close", or HTTP/1.0 without "Connection: keep-alive".
	Close bool
	// Upgrade is true when an HTTP/1.1 request has both an Upgrade field and
	// the "upgrade" Connection option: only then may a 101 be relayed
	// (see CheckUpgrade).
	Upgrade bool
	// Expect is the request's expectation.
	Expect Expect
	// Underscores counts field lines whose name contains '_'. They take no
	// part in framing or routing; drop them with DropUnderscored unless
	// underscores_in_headers is on.
	Underscores int
	// OddNames counts field lines whose name holds a byte other than a
	// letter, a digit, '-' or '_': names nginx calls invalid whatever
	// underscores_in_headers says (ignore_invalid_headers). With
	// Underscores, it tells a reader that every name is plain without a
	// look at one. DropUnderscored leaves it as it is.
	OddNames int

	// HeadLen is the head's length in bytes as received, from the request
	// line to the empty line that ends the head ($request_length's part).
	HeadLen int

	auth  []byte   // authority of an absolute-form or authority-form target
	hb    *headBuf // pooled storage, nil after Reset
	slash [1]byte  // backing for Path "/" of an absolute-form target without a path
	// over locates in hb.b what Overflow returns; prev is -1 for none.
	// int32s (a head is far below 2 GiB), with room, so that a
	// clientConn, which holds a Request, stays in its size class.
	over struct{ held, heldLen, prev int32 }
	// room is BufferRoom's value.
	room int32
}

// BufferRoom is, for a head ReadRequest read under Limits.HeaderBuffer, the
// room left after it in the nginx header buffer where it ended (the first
// buffer, or the large buffer its last line was moved to): at most this
// many body bytes come with the head in nginx, which reads into that
// buffer's free space, and its body filter takes them first (its
// "preread"). Zero without HeaderBuffer.
func (r *Request) BufferRoom() int { return int(r.room) }

// Overflow is what nginx's header buffers held of a request head refused
// under Limits.HeaderBuffer (ErrURITooLong or ErrHeaderTooLarge), for the
// error line nginx writes: Held is the part of the refused line in the
// buffer that could not take it (the request line for ErrURITooLong),
// empty when the line began exactly at a buffer's end; Prev is then the
// last field line read, CRLF included, nil when none was.
type Overflow struct {
	Held, Prev []byte
}

// Overflow returns what nginx's buffers held of a refused head (see
// Overflow); zero for any other outcome. Valid until Reset.
func (r *Request) Overflow() Overflow {
	b := r.Raw()
	held, heldLen, prev := int(r.over.held), int(r.over.heldLen), int(r.over.prev)
	if heldLen == 0 || held > len(b) {
		return Overflow{}
	}
	var ov Overflow
	if heldLen > 0 {
		ov.Held = b[held:min(held+heldLen, len(b))]
	} else if prev >= 0 && prev < held {
		ov.Prev = b[prev:held]
	}
	return ov
}

// Reset empties r and returns its buffer to the pool. Slices taken from r
// are invalid afterwards.
func (r *Request) Reset() {
	if r.hb != nil {
		putHeadBuf(r.hb, r.Headers)
	}
	*r = Request{}
}

// Raw returns the head bytes read into r, up to the empty line or as far as
// reading got: after an error too, so that a refused request can be logged
// with its request line. It is valid until Reset.
func (r *Request) Raw() []byte {
	if r.hb == nil {
		return nil
	}
	return r.hb.b
}

// RawLine returns the request line as received, up to its first CR or LF:
// for a head cut short or refused, what arrived of its first line (empty when
// nothing did), as nginx's $request is for a line it could not parse.
func (r *Request) RawLine() []byte {
	b := r.Raw()
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		b = b[:i]
	}
	if i := bytes.IndexByte(b, '\r'); i >= 0 {
		b = b[:i]
	}
	return b
}

// ReadRequest reads one request head from br into r, replacing its contents,
// and leaves br at the first byte of the body. It waits for the first byte
// before taking a buffer from the pool, so an idle keep-alive connection
// holds none. Empty lines before the request line are skipped (RFC 9112
// section 2.2).
//
// Errors: io.EOF when the connection ends before a request starts (a clean
// close), io.ErrUnexpectedEOF inside a head, the reader's own error (such as
// a timeout), or an Error to answer with its status before closing.
func ReadRequest(br *bufio.Reader, r *Request, lim Limits) error {
	r.Reset()
	if _, err := br.Peek(1); err != nil {
		return err
	}
	r.hb = getHeadBuf()
	lim = lim.resolved()
	if r.readQuick(br, &lim) {
		return nil
	}
	return r.readFull(br, lim)
}

// readFull is ReadRequest's full path, for any head readQuick gave up on:
// r holds an empty head buffer and lim is resolved.
func (r *Request) readFull(br *bufio.Reader, lim Limits) error {
	s := headScan{lim: lim, kind: headRequest, prevKept: -1}
	head, err := readWholeHead(br, r.hb.b, &s)
	r.hb.b = head
	if err != nil {
		if _, refused := err.(Error); refused {
			r.Headers = arrivedFields(r.hb.h, head[:min(s.kept, len(head))])
		}
		if s.overflow {
			// heldLen -1: the line began at the buffer's end.
			r.over.held, r.over.heldLen, r.over.prev = int32(s.kept), int32(s.held), int32(s.prevKept)
			if s.held == 0 {
				r.over.heldLen = -1
			}
		}
		return err
	}
	r.HeadLen = len(head)
	if s.lim.HeaderBuffer > 0 {
		r.room = int32(max(s.bufEnd-s.total, 0))
	}
	return r.parse(head)
}

// ArrivedHeaders parses the whole field lines of a head cut short (a close,
// a reset, a timeout), which ReadRequest leaves out of Headers: nginx
// names the Host among them in its error line, but logs the request in
// the default server's access log.
func (r *Request) ArrivedHeaders() Headers {
	return arrivedFields(nil, r.Raw())
}

// arrivedFields parses the whole field lines at the start of a head that
// was refused before it was read to its end (a line over its limit, a bare
// LF) or cut short (a close, a timeout), up to the first line it cannot take: nginx had processed them when
// it gave up, so they are the request's fields for the refusal's log line
// ($http_NAME) and page (a User-Agent decides msie_padding). head holds the
// lines the limits accepted (headScan.kept), so the refused line is not
// among them. The request line is left alone.
func arrivedFields(dst Headers, head []byte) Headers {
	i := bytes.IndexByte(head, '\n')
	if i < 0 {
		return dst
	}
	rest := head[i+1:]
	for {
		i := bytes.IndexByte(rest, '\n')
		if i < 1 || rest[i-1] != '\r' || bytes.IndexByte(rest[:i-1], '\r') >= 0 {
			return dst
		}
		line := rest[:i-1]
		rest = rest[i+1:]
		if len(line) == 0 {
			return dst
		}
		h, err := parseFieldLine(line, len(dst) == 0)
		if err != nil {
			return dst
		}
		dst = append(dst, h)
	}
}

// ParseRequest parses the request head at the start of b into r. It returns
// the number of bytes the head used (the body, if any, starts there). The
// fields of r point into b. Without a whole head in b it returns
// ErrIncomplete (or a limit error once b is already over a limit).
func ParseRequest(b []byte, r *Request, lim Limits) (int, error) {
	r.Reset()
	s := headScan{lim: lim.resolved(), kind: headRequest}
	end, start, err := scanHead(b, &s)
	if err != nil {
		return end, err
	}
	r.hb = getHeadBuf()
	r.HeadLen = end - start
	return end, r.parse(b[start:end])
}

// parse fills r from a checked head.
func (r *Request) parse(head []byte) error {
	line, rest := cutLine(head)
	if err := r.parseRequestLine(line); err != nil {
		// Nothing of a refused request line is kept: Method, Target and
		// Version are set only for a line that parsed (the fields after
		// it may still be refused).
		r.Method, r.Target, r.Version = nil, nil, 0
		return err
	}
	hs, err := parseFields(r.hb.h, rest)
	r.Headers = hs
	if err != nil {
		return err
	}
	return r.interpret()
}

// ParseRequestLine parses a request line alone (without its line ending)
// into r's Method, Target, Version and target parts, as ReadRequest would:
// for logging a request whose head never arrived whole. r should be
// otherwise empty; its fields point into line.
func ParseRequestLine(line []byte, r *Request) error {
	if err := r.parseRequestLine(line); err != nil {
		r.Method, r.Target, r.Version = nil, nil, 0
		return err
	}
	return nil
}

// RequestLineFaultWithin reports whether nginx's request line parser,
// which reads a line left to right as it arrives, refuses line (without its
// line ending) within its first n bytes: whether line[:n] already holds the
// byte it fails at, in the method, the target, or the start of the version.
// A line that fits in n bytes is refused within them if at all. Faults that
// nginx finds only once the line has ended (a bad %-escape, an empty host:
// ErrTargetEscape, ErrTargetHost) are not within n. It is meant for
// logging a refused request line, not for the request path.
func RequestLineFaultWithin(line []byte, n int) bool {
	if len(line) <= n {
		return true
	}
	p := line[:n]
	sp1 := bytes.IndexByte(p, ' ')
	if sp1 < 0 {
		return !validMethod(p) // cut in the method
	}
	if !validMethod(p[:sp1]) {
		return true
	}
	// The target, up to the cut or its end, followed by a good version:
	// refused when it is.
	end := n
	if sp2 := bytes.IndexByte(p[sp1+1:], ' '); sp2 >= 0 {
		end = sp1 + 1 + sp2
	}
	var r Request
	err := ParseRequestLine(append(p[:end:end], " HTTP/1.1"...), &r)
	if err != nil && err != ErrTargetEscape && err != ErrTargetHost {
		return true
	}
	if end == n {
		return false // cut in the target
	}
	// Cut in the version: refused when what came cannot begin one.
	v := p[end+1:]
	const name = "HTTP/"
	for i, c := range v {
		switch {
		case i < len(name):
			if c != name[i] {
				return true
			}
		case charClass[c]&cDigit == 0 && c != '.':
			return true
		}
	}
	return false
}

// parseRequestLine parses "method SP request-target SP HTTP-version"
// (RFC 9112 section 3): single spaces, nothing else.
func (r *Request) parseRequestLine(line []byte) error {
	sp1 := bytes.IndexByte(line, ' ')
	sp2 := bytes.LastIndexByte(line, ' ')
	// A method byte nginx does not take is its error wherever the line's
	// spaces are: nginx refuses it as it reads it (ReadRequest's
	// pendingMethodFault does the same before the line ends).
	if method := line[:max(sp1, 0)]; sp1 < 0 && len(line) > 0 {
		if !validMethod(line) {
			return ErrMethod
		}
	} else if len(method) > 0 && !validMethod(method) {
		return ErrMethod
	}
	if sp1 <= 0 || sp2 == sp1 {
		return ErrRequestLine
	}
	// nginx's request line parser reads left to right: the method, the
	// target, then the version; its URI parser (a bad %-escape) and host
	// check (an empty host) come after the whole line (recorded with scripts/request-nginx-sweep.py: "DELETE
	// http:h/a HTTP/3.0" is a 400 for the target, not a 505).
	r.Method = line[:sp1]
	if !validMethod(r.Method) {
		return ErrMethod
	}
	r.Target = line[sp1+1 : sp2]
	if len(r.Target) == 0 {
		return ErrRequestLine
	}
	terr := r.parseTarget()
	if terr != nil && terr != ErrTargetEscape && terr != ErrTargetHost {
		return terr
	}
	v, err := parseRequestVersion(line[sp2+1:])
	if err != nil {
		return err
	}
	r.Version = v
	return terr
}

// validMethod reports whether m is a method nginx accepts: uppercase letters,
// '_' and '-' (ngx_http_parse_request_line). RFC 9110 allows any token, and
// methods are case-sensitive, so "get" is not GET: a backend that folds case
// would serve a request fulcrum's rules saw under another method. nginx 1.22
// answers 400 to "get", "Get", "G1" and "G.T", and fulcrum does the same.
func validMethod(m []byte) bool {
	if len(m) == 0 {
		return false
	}
	for _, c := range m {
		if (c < 'A' || c > 'Z') && c != '_' && c != '-' {
			return false
		}
	}
	return true
}

// parseVersion accepts a status line's "HTTP/1.0" and "HTTP/1.1"; another
// "HTTP/d.d" is ErrVersionNotSupported (505) and anything else ErrVersion.
// The name is case-sensitive (RFC 9112 section 2.3). Request lines are
// parseRequestVersion's.
func parseVersion(b []byte) (Version, error) {
	if len(b) != 8 || string(b[:5]) != "HTTP/" || b[6] != '.' ||
		charClass[b[5]]&cDigit == 0 || charClass[b[7]]&cDigit == 0 {
		return 0, ErrVersion
	}
	if b[5] == '1' && b[7] == '1' {
		return HTTP11, nil
	}
	if b[5] == '1' && b[7] == '0' {
		return HTTP10, nil
	}
	return 0, ErrVersionNotSupported
}

// parseRequestVersion reads a request line's version as nginx 1.22.1 does
// (ngx_http_parse_request_line; recorded on raw sockets): "HTTP/", a major
// version digit 1-9, and a major version above 1 is ErrVersionNotSupported
// (505) whatever follows it ("HTTP/2.0", "HTTP/10.0", "HTTP/3"). After "1."
// come digits whose value is at most 999: 0 ("HTTP/1.00" too) is HTTP/1.0,
// any other minor version ("HTTP/1.2", "HTTP/1.10", "HTTP/1.01") is read as
// HTTP/1.1, as RFC 9110 section 2.5 asks of a recipient that implements
// the major version. Anything else ("HTTP/0.9", "HTTP/01.1", "http/1.1",
// "HTTP/1.1x", "HTTP/1.1000", "HTTP/1") is ErrVersion (400). The request
// goes upstream as HTTP/1.1 or HTTP/1.0, never with the version as sent.
func parseRequestVersion(b []byte) (Version, error) {
	if len(b) < 6 || string(b[:5]) != "HTTP/" || b[5] < '1' || b[5] > '9' {
		return 0, ErrVersion
	}
	if b[5] > '1' || len(b) > 6 && charClass[b[6]]&cDigit != 0 {
		return 0, ErrVersionNotSupported
	}
	if len(b) < 8 || b[6] != '.' {
		return 0, ErrVersion
	}
	minor := 0
	for _, c := range b[7:] {
		if charClass[c]&cDigit == 0 {
			return 0, ErrVersion
		}
		if minor = minor*10 + int(c-'0'); minor > 999 {
			return 0, ErrVersion
		}
	}
	if minor == 0 {
		return HTTP10, nil
	}
	return HTTP11, nil
}

// parseTarget classifies and validates r.Target for r.Method.
func (r *Request) parseTarget() error {
	t := r.Target
	switch {
	case string(r.Method) == "CONNECT" && t[0] == '/':
		// nginx 1.22.1 reads "CONNECT /path" as any request and refuses
		// it once the head is read (405, client sent CONNECT method):
		// the daemon does that.
		r.Form = OriginForm
		return r.splitPathQuery(t)
	case string(r.Method) == "CONNECT":
		if string(t) == "*" {
			return ErrTargetForm
		}
		if !validHost(t, true) {
			return ErrTarget
		}
		r.Form, r.auth = AuthorityForm, t
		return nil
	case t[0] == '/':
		r.Form = OriginForm
		return r.splitPathQuery(t)
	case string(t) == "*":
		if string(r.Method) != "OPTIONS" {
			return ErrTargetForm
		}
		r.Form, r.Path = AsteriskForm, t
		return nil
	}
	return r.parseAbsolute(t)
}

// parseAbsolute parses an absolute-form target: "http" or "https" (any
// case), "://", an authority without userinfo, then path-abempty and query.
func (r *Request) parseAbsolute(t []byte) error {
	var rest []byte
	switch {
	case hasPrefixFold(t, "http://"):
		rest = t[len("http://"):]
	case hasPrefixFold(t, "https://"):
		rest = t[len("https://"):]
	default:
		return ErrTarget
	}
	end := 0
	for end < len(rest) && rest[end] != '/' && rest[end] != '?' {
		end++
	}
	if end == 0 {
		// nginx's request line parser takes an empty host and its host
		// check refuses it after the line ("client sent invalid host in
		// request line", with the path parsed: recorded with
		// scripts/request-nginx-sweep.py), so a bad version comes first.
		if err := r.splitPathQuery(rest); err != nil {
			return err
		}
		return ErrTargetHost
	}
	if !validHost(rest[:end], false) {
		return ErrTarget
	}
	r.Form, r.auth = AbsoluteForm, rest[:end]
	pq := rest[end:]
	if len(pq) > 0 && pq[0] == '/' {
		return r.splitPathQuery(pq)
	}
	if err := r.splitPathQuery(pq); err != nil {
		return err
	}
	r.slash[0] = '/'
	r.Path = r.slash[:]
	return nil
}

// splitPathQuery validates the path-and-query part of a target and sets
// r.Path and r.Query. Allowed raw: VCHAR except '#', and obs-text (as nginx
// and net/http accept), else ErrTarget; then a '%' in the path must start a
// valid %XX escape, else ErrTargetEscape. The order is nginx's: its request
// line parser refuses a byte anywhere in the target first, and only its URI
// parser (ngx_http_parse_complex_uri), which runs on a line that parsed,
// refuses an escape, so "/%zz\x01" is the first fault and "/%zz" the second
// (their $uri differ: see ErrTargetEscape's use in the daemon).
func (r *Request) splitPathQuery(t []byte) error {
	q := -1
	for i, c := range t {
		if charClass[c]&cTarget == 0 {
			return ErrTarget
		}
		if c == '?' && q < 0 {
			q = i
		}
	}
	path := t
	if q >= 0 {
		path = t[:q]
	}
	for i, c := range path {
		if c == '%' && (i+2 >= len(path) || charClass[path[i+1]]&cHex == 0 || charClass[path[i+2]]&cHex == 0) {
			return ErrTargetEscape
		}
	}
	if q < 0 {
		r.Path, r.Query = t, nil
		return nil
	}
	r.Path, r.Query = t[:q], t[q+1:]
	return nil
}

// hasPrefixFold reports whether b starts with the lower-case prefix, ignoring
// ASCII case.
func hasPrefixFold(b []byte, prefix string) bool {
	return len(b) >= len(prefix) && equalFold(b[:len(prefix)], prefix)
}

// validHost reports whether b is uri-host [":" port] (RFC 9110 section 7.2,
// RFC 3986 section 3.2.2), stricter than the RFC in three ways: no
// pct-encoding, no empty labels ("a..b"), and an IP-literal must be an IPv6
// address without zone. requirePort asks for a non-empty port
// (authority-form).
func validHost(b []byte, requirePort bool) bool {
	if len(b) == 0 {
		return false
	}
	var port []byte
	hasPort := false
	if b[0] == '[' {
		end := bytes.IndexByte(b, ']')
		if end < 0 || !validIPv6Literal(b[1:end]) {
			return false
		}
		if after := b[end+1:]; len(after) > 0 {
			if after[0] != ':' {
				return false
			}
			port, hasPort = after[1:], true
		}
	} else {
		host := b
		if i := bytes.IndexByte(b, ':'); i >= 0 {
			host, port, hasPort = b[:i], b[i+1:], true
		}
		if !validRegName(host) {
			return false
		}
	}
	for _, c := range port {
		if charClass[c]&cDigit == 0 {
			return false
		}
	}
	return !requirePort || (hasPort && len(port) > 0)
}

// validRegName reports whether b is a non-empty reg-name of unreserved and
// sub-delim characters without empty labels.
func validRegName(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for i, c := range b {
		if charClass[c]&cRegName == 0 {
			return false
		}
		if c == '.' && i > 0 && b[i-1] == '.' {
			return false
		}
	}
	return true
}

// validIPv6Literal reports whether b (between the brackets) is an IPv6
// address: hex digits, ':' and '.' only, and parseable. This is the only
// path that may allocate, for the rare IPv6 Host.
func validIPv6Literal(b []byte) bool {
	if len(b) < 2 {
		return false
	}
	for _, c := range b {
		if charClass[c]&cHex == 0 && c != ':' && c != '.' {
			return false
		}
	}
	a, err := netip.ParseAddr(string(b))
	return err == nil && a.Is6()
}

// Field names the parser acts on.
const (
	fieldOther = iota
	fieldHost
	fieldConnection
	fieldUpgrade
	fieldTrailer
	fieldExpect
	fieldContentLength
	fieldTransferEncoding
)

// fieldKind classifies a field name by the few the parser acts on. Each
// name is first compared as most senders spell it ("Content-Length"): a
// compare with a constant of up to sixteen bytes is a few word compares in
// line, where equalLower takes a lookup a byte.
func fieldKind(name []byte) int {
	switch len(name) {
	case 4:
		if string(name) == "Host" || equalLower(name, "host") {
			return fieldHost
		}
	case 6:
		if string(name) == "Expect" || equalLower(name, "expect") {
			return fieldExpect
		}
	case 7:
		if string(name) == "Upgrade" || equalLower(name, "upgrade") {
			return fieldUpgrade
		}
		if string(name) == "Trailer" || equalLower(name, "trailer") {
			return fieldTrailer
		}
	case 10:
		if string(name) == "Connection" || equalLower(name, "connection") {
			return fieldConnection
		}
	case 14:
		if string(name) == "Content-Length" || equalLower(name, "content-length") {
			return fieldContentLength
		}
	case 17:
		if equalLower(name, "transfer-encoding") {
			return fieldTransferEncoding
		}
	}
	return fieldOther
}

// UniqueField reports whether nginx 1.22.1 refuses a request that sends the
// field name twice (ngx_http_process_unique_header_line and the Host and
// Transfer-Encoding handlers: 400, "client sent duplicate header line"):
// Host, Content-Length, Transfer-Encoding, Expect, Authorization,
// Content-Range, If-Range, If-Match, If-None-Match, If-Modified-Since and
// If-Unmodified-Since. Content-Length fields with identical values are
// taken as one here (see contentLength); the others are refused.
func UniqueField(name []byte) bool {
	switch fieldKind(name) {
	case fieldHost, fieldContentLength, fieldTransferEncoding, fieldExpect:
		return true
	}
	return uniqueOther(name)
}

// uniqueOther reports whether name is one of UniqueField's names that the
// parser does not act on otherwise.
func uniqueOther(name []byte) bool {
	switch len(name) {
	case 8:
		return equalLower(name, "if-match") || equalLower(name, "if-range")
	case 13:
		return equalLower(name, "authorization") || equalLower(name, "content-range") || equalLower(name, "if-none-match")
	case 17:
		return equalLower(name, "if-modified-since")
	case 19:
		return equalLower(name, "if-unmodified-since")
	}
	return false
}

// seen counts the fields the parser acts on in one message.
type seen [fieldTransferEncoding + 1]int

// fieldCounts is what the interpretation of a head needs to know of its
// fields, from one look at each name: count's result, or the one-pass
// parser's (quick.go), which gathers it as it parses.
type fieldCounts struct {
	seen        seen // the fields of each kind the parser acts on
	host        int  // index of the first Host field, -1 for none
	underscores int  // names with '_'
	odd         int  // names with a byte oddName finds
	unique      int  // fields named by uniqueOther (a repeat needs two)
	length      int  // index of the first Content-Length field, -1 for none
}

// add counts the field at index i of its head, named name.
func (c *fieldCounts) add(i int, name []byte, underscore bool) {
	switch {
	case underscore:
		c.underscores++ // no field the parser acts on has '_' in its name
	case mayAct(name):
		c.classify(i, name)
	default:
		c.seen[fieldOther]++
	}
}

// classify is add for a name that may be one the parser acts on.
func (c *fieldCounts) classify(i int, name []byte) {
	k := fieldKind(name)
	c.seen[k]++
	switch {
	case k == fieldHost && c.host < 0:
		c.host = i
	case k == fieldContentLength && c.length < 0:
		c.length = i
	case k == fieldOther && uniqueOther(name):
		c.unique++
	}
}

// actedNames are the field names fieldKind and uniqueOther know, lower case.
var actedNames = [...]string{
	"host", "expect", "upgrade", "trailer", "connection", "content-length", "transfer-encoding",
	"if-match", "if-range", "authorization", "content-range", "if-none-match", "if-modified-since", "if-unmodified-since",
}

// actedOn has, for each name length below 32, a bit for the lower-case
// first letter of each of actedNames of that length: a name without its
// bit is none of them, told in a lookup rather than in fieldKind's and
// uniqueOther's comparisons. Built once, never written afterwards.
var actedOn = func() (t [32]uint32) {
	for _, n := range actedNames {
		t[len(n)] |= 1 << (n[0] & 31)
	}
	return t
}()

// mayAct reports whether name may be one of actedNames (false: it is not).
func mayAct(name []byte) bool {
	return len(name) < len(actedOn) && len(name) > 0 && actedOn[len(name)]>>(name[0]&31)&1 != 0
}

// count classifies every field of hs and counts names with underscores.
func count(hs Headers) fieldCounts {
	c := fieldCounts{host: -1, length: -1}
	for i := range hs {
		c.add(i, hs[i].Name, hs[i].HasUnderscore())
		if oddName(hs[i].Name) {
			c.odd++
		}
	}
	return c
}

// oddName reports whether a field name holds a byte nginx takes in no
// field name (cOddName).
func oddName(name []byte) bool {
	for _, b := range name {
		if charClass[b]&cOddName != 0 {
			return true
		}
	}
	return false
}

// duplicateUnique reports whether a request's fields name one of
// uniqueOther's fields twice. It is a loop of its own, off count (which
// response heads share), and not inlined, so that the frames of the head
// parsers stay as small as they were.
//
//go:noinline
func duplicateUnique(hs Headers) bool {
	for i := range hs {
		if uniqueOther(hs[i].Name) && repeated(hs[:i], hs[i].Name) {
			return true
		}
	}
	return false
}

// repeated reports whether a field of hs is named name.
func repeated(hs Headers, name []byte) bool {
	for i := range hs {
		if equalFoldBytes(hs[i].Name, name) {
			return true
		}
	}
	return false
}

// interpret applies the semantic rules to the parsed fields: Host, body
// framing, Connection, Upgrade and Expect.
func (r *Request) interpret() error {
	c := count(r.Headers)
	return r.apply(&c)
}

// apply is interpret with the fields already counted.
func (r *Request) apply(c *fieldCounts) error {
	s := c.seen
	r.Underscores, r.OddNames = c.underscores, c.odd
	if err := r.checkFields(c); err != nil {
		// nginx refuses a field as it reads its line (a second Host or
		// unique field, an invalid Host) before the checks at the head's
		// end (no Host, the framing): the first such line decides.
		if lf := firstLineFault(r.Headers); lf != nil {
			return lf
		}
		return err
	}
	var closeTok, keepAlive, upgradeTok bool
	if s[fieldConnection] > 0 {
		closeTok, keepAlive, upgradeTok = connectionOptions(r.Headers)
	}
	r.Close = closeTok || (r.Version == HTTP10 && !keepAlive)
	r.Upgrade = r.Version == HTTP11 && upgradeTok && s[fieldUpgrade] > 0
	if s[fieldExpect] > 0 && r.Version == HTTP11 {
		r.Expect = ExpectUnsupported
		if s[fieldExpect] == 1 && equalFold(r.Headers.Get("expect"), "100-continue") {
			r.Expect = ExpectContinue
		}
	}
	return nil
}

// checkFields applies the checks of the fields the parser acts on: Host,
// the fields nginx takes once, the body's framing.
func (r *Request) checkFields(c *fieldCounts) error {
	if err := r.resolveHost(c.seen[fieldHost], c.host); err != nil {
		return err
	}
	if c.seen[fieldExpect] > 1 || c.unique > 1 && duplicateUnique(r.Headers) {
		return ErrDuplicateField
	}
	return r.resolveFraming(&c.seen, c.length)
}

// firstLineFault returns the error of the first field line nginx 1.22.1
// refuses as it reads it, or nil: a second Host (ErrDuplicateHost), an
// invalid first Host (ErrInvalidHost), a second Transfer-Encoding
// (ErrTransferEncoding), a second Content-Length with another value
// (ErrContentLength; fulcrum takes a repeated value as one), a second line
// of another field nginx takes once (ErrDuplicateField). Recorded with
// scripts/request-nginx-sweep.py: a second Content-Length before a missing
// Host is nginx's "duplicate header line" at that line. Only called for a
// refused head, off the request path.
func firstLineFault(hs Headers) error {
	host, cl, te := -1, -1, -1
	for i := range hs {
		h := &hs[i]
		if h.HasUnderscore() {
			continue
		}
		switch fieldKind(h.Name) {
		case fieldHost:
			if host >= 0 {
				return ErrDuplicateHost
			}
			if host = i; !validHost(h.Value, false) {
				return ErrInvalidHost
			}
		case fieldContentLength:
			if cl < 0 {
				cl = i
				continue
			}
			var first []byte
			for e := range listElems(hs[cl:cl+1], "content-length") {
				first = e
				break
			}
			for e := range listElems(hs[i:i+1], "content-length") {
				if !bytes.Equal(e, first) {
					return ErrContentLength
				}
			}
		case fieldTransferEncoding:
			if te >= 0 {
				return ErrTransferEncoding
			}
			te = i
		default:
			if UniqueField(h.Name) && repeated(hs[:i], h.Name) {
				return ErrDuplicateField
			}
		}
	}
	return nil
}

// resolveHost applies RFC 9112 section 3.2: exactly one valid Host in
// HTTP/1.1 (at most one in HTTP/1.0); a target authority replaces it.
func (r *Request) resolveHost(n, idx int) error {
	switch {
	case n > 1:
		return ErrDuplicateHost
	case n == 0 && r.Version == HTTP11:
		return ErrMissingHost
	case n == 1 && !validHost(r.Headers[idx].Value, false):
		return ErrInvalidHost
	}
	if n == 1 {
		r.Host = r.Headers[idx].Value
	}
	if r.auth != nil {
		r.Host = r.auth
		if idx >= 0 {
			r.Headers[idx].Value = r.auth
		}
	}
	return nil
}

// resolveFraming decides the request body framing (RFC 9112 section 6.1-6.3
// and the policy's stricter rules, ../shared/spec/http-hardening.md).
//
// An invalid Content-Length is refused first (400), as nginx 1.22.1 does;
// then Transfer-Encoding on HTTP/1.0 or on two lines (400); then a
// Transfer-Encoding beside a Content-Length (400, never forwarded); then a
// malformed Transfer-Encoding (final coding not chunked, chunked repeated,
// an empty element, parameters: 400) or an unknown coding (501). nginx
// answers 501 to every Transfer-Encoding but a single "chunked", with a
// Content-Length or not; the policy keeps 400 for a malformed one and for
// the pair (docs/directives.md, "Where fulcrum differs").
func (r *Request) resolveFraming(s *seen, length int) error {
	te, cl := s[fieldTransferEncoding] > 0, s[fieldContentLength] > 0
	var n int64
	if cl {
		var err error
		if n, err = contentLength(r.Headers, length, s[fieldContentLength]); err != nil {
			return err
		}
	}
	switch {
	case te:
		if r.Version == HTTP10 || s[fieldTransferEncoding] > 1 {
			// nginx refuses a second Transfer-Encoding line as it reads
			// it (400, duplicate header line), whatever the codings.
			return ErrTransferEncoding
		}
		if cl {
			return ErrTEAndCL
		}
		if err := checkTransferEncoding(r.Headers); err != nil {
			return err
		}
		if s[fieldTrailer] > 0 {
			if err := checkTrailerDecl(r.Headers); err != nil {
				return err
			}
		}
		r.Framing, r.ContentLength = ChunkedBody, -1
	case cl:
		r.Framing, r.ContentLength = LengthBody, n
	default:
		r.Framing, r.ContentLength = NoBody, 0
	}
	return nil
}

// CheckBodySize returns ErrBodyTooLarge (413) when the declared
// Content-Length is over max (client_max_body_size), so the answer can go
// out before any body byte is read. max <= 0 means no limit. A chunked body
// is checked while it is read (BodyLimits.MaxBytes).
func (r *Request) CheckBodySize(max int64) error {
	if max > 0 && r.Framing == LengthBody && r.ContentLength > max {
		return ErrBodyTooLarge
	}
	return nil
}

// DropUnderscored removes the field lines whose names contain '_', as nginx
// does unless underscores_in_headers is on, and sets Underscores to 0.
func (r *Request) DropUnderscored() {
	if r.Underscores == 0 {
		return
	}
	kept := r.Headers[:0]
	for _, h := range r.Headers {
		if !h.HasUnderscore() {
			kept = append(kept, h)
		}
	}
	clear(r.Headers[len(kept):])
	r.Headers = kept
	r.Underscores = 0
}

// AppendHead appends r as received (after the Host replacement described
// on Headers) to dst: request line, every field line, empty line.
func (r *Request) AppendHead(dst []byte) []byte {
	return AppendRequestHead(dst, r.Method, r.Target, r.Version, r.Headers)
}
