package h1

import (
	"bufio"
	"bytes"
	"io"
	"math"
)

// chunkState is where a ChunkedReader is in the chunked coding.
type chunkState uint8

const (
	stSize     chunkState = iota // before a chunk-size line
	stData                       // inside chunk data
	stDataCRLF                   // after chunk data, before its CRLF
	stTrailer                    // after the last chunk, before the trailer section
	stDone                       // after the trailer section
)

// ChunkedReader decodes a chunked body (RFC 9112 section 7.1) from a
// bufio.Reader, strictly: chunk sizes are 1 to 16 hex digits and fit in an
// int64; extensions are parsed, counted against a cap and dropped; every
// line ends in CRLF exactly; chunk data must be followed by CRLF; the
// trailer section is parsed like a header section and its fields that must
// not appear after the body are dropped (see Trailers). Any violation is an
// Error and is sticky. It is reusable through Reset.
//
// br's buffer must hold a chunk-size line: 16 digits plus
// BodyLimits.MaxExtensionBytes plus CRLF (bufio's default 4 KiB does).
type ChunkedReader struct {
	br       *bufio.Reader
	lim      BodyLimits // resolved
	state    chunkState
	left     int64   // data bytes left in the current chunk
	total    int64   // data bytes read so far
	refused  int64   // the size of the chunk refused for MaxBytes (Refused)
	framing  int64   // bytes of chunk-size lines, data CRLFs and trailer section consumed
	ext      int     // extension bytes so far
	err      error   // sticky; io.EOF after a complete body
	tbuf     []byte  // raw trailer section; Trailers point into it
	trailers Headers // kept trailer fields
}

// Reset makes c decode a new chunked body from br. Buffers are kept for
// reuse; earlier Trailers become invalid.
func (c *ChunkedReader) Reset(br *bufio.Reader, lim BodyLimits) {
	clear(c.trailers)
	*c = ChunkedReader{
		br:       br,
		lim:      lim.resolved(),
		tbuf:     c.tbuf[:0],
		trailers: c.trailers[:0],
	}
}

// Trailers returns the trailer fields kept after a complete body (nil
// before). Dropped are the fields that would change framing, routing,
// authentication, request modifiers, response controls or content format if
// a backend merged them into the header section (RFC 9110 section 6.5.1),
// hop-by-hop fields, the X-Forwarded-* family, and names with '_' unless
// BodyLimits.KeepUnderscoreTrailers. The slices are valid until Reset.
func (c *ChunkedReader) Trailers() Headers {
	if c.err != io.EOF {
		return nil
	}
	return c.trailers
}

// Framing returns how many bytes of the coding itself (chunk-size lines with
// their extensions, the CRLF after each chunk's data, the trailer section)
// were consumed so far, the part of a size line or trailer section a read
// error cut short included: with the data, what was read from the wire.
func (c *ChunkedReader) Framing() int64 { return c.framing }

// Consumed returns how many bytes of the body's wire form were consumed so
// far: the data read and the framing (Framing).
func (c *ChunkedReader) Consumed() int64 { return c.total - c.left + c.framing }

// Declared returns the sum of the chunk sizes read so far, the data of a
// chunk counted once its size line was read.
func (c *ChunkedReader) Declared() int64 { return c.total }

// Refused returns the size of the chunk whose size line took the body past
// BodyLimits.MaxBytes (ErrBodyTooLarge), 0 when none did: nginx logs it
// with Declared ("too large chunked body: 5+5 bytes").
func (c *ChunkedReader) Refused() int64 { return c.refused }

// Read decodes body data into p. It returns io.EOF after the trailer section
// of a complete body. Once it has some data it returns rather than block for
// the next chunk header, so streamed bodies are not delayed.
func (c *ChunkedReader) Read(p []byte) (int, error) {
	n := 0
	for c.err == nil {
		if c.state != stData {
			if n > 0 && !c.stepReady() {
				return n, nil
			}
			c.err = c.step()
			continue
		}
		if len(p) == 0 || (n > 0 && c.br.Buffered() == 0) {
			return n, nil
		}
		k := len(p)
		if int64(k) > c.left {
			k = int(c.left)
		}
		m, err := c.br.Read(p[:k])
		n += m
		p = p[m:]
		c.advance(m)
		if err != nil {
			c.err = unexpected(err)
		}
	}
	return n, c.err
}

