package router

import "errors"

// ErrInvalidPath is wrapped by every error NormalizePath returns; the caller answers
// 400 Bad Request.
var ErrInvalidPath = errors.New("invalid request path")

// The reasons NormalizePath gives, built once so the error path does not allocate.
var (
	errNoLeadingSlash = wrapPath("path does not start with \"/\"")
	errAboveRoot      = wrapPath("path climbs above the root")
	errBadEscape      = wrapPath("invalid percent escape")
	errNUL            = wrapPath("path contains a NUL byte")
	errBadByte        = wrapPath("path contains a control character, space, \"?\" or \"#\"")
)

func wrapPath(reason string) error {
	return &pathError{reason: reason}
}

// pathError is a reason that unwraps to ErrInvalidPath.
type pathError struct{ reason string }

func (e *pathError) Error() string { return "invalid request path: " + e.reason }
func (e *pathError) Unwrap() error { return ErrInvalidPath }

// NormalizePath turns the path part of a request target (the bytes before "?", as sent)
// into the URI that locations are matched against, as nginx's
// ngx_http_parse_complex_uri does with merge_slashes on (its default):
//
//   - percent escapes are decoded once: "%252e" becomes "%2e", never ".";
//   - a decoded "/" or "." counts as a separator or dot, like a literal one
//     ("/a%2f..%2fb" is "/b"); a decoded "%", "?" or "#" is an ordinary byte;
//   - runs of "/" are merged, "." segments dropped and ".." segments resolved,
//     also at the end ("/a/b/.." is "/a/", "/a/." is "/a/");
//   - ";", "\" and "+" are ordinary bytes (nginx on Unix).
//
// The result always starts with "/" and never contains "//" or a "." or ".."
// segment. It is rawPath itself (no allocation) when rawPath is already normal.
// An empty rawPath (an absolute-form target without a path) is "/".
//
// Errors, all wrapping ErrInvalidPath (nginx answers 400 to each): a path that does
// not start with "/", a ".." that climbs above "/", an invalid escape ("%zz", "%2",
// a trailing "%"), an escaped NUL ("%00"). Raw control bytes, space, DEL, "?" and
// "#" are errors too: the HTTP parser rejects them before routing (nginx answers 400
// to raw control bytes; the "#" rule is fulcrum's, see http-hardening.md), so
// finding one here means the caller passed something it should not have.
//
// The result is decoded bytes, not a request target: it may contain "%", "?", "#"
// or control bytes that came from escapes, so it must be re-escaped before it is
// put on the wire or passed to NormalizePath again.
func NormalizePath(rawPath string) (string, error) {
	return normalize(rawPath, true)
}

// NormalizePathKeepSlashes is NormalizePath with merge_slashes off, as nginx's
// ngx_http_parse_complex_uri does then: every "/" is kept, whether sent as "/"
// or "%2F" ("/a//b" stays "/a//b", "/a/%2F/b" is "/a///b"), while escapes are
// decoded and dot segments resolved exactly as NormalizePath does. An empty
// segment counts as a segment: ".." after "//" removes only the empty segment
// between the two slashes ("/a/b//.." is "/a/b/", "//.." is "/"), and a ".."
// that would climb above "/" is still an error. The result never contains a
// "." or ".." segment, so it cannot leave a root or alias directory either.
func NormalizePathKeepSlashes(rawPath string) (string, error) {
	return normalize(rawPath, false)
}

// normalize is NormalizePath (merge true) or NormalizePathKeepSlashes.
func normalize(rawPath string, merge bool) (string, error) {
	if rawPath == "" {
		return "/", nil
	}
	if rawPath[0] != '/' {
		return "", errNoLeadingSlash
	}
	if isNormal(rawPath, merge) {
		return rawPath, nil
	}
	return normalizeSlow(rawPath, merge)
}

// isNormal reports whether normalizeSlow would return p unchanged: no escapes, no
// bytes it rejects, no "//" when slashes are merged, and no "." or ".." segment.
// p starts with "/".
func isNormal(p string, merge bool) bool {
	for i := 0; i < len(p); i++ {
		c := p[i]
		if !pathSpecial[c] {
			continue // most bytes of most paths
		}
		switch {
		case c == '%' || rejectedByte(c):
			return false
		case merge && c == '/' && i+1 < len(p) && p[i+1] == '/':
			return false
		case c == '/' && dotSegmentAt(p, i+1):
			return false
		}
	}
	return true
}

