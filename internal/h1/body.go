package h1

import (
	"bufio"
	"io"
	"math"
)

// BodyLimits bounds a body while it is read.
type BodyLimits struct {
	// MaxBytes caps the body (client_max_body_size); over it:
	// ErrBodyTooLarge (413). Zero or negative: no limit, as in nginx.
	MaxBytes int64
	// MaxExtensionBytes caps the chunk extensions of a whole chunked body
	// (they are parsed and dropped). Over it: ErrChunkExtension. Default
	// 1 KiB, which also keeps every chunk-size line well under net/http's
	// 4 KiB limit.
	MaxExtensionBytes int
	// MaxTrailerBytes caps the trailer section, its final CRLF included.
	// Over it: ErrTrailerTooLarge. Default 4 KiB.
	MaxTrailerBytes int
	// KeepUnderscoreTrailers keeps trailer fields whose names contain '_'
	// (underscores_in_headers on); by default they are dropped.
	KeepUnderscoreTrailers bool
}

// Defaults for BodyLimits.
const (
	DefaultMaxExtensionBytes = 1 << 10
	DefaultMaxTrailerBytes   = 4 << 10
)

// resolved returns l with defaults for zero fields.
func (l BodyLimits) resolved() BodyLimits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = math.MaxInt64
	}
	if l.MaxExtensionBytes <= 0 {
		l.MaxExtensionBytes = DefaultMaxExtensionBytes
	}
	if l.MaxTrailerBytes <= 0 {
		l.MaxTrailerBytes = DefaultMaxTrailerBytes
	}
	return l
}

// LengthReader reads a body of a known length from a bufio.Reader. It is
// reusable through Reset; the zero value reads nothing (EOF at once).
type LengthReader struct {
	br   *bufio.Reader
	left int64
	err  error // sticky; io.EOF once the body is done
}

// Reset makes l read the next n bytes of br.
func (l *LengthReader) Reset(br *bufio.Reader, n int64) {
	*l = LengthReader{br: br, left: n}
}

// Remaining returns the number of body bytes not yet read.
func (l *LengthReader) Remaining() int64 { return l.left }

// Read reads body bytes. It returns io.EOF after exactly n bytes and
// io.ErrUnexpectedEOF if br ends first.
func (l *LengthReader) Read(p []byte) (int, error) {
	if l.err != nil {
		return 0, l.err
	}
	if l.left == 0 {
		l.err = io.EOF
		return 0, io.EOF
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.br.Read(p)
	l.left -= int64(n)
	if err != nil {
		l.err = unexpected(err)
		return n, l.err
	}
	return n, nil
}

// WriteTo copies the rest of the body to w straight from br's buffer, with
// no intermediate copy; io.Copy uses it.
func (l *LengthReader) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for l.err == nil && l.left > 0 {
		p, err := peekSome(l.br, l.left)
		if len(p) > 0 {
			n, werr := w.Write(p)
			l.br.Discard(n)
			l.left -= int64(n)
			total += int64(n)
			if werr != nil {
				return total, werr
			}
		}
		if err != nil {
			l.err = unexpected(err)
			return total, l.err
		}
	}
	if l.err == nil {
		l.err = io.EOF
	}
	if l.err == io.EOF {
		return total, nil
	}
	return total, l.err
}

// peekSome returns up to max bytes already buffered in br, filling the
// buffer first (one read, blocking) when it is empty.
func peekSome(br *bufio.Reader, max int64) ([]byte, error) {
	n := br.Buffered()
	if n == 0 {
		if _, err := br.Peek(1); err != nil {
			return nil, err
		}
		n = br.Buffered()
	}
	if int64(n) > max {
		n = int(max)
	}
	return br.Peek(n)
}

// unexpected turns io.EOF inside a body into io.ErrUnexpectedEOF.
func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// Body reads a message body of any framing; the engine keeps one per
// connection and Resets it for each message. The zero value reads nothing.
type Body struct {
	framing Framing
	length  LengthReader
	chunked ChunkedReader
	closed  closeReader
}

