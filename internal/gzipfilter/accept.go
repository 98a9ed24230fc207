package gzipfilter

import "strings"

// AcceptsGzip reports whether an Accept-Encoding value accepts gzip, parsed
// exactly as nginx 1.22's ngx_http_gzip_accept_encoding does: the first
// "gzip" (any case) at the start or after ',' or ' ' decides; it must be
// followed by nothing, ',' or spaces, or by ';' and a q value from 0.001 to
// 1 (at most three decimals). So "gzip;q=0", "x-gzip", "gzipx", "*" and a
// malformed q refuse, and a value beginning "gzip," accepts at once.
func AcceptsGzip(ae string) bool {
	if len(ae) < 4 {
		return false
	}
	if strings.HasPrefix(ae, "gzip,") {
		return true
	}
	p := findGzip(ae)
	if p < 0 {
		return false
	}
	for p < len(ae) {
		c := ae[p]
		p++
		switch c {
		case ',':
			return true
		case ';':
			return quantity(ae, p)
		case ' ':
		default:
			return false
		}
	}
	return true
}

// findGzip returns the index just past the "gzip" (any case) that
// AcceptsGzip judges, or -1: the first one at a start, where a start is the
// beginning of ae, the character after the previous match, or a position
// after ',' or ' '.
func findGzip(ae string) int {
	start := 0
	for {
		i := indexFold(ae[start:], "gzip")
		if i < 0 {
			return -1
		}
		p := start + i
		if p == start || ae[p-1] == ',' || ae[p-1] == ' ' {
			return p + 4
		}
		start = p + 4
	}
}

// indexFold is strings.Index for an ASCII lower-case needle, ignoring case.
func indexFold(s, needle string) int {
	for i := 0; i+len(needle) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(needle)], needle) {
			return i
		}
	}
	return -1
}

// quantity reads the parameters after "gzip;" from ae[p:]: spaces, then "q"
// or "Q", "=" and a value that is not zero (ngx_http_gzip_quantity). Nothing
// after the ';' accepts.
func quantity(ae string, p int) bool {
	for p < len(ae) {
		c := ae[p]
		p++
		switch c {
		case 'q', 'Q':
			if p+2 > len(ae) || ae[p] != '=' {
				return false
			}
			return qvalue(ae[p+1:]) > 0
		case ' ':
		default:
			return false
		}
	}
	return true
}

// qvalue is a q value in thousandths as nginx reads it, up to ',' or ' ':
// "1", "0.5", "0.001"; 0 for zero and for anything malformed (more than
// three decimals, over 1).
func qvalue(s string) int {
	if s == "" || (s[0] != '0' && s[0] != '1') {
		return 0
	}
	q := int(s[0]-'0') * 100
	if len(s) == 1 || s[1] == ',' || s[1] == ' ' {
		return q
	}
	if s[1] != '.' {
		return 0
	}
	n := 0
	for _, c := range []byte(s[2:]) {
		if c == ',' || c == ' ' {
			break
		}
		if c < '0' || c > '9' {
			return 0
		}
		// nginx adds each digit as it comes (q += c - '0'), so "0.5" is 5
		// and "0.001" is 1: only zero or not matters, and the bound.
		q += int(c - '0')
		n++
	}
	if q > 100 || n > 3 {
		return 0
	}
	return q
}

// MSIE6 reports whether a User-Agent is what nginx marks msie6 (for
// "gzip_disable msie6"): "MSIE 4." or "MSIE 5.", or "MSIE 6." without "SV1"
// after it, with at least one more character after the version's dot; not
// when the User-Agent also says "Opera", which nginx takes for Opera.
func MSIE6(ua string) bool {
	i := strings.Index(ua, "MSIE ")
	if strings.Contains(ua, "Opera") {
		return false
	}
	if i < 0 || i+7 >= len(ua) {
		return false
	}
	m := ua[i:]
	if m[6] != '.' {
		return false
	}
	switch m[5] {
	case '4', '5':
		return true
	case '6':
		return !strings.Contains(m[8:], "SV1")
	}
	return false
}
