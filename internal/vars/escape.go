package vars

import (
	"encoding/binary"
	"fmt"
)

// Escape is a log_format escape= mode.
type Escape uint8

const (
	// EscapeDefault escapes '"', '\\', and bytes below 32 or above 126 as
	// \xHH (upper-case hex), and writes a not-found variable as "-".
	EscapeDefault Escape = iota
	// EscapeJSON escapes as a JSON string body: '"' and '\\' get a
	// backslash, \n \r \t \b \f their short forms, other bytes below 32
	// \u00HH (upper-case hex); bytes from 0x7f up pass unchanged, as in
	// nginx's ngx_escape_json. A not-found variable writes nothing.
	EscapeJSON
	// EscapeNone copies values unchanged; a not-found variable writes
	// nothing.
	EscapeNone
)

// ParseEscape parses the value of log_format's escape= parameter.
func ParseEscape(s string) (Escape, error) {
	switch s {
	case "default":
		return EscapeDefault, nil
	case "json":
		return EscapeJSON, nil
	case "none":
		return EscapeNone, nil
	}
	return 0, fmt.Errorf(`unknown log format escaping "%s"`, s)
}

// String returns the mode's name as written in log_format.
func (e Escape) String() string {
	switch e {
	case EscapeDefault:
		return "default"
	case EscapeJSON:
		return "json"
	case EscapeNone:
		return "none"
	}
	return fmt.Sprintf("Escape(%d)", uint8(e))
}

// Append appends v to dst escaped in mode e.
func (e Escape) Append(dst, v []byte) []byte {
	switch e {
	case EscapeDefault:
		return AppendEscapeDefault(dst, v)
	case EscapeJSON:
		return AppendEscapeJSON(dst, v)
	}
	return append(dst, v...)
}

// needed reports whether v has a byte that mode e changes. It runs over
// every variable of every access log line, so it looks at eight bytes at a
// time (see escapableWord): a value of 4 to 7 bytes is one word of two
// overlapping halves, one of 1 to 3 bytes one word of its first, middle and
// last bytes among plain letters (as runtime.memhash reads short keys).
func (e Escape) needed(v []byte) bool {
	if e != EscapeDefault && e != EscapeJSON {
		return false
	}
	high := e == EscapeDefault
	n := len(v)
	switch {
	case n >= 8:
		// The last word ends at the value's end (it may overlap the one before).
		last := binary.LittleEndian.Uint64(v[n-8:])
		for ; len(v) > 8; v = v[8:] {
			if escapableWord(binary.LittleEndian.Uint64(v), high) {
				return true
			}
		}
		return escapableWord(last, high)
	case n >= 4:
		w := uint64(binary.LittleEndian.Uint32(v)) | uint64(binary.LittleEndian.Uint32(v[n-4:]))<<32
		return escapableWord(w, high)
	case n > 0:
		w := 'a'*ones&^0xffffff | uint64(v[0]) | uint64(v[n/2])<<8 | uint64(v[n-1])<<16
		return escapableWord(w, high)
	}
	return false
}

// cleanValue reports whether the values of the built-in variable name (lower
// case) are digits and ASCII punctuation only, never a byte that a
// log_format escape= mode changes, so that AppendEscaped need not look at
// them: the counters, times and the status of the access log formats. A
// built-in name cannot be redefined (Compiler.Define), so the name alone
// tells. TestCleanValues holds each to it.
func cleanValue(name string) bool {
	switch name {
	case "status", "body_bytes_sent", "bytes_sent", "request_length",
		"time_local", "time_iso8601", "msec", "request_time", "connection_time",
		"connection", "connection_requests":
		return true
	}
	return false
}

// Word-at-a-time byte tests ("Bit Twiddling Hacks", hasless and haszero):
// for a word w, (w - n*ones) &^ w & highs is non-zero exactly when some
// byte of w is below n (0 < n <= 128). The result says whether such a byte
// exists, not which one, which is all needed asks.
const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// escapableWord reports whether one of w's eight bytes is below 0x20, '"' or
// '\\', or, with high, 0x7f or above: a byte escape=default (high) or
// escape=json changes.
func escapableWord(w uint64, high bool) bool {
	var r uint64
	if high {
		// A byte of 0x80 or above has its top bit set, 0x7f sets it when
		// one is added, and one below 0x20 leaves it clear when 0x60 is.
		// Only a byte with its top bit set carries into the next one, and
		// it makes the answer true whatever the carry changes.
		r = w | (w + ones) | ^(w + 0x60*ones)
	} else {
		r = (w - 0x20*ones) &^ w // a byte below 0x20
	}
	quote := w ^ ('"' * ones)
	backslash := w ^ ('\\' * ones)
	r |= (quote-ones)&^quote | (backslash-ones)&^backslash
	return r&highs != 0
}

const upperHex = "0123456789ABCDEF"

func needsDefaultEscape(b byte) bool {
	return b < 0x20 || b > 0x7e || b == '"' || b == '\\'
}

// AppendEscapeDefault appends v to dst escaped as nginx's log_format
// escape=default (ngx_http_log_escape) does.
func AppendEscapeDefault(dst, v []byte) []byte {
	for _, b := range v {
		if needsDefaultEscape(b) {
			dst = append(dst, '\\', 'x', upperHex[b>>4], upperHex[b&0xf])
			continue
		}
		dst = append(dst, b)
	}
	return dst
}

// AppendEscapeJSON appends v to dst escaped as nginx's log_format
// escape=json (ngx_escape_json) does. It does not validate UTF-8.
func AppendEscapeJSON(dst, v []byte) []byte {
	for _, b := range v {
		if b > 0x1f {
			if b == '"' || b == '\\' {
				dst = append(dst, '\\')
			}
			dst = append(dst, b)
			continue
		}
		switch b {
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		case '\b':
			dst = append(dst, '\\', 'b')
		case '\f':
			dst = append(dst, '\\', 'f')
		default:
			dst = append(dst, '\\', 'u', '0', '0', upperHex[b>>4], upperHex[b&0xf])
		}
	}
	return dst
}

// AppendEscapeNone appends v to dst unchanged (escape=none).
func AppendEscapeNone(dst, v []byte) []byte {
	return append(dst, v...)
}

// AppendEscapeArgs appends v to dst escaped as nginx 1.22's ngx_escape_uri
// does with NGX_ESCAPE_ARGS: controls, space, '"', '#', '%', '&', '+', ';',
// '<', '>', '?', '\\', '^', '`', '{', '|', '}' and bytes from 0x7f up become
// %XX: h1's path set plus '&', '+' and ';' (checked byte by byte against
// nginx 1.22.1). The rewrite module escapes captures this way when it
// copies them into arguments or a redirect.
func AppendEscapeArgs(dst, v []byte) []byte {
	for _, b := range v {
		if argsByteNeedsEscape(b) {
			dst = append(dst, '%', upperHex[b>>4], upperHex[b&0xf])
			continue
		}
		dst = append(dst, b)
	}
	return dst
}

func argsByteNeedsEscape(b byte) bool {
	switch b {
	case ' ', '"', '#', '%', '&', '+', ';', '<', '>', '?', '\\', '^', '`', '{', '|', '}':
		return true
	}
	return b < 0x20 || b >= 0x7f
}