// Reset prepares b to read a body framed by f from br. contentLength is used
// for LengthBody; with a length over lim.MaxBytes Reset returns
// ErrBodyTooLarge before any byte is read. lim applies to chunked and
// close-delimited bodies while they are read.
func (b *Body) Reset(br *bufio.Reader, f Framing, contentLength int64, lim BodyLimits) error {
	b.framing = f
	switch f {
	case LengthBody:
		if lim.MaxBytes > 0 && contentLength > lim.MaxBytes {
			// Unread and unreadable: Read fails and Done stays false, so
			// the connection is not reused.
			b.length = LengthReader{br: br, left: contentLength, err: ErrBodyTooLarge}
			return ErrBodyTooLarge
		}
		b.length.Reset(br, contentLength)
	case ChunkedBody:
		b.chunked.Reset(br, lim)
	case CloseBody:
		b.closed = closeReader{br: br, left: lim.resolved().MaxBytes}
	}
	return nil
}

// Read reads body bytes; io.EOF marks the end of a complete body.
func (b *Body) Read(p []byte) (int, error) {
	switch b.framing {
	case LengthBody:
		return b.length.Read(p)
	case ChunkedBody:
		return b.chunked.Read(p)
	case CloseBody:
		return b.closed.Read(p)
	}
	return 0, io.EOF
}

// WriteTo copies the rest of the body to w (used by io.Copy).
func (b *Body) WriteTo(w io.Writer) (int64, error) {
	switch b.framing {
	case LengthBody:
		return b.length.WriteTo(w)
	case ChunkedBody:
		return b.chunked.WriteTo(w)
	case CloseBody:
		return io.Copy(w, &b.closed)
	}
	return 0, nil
}

// Trailers returns the kept trailer fields of a chunked body once it has
// been read to io.EOF; nil otherwise.
func (b *Body) Trailers() Headers {
	if b.framing == ChunkedBody {
		return b.chunked.Trailers()
	}
	return nil
}

// Chunked returns the chunked decoder of a chunked body (its Framing and
// Declared counts), nil for other framings.
func (b *Body) Chunked() *ChunkedReader {
	if b.framing == ChunkedBody {
		return &b.chunked
	}
	return nil
}

// Remaining returns how many bytes of a length-delimited body are left to
// read, or -1 for other framings (unknown until their end).
func (b *Body) Remaining() int64 {
	if b.framing == LengthBody {
		return b.length.left
	}
	if b.framing == NoBody {
		return 0
	}
	return -1
}

// LimitChunked caps a chunked body at max bytes (client_max_body_size, known
// only once the location is), checked as nginx checks it: at each chunk's
// size line, before any of that chunk's data is read (ErrBodyTooLarge). It
// does nothing for other framings or a max <= 0.
func (b *Body) LimitChunked(max int64) {
	if b.framing == ChunkedBody && max > 0 {
		b.chunked.lim.MaxBytes = max
	}
}

// Buffered returns how many bytes of a length-delimited body are already in
// the reader's buffer, readable without waiting (nginx's preread part of a
// body, which arrived with the head); 0 for other framings and after an
// error.
func (b *Body) Buffered() int {
	if b.framing != LengthBody || b.length.err != nil || b.length.br == nil {
		return 0
	}
	return int(min(int64(b.length.br.Buffered()), b.length.left))
}

// Pending reports whether bytes of a chunked body (its framing included)
// are already in the reader's buffer, so that a read need not wait for the
// socket; false for other framings (see Buffered) and after an error or the
// body's end.
func (b *Body) Pending() bool {
	c := &b.chunked
	return b.framing == ChunkedBody && c.err == nil && c.br != nil && c.br.Buffered() > 0
}

// Done reports whether the body has been read completely and without error,
// which a keep-alive connection needs before its next message. For an
// upstream connection also check that br holds no further bytes: a backend
// that sent more than its framing said must not be reused
// (http-hardening.md, "extra bytes after the body").
func (b *Body) Done() bool {
	switch b.framing {
	case LengthBody:
		return b.length.left == 0
	case ChunkedBody:
		return b.chunked.err == io.EOF
	case CloseBody:
		return b.closed.err == io.EOF
	}
	return true
}

// closeReader reads a close-delimited response body: everything until EOF,
// at most left bytes.
type closeReader struct {
	br   *bufio.Reader
	left int64
	err  error
}

// Read reads until br's EOF, which ends the body cleanly.
func (c *closeReader) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	n, err := c.br.Read(p)
	if int64(n) > c.left {
		n, err = int(c.left), ErrBodyTooLarge
	}
	c.left -= int64(n)
	c.err = err
	return n, err
}
