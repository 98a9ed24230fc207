package fastcgi

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// maxHead is the default bound of a CGI response head: nginx's
// fastcgi_buffer_size (one page, 4 KiB) holds the whole head, or it answers
// 502 "upstream sent too big header".
const maxHead = 4 << 10

// Errors of a response head, in nginx's words; both are invalid_header for
// fastcgi_next_upstream.
var (
	errInvalidHeader = errors.New("upstream sent invalid header")
	errTooBigHeader  = errors.New("upstream sent too big header")
	errInvalidStatus = errors.New("upstream sent invalid status")
)

// field is one header line of a CGI response, spelled as received.
type field struct{ name, value string }

// head is a parsed CGI response head.
type head struct {
	status int
	// reason is the Status field's text after the code, passed on as the
	// reason phrase as nginx does; empty means the standard one.
	reason string
	fields []field
	// location is the Location field's value, if any.
	location string
}

// readHead reads a CGI response head from br (the STDOUT stream) as nginx's
// ngx_http_fastcgi_process_header: "Name: value" lines up to an empty line
// (LF or CRLF), the status from Status ("404" or "404 Not Found"), else 302
// when there is a Location, else 200. The head is at most limit bytes
// (fastcgi_buffer_size), and when rr is not nil (FastCGI records) it must
// also end inside rr's first limit bytes, framing included
// (recordReader.fits); else it is errTooBigHeader. br's buffer must hold
// limit bytes.
func readHead(br *bufio.Reader, limit int, rr *recordReader) (*head, error) {
	h := &head{}
	size := 0
	// The status comes from an SCGI or uwsgi application's HTTP status
	// line or the first Status field, as nginx keeps the first
	// (ngx_http_upstream_process_header_line).
	var statusLine, statusField status
	for first := true; ; first = false {
		line, err := br.ReadSlice('\n')
		size += len(line)
		if size > limit || errors.Is(err, bufio.ErrBufferFull) || rr != nil && !rr.fits(size) {
			return nil, errTooBigHeader
		}
		if err != nil {
			return nil, err
		}
		line = bytes.TrimSuffix(bytes.TrimSuffix(line, []byte("\n")), []byte("\r"))
		if len(line) == 0 {
			break
		}
		if first {
			// The first line: an SCGI application may answer with an
			// HTTP status line, which nginx reads as Status.
			if rest, ok := bytes.CutPrefix(line, []byte("HTTP/")); ok {
				if at := bytes.IndexAny(line, "\x00\r"); at >= 0 {
					return nil, invalidHeader(line, at)
				}
				if _, st, ok := bytes.Cut(rest, []byte(" ")); ok {
					statusLine = status{string(st), true}
					continue
				}
			}
		}
		i := bytes.IndexByte(line, ':')
		if at := badByte(line, i); at >= 0 {
			return nil, invalidHeader(line, at)
		}
		if i == 0 {
			return nil, errInvalidHeader
		}
		var name, value string
		if i < 0 {
			// A line that is a name alone (token bytes, badByte
			// checked) is a field with an empty value, as nginx's
			// ngx_http_parse_header_line reads it (recorded with nginx
			// 1.22.1: "Nocolon" went out as "Nocolon: ").
			name = string(line)
		} else {
			name = string(line[:i])
			// nginx drops the spaces around a value (a tab after it stays).
			value = string(bytes.TrimRight(bytes.TrimLeft(line[i+1:], " \t"), " "))
		}
		switch {
		case equalFold(name, "Status") && !statusField.ok:
			statusField = status{value, true}
		case equalFold(name, "Location"):
			h.location = value
		}
		h.fields = append(h.fields, field{name, value})
	}
	h.fields = oneLength(h.fields)
	// nginx reads no status line from a FastCGI application (rr): its
	// Status field wins there; SCGI's and uwsgi's status line wins over
	// theirs (recorded from nginx 1.22.1).
	st := statusLine
	if !st.ok || rr != nil && statusField.ok {
		st = statusField
	}
	statusValue := st.value
	switch {
	case st.ok:
		code, err := parseStatus(statusValue)
		if err != nil {
			return nil, err
		}
		h.status = code
		if len(statusValue) > 4 {
			h.reason = statusValue[4:]
		}
	case h.location != "":
		h.status = http.StatusFound
	default:
		h.status = http.StatusOK
	}
	return h, nil
}

