package vars

import "fmt"

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

// needed reports whether v has a byte that mode e changes.
func (e Escape) needed(v []byte) bool {
	switch e {
	case EscapeDefault:
		for _, b := range v {
			if needsDefaultEscape(b) {
				return true
			}
		}
	case EscapeJSON:
		for _, b := range v {
			if b < 0x20 || b == '"' || b == '\\' {
				return true
			}
		}
	}
	return false
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
