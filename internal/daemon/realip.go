package daemon

import (
	"fmt"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"fulcrum/internal/config"
	"fulcrum/internal/vars"
)

// realIPRule is a server's compiled set_real_ip_from / real_ip_header /
// real_ip_recursive: the client address comes from the header only when the
// peer is trusted.
type realIPRule struct {
	trusted   []netip.Prefix
	unix      bool   // "unix:": clients on unix sockets are trusted
	header    string // canonical header name
	recursive bool
	// proxy is "real_ip_header proxy_protocol" (nginx compares the word
	// case-sensitively): the address comes from the connection's PROXY
	// protocol header instead of a header field.
	proxy bool
}

// compileRealIP parses set_real_ip_from; nil when the list is empty (the peer is
// the client, whatever the request says).
func compileRealIP(set *config.Settings) (*realIPRule, error) {
	if set == nil || len(set.SetRealIPFrom) == 0 {
		return nil, nil
	}
	r := &realIPRule{header: canonicalHeader(set.RealIPHeader), recursive: set.RealIPRecursive, proxy: set.RealIPHeader == "proxy_protocol"}
	if r.header == "" {
		r.header = "X-Real-Ip"
	}
	for _, s := range set.SetRealIPFrom {
		if s == "unix:" {
			r.unix = true
			continue
		}
		p, err := parsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("set_real_ip_from %q: %w", s, err)
		}
		r.trusted = append(r.trusted, p)
	}
	return r, nil
}

// compileRealIP compiles the realip rules of every server, and of the
// locations whose rules differ from their server's (nginx applies those in
// its preaccess phase when the server's rule set no address).
func (s *snapshot) compileRealIP() error {
	s.realIP = map[*config.Server]*realIPRule{}
	for _, srv := range s.cfg.HTTP.Servers {
		rule, err := compileRealIP(srv.Settings)
		if err != nil {
			return &config.Error{Pos: srv.Pos, Msg: err.Error()}
		}
		s.realIP[srv] = rule
		if err := walkLocations(srv.Locations, func(loc *config.Location) error {
			return s.compileLocationRealIP(srv, loc)
		}); err != nil {
			return err
		}
	}
	return nil
}

// compileLocationRealIP adds loc's realip rule to s.locRealIP when it has one
// that is not its server's.
func (s *snapshot) compileLocationRealIP(srv *config.Server, loc *config.Location) error {
	if sameRealIP(loc.Settings, srv.Settings) {
		return nil
	}
	rule, err := compileRealIP(loc.Settings)
	if err != nil {
		return &config.Error{Pos: loc.Pos, Msg: err.Error()}
	}
	if rule == nil {
		return nil
	}
	if s.locRealIP == nil {
		s.locRealIP = map[*config.Location]*realIPRule{}
	}
	s.locRealIP[loc] = rule
	return nil
}

// locationRealIP is nginx's realip handler in the preaccess phase: unless the
// server's rule (or an earlier location's, before an internal redirect) set
// the client address, loc's own rule may set it now.
func (s *snapshot) locationRealIP(rec *recorder, r *http.Request, st *vars.State, loc *config.Location) {
	if s.locRealIP == nil || rec.realIPSet || loc == nil {
		return
	}
	if rule := s.locRealIP[loc]; rule != nil {
		rec.realIPSet = rule.apply(r, st)
	}
}

func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		return p.Masked(), err
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

func canonicalHeader(s string) string {
	if s == "" {
		return ""
	}
	parts := strings.Split(strings.ToLower(s), "-")
	for i, p := range parts {
		if p != "" {
			parts[i] = strings.ToUpper(p[:1]) + p[1:]
		}
	}
	return strings.Join(parts, "-")
}

