package h1

import (
	"bufio"
	"encoding/binary"
	"math/bits"
)

// The one-pass parsers. Most heads come whole in one read and are plain: a
// request line "METHOD /path HTTP/1.1", a status line "HTTP/1.1 200 OK",
// field lines "Name: value" each ending in CRLF. ReadRequest and
// ReadResponse first try to parse such a head, wholly buffered, in a single
// left-to-right pass that checks each byte once (a table lookup) while it
// splits lines, fields and the target, and counts the fields the
// interpretation acts on. The full path (readWholeHead and
// parse) scans a head several times: once for its end and the line
// checks, then for lines, names, values and counts.
//
// The one-pass parser accepts a subset of what the full path accepts and
// must give exactly the full path's result for it; anything else (a
// leading empty line, another target form or version, a '%' escape it
// cannot vouch for, any byte out of place, a limit approached, a head not
// whole in the buffer, any refusal) makes it give up without having
// consumed or kept anything, and the full path reads the head from the
// start, which decides every error and its details. TestQuickMatchesFull
// and FuzzQuick hold the two paths to the same results.
//
// The window the one-pass parser looks at (what the reader buffered, within
// the head buffer's capacity and the limits; first no more than quickFirst
// bytes of it) is copied into the head buffer first and parsed there, so
// that the result's slices point where they stay; the head is taken from
// the reader only once it parsed.

// quickWindow returns how many of the n buffered bytes the one-pass parser
// may look at: no more than room, what the head buffer holds without
// growing, and within the head's total limits, so that a head found whole
// in them is within those limits.
func quickWindow(n, room int, lim *Limits, request bool) int {
	w := min(n, room, lim.MaxHeaderBytes)
	if request && lim.HeaderBuffer > 0 {
		// Within nginx's first header buffer no large buffer is taken
		// (headScan.buffers): the head fits as it is.
		w = min(w, lim.HeaderBuffer)
	}
	return w
}

// lineLimits returns the most bytes, CRLF included, the one-pass parser
// takes for a start line and a field line: headScan.tooLong's limits
// (none but the window's under HeaderBuffer for a request).
func lineLimits(lim *Limits, request bool) (start, field int) {
	if request && lim.HeaderBuffer > 0 {
		return lim.MaxHeaderBytes, lim.MaxHeaderBytes
	}
	return lim.MaxRequestLine, lim.MaxFieldLine
}

// quickFirst is the window of the one-pass parser's first try: enough for
// most heads, and a small copy when a large body follows the head in the
// reader's buffer. A head that does not end in it is tried again in the
// whole window.
const quickFirst = 1024

// readQuick is ReadRequest's one-pass parse of a plain head wholly in br's
// buffer (see above). On success r is filled as ReadRequest fills it and
// the head is taken from br. Otherwise it reports false with r as it found
// it: an empty head buffer, nothing else set.
func (r *Request) readQuick(br *bufio.Reader, lim *Limits) bool {
	buf, _ := br.Peek(br.Buffered())
	buf = buf[:quickWindow(len(buf), cap(r.hb.b), lim, true)]
	end := r.parseQuick(buf[:min(len(buf), quickFirst)], lim)
	if end == 0 && len(buf) > quickFirst {
		end = r.parseQuick(buf, lim)
	}
	if end == 0 {
		return false
	}
	br.Discard(end)
	return true
}

// parseQuick copies b into r's head buffer and parses the head at its
// start there. It returns the head's length, or 0 with r as it found it.
func (r *Request) parseQuick(b []byte, lim *Limits) int {
	b = append(r.hb.b[:0], b...)
	r.hb.b = b
	startMax, fieldMax := lineLimits(lim, true)
	pos := r.quickRequestLine(b)
	if pos == 0 || pos > startMax {
		r.unquick()
		return 0
	}
	c := fieldCounts{host: -1, length: -1}
	end, hs := quickFields(b, pos, r.hb.h, fieldMax, &c)
	r.Headers = hs
	if end == 0 || lim.MaxHeaders > 0 && len(hs) > lim.MaxHeaders {
		r.unquick()
		return 0
	}
	r.hb.b = b[:end]
	if r.apply(&c) != nil {
		r.unquick()
		return 0
	}
	r.HeadLen = end
	if lim.HeaderBuffer > 0 {
		r.room = int32(lim.HeaderBuffer - end)
	}
	return end
}

// unquick undoes what readQuick set, keeping r's head buffer.
func (r *Request) unquick() {
	hb := r.hb
	clearFields(hb, r.Headers)
	hb.b = hb.b[:0]
	*r = Request{hb: hb}
}

// clearFields clears the entries a parse that gave up wrote in hs, built on
// hb.h, so that a shorter parse after it leaves none behind.
func clearFields(hb *headBuf, hs Headers) {
	clear(hs)
	if cap(hs) != cap(hb.h) {
		clear(hb.h[:cap(hb.h)]) // hs outgrew hb.h after filling it
	}
}

