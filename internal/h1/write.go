package h1

import (
	"io"
	"net"
	"strconv"
)

// The serialisers append to dst and return the extended slice, like
// strconv.AppendInt: with enough capacity in dst they do not allocate. They
// write what they are given; values that do not come from the parser must be
// checked first (ValidFieldName, ValidFieldValue), or a CR LF in one would
// split the message.

// AppendRequestLine appends "method SP target SP version CRLF".
func AppendRequestLine(dst, method, target []byte, v Version) []byte {
	dst = append(dst, method...)
	dst = append(dst, ' ')
	dst = append(dst, target...)
	dst = append(dst, ' ')
	dst = append(dst, v.String()...)
	return append(dst, '\r', '\n')
}

// AppendStatusLine appends "version SP code SP reason CRLF". A nil reason
// takes ReasonPhrase(status).
func AppendStatusLine(dst []byte, v Version, status int, reason []byte) []byte {
	if status == 200 && v == HTTP11 && (reason == nil || string(reason) == "OK") {
		return append(dst, "HTTP/1.1 200 OK\r\n"...) // most heads', in one copy
	}
	dst = append(dst, v.String()...)
	dst = append(dst, ' ')
	dst = strconv.AppendInt(dst, int64(status), 10)
	dst = append(dst, ' ')
	if reason == nil {
		return append(append(dst, ReasonPhrase(status)...), '\r', '\n')
	}
	dst = append(dst, reason...)
	return append(dst, '\r', '\n')
}

// AppendHeader appends one field line "name: value CRLF". name and value may
// each be a string or a byte slice.
func AppendHeader[N, V ~string | ~[]byte](dst []byte, name N, value V) []byte {
	dst = append(dst, name...)
	dst = append(dst, ':', ' ')
	dst = append(dst, value...)
	return append(dst, '\r', '\n')
}

// AppendContentLength appends "Content-Length: n CRLF".
func AppendContentLength(dst []byte, n int64) []byte {
	dst = append(dst, "Content-Length: "...)
	dst = strconv.AppendInt(dst, n, 10)
	return append(dst, '\r', '\n')
}

// AppendHeaders appends every field of hs as a field line.
func AppendHeaders(dst []byte, hs Headers) []byte {
	for _, h := range hs {
		dst = AppendHeader(dst, h.Name, h.Value)
	}
	return dst
}

// AppendRequestHead appends a whole request head: request line, the fields
// of hs, and the empty line.
func AppendRequestHead(dst, method, target []byte, v Version, hs Headers) []byte {
	dst = AppendRequestLine(dst, method, target, v)
	dst = AppendHeaders(dst, hs)
	return append(dst, '\r', '\n')
}

// AppendResponseHead appends a whole response head: status line (a nil
// reason takes ReasonPhrase), the fields of hs, and the empty line.
func AppendResponseHead(dst []byte, v Version, status int, reason []byte, hs Headers) []byte {
	dst = AppendStatusLine(dst, v, status, reason)
	dst = AppendHeaders(dst, hs)
	return append(dst, '\r', '\n')
}

// ChunkedWriter encodes a body of unknown length with the chunked coding:
// each Write becomes one chunk, Finish writes the last chunk and trailers.
// Each chunk goes out with one vectored write (writev on a network
// connection). It is reusable through Reset; not safe for concurrent use.
type ChunkedWriter struct {
	w    io.Writer
	size [18]byte    // chunk-size line: up to 16 hex digits and CRLF
	vec  [3][]byte   // size line, data, CRLF
	bufs net.Buffers // view of vec consumed by WriteTo
	tail []byte      // scratch for the last chunk and trailers
}

// Reset makes c write to w.
func (c *ChunkedWriter) Reset(w io.Writer) {
	c.w = w
	c.tail = c.tail[:0]
}

// crlf is the chunk-data terminator.
const crlf = "\r\n"