// ChunkedPrefixFault returns the error a ChunkedReader refuses the first
// bytes p of a chunked body with (ErrChunkSize, ErrChunkData, a trailer
// line's fault ...), or nil when p is a well-formed beginning of one, or a
// whole one. It reads p only: a proxy that streams a body checks with it
// what came with the head before it connects upstream, as nginx checks its
// preread.
func ChunkedPrefixFault(p []byte) error {
	_, err := ChunkedPrefix(p)
	return err
}

// ChunkedPrefix reads the first bytes p of a chunked body as a
// ChunkedReader would: end is the length of the whole body, its last chunk
// and trailer section included, when it ends within p, else -1; err is
// the fault p already shows (see ChunkedPrefixFault), nil for a
// well-formed beginning. It reads p only.
func ChunkedPrefix(p []byte) (end int, err error) {
	var c ChunkedReader
	// A buffer larger than p: a size line cut at p's end is not "too long".
	c.Reset(bufio.NewReaderSize(bytes.NewReader(p), len(p)+16), BodyLimits{})
	_, err = c.WriteTo(io.Discard)
	switch {
	case err == nil || err == io.EOF:
		return int(c.Consumed()), nil
	case err == io.ErrUnexpectedEOF:
		return -1, nil
	}
	return -1, err
}

// WriteTo decodes the rest of the body into w straight from br's buffer.
func (c *ChunkedReader) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for c.err == nil {
		if c.state != stData {
			c.err = c.step()
			continue
		}
		p, err := peekSome(c.br, c.left)
		if len(p) > 0 {
			m, werr := w.Write(p)
			c.br.Discard(m)
			c.advance(m)
			total += int64(m)
			if werr == nil && m < len(p) {
				werr = io.ErrShortWrite
			}
			if werr != nil {
				return total, werr
			}
		}
		if err != nil {
			c.err = unexpected(err)
		}
	}
	if c.err == io.EOF {
		return total, nil
	}
	return total, c.err
}

// advance accounts for m data bytes consumed.
func (c *ChunkedReader) advance(m int) {
	c.left -= int64(m)
	if c.left == 0 {
		c.state = stDataCRLF
	}
}

// Ready reports whether Read would return without reading from br's
// source: the body ended or failed, chunk data is buffered, or the next
// size line, data CRLF or trailer line is buffered whole (or already shows a
// fault). A caller discarding a body drains what came with it this way
// without waiting for more.
func (c *ChunkedReader) Ready() bool {
	switch {
	case c.err != nil:
		return true
	case c.state == stData:
		return c.br.Buffered() > 0
	case c.state == stSize:
		if c.stepReady() {
			return true
		}
		p, _ := c.br.Peek(c.br.Buffered())
		return sizePrefixFault(p) != nil
	}
	return c.stepReady()
}

// ReadBuffered is Read that never reads from br's source: it decodes only
// what br has buffered, taking a step of the coding (a size line, a data
// CRLF, the trailer section) only when Ready says the step completes from
// buffered bytes, and returns 0, nil where Read would wait. A discard before
// the answer drains a body with it: after a size line the data may not have
// come yet, after the last chunk the trailer section's end.
func (c *ChunkedReader) ReadBuffered(p []byte) (int, error) {
	n := 0
	for c.err == nil {
		if c.state != stData {
			if !c.Ready() {
				return n, nil
			}
			c.err = c.step()
			continue
		}
		k := min(int64(len(p)), int64(c.br.Buffered()), c.left)
		if k == 0 {
			return n, nil
		}
		m, _ := c.br.Read(p[:k]) // buffered bytes only: no read from the source
		n += m
		p = p[m:]
		c.advance(m)
	}
	return n, c.err
}

// Err returns how reading ended so far: nil while the body goes on, io.EOF
// after a complete body, else the fault that stopped it (sticky).
func (c *ChunkedReader) Err() error { return c.err }

// stepReady reports whether the next non-data step can complete from
// buffered bytes alone.
func (c *ChunkedReader) stepReady() bool {
	n := c.br.Buffered()
	p, _ := c.br.Peek(n)
	if c.state == stDataCRLF {
		return n >= 2 || n == 1 && p[0] != '\r' // a fault shows at the first byte
	}
	if c.state == stTrailer {
		// The trailer section is read whole, up to its empty line.
		return bytes.HasPrefix(p, []byte("\n")) || bytes.HasPrefix(p, []byte("\r\n")) ||
			bytes.Contains(p, []byte("\n\n")) || bytes.Contains(p, []byte("\n\r\n"))
	}
	return bytes.IndexByte(p, '\n') >= 0
}

