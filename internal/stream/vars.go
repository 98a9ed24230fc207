package stream

import (
	"errors"
	"fmt"
	"fulcrum/internal/certcache"
	"slices"
	"strconv"
	"strings"
	"time"

	"fulcrum/internal/config"
	"fulcrum/internal/errlog"
	"fulcrum/internal/proxyproto"
)

// getter appends a variable's value for session s; found false means "not
// found" ("-" in an access log line).
type getter func(dst []byte, s *session) ([]byte, bool)

// template is a compiled string with stream variables, as nginx's
// ngx_stream_script_compile makes one: literal parts and getters.
type template struct {
	src   string
	parts []tplPart
}

// tplPart is a literal (get == nil) or a variable.
type tplPart struct {
	lit string
	get getter
}

// variables are the stream variables of nginx 1.22 that fulcrum knows
// (ngx_stream_variables.c, ngx_stream_upstream.c), by name.
var variables = map[string]getter{
	"remote_addr":         func(d []byte, s *session) ([]byte, bool) { return append(d, s.remoteAddr...), true },
	"remote_port":         func(d []byte, s *session) ([]byte, bool) { return append(d, s.remotePort...), true },
	"binary_remote_addr":  binaryRemoteAddr,
	"realip_remote_addr":  func(d []byte, s *session) ([]byte, bool) { return append(d, s.peerAddr...), true },
	"realip_remote_port":  func(d []byte, s *session) ([]byte, bool) { return append(d, s.peerPort...), true },
	"proxy_protocol_addr": proxyProtocolVar(func(d []byte, h *proxyproto.Header) []byte { return append(d, h.SrcAddr...) }),
	"proxy_protocol_port": proxyProtocolVar(func(d []byte, h *proxyproto.Header) []byte { return appendPort(d, h.SrcPort) }),
	"proxy_protocol_server_addr": proxyProtocolVar(func(d []byte, h *proxyproto.Header) []byte {
		return append(d, h.DstAddr...)
	}),
	"proxy_protocol_server_port": proxyProtocolVar(func(d []byte, h *proxyproto.Header) []byte { return appendPort(d, h.DstPort) }),
	"server_addr":                func(d []byte, s *session) ([]byte, bool) { return append(d, s.serverAddr...), true },
	"server_port":                func(d []byte, s *session) ([]byte, bool) { return append(d, s.serverPort...), true },
	"protocol": func(d []byte, s *session) ([]byte, bool) {
		if s.udp {
			return append(d, "UDP"...), true
		}
		return append(d, "TCP"...), true
	},
	"connection":     func(d []byte, s *session) ([]byte, bool) { return strconv.AppendUint(d, s.id, 10), true },
	"bytes_sent":     func(d []byte, s *session) ([]byte, bool) { return strconv.AppendInt(d, s.toClient.Load(), 10), true },
	"bytes_received": func(d []byte, s *session) ([]byte, bool) { return strconv.AppendInt(d, s.fromClient.Load(), 10), true },
	"session_time":   func(d []byte, s *session) ([]byte, bool) { return appendMsec(d, s.now().Sub(s.start)), true },
	"status":         appendStatus,
	"msec":           func(d []byte, s *session) ([]byte, bool) { return appendUnixMsec(d, s.now()), true },
	"time_local": func(d []byte, s *session) ([]byte, bool) {
		return s.now().AppendFormat(d, "02/Jan/2006:15:04:05 -0700"), true
	},
	"time_iso8601": func(d []byte, s *session) ([]byte, bool) {
		return s.now().AppendFormat(d, "2006-01-02T15:04:05-07:00"), true
	},
	"pid":           func(d []byte, s *session) ([]byte, bool) { return strconv.AppendInt(d, int64(s.p.pid), 10), true },
	"hostname":      func(d []byte, s *session) ([]byte, bool) { return append(d, s.p.hostname...), true },
	"nginx_version": func(d []byte, _ *session) ([]byte, bool) { return append(d, "1.22.1"...), true },

	"upstream_addr": upstreamList(func(d []byte, t *try) []byte { return append(d, t.addr...) }),
	"upstream_bytes_sent": upstreamList(func(d []byte, t *try) []byte {
		return strconv.AppendInt(d, t.sent.Load(), 10)
	}),
	"upstream_bytes_received": upstreamList(func(d []byte, t *try) []byte {
		return strconv.AppendInt(d, t.received.Load(), 10)
	}),
	"upstream_connect_time":    upstreamList(func(d []byte, t *try) []byte { return appendTime(d, t.connect) }),
	"upstream_first_byte_time": upstreamList(func(d []byte, t *try) []byte { return appendTime(d, t.firstByte) }),
	"upstream_session_time":    upstreamList(func(d []byte, t *try) []byte { return appendTime(d, t.session) }),
}

