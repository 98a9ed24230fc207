package h1

import "strings"

// AppendEscapedPath appends s with the bytes nginx's NGX_ESCAPE_URI escapes
// in a path written as %XX (checked against nginx 1.22, both in an upstream
// request line and in a Location it writes): control bytes, space, `"`, "#",
// "%", "<", ">", "?", `\`, "^", "`", "{", "|", "}", DEL and every byte above
// 0x7f. Everything else, "/" included, stays.
func AppendEscapedPath(dst []byte, s string) []byte {
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		if PathByteNeedsEscape(c) {
			dst = append(dst, '%', hex[c>>4], hex[c&0xf])
			continue
		}
		dst = append(dst, c)
	}
	return dst
}

// PathByteNeedsEscape reports whether AppendEscapedPath escapes c.
func PathByteNeedsEscape(c byte) bool {
	return c <= ' ' || c >= 0x7f || strings.IndexByte("\"#%<>?\\^`{|}", c) >= 0
}