// step performs one non-data step of the coding.
func (c *ChunkedReader) step() error {
	switch c.state {
	case stDataCRLF:
		return c.readDataCRLF()
	case stSize:
		return c.readSize()
	case stTrailer:
		if err := c.readTrailers(); err != nil {
			return err
		}
		c.state = stDone
	}
	return io.EOF
}

// readDataCRLF consumes the CRLF that must follow chunk data. A first byte
// other than CR fails it as soon as it is buffered, without waiting for a
// second (recorded with nginx 1.22.1: "3\r\nabcX" and nothing after got
// 400 at once; fulcrum waited for one more byte, up to
// client_body_timeout).
func (c *ChunkedReader) readDataCRLF() error {
	if p, _ := c.br.Peek(1); len(p) == 1 && p[0] != '\r' {
		return ErrChunkData
	}
	p, err := c.br.Peek(2)
	if len(p) > 0 && p[0] != '\r' || len(p) > 1 && p[1] != '\n' {
		return ErrChunkData
	}
	if err != nil {
		return unexpected(err)
	}
	c.br.Discard(2)
	c.framing += 2
	c.state = stSize
	return nil
}

// readSize reads and checks a chunk-size line:
// 1*16HEXDIG [ ";" chunk-ext ] CRLF, no whitespace before the extensions.
// A byte no such line could have fails it as soon as it is buffered, before
// the line's end arrives, as nginx's parser fails at the first bad byte: a
// client that sends "zz" and waits gets its 400 at once, not at its timeout.
func (c *ChunkedReader) readSize() error {
	for {
		n := c.br.Buffered()
		p, _ := c.br.Peek(n)
		if bytes.IndexByte(p, '\n') >= 0 {
			break
		}
		if err := sizePrefixFault(p); err != nil {
			return err
		}
		if _, err := c.br.Peek(n + 1); err != nil {
			break // ReadSlice below says why
		}
	}
	line, err := c.br.ReadSlice('\n')
	switch {
	case err == bufio.ErrBufferFull:
		return ErrChunkExtension
	case err != nil:
		c.framing += int64(len(line)) // read, though the line never ended
		return unexpected(err)
	case len(line) < 2 || line[len(line)-2] != '\r':
		return ErrBareLF
	}
	c.framing += int64(len(line))
	line = line[:len(line)-2]
	if bytes.IndexByte(line, '\r') >= 0 {
		return ErrBareCR
	}
	size, i, ok := parseChunkSize(line)
	if !ok {
		return ErrChunkSize
	}
	if ext := line[i:]; len(ext) > 0 {
		c.ext += len(ext)
		if c.ext > c.lim.MaxExtensionBytes || !validChunkExt(ext) {
			return ErrChunkExtension
		}
	}
	if size == 0 {
		c.state = stTrailer
		return nil
	}
	if size > c.lim.MaxBytes-c.total {
		c.refused = size
		return ErrBodyTooLarge
	}
	c.total += size
	c.left, c.state = size, stData
	return nil
}

// sizePrefixFault returns the error a chunk-size line starting with p (no
// LF in it yet) must end in whatever follows, or nil while it may still be
// valid: 1 to 16 hex digits, then ';' (an extension, checked with the whole
// line) or CR, and LF right after a CR.
func sizePrefixFault(p []byte) error {
	i := 0
	for i < len(p) && charClass[p[i]]&cHex != 0 {
		i++
	}
	switch {
	case i == len(p):
		if i > 16 {
			return ErrChunkSize
		}
		return nil
	case i == 0 || i > 16:
		return ErrChunkSize
	case p[i] == ';':
		return nil
	case p[i] != '\r':
		return ErrChunkSize
	case i+1 < len(p): // a CR followed by anything but LF
		return ErrBareCR
	}
	return nil
}

// parseChunkSize parses the leading hex digits of line. It returns the size,
// the index after the digits, and false for no digits, more than 16, an
// overflow of int64, or anything but ';' after them.
func parseChunkSize(line []byte) (int64, int, bool) {
	var size uint64
	i := 0
	for ; i < len(line) && charClass[line[i]]&cHex != 0; i++ {
		if i == 16 {
			return 0, i, false
		}
		size = size<<4 | uint64(unhex(line[i]))
	}
	if i == 0 || size > math.MaxInt64 || (i < len(line) && line[i] != ';') {
		return 0, i, false
	}
	return int64(size), i, true
}