// dotSegmentAt reports whether p[i:] starts with a "." or ".." segment, that is
// "." or ".." followed by "/" or the end.
func dotSegmentAt(p string, i int) bool {
	if i >= len(p) || p[i] != '.' {
		return false
	}
	i++
	if i < len(p) && p[i] == '.' {
		i++
	}
	return i == len(p) || p[i] == '/'
}

// pathSpecial marks the bytes isNormal must look at: '%', '/' and the bytes
// rejectedByte rejects. Built once.
var pathSpecial = func() (t [256]bool) {
	for c := range 256 {
		t[c] = c == '%' || c == '/' || rejectedByte(byte(c))
	}
	return t
}()

// rejectedByte reports whether a raw (not escaped) byte makes the path invalid:
// control bytes, space, DEL, and "?" / "#" that the HTTP parser splits off.
func rejectedByte(c byte) bool {
	return c <= ' ' || c == 0x7f || c == '?' || c == '#'
}

// The states of normalizeSlow, named after nginx's.
const (
	stateUsual  = iota // inside a segment
	stateSlash         // just wrote "/"
	stateDot           // wrote "/."
	stateDotDot        // wrote "/.."
)

// normalizeSlow is the state machine of ngx_http_parse_complex_uri restricted to
// the path: decode, merge slashes (when merge is set), resolve dot segments. p
// starts with "/".
func normalizeSlow(p string, merge bool) (string, error) {
	u := make([]byte, 0, len(p))
	state := stateUsual
	for i := 0; i < len(p); {
		c := p[i]
		i++
		switch {
		case c == '%':
			d, ok := unhex2(p, i)
			if !ok {
				return "", errBadEscape
			}
			i += 2
			if d == 0 {
				return "", errNUL
			}
			if d == '%' || d == '?' || d == '#' {
				// nginx writes these as plain bytes: no double decoding, and
				// an escaped "?" or "#" is part of the path.
				u, state = append(u, d), stateUsual
				continue
			}
			c = d
		case rejectedByte(c):
			return "", errBadByte
		}
		var err error
		u, state, err = step(u, state, c, merge)
		if err != nil {
			return "", err
		}
	}
	return finish(u, state)
}

// step feeds one (decoded) byte to the state machine; merge says whether a
// "/" right after a "/" is dropped (merge_slashes on) or kept.
func step(u []byte, state int, c byte, merge bool) ([]byte, int, error) {
	switch {
	case c == '/' && state == stateSlash && merge:
		return u, stateSlash, nil // merge "//"
	case c == '/' && state == stateDot:
		return u[:len(u)-1], stateSlash, nil // drop "."
	case c == '/' && state == stateDotDot:
		u, err := climb(u)
		return u, stateSlash, err
	case c == '/':
		return append(u, c), stateSlash, nil
	case c == '.' && state == stateSlash:
		return append(u, c), stateDot, nil
	case c == '.' && state == stateDot:
		return append(u, c), stateDotDot, nil
	default:
		return append(u, c), stateUsual, nil
	}
}

// finish resolves a "." or ".." left at the end of the path.
func finish(u []byte, state int) (string, error) {
	switch state {
	case stateDot:
		u = u[:len(u)-1]
	case stateDotDot:
		var err error
		if u, err = climb(u); err != nil {
			return "", err
		}
	}
	return string(u), nil
}

// climb removes a trailing "/.." and the segment before it, keeping that
// segment's leading "/". It fails when u is "/..": nothing above the root. With
// slashes kept, the segment before may be empty ("/a//.." climbs to "/a/"), as
// in nginx, which steps back over the byte before "/.." and then to the "/"
// before it.
func climb(u []byte) ([]byte, error) {
	base := len(u) - 3 // index of the "/" before ".."
	if base == 0 {
		return nil, errAboveRoot
	}
	for j := base - 1; j >= 0; j-- {
		if u[j] == '/' {
			return u[:j+1], nil
		}
	}
	return nil, errAboveRoot // unreachable: u starts with "/"
}

// unhex2 decodes the two hex digits at p[i:i+2].
func unhex2(p string, i int) (byte, bool) {
	if i+2 > len(p) {
		return 0, false
	}
	hi, ok1 := unhex(p[i])
	lo, ok2 := unhex(p[i+1])
	return hi<<4 | lo, ok1 && ok2
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