// Write writes p as one chunk. An empty p writes nothing (a zero-size chunk
// would end the body).
func (c *ChunkedWriter) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	line := strconv.AppendUint(c.size[:0], uint64(len(p)), 16)
	line = append(line, crlf...)
	c.vec = [3][]byte{line, p, c.size[len(line)-2 : len(line)]}
	c.bufs = c.vec[:]
	n, err := c.bufs.WriteTo(c.w)
	clear(c.vec[:]) // do not keep the caller's p
	written := int(n) - len(line)
	if written > len(p) {
		written = len(p)
	}
	if written < 0 {
		written = 0
	}
	if err == nil && int(n) < len(line)+len(p)+2 {
		err = io.ErrShortWrite
	}
	return written, err
}

// Finish ends the body: the last chunk, then trailers (which the caller has
// filtered; see ChunkedReader.Trailers), then the final CRLF.
func (c *ChunkedWriter) Finish(trailers Headers) error {
	c.tail = append(c.tail[:0], '0', '\r', '\n')
	c.tail = AppendHeaders(c.tail, trailers)
	c.tail = append(c.tail, '\r', '\n')
	_, err := c.w.Write(c.tail)
	return err
}

// ReasonPhrase returns the reason phrase nginx 1.22 writes for a status
// code it answers with itself (its ngx_http_status_lines, checked against
// nginx 1.22.1's responses), "" where nginx writes none ("HTTP/1.1 203 ").
// Its phrases are older than RFC 9110's in places: "302 Moved Temporarily",
// "405 Not Allowed", "408 Request Time-out", "413 Request Entity Too Large",
// "414 Request-URI Too Large", "416 Requested Range Not Satisfiable",
// "503 Service Temporarily Unavailable", "504 Gateway Time-out".
//
// Three kinds of code are not in nginx's table and take RFC 9110's phrase:
// the interim 100, 101 and 103, and 417 and 431, which fulcrum's stricter
// request checks answer (see ../../shared/spec/http-hardening.md) where
// nginx has no phrase.
func ReasonPhrase(code int) string {
	switch {
	case code < 200:
		return reasonPhrase1xx(code)
	case code < 400:
		return reasonPhrase2xx3xx(code)
	case code < 500:
		return reasonPhrase4xx(code)
	}
	return reasonPhrase5xx(code)
}

func reasonPhrase1xx(code int) string {
	switch code {
	case 100:
		return "Continue"
	case 101:
		return "Switching Protocols"
	case 103:
		return "Early Hints"
	}
	return ""
}

func reasonPhrase2xx3xx(code int) string {
	switch code {
	case 200:
		return "OK"
	case 201:
		return "Created"
	case 202:
		return "Accepted"
	case 204:
		return "No Content"
	case 206:
		return "Partial Content"
	case 301:
		return "Moved Permanently"
	case 302:
		return "Moved Temporarily"
	case 303:
		return "See Other"
	case 304:
		return "Not Modified"
	case 307:
		return "Temporary Redirect"
	case 308:
		return "Permanent Redirect"
	}
	return ""
}

func reasonPhrase4xx(code int) string {
	switch code {
	case 400:
		return "Bad Request"
	case 401:
		return "Unauthorized"
	case 402:
		return "Payment Required"
	case 403:
		return "Forbidden"
	case 404:
		return "Not Found"
	case 405:
		return "Not Allowed"
	case 406:
		return "Not Acceptable"
	case 408:
		return "Request Time-out"
	case 409:
		return "Conflict"
	case 410:
		return "Gone"
	case 411:
		return "Length Required"
	case 412:
		return "Precondition Failed"
	case 413:
		return "Request Entity Too Large"
	case 414:
		return "Request-URI Too Large"
	case 415:
		return "Unsupported Media Type"
	case 416:
		return "Requested Range Not Satisfiable"
	case 417: // fulcrum's own (nginx has no phrase)
		return "Expectation Failed"
	case 421:
		return "Misdirected Request"
	case 429:
		return "Too Many Requests"
	case 431: // fulcrum's own (nginx has no phrase)
		return "Request Header Fields Too Large"
	}
	return ""
}

func reasonPhrase5xx(code int) string {
	switch code {
	case 500:
		return "Internal Server Error"
	case 501:
		return "Not Implemented"
	case 502:
		return "Bad Gateway"
	case 503:
		return "Service Temporarily Unavailable"
	case 504:
		return "Gateway Time-out"
	case 505:
		return "HTTP Version Not Supported"
	case 507:
		return "Insufficient Storage"
	}
	return ""
}
