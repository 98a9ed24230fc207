package h1

import (
	"bytes"
	"iter"
	"strings"
)

// Header is one field line. Name and Value point into the buffer of the
// message that holds them and stay valid until that message is Reset or read
// into again. Value has had its leading and trailing whitespace removed;
// Name is as received (case preserved).
type Header struct {
	Name  []byte
	Value []byte
}

// HasUnderscore reports whether the name contains '_'. Such names alias
// '-' names in many backends (CGI turns both into HTTP_X_Y), so nginx drops
// them unless underscores_in_headers is on; see Request.DropUnderscored.
func (h Header) HasUnderscore() bool { return bytes.IndexByte(h.Name, '_') >= 0 }

// Headers is the field section of a message in received order, one entry per
// field line. Lookups are case-insensitive and allocate nothing.
type Headers []Header

// Get returns the value of the first field named name, or nil if there is
// none. Note that an empty value is a non-nil empty slice only if the field
// exists; use Lookup to tell the two apart safely.
func (hs Headers) Get(name string) []byte {
	v, _ := hs.Lookup(name)
	return v
}

// Lookup returns the value of the first field named name and whether there
// is one.
func (hs Headers) Lookup(name string) ([]byte, bool) {
	for i := range hs {
		if equalFold(hs[i].Name, name) {
			return hs[i].Value, true
		}
	}
	return nil, false
}

// Has reports whether a field named name is present.
func (hs Headers) Has(name string) bool {
	_, ok := hs.Lookup(name)
	return ok
}

// Count returns the number of field lines named name.
func (hs Headers) Count(name string) int {
	n := 0
	for i := range hs {
		if equalFold(hs[i].Name, name) {
			n++
		}
	}
	return n
}

// Values yields the value of every field line named name, in order.
func (hs Headers) Values(name string) iter.Seq[[]byte] {
	return func(yield func([]byte) bool) {
		for i := range hs {
			if equalFold(hs[i].Name, name) && !yield(hs[i].Value) {
				return
			}
		}
	}
}

// HopByHop reports whether the field name must not be forwarded: it is one
// of the fixed hop-by-hop fields (IsHopByHop) or it is named by a Connection
// field of hs (RFC 9110 section 7.6.1).
func (hs Headers) HopByHop(name []byte) bool {
	if IsHopByHop(name) {
		return true
	}
	for i := range hs {
		if !equalFold(hs[i].Name, "connection") {
			continue
		}
		if listHas(hs[i].Value, name) {
			return true
		}
	}
	return false
}

// listHas reports whether the comma-separated list holds the element name
// (case-insensitive, optional whitespace trimmed). It is ConnectionTokens
// without the iterator, for the per-field hop-by-hop check.
func listHas(list, name []byte) bool {
	for len(list) > 0 {
		elem := list
		if i := bytes.IndexByte(list, ','); i >= 0 {
			elem, list = list[:i], list[i+1:]
		} else {
			list = nil
		}
		if equalFoldBytes(trimOWS(elem), name) {
			return true
		}
	}
	return false
}

// HasToken reports whether any field named name holds token in its
// comma-separated list (case-insensitive), e.g. HasToken("Connection",
// "close").
func (hs Headers) HasToken(name, token string) bool {
	for i := range hs {
		if equalFold(hs[i].Name, name) && HasToken(hs[i].Value, token) {
			return true
		}
	}
	return false
}

// hopByHopNames are the fields never forwarded by a proxy: RFC 9110 section
// 7.6.1 (Connection, Proxy-Connection, Keep-Alive, TE, Transfer-Encoding,
// Upgrade) plus Proxy-Authenticate, Proxy-Authorization and Trailer, which
// nginx and net/http's ReverseProxy also drop. Lower case.
var hopByHopNames = [...]string{
	"connection",
	"proxy-connection",
	"keep-alive",
	"proxy-authenticate",
	"proxy-authorization",
	"te",
	"trailer",
	"transfer-encoding",
	"upgrade",
}

// IsHopByHop reports whether name (any case) is one of the fixed hop-by-hop
// fields. Fields named by Connection are hop-by-hop too; Headers.HopByHop
// checks both.
func IsHopByHop(name []byte) bool {
	switch len(name) { // only the lengths of hopByHopNames can match
	case 2, 7, 10, 16, 17, 18, 19:
	default:
		return false
	}
	for _, h := range hopByHopNames {
		if equalFold(name, h) {
			return true
		}
	}
	return false
}

