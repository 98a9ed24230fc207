package router

import (
	"errors"
	"net/netip"
	"strings"
)

// ErrInvalidHost is wrapped by every error NormalizeHost returns; the caller answers
// 400 Bad Request.
var ErrInvalidHost = errors.New("invalid host")

// The reasons NormalizeHost gives, built once so the error path does not allocate.
var (
	errHostEmpty   = wrapHost("empty host name")
	errHostDots    = wrapHost("empty label (\"..\")")
	errHostByte    = wrapHost("character not allowed in a host name")
	errHostPort    = wrapHost("port is not a number")
	errHostLiteral = wrapHost("invalid IPv6 literal")
)

func wrapHost(reason string) error { return &hostError{reason: reason} }

// hostError is a reason that unwraps to ErrInvalidHost.
type hostError struct{ reason string }

func (e *hostError) Error() string { return "invalid host: " + e.reason }
func (e *hostError) Unwrap() error { return ErrInvalidHost }

// NormalizeHost turns a Host header value (or the authority of an absolute-form
// request target) into the name that server_name is matched against, as nginx's
// ngx_http_validate_host does: the port is removed, one trailing dot is removed,
// and the name is lower-cased. An IPv6 literal keeps its brackets ("[::1]:8080"
// gives "[::1]"), as nginx's $host does. It allocates only to lower-case.
//
// It rejects, wrapping ErrInvalidHost, what nginx rejects with 400: an empty name
// (also ":80" and "."), an empty label ("a..b", "a.."), "/", NUL, control bytes and
// space. It is stricter than nginx, following RFC 3986 and http-hardening.md: a
// name may only hold letters, digits, "-._~", "!$&'()*+,;=" and "%"; the port must
// be digits (nginx ignores anything after ":"); a bracketed literal must be a valid
// IPv6 address without a zone, with nothing after it but a port.
//
// A leading dot (".example.org") is accepted, as nginx does; it matches lead
// wildcards such as "*.example.org".
func NormalizeHost(host string) (string, error) {
	if host != "" && host[0] == '[' {
		return normalizeLiteral(host)
	}
	name, port, _ := strings.Cut(host, ":")
	if !allDigits(port) {
		return "", errHostPort
	}
	upper, err := checkName(name)
	if err != nil {
		return "", err
	}
	name = strings.TrimSuffix(name, ".")
	if name == "" {
		return "", errHostEmpty
	}
	if upper {
		return strings.ToLower(name), nil
	}
	return name, nil
}

// normalizeLiteral handles "[v6addr]" with an optional ":port".
func normalizeLiteral(host string) (string, error) {
	end := strings.IndexByte(host, ']')
	if end < 0 {
		return "", errHostLiteral
	}
	rest := host[end+1:]
	if rest != "" && (rest[0] != ':' || !allDigits(rest[1:])) {
		return "", errHostPort
	}
	addr, err := netip.ParseAddr(host[1:end])
	if err != nil || !addr.Is6() || addr.Zone() != "" {
		return "", errHostLiteral
	}
	return lower(host[:end+1]), nil
}

// checkName applies nginx's rules (no "..", no "/", no NUL or controls) and the
// RFC 3986 reg-name alphabet. upper reports an upper-case letter in name, so
// that the caller lower-cases only then, without a second pass over name.
func checkName(name string) (upper bool, err error) {
	var seen uint8
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c == '.' && i > 0 && name[i-1] == '.' {
			return false, errHostDots
		}
		k := hostBytes[c]
		if k == 0 {
			return false, errHostByte
		}
		seen |= k
	}
	return seen&hostUpper != 0, nil
}

// hostBytes classes each byte for checkName, built once: every request's Host
// is checked byte by byte. 0 is a byte that may not appear in a reg-name (RFC
// 3986 section 3.2.2: unreserved, sub-delims, and "%" of pct-encoded); every
// other has hostOK, and the upper-case letters hostUpper too.
var hostBytes = func() (t [256]uint8) {
	for c := range 256 {
		switch {
		case 'A' <= c && c <= 'Z':
			t[c] = hostOK | hostUpper
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
			t[c] = hostOK
		case strings.IndexByte("-._~!$&'()*+,;=%", byte(c)) >= 0:
			t[c] = hostOK
		}
	}
	return t
}()

// The classes of hostBytes.
const (
	hostOK    = 1 << iota // may appear in a reg-name
	hostUpper             // an upper-case ASCII letter
)

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// lower lower-cases ASCII letters, returning s itself when it has none in upper case.
func lower(s string) string {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			return strings.ToLower(s)
		}
	}
	return s
}
