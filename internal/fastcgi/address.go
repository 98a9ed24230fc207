package fastcgi

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// maxUnixPath is the longest socket path nginx takes (sizeof sun_path,
// less its terminating zero).
const maxUnixPath = 107

// Address is the value of a pass with variables, parsed: a UNIX socket's
// path, or a host (an IPv6 address in brackets, as written) and its port.
type Address struct {
	// Unix says Host is a socket's path.
	Unix bool
	Host string
	// Port is the port; 0 when the value has none (nginx adds no default
	// port for these modules).
	Port uint16
}

// HostPort is the address as "host:port" ("host" without a port,
// "unix:/path" for a socket).
func (a Address) HostPort() string {
	switch {
	case a.Unix:
		return "unix:" + a.Host
	case a.Port == 0:
		return a.Host
	}
	return fmt.Sprintf("%s:%d", a.Host, a.Port)
}

// AddressError is a value nginx cannot use as an address: no host, an
// invalid port or host, or (once no upstream block has its name) no port.
// nginx answers it 500 and logs it at error level ("... in upstream").
type AddressError struct{ Msg string }

func (e *AddressError) Error() string { return e.Msg }

// ParseAddress parses a pass value as nginx's ngx_parse_url does for
// fastcgi_pass, scgi_pass and uwsgi_pass with variables (no URI part, no
// default port, no lookup): "unix:/path", "host", "host:port", "[v6]" or
// "[v6]:port". Its errors are *AddressError with nginx's words.
func ParseAddress(v string) (Address, error) {
	a, err := parseAddress(v)
	if err != nil {
		return Address{}, &AddressError{Msg: fmt.Sprintf(`%s in upstream "%s"`, err, v)}
	}
	return a, nil
}

func parseAddress(v string) (Address, error) {
	if len(v) >= 5 && strings.EqualFold(v[:5], "unix:") {
		path := v[5:]
		switch {
		case path == "":
			return Address{}, errors.New("no path in the unix domain socket")
		case len(path) > maxUnixPath:
			return Address{}, errors.New("too long path in the unix domain socket")
		}
		return Address{Unix: true, Host: path}, nil
	}
	if strings.ContainsAny(v, "/?") {
		return Address{}, errors.New("invalid host")
	}
	host, port, hasPort := v, "", false
	if strings.HasPrefix(v, "[") {
		end := strings.IndexByte(v, ']')
		if end < 0 {
			return Address{}, errors.New("invalid host")
		}
		if ip, err := netip.ParseAddr(v[1:end]); err != nil || !ip.Is6() || ip.Zone() != "" {
			return Address{}, errors.New("invalid IPv6 address")
		}
		host = v[:end+1]
		switch rest := v[end+1:]; {
		case rest == "":
		case rest[0] == ':':
			port, hasPort = rest[1:], true
		default:
			return Address{}, errors.New("invalid host")
		}
	} else if i := strings.IndexByte(v, ':'); i >= 0 {
		host, port, hasPort = v[:i], v[i+1:], true
	}
	a := Address{Host: host}
	if hasPort {
		n, ok := parsePort(port)
		if !ok {
			return Address{}, errors.New("invalid port")
		}
		a.Port = n
	}
	if host == "" {
		return Address{}, errors.New("no host")
	}
	return a, nil
}

// parsePort reads a port as nginx's ngx_atoi and range check: digits
// only, 1 to 65535.
func parsePort(s string) (uint16, bool) {
	if s == "" || len(s) > 5 {
		return 0, false
	}
	n := 0
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	if n < 1 || n > 65535 {
		return 0, false
	}
	return uint16(n), true
}

// passValue evaluates the request's pass value and parses it; uwsgi_pass
// strips a "uwsgi://" or "suwsgi://" with something after it, as nginx's
// ngx_http_uwsgi_eval does, and the latter makes the request speak TLS
// (req.tls, with the value's host as its name unless uwsgi_ssl_name
// names one).
func (h *Handler) passValue(req *request) (Address, error) {
	v := h.pass.String(req.st)
	secure := false
	if h.proto == UWSGI {
		if len(v) > len("uwsgi://") && strings.EqualFold(v[:len("uwsgi://")], "uwsgi://") {
			v = v[len("uwsgi://"):]
		} else if len(v) > len("suwsgi://") && strings.EqualFold(v[:len("suwsgi://")], "suwsgi://") {
			v, secure = v[len("suwsgi://"):], true
		}
	}
	a, err := ParseAddress(v)
	if err == nil && secure {
		req.tls = h.dynTLS
		if h.set.SSL.Name == "" {
			req.sslName = a.Host
			if a.Unix {
				req.sslName = "localhost"
			}
		}
	}
	return a, err
}