// status is a response head's status text ("404 Not Found") and whether
// the head had one.
type status struct {
	value string
	ok    bool
}

// oneLength leaves at most one Content-Length in fields, so that the client
// never gets two: the last one, as nginx 1.22.1 passes on (its
// content_length_n is the last field's), and none when that one is not a
// plain number (nginx's ngx_atoof fails, and the body goes out chunked).
func oneLength(fields []field) []field {
	last := -1
	for i, f := range fields {
		if equalFold(f.name, "Content-Length") {
			last = i
		}
	}
	if last < 0 {
		return fields
	}
	keep := validLength(fields[last].value)
	out := fields[:0]
	for i, f := range fields {
		if equalFold(f.name, "Content-Length") && (i != last || !keep) {
			continue
		}
		out = append(out, f)
	}
	return out
}

// validLength reports whether v is 1*DIGIT that fits in an int64.
func validLength(v string) bool {
	if v == "" || strings.TrimLeft(v, "0123456789") != "" {
		return false
	}
	_, err := strconv.ParseInt(v, 10, 64)
	return err == nil
}

// parseStatus reads the three digits at the start of a Status value. A
// value nginx 1.22.1 cannot read (fewer than three digits) is its
// error, naming the value ("upstream sent invalid status "20""); one it
// passes on as the client's status line although it is not an HTTP status
// ("1000", "099", "200x", "0200", "200<TAB>OK": recorded) is
// errInvalidStatus too, alone, where fulcrum differs (docs/directives.md),
// so that no malformed status line reaches the client.
func parseStatus(v string) (int, error) {
	if len(v) < 3 || strings.Trim(v[:3], "0123456789") != "" {
		return 0, fmt.Errorf("%w \"%s\"", errInvalidStatus, v)
	}
	code, err := strconv.Atoi(v[:3])
	if err != nil || code < 100 || code > 999 || len(v) > 3 && v[3] != ' ' {
		return 0, errInvalidStatus
	}
	return code, nil
}

// badByte returns the index of the first byte of a head line that makes
// it invalid, or -1: in the name (up to colon, the index of the first ':',
// or the whole line without one) a byte that is not a token's, in the
// value a NUL or a CR (the line's own CRLF is cut off before), as nginx's
// ngx_http_parse_header_line, which answers such a line with 502 so that
// it never reaches the client.
func badByte(line []byte, colon int) int {
	name := line
	if colon >= 0 {
		name = line[:colon]
	}
	for i, c := range name {
		if !tokenByte(c) {
			return i
		}
	}
	if colon < 0 {
		return -1
	}
	if at := bytes.IndexAny(line[colon:], "\x00\r"); at >= 0 {
		return colon + at
	}
	return -1
}

// invalidHeader is errInvalidHeader for line, whose byte at is where nginx
// stopped, in the words of nginx's error line: the line up to that byte,
// the byte in hex, and "...".
func invalidHeader(line []byte, at int) error {
	return fmt.Errorf("%w: \"%s\\x%02x...\"", errInvalidHeader, line[:at], line[at])
}

// tokenByte reports whether c may be in a token (RFC 9110 field name).
func tokenByte(c byte) bool {
	return c > ' ' && c < 0x7f && strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) < 0
}

// equalFold compares ASCII strings case-insensitively.
func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range len(a) {
		x, y := a[i]|0x20, b[i]|0x20
		if x != y {
			return false
		}
	}
	return true
}