// quickRequestLine parses a request line "METHOD SP /path[?query] SP
// HTTP/1.x CRLF" at the start of b, taking r's slices from b, and returns
// the offset just past it, or 0 for any other line. The method is what
// validMethod accepts, the target an origin-form one that splitPathQuery
// accepts, the version HTTP/1.1 or HTTP/1.0 as written.
func (r *Request) quickRequestLine(b []byte) int {
	pos := 0
	for pos < len(b) && ('A' <= b[pos] && b[pos] <= 'Z' || b[pos] == '_' || b[pos] == '-') {
		pos++
	}
	if pos == 0 || pos+1 >= len(b) || b[pos] != ' ' || b[pos+1] != '/' {
		return 0
	}
	sp1 := pos
	pos++
	q, pct := -1, false
	for ; pos < len(b); pos++ {
		c := b[pos]
		if charClass[c]&cTarget == 0 {
			break
		}
		switch {
		case q >= 0:
		case c == '?':
			q = pos
		case c == '%':
			pct = true
		}
	}
	sp2 := pos
	if len(b)-sp2 < len(" HTTP/1.1\r\n") || string(b[sp2:sp2+len(" HTTP/1.")]) != " HTTP/1." ||
		b[sp2+9] != '\r' || b[sp2+10] != '\n' {
		return 0
	}
	switch b[sp2+8] {
	case '1':
		r.Version = HTTP11
	case '0':
		r.Version = HTTP10
	default:
		return 0
	}
	pathEnd := sp2
	if q >= 0 {
		pathEnd = q
	}
	if pct && !validEscapes(b[sp1+1:pathEnd]) {
		return 0
	}
	r.Method, r.Target, r.Form = b[:sp1], b[sp1+1:sp2], OriginForm
	r.Path = b[sp1+1 : pathEnd]
	if q >= 0 {
		r.Query = b[q+1 : sp2]
	}
	return sp2 + len(" HTTP/1.1\r\n")
}

// validEscapes reports whether every '%' of path starts a %XX escape, as
// splitPathQuery requires.
func validEscapes(path []byte) bool {
	for i, c := range path {
		if c == '%' && (i+2 >= len(path) || charClass[path[i+1]]&cHex == 0 || charClass[path[i+2]]&cHex == 0) {
			return false
		}
	}
	return true
}

// quickFields parses the field lines of a head from b[pos:] to the empty
// line that ends it, appending the fields to hs (slices of b), and counts
// them in c. It returns the offset just past the empty line, or 0 when it
// gives up: a line that is not "token:" followed by field value bytes and
// CRLF, a line longer than fieldMax, no empty line within b. The caller
// checks the number of fields. What it accepts is what scanHead and
// parseFieldLine accept, with the same name and trimmed value. One loop
// without calls but for the rare ones: split into functions, the values it
// keeps in registers were spilled and reloaded around every call, at a
// cost of some hundred instructions a field.
func quickFields(b []byte, pos int, hs Headers, fieldMax int, c *fieldCounts) (end int, _ Headers) {
	for pos+1 < len(b) {
		if b[pos] == '\r' {
			if b[pos+1] != '\n' {
				break
			}
			return pos + 2, hs
		}
		// The name: tchars up to the colon, noting a '_'.
		start := pos
		var classes uint16
		pos += plainNameLen(b[pos:])
		for pos < len(b) {
			k := charClass[b[pos]]
			if k&cToken == 0 {
				break
			}
			classes |= k
			pos++
		}
		if pos == start || pos >= len(b) || b[pos] != ':' {
			break
		}
		name := b[start:pos]
		// The value: field value bytes up to the CR, OWS trimmed.
		pos++
		for pos < len(b) && isOWS(b[pos]) {
			pos++
		}
		vstart := pos
		pos += fieldValueLen(b[pos:])
		vend := pos
		for vend > vstart && isOWS(b[vend-1]) {
			vend--
		}
		if pos+1 >= len(b) || b[pos] != '\r' || b[pos+1] != '\n' || pos+2-start > fieldMax {
			break
		}
		pos += 2
		// fieldCounts.add, written out so that its call is only made for
		// the few names the parser may act on.
		if classes&cOddName != 0 {
			c.odd++
		}
		switch {
		case classes&cUnder != 0:
			c.underscores++
		case mayAct(name):
			c.classify(len(hs), name)
		default:
			c.seen[fieldOther]++
		}
		hs = append(hs, Header{Name: name, Value: b[vstart:vend]})
	}
	return 0, hs
}

// ones and highs are the lowest and the highest bit of each byte of a word.
const ones, highs uint64 = 0x0101010101010101, 0x8080808080808080