// proxyProtocolVar makes a $proxy_protocol_* getter: not found without a
// PROXY protocol header with addresses, as in nginx.
func proxyProtocolVar(get func(d []byte, h *proxyproto.Header) []byte) getter {
	return func(d []byte, s *session) ([]byte, bool) {
		if s.pp == nil {
			return d, false
		}
		return get(d, s.pp), true
	}
}

// proxyProtocolTLV makes the getter of $proxy_protocol_tlv_NAME (nginx
// 1.23.2, a prefix family): the TLV's value as sent; not found without a
// header with addresses, without the TLV, or for a name or TLV list nginx
// fails (package proxyproto, Header.TLV), whose line it logs at error
// level, once per variable in a session (nginx keeps the failure as the
// variable's value).
func proxyProtocolTLV(name string) getter {
	return func(d []byte, s *session) ([]byte, bool) {
		v, found, err := s.pp.TLV(name)
		if err != nil {
			if msg, ok := proxyproto.LogLine(err); ok && !slices.Contains(s.tlvLogged, name) {
				s.tlvLogged = append(s.tlvLogged, name)
				s.log(errlog.Error, msg)
			}
			return d, false
		}
		if !found {
			return d, false
		}
		return append(d, v...), true
	}
}

// appendPort appends a port; 0 appends nothing (found, empty), as nginx.
func appendPort(d []byte, p uint16) []byte {
	if p == 0 {
		return d
	}
	return strconv.AppendUint(d, uint64(p), 10)
}

// binaryRemoteAddr is the client's address in binary form (4 or 16 bytes).
func binaryRemoteAddr(d []byte, s *session) ([]byte, bool) {
	if !s.remote.IsValid() {
		return d, false
	}
	a := s.remote.Addr().Unmap()
	return append(d, a.AsSlice()...), true
}

// upstreamList makes a $upstream_* getter: one value per server tried,
// joined by ", "; not found when no server was tried.
func upstreamList(one func(d []byte, t *try) []byte) getter {
	return func(d []byte, s *session) ([]byte, bool) {
		if len(s.tries) == 0 {
			return d, false
		}
		for i := range s.tries {
			if i > 0 {
				d = append(d, ", "...)
			}
			d = one(d, &s.tries[i])
		}
		return d, true
	}
}

// appendTime writes a duration as nginx's seconds with milliseconds; a
// negative one (the time was never reached) is "-".
func appendTime(d []byte, t time.Duration) []byte {
	if t < 0 {
		return append(d, '-')
	}
	return appendMsec(d, t)
}

// appendMsec writes t as "S.mmm".
func appendMsec(d []byte, t time.Duration) []byte {
	ms := t.Milliseconds()
	d = strconv.AppendInt(d, ms/1000, 10)
	d = append(d, '.')
	frac := ms % 1000
	if frac < 100 {
		d = append(d, '0')
	}
	if frac < 10 {
		d = append(d, '0')
	}
	return strconv.AppendInt(d, frac, 10)
}

// appendUnixMsec writes t as seconds since the epoch with milliseconds.
func appendUnixMsec(d []byte, t time.Time) []byte {
	return appendMsec(d, time.Duration(t.UnixMilli())*time.Millisecond)
}

// compiler compiles the templates of one stream configuration: it knows
// the builtin variables and those the configuration defines (map, geo,
// split_clients, set, and the named captures of map regexes).
type compiler struct {
	// defined are the configuration's variables by lower-case name.
	defined map[string]getter
	// logDefined are the getters a log_format uses where they differ
	// from defined's: a volatile map's cached value (nginx's log module
	// reads a variable's value without flushing it).
	logDefined map[string]getter
	// slots counts the session cache slots handed out (compiler.slot).
	slots int
	// certs is the table's cache of the certificates that ssl_certificate
	// with variables loads (nil until a server has one).
	certs *certcache.Cache
}

func newCompiler() *compiler {
	return &compiler{defined: map[string]getter{}, logDefined: map[string]getter{}}
}

// compile parses s as nginx's ngx_stream_compile_complex_value: "$name"
// and "${name}", names case-insensitive, with nginx's error for an unknown
// variable; "$1".."$9" are the captures of the last map regex matched.
func (c *compiler) compile(s string) (*template, error) { return c.compileWith(s, true) }

// compileLog parses a log_format: as compile, but "$1" is a variable name
// (unknown), as nginx's ngx_stream_log_compile_format reads it.
func (c *compiler) compileLog(s string) (*template, error) { return c.compileWith(s, false) }

