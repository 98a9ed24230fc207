// Package memcached is fulcrum's client for nginx's
// ngx_http_memcached_module: it asks a memcached server for the value of
// $memcached_key with one "get" command and answers the request with it
// (200 with the value, 404 when the server has none), on the same upstream
// pools and balancing as the proxy.
package memcached

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
)

// AppendKey appends key escaped the way nginx sends it (ngx_escape_uri with
// NGX_ESCAPE_MEMCACHED): the control bytes 0x00-0x1f, the space and "%"
// as "%XX" with upper-case hex digits, every other byte as it is.
func AppendKey(dst, key []byte) []byte {
	const hex = "0123456789ABCDEF"
	for _, c := range key {
		if c <= ' ' || c == '%' {
			dst = append(dst, '%', hex[c>>4], hex[c&0xf])
			continue
		}
		dst = append(dst, c)
	}
	return dst
}

// AppendRequest appends the command that asks for the value of an escaped
// key (AppendKey's output): "get KEY\r\n".
func AppendRequest(dst, escapedKey []byte) []byte {
	dst = append(dst, "get "...)
	dst = append(dst, escapedKey...)
	return append(dst, '\r', '\n')
}

// Head is what the first line of a reply says.
type Head struct {
	// Found is a "VALUE" reply (200); false is "END" alone (404).
	Found bool
	// Gzip is set when the value's flags share a bit with the gzip flag
	// (memcached_gzip_flag): the value is sent with "Content-Encoding:
	// gzip".
	Gzip bool
	// Length is the value's length in bytes (0 for END).
	Length int64
}

// ReplyError is a first line that nginx refuses as an invalid response (a
// 502, and a failure of the server unless the client left). Its text is
// nginx's error log message, without the phase.
type ReplyError struct{ msg string }

func (e *ReplyError) Error() string { return e.msg }

// ErrTooBig is a first line longer than the buffer (memcached_buffer_size);
// its text is nginx's.
var ErrTooBig = errors.New("upstream sent too big header")

// ReadHead reads and parses the first line of a reply to "get KEY" for the
// escaped key. gzipFlag is memcached_gzip_flag (0: the flags are not
// looked at). A line that does not fit in br's buffer is ErrTooBig; one
// nginx refuses is a *ReplyError; an error of br (a timeout, the
// connection's end) is returned as it is.
func ReadHead(br *bufio.Reader, escapedKey []byte, gzipFlag uint64) (Head, error) {
	line, err := br.ReadSlice('\n')
	switch {
	case errors.Is(err, bufio.ErrBufferFull):
		return Head{}, ErrTooBig
	case err != nil:
		return Head{}, err
	}
	return ParseHead(line[:len(line)-1], escapedKey, gzipFlag)
}

// ParseHead parses a first line (without its LF) as nginx's
// ngx_http_memcached_process_header: "VALUE KEY FLAGS LENGTH\r" for the
// key asked for, or "END\r".
func ParseHead(line, escapedKey []byte, gzipFlag uint64) (Head, error) {
	if len(line) == 0 || line[len(line)-1] != '\r' {
		return Head{}, invalid(line)
	}
	text := line[:len(line)-1] // what nginx logs: the line without CR
	if string(text) == "END" {
		return Head{}, nil
	}
	rest, ok := bytes.CutPrefix(line, []byte("VALUE "))
	if !ok {
		return Head{}, invalid(text)
	}
	if !bytes.HasPrefix(rest, escapedKey) {
		return Head{}, &ReplyError{fmt.Sprintf(`memcached sent invalid key in response "%s" for key "%s"`, text, escapedKey)}
	}
	rest = rest[len(escapedKey):]
	if rest[0] != ' ' { // rest ends with the CR, so it is not empty
		return Head{}, invalid(text)
	}
	rest = rest[1:]
	sp := bytes.IndexByte(rest, ' ')
	if sp < 0 {
		return Head{}, invalid(text)
	}
	h := Head{Found: true}
	if gzipFlag != 0 {
		flags, ok := atoi(rest[:sp])
		if !ok {
			return Head{}, &ReplyError{fmt.Sprintf(`memcached sent invalid flags in response "%s" for key "%s"`, text, escapedKey)}
		}
		h.Gzip = uint64(flags)&gzipFlag != 0
	}
	n, ok := atoi(rest[sp+1 : len(rest)-1])
	if !ok {
		return Head{}, &ReplyError{fmt.Sprintf(`memcached sent invalid length in response "%s" for key "%s"`, text, escapedKey)}
	}
	h.Length = n
	return h, nil
}

// invalid is nginx's message for a reply it cannot read.
func invalid(line []byte) error {
	return &ReplyError{fmt.Sprintf(`memcached sent invalid response: "%s"`, line)}
}

// Trailer is what follows a value: CRLF, "END", CRLF.
const Trailer = "\r\nEND\r\n"

// atoi is nginx's ngx_atoi and ngx_atoof: one or more decimal digits and
// nothing else, at most the largest int64.
func atoi(b []byte) (int64, bool) {
	if len(b) == 0 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := int64(c - '0')
		if n > (1<<63-1-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	return n, true
}