// plainNameLen returns the length of the run of letters, digits and '-'
// that b starts with, eight bytes a step while b has eight: most field
// names are made of those alone, and no such byte sets a class bit that
// quickFields notes (cUnder, cOddName). The run ends at the first other
// byte, or where fewer than eight bytes are left; quickFields' loop reads
// on from there byte by byte.
//
// In each byte of a word (bytes from 0x80 up excluded by &^x), adding
// 0x80-lo sets the top bit where the byte is lo or above, adding 0x7f-hi
// where it is above hi, with no carry into the next byte: inRange is the
// first without the second. Letters are tested in lower case (|0x20 maps
// 'A'..'Z' and no other byte to 'a'..'z').
func plainNameLen(b []byte) int {
	inRange := func(x uint64, lo, hi byte) uint64 {
		return (x + (0x80-uint64(lo))*ones) &^ (x + (0x7f-uint64(hi))*ones)
	}
	n := 0
	for len(b) >= 8 {
		x := binary.LittleEndian.Uint64(b)
		d := x ^ '-'*ones                           // a zero byte where x has '-'
		dash := ^((d&^highs + ^highs) | d | ^highs) // its top bit, exactly
		plain := (inRange(x|0x20*ones, 'a', 'z') | inRange(x, '0', '9') | dash) &^ x & highs
		if plain != highs {
			return n + bits.TrailingZeros64(^plain&highs)/8
		}
		b, n = b[8:], n+8
	}
	return n
}

// fieldValueLen returns the length of the run of field value bytes (cValue)
// b starts with.
func fieldValueLen(b []byte) int {
	// Eight bytes a step while none of them is a control byte: values are
	// the longest part of most heads. A byte below 0x20 or 0x7f is found
	// with the borrow of a subtraction: in x-0x20..20, the top bit of a
	// byte is set where it was below 0x20 (bytes from 0x80 up masked by
	// &^x); in y = x^0x7f.., a zero byte is a 0x7f of x, found the same
	// way. A borrow only runs upwards, so the lowest bit set marks the
	// first such byte; a HTAB there is a value byte, and the run goes on
	// after it.
	n := 0
	for len(b) >= 8 {
		x := binary.LittleEndian.Uint64(b)
		y := x ^ 0x7f*ones
		if m := ((x-0x20*ones)&^x | (y-ones)&^y) & highs; m != 0 {
			i := bits.TrailingZeros64(m) / 8
			if b[i] != '\t' {
				return n + i
			}
			b, n = b[i+1:], n+i+1
			continue
		}
		b, n = b[8:], n+8
	}
	for i, ch := range b {
		if charClass[ch]&cValue == 0 {
			return n + i
		}
	}
	return n + len(b)
}

// readQuick is ReadResponse's one-pass parse of a plain head wholly in br's
// buffer, as Request.readQuick is ReadRequest's.
func (r *Response) readQuick(br *bufio.Reader, method []byte, lim *Limits) bool {
	buf, _ := br.Peek(br.Buffered())
	buf = buf[:quickWindow(len(buf), cap(r.hb.b), lim, false)]
	end := r.parseQuick(buf[:min(len(buf), quickFirst)], method, lim)
	if end == 0 && len(buf) > quickFirst {
		end = r.parseQuick(buf, method, lim)
	}
	if end == 0 {
		return false
	}
	br.Discard(end)
	return true
}

// parseQuick is Request.parseQuick for a response head.
func (r *Response) parseQuick(b, method []byte, lim *Limits) int {
	b = append(r.hb.b[:0], b...)
	r.hb.b = b
	startMax, fieldMax := lineLimits(lim, false)
	pos := r.quickStatusLine(b)
	if pos == 0 || pos > startMax {
		r.unquick()
		return 0
	}
	c := fieldCounts{host: -1, length: -1}
	end, hs := quickFields(b, pos, r.hb.h, fieldMax, &c)
	r.Headers = hs
	if end == 0 || lim.MaxHeaders > 0 && len(hs) > lim.MaxHeaders {
		r.unquick()
		return 0
	}
	r.hb.b = b[:end]
	if r.apply(&c, method) != nil {
		r.unquick()
		return 0
	}
	return end
}

// unquick undoes what readQuick set, keeping r's head buffer.
func (r *Response) unquick() {
	hb := r.hb
	clearFields(hb, r.Headers)
	hb.b = hb.b[:0]
	*r = Response{hb: hb}
}

// quickStatusLine parses a status line "HTTP/1.x SP 3DIGIT [SP reason]
// CRLF" at the start of b as parseStatusLine does, and returns the offset
// just past it, or 0 for any other line.
func (r *Response) quickStatusLine(b []byte) int {
	if len(b) < len("HTTP/1.1 200\r\n") || string(b[:len("HTTP/1.")]) != "HTTP/1." || b[8] != ' ' {
		return 0
	}
	switch b[7] {
	case '1':
		r.Version = HTTP11
	case '0':
		r.Version = HTTP10
	default:
		return 0
	}
	// Three DIGITs (a byte below '0' wraps above 9).
	d0, d1, d2 := b[9]-'0', b[10]-'0', b[11]-'0'
	if d0 > 9 || d1 > 9 || d2 > 9 {
		return 0
	}
	code := int(d0)*100 + int(d1)*10 + int(d2)
	if code < 100 || code > 599 {
		return 0
	}
	r.Status = code
	pos := 12
	if b[pos] == ' ' {
		pos++
		for pos < len(b) && charClass[b[pos]]&cReason != 0 {
			pos++
		}
		r.Reason = b[13:pos]
	}
	if pos+1 >= len(b) || b[pos] != '\r' || b[pos+1] != '\n' {
		return 0
	}
	return pos + 2
}