// ConnectionTokens yields the tokens of a comma-separated list such as a
// Connection field value (RFC 9110 section 5.6.1): each element with its
// optional whitespace trimmed. Empty elements are skipped, as the RFC
// requires; elements that are not tokens are skipped too, since no field or
// option can be named by them. Compare the results case-insensitively.
func ConnectionTokens(value []byte) iter.Seq[[]byte] {
	return func(yield func([]byte) bool) {
		for len(value) > 0 {
			var elem []byte
			if i := bytes.IndexByte(value, ','); i >= 0 {
				elem, value = value[:i], value[i+1:]
			} else {
				elem, value = value, nil
			}
			elem = trimOWS(elem)
			if validToken(elem) && !yield(elem) {
				return
			}
		}
	}
}

// HasToken reports whether the comma-separated list holds token, compared
// case-insensitively.
func HasToken(list []byte, token string) bool {
	for tok := range ConnectionTokens(list) {
		if equalFold(tok, token) {
			return true
		}
	}
	return false
}

// AppendCanonical appends a field name in net/http's canonical form: the first
// letter and every letter after '-' upper case, the rest lower case
// ("content-TYPE" -> "Content-Type"). Names h1 accepted are tokens, so this is
// what textproto.CanonicalMIMEHeaderKey would return, without a string.
func AppendCanonical(dst, name []byte) []byte {
	n := len(dst)
	dst = append(dst, name...)
	canonicalize(dst[n:])
	return dst
}

// canonicalize rewrites name in place in AppendCanonical's form and reports
// whether that changed a byte.
func canonicalize(name []byte) (changed bool) {
	upper := true
	for i, c := range name {
		switch {
		case upper && 'a' <= c && c <= 'z':
			name[i], changed = c-('a'-'A'), true
		case !upper && 'A' <= c && c <= 'Z':
			name[i], changed = c+('a'-'A'), true
		}
		upper = c == '-'
	}
	return changed
}

// commonCanonical reports whether name is one of the fields most responses
// have, spelled in AppendCanonical's form: canonicalize would change none
// of its bytes, and need not look.
func commonCanonical(name []byte) bool {
	switch string(name) {
	case "Content-Length", "Content-Type", "Date", "Server", "Connection",
		"Last-Modified", "Cache-Control", "Set-Cookie", "Location", "Expires",
		"Vary", "Accept-Ranges", "Transfer-Encoding", "Keep-Alive",
		"Content-Encoding", "Etag", "Age", "Pragma":
		return true
	}
	return false
}

// AppendText appends the text of every field for FieldText to read back: its
// name in canonical form, the name as received when that differs, and its
// value. Callers that must keep a head's fields past its buffer copy them
// into one string this way, one allocation for all of them.
func (hs Headers) AppendText(b []byte) []byte {
	for _, f := range hs {
		n := len(b)
		b = append(b, f.Name...)
		if !commonCanonical(f.Name) && canonicalize(b[n:]) {
			b = append(b, f.Name...)
		}
		b = append(b, f.Value...)
	}
	return b
}

// Canonicalize rewrites name in place in AppendCanonical's form and reports
// whether that changed a byte; the names most responses have, spelled so
// already, are recognised without looking at each byte.
func Canonicalize(name []byte) (changed bool) {
	return !commonCanonical(name) && canonicalize(name)
}

// FieldText reads back, from s at off, the text AppendText wrote for field f:
// the canonical name, the name as received (the same string when they are
// equal) and the value, and the offset of the next field's text.
func FieldText(s string, off int, f Header) (canonical, received, value string, next int) {
	canonical = s[off : off+len(f.Name)]
	off += len(f.Name)
	received = canonical
	if canonical != string(f.Name) { // compared without allocating
		received = s[off : off+len(f.Name)]
		off += len(f.Name)
	}
	value = s[off : off+len(f.Value)]
	return canonical, received, value, off + len(f.Value)
}

// EqualFold reports whether the field name b is s, ignoring ASCII case.
func EqualFold(b []byte, s string) bool { return equalFold(b, s) }

// SplitContentType reads a Content-Type value as nginx's
// ngx_http_upstream_copy_content_type does: the type is up to the ';' before
// the first "charset=" parameter (spaces may follow the ';'), the charset is
// the rest of the value without its quotes. Without such a parameter the
// type is the whole value and the charset empty. The gzip and charset
// filters compare the type against their type lists.
func SplitContentType(ct string) (typ, charset string) {
	for i := 0; i < len(ct); i++ {
		if ct[i] != ';' {
			continue
		}
		j := i + 1
		for j < len(ct) && ct[j] == ' ' {
			j++
		}
		if len(ct)-j >= 8 && strings.EqualFold(ct[j:j+8], "charset=") {
			cs := strings.TrimPrefix(ct[j+8:], `"`)
			return ct[:i], strings.TrimSuffix(cs, `"`)
		}
	}
	return ct, ""
}