func (c *compiler) compileWith(s string, captures bool) (*template, error) {
	t := &template{src: s}
	for i := 0; i < len(s); {
		j := strings.IndexByte(s[i:], '$')
		if j != 0 {
			if j < 0 {
				j = len(s) - i
			}
			t.parts = append(t.parts, tplPart{lit: s[i : i+j]})
			i += j
			continue
		}
		if captures && i+1 < len(s) && s[i+1] >= '1' && s[i+1] <= '9' {
			t.parts = append(t.parts, tplPart{get: captureGetter(int(s[i+1] - '0'))})
			i += 2
			continue
		}
		name, next, err := scanName(s, i+1)
		if err != nil {
			return nil, err
		}
		g, ok := c.lookup(name, !captures)
		if !ok {
			return nil, &varError{msg: fmt.Sprintf(`unknown "%s" variable`, strings.ToLower(name)),
				hint: "use a stream variable, or define it with map, geo or split_clients in the stream block or set in a server"}
		}
		t.parts = append(t.parts, tplPart{get: g})
		i = next
	}
	return t, nil
}

// lookup returns the getter of a variable name (for a log_format with
// log): the configuration's, else a builtin.
func (c *compiler) lookup(name string, log bool) (getter, bool) {
	name = strings.ToLower(name)
	if g, ok := c.logDefined[name]; ok && log {
		return g, true
	}
	if g, ok := c.defined[name]; ok {
		return g, true
	}
	return lookupVariable(name)
}

// varError is an error about a variable name, with its fix.
type varError struct{ msg, hint string }

func (e *varError) Error() string { return e.msg }

// at places err at pos, as the config package words its errors: "msg in
// file:line", and the fix of a varError after a comma.
func at(err error, pos config.Pos) error {
	var ve *varError
	if errors.As(err, &ve) && ve.hint != "" {
		return fmt.Errorf("%w in %s, %s", err, pos, ve.hint)
	}
	return fmt.Errorf("%w in %s", err, pos)
}

// scanName reads the name after a '$' at s[i], bracketed or not.
func scanName(s string, i int) (string, int, error) {
	if i < len(s) && s[i] == '{' {
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			return "", 0, fmt.Errorf(`the closing bracket in "%s" variable is missing`, s[i+1:])
		}
		return s[i+1 : i+end], i + end + 1, nil
	}
	j := i
	for j < len(s) && isNameByte(s[j]) {
		j++
	}
	if j == i {
		return "", 0, fmt.Errorf(`invalid variable name in "%s"`, s)
	}
	return s[i:j], j, nil
}

func isNameByte(b byte) bool {
	return b == '_' || b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z'
}

// appendValue evaluates t for s; a variable not found adds nothing.
func (t *template) appendValue(dst []byte, s *session) []byte {
	for _, p := range t.parts {
		if p.get == nil {
			dst = append(dst, p.lit...)
			continue
		}
		dst, _ = p.get(dst, s)
	}
	return dst
}

// appendLog evaluates t for an access log line: a variable not found is
// "-", and values are escaped as escape says ("default", "json", "none"),
// as nginx's stream log module does.
func (t *template) appendLog(dst []byte, s *session, escape string) []byte {
	for _, p := range t.parts {
		if p.get == nil {
			dst = append(dst, p.lit...)
			continue
		}
		start := len(dst)
		var found bool
		dst, found = p.get(dst, s)
		if !found {
			if escape != "json" {
				dst = append(dst, '-')
			}
			continue
		}
		dst = escapeTail(dst, start, escape)
	}
	return dst
}

// escapeTail escapes dst[start:] in place (reallocating when it grows).
func escapeTail(dst []byte, start int, escape string) []byte {
	if escape == "none" {
		return dst
	}
	needs := false
	for _, c := range dst[start:] {
		if c == '"' || c == '\\' || c < 0x20 || c >= 0x7f {
			needs = true
			break
		}
	}
	if !needs {
		return dst
	}
	val := append([]byte(nil), dst[start:]...)
	dst = dst[:start]
	for _, c := range val {
		switch {
		case escape == "json" && (c == '"' || c == '\\'):
			dst = append(dst, '\\', c)
		case escape == "json" && c < 0x20:
			dst = fmt.Appendf(dst, "\\u%04x", c)
		case escape == "json":
			dst = append(dst, c)
		case c == '"' || c == '\\' || c < 0x20 || c >= 0x7f:
			dst = fmt.Appendf(dst, "\\x%02X", c)
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

// appendStatus appends $status with three digits, as nginx's "%03ui":
// "000" until the session has one (in a return value).
func appendStatus(d []byte, s *session) ([]byte, bool) {
	if s.status == 0 {
		return append(d, "000"...), true
	}
	return strconv.AppendInt(d, int64(s.status), 10), true
}
