package daemon

import (
	"fmt"
	"net/http"
	"net/netip"
	"slices"
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

// clientAddr returns the client's address for a request from peer whose header
// values for the rule's header are values (all fields, in order), and whether
// it came from them. As nginx's realip module: only a trusted peer's header
// counts; with X-Forwarded-For the last address is taken, or with
// real_ip_recursive the rightmost address that is not trusted; a value that is
// not an address is ignored.
func (r *realIPRule) clientAddr(peer netip.Addr, values []string) (netip.Addr, bool) {
	if r == nil || !r.trusts(peer) || len(values) == 0 {
		return peer, false
	}
	var list []string
	for _, v := range values {
		for _, item := range strings.Split(v, ",") {
			if item = strings.TrimSpace(item); item != "" {
				list = append(list, item)
			}
		}
	}
	for i := len(list) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(list[i])
		if err != nil {
			return peer, false
		}
		if !r.recursive || !r.trusts(a) || i == 0 {
			return a, true
		}
	}
	return peer, false
}

// apply sets the client address of the request r (st.Remote) from the rule's
// header, keeping the port, and reports whether the header gave it.
func (r *realIPRule) apply(req *http.Request, st *vars.State) bool {
	if r.proxy {
		return r.applyProxyProtocol(st)
	}
	a, ok := r.clientAddr(st.Remote.Addr(), req.Header[r.header])
	if ok {
		st.Remote = netip.AddrPortFrom(a, st.Remote.Port())
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
