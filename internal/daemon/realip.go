package daemon

import (
	"fmt"
	"net/netip"
	"strings"

	"fulcrum/internal/config"
)

// realIPRule is a server's compiled set_real_ip_from / real_ip_header /
// real_ip_recursive: the client address comes from the header only when the
// peer is trusted.
type realIPRule struct {
	trusted   []netip.Prefix
	header    string // canonical header name
	recursive bool
}

// compileRealIP parses set_real_ip_from; nil when the list is empty (the peer is
// the client, whatever the request says).
func compileRealIP(set *config.Settings) (*realIPRule, error) {
	if set == nil || len(set.SetRealIPFrom) == 0 {
		return nil, nil
	}
	r := &realIPRule{header: canonicalHeader(set.RealIPHeader), recursive: set.RealIPRecursive}
	if r.header == "" {
		r.header = "X-Real-Ip"
	}
	for _, s := range set.SetRealIPFrom {
		p, err := parsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("set_real_ip_from %q: %w", s, err)
		}
		r.trusted = append(r.trusted, p)
	}
	return r, nil
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
	a = a.Unmap()
	for _, p := range r.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// clientAddr returns the client's address for a request from peer whose header
// values for the rule's header are values (all fields, in order). As nginx's
// realip module: only a trusted peer's header counts; with X-Forwarded-For the
// last address is taken, or with real_ip_recursive the rightmost address that
// is not trusted; a value that is not an address is ignored.
func (r *realIPRule) clientAddr(peer netip.Addr, values []string) netip.Addr {
	if r == nil || !r.trusts(peer) || len(values) == 0 {
		return peer
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
			return peer
		}
		if !r.recursive || !r.trusts(a) || i == 0 {
			return a
		}
	}
	return peer
}
