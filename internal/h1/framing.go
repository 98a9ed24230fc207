package h1

import (
	"bytes"
	"iter"
	"math"
)

// listElems yields every element of the comma-separated lists in the fields
// of hs named name, trimmed of optional whitespace, empty ones included.
func listElems(hs Headers, name string) iter.Seq[[]byte] {
	return func(yield func([]byte) bool) {
		for v := range hs.Values(name) {
			for {
				i := bytes.IndexByte(v, ',')
				if i < 0 {
					if !yield(trimOWS(v)) {
						return
					}
					break
				}
				if !yield(trimOWS(v[:i])) {
					return
				}
				v = v[i+1:]
			}
		}
	}
}

// knownCoding reports whether a transfer coding other than chunked is one of
// the registered ones (RFC 9112 section 7). fulcrum forwards none of them.
func knownCoding(c []byte) bool {
	for _, k := range [...]string{"gzip", "x-gzip", "deflate", "compress", "x-compress"} {
		if equalFold(c, k) {
			return true
		}
	}
	return false
}

// checkTransferEncoding enforces the policy on the Transfer-Encoding list,
// all field lines taken as one list: the only accepted value is a single
// "chunked" (any case) without parameters, as nginx and net/http accept.
// Empty elements, a repeated chunked, a final coding other than chunked or
// parameters on chunked: ErrTransferEncoding (400). An unknown coding, or a
// known one before chunked (fulcrum does not forward transfer codings):
// ErrUnknownCoding (501). A request's resolveFraming answers 501 to any of
// them, as nginx 1.22.1 does.
func checkTransferEncoding(hs Headers) error {
	var chunked, last, unknown, other bool
	for e := range listElems(hs, "transfer-encoding") {
		name, hasParams := e, false
		if i := bytes.IndexByte(e, ';'); i >= 0 {
			name, hasParams = trimOWS(e[:i]), true
		}
		switch {
		case !validToken(name):
			return ErrTransferEncoding
		case equalFold(name, "chunked"):
			if chunked || hasParams {
				return ErrTransferEncoding
			}
			chunked, last = true, true
		default:
			last = false
			if knownCoding(name) {
				other = true
			} else {
				unknown = true
			}
		}
	}
	switch {
	case chunked && !last:
		return ErrTransferEncoding
	case unknown:
		return ErrUnknownCoding
	case !last:
		return ErrTransferEncoding
	case other:
		return ErrUnknownCoding
	}
	return nil
}

// checkTrailerDecl rejects a Trailer field that announces Content-Length,
// Transfer-Encoding or Trailer as trailer fields: a framing field cannot come
// after the body it frames (RFC 9110 section 6.5.1), and net/http refuses
// such a message too.
func checkTrailerDecl(hs Headers) error {
	for e := range listElems(hs, "trailer") {
		if equalFold(e, "content-length") || equalFold(e, "transfer-encoding") || equalFold(e, "trailer") {
			return ErrTrailerDecl
		}
	}
	return nil
}

// contentLength parses the Content-Length fields of hs, the first of which
// is hs[first]: each element of each line must be 1*DIGIT and
// byte-identical to the first; the result fits in an int64. Several equal
// values collapse to one (RFC 9110 section 8.6). lines is the number of
// Content-Length lines in hs (the parser's count, seen[fieldContentLength]):
// the fields after the last are not looked at.
func contentLength(hs Headers, first, lines int) (int64, error) {
	var val []byte
	var n int64
	// listElems' elements, without its iterator: this runs for every
	// response and every request with a body.
	for i := first; lines > 0 && i < len(hs); i++ {
		if i > first && !equalLower(hs[i].Name, "content-length") {
			continue
		}
		lines--
		if val == nil {
			if d, ok := ParseDecimal(hs[i].Value); ok {
				// The common line, one element without OWS: what the
				// loop below finds, without its search for a comma.
				val, n = hs[i].Value, d
				continue
			}
		}
		for v, more := hs[i].Value, true; more; {
			e := v
			if j := bytes.IndexByte(v, ','); j >= 0 {
				e, v = v[:j], v[j+1:]
			} else {
				more = false
			}
			e = trimOWS(e)
			if val != nil {
				if !bytes.Equal(e, val) {
					return 0, ErrContentLength
				}
				continue
			}
			d, ok := ParseDecimal(e)
			if !ok {
				return 0, ErrContentLength
			}
			val, n = e, d
		}
	}
	return n, nil
}

// ParseDecimal parses 1*DIGIT into a non-negative int64, as nginx's
// ngx_atoi reads a number: digits only, no sign or space, no overflow.
func ParseDecimal[T ~string | ~[]byte](b T) (int64, bool) {
	if len(b) == 0 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(b); i++ {
		c := b[i]
		if charClass[c]&cDigit == 0 {
			return 0, false
		}
		d := int64(c - '0')
		// Below 18 digits n*10+d cannot overflow: the check (a division)
		// is for the longer numbers only.
		if i >= 18 && n > (math.MaxInt64-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	return n, true
}

// connectionOptions reports which of the options close, keep-alive and
// upgrade the Connection fields of hs carry.
func connectionOptions(hs Headers) (closeTok, keepAlive, upgrade bool) {
	for v := range hs.Values("connection") {
		for tok := range ConnectionTokens(v) {
			switch {
			case equalFold(tok, "close"):
				closeTok = true
			case equalFold(tok, "keep-alive"):
				keepAlive = true
			case equalFold(tok, "upgrade"):
				upgrade = true
			}
		}
	}
	return closeTok, keepAlive, upgrade
}
