package h1

import "bytes"

// LineFault finds the field line a request head was refused for, and where
// in it: text is the line up to the first byte at fault and bad that byte,
// as nginx's "client sent invalid header line" line names them (nginx
// writes the text, then the byte as \xHH). It applies the reader's own
// rules for a field line (ErrBareLF, ErrBareCR, ErrControlChar,
// ErrFieldName, ErrSpaceBeforeColon, ErrMissingColon, ErrLeadingWhitespace,
// ErrObsFold) to the lines after the request line of head, as Request.Raw
// returns it; a line without a colon is at fault at its end (its CR). ok is
// false when no field line is at fault. It is meant for logging a refusal,
// not for the request path.
func LineFault(head []byte) (text []byte, bad byte, ok bool) {
	i := bytes.IndexByte(head, '\n')
	if i < 0 {
		return nil, 0, false
	}
	rest := head[i+1:]
	for len(rest) > 0 {
		line := rest
		if j := bytes.IndexByte(rest, '\n'); j >= 0 {
			line = rest[:j+1]
		}
		rest = rest[len(line):]
		at, end := lineFaultAt(line)
		if at >= 0 {
			return line[:at], line[at], true
		}
		if end {
			break
		}
	}
	return nil, 0, false
}

// lineFaultAt returns the offset of the first byte at fault in one field
// line (with its line end), or -1; end reports the empty line that ends a
// head. A line cut short (no LF: the rest never arrived) is at fault only
// for a CR followed by another byte, which the reader refuses without
// waiting for the LF.
func lineFaultAt(l []byte) (at int, end bool) {
	n := len(l)
	if n == 0 {
		return -1, false
	}
	if l[n-1] != '\n' {
		if i := bytes.IndexByte(l, '\r'); i >= 0 && i < n-1 {
			return i, false
		}
		return -1, false
	}
	for i, c := range l[:n-1] {
		if c == '\r' && l[i+1] != '\n' {
			return i, false // a CR not followed by LF
		}
	}
	if n < 2 || l[n-2] != '\r' {
		return n - 1, false // a bare LF
	}
	content := l[:n-2]
	if len(content) == 0 {
		return -1, true
	}
	if isOWS(content[0]) {
		return 0, false // leading whitespace or obs-fold
	}
	colon := bytes.IndexByte(content, ':')
	if colon < 0 {
		return len(content), false // no colon: at fault at the CR
	}
	for i, c := range content[:colon] {
		if charClass[c]&cToken == 0 {
			return i, false
		}
	}
	if colon == 0 {
		return 0, false // an empty name: the colon itself
	}
	for i, c := range content[colon+1:] {
		if charClass[c]&cValue == 0 {
			return colon + 1 + i, false
		}
	}
	return -1, false
}
