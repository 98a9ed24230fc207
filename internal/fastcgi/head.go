package fastcgi

import (
	"bufio"
	"bytes"
	"errors"
	"net/http"
	"strconv"
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
	var statusValue string
	hasStatus := false
	for first := true; ; first = false {
		line, err := br.ReadSlice('\n')
		size += len(line)
		if size > limit || errors.Is(err, bufio.ErrBufferFull) || rr != nil && !rr.fits(size) {
			return nil, errTooBigHeader
		}
		if err != nil {
			return nil, err
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			break
		}
		if first {
			// The first line: an SCGI application may answer with an
			// HTTP status line, which nginx reads as Status.
			if rest, ok := bytes.CutPrefix(line, []byte("HTTP/")); ok {
				if _, st, ok := bytes.Cut(rest, []byte(" ")); ok {
					statusValue, hasStatus = string(st), true
					continue
				}
			}
		}
		i := bytes.IndexByte(line, ':')
		if i <= 0 || !validName(line[:i]) {
			return nil, errInvalidHeader
		}
		name := string(line[:i])
		value := string(bytes.TrimLeft(line[i+1:], " \t"))
		switch {
		case equalFold(name, "Status"):
			statusValue, hasStatus = value, true
		case equalFold(name, "Location"):
			h.location = value
		}
		h.fields = append(h.fields, field{name, value})
	}
	switch {
	case hasStatus:
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

// parseStatus reads the three digits at the start of a Status value.
func parseStatus(v string) (int, error) {
	if len(v) < 3 {
		return 0, errInvalidStatus
	}
	code, err := strconv.Atoi(v[:3])
	if err != nil || code < 100 || code > 999 || len(v) > 3 && v[3] != ' ' {
		return 0, errInvalidStatus
	}
	return code, nil
}

// validName reports whether b is a token (RFC 9110 field name).
func validName(b []byte) bool {
	for _, c := range b {
		if c <= ' ' || c >= 0x7f || bytes.IndexByte([]byte(`"(),/:;<=>?@[\]{}`), c) >= 0 {
			return false
		}
	}
	return true
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