// unhex returns the value of a hex digit.
func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

// validChunkExt checks chunk-ext = *( BWS ";" BWS name [ BWS "=" BWS value ] )
// where value is a token or a quoted-string (RFC 9112 section 7.1.1). ext
// starts at the first ';'. Trailing whitespace is not allowed.
func validChunkExt(ext []byte) bool {
	for len(ext) > 0 {
		ext = skipOWS(ext)
		if len(ext) == 0 || ext[0] != ';' {
			return false
		}
		ext = skipOWS(ext[1:])
		n := tokenLen(ext)
		if n == 0 {
			return false
		}
		ext = ext[n:]
		rest := skipOWS(ext)
		if len(rest) == 0 || rest[0] != '=' {
			continue
		}
		rest = skipOWS(rest[1:])
		if n = valueLen(rest); n == 0 {
			return false
		}
		ext = rest[n:]
	}
	return true
}

// skipOWS drops leading SP and HTAB.
func skipOWS(b []byte) []byte {
	for len(b) > 0 && isOWS(b[0]) {
		b = b[1:]
	}
	return b
}

// tokenLen returns the length of the token at the start of b.
func tokenLen(b []byte) int {
	n := 0
	for n < len(b) && charClass[b[n]]&cToken != 0 {
		n++
	}
	return n
}

// valueLen returns the length of the token or quoted-string at the start of
// b, 0 if there is none.
func valueLen(b []byte) int {
	if len(b) == 0 || b[0] != '"' {
		return tokenLen(b)
	}
	for i := 1; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			return i + 1
		case c == '\\':
			if i+1 == len(b) || charClass[b[i+1]]&cValue == 0 {
				return 0
			}
			i++
		case charClass[c]&cValue == 0:
			return 0
		}
	}
	return 0
}

// readTrailers reads the trailer section and keeps the allowed fields.
func (c *ChunkedReader) readTrailers() error {
	s := headScan{kind: headTrailer, lim: Limits{
		MaxFieldLine:   c.lim.MaxTrailerBytes,
		MaxHeaderBytes: c.lim.MaxTrailerBytes,
		MaxHeaders:     DefaultMaxHeaders,
	}}
	raw, err := readHead(c.br, c.tbuf[:0], &s)
	c.tbuf = raw
	if err != nil {
		// What was read of a section that did not end (a timeout, a
		// close, a refused line) was read all the same: nginx counts
		// it in $request_length.
		c.framing += int64(len(raw))
		return err
	}
	c.framing += int64(len(raw))
	hs, err := parseFields(c.trailers[:0], raw)
	if err != nil {
		clear(hs)
		return err
	}
	kept := hs[:0]
	for _, h := range hs {
		if !droppedTrailer(h.Name) && (c.lim.KeepUnderscoreTrailers || !h.HasUnderscore()) {
			kept = append(kept, h)
		}
	}
	clear(hs[len(kept):])
	c.trailers = kept
	return nil
}

// droppedTrailers are the fields never kept from a trailer section, lower
// case: framing and hop-by-hop, routing and forwarding, authentication and
// cookies, request modifiers and conditionals, response controls, and content
// format (RFC 9110 section 6.5.1).
var droppedTrailers = [...]string{
	"content-length", "transfer-encoding", "trailer", "te", "connection",
	"keep-alive", "proxy-connection", "upgrade",
	"host", "forwarded", "x-forwarded-for", "x-forwarded-host",
	"x-forwarded-proto", "x-real-ip",
	"authorization", "proxy-authorization", "www-authenticate",
	"proxy-authenticate", "authentication-info", "proxy-authentication-info",
	"cookie", "set-cookie",
	"cache-control", "expect", "max-forwards", "pragma", "range", "if-match",
	"if-none-match", "if-modified-since", "if-unmodified-since", "if-range",
	"age", "expires", "date", "location", "retry-after", "vary",
	"content-type", "content-encoding", "content-range", "content-language",
	"content-location",
}

// droppedTrailer reports whether a trailer field named name is dropped.
func droppedTrailer(name []byte) bool {
	for _, d := range droppedTrailers {
		if equalFold(name, d) {
			return true
		}
	}
	return false
}
