package h1

import (
	"bufio"
	"bytes"
	"io"
	"sync"
)

// Limits bounds the size of a message head. A zero field takes its default.
// The defaults follow nginx's large_client_header_buffers and the policy's
// 64 KiB cap on the whole head (http-hardening.md, "Limits and timeouts").
type Limits struct {
	// MaxRequestLine is the longest request line (or status line) in bytes,
	// CRLF included. Longer: ErrURITooLong (414). Default 8 KiB.
	MaxRequestLine int
	// MaxFieldLine is the longest field line in bytes, CRLF included.
	// Longer: ErrHeaderTooLarge (431). Default 8 KiB.
	MaxFieldLine int
	// MaxHeaderBytes caps the whole head: start line, field lines and the
	// empty line. Larger: ErrHeaderTooLarge (431). Default 64 KiB.
	MaxHeaderBytes int
	// MaxHeaders caps the number of field lines. More: ErrTooManyHeaders
	// (431). Zero means no cap but the byte limits, as nginx counts no
	// fields: a request with 150 short fields in 4 KiB is served by nginx
	// 1.22.1, and a count cap below what the bytes allow refused it.
	MaxHeaders int
	// HeaderBuffer, when positive, has a request head read as nginx reads
	// it (ngx_http_alloc_large_header_buffer): into a first buffer of this
	// many bytes (client_header_buffer_size), where any line fits, and
	// when the head overflows it, into up to LargeBuffers buffers of
	// LargeBufferSize bytes (large_client_header_buffers), each taking the
	// line that crossed the previous buffer's end (the part of it that had
	// arrived must be shorter than LargeBufferSize) and what follows. A
	// request line that does not fit is ErrURITooLong (414), a field line
	// ErrHeaderTooLarge (431, where nginx answers 400). MaxRequestLine and
	// MaxFieldLine do not apply to request heads then; MaxHeaderBytes
	// does. Zero: the line limits alone.
	HeaderBuffer int
	// LargeBuffers and LargeBufferSize are large_client_header_buffers'
	// number and size, for HeaderBuffer.
	LargeBuffers, LargeBufferSize int
}

// Defaults for Limits.
const (
	DefaultMaxRequestLine = 8 << 10
	DefaultMaxFieldLine   = 8 << 10
	DefaultMaxHeaderBytes = 64 << 10
	// DefaultMaxHeaders is the cap on the fields of a request's trailer
	// section; heads have none by default (Limits.MaxHeaders).
	DefaultMaxHeaders = 100
)

