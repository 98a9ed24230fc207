package h1

// Byte classes of RFC 9110 and RFC 3986 used by the parser, one bit each in
// charClass. The table is built once at package initialisation and never
// written afterwards.
const (
	cToken   = 1 << iota // tchar: field names, methods, transfer codings
	cValue               // field-vchar / SP / HTAB: field values (obs-text included)
	cTarget              // bytes allowed raw in a request-target: VCHAR except '#', obs-text
	cRegName             // unreserved / sub-delims: a host name (no pct-encoding)
	cHex                 // HEXDIG
	cDigit               // DIGIT
	cReason              // reason-phrase: HTAB / SP / VCHAR / obs-text
	cUnder               // '_', which a field name that nginx drops holds
	cOddName             // a tchar nginx takes in no field name: not a letter, a digit, '-' or '_'
)

// charClass maps a byte to its class bits.
var charClass = buildCharClass()

func buildCharClass() (t [256]uint16) {
	for c := 0; c < 256; c++ {
		b := byte(c)
		vchar := b >= 0x21 && b <= 0x7e
		obs := b >= 0x80
		if isTchar(b) {
			t[c] |= cToken
		}
		if vchar || obs || b == ' ' || b == '\t' {
			t[c] |= cValue | cReason
		}
		if (vchar && b != '#') || obs {
			t[c] |= cTarget
		}
		if isUnreserved(b) || isSubDelim(b) {
			t[c] |= cRegName
		}
		if ('0' <= b && b <= '9') || ('a' <= b && b <= 'f') || ('A' <= b && b <= 'F') {
			t[c] |= cHex
		}
		if '0' <= b && b <= '9' {
			t[c] |= cDigit
		}
		if b == '_' {
			t[c] |= cUnder
		}
		if isTchar(b) && !isNginxNameByte(b) {
			t[c] |= cOddName
		}
	}
	return t
}

// isNginxNameByte reports whether nginx takes b in a field name when
// underscores_in_headers is on: a letter, a digit, '-' or '_'
// (ngx_http_parse_header_line).
func isNginxNameByte(b byte) bool {
	return 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' || b == '-' || b == '_'
}

// isTchar reports whether b is a tchar of RFC 9110 section 5.6.2.
func isTchar(b byte) bool {
	switch {
	case 'a' <= b && b <= 'z', 'A' <= b && b <= 'Z', '0' <= b && b <= '9':
		return true
	}
	switch b {
	case '!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~':
		return true
	}
	return false
}

// isUnreserved reports whether b is unreserved in RFC 3986 section 2.3.
func isUnreserved(b byte) bool {
	switch {
	case 'a' <= b && b <= 'z', 'A' <= b && b <= 'Z', '0' <= b && b <= '9':
		return true
	}
	return b == '-' || b == '.' || b == '_' || b == '~'
}

// isSubDelim reports whether b is a sub-delim of RFC 3986 section 2.2.
func isSubDelim(b byte) bool {
	switch b {
	case '!', '$', '&', '\'', '(', ')', '*', '+', ',', ';', '=':
		return true
	}
	return false
}

// isCTL reports whether b is a control character (including DEL) other than
// HTAB, i.e. a byte never allowed in a field value.
func isCTL(b byte) bool { return (b < 0x20 && b != '\t') || b == 0x7f }

// isOWS reports whether b is optional whitespace (SP or HTAB).
func isOWS(b byte) bool { return b == ' ' || b == '\t' }

// trimOWS removes leading and trailing SP and HTAB.
func trimOWS(b []byte) []byte {
	for len(b) > 0 && isOWS(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isOWS(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

// validToken reports whether b is a non-empty token.
func validToken(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if charClass[c]&cToken == 0 {
			return false
		}
	}
	return true
}

// ValidFieldName reports whether name is a valid field name (a token). Use it
// on names that do not come from the parser, such as configured ones.
func ValidFieldName(name []byte) bool { return validToken(name) }

// ValidFieldValue reports whether v may be sent as a field value: no control
// characters (so no CR or LF) and no leading or trailing whitespace. Use it on
// values built at run time from variables before serialising them.
func ValidFieldValue(v []byte) bool {
	if len(v) > 0 && (isOWS(v[0]) || isOWS(v[len(v)-1])) {
		return false
	}
	for _, c := range v {
		if charClass[c]&cValue == 0 {
			return false
		}
	}
	return true
}

// lower returns the ASCII lower case of b.
func lower(b byte) byte {
	if 'A' <= b && b <= 'Z' {
		return b + ('a' - 'A')
	}
	return b
}

// lowerTable maps a byte to its ASCII lower case, for the comparisons of
// field names; built once, never written afterwards.
var lowerTable = func() (t [256]byte) {
	for c := range t {
		t[c] = lower(byte(c))
	}
	return t
}()

// equalFold reports whether b equals s ignoring ASCII case. s is expected to
// be a literal; no Unicode folding happens.
func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if b[i] != s[i] && lowerTable[b[i]] != lowerTable[s[i]] {
			return false
		}
	}
	return true
}

// equalLower is equalFold for an s already in lower case (the field names
// the parser acts on): one lookup a byte.
func equalLower(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if lowerTable[b[i]] != s[i] {
			return false
		}
	}
	return true
}

// equalFoldBytes is equalFold for two byte slices.
func equalFoldBytes(a, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if lower(a[i]) != lower(b[i]) {
			return false
		}
	}
	return true
}