func (r *realIPRule) trusts(a netip.Addr) bool {
	if !a.IsValid() { // a client on a unix socket
		return r.unix
	}
	a = a.Unmap()
	for _, p := range r.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// clientAddr returns the client's address and port for a request from peer
// whose fields of the rule's header are values (all of them, in order), and
// whether they gave it. As nginx 1.22.1's ngx_http_get_forwarded_addr (recorded):
// only a trusted peer's header counts; a field is a list of entries separated
// by commas and spaces, read from the right (the last field first, for
// X-Forwarded-For; nginx reads only the first field of any other header); the
// last entry is taken, or with real_ip_recursive the rightmost entry that is
// not trusted, or the leftmost when all are. An entry that is no address ends
// the walk: the address found before it stays (none: the peer's). An entry is
// nginx's ngx_parse_addr_port: an IPv4 address (octets of digits, leading
// zeros allowed), an IPv6 address, or either with a port ("1.2.3.4:80",
// "[2001:db8::1]:80") that becomes $remote_port; without a port $remote_port
// is empty.
func (r *realIPRule) clientAddr(peer netip.AddrPort, values []string) (netip.AddrPort, bool) {
	if r == nil || !r.trusts(peer.Addr()) || len(values) == 0 {
		return peer, false
	}
	if r.header != "X-Forwarded-For" {
		values = values[:1]
	}
	addr, found := peer, false
	for i := len(values) - 1; i >= 0; i-- {
		entries := forwardedEntries(values[i])
		if len(entries) == 0 {
			entries = []string{""} // nginx reads an empty entry, which is no address
		}
		for j := len(entries) - 1; j >= 0; j-- {
			if found && !r.trusts(addr.Addr()) {
				return addr, true
			}
			a, ok := parseAddrPort(entries[j])
			if !ok {
				return addr, found
			}
			addr, found = a, true
			if !r.recursive {
				return addr, true
			}
		}
	}
	return addr, found
}

// forwardedEntries splits a forwarding header's value at commas and spaces,
// as nginx does (a tab is part of an entry).
func forwardedEntries(v string) []string {
	return strings.FieldsFunc(v, func(c rune) bool { return c == ',' || c == ' ' })
}

// parseAddrPort is nginx's ngx_parse_addr_port: an address, or an address
// and a port of 1-65535 ("1.2.3.4:80", "[::1]:80"); port 0 when none.
func parseAddrPort(s string) (netip.AddrPort, bool) {
	if a, ok := parseNginxAddr(s); ok {
		return netip.AddrPortFrom(a, 0), true
	}
	host, port, ok := "", "", false
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 || end+1 >= len(s) || s[end+1] != ':' {
			return netip.AddrPort{}, false
		}
		host, port, ok = s[1:end], s[end+2:], true
	} else {
		host, port, ok = strings.Cut(s, ":")
	}
	if !ok {
		return netip.AddrPort{}, false
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 || strings.TrimLeft(port, "0123456789") != "" {
		return netip.AddrPort{}, false
	}
	a, ok := parseNginxAddr(host)
	if !ok {
		return netip.AddrPort{}, false
	}
	return netip.AddrPortFrom(a, uint16(n)), true
}

// parseNginxAddr is nginx's ngx_parse_addr: ngx_inet_addr's IPv4 (four
// dot-separated octets of decimal digits, each at most 255; leading zeros and
// empty octets, which count as 0, are accepted) or an IPv6 address (no zone).
func parseNginxAddr(s string) (netip.Addr, bool) {
	if a, ok := parseInetAddr(s); ok {
		return a, true
	}
	if !strings.Contains(s, ":") || strings.Contains(s, "%") {
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(s)
	return a, err == nil && a.Is6()
}

// parseInetAddr is nginx's ngx_inet_addr.
func parseInetAddr(s string) (netip.Addr, bool) {
	var b [4]byte
	n, octet := 0, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			octet = octet*10 + int(c-'0')
			if octet > 255 {
				return netip.Addr{}, false
			}
		case c == '.' && n < 3:
			b[n], octet = byte(octet), 0
			n++
		default:
			return netip.Addr{}, false
		}
	}
	if n != 3 {
		return netip.Addr{}, false
	}
	b[3] = byte(octet)
	return netip.AddrFrom4(b), true
}

// apply sets the client address of the request r (st.Remote) from the rule's
// header, and reports whether the header gave it.
func (r *realIPRule) apply(req *http.Request, st *vars.State) bool {
	if r.proxy {
		return r.applyProxyProtocol(st)
	}
	a, ok := r.clientAddr(st.Remote, req.Header[r.header])
	if ok {
		st.Remote = a
	}
	return ok
}

// applyProxyProtocol sets the client address and port from the PROXY
// protocol header when the peer is trusted, as nginx 1.22.1 does (recorded):
// a header without addresses, or whose source is not an IP address (a v1
// header's is only checked for its characters), leaves the peer's; a
// source port 0 gives an empty $remote_port.
func (r *realIPRule) applyProxyProtocol(st *vars.State) bool {
	pp := st.ProxyProtocol
	if pp == nil || !r.trusts(st.Remote.Addr()) {
		return false
	}
	a, err := netip.ParseAddr(pp.Addr)
	if err != nil || a.Zone() != "" {
		return false
	}
	st.Remote = netip.AddrPortFrom(a, pp.Port)
	return true
}

// sameRealIP reports whether two levels' realip settings are the same.
func sameRealIP(a, b *config.Settings) bool {
	return slices.Equal(a.SetRealIPFrom, b.SetRealIPFrom) && a.RealIPHeader == b.RealIPHeader &&
		a.RealIPRecursive == b.RealIPRecursive
}