// resolved returns l with zero fields replaced by their defaults.
func (l Limits) resolved() Limits {
	if l.MaxRequestLine <= 0 {
		l.MaxRequestLine = DefaultMaxRequestLine
	}
	if l.MaxFieldLine <= 0 {
		l.MaxFieldLine = DefaultMaxFieldLine
	}
	if l.MaxHeaderBytes <= 0 {
		l.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	return l
}

// headKind says what a head starts with, which decides the error for an
// overlong first line and whether leading empty lines are skipped.
type headKind uint8

const (
	headRequest  headKind = iota // request line first; leading CRLFs skipped (RFC 9112 section 2.2)
	headResponse                 // status line first
	headTrailer                  // no start line: the trailer section of a chunked body
)

// headScan checks the lines of one head as they arrive, so that both the
// bufio.Reader and the byte-slice entry points enforce the same limits and
// line-terminator rules before any field is parsed.
type headScan struct {
	lim   Limits
	kind  headKind
	lines int // non-empty lines accepted so far, start line included
	total int // bytes of the head so far, skipped leading CRLFs included
	kept  int // bytes of the accepted lines, skipped leading CRLFs excluded
	// bufEnd and nbusy follow nginx's buffers when lim.HeaderBuffer is
	// set: the offset (counted as total) where the current buffer ends,
	// zero before the first line, and the large buffers taken so far.
	bufEnd, nbusy int
	// overflow says the buffers refused a line; held is how much of it
	// nginx's buffer held, prevKept where the last accepted field line
	// begins in the kept bytes (-1 before any).
	overflow       bool
	held, prevKept int
}

// sizeErr returns the error for a head over its size limit.
func (s *headScan) sizeErr() error {
	if s.kind == headTrailer {
		return ErrTrailerTooLarge
	}
	return ErrHeaderTooLarge
}

// tooLong checks a line of n bytes against the line and total limits;
// complete says the line has its LF, else more of it may follow.
func (s *headScan) tooLong(n int, complete bool) error {
	if s.lim.HeaderBuffer > 0 && s.kind == headRequest {
		if err := s.buffers(n, complete); err != nil {
			return err
		}
	} else if s.lines == 0 && s.kind != headTrailer {
		if n > s.lim.MaxRequestLine {
			if s.kind == headRequest {
				return ErrURITooLong
			}
			return ErrHeaderTooLarge
		}
	} else if n > s.lim.MaxFieldLine {
		return s.sizeErr()
	}
	if s.total+n > s.lim.MaxHeaderBytes {
		return s.sizeErr()
	}
	return nil
}

// buffers places a line of n bytes starting at s.total in nginx's header
// buffers (Limits.HeaderBuffer), taking large buffers as the line crosses
// the current buffer's end, and returns the error nginx's refusal maps to
// when it cannot. A line that reaches the end of its buffer without its LF
// crosses it (nginx takes the next buffer before reading on); a complete
// line may end exactly there.
func (s *headScan) buffers(n int, complete bool) error {
	if n == 0 {
		return nil
	}
	if s.bufEnd == 0 {
		s.bufEnd = s.lim.HeaderBuffer
	}
	start, end := s.total, s.total+n
	for end > s.bufEnd || !complete && end == s.bufEnd {
		switch {
		case s.lines == 0 && (start == s.bufEnd || complete && n <= 2):
			// Only CRLFs (or LFs) before the request line: nginx
			// starts its first buffer over.
			s.bufEnd += s.lim.HeaderBuffer
			continue
		case start == s.bufEnd:
			// A line boundary at the buffer's end: nothing to copy.
		case s.bufEnd-start >= s.lim.LargeBufferSize:
			return s.bufferErr(s.bufEnd - start)
		}
		if s.nbusy >= s.lim.LargeBuffers {
			return s.bufferErr(s.bufEnd - start)
		}
		s.nbusy++
		s.bufEnd = start + s.lim.LargeBufferSize
	}
	return nil
}

// bufferErr is the refusal of a line that nginx's buffers cannot hold,
// held bytes of which its last buffer took: 414 for the request line
// ("client sent too long URI"), else what nginx logs as "client sent too
// long header line" (or "too large request").
func (s *headScan) bufferErr(held int) error {
	s.overflow, s.held = true, held
	if s.lines == 0 {
		return ErrURITooLong
	}
	return ErrHeaderTooLarge
}

// line accepts one complete line, LF included. It reports end at the empty
// line that closes the head and skip for an empty line to drop before a
// request line.
func (s *headScan) line(l []byte) (end, skip bool, err error) {
	if err := s.tooLong(len(l), true); err != nil {
		return false, false, err
	}
	if len(l) == 1 && s.kind == headRequest && s.lines == 0 {
		// An empty line of a bare LF before the request line is skipped
		// as a CRLF is (RFC 9112 section 2.2), as nginx 1.22.1 skips it:
		// nothing before it can be read another way (recorded with
		// scripts/request-nginx-sweep.py: "\ndef" left after a body got
		// "client sent invalid method", "\nGET / ..." is served).
		s.total++
		return false, true, nil
	}
	if len(l) < 2 || l[len(l)-2] != '\r' {
		return false, false, ErrBareLF
	}
	content := l[:len(l)-2]
	if bytes.IndexByte(content, '\r') >= 0 {
		return false, false, ErrBareCR
	}
	s.total += len(l)
	if len(content) == 0 {
		switch {
		case s.lines > 0 || s.kind == headTrailer:
			return true, false, nil
		case s.kind == headRequest:
			return false, true, nil
		default:
			return false, false, ErrStatusLine
		}
	}
	s.lines++
	fields := s.lines
	if s.kind != headTrailer {
		fields--
	}
	if s.lim.MaxHeaders > 0 && fields > s.lim.MaxHeaders {
		if s.kind == headTrailer {
			return false, false, ErrTrailerTooLarge
		}
		return false, false, ErrTooManyHeaders
	}
	if s.lines > 1 {
		s.prevKept = s.kept
	}
	s.kept += len(l)
	return false, false, nil
}

// checkStartLine refuses a request line that cannot parse as soon as it has
// come (l is the line with its CRLF), before the rest of the head: nginx
// parses the request line on its own and answers 400 at its end (recorded
// with nginx 1.22.1: "BADREQUEST", "GET" and "get / HTTP/1.1" and
// "BAD REQUEST" with CRLF and nothing after them got 400 and "client sent
// invalid method" or "client sent invalid request" at once, where fulcrum
// waited for the head's end, up to client_header_timeout). Only readHead,
// for a head that did not come in one read, checks here; a head read whole
// is parsed once, by Request.parse.
func (s *headScan) checkStartLine(l []byte) error {
	if s.kind != headRequest || s.lines != 1 {
		return nil
	}
	var r Request
	return ParseRequestLine(l[:len(l)-2], &r)
}

// startLineError returns the error of the request line that starts b, the
// whole lines of a request head scanned so far, or nil (no request line
// yet, or a good one).
func (s *headScan) startLineError(b []byte) error {
	if s.kind != headRequest || s.lines == 0 {
		return nil
	}
	i := bytes.IndexByte(b, '\n')
	if i < 1 || b[i-1] != '\r' {
		return nil
	}
	var r Request
	return ParseRequestLine(b[:i-1], &r)
}

// readHead appends the lines of one head from br to dst, up to and including
// the empty line, and returns the extended slice. A clean end of input
// before the first byte of a head is io.EOF; inside one, or after empty lines
// before a request line, it is io.ErrUnexpectedEOF. Empty lines before a
// request line are not kept.
func readHead(br *bufio.Reader, dst []byte, s *headScan) ([]byte, error) {
	start := len(dst) // where the current line begins in dst
	for {
		pending, fault, rerr := waitLine(br, dst[start:], s)
		if fault != nil {
			return append(dst, pending...), fault
		}
		var frag []byte
		var err error
		if rerr != nil {
			// waitLine's read took the error ReadSlice would have
			// returned with the same bytes.
			frag, err = pending, rerr
		} else {
			frag, err = br.ReadSlice('\n')
		}
		dst = append(dst, frag...)
		switch err {
		case nil:
			end, skip, lerr := s.line(dst[start:])
			switch {
			case lerr != nil:
				return dst, lerr
			case end:
				return dst, nil
			case skip:
				dst = dst[:start]
			default:
				if perr := s.checkStartLine(dst[start:]); perr != nil {
					return dst, perr
				}
				start = len(dst)
			}
		case bufio.ErrBufferFull:
			if lerr := s.tooLong(len(dst)-start, false); lerr != nil {
				return dst, lerr
			}
		default:
			if err == io.EOF {
				// A line already over its limit is that error, as
				// scanHead reports it (nginx answers 414 once its
				// buffer is full, whatever comes after).
				if lerr := s.tooLong(len(dst)-start, false); lerr != nil {
					return dst, lerr
				}
				// Empty lines before a request line count as a
				// request begun (nginx logs a 400 for them).
				if len(dst) > 0 || s.total > 0 || s.kind == headTrailer {
					err = io.ErrUnexpectedEOF
				}
			}
			return dst, err
		}
	}
}

// pendingFault returns the error a line of a request head that has not
// ended yet (held is what of it was taken already, more what follows,
// neither with its LF) is refused for whatever comes after it, or nil.
// nginx 1.22.1 answers 400 as soon as it reads such a byte (recorded with
// scripts/request-nginx-sweep.py), where fulcrum waited for the line's LF,
// up to client_header_timeout, and then answered 408:
//   - in a field line, a CR followed by another byte than LF: ErrBareCR
//     ("\r\n\rhello" after the last field line got 400 and "client sent
//     invalid header line: "\x0d..."" at once);
//   - in the request line, a method byte nginx does not take (anything but
//     A-Z, '_' and '-' before the first space): ErrMethod
//     (the "def" left after a body shorter than its data got 400 and
//     "client sent invalid method" at once, and the connection closed).
func (s *headScan) pendingFault(held, more []byte) error {
	if s.kind != headRequest {
		return nil
	}
	if s.lines == 0 {
		return pendingMethodFault(held, more)
	}
	if len(held) > 0 && held[len(held)-1] == '\r' && len(more) > 0 {
		return ErrBareCR // more has no LF, so its first byte is not one
	}
	if i := bytes.IndexByte(more, '\r'); i >= 0 && i < len(more)-1 {
		return ErrBareCR
	}
	return nil
}

// pendingMethodFault is pendingFault's check of a request line's method.
// A line that starts with a CR (the CRLFs nginx skips before a request
// line, or a bare CR the whole line's checks refuse) is left to them, and
// so is a method longer than what was held (refused as too long anyway).
func pendingMethodFault(held, more []byte) error {
	line := more
	if len(held) > 0 {
		line = held
	}
	if len(line) == 0 || line[0] == '\r' {
		return nil
	}
	for _, c := range line {
		switch {
		case c == ' ':
			return nil // a space first is the whole line's ErrRequestLine
		case (c < 'A' || c > 'Z') && c != '_' && c != '-':
			return ErrMethod
		}
	}
	return nil
}

// waitLine waits, before br.ReadSlice would, for the next line of a request
// head to be whole in br, so that a line pendingFault refuses is refused as
// soon as the byte at fault has come rather than when (if ever) its LF
// does: fault is that refusal, and pending is what br held of the line
// (taken from br). A read that fails first returns its error as rerr with
// the bytes br held (taken from br), as ReadSlice would have returned them
// (br hands a read error out once). A line longer than br's buffer is left
// to ReadSlice.
func waitLine(br *bufio.Reader, held []byte, s *headScan) (pending []byte, fault, rerr error) {
	if s.kind != headRequest {
		return nil, nil, nil
	}
	for {
		n := br.Buffered()
		buf, _ := br.Peek(n)
		if bytes.IndexByte(buf, '\n') >= 0 || n == br.Size() {
			return nil, nil, nil
		}
		if err := s.pendingFault(held, buf); err != nil {
			pending = append([]byte(nil), buf...)
			br.Discard(n)
			return pending, err, nil
		}
		if _, err := br.Peek(n + 1); err != nil && err != bufio.ErrBufferFull {
			n = br.Buffered()
			buf, _ = br.Peek(n)
			pending = append([]byte(nil), buf...)
			br.Discard(n)
			return pending, nil, err
		}
	}
}

// readWholeHead appends one head from br to dst like readHead, but first
// tries the common case of a head already wholly buffered: then it is
// checked in place and copied in one go.
func readWholeHead(br *bufio.Reader, dst []byte, s *headScan) ([]byte, error) {
	if n := br.Buffered(); n > 0 {
		buf, _ := br.Peek(n)
		fast := *s
		end, start, err := scanHead(buf, &fast)
		switch err {
		case nil:
			*s = fast
			dst = append(dst, buf[start:end]...)
			br.Discard(end)
			return dst, nil
		case ErrIncomplete:
		default:
			// What was read of the refused head stays readable (Raw),
			// for the log line, with the unterminated line a size limit
			// refused (as readHead keeps it).
			*s = fast
			if (err == ErrURITooLong || err == ErrHeaderTooLarge) && bytes.IndexByte(buf[end:], '\n') < 0 {
				end = len(buf)
			}
			return append(dst, buf[start:end]...), err
		}
	}
	return readHead(br, dst, s)
}

// scanHead finds one head at the start of b. It returns the offset just past
// the empty line ending it and the offset where it starts (after skipped
// leading CRLFs). Without a whole head and within the limits it returns
// ErrIncomplete.
func scanHead(b []byte, s *headScan) (end, start int, err error) {
	pos := 0
	for {
		i := bytes.IndexByte(b[pos:], '\n')
		if i < 0 {
			if lerr := s.tooLong(len(b)-pos, false); lerr != nil {
				return pos, start, lerr
			}
			if perr := s.pendingFault(nil, b[pos:]); perr != nil {
				// nginx parses the request line first: a bad one is
				// the head's error, as readHead's checkStartLine finds.
				if lerr := s.startLineError(b[start:pos]); lerr != nil {
					return len(b), start, lerr
				}
				return len(b), start, perr
			}
			return pos, start, ErrIncomplete
		}
		l := b[pos : pos+i+1]
		done, skip, lerr := s.line(l)
		pos += len(l)
		switch {
		case lerr != nil:
			return pos, start, lerr
		case done:
			return pos, start, nil
		case skip:
			start = pos
		}
	}
}

// cutLine splits a checked head at its first LF: line is without its CRLF.
func cutLine(b []byte) (line, rest []byte) {
	i := bytes.IndexByte(b, '\n')
	return b[:i-1], b[i+1:]
}

// parseFields parses the field lines of a checked head (every line ends in
// CRLF, no bare CR, the last line is empty) and appends them to dst.
func parseFields(dst Headers, b []byte) (Headers, error) {
	for first := true; ; first = false {
		line, rest := cutLine(b)
		b = rest
		if len(line) == 0 {
			return dst, nil
		}
		h, err := parseFieldLine(line, first)
		if err != nil {
			return dst, err
		}
		dst = append(dst, h)
	}
}

// parseFieldLine parses "name:OWS value OWS" (RFC 9112 section 5) strictly.
func parseFieldLine(line []byte, first bool) (Header, error) {
	if isOWS(line[0]) {
		if first {
			return Header{}, ErrLeadingWhitespace
		}
		return Header{}, ErrObsFold
	}
	colon := bytes.IndexByte(line, ':')
	if colon < 0 {
		return Header{}, ErrMissingColon
	}
	name := line[:colon]
	if err := checkFieldName(name); err != nil {
		return Header{}, err
	}
	value := trimOWS(line[colon+1:])
	for _, c := range value {
		if charClass[c]&cValue == 0 {
			return Header{}, ErrControlChar
		}
	}
	return Header{Name: name, Value: value}, nil
}

// checkFieldName returns nil for a token, else the most telling error.
func checkFieldName(name []byte) error {
	if len(name) == 0 {
		return ErrFieldName
	}
	if isOWS(name[len(name)-1]) {
		return ErrSpaceBeforeColon
	}
	for _, c := range name {
		if charClass[c]&cToken == 0 {
			if isCTL(c) {
				return ErrControlChar
			}
			return ErrFieldName
		}
	}
	return nil
}

// headBuf is the pooled storage of one message head: the bytes read from the
// connection and the backing array of its Headers.
type headBuf struct {
	b []byte
	h Headers
}

// maxPooledHead is the largest byte buffer kept in the pool; a bigger one
// (from a head raised above the default limits) is left to the collector.
const maxPooledHead = DefaultMaxHeaderBytes + 4096

// headBufs is a cache of head buffers shared by every connection. It holds no
// state that matters: a buffer comes out empty and goes back cleared.
var headBufs = sync.Pool{New: func() any {
	return &headBuf{b: make([]byte, 0, 4096), h: make(Headers, 0, 32)}
}}

// getHeadBuf takes an empty head buffer from the pool.
func getHeadBuf() *headBuf { return headBufs.Get().(*headBuf) }

// putHeadBuf returns hb to the pool. hs is the Headers slice built on hb.h
// (maybe grown past it); its entries are cleared so that the pool does not
// keep the caller's bytes alive.
func putHeadBuf(hb *headBuf, hs Headers) {
	clear(hs) // entries past len(hs) were never set or were cleared before
	if cap(hs) > cap(hb.h) {
		hb.h = hs
	}
	hb.h = hb.h[:0]
	if cap(hb.b) > maxPooledHead {
		hb.b = make([]byte, 0, 4096)
	}
	hb.b = hb.b[:0]
	headBufs.Put(hb)
}
